//! `cargo xtask run`: build a kernel, boot it, stream its report, exit with its verdict.

use std::time::Duration;

use crate::cmd;
use crate::kernel::{self, Profile};
use crate::qemu::{self, Config, DEFAULT_HV_FLAGS, Host, Machine, Verdict};
use crate::sim;

pub(crate) const USAGE: &str = "\
usage: cargo xtask run [--host qemu-tcg|qemu-kvm|qemu-whpx|sim] [--machine q35|pc]
                       [--hv-flags <flag,flag,...>] [--release]
                       [--kernel sample-kernel|rt-check] [--append <command line>]
                       [--profile none|kvm|hyperv] [--hv <flag,flag,...>] [--stats json]
                       [--timeout <seconds>]

  --host      where to boot (default: qemu-kvm when /dev/kvm emulates Hyper-V, else sim
              when hv-sim is built or CMake can build it, else qemu-tcg)
  --machine   QEMU machine type (default: q35)
  --hv-flags  replaces the Hyper-V enlightenments of qemu-kvm (QEMU names, comma-separated)
  --release   boot the release build
  --kernel    which kernel to boot (default: sample-kernel)
  --append    kernel command line, QEMU only (rt-check: selftest, reenter64,
              reenter64-bare, fault=ud|gp|pf|df|int|panic)
  --profile   sim: the partition hv-sim models (default: hyperv)
  --hv        sim: a KVM-style partition with these QEMU hv-* flags (with --profile kvm:
              added to its set)
  --stats     sim: print hv-sim's exit counters as JSON after the run
  --timeout   kill the host after this many seconds (default: 60)
";

