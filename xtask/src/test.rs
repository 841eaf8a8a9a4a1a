//! `cargo xtask test`: every check the project has, in order of cost.

use std::time::Duration;

use crate::cmd::{self, cargo};
use crate::counters;
use crate::image::{self, Arch};
use crate::kernel::{self, Profile};
use crate::qemu::{self, Config, Host, Machine, Verdict};
use crate::sim;
use crate::{transcript, uefi};

/// The minimum supported Rust version of the libraries (`rust-version` in Cargo.toml).
const MSRV: &str = "1.85";

/// Bare-metal targets the libraries must build for.
const BARE_TARGETS: [&str; 2] = ["x86_64-unknown-none", "aarch64-unknown-none"];

/// Time limit of one kernel boot: a hang fails the test instead of hanging CI.
const BOOT_LIMIT: Duration = Duration::from_secs(60);

/// Time limit of the boot that hangs on purpose, to check that the limit works.
const HANG_LIMIT: Duration = Duration::from_secs(5);

/// The test-name filter that splits the Miri run in two (see `run`).
const MIRI_SPLIT: &str = "vmbus::";

/// Environment variable that, set to `1`, rewrites the expected transcripts like `--bless`.
const BLESS_ENV: &str = "XTASK_BLESS";

/// One kernel boot the tests make.
struct Boot {
    kernel: &'static str,
    profile: Profile,
    machine: Machine,
    /// TCG `-cpu`; `None` is the default (`max`).
    cpu: Option<&'static str>,
    append: Option<&'static str>,
    /// Time limit of the boot.
    limit: Duration,
    expect: Verdict,
    /// File name under `tests/transcripts/`.
    transcript: &'static str,
}

const fn demo(profile: Profile, machine: Machine) -> Boot {
    Boot {
        kernel: kernel::DEMO,
        profile,
        machine,
        cpu: None,
        append: None,
        limit: BOOT_LIMIT,
        expect: Verdict::Success,
        transcript: "x86_64-qemu-tcg.txt",
    }
}

const fn rt_check(append: &'static str, expect: Verdict, transcript: &'static str) -> Boot {
    Boot {
        kernel: kernel::RT_CHECK,
        profile: Profile::Debug,
        machine: Machine::Q35,
        cpu: None,
        append: Some(append),
        limit: BOOT_LIMIT,
        expect,
        transcript,
    }
}

/// Every boot, under QEMU TCG.
const BOOTS: &[Boot] = &[
    demo(Profile::Debug, Machine::Q35),
    demo(Profile::Debug, Machine::Pc),
    demo(Profile::Release, Machine::Q35),
    rt_check("selftest", Verdict::Success, "x86_64-rt-check-selftest.txt"),
    Boot {
        cpu: Some("qemu64"),
        ..rt_check(
            "selftest",
            Verdict::Success,
            "x86_64-rt-check-selftest-no-x2apic.txt",
        )
    },
    rt_check(
        "reenter64",
        Verdict::Success,
        "x86_64-rt-check-reenter64.txt",
    ),
    rt_check(
        "reenter64-bare",
        Verdict::Success,
        "x86_64-rt-check-reenter64-bare.txt",
    ),
    Boot {
        limit: HANG_LIMIT,
        ..rt_check(
            "hang",
            Verdict::Timeout(HANG_LIMIT),
            "x86_64-rt-check-hang.txt",
        )
    },
    rt_check("fault=ud", Verdict::Failure, "x86_64-rt-check-fault-ud.txt"),
    rt_check("fault=gp", Verdict::Failure, "x86_64-rt-check-fault-gp.txt"),
    rt_check("fault=pf", Verdict::Failure, "x86_64-rt-check-fault-pf.txt"),
    rt_check("fault=df", Verdict::Failure, "x86_64-rt-check-fault-df.txt"),
    rt_check(
        "fault=int",
        Verdict::Failure,
        "x86_64-rt-check-fault-int.txt",
    ),
    rt_check(
        "fault=panic",
        Verdict::Failure,
        "x86_64-rt-check-fault-panic.txt",
    ),
];

