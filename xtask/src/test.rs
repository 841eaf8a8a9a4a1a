//! `cargo xtask test`: every check the project has, in order of cost.

use crate::cmd::{self, cargo};

/// Bare-metal targets the libraries must build for.
const BARE_TARGETS: [&str; 2] = ["x86_64-unknown-none", "aarch64-unknown-none"];

/// Runs every check; stops at the first failure.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "`cargo xtask test` takes no arguments (got `{arg}`)"
        ));
    }
    cmd::run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    cmd::run(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "sample-kernel",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    for target in BARE_TARGETS {
        cmd::run(cargo().args([
            "clippy", "-p", "hv-defs", "-p", "hv-guest", "--target", target, "--", "-D", "warnings",
        ]))?;
    }
    cmd::run(cargo().args(["test", "--workspace", "--exclude", "sample-kernel"]))?;
    cmd::run(
        cargo()
            .args(["doc", "--no-deps", "-p", "hv-defs", "-p", "hv-guest"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("xtask: all checks passed");
    Ok(())
}