/// Parsed `cargo xtask run` arguments.
#[derive(Debug)]
struct Args {
    host: Option<Host>,
    machine: Machine,
    hv_flags: Option<Vec<String>>,
    profile: Profile,
    kernel: String,
    append: Option<String>,
    sim_profile: Option<String>,
    sim_hv: Option<String>,
    stats: bool,
    timeout: Duration,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        host: None,
        machine: Machine::Q35,
        hv_flags: None,
        profile: Profile::Debug,
        kernel: kernel::DEMO.into(),
        append: None,
        sim_profile: None,
        sim_hv: None,
        stats: false,
        timeout: Duration::from_secs(60),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("`{arg}` needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--host" => parsed.host = Some(Host::parse(&value()?)?),
            "--machine" => parsed.machine = Machine::parse(&value()?)?,
            "--hv-flags" => {
                let list = value()?;
                parsed.hv_flags = Some(
                    list.split(',')
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                        .map(String::from)
                        .collect(),
                );
            }
            "--release" => parsed.profile = Profile::Release,
            "--kernel" => {
                let name = value()?;
                if name != kernel::DEMO && name != kernel::RT_CHECK {
                    return Err(format!(
                        "unknown kernel `{name}` ({}, {})",
                        kernel::DEMO,
                        kernel::RT_CHECK
                    ));
                }
                parsed.kernel = name;
            }
            "--append" => parsed.append = Some(value()?),
            "--profile" => {
                let name = value()?;
                if !sim::PROFILES.contains(&name.as_str()) {
                    return Err(format!("unknown profile `{name}` (none, kvm, hyperv)"));
                }
                parsed.sim_profile = Some(name);
            }
            "--hv" => parsed.sim_hv = Some(value()?),
            "--stats" => match value()?.as_str() {
                "json" => parsed.stats = true,
                other => return Err(format!("`--stats {other}`: only `json` exists")),
            },
            "--timeout" => {
                let secs = value()?;
                let secs: u64 = secs
                    .parse()
                    .map_err(|_| format!("`--timeout {secs}`: not a number of seconds"))?;
                parsed.timeout = Duration::from_secs(secs);
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(parsed)
}

/// `cargo xtask run`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    let args = parse(args)?;
    let (host, why) = match args.host {
        Some(host) => (host, "chosen with --host".to_string()),
        None => {
            let (host, why) = Host::default_for_this_machine();
            (host, format!("default: {why}"))
        }
    };
    println!("xtask: host {host} ({why})");
    if args.host == Some(Host::QemuKvm) {
        if let Err(why) = crate::kvm::probe_hyperv() {
            eprintln!("xtask: warning: {why}; QEMU will likely refuse the hv-* flags");
        }
    }
    if args.hv_flags.is_some() && host != Host::QemuKvm {
        return Err(format!(
            "--hv-flags applies to qemu-kvm only: QEMU's hv-* enlightenments need KVM (TCG \
             ignores them, WHPX exposes its own), and the host is {host}"
        ));
    }
    let sim_only = args.sim_profile.is_some() || args.sim_hv.is_some() || args.stats;
    if sim_only && host != Host::Sim {
        return Err(format!(
            "--profile, --hv and --stats apply to --host sim (hv-sim) only; the host is {host}"
        ));
    }
    if host == Host::Sim {
        return run_sim(&args);
    }
    let runs_here = host != Host::QemuWhpx || cfg!(windows);
    kernel::ensure_tools(runs_here)?;
    kernel::build(args.profile)?;
    let config = Config {
        host,
        machine: args.machine,
        tcg_cpu: None,
        hv_flags: args
            .hv_flags
            .unwrap_or_else(|| DEFAULT_HV_FLAGS.iter().map(|f| f.to_string()).collect()),
        append: args.append,
        kernel: kernel::path(&args.kernel, args.profile),
    };
    if !runs_here {
        let mut windows = config.clone();
        windows.kernel = qemu::windows_path(&cmd::root(), &config.kernel).into();
        let argv = windows.command_line("qemu-system-x86_64.exe");
        return Err(format!(
            "qemu-whpx runs on Windows only: QEMU's Windows Hypervisor Platform accelerator \
             needs the Windows hypervisor (x86_64 Windows 10 2004 or later, with the \"Windows \
             Hypervisor Platform\" feature: DISM /online /Enable-Feature \
             /FeatureName:HypervisorPlatform /All). On such a machine, `cargo xtask run --host \
             qemu-whpx` boots it directly, or from the workspace root after `cargo build -p \
             sample-kernel --bins --target x86_64-unknown-none{}`:\n\n    {}\n\nWHPX gives the \
             guest the Windows hypervisor's own Hyper-V interface; it ignores -cpu, so hv-* \
             flags do not apply.",
            if args.profile == Profile::Release {
                " --release"
            } else {
                ""
            },
            argv.join(" ")
        ));
    }
    let run = qemu::run(&config, true, args.timeout)?;
    report(&run)
}

/// `cargo xtask run --host sim`: builds hv-sim and the kernel, boots it through the
/// 64-bit entry, streams the serial output.
fn run_sim(args: &Args) -> Result<(), String> {
    if args.append.is_some() {
        return Err("--append applies to QEMU: hv-sim passes no kernel command line".into());
    }
    kernel::ensure_tools(false)?;
    sim::build()?;
    kernel::build(args.profile)?;
    // A profile is named unless only flags are given (then hv-sim models exactly those).
    let profile = match (&args.sim_profile, &args.sim_hv) {
        (None, Some(_)) => None,
        (profile, _) => Some(
            profile
                .clone()
                .unwrap_or_else(|| sim::DEFAULT_PROFILE.to_string()),
        ),
    };
    let config = sim::Config {
        profile,
        hv: args.sim_hv.clone(),
        stats: args.stats,
        kernel: kernel::path(&args.kernel, args.profile),
    };
    let sim = sim::run(&config, true, args.timeout)?;
    if let Some(stats) = &sim.stats {
        println!("{stats}");
    }
    report(&sim.run)
}

/// Prints the verdict line and turns the verdict into the command's result.
fn report(run: &qemu::Run) -> Result<(), String> {
    let summary = run
        .summary_at
        .map(|t| format!(", summary line after {:.3} s", t.as_secs_f64()))
        .unwrap_or_default();
    println!(
        "xtask: kernel verdict: {} after {:.3} s{summary}",
        run.verdict,
        run.elapsed.as_secs_f64()
    );
    match run.verdict {
        Verdict::Success => Ok(()),
        other => Err(format!("the kernel run ended with {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults() {
        let a = parse(&[]).expect("no arguments is valid");
        assert_eq!(a.host, None);
        assert_eq!(a.machine, Machine::Q35);
        assert_eq!(a.profile, Profile::Debug);
        assert_eq!(a.kernel, "sample-kernel");
        assert_eq!(a.timeout, Duration::from_secs(60));
    }

    #[test]
    fn every_option() {
        let a = parse(&strings(&[
            "--host",
            "qemu-kvm",
            "--machine",
            "pc",
            "--hv-flags",
            "hv-relaxed, hv-vpindex,",
            "--release",
            "--kernel",
            "rt-check",
            "--append",
            "fault=ud",
            "--timeout",
            "5",
        ]))
        .expect("valid arguments");
        assert_eq!(a.host, Some(Host::QemuKvm));
        assert_eq!(a.machine, Machine::Pc);
        assert_eq!(a.hv_flags, Some(strings(&["hv-relaxed", "hv-vpindex"])));
        assert_eq!(a.profile, Profile::Release);
        assert_eq!(a.kernel, "rt-check");
        assert_eq!(a.append.as_deref(), Some("fault=ud"));
        assert_eq!(a.timeout, Duration::from_secs(5));
        let sim = parse(&strings(&[
            "--host",
            "sim",
            "--profile",
            "kvm",
            "--hv",
            "relaxed,vpindex",
            "--stats",
            "json",
        ]))
        .expect("valid sim arguments");
        assert_eq!(sim.host, Some(Host::Sim));
        assert_eq!(sim.sim_profile.as_deref(), Some("kvm"));
        assert_eq!(sim.sim_hv.as_deref(), Some("relaxed,vpindex"));
        assert!(sim.stats);
    }

    #[test]
    fn bad_arguments_are_errors() {
        for bad in [
            &["--host"][..],
            &["--host", "vbox"],
            &["--machine", "virt"],
            &["--kernel", "linux"],
            &["--timeout", "soon"],
            &["--profile", "xen"],
            &["--stats", "yaml"],
            &["--frobnicate"],
        ] {
            assert!(parse(&strings(bad)).is_err(), "{bad:?}");
        }
    }
}
