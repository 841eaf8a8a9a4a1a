//! Running commands with a readable trace, and the machine setup step.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of this crate's directory).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// A `cargo` command run from the workspace root, using the same cargo as the xtask.
pub(crate) fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// A `cargo` of another rustup toolchain (nightly for Miri, the MSRV for the library
/// check), run from the workspace root.
pub(crate) fn toolchain_cargo(toolchain: &str) -> Command {
    let mut command = Command::new("rustup");
    command
        .args(["run", toolchain, "cargo"])
        .current_dir(root());
    command
}

/// Runs a command to completion, echoing it first; an error names the command.
pub(crate) fn run(command: &mut Command) -> Result<(), String> {
    eprintln!("xtask: $ {}", describe(command));
    let status = command
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(command)))
    }
}

/// Runs several commands at once (each with its output captured), then prints each one's
/// output in order; an error names every command that failed.
pub(crate) fn run_parallel(commands: &mut [Command]) -> Result<(), String> {
    let mut children = Vec::new();
    for command in commands.iter_mut() {
        eprintln!("xtask: $ {} (in parallel)", describe(command));
        let child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", describe(command)))?;
        children.push(child);
    }
    let mut failed = Vec::new();
    for (command, child) in commands.iter().zip(children) {
        let output = child
            .wait_with_output()
            .map_err(|e| format!("cannot wait for `{}`: {e}", describe(command)))?;
        eprintln!("xtask: output of `{}`:", describe(command));
        eprint!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        if !output.status.success() {
            failed.push(format!(
                "`{}` failed ({})",
                describe(command),
                output.status
            ));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

/// The command line as a shell would show it.
pub(crate) fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Installs the packages and rustup targets the project needs (`ci/setup.sh`).
pub(crate) fn setup() -> Result<(), String> {
    run(Command::new("bash").arg(root().join("ci/setup.sh")))
}
