//! Build script of the runtime.
//!
//! * Publishes the paths of the linker scripts to the kernels that depend on the runtime: a
//!   kernel's own `build.rs` reads `DEP_KERNEL_RT_LINKER_SCRIPT_X86_64` (or `_AARCH64`) and
//!   passes it with `cargo:rustc-link-arg-bins=-T<path>`, so the script applies to kernel
//!   binaries only, never to libraries or host builds.
//! * Sets `cfg(rt_kernel)` when building for a bare-metal target (`x86_64-unknown-none`,
//!   `x86_64-unknown-uefi`, `aarch64-unknown-none`, `aarch64-unknown-uefi`), where the
//!   privileged parts (boot, console, interrupts, paging) are compiled. On any other target
//!   only the portable parts build, so their unit tests run on the host.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    for arch in ["x86_64", "aarch64"] {
        let script = std::path::Path::new(&dir).join(format!("src/arch/{arch}/link.ld"));
        println!("cargo::rerun-if-changed={}", script.display());
        println!("cargo::metadata=linker_script_{arch}={}", script.display());
    }

    println!("cargo::rustc-check-cfg=cfg(rt_kernel)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let bare_metal = os == "none" || os == "uefi";
    if bare_metal && (arch == "x86_64" || arch == "aarch64") {
        println!("cargo::rustc-cfg=rt_kernel");
    }
}
