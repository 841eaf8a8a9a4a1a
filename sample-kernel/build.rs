//! Links the kernel binaries with the runtime's linker script.
//!
//! The script comes from `kernel-rt` (`DEP_KERNEL_RT_LINKER_SCRIPT_X86_64` or `_AARCH64`) and
//! is passed with `rustc-link-arg-bins`, so it reaches only this package's binaries, never a
//! library. On x86_64, `--no-pie` makes the link static at the script's fixed addresses (the
//! target's default is a position-independent executable), which needs no relocation at run
//! time; `aarch64-unknown-none` links statically already.
//!
//! For the UEFI targets the binaries are relocatable PE images, linked with a preferred
//! base instead of the linker's default 0x1_4000_0000 (5 GiB): EDK2-based firmware (OVMF,
//! AAVMF, Hyper-V's) loads an image at its preferred base when that memory is free, and the
//! runtimes' identity maps end at 4 GiB.

/// Preferred load address of the x86_64 EFI image: 256 MiB, inside the RAM of any VM with
/// more than 256 MiB and well clear of where firmware keeps its own data; when it is taken
/// (or absent), the firmware relocates the image.
const UEFI_IMAGE_BASE_X86_64: u64 = 0x1000_0000;

/// Preferred load address of the aarch64 EFI image: 1 GiB + 64 MiB. The arm64 runtime maps
/// only 1-4 GiB as normal memory, so the image must lie there; on QEMU `virt` RAM starts
/// at 1 GiB, so this is inside the RAM of any VM with more than 64 MiB (and on a host
/// whose RAM starts at 0, of any VM with more than 1.1 GiB).
const UEFI_IMAGE_BASE_AARCH64: u64 = 0x4400_0000;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let (variable, pie) = match target.as_str() {
        "x86_64-unknown-uefi" => {
            println!("cargo::rustc-link-arg-bins=/BASE:{UEFI_IMAGE_BASE_X86_64:#x}");
            return;
        }
        "aarch64-unknown-uefi" => {
            println!("cargo::rustc-link-arg-bins=/BASE:{UEFI_IMAGE_BASE_AARCH64:#x}");
            return;
        }
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
