//! Exit counters, printed by `--stats json`.
//!
//! Every map is ordered, so two runs of the same guest print byte-identical JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Counts of every exit from guest execution to the model, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Instructions executed (counted per translation block, see the crate docs).
    pub instructions: u64,
    /// Virtual time at the end, in nanoseconds.
    pub virtual_ns: u64,
    /// CPUID by leaf.
    pub cpuid: BTreeMap<u32, u64>,
    /// RDMSR by MSR.
    pub msr_read: BTreeMap<u32, u64>,
    /// WRMSR by MSR.
    pub msr_write: BTreeMap<u32, u64>,
    /// Hypercall exits by (call code, returned status); a rep call completed over several
    /// exits counts each exit (continuations return status 0 with the call unfinished).
    pub hypercall: BTreeMap<(u16, u16), u64>,
    /// Hypercalls answered with #UD (user mode, XMM forms the profile lacks).
    pub hypercall_ud: u64,
    /// Rep hypercall exits that returned for continuation (TLFS 3.3).
    pub hypercall_continuations: u64,
    /// Register-based fast hypercalls (input in RDX and R8 only, TLFS 3.7).
    pub hypercall_fast: u64,
    /// XMM fast hypercalls (input beyond RDX and R8, TLFS 3.7.2).
    pub hypercall_xmm: u64,
    /// Virtual address flushes served (`HvCallFlushVirtualAddressSpace`, TLFS 9.4.2).
    pub tlb_flushes: u64,
    /// `HvCallNotifyLongSpinWait` calls.
    pub long_spin_waits: u64,
    /// Exceptions injected, by vector.
    pub exception: BTreeMap<u8, u64>,
    /// External interrupts delivered, by vector.
    pub interrupt: BTreeMap<u8, u64>,
    /// HLT exits (and guest-idle MSR reads).
    pub hlt: u64,
    /// IN by port.
    pub io_in: BTreeMap<u16, u64>,
    /// OUT by port.
    pub io_out: BTreeMap<u16, u64>,
    /// RDTSC and RDTSCP.
    pub rdtsc: u64,
    /// IPIs sent to another VP, by (destination VP index, vector); those VPs do not run.
    pub ipi_to_other_vp: BTreeMap<(u32, u8), u64>,
    /// arm64: SMCCC calls (`hvc #0`) by function id, hypercalls (`HV_FUNC_ID`) included.
    pub smccc: BTreeMap<u32, u64>,
    /// arm64: `MRS` of a system register the model serves, by encoding
    /// `op0 << 16 | op1 << 12 | CRn << 8 | CRm << 4 | op2`.
    pub sysreg_read: BTreeMap<u32, u64>,
    /// arm64: `MSR` of a system register the model serves, by encoding.
    pub sysreg_write: BTreeMap<u32, u64>,
}

pub(crate) fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K) {
    *map.entry(key).or_insert(0) += 1;
}

fn object<K>(out: &mut String, name: &str, map: &BTreeMap<K, u64>, key: impl Fn(&K) -> String) {
    let _ = write!(out, "\"{name}\":{{");
    for (i, (k, v)) in map.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(out, "{sep}\"{}\":{v}", key(k));
    }
    out.push('}');
}

impl Stats {
    /// The counters as one JSON object. Keys are hexadecimal strings for MSRs, leaves,
    /// call codes and ports; hypercalls are keyed `"code/status"`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let _ = write!(
            out,
            "\"instructions\":{},\"virtual_ns\":{},\"hlt\":{},\"rdtsc\":{},\"long_spin_waits\":{},\
             \"hypercall_ud\":{},\"hypercall_continuations\":{},\"hypercall_fast\":{},\
             \"hypercall_xmm\":{},\"tlb_flushes\":{},",
            self.instructions,
            self.virtual_ns,
            self.hlt,
            self.rdtsc,
            self.long_spin_waits,
            self.hypercall_ud,
            self.hypercall_continuations,
            self.hypercall_fast,
            self.hypercall_xmm,
            self.tlb_flushes
        );
        object(&mut out, "cpuid", &self.cpuid, |k| format!("{k:#x}"));
        out.push(',');
        object(&mut out, "msr_read", &self.msr_read, |k| format!("{k:#x}"));
        out.push(',');
        object(&mut out, "msr_write", &self.msr_write, |k| {
            format!("{k:#x}")
        });
        out.push(',');
        object(&mut out, "hypercall", &self.hypercall, |(c, s)| {
            format!("{c:#06x}/{s:#06x}")
        });
        out.push(',');
        object(&mut out, "exception", &self.exception, |k| k.to_string());
        out.push(',');
        object(&mut out, "interrupt", &self.interrupt, |k| k.to_string());
        out.push(',');
        object(&mut out, "io_in", &self.io_in, |k| format!("{k:#x}"));
        out.push(',');
        object(&mut out, "io_out", &self.io_out, |k| format!("{k:#x}"));
        out.push(',');
        object(
            &mut out,
            "ipi_to_other_vp",
            &self.ipi_to_other_vp,
            |(vp, v)| format!("{vp}/{v}"),
        );
        out.push(',');
        object(&mut out, "smccc", &self.smccc, |k| format!("{k:#x}"));
        out.push(',');
        object(&mut out, "sysreg_read", &self.sysreg_read, |k| {
            format!("{k:#07x}")
        });
        out.push(',');
        object(&mut out, "sysreg_write", &self.sysreg_write, |k| {
            format!("{k:#07x}")
        });
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_ordered_and_well_formed() {
        let mut stats = Stats::default();
        bump(&mut stats.cpuid, 0x4000_0001);
        bump(&mut stats.cpuid, 1);
        bump(&mut stats.hypercall, (0x50, 0));
        let json = stats.to_json();
        assert!(
            json.contains("\"cpuid\":{\"0x1\":1,\"0x40000001\":1}"),
            "{json}"
        );
        assert!(
            json.contains("\"hypercall\":{\"0x0050/0x0000\":1}"),
            "{json}"
        );
        assert_eq!(json.matches('{').count(), json.matches('}').count());
    }
}
