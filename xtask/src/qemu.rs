//! Booting a kernel under QEMU: the hosts, the command line, and running it with a time
//! limit while streaming and recording the serial output.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::kvm;

/// Where the kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    /// QEMU with its TCG CPU emulator (any machine; no Hyper-V interface).
    QemuTcg,
    /// QEMU with KVM and Hyper-V enlightenments (`-cpu host,hv-...`).
    QemuKvm,
    /// QEMU with the Windows Hypervisor Platform (Windows only).
    QemuWhpx,
    /// The `hv-sim` host model.
    Sim,
}

impl Host {
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "qemu-tcg" => Self::QemuTcg,
            "qemu-kvm" => Self::QemuKvm,
            "qemu-whpx" => Self::QemuWhpx,
            "sim" => Self::Sim,
            other => {
                return Err(format!(
                    "unknown host `{other}` (qemu-tcg, qemu-kvm, qemu-whpx, sim)"
                ));
            }
        })
    }

    /// The default: QEMU+KVM when /dev/kvm emulates Hyper-V, else `hv-sim` when it is
    /// built or can be, else QEMU TCG; with the reason.
    pub(crate) fn default_for_this_machine() -> (Self, String) {
        match kvm::probe_hyperv() {
            Ok(why) => (Self::QemuKvm, why),
            Err(no_kvm) => match crate::sim::available() {
                Ok(why) => (Self::Sim, format!("{no_kvm}; {why}")),
                Err(no_sim) => (Self::QemuTcg, format!("{no_kvm}; {no_sim}")),
            },
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::QemuTcg => "qemu-tcg",
            Self::QemuKvm => "qemu-kvm",
            Self::QemuWhpx => "qemu-whpx",
            Self::Sim => "sim",
        })
    }
}

/// The QEMU machine type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Machine {
    Q35,
    Pc,
}

impl Machine {
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        match name {
            "q35" => Ok(Self::Q35),
            "pc" => Ok(Self::Pc),
            other => Err(format!("unknown machine `{other}` (q35, pc)")),
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Q35 => "q35",
            Self::Pc => "pc",
        })
    }
}

/// The Hyper-V enlightenments `--host qemu-kvm` enables unless `--hv-flags` replaces them
/// (QEMU's names, docs/system/i386/hyperv.rst). Left out: `hv-evmcs`, `hv-emsr-bitmap`,
/// `hv-tlbflush-direct` and `hv-reenlightenment` (nested virtualization only; eVMCS is
/// Intel-only), `hv-syndbg` (needs a VMBus bridge device), `hv-passthrough` and
/// `hv-enforce-cpuid` (development switches).
pub(crate) const DEFAULT_HV_FLAGS: &[&str] = &[
    "hv-relaxed",
    "hv-vapic",
    "hv-spinlocks=0x1fff",
    "hv-vpindex",
    "hv-runtime",
    "hv-crash",
    "hv-time",
    "hv-synic",
    "hv-stimer",
    "hv-stimer-direct",
    "hv-tlbflush",
    "hv-tlbflush-ext",
    "hv-ipi",
    "hv-frequencies",
    "hv-reset",
    "hv-xmm-input",
];

/// Process exit status of QEMU when the kernel wrote 0x10 (success) to isa-debug-exit.
pub(crate) const QEMU_EXIT_SUCCESS: i32 = 33;
/// Process exit status of QEMU when the kernel wrote 0x11 (failure).
pub(crate) const QEMU_EXIT_FAILURE: i32 = 35;

/// Everything that decides the QEMU command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) host: Host,
    pub(crate) machine: Machine,
    /// `-cpu` for TCG; `None` means `max` (every feature TCG has, x2APIC included).
    pub(crate) tcg_cpu: Option<String>,
    /// The `hv-*` flags for KVM.
    pub(crate) hv_flags: Vec<String>,
    /// The kernel command line (`-append`), if any.
    pub(crate) append: Option<String>,
    pub(crate) kernel: PathBuf,
}

