//! arm64: building the aarch64 kernels as arm64 Linux `Image`s, booting them under QEMU
//! `virt`, the boots `cargo xtask test` makes, and `cargo xtask run --arch aarch64`.
//!
//! The kernels are ELF files linked at their load address (`kernel-rt`'s
//! `arch/aarch64/link.ld`); QEMU's `-kernel` takes the flat `Image`, which [`flatten`] makes
//! by copying the loadable segments to their offsets from the first one. The `Image` header
//! is the ELF's first bytes, so the flat file starts with it.
//!
//! QEMU runs `-machine virt,gic-version=3` with `-semihosting-config enable=on,target=native`,
//! through which the kernel exits with status 33 (success) or 35 (failure), the statuses of
//! the x86_64 boots (`docs/architecture.md`, "Boot contract of the arm64 sample kernel").

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cmd::{self, cargo};
use crate::kernel::{self, Profile};
use crate::qemu::{self, Host, Verdict};
use crate::{sim, transcript};

/// The bare-metal target of the arm64 kernels.
pub(crate) const TARGET: &str = "aarch64-unknown-none";

/// The QEMU executable for aarch64 guests.
pub(crate) const QEMU: &str = "qemu-system-aarch64";

/// The arm64 runtime's check kernel.
pub(crate) const RT_CHECK: &str = "rt-check-arm64";

/// The kernels built for aarch64 (the x86_64 `rt-check` has no aarch64 build).
pub(crate) const KERNELS: [&str; 2] = [kernel::DEMO, RT_CHECK];

/// The architecture a command is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        match name {
            "x86_64" => Ok(Self::X86_64),
            "aarch64" | "arm64" => Ok(Self::Aarch64),
            other => Err(format!("unknown architecture `{other}` (x86_64, aarch64)")),
        }
    }
}

/// `--bin` arguments selecting [`KERNELS`].
fn bin_args() -> Vec<&'static str> {
    KERNELS.iter().flat_map(|k| ["--bin", k]).collect()
}

/// Lints the runtime and the kernels for aarch64.
pub(crate) fn lint() -> Result<(), String> {
    cmd::run(cargo().args([
        "clippy",
        "-p",
        "kernel-rt",
        "--target",
        TARGET,
        "--",
        "-D",
        "warnings",
    ]))?;
    cmd::run(
        cargo()
            .args(["clippy", "-p", kernel::PACKAGE, "--target", TARGET])
            .args(bin_args())
            .args(["--", "-D", "warnings"]),
    )
}

