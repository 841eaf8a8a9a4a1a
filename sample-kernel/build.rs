//! Links the kernel binaries with the runtime's linker script.
//!
//! The script comes from `kernel-rt` (`DEP_KERNEL_RT_LINKER_SCRIPT_X86_64`) and is passed
//! with `rustc-link-arg-bins`, so it reaches only this package's binaries, never a library.
//! `--no-pie` makes the link static at the script's fixed addresses (the target's default
//! is a position-independent executable), which needs no relocation at run time.
//!
//! For `x86_64-unknown-uefi` the binaries are relocatable PE images, linked with a
//! preferred base of [`UEFI_IMAGE_BASE`] instead of the linker's default 0x1_4000_0000
//! (5 GiB): EDK2-based firmware (OVMF, Hyper-V's) loads an image at its preferred base when
//! that memory is free, and the runtime's identity map ends at 4 GiB.

/// Preferred load address of the EFI image: 256 MiB, inside the RAM of any VM with more
/// than 256 MiB and well clear of where firmware keeps its own data; when it is taken
/// (or absent), the firmware relocates the image.
const UEFI_IMAGE_BASE: u64 = 0x1000_0000;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target == "x86_64-unknown-uefi" {
        println!("cargo::rustc-link-arg-bins=/BASE:{UEFI_IMAGE_BASE:#x}");
        return;
    }
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