impl Config {
    /// The program and arguments. `program` is the QEMU executable's name.
    pub(crate) fn command_line(&self, program: &str) -> Vec<String> {
        let mut args = machine_args(
            program,
            self.host,
            self.machine,
            self.tcg_cpu.as_deref(),
            &self.hv_flags,
        );
        args.push("-kernel".into());
        args.push(self.kernel.display().to_string());
        if let Some(append) = &self.append {
            args.extend(["-append".into(), append.clone()]);
        }
        args
    }
}

/// The program and the arguments that make the machine (accelerator, CPU, memory, console,
/// the contract's devices), without what it boots: [`Config::command_line`] adds the
/// kernel, `crate::uefi` the firmware and the disk. `tcg_cpu` and `hv_flags` are as in
/// [`Config`].
pub(crate) fn machine_args(
    program: &str,
    host: Host,
    machine: Machine,
    tcg_cpu: Option<&str>,
    hv_flags: &[String],
) -> Vec<String> {
    let mut args = vec![program.to_string(), "-machine".into(), machine.to_string()];
    match host {
        Host::QemuTcg => {
            args.extend(["-accel".into(), "tcg".into(), "-cpu".into()]);
            args.push(tcg_cpu.unwrap_or("max").into());
        }
        Host::QemuKvm => {
            let mut cpu = String::from("host");
            for flag in hv_flags {
                cpu.push(',');
                cpu.push_str(flag);
            }
            args.extend(["-accel".into(), "kvm".into(), "-cpu".into(), cpu]);
        }
        // WHPX ignores -cpu and exposes the host's Hyper-V interface by itself.
        Host::QemuWhpx => args.extend(["-accel".into(), "whpx".into()]),
        Host::Sim => unreachable!("hv-sim is not QEMU"),
    }
    for arg in [
        "-m",
        "128M",
        "-smp",
        "1",
        "-nodefaults",
        "-serial",
        "stdio",
        "-display",
        "none",
        "-monitor",
        "none",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-no-reboot",
    ] {
        args.push(arg.into());
    }
    args
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The kernel reported success (QEMU exit status 33).
    Success,
    /// The kernel reported a failure (QEMU exit status 35).
    Failure,
    /// The host ended without the kernel's verdict (e.g. QEMU exits 0 on a triple fault
    /// with `-no-reboot`; hv-sim exits with an even status for a model error), with its
    /// exit status.
    Missing(Option<i32>),
    /// The time limit passed; QEMU was killed.
    Timeout(Duration),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Success => write!(f, "success (exit status {QEMU_EXIT_SUCCESS})"),
            Self::Failure => write!(f, "failure (exit status {QEMU_EXIT_FAILURE})"),
            Self::Missing(Some(code)) => {
                write!(f, "no verdict from the kernel (host exit status {code})")
            }
            Self::Missing(None) => {
                f.write_str("no verdict from the kernel (host killed by a signal)")
            }
            Self::Timeout(limit) => write!(f, "timed out after {} s; host killed", limit.as_secs()),
        }
    }
}

/// A finished run.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) verdict: Verdict,
    /// Everything the host wrote to standard output: the kernel's serial port (and, for
    /// `hv-sim --stats json`, the counters as a last line).
    pub(crate) serial: String,
    /// From starting the host to its exit.
    pub(crate) elapsed: Duration,
    /// From starting the host to the first serial line containing `summary:`, if any.
    pub(crate) summary_at: Option<Duration>,
}

/// Runs QEMU with `config`, copying the serial output to stdout when `stream` is set, and
/// kills it after `limit`.
pub(crate) fn run(config: &Config, stream: bool, limit: Duration) -> Result<Run, String> {
    run_command(&config.command_line(QEMU_X86_64), stream, limit)
}