/// The cargo-fuzz targets in `fuzz/` (parsers of host-written data) and how long each runs.
const FUZZ_TARGETS: [&str; 2] = ["vmbus_messages", "vmbus_ring_reader"];
const FUZZ_SECONDS: u32 = 20;

/// Runs each fuzz target for [`FUZZ_SECONDS`] (cargo-fuzz on nightly, installed by
/// `cargo xtask setup`); a crash fails the check.
fn fuzz() -> Result<(), String> {
    let installed = cmd::toolchain_cargo("nightly")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        return Err("cargo-fuzz is missing: run `cargo xtask setup`".into());
    }
    for target in FUZZ_TARGETS {
        cmd::run(cmd::toolchain_cargo("nightly").args([
            "fuzz",
            "run",
            target,
            "--",
            &format!("-max_total_time={FUZZ_SECONDS}"),
        ]))?;
    }
    Ok(())
}

/// What a boot on `hv-sim` checks besides its transcript, from `--stats json`.
#[derive(Clone, Copy, Debug)]
enum SimCheck {
    /// The demo's measurements (`counters::check_demo`).
    Demo,
    /// The `hv-crash` kernel's report, with or without the message form
    /// (`counters::check_crash`).
    Crash { message: bool },
}

impl SimCheck {
    /// The outcome the demo's VSM line must have under `profile`: `ok` where the profile
    /// offers VSM (`hyperv`), `unavailable` where it does not (`kvm`, `none`).
    fn vsm_line(self, profile: Option<&str>) -> Option<&'static str> {
        match (self, profile) {
            (Self::Demo, Some("hyperv")) => Some("ok ("),
            (Self::Demo, Some("kvm" | "none")) => Some("unavailable ("),
            _ => None,
        }
    }
}

/// One boot on `hv-sim`: a kernel under a partition profile or a list of QEMU `hv-*` flags.
struct SimBoot {
    kernel: &'static str,
    profile: Option<&'static str>,
    hv: Option<&'static str>,
    expect: Verdict,
    check: SimCheck,
    /// File name under `tests/transcripts/`.
    transcript: &'static str,
    /// The VMBus version the demo must negotiate (its `VMBus: ok (<version>;` line): the
    /// profile's default server, QEMU-like (4.0) for `kvm`, Hyper-V-like (5.3) for `hyperv`.
    vmbus: Option<&'static str>,
}

const fn sim_demo(
    profile: Option<&'static str>,
    hv: Option<&'static str>,
    transcript: &'static str,
    vmbus: Option<&'static str>,
) -> SimBoot {
    SimBoot {
        kernel: kernel::DEMO,
        profile,
        hv,
        expect: Verdict::Success,
        check: SimCheck::Demo,
        transcript,
        vmbus,
    }
}

/// The status `hv-sim` exits with when the guest reports a crash.
const SIM_CRASH_STATUS: i32 = 18;

/// Every boot on `hv-sim`: the demo under the three profiles and a KVM-style partition
/// without XMM fast input (QEMU's `hv-relaxed,hv-vpindex,hv-time`); `hv-crash` under the
/// `hyperv` (crash message offered) and `kvm` (notify only) profiles.
const SIM_BOOTS: &[SimBoot] = &[
    sim_demo(Some("none"), None, "x86_64-sim-none.txt", None),
    sim_demo(Some("kvm"), None, "x86_64-sim-kvm.txt", Some("4.0")),
    sim_demo(Some("hyperv"), None, "x86_64-sim-hyperv.txt", Some("5.3")),
    sim_demo(
        None,
        Some("relaxed,vpindex,time"),
        "x86_64-sim-hv-relaxed-vpindex-time.txt",
        None,
    ),
    SimBoot {
        kernel: kernel::HV_CRASH,
        profile: Some("hyperv"),
        hv: None,
        expect: Verdict::Missing(Some(SIM_CRASH_STATUS)),
        check: SimCheck::Crash { message: true },
        transcript: "x86_64-sim-hv-crash-hyperv.txt",
        vmbus: None,
    },
    SimBoot {
        kernel: kernel::HV_CRASH,
        profile: Some("kvm"),
        hv: None,
        expect: Verdict::Missing(Some(SIM_CRASH_STATUS)),
        check: SimCheck::Crash { message: false },
        transcript: "x86_64-sim-hv-crash-kvm.txt",
        vmbus: None,
    },
];

