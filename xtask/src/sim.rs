//! Booting a kernel on `hv-sim`, the workspace's model of the Hyper-V host.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::cmd::{self, cargo};
use crate::qemu::{self, Run};

/// The partition profiles of `hv-sim` (`hv-sim/src/profile.rs`).
pub(crate) const PROFILES: [&str; 3] = ["none", "kvm", "hyperv"];

/// The profile `cargo xtask run --host sim` uses unless told otherwise.
pub(crate) const DEFAULT_PROFILE: &str = "hyperv";

/// How `hv-sim` prints the counters of `--stats json`: one last line of output, starting
/// with this.
const STATS_PREFIX: &str = "{\"instructions\":";

/// Everything that decides the `hv-sim` command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// `--profile`, if any.
    pub(crate) profile: Option<String>,
    /// `--hv`: QEMU `hv-*` flag names, comma-separated.
    pub(crate) hv: Option<String>,
    /// `--stats json`.
    pub(crate) stats: bool,
    /// `--append`: the command line of an arm64 `Image`'s device tree.
    pub(crate) append: Option<String>,
    pub(crate) kernel: PathBuf,
}

impl Config {
    /// The program and arguments; `program` is the `hv-sim` executable.
    pub(crate) fn command_line(&self, program: &str) -> Vec<String> {
        let mut args = vec![program.to_string(), self.kernel.display().to_string()];
        if let Some(profile) = &self.profile {
            args.extend(["--profile".into(), profile.clone()]);
        }
        if let Some(hv) = &self.hv {
            args.extend(["--hv".into(), hv.clone()]);
        }
        if self.stats {
            args.extend(["--stats".into(), "json".into()]);
        }
        if let Some(append) = &self.append {
            args.extend(["--append".into(), append.clone()]);
        }
        args
    }
}

/// Builds `hv-sim` (release: it emulates every guest instruction) and returns its path.
pub(crate) fn build() -> Result<PathBuf, String> {
    cmd::run(cargo().args(["build", "-p", "hv-sim", "--release"]))?;
    Ok(binary())
}

/// Where `build` puts `hv-sim`.
pub(crate) fn binary() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::root().join("target"))
        .join("release")
        .join("hv-sim")
}

/// Whether `hv-sim` is built or can be: it is, or CMake (which builds the Unicorn
/// emulator) is installed. `Err` says why not.
pub(crate) fn available() -> Result<String, String> {
    if binary().is_file() {
        return Ok("hv-sim is built".into());
    }
    let cmake = Command::new("cmake")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if cmake {
        Ok("hv-sim can be built (CMake is installed for Unicorn)".into())
    } else {
        Err("hv-sim is not built and CMake, which Unicorn needs, is missing".into())
    }
}

/// A finished `hv-sim` run: the serial output apart from the counters.
#[derive(Debug)]
pub(crate) struct SimRun {
    pub(crate) run: Run,
    /// The `--stats json` line, when asked for and printed.
    pub(crate) stats: Option<String>,
}

/// Runs `hv-sim` (already built) with `config`, copying the serial output to stdout when
/// `stream` is set, and kills it after `limit`.
pub(crate) fn run(config: &Config, stream: bool, limit: Duration) -> Result<SimRun, String> {
    let argv = config.command_line(&binary().display().to_string());
    let mut run = qemu::run_command(&argv, stream, limit)?;
    let stats = if config.stats {
        split_stats(&mut run.serial)
    } else {
        None
    };
    Ok(SimRun { run, stats })
}

/// Removes the `--stats json` line from the end of `output` and returns it.
fn split_stats(output: &mut String) -> Option<String> {
    let start = output.rfind(STATS_PREFIX)?;
    if start != 0 && !output[..start].ends_with('\n') {
        return None;
    }
    let stats = output[start..].trim_end().to_string();
    output.truncate(start);
    Some(stats)
}