/// Documents the runtime and `hv-guest` for aarch64, and checks that `hv-guest`'s x86_64-only
/// API is absent from the aarch64 documentation (and its arm64 API from the x86_64 one).
pub(crate) fn docs() -> Result<(), String> {
    for package in ["kernel-rt", "hv-guest"] {
        cmd::run(
            cargo()
                .args(["doc", "--no-deps", "-p", package, "--target", TARGET])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?;
    }
    cmd::run(
        cargo()
            .args([
                "doc",
                "--no-deps",
                "-p",
                "hv-guest",
                "--target",
                "x86_64-unknown-none",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    let doc = |target: &str| target_dir().join(target).join("doc/hv_guest");
    check_api_split(&doc(TARGET), &doc("x86_64-unknown-none"))
}

/// Pages of `hv-guest`'s documentation that exist for one architecture only.
const X64_ONLY_PAGES: [&str; 5] = [
    "platform/trait.X64Platform.html",
    "platform/struct.XmmBlock.html",
    "hyperv/index.html",
    "discovery/index.html",
    "hypercall/struct.XmmOutput.html",
];
const ARM64_ONLY_PAGES: [&str; 3] = [
    "arm64/index.html",
    "arm64/trait.Arm64Platform.html",
    "arch/aarch64/struct.Arm64.html",
];

/// Checks that each architecture's documentation has its own pages and not the other's.
fn check_api_split(aarch64: &Path, x86_64: &Path) -> Result<(), String> {
    let mut wrong = Vec::new();
    for page in X64_ONLY_PAGES {
        if aarch64.join(page).exists() {
            wrong.push(format!("{page} exists in the aarch64 documentation"));
        }
        if !x86_64.join(page).exists() {
            wrong.push(format!("{page} is missing from the x86_64 documentation"));
        }
    }
    for page in ARM64_ONLY_PAGES {
        if x86_64.join(page).exists() {
            wrong.push(format!("{page} exists in the x86_64 documentation"));
        }
        if !aarch64.join(page).exists() {
            wrong.push(format!("{page} is missing from the aarch64 documentation"));
        }
    }
    if wrong.is_empty() {
        eprintln!("xtask: hv-guest's x86_64-only and arm64-only APIs are split as documented");
        Ok(())
    } else {
        Err(format!("hv-guest API split: {}", wrong.join("; ")))
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::root().join("target"))
}

/// Where `build` puts the ELF of kernel `name`.
pub(crate) fn elf_path(name: &str, profile: Profile) -> PathBuf {
    let dir = match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    };
    target_dir().join(TARGET).join(dir).join(name)
}

/// Where `build` puts the `Image` of kernel `name`.
pub(crate) fn image_path(name: &str, profile: Profile) -> PathBuf {
    elf_path(name, profile).with_extension("img")
}

/// Builds the aarch64 kernels with `profile` and writes their `Image`s.
pub(crate) fn build(profile: Profile) -> Result<(), String> {
    let mut command = cargo();
    command
        .args(["build", "-p", kernel::PACKAGE, "--target", TARGET])
        .args(bin_args());
    if profile == Profile::Release {
        command.arg("--release");
    }
    cmd::run(&mut command)?;
    for name in KERNELS {
        let elf = elf_path(name, profile);
        let bytes = std::fs::read(&elf).map_err(|e| format!("reading {}: {e}", elf.display()))?;
        let image = flatten(&bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
        let out = image_path(name, profile);
        std::fs::write(&out, &image).map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    Ok(())
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Turns an ELF64 AArch64 kernel into the flat image the Linux `Image` protocol loads: the
/// file bytes of every `PT_LOAD` segment at its physical address minus the lowest one (gaps
/// zero, `.bss` left out). Checks that the result starts with the `Image` magic.
pub(crate) fn flatten(elf: &[u8]) -> Result<Vec<u8>, String> {
    const PT_LOAD: u32 = 1;
    const EM_AARCH64: u16 = 183;
    let bad = |what: &str| format!("not an AArch64 ELF64 kernel: {what}");
    if elf.get(..4) != Some(b"\x7fELF".as_slice())
        || elf.get(4) != Some(&2)
        || elf.get(5) != Some(&1)
    {
        return Err(bad("no little-endian ELF64 header"));
    }
    if le16(elf, 18) != Some(EM_AARCH64) {
        return Err(bad("machine is not AArch64"));
    }
    let phoff = le64(elf, 32).ok_or_else(|| bad("truncated header"))? as usize;
    let phentsize = usize::from(le16(elf, 54).ok_or_else(|| bad("truncated header"))?);
    let phnum = usize::from(le16(elf, 56).ok_or_else(|| bad("truncated header"))?);
    let mut segments = Vec::new();
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let field = |off| le64(elf, at + off).ok_or_else(|| bad("truncated program header"));
        if le32(elf, at).ok_or_else(|| bad("truncated program header"))? != PT_LOAD {
            continue;
        }
        let (offset, paddr, filesz) = (field(8)?, field(24)?, field(32)?);
        if filesz == 0 {
            continue;
        }
        let bytes = usize::try_from(offset)
            .ok()
            .and_then(|o| elf.get(o..o.checked_add(usize::try_from(filesz).ok()?)?))
            .ok_or_else(|| bad("segment outside the file"))?;
        segments.push((paddr, bytes));
    }
    let base = segments
        .iter()
        .map(|&(paddr, _)| paddr)
        .min()
        .ok_or_else(|| bad("no loadable segment"))?;
    let mut image = Vec::new();
    for (paddr, bytes) in segments {
        let at = usize::try_from(paddr - base).map_err(|_| bad("segments too far apart"))?;
        if at + bytes.len() > 64 << 20 {
            return Err(bad("image larger than 64 MiB"));
        }
        if image.len() < at + bytes.len() {
            image.resize(at + bytes.len(), 0);
        }
        image[at..at + bytes.len()].copy_from_slice(bytes);
    }
    if image.get(56..60) != Some(b"ARM\x64".as_slice()) {
        return Err("the first segment does not start with an arm64 Image header".into());
    }
    Ok(image)
}

/// Everything that decides the arm64 QEMU command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) host: Host,
    /// Enter the kernel at EL2 (`virtualization=on`); TCG only.
    pub(crate) el2: bool,
    /// Offer semihosting, through which the kernel reports its status; TCG only.
    pub(crate) semihosting: bool,
    pub(crate) append: Option<String>,
    pub(crate) kernel: PathBuf,
}

impl Config {
    /// The program and arguments. `program` is the QEMU executable's name.
    pub(crate) fn command_line(&self, program: &str) -> Result<Vec<String>, String> {
        let mut args = machine_args(program, self.host, self.el2, self.semihosting)?;
        args.extend(["-no-reboot", "-kernel"].map(String::from));
        args.push(self.kernel.display().to_string());
        if let Some(append) = &self.append {
            args.extend(["-append".into(), append.clone()]);
        }
        Ok(args)
    }
}

/// The program and the arguments that make the `virt` machine (accelerator, CPU, memory,
/// console, semihosting), without what it boots: [`Config::command_line`] adds the
/// `Image`, `crate::uefi` the firmware and the disk. `el2` and `semihosting` are as in
/// [`Config`].
pub(crate) fn machine_args(
    program: &str,
    host: Host,
    el2: bool,
    semihosting: bool,
) -> Result<Vec<String>, String> {
    let mut machine = String::from("virt,gic-version=3");
    if el2 {
        machine.push_str(",virtualization=on");
    }
    let mut args = vec![program.to_string(), "-machine".into(), machine];
    match host {
        Host::QemuTcg => args.extend(["-accel", "tcg", "-cpu", "max"].map(String::from)),
        Host::QemuWhpx if !el2 && !semihosting => {
            args.extend(["-accel", "whpx", "-cpu", "host"].map(String::from));
        }
        Host::QemuWhpx => {
            return Err("WHPX enters the kernel at EL1 and has no semihosting".into());
        }
        Host::QemuKvm => {
            return Err("KVM on arm64 has no Hyper-V emulation; use qemu-tcg (or \
                            qemu-whpx on a Windows arm64 machine)"
                .into());
        }
        Host::Sim => {
            return Err("hv-sim boots the arm64 Image itself (`run_sim`), not QEMU".into());
        }
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
    ] {
        args.push(arg.into());
    }
    if semihosting {
        args.extend(["-semihosting-config", "enable=on,target=native"].map(String::from));
    }
    Ok(args)
}

/// What is missing to build and boot the arm64 kernels.
fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    let sysroot = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if !sysroot.is_some_and(|s| s.join("lib/rustlib").join(TARGET).is_dir()) {
        missing.push(format!(
            "the rustup target {TARGET} (`rustup target add {TARGET}`)"
        ));
    }
    let has_qemu = Command::new(QEMU)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_qemu {
        missing.push(format!(
            "{QEMU} (Debian package qemu-system-arm, from bookworm-backports)"
        ));
    }
    missing
}

/// Makes sure the target and QEMU are installed (runs `ci/setup.sh` when not).
pub(crate) fn ensure_tools() -> Result<(), String> {
    if missing().is_empty() {
        return Ok(());
    }
    cmd::setup()?;
    match missing() {
        still if still.is_empty() => Ok(()),
        still => Err(format!(
            "still missing after ci/setup.sh: {}",
            still.join(" and ")
        )),
    }
}

/// One arm64 boot the tests make.
struct Boot {
    kernel: &'static str,
    profile: Profile,
    el2: bool,
    semihosting: bool,
    append: Option<&'static str>,
    expect: Verdict,
    /// File name under `tests/transcripts/`.
    transcript: &'static str,
}

const fn demo(profile: Profile) -> Boot {
    Boot {
        kernel: kernel::DEMO,
        profile,
        el2: false,
        semihosting: true,
        append: None,
        expect: Verdict::Success,
        transcript: "aarch64-qemu-tcg.txt",
    }
}

const fn rt_check(append: &'static str, expect: Verdict, transcript: &'static str) -> Boot {
    Boot {
        kernel: RT_CHECK,
        profile: Profile::Debug,
        el2: false,
        semihosting: true,
        append: Some(append),
        expect,
        transcript,
    }
}

/// Every arm64 boot, under QEMU TCG.
const BOOTS: &[Boot] = &[
    demo(Profile::Debug),
    demo(Profile::Release),
    // Entered at EL2: the runtime drops to EL1 and the demo knows no hypervisor is below.
    Boot {
        el2: true,
        transcript: "aarch64-qemu-tcg-el2.txt",
        ..demo(Profile::Debug)
    },
    // Without semihosting the exit falls back to PSCI SYSTEM_OFF: QEMU exits with 0 and the
    // verdict is only in the transcript's `[rt] exit:` line.
    Boot {
        semihosting: false,
        expect: Verdict::Missing(Some(0)),
        ..demo(Profile::Debug)
    },
    rt_check(
        "selftest",
        Verdict::Success,
        "aarch64-rt-check-selftest.txt",
    ),
    rt_check(
        "fault=undef",
        Verdict::Failure,
        "aarch64-rt-check-fault-undef.txt",
    ),
    rt_check(
        "fault=abort",
        Verdict::Failure,
        "aarch64-rt-check-fault-abort.txt",
    ),
    rt_check(
        "fault=irq",
        Verdict::Failure,
        "aarch64-rt-check-fault-irq.txt",
    ),
    rt_check(
        "fault=panic",
        Verdict::Failure,
        "aarch64-rt-check-fault-panic.txt",
    ),
];

/// Time limit of one arm64 boot.
const BOOT_LIMIT: Duration = Duration::from_secs(60);

/// One arm64 boot on hv-sim.
struct SimBoot {
    kernel: &'static str,
    profile: &'static str,
    append: Option<&'static str>,
    expect: Verdict,
    /// File name under `tests/transcripts/`.
    transcript: &'static str,
}

/// Every arm64 boot on hv-sim: the demo under both profiles that exist on arm64, and the
/// runtime's checks, whose transcripts are the QEMU boots' (the same masked lines: the GIC,
/// timer and exception model behave as QEMU's).
const SIM_BOOTS: &[SimBoot] = &[
    SimBoot {
        kernel: kernel::DEMO,
        profile: "hyperv",
        append: None,
        expect: Verdict::Success,
        transcript: "aarch64-sim-hyperv.txt",
    },
    SimBoot {
        kernel: kernel::DEMO,
        profile: "none",
        append: None,
        expect: Verdict::Success,
        transcript: "aarch64-sim-none.txt",
    },
    SimBoot {
        kernel: RT_CHECK,
        profile: "none",
        append: Some("selftest"),
        expect: Verdict::Success,
        transcript: "aarch64-rt-check-selftest.txt",
    },
    SimBoot {
        kernel: RT_CHECK,
        profile: "none",
        append: Some("fault=undef"),
        expect: Verdict::Failure,
        transcript: "aarch64-rt-check-fault-undef.txt",
    },
    SimBoot {
        kernel: RT_CHECK,
        profile: "none",
        append: Some("fault=irq"),
        expect: Verdict::Failure,
        transcript: "aarch64-rt-check-fault-irq.txt",
    },
];

/// Makes every boot of [`SIM_BOOTS`] on hv-sim (built already) and checks that two
/// `hyperv` runs print the same output and counters. Returns the names of the failures.
fn sim_boots(bless: bool) -> Result<Vec<String>, String> {
    let dir = cmd::root().join("tests/transcripts");
    let config = |boot: &SimBoot, stats| sim::Config {
        profile: Some(boot.profile.into()),
        hv: None,
        stats,
        append: boot.append.map(String::from),
        kernel: image_path(boot.kernel, Profile::Debug),
    };
    let mut failures = Vec::new();
    for boot in SIM_BOOTS {
        let name = format!(
            "{} (aarch64 on hv-sim, profile {}, command line {:?})",
            boot.kernel,
            boot.profile,
            boot.append.unwrap_or("")
        );
        let sim = sim::run(&config(boot, false), false, BOOT_LIMIT)?;
        let mut problems = Vec::new();
        if sim.run.verdict != boot.expect {
            problems.push(format!(
                "verdict {} (expected {})\nserial output:\n{}",
                sim.run.verdict, boot.expect, sim.run.serial
            ));
        }
        if let Err(e) = transcript::check(&dir.join(boot.transcript), &sim.run.serial, bless) {
            problems.push(e);
        }
        if problems.is_empty() {
            eprintln!(
                "xtask: boot ok: {name} in {:.3} s",
                sim.run.elapsed.as_secs_f64()
            );
        } else {
            eprintln!("xtask: boot FAILED: {name}\n{}", problems.join("\n"));
            failures.push(name);
        }
    }
    let hyperv = &SIM_BOOTS[0];
    let first = sim::run(&config(hyperv, true), false, BOOT_LIMIT)?;
    let second = sim::run(&config(hyperv, true), false, BOOT_LIMIT)?;
    let same_output = first.run.serial == second.run.serial;
    let same_stats = first.stats.is_some() && first.stats == second.stats;
    if same_output && same_stats {
        eprintln!(
            "xtask: arm64 hv-sim is deterministic: two hyperv runs printed the same output and \
             counters {}",
            first.stats.as_deref().unwrap_or_default()
        );
    } else {
        eprintln!(
            "xtask: arm64 hv-sim determinism FAILED (same output: {same_output}, same counters: \
             {same_stats})\nfirst counters: {:?}\nsecond counters: {:?}\n{}",
            first.stats,
            second.stats,
            transcript::diff(&first.run.serial, &second.run.serial)
        );
        failures.push("arm64 hv-sim determinism".into());
    }
    Ok(failures)
}

/// Builds the arm64 kernels (debug and release) and makes every boot of [`BOOTS`] under QEMU
/// and of [`SIM_BOOTS`] on hv-sim (which the caller has built), checking verdict and
/// transcript, and hv-sim's determinism; reports every failure, then fails if any check did.
pub(crate) fn boots(bless: bool) -> Result<(), String> {
    ensure_tools()?;
    build(Profile::Debug)?;
    build(Profile::Release)?;
    let dir = cmd::root().join("tests/transcripts");
    let mut failures = Vec::new();
    for boot in BOOTS {
        let config = Config {
            host: Host::QemuTcg,
            el2: boot.el2,
            semihosting: boot.semihosting,
            append: boot.append.map(String::from),
            kernel: image_path(boot.kernel, boot.profile),
        };
        let name = format!(
            "{} (aarch64, {:?}, {}{}, command line {:?})",
            boot.kernel,
            boot.profile,
            if boot.el2 {
                "entered at EL2"
            } else {
                "entered at EL1"
            },
            if boot.semihosting {
                ""
            } else {
                ", no semihosting"
            },
            boot.append.unwrap_or("")
        );
        let run = qemu::run_command(&config.command_line(QEMU)?, false, BOOT_LIMIT)?;
        let mut problems = Vec::new();
        if run.verdict != boot.expect {
            problems.push(format!(
                "verdict {} (expected {})\nserial output:\n{}",
                run.verdict, boot.expect, run.serial
            ));
        }
        if let Err(e) = transcript::check(&dir.join(boot.transcript), &run.serial, bless) {
            problems.push(e);
        }
        if problems.is_empty() {
            let summary = run
                .summary_at
                .map(|t| format!(", summary after {:.2} s", t.as_secs_f64()))
                .unwrap_or_default();
            eprintln!(
                "xtask: boot ok: {name} in {:.2} s{summary}",
                run.elapsed.as_secs_f64()
            );
        } else {
            eprintln!("xtask: boot FAILED: {name}\n{}", problems.join("\n"));
            failures.push(name);
        }
    }
    failures.extend(sim_boots(bless)?);
    let total = BOOTS.len() + SIM_BOOTS.len() + 1;
    if failures.is_empty() {
        eprintln!("xtask: {total} arm64 checks passed, 0 failed");
        Ok(())
    } else {
        Err(format!(
            "{} of {total} arm64 checks failed: {}",
            failures.len(),
            failures.join("; ")
        ))
    }
}

/// The hv-sim options of `cargo xtask run --arch aarch64 --host sim`.
#[derive(Debug)]
pub(crate) struct SimRun {
    /// `--profile` (hv-sim's default for an arm64 Image is `hyperv`).
    pub(crate) profile: Option<String>,
    /// `--stats json`.
    pub(crate) stats: bool,
    /// `--append`.
    pub(crate) append: Option<String>,
}

/// `cargo xtask run --arch aarch64 --host sim`: builds hv-sim and the arm64 kernels, boots the
/// `Image` on hv-sim, streams its output.
pub(crate) fn run_sim(
    profile: Profile,
    kernel: &str,
    options: &SimRun,
    timeout: Duration,
) -> Result<(), String> {
    if !KERNELS.contains(&kernel) {
        return Err(format!(
            "kernel `{kernel}` has no aarch64 build ({})",
            KERNELS.join(", ")
        ));
    }
    ensure_tools()?;
    sim::build()?;
    build(profile)?;
    let config = sim::Config {
        profile: options.profile.clone(),
        hv: None,
        stats: options.stats,
        append: options.append.clone(),
        kernel: image_path(kernel, profile),
    };
    let sim = sim::run(&config, true, timeout)?;
    if let Some(stats) = &sim.stats {
        println!("{stats}");
    }
    verdict(&sim.run)
}

/// Prints the verdict line and turns the verdict into the command's result.
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

/// `cargo xtask run --arch aarch64`.
pub(crate) fn run(
    host: Host,
    profile: Profile,
    kernel: &str,
    append: Option<String>,
    timeout: Duration,
) -> Result<(), String> {
    if !KERNELS.contains(&kernel) {
        return Err(format!(
            "kernel `{kernel}` has no aarch64 build ({})",
            KERNELS.join(", ")
        ));
    }
    let runs_here = host != Host::QemuWhpx || cfg!(windows);
    let config = Config {
        host,
        el2: false,
        semihosting: host == Host::QemuTcg,
        append,
        kernel: image_path(kernel, profile),
    };
    if !runs_here {
        let mut windows = config.clone();
        windows.kernel = qemu::windows_path(&cmd::root(), &config.kernel).into();
        let argv = windows.command_line("qemu-system-aarch64.exe")?;
        return Err(format!(
            "qemu-whpx runs on Windows only: on an arm64 Windows 11 24H2 machine (April 2025 \
             optional updates or later) with the Windows Hypervisor Platform feature, build \
             with `cargo xtask run --arch aarch64` elsewhere and copy the image, then run:\
             \n\n    {}\n\nWHPX gives the guest the Windows hypervisor's Hyper-V interface; the \
             kernel finds it through the SMCCC UID. WHPX has no semihosting, so the status is \
             only in the `[rt] exit:` line (QEMU exits with 0 through PSCI SYSTEM_OFF). This \
             command line is untested here.",
            argv.join(" ")
        ));
    }
    let argv = config.command_line(QEMU)?;
    ensure_tools()?;
    build(profile)?;
    let run = qemu::run_command(&argv, true, timeout)?;
    verdict(&run)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 AArch64 file with the given `PT_LOAD` segments (paddr, bytes).
    fn elf(segments: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = vec![0_u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2;
        out[5] = 1;
        out[18..20].copy_from_slice(&183_u16.to_le_bytes());
        out[32..40].copy_from_slice(&64_u64.to_le_bytes());
        out[54..56].copy_from_slice(&56_u16.to_le_bytes());
        out[56..58].copy_from_slice(&(segments.len() as u16 + 1).to_le_bytes());
        let data_at = 64 + 56 * (segments.len() + 1);
        let mut data = Vec::new();
        let mut headers = Vec::new();
        // A PT_NOTE the flattening skips.
        let mut note = vec![0_u8; 56];
        note[..4].copy_from_slice(&4_u32.to_le_bytes());
        headers.extend(note);
        for &(paddr, bytes) in segments {
            let mut ph = vec![0_u8; 56];
            ph[..4].copy_from_slice(&1_u32.to_le_bytes());
            ph[8..16].copy_from_slice(&((data_at + data.len()) as u64).to_le_bytes());
            ph[24..32].copy_from_slice(&paddr.to_le_bytes());
            ph[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
            headers.extend(ph);
            data.extend_from_slice(bytes);
        }
        out.extend(headers);
        out.extend(data);
        out
    }

    fn header() -> Vec<u8> {
        let mut h = vec![0_u8; 64];
        h[56..60].copy_from_slice(b"ARM\x64");
        h
    }

    #[test]
    fn segments_land_at_their_offsets_from_the_first() {
        let text = header();
        let image = flatten(&elf(&[(0x4020_2000, &[7; 4]), (0x4020_0000, &text)])).unwrap();
        assert_eq!(image.len(), 0x2004);
        assert_eq!(&image[56..60], b"ARM\x64");
        assert_eq!(&image[0x2000..], &[7; 4]);
        assert!(image[64..0x2000].iter().all(|&b| b == 0));
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(flatten(b"not an elf").is_err());
        let mut x86 = elf(&[(0x4020_0000, &header())]);
        x86[18] = 62;
        assert!(flatten(&x86).unwrap_err().contains("AArch64"));
        assert!(
            flatten(&elf(&[(0x4020_0000, &[0; 64])]))
                .unwrap_err()
                .contains("Image header")
        );
        let mut cut = elf(&[(0x4020_0000, &header())]);
        cut.truncate(cut.len() - 10);
        assert!(flatten(&cut).unwrap_err().contains("outside the file"));
        assert!(
            flatten(&elf(&[]))
                .unwrap_err()
                .contains("no loadable segment")
        );
    }

    #[test]
    fn tcg_command_line_has_the_contract_devices() {
        let config = Config {
            host: Host::QemuTcg,
            el2: false,
            semihosting: true,
            append: Some("selftest".into()),
            kernel: PathBuf::from("/k.img"),
        };
        assert_eq!(
            config.command_line("qemu").unwrap().join(" "),
            "qemu -machine virt,gic-version=3 -accel tcg -cpu max -m 128M -smp 1 -nodefaults \
             -serial stdio -display none -monitor none -semihosting-config \
             enable=on,target=native -no-reboot -kernel /k.img -append selftest"
        );
        let el2 = Config {
            el2: true,
            semihosting: false,
            append: None,
            ..config.clone()
        };
        let line = el2.command_line("qemu").unwrap().join(" ");
        assert!(line.starts_with("qemu -machine virt,gic-version=3,virtualization=on "));
        assert!(!line.contains("semihosting"));
    }

    #[test]
    fn whpx_and_other_hosts() {
        let mut config = Config {
            host: Host::QemuWhpx,
            el2: false,
            semihosting: false,
            append: None,
            kernel: PathBuf::from("k.img"),
        };
        let argv = config.command_line("q.exe").unwrap();
        assert_eq!(&argv[3..7], ["-accel", "whpx", "-cpu", "host"]);
        config.semihosting = true;
        assert!(config.command_line("q.exe").is_err());
        config.host = Host::QemuKvm;
        assert!(
            config
                .command_line("q")
                .unwrap_err()
                .contains("KVM on arm64")
        );
        config.host = Host::Sim;
        assert!(config.command_line("q").is_err());
    }

    #[test]
    fn arch_names_parse() {
        assert_eq!(Arch::parse("aarch64"), Ok(Arch::Aarch64));
        assert_eq!(Arch::parse("arm64"), Ok(Arch::Aarch64));
        assert_eq!(Arch::parse("x86_64"), Ok(Arch::X86_64));
        assert!(Arch::parse("riscv64").is_err());
    }

    /// The feature names of a transcript's `[hv]` lines, summary excluded.
    fn features(transcript: &str) -> Vec<String> {
        transcript
            .lines()
            .filter_map(|l| l.strip_prefix("[hv] "))
            .filter_map(|l| l.split_once(':').map(|(f, _)| f.to_string()))
            .filter(|f| f != "summary")
            .collect()
    }

    #[test]
    fn the_arm64_demo_reports_the_same_features_as_the_x86_64_demo() {
        let dir = cmd::root().join("tests/transcripts");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let x86 = features(&read("x86_64-qemu-tcg.txt"));
        let arm = features(&read("aarch64-qemu-tcg.txt"));
        assert!(x86.len() > 10, "{x86:?}");
        assert_eq!(arm, x86);
        assert_eq!(features(&read("aarch64-qemu-tcg-el2.txt")), x86);
        assert_eq!(features(&read("aarch64-sim-hyperv.txt")), x86);
        assert_eq!(features(&read("aarch64-sim-none.txt")), x86);
    }

    #[test]
    fn api_split_check_reports_both_directions() {
        let dir = std::env::temp_dir().join(format!("xtask-api-split-{}", std::process::id()));
        let (arm, x86) = (dir.join("arm"), dir.join("x86"));
        for (root, pages) in [(&arm, &ARM64_ONLY_PAGES[..]), (&x86, &X64_ONLY_PAGES[..])] {
            for page in pages {
                let path = root.join(page);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, "").unwrap();
            }
        }
        assert_eq!(check_api_split(&arm, &x86), Ok(()));
        std::fs::create_dir_all(arm.join("hyperv")).unwrap();
        std::fs::write(arm.join("hyperv/index.html"), "").unwrap();
        let err = check_api_split(&arm, &x86).unwrap_err();
        assert!(
            err.contains("hyperv/index.html exists in the aarch64"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
