//! Build script of the runtime.
//!
//! * Publishes the path of the x86_64 linker script to the kernels that depend on the
//!   runtime: a kernel's own `build.rs` reads `DEP_KERNEL_RT_LINKER_SCRIPT_X86_64` and passes
//!   it with `cargo:rustc-link-arg-bins=-T<path>`, so the script applies to kernel binaries
//!   only, never to libraries or host builds.
//! * Sets `cfg(rt_kernel)` when building for the bare-metal x86_64 target, where the
//!   privileged parts (boot, console, interrupts, paging) are compiled. On any other target
//!   only the portable parts build, so their unit tests run on the host.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = std::path::Path::new(&dir).join("src/arch/x86_64/link.ld");
    println!("cargo::rerun-if-changed={}", script.display());
    println!("cargo::metadata=linker_script_x86_64={}", script.display());

    println!("cargo::rustc-check-cfg=cfg(rt_kernel)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch == "x86_64" && (os == "none" || os == "uefi") {
        println!("cargo::rustc-cfg=rt_kernel");
    }
}
