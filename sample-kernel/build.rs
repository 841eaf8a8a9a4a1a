//! Links the kernel binaries with the runtime's linker script.
//!
//! The script comes from `kernel-rt` (`DEP_KERNEL_RT_LINKER_SCRIPT_X86_64` or `_AARCH64`) and
//! is passed with `rustc-link-arg-bins`, so it reaches only this package's binaries, never a
//! library. On x86_64, `--no-pie` makes the link static at the script's fixed addresses (the
//! target's default is a position-independent executable), which needs no relocation at run
//! time; `aarch64-unknown-none` links statically already.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let (variable, pie) = match target.as_str() {
        "x86_64-unknown-none" => ("DEP_KERNEL_RT_LINKER_SCRIPT_X86_64", true),
        "aarch64-unknown-none" => ("DEP_KERNEL_RT_LINKER_SCRIPT_AARCH64", false),
        _ => return,
    };
    let script = std::env::var(variable).expect("kernel-rt publishes its linker script");
    println!("cargo::rerun-if-changed={script}");
    println!("cargo::rustc-link-arg-bins=-T{script}");
    if pie {
        println!("cargo::rustc-link-arg-bins=--no-pie");
    }
    println!("cargo::rustc-link-arg-bins=-zmax-page-size=4096");
}