/// Runs a host program (QEMU or `hv-sim`) whose standard output is the guest's serial port
/// and whose exit status is the `isa-debug-exit` status, copying the output to stdout when
/// `stream` is set, and kills it after `limit`.
pub(crate) fn run_command(argv: &[String], stream: bool, limit: Duration) -> Result<Run, String> {
    eprintln!("xtask: $ {}", argv.join(" "));
    let start = Instant::now();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut serial = Vec::new();
        let mut summary_at = None;
        let mut buf = [0_u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if stream {
                        let mut out = std::io::stdout().lock();
                        // Output that cannot be shown is still recorded.
                        let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
                    }
                    serial.extend_from_slice(&buf[..n]);
                    if summary_at.is_none() && contains(&serial, b"summary:") {
                        summary_at = Some(start.elapsed());
                    }
                }
            }
        }
        (serial, summary_at)
    });
    let verdict = loop {
        match child
            .try_wait()
            .map_err(|e| format!("waiting for {}: {e}", argv[0]))?
        {
            Some(status) => {
                break match status.code() {
                    Some(QEMU_EXIT_SUCCESS) => Verdict::Success,
                    Some(QEMU_EXIT_FAILURE) => Verdict::Failure,
                    code => Verdict::Missing(code),
                };
            }
            None if start.elapsed() >= limit => {
                // Already-exited races are fine: kill then reap.
                let _ = child.kill();
                let _ = child.wait();
                break Verdict::Timeout(limit);
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let elapsed = start.elapsed();
    let (serial, summary_at) = reader.join().map_err(|_| "serial reader panicked")?;
    Ok(Run {
        verdict,
        serial: String::from_utf8_lossy(&serial).into_owned(),
        elapsed,
        summary_at,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The QEMU executable for x86_64 guests.
pub(crate) const QEMU_X86_64: &str = "qemu-system-x86_64";

/// The kernel path as the Windows command line shows it (relative, backslashes).
pub(crate) fn windows_path(root: &Path, kernel: &Path) -> String {
    kernel
        .strip_prefix(root)
        .unwrap_or(kernel)
        .display()
        .to_string()
        .replace('/', "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(host: Host) -> Config {
        Config {
            host,
            machine: Machine::Q35,
            tcg_cpu: None,
            hv_flags: DEFAULT_HV_FLAGS.iter().map(|s| s.to_string()).collect(),
            append: None,
            kernel: PathBuf::from("/k"),
        }
    }

    #[test]
    fn tcg_command_line_has_the_contract_devices() {
        let line = config(Host::QemuTcg).command_line("qemu").join(" ");
        assert_eq!(
            line,
            "qemu -machine q35 -accel tcg -cpu max -m 128M -smp 1 -nodefaults -serial stdio \
             -display none -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
             -no-reboot -kernel /k"
        );
    }

    #[test]
    fn kvm_command_line_carries_the_hv_flags() {
        let mut c = config(Host::QemuKvm);
        c.machine = Machine::Pc;
        c.append = Some("fault=ud".into());
        let argv = c.command_line("qemu");
        let cpu = &argv[argv.iter().position(|a| a == "-cpu").expect("-cpu") + 1];
        assert!(
            cpu.starts_with("host,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,"),
            "{cpu}"
        );
        assert!(cpu.ends_with(",hv-xmm-input"), "{cpu}");
        assert!(!cpu.contains("evmcs"));
        assert_eq!(&argv[1..3], ["-machine", "pc"]);
        assert_eq!(&argv[argv.len() - 2..], ["-append", "fault=ud"]);
    }

    #[test]
    fn whpx_has_no_cpu_option() {
        let argv = config(Host::QemuWhpx).command_line("qemu-system-x86_64.exe");
        assert!(!argv.iter().any(|a| a == "-cpu"));
        assert_eq!(&argv[3..5], ["-accel", "whpx"]);
    }

    #[test]
    fn hosts_and_machines_parse_their_names() {
        for host in [Host::QemuTcg, Host::QemuKvm, Host::QemuWhpx, Host::Sim] {
            assert_eq!(Host::parse(&host.to_string()), Ok(host));
        }
        assert!(Host::parse("hyperv").is_err());
        assert_eq!(Machine::parse("pc"), Ok(Machine::Pc));
        assert!(Machine::parse("virt").is_err());
    }

    #[test]
    fn windows_path_is_relative_with_backslashes() {
        let root = Path::new("/w");
        let kernel = Path::new("/w/target/x86_64-unknown-none/debug/sample-kernel");
        assert_eq!(
            windows_path(root, kernel),
            "target\\x86_64-unknown-none\\debug\\sample-kernel"
        );
    }
}
