//! Build, run and test automation: `cargo xtask <command>`.
//!
//! * `cargo xtask run`: build the sample kernel, boot it, print its report.
//! * `cargo xtask image`: a GPT disk (raw or VHDX) that UEFI firmware boots the sample
//!   kernel from.
//! * `cargo xtask test`: every check the project has (what CI runs).
//! * `cargo xtask setup`: install what a fresh machine lacks (`ci/setup.sh`).

mod arm64;
mod cmd;
mod counters;
mod image;
mod kernel;
mod kvm;
mod qemu;
mod run;
mod sim;
mod test;
mod transcript;
mod uefi;

use std::process::ExitCode;

fn usage() -> &'static str {
    "usage: cargo xtask <command>\n\
     \n\
     commands:\n  \
       run     build the sample kernel, boot it (QEMU or hv-sim), print its report;\n          \
               `run --help`; `run --arch aarch64` for the arm64 kernel\n  \
       image   a GPT disk (raw or VHDX) booting the sample kernel through UEFI; `image --help`\n  \
       test    run every check: fmt, clippy, host tests, docs, kernel boots; `--bless`\n          \
               rewrites the expected transcripts\n  \
       setup   install the packages and rustup targets a fresh machine lacks\n"
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run::run(&args[1..]),
        Some("image") => image::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("setup") => cmd::setup(),
        Some("help" | "--help" | "-h") | None => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{}", usage())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}
