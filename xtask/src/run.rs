//! `cargo xtask run`: build a kernel, boot it, stream its report, exit with its verdict.

use std::time::Duration;

use crate::arm64::{self, Arch};
use crate::cmd;
use crate::kernel::{self, Profile};
use crate::qemu::{self, Config, DEFAULT_HV_FLAGS, Host, Machine, Verdict};
use crate::sim;
use crate::uefi;

pub(crate) const USAGE: &str = "\
usage: cargo xtask run [--arch x86_64|aarch64]
                       [--host qemu-tcg|qemu-kvm|qemu-whpx|sim] [--machine q35|pc]
                       [--firmware pvh|uefi] [--hv-flags <flag,flag,...>] [--release]
                       [--kernel sample-kernel|rt-check|rt-check-arm64]
                       [--append <command line>] [--profile none|kvm|hyperv]
                       [--hv <flag,flag,...>] [--stats json] [--timeout <seconds>]

  --arch      the kernel's architecture (default: x86_64); aarch64 boots the arm64 Image
              on QEMU virt (hosts qemu-tcg and qemu-whpx) or on hv-sim (host sim, the
              default when hv-sim is built or can be; no --machine, --hv-flags or --hv);
              with --firmware uefi AAVMF boots the arm64 disk (hosts qemu-tcg,
              the default then, and qemu-whpx; no --machine or --hv-flags)
  --host      where to boot (default: qemu-kvm when /dev/kvm emulates Hyper-V, else sim
              when hv-sim is built or CMake can build it, else qemu-tcg)
  --firmware  pvh: QEMU loads the kernel directly (-kernel; the arm64 Image for aarch64);
              uefi: OVMF (AAVMF for aarch64) boots the disk of `cargo xtask image`
              (sample-kernel only, no --append) (default: pvh)
  --machine   QEMU machine type (default: q35)
  --hv-flags  replaces the Hyper-V enlightenments of qemu-kvm (QEMU names, comma-separated)
  --release   boot the release build
  --kernel    which kernel to boot (default: sample-kernel; rt-check is x86_64 only,
              rt-check-arm64 aarch64 only)
  --append    kernel command line, QEMU and arm64 hv-sim (rt-check: selftest, reenter64,
              reenter64-bare, fault=ud|gp|pf|df|int|panic; rt-check-arm64: selftest,
              fault=undef|abort|irq|panic)
  --profile   sim: the partition hv-sim models (default: hyperv)
  --hv        sim: a KVM-style partition with these QEMU hv-* flags (with --profile kvm:
              added to its set)
  --stats     sim: print hv-sim's exit counters as JSON after the run
  --timeout   kill the host after this many seconds (default: 60)
";

/// How the kernel is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Firmware {
    /// QEMU's `-kernel`, through the PVH entry.
    Pvh,
    /// OVMF, from the disk of `cargo xtask image`, through the UEFI entry.
    Uefi,
}

