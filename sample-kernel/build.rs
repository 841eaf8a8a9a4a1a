//! Links the kernel binaries with the runtime's linker script.
//!
//! The script comes from `kernel-rt` (`DEP_KERNEL_RT_LINKER_SCRIPT_X86_64`) and is passed
//! with `rustc-link-arg-bins`, so it reaches only this package's binaries, never a library.
//! `--no-pie` makes the link static at the script's fixed addresses (the target's default
//! is a position-independent executable), which needs no relocation at run time.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-none" {
        return;
    }
    let script = std::env::var("DEP_KERNEL_RT_LINKER_SCRIPT_X86_64")
        .expect("kernel-rt publishes its linker script");
    println!("cargo::rerun-if-changed={script}");
    println!("cargo::rustc-link-arg-bins=-T{script}");
    println!("cargo::rustc-link-arg-bins=--no-pie");
    println!("cargo::rustc-link-arg-bins=-zmax-page-size=4096");
}