/// Runs every check; stops at the first failure.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let bless = match args {
        [] => std::env::var(BLESS_ENV).is_ok_and(|v| v == "1"),
        [flag] if flag == "--bless" => true,
        [other, ..] => {
            return Err(format!(
                "`cargo xtask test` takes only `--bless` (got `{other}`)"
            ));
        }
    };
    let mut stages = Stages::new();
    kernel::ensure_tools(true)?;
    image::ensure_tools(Arch::X86_64, true)?;
    image::ensure_tools(Arch::Aarch64, true)?;
    stages.next("format and lints");
    cmd::run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    cmd::run(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        kernel::PACKAGE,
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
    cmd::run(cargo().args([
        "clippy",
        "-p",
        "kernel-rt",
        "-p",
        kernel::PACKAGE,
        "--target",
        kernel::TARGET,
        "--",
        "-D",
        "warnings",
    ]))?;
    // The UEFI builds: the demo as an EFI application, which lints the runtime with its UEFI
    // entry too (a workspace member it depends on). Not rt-check or rt-check-arm64: they
    // need the PVH or Image entry points, which UEFI builds do not have.
    for arch in [Arch::X86_64, Arch::Aarch64] {
        cmd::run(cargo().args([
            "clippy",
            "-p",
            kernel::PACKAGE,
            "--bin",
            kernel::DEMO,
            "--target",
            arch.uefi_target(),
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    stages.next("MSRV check and arm64 lints");
    // The libraries declare `rust-version = MSRV`; check that they build with it. Feature
    // `testing` compiles hv-guest's arm64 module on the host too.
    cmd::run(
        cmd::toolchain_cargo(MSRV)
            .args(["check", "-p", "hv-defs", "-p", "hv-guest"])
            .args(["--features", "hv-guest/testing", "--target-dir"])
            .arg(cmd::root().join("target/msrv")),
    )?;
    crate::arm64::lint()?;
    stages.next("host tests");
    cmd::run(cargo().args(["test", "--workspace", "--exclude", kernel::PACKAGE]))?;
    stages.next("Miri");
    // Miri checks the host-testable unsafe code (the fake platform's memory handover, the
    // page types, the VMBus rings with two threads sharing one ring) for undefined behaviour.
    // The fake leaks its pages on purpose (they stand in for guest memory that lives
    // forever), so leak checking is off.
    //
    // Miri interprets on one thread, so the suite runs as two processes on two cores: the
    // VMBus tests (about half of the interpretation time) and everything else, after one
    // build.
    let miri = || {
        let mut command = cmd::toolchain_cargo("nightly");
        command
            .args(["miri", "test", "-p", "hv-guest", "--features", "testing"])
            .env("MIRIFLAGS", "-Zmiri-ignore-leaks");
        command
    };
    cmd::run(miri().arg("--no-run"))?;
    let mut vmbus = miri();
    vmbus.args(["--", MIRI_SPLIT]);
    let mut rest = miri();
    rest.args(["--", "--skip", MIRI_SPLIT]);
    cmd::run_parallel(&mut [vmbus, rest])?;
    stages.next("fuzzing");
    fuzz()?;
    stages.next("docs");
    cmd::run(
        cargo()
            .args(["doc", "--no-deps", "-p", "hv-defs", "-p", "hv-guest"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    cmd::run(
        cargo()
            .args([
                "doc",
                "--no-deps",
                "-p",
                "kernel-rt",
                "--target",
                kernel::TARGET,
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    for arch in [Arch::X86_64, Arch::Aarch64] {
        cmd::run(
            cargo()
                .args([
                    "doc",
                    "--no-deps",
                    "-p",
                    "kernel-rt",
                    "--target",
                    arch.uefi_target(),
                ])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?;
    }
    crate::arm64::docs()?;
    stages.next("kernel and hv-sim builds");
    kernel::build(Profile::Debug)?;
    kernel::build(Profile::Release)?;
    sim::build()?;
    stages.next("QEMU TCG and hv-sim boots (x86_64)");
    let qemu = boot_all(bless);
    let sim = sim_boot_all(bless);
    qemu.and(sim)?;
    stages.next("disk images and UEFI boots (x86_64)");
    image::test()?;
    uefi::test(bless, BOOT_LIMIT)?;
    stages.next("arm64 boots (QEMU TCG, hv-sim)");
    crate::arm64::boots(bless)?;
    stages.next("arm64 UEFI boot");
    uefi::test_aarch64(bless, BOOT_LIMIT)?;
    stages.finish();
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// Wall-clock time of each stage of `cargo xtask test`, printed at the end so that CI time
/// (kept under 20 minutes on a fresh machine) can be watched.
struct Stages {
    done: Vec<(&'static str, Duration)>,
    current: Option<(&'static str, std::time::Instant)>,
}

impl Stages {
    fn new() -> Self {
        Self {
            done: Vec::new(),
            current: Some(("tools", std::time::Instant::now())),
        }
    }

    /// Ends the running stage and starts `name`.
    fn next(&mut self, name: &'static str) {
        if let Some((previous, start)) = self.current.take() {
            self.done.push((previous, start.elapsed()));
        }
        self.current = Some((name, std::time::Instant::now()));
    }

    /// Ends the running stage and prints every stage's time.
    fn finish(mut self) {
        if let Some((previous, start)) = self.current.take() {
            self.done.push((previous, start.elapsed()));
        }
        let total: Duration = self.done.iter().map(|(_, d)| *d).sum();
        eprintln!("xtask: stage times (total {:.0} s):", total.as_secs_f64());
        for (name, time) in &self.done {
            eprintln!("xtask:   {:>6.1} s  {name}", time.as_secs_f64());
        }
    }
}

/// Boots every entry of [`BOOTS`] and checks verdict and transcript; reports every failure,
/// then fails if any boot did.
fn boot_all(bless: bool) -> Result<(), String> {
    let dir = cmd::root().join("tests/transcripts");
    let mut failures = Vec::new();
    for boot in BOOTS {
        let config = Config {
            host: Host::QemuTcg,
            machine: boot.machine,
            tcg_cpu: boot.cpu.map(String::from),
            hv_flags: Vec::new(),
            append: boot.append.map(String::from),
            kernel: kernel::path(boot.kernel, boot.profile),
        };
        let name = format!(
            "{} ({:?}, {}, cpu {}, command line {:?})",
            boot.kernel,
            boot.profile,
            boot.machine,
            boot.cpu.unwrap_or("max"),
            boot.append.unwrap_or("")
        );
        let run = qemu::run(&config, false, boot.limit)?;
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
            eprintln!(
                "xtask: boot ok: {name} in {:.2} s",
                run.elapsed.as_secs_f64()
            );
        } else {
            eprintln!("xtask: boot FAILED: {name}\n{}", problems.join("\n"));
            failures.push(name);
        }
    }
    if failures.is_empty() {
        eprintln!("xtask: {} passed, 0 failed", BOOTS.len());
        Ok(())
    } else {
        Err(format!(
            "{} of {} kernel boots failed: {}",
            failures.len(),
            BOOTS.len(),
            failures.join("; ")
        ))
    }
}

/// Boots every entry of [`SIM_BOOTS`] on `hv-sim` with `--stats json` and checks verdict,
/// transcript and counters, then checks determinism: two runs of the demo under the
/// `hyperv` profile (two VPs) print the same serial output (unmasked) and the same
/// counters; and the flush benchmark: the demo's 10,000-page flush on VPs {0, 1} took one
/// hypercall.
fn sim_boot_all(bless: bool) -> Result<(), String> {
    let dir = cmd::root().join("tests/transcripts");
    let config = |boot: &SimBoot| sim::Config {
        profile: boot.profile.map(String::from),
        hv: boot.hv.map(String::from),
        stats: true,
        kernel: kernel::path(boot.kernel, Profile::Debug),
        append: None,
    };
    let mut failures = Vec::new();
    for boot in SIM_BOOTS {
        let name = format!(
            "{} on hv-sim (profile {}, hv flags {})",
            boot.kernel,
            boot.profile.unwrap_or("-"),
            boot.hv.unwrap_or("-")
        );
        let sim = sim::run(&config(boot), false, BOOT_LIMIT)?;
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
        if let Some(version) = boot.vmbus {
            let expected = format!("[hv] VMBus: ok ({version};");
            if !sim.run.serial.lines().any(|l| l.starts_with(&expected)) {
                problems.push(format!(
                    "no `{expected}` line: VMBus {version} not negotiated"
                ));
            }
        }
        if let Some(expected) = boot.check.vsm_line(boot.profile) {
            let line = format!("[hv] VSM: {expected}");
            if !sim.run.serial.lines().any(|l| l.starts_with(&line)) {
                problems.push(format!("no line starting `{line}`"));
            }
        }
        let stats = sim.stats.as_deref().unwrap_or_default();
        let measured = match boot.check {
            SimCheck::Demo => counters::check_demo(&sim.run.serial, stats),
            SimCheck::Crash { message } => counters::check_crash(stats, message)
                .map(|()| "hv-sim recorded P0-P4 and the message as reported".into()),
        };
        match measured {
            Ok(summary) if !summary.is_empty() => eprintln!("xtask: {name}: {summary}"),
            Ok(_) => {}
            Err(e) => problems.push(e),
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
    let hyperv = &SIM_BOOTS[2];
    let first = sim::run(&config(hyperv), false, BOOT_LIMIT)?;
    let second = sim::run(&config(hyperv), false, BOOT_LIMIT)?;
    let same_output = first.run.serial == second.run.serial;
    let same_stats = first.stats.is_some() && first.stats == second.stats;
    match first.stats.as_deref().map(sim::FlushBenchmark::parse) {
        Some(Ok(bench)) if bench.is_minimal() => eprintln!(
            "xtask: benchmark: {} pages on {} VPs flushed in {} hypercall \
             (HvCallFlushVirtualAddressList, {} entries; {} exits to hv-sim, which returns \
             after 2 reps for continuation), the TLFS minimum",
            bench.pages, bench.vps, bench.calls, bench.entries, bench.exits
        ),
        other => {
            eprintln!(
                "xtask: benchmark FAILED: 10000 pages on VPs {{0,1}} should take 1 \
                 HvCallFlushVirtualAddressList with 3 entries on 2 VPs, with VP 1 running: \
                 {other:?}"
            );
            failures.push("hv-sim flush benchmark".into());
        }
    }
    if same_output && same_stats {
        eprintln!(
            "xtask: hv-sim is deterministic: two hyperv runs printed the same output and \
             counters {}",
            first.stats.as_deref().unwrap_or_default()
        );
    } else {
        eprintln!(
            "xtask: hv-sim determinism FAILED (same output: {same_output}, same counters: \
             {same_stats})\nfirst counters: {:?}\nsecond counters: {:?}\n{}",
            first.stats,
            second.stats,
            transcript::diff(&first.run.serial, &second.run.serial)
        );
        failures.push("hv-sim determinism".into());
    }
    let total = SIM_BOOTS.len() + 2;
    if failures.is_empty() {
        eprintln!("xtask: hv-sim: {total} passed, 0 failed");
        Ok(())
    } else {
        Err(format!(
            "{} of {total} hv-sim checks failed: {}",
            failures.len(),
            failures.join("; ")
        ))
    }
}
