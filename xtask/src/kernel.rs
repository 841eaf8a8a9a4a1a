//! Building the x86_64 kernels, and making sure the tools for it and for booting them are
//! installed.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{self, cargo};
use crate::qemu::QEMU_X86_64;

/// The bare-metal target the kernels are built for.
pub(crate) const TARGET: &str = "x86_64-unknown-none";

/// The package holding the kernel binaries.
pub(crate) const PACKAGE: &str = "sample-kernel";

/// The demo kernel.
pub(crate) const DEMO: &str = "sample-kernel";

/// The runtime's check kernel.
pub(crate) const RT_CHECK: &str = "rt-check";

/// The kernel that reports a crash through the crash MSRs.
pub(crate) const HV_CRASH: &str = "hv-crash";

/// Debug or release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    Debug,
    Release,
}

impl Profile {
    /// The profile's directory under `target/<triple>/`.
    pub(crate) fn dir(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Release => "release",
        }
    }
}

/// Builds every kernel binary of [`PACKAGE`] with `profile`.
pub(crate) fn build(profile: Profile) -> Result<(), String> {
    let mut command = cargo();
    command.args(["build", "-p", PACKAGE, "--bins", "--target", TARGET]);
    if profile == Profile::Release {
        command.arg("--release");
    }
    cmd::run(&mut command)
}

/// Cargo's target directory.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::root().join("target"))
}

/// Where `build` puts the kernel `name`.
pub(crate) fn path(name: &str, profile: Profile) -> PathBuf {
    target_dir().join(TARGET).join(profile.dir()).join(name)
}

/// Whether the rustup target `target` is installed.
pub(crate) fn has_target(target: &str) -> bool {
    let sysroot = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    sysroot.is_some_and(|s| s.join("lib/rustlib").join(target).is_dir())
}

/// What is missing to build the kernels (and, with `need_qemu`, to boot them).
fn missing(need_qemu: bool) -> Vec<String> {
    let mut missing = Vec::new();
    if !has_target(TARGET) {
        missing.push(format!(
            "the rustup target {TARGET} (`rustup target add {TARGET}`)"
        ));
    }
    if need_qemu {
        let has_qemu = Command::new(QEMU_X86_64)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_qemu {
            missing.push(format!(
                "{QEMU_X86_64} (Debian package qemu-system-x86, from bookworm-backports)"
            ));
        }
    }
    missing
}

/// Makes sure the target (and QEMU, with `need_qemu`) are installed: runs `ci/setup.sh`
/// when something is missing.
///
/// # Errors
///
/// Names what is still missing after the setup script.
pub(crate) fn ensure_tools(need_qemu: bool) -> Result<(), String> {
    let before = missing(need_qemu);
    if before.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: missing {}; running ci/setup.sh",
        before.join(" and ")
    );
    let setup = cmd::setup();
    let after = missing(need_qemu);
    match (after.is_empty(), setup) {
        (true, _) => Ok(()),
        (false, Err(e)) => Err(format!(
            "missing {}; ci/setup.sh failed: {e}",
            after.join(" and ")
        )),
        (false, Ok(())) => Err(format!(
            "still missing after ci/setup.sh: {}",
            after.join(" and ")
        )),
    }
}
