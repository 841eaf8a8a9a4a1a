//! `cargo xtask run`: build a kernel, boot it, stream its report, exit with its verdict.

use std::time::Duration;

use crate::cmd;
use crate::kernel::{self, Profile};
use crate::qemu::{self, Config, DEFAULT_HV_FLAGS, Host, Machine, Verdict};
use crate::uefi;

pub(crate) const USAGE: &str = "\
usage: cargo xtask run [--host qemu-tcg|qemu-kvm|qemu-whpx|sim] [--machine q35|pc]
                       [--firmware pvh|uefi] [--hv-flags <flag,flag,...>] [--release]
                       [--kernel sample-kernel|rt-check] [--append <command line>]
                       [--timeout <seconds>]

  --host      where to boot (default: qemu-kvm when /dev/kvm emulates Hyper-V, else qemu-tcg)
  --firmware  pvh: QEMU loads the kernel directly (-kernel); uefi: OVMF boots the disk of
              `cargo xtask image` (sample-kernel only, no --append) (default: pvh)
  --machine   QEMU machine type (default: q35)
  --hv-flags  replaces the Hyper-V enlightenments of qemu-kvm (QEMU names, comma-separated)
  --release   boot the release build
  --kernel    which kernel to boot (default: sample-kernel)
  --append    kernel command line (rt-check: selftest, reenter64, reenter64-bare,
              fault=ud|gp|pf|df|int|panic)
  --timeout   kill QEMU after this many seconds (default: 60)
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
    host: Option<Host>,
    machine: Machine,
    firmware: Firmware,
    hv_flags: Option<Vec<String>>,
    profile: Profile,
    kernel: String,
    append: Option<String>,
    timeout: Duration,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        host: None,
        machine: Machine::Q35,
        firmware: Firmware::Pvh,
        hv_flags: None,
        profile: Profile::Debug,
        kernel: kernel::DEMO.into(),
        append: None,
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
    if host == Host::Sim {
        return Err(
            "host `sim` is reserved for hv-sim, which is not built yet: it will boot \
                    the kernel through its 64-bit entry (docs/architecture.md); use \
                    --host qemu-tcg meanwhile"
                .into(),
        );
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
    verdict(&run)
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
    verdict(&run)
}

/// Prints how the run ended and turns it into the command's result.
fn verdict(run: &qemu::Run) -> Result<(), String> {
    let summary = run
        .summary_at
        .map(|t| format!(", summary line after {:.2} s", t.as_secs_f64()))
        .unwrap_or_default();
    println!(
        "xtask: kernel verdict: {} after {:.2} s{summary}",
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
    }

    #[test]
    fn bad_arguments_are_errors() {
        for bad in [
            &["--host"][..],
            &["--host", "vbox"],
            &["--machine", "virt"],
            &["--kernel", "linux"],
            &["--timeout", "soon"],
            &["--frobnicate"],
            &["--firmware", "bios"],
            &["--firmware", "uefi", "--kernel", "rt-check"],
            &["--firmware", "uefi", "--append", "selftest"],
        ] {
            assert!(parse(&strings(bad)).is_err(), "{bad:?}");
        }
    }
}