/// What the demo's TLB flush benchmark took on `hv-sim`, read from `--stats json`: the
/// counters of `HvCallFlushVirtualAddressList` (call code 3), which the demo makes exactly
/// once, for 10,000 pages on VPs {0, 1} (`sample-kernel/src/demo/mp.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FlushBenchmark {
    /// Guest hypercalls.
    pub(crate) calls: u64,
    /// Exits to the model (a call returned for continuation counts again, TLFS 3.3).
    pub(crate) exits: u64,
    /// GVA range entries.
    pub(crate) entries: u64,
    /// 4 KiB pages.
    pub(crate) pages: u64,
    /// VPs flushed.
    pub(crate) vps: u64,
    /// Instructions VP 1 ran (0 when it never ran).
    pub(crate) vp1_instructions: u64,
}

impl FlushBenchmark {
    /// The benchmark's figures in `stats` (a `--stats json` line).
    pub(crate) fn parse(stats: &str) -> Result<Self, String> {
        let json: serde_json::Value =
            serde_json::from_str(stats).map_err(|e| format!("--stats json: {e}"))?;
        let number = |path: &[&str]| {
            path.iter()
                .try_fold(&json, |v, key| v.get(key))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        let list = ["tlb_flush", "0x0003"];
        Ok(Self {
            calls: number(&[list[0], list[1], "calls"]),
            exits: number(&["hypercall", "0x0003/0x0000"]),
            entries: number(&[list[0], list[1], "entries"]),
            pages: number(&[list[0], list[1], "pages"]),
            vps: number(&[list[0], list[1], "vps"]),
            vp1_instructions: number(&["vp_instructions", "1"]),
        })
    }

    /// Whether it took the TLFS minimum: one hypercall carrying the 3 basic-format entries
    /// (4096 + 4096 + 1808 pages) for the 2 VPs, and VP 1 ran.
    pub(crate) fn is_minimal(&self) -> bool {
        (self.calls, self.entries, self.pages, self.vps) == (1, 3, 10_000, 2)
            && self.vp1_instructions > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_passes_profile_flags_and_stats() {
        let config = Config {
            profile: Some("kvm".into()),
            hv: Some("relaxed,vpindex".into()),
            stats: true,
            append: None,
            kernel: PathBuf::from("/k"),
        };
        assert_eq!(
            config.command_line("hv-sim").join(" "),
            "hv-sim /k --profile kvm --hv relaxed,vpindex --stats json"
        );
        let bare = Config {
            profile: None,
            hv: None,
            stats: false,
            append: None,
            kernel: PathBuf::from("/k"),
        };
        assert_eq!(bare.command_line("hv-sim"), ["hv-sim", "/k"]);
        let arm64 = Config {
            profile: Some("none".into()),
            append: Some("selftest".into()),
            kernel: PathBuf::from("/k.img"),
            ..bare
        };
        assert_eq!(
            arm64.command_line("hv-sim").join(" "),
            "hv-sim /k.img --profile none --append selftest"
        );
    }

    #[test]
    fn stats_line_is_split_from_the_serial_output() {
        let mut out = String::from("[hv] a\n[rt] exit: success\n{\"instructions\":5}\n");
        assert_eq!(
            split_stats(&mut out).as_deref(),
            Some("{\"instructions\":5}")
        );
        assert_eq!(out, "[hv] a\n[rt] exit: success\n");
        let mut serial_only = String::from("[hv] {\"instructions\": in a line\n");
        assert_eq!(split_stats(&mut serial_only), None);
        assert_eq!(serial_only, "[hv] {\"instructions\": in a line\n");
    }

    #[test]
    fn the_flush_benchmark_is_read_from_the_counters() {
        let stats = "{\"instructions\":5,\"hypercall\":{\"0x0003/0x0000\":2},\
                     \"vp_instructions\":{\"0\":4,\"1\":1},\"tlb_flush\":{\"0x0003\":\
                     {\"calls\":1,\"entries\":3,\"pages\":10000,\"vps\":2}}}";
        let bench = FlushBenchmark::parse(stats).unwrap();
        assert_eq!(
            bench,
            FlushBenchmark {
                calls: 1,
                exits: 2,
                entries: 3,
                pages: 10_000,
                vps: 2,
                vp1_instructions: 1,
            }
        );
        assert!(bench.is_minimal());
        let two_calls = stats.replace("\"calls\":1", "\"calls\":2");
        assert!(!FlushBenchmark::parse(&two_calls).unwrap().is_minimal());
        assert!(!FlushBenchmark::parse("{}").unwrap().is_minimal());
        assert!(FlushBenchmark::parse("not json").is_err());
    }
}