/// Parsed `cargo xtask run` arguments.
#[derive(Debug)]
struct Args {
    arch: Arch,
    host: Option<Host>,
    machine: Machine,
    firmware: Firmware,
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
        arch: Arch::X86_64,
        host: None,
        machine: Machine::Q35,
        firmware: Firmware::Pvh,
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
            "--arch" => parsed.arch = Arch::parse(&value()?)?,
            "--host" => parsed.host = Some(Host::parse(&value()?)?),
            "--machine" => parsed.machine = Machine::parse(&value()?)?,
            "--firmware" => {
                parsed.firmware = match value()?.as_str() {
                    "pvh" => Firmware::Pvh,
                    "uefi" => Firmware::Uefi,
                    other => return Err(format!("unknown firmware `{other}` (pvh, uefi)")),
                }
            }
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
                if name != kernel::DEMO && name != kernel::RT_CHECK && name != arm64::RT_CHECK {
                    return Err(format!(
                        "unknown kernel `{name}` ({}, {}, {})",
                        kernel::DEMO,
                        kernel::RT_CHECK,
                        arm64::RT_CHECK
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
    if parsed.firmware == Firmware::Uefi
        && (parsed.kernel != kernel::DEMO || parsed.append.is_some())
    {
        return Err(
            "--firmware uefi boots the sample kernel's disk, which has no command line: \
             --kernel rt-check and --append need --firmware pvh"
                .into(),
        );
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
    if args.arch == Arch::Aarch64 {
        if args.hv_flags.is_some() || args.machine != Machine::Q35 {
            return Err("--hv-flags and --machine apply to x86_64 only".into());
        }
        if args.firmware == Firmware::Uefi {
            let host = args.host.unwrap_or(Host::QemuTcg);
            println!("xtask: host {host} (aarch64, UEFI)");
            return run_uefi_aarch64(&args, host);
        }
        let (host, why) = match args.host {
            Some(host) => (host, "chosen with --host"),
            // As on x86_64, prefer a host with the Hyper-V interface: QEMU TCG has none.
            None if sim::available().is_ok() => (Host::Sim, "default: hv-sim models Hyper-V"),
            None => (Host::QemuTcg, "default: hv-sim cannot be built here"),
        };
        println!("xtask: host {host} (aarch64, {why})");
        if host == Host::Sim {
            if args.sim_hv.is_some() {
                return Err(
                    "--hv describes a KVM-style partition, and KVM has no Hyper-V \
                            emulation on arm64: use --profile hyperv or none"
                        .into(),
                );
            }
            let sim = arm64::SimRun {
                profile: args.sim_profile.clone(),
                stats: args.stats,
                append: args.append.clone(),
            };
            return arm64::run_sim(args.profile, &args.kernel, &sim, args.timeout);
        }
        if args.sim_profile.is_some() || args.sim_hv.is_some() || args.stats {
            return Err(format!(
                "--profile, --hv and --stats apply to --host sim (hv-sim) only; the host is {host}"
            ));
        }
        return arm64::run(host, args.profile, &args.kernel, args.append, args.timeout);
    }
    if args.kernel == arm64::RT_CHECK {
        return Err(format!(
            "{} is an aarch64 kernel (--arch aarch64)",
            arm64::RT_CHECK
        ));
    }
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
    if args.firmware == Firmware::Uefi {
        return run_uefi(&args, host);
    }
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

/// `cargo xtask run --firmware uefi`: makes the raw disk and boots it with OVMF; for
/// `qemu-whpx`, prints the Windows command line instead.
fn run_uefi(args: &Args, host: Host) -> Result<(), String> {
    let hv_flags = args
        .hv_flags
        .clone()
        .unwrap_or_else(|| DEFAULT_HV_FLAGS.iter().map(|f| f.to_string()).collect());
    if host == Host::QemuWhpx {
        return Err(format!(
            "qemu-whpx runs on Windows (see `cargo xtask run --host qemu-whpx`), and the UEFI \
             disk is made on Linux or WSL (mkfs.fat, mtools). Make it with `cargo xtask \
             image{}`, copy QEMU's share\\edk2-i386-vars.fd to vars.fd, and run from the \
             workspace root on Windows:\n\n    {}",
            if args.profile == Profile::Release {
                " --release"
            } else {
                ""
            },
            uefi::whpx_command_line(args.machine, args.profile).join(" ")
        ));
    }
    kernel::ensure_tools(true)?;
    let run = uefi::boot(
        host,
        args.machine,
        hv_flags,
        args.profile,
        true,
        args.timeout,
    )?;
    report(&run)
}

/// `cargo xtask run --arch aarch64 --firmware uefi`: makes the arm64 raw disk and boots it
/// with AAVMF under QEMU TCG; for `qemu-whpx`, prints the Windows command line instead.
fn run_uefi_aarch64(args: &Args, host: Host) -> Result<(), String> {
    match host {
        Host::QemuTcg => {}
        Host::QemuWhpx => {
            return Err(format!(
                "qemu-whpx runs on arm64 Windows (Windows 11 24H2 with the May 2025 updates or \
                 later, with the Windows Hypervisor Platform feature), and the UEFI disk is \
                 made on Linux or WSL (mkfs.fat, mtools). Make it with `cargo xtask image \
                 --arch aarch64{}`, then run from the workspace root on Windows:\n\n    {}\n\n\
                 WHPX has no semihosting: the verdict is only in the `[rt] exit:` line, and \
                 the kernel then powers the VM off through PSCI SYSTEM_OFF (QEMU exits with \
                 0). This command line is untested here.",
                if args.profile == Profile::Release {
                    " --release"
                } else {
                    ""
                },
                uefi::whpx_command_line_aarch64(args.profile)?.join(" ")
            ));
        }
        other => {
            return Err(format!(
                "the arm64 UEFI boot runs on qemu-tcg (or qemu-whpx on arm64 Windows), not \
                 {other}"
            ));
        }
    }
    arm64::ensure_tools()?;
    let run = uefi::boot_aarch64(args.profile, true, args.timeout)?;
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
        append: None,
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
        assert_eq!(a.arch, Arch::X86_64);
        assert_eq!(a.host, None);
        assert_eq!(a.machine, Machine::Q35);
        assert_eq!(a.profile, Profile::Debug);
        assert_eq!(a.kernel, "sample-kernel");
        assert_eq!(a.firmware, Firmware::Pvh);
        assert_eq!(a.timeout, Duration::from_secs(60));
        let a = parse(&strings(&["--firmware", "uefi", "--host", "qemu-tcg"]))
            .expect("valid arguments");
        assert_eq!(a.firmware, Firmware::Uefi);
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
    fn aarch64_options() {
        let a = parse(&strings(&[
            "--arch",
            "aarch64",
            "--kernel",
            "rt-check-arm64",
            "--append",
            "fault=undef",
        ]))
        .expect("valid arguments");
        assert_eq!(a.arch, Arch::Aarch64);
        assert_eq!(a.kernel, "rt-check-arm64");
        assert!(run(&strings(&["--kernel", "rt-check-arm64"])).is_err());
        assert!(run(&strings(&["--arch", "aarch64", "--machine", "pc"])).is_err());
        let uefi =
            parse(&strings(&["--arch", "aarch64", "--firmware", "uefi"])).expect("valid arguments");
        assert_eq!((uefi.arch, uefi.firmware), (Arch::Aarch64, Firmware::Uefi));
        assert!(
            run(&strings(&[
                "--arch",
                "aarch64",
                "--firmware",
                "uefi",
                "--host",
                "qemu-kvm"
            ]))
            .unwrap_err()
            .contains("qemu-tcg")
        );
        let whpx = run(&strings(&[
            "--arch",
            "aarch64",
            "--firmware",
            "uefi",
            "--host",
            "qemu-whpx",
        ]))
        .unwrap_err();
        assert!(
            whpx.contains("qemu-system-aarch64.exe -machine virt,gic-version=3 -accel whpx"),
            "{whpx}"
        );
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
            &["--arch", "mips"],
            &["--firmware", "bios"],
            &["--firmware", "uefi", "--kernel", "rt-check"],
            &["--firmware", "uefi", "--append", "selftest"],
        ] {
            assert!(parse(&strings(bad)).is_err(), "{bad:?}");
        }
    }
}
