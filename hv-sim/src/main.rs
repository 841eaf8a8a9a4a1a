//! `hv-sim <kernel> [--profile none|kvm|hyperv] [--hv <flags>] [--mem MiB] [--vps N]
//! [--max-instructions N] [--max-time-ms N] [--stats json] [--quiet] [--append <cmdline>]`
//!
//! Boots an x86-64 ELF kernel through its 64-bit entry, or an arm64 Linux `Image` (found by
//! its header magic; `--append` is its device tree's command line, the profile defaults to
//! `hyperv` and `kvm` does not exist there), and exits with the guest's debug-exit status
//! (`(v << 1) | 1`, like QEMU's `isa-debug-exit`), or with an even status for a model
//! error (see `SimError::status`): 2 usage, configuration or image; 4 triple fault;
//! 6 instruction limit; 8 time limit; 10 halted forever; 12 unmapped memory; 14 emulator
//! failure. A reset through the Hyper-V reset MSR exits 16, a crash report 18.

use std::process::ExitCode;

use hv_sim::{Arm64Machine, Config, Exit, Image, Machine, Profile, SimError, is_arm64_image};

const USAGE: &str = "usage: hv-sim <kernel.elf|Image> [--profile none|kvm|hyperv] [--hv <flags>] \
[--mem MiB] [--vps N] [--max-instructions N] [--max-time-ms N] [--stats json] [--quiet] \
[--append <cmdline>]";

struct Args {
    /// `--append`: the arm64 device tree's command line.
    append: Option<String>,
    /// Neither `--profile` nor `--hv` was given.
    defaulted: bool,
    kernel: String,
    config: Config,
    stats: bool,
}

fn number(flag: &str, value: Option<String>) -> Result<u64, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    parsed.map_err(|_| format!("{flag}: `{value}` is not a number"))
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut kernel = None;
    let mut profile = None;
    let mut hv = None;
    let mut config = Config {
        echo_serial: true,
        ..Config::default()
    };
    let mut stats = false;
    let mut append = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => profile = Some(args.next().ok_or("--profile needs a value")?),
            "--hv" => hv = Some(args.next().ok_or("--hv needs a value")?),
            "--mem" => config.mem_mib = number("--mem", args.next())?,
            "--vps" => {
                config.vps = u32::try_from(number("--vps", args.next())?)
                    .map_err(|_| "--vps is too large".to_string())?;
            }
            "--max-instructions" => {
                config.max_instructions = Some(number("--max-instructions", args.next())?);
            }
            "--max-time-ms" => {
                let ms = number("--max-time-ms", args.next())?;
                config.max_time_ns = Some(
                    ms.checked_mul(1_000_000)
                        .ok_or("--max-time-ms is too large")?,
                );
            }
            "--stats" => match args.next().as_deref() {
                Some("json") => stats = true,
                _ => return Err("--stats takes `json`".into()),
            },
            "--quiet" => config.echo_serial = false,
            "--append" => append = Some(args.next().ok_or("--append needs a value")?),
            "-h" | "--help" => return Err(USAGE.into()),
            other if other.starts_with('-') => return Err(format!("unknown option `{other}`")),
            other if kernel.is_none() => kernel = Some(other.to_string()),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    config.profile =
        Profile::parse(profile.as_deref(), hv.as_deref()).map_err(|e| e.to_string())?;
    let defaulted = profile.is_none() && hv.is_none();
    Ok(Args {
        append,
        defaulted,
        kernel: kernel.ok_or(USAGE)?,
        config,
        stats,
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("hv-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let image = match std::fs::read(&args.kernel) {
        Ok(image) => image,
        Err(e) => {
            eprintln!("hv-sim: cannot read {}: {e}", args.kernel);
            return ExitCode::from(2);
        }
    };
    let result = if is_arm64_image(&image) {
        // An arm64 kernel: KVM has no Hyper-V emulation there, so the default is `hyperv`.
        let mut config = args.config.clone();
        if args.defaulted {
            config.profile = Profile::hyperv();
        }
        let bootargs = args.append.as_deref().unwrap_or("");
        Arm64Machine::new(&config, &image, bootargs).and_then(|mut machine| {
            let result = machine.run();
            if args.stats {
                println!("{}", machine.stats().to_json());
            }
            result
        })
    } else if args.append.is_some() {
        Err(SimError::Config(
            "--append sets the arm64 device tree's command line; the x86-64 entry takes none"
                .into(),
        ))
    } else {
        Machine::new(&args.config, &Image::Elf(&image)).and_then(|mut machine| {
            let result = machine.run();
            if args.stats {
                println!("{}", machine.stats().to_json());
            }
            result
        })
    };
    let status = match result {
        Ok(exit) => {
            if let Exit::Crash(report) = &exit {
                eprintln!("hv-sim: the guest reported a crash: {report}");
            }
            exit.status()
        }
        Err(error) => {
            eprintln!("hv-sim: {error}");
            SimError::status(&error)
        }
    };
    ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX))
}
