//! Exit counters, printed by `--stats json`.
//!
//! Every map is ordered, so two runs of the same guest print byte-identical JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::crash::CrashReport;
/// What the flush hypercalls of one call code did (see the `flush` module of the crate
/// source for the counting rules).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushCounts {
    /// Guest hypercalls (continuations of one call are not counted again).
    pub calls: u64,
    /// GVA range entries processed (list calls).
    pub entries: u64,
    /// 4 KiB pages those entries cover.
    pub pages: u64,
    /// VPs flushed, summed over the calls (VPs the partition does not have excluded).
    pub vps: u64,
}

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
    /// The virtual TLB flush hypercalls (TLFS 9.4.2–9.4.5) by call code.
    pub tlb_flush: BTreeMap<u16, FlushCounts>,
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
    /// IPIs sent through the APIC ICR to another VP, by (destination VP index, vector).
    pub ipi_to_other_vp: BTreeMap<(u32, u8), u64>,
    /// Interrupts delivered by `HvCallSendSyntheticClusterIpi(Ex)`, by (VP index, vector).
    pub synthetic_ipi: BTreeMap<(u32, u8), u64>,
    /// IPIs dropped: NMI, SMI and reserved delivery modes, and interrupts to a
    /// software-disabled APIC.
    pub ipi_dropped: u64,
    /// VPs started by `HvCallStartVirtualProcessor`.
    pub vp_starts: u64,
    /// Switches of the emulated CPU from one VP to another.
    pub vp_switches: u64,
    /// VTL calls (`HvCallVtlCall` through the hypercall page, TLFS 15.6.1).
    pub vtl_calls: u64,
    /// VTL returns (`HvCallVtlReturn`, TLFS 15.7.1).
    pub vtl_returns: u64,
    /// VTL 0 accesses a VTL 1 protection forbade, each a secure memory intercept
    /// (TLFS 15.9.2).
    pub vtl_protection_violations: u64,
    /// Intercept messages that found no free SINT0 slot in VTL 1's SIMP.
    pub vtl_intercept_messages_lost: u64,
    /// Instructions run by each VP, by VP index.
    pub vp_instructions: BTreeMap<u32, u64>,
    /// arm64: SMCCC calls (`hvc #0`) by function id, hypercalls (`HV_FUNC_ID`) included.
    pub smccc: BTreeMap<u32, u64>,
    /// arm64: `MRS` of a system register the model serves, by encoding
    /// `op0 << 16 | op1 << 12 | CRn << 8 | CRm << 4 | op2`.
    pub sysreg_read: BTreeMap<u32, u64>,
    /// arm64: `MSR` of a system register the model serves, by encoding.
    pub sysreg_write: BTreeMap<u32, u64>,
    /// SynIC, synthetic timer, reference TSC page and EOI assist events.
    pub synic: SynicStats,
    /// What the VMBus server did.
    pub vmbus: VmbusStats,
    /// The crash the guest reported through the crash MSRs, if any.
    pub crash: Option<CrashReport>,
}

/// What the SynIC, the synthetic timers, the reference TSC page and the EOI assist did.
/// (EOM writes are `msr_write` of 0x40000084; the guest's explicit EOIs are `msr_write` of
/// 0x80b and 0x40000070.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynicStats {
    /// Messages written into a SIM slot (TLFS 11.4).
    pub messages: u64,
    /// Times the model set a slot's message-pending flag: a delivered message with more
    /// queued behind it, or an occupant flagged when a message had to queue (TLFS 11.10.3).
    pub pending_flags: u64,
    /// Event flags set from clear (TLFS 11.5.1).
    pub events: u64,
    /// Synthetic timer expirations signalled (message queued or vector raised).
    pub stimer_expirations: u64,
    /// Expirations of lazy periodic timers skipped (TLFS 12.1.4).
    pub stimer_skipped: u64,
    /// Message-mode expirations dropped because SCONTROL was disabled.
    pub stimer_dropped: u64,
    /// Times the reference TSC page was republished (sequence changed or set to 0).
    pub reftsc_updates: u64,
    /// Times "No EOI required" was set in a VP assist page (TLFS 10.3.5).
    pub eoi_assist_set: u64,
    /// EOIs the guest skipped thanks to the assist (the model ended the interrupt).
    pub eoi_assist_skipped: u64,
}

/// What the VMBus server (`--vmbus`) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmbusStats {
    /// Channel messages the guest posted to a VMBus message connection.
    pub messages_from_guest: u64,
    /// Channel messages the server queued for the guest.
    pub messages_to_guest: u64,
    /// Guest messages the server dropped: malformed, or not fitting its state.
    pub bad_messages: u64,
    /// Packets the echo device wrote back.
    pub packets_echoed: u64,
    /// `HvCallSignalEvent` calls on a channel's connection (guest to host).
    pub guest_signals: u64,
    /// Channel interrupts the server raised (host to guest).
    pub host_signals: u64,
    /// Channels stopped because the guest corrupted a ring.
    pub ring_errors: u64,
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
             \"hypercall_xmm\":{},\"ipi_dropped\":{},\"vp_starts\":{},\"vp_switches\":{},\
             \"vtl_calls\":{},\"vtl_returns\":{},\"vtl_protection_violations\":{},\
             \"vtl_intercept_messages_lost\":{},",
            self.instructions,
            self.virtual_ns,
            self.hlt,
            self.rdtsc,
            self.long_spin_waits,
            self.hypercall_ud,
            self.hypercall_continuations,
            self.hypercall_fast,
            self.hypercall_xmm,
            self.ipi_dropped,
            self.vp_starts,
            self.vp_switches,
            self.vtl_calls,
            self.vtl_returns,
            self.vtl_protection_violations,
            self.vtl_intercept_messages_lost
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
        out.push(',');
        object(&mut out, "synthetic_ipi", &self.synthetic_ipi, |(vp, v)| {
            format!("{vp}/{v}")
        });
        out.push(',');
        object(&mut out, "vp_instructions", &self.vp_instructions, |vp| {
            vp.to_string()
        });
        let _ = write!(out, ",\"tlb_flush\":{{");
        for (i, (code, c)) in self.tlb_flush.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                out,
                "{sep}\"{code:#06x}\":{{\"calls\":{},\"entries\":{},\"pages\":{},\"vps\":{}}}",
                c.calls, c.entries, c.pages, c.vps
            );
        }
        out.push('}');
        let c = &self.synic;
        let _ = write!(
            out,
            ",\"synic\":{{\"messages\":{},\"pending_flags\":{},\"events\":{},\
             \"stimer_expirations\":{},\"stimer_skipped\":{},\"stimer_dropped\":{},\
             \"reftsc_updates\":{},\"eoi_assist_set\":{},\"eoi_assist_skipped\":{}}}",
            c.messages,
            c.pending_flags,
            c.events,
            c.stimer_expirations,
            c.stimer_skipped,
            c.stimer_dropped,
            c.reftsc_updates,
            c.eoi_assist_set,
            c.eoi_assist_skipped
        );
        let v = &self.vmbus;
        let _ = write!(
            out,
            ",\"vmbus\":{{\"messages_from_guest\":{},\"messages_to_guest\":{},\
             \"bad_messages\":{},\"packets_echoed\":{},\"guest_signals\":{},\
             \"host_signals\":{},\"ring_errors\":{}}}",
            v.messages_from_guest,
            v.messages_to_guest,
            v.bad_messages,
            v.packets_echoed,
            v.guest_signals,
            v.host_signals,
            v.ring_errors
        );
        out.push_str(",\"crash\":");
        match &self.crash {
            None => out.push_str("null"),
            Some(report) => {
                out.push_str("{\"parameters\":[");
                for (i, p) in report.parameters.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    let _ = write!(out, "{sep}\"{p:#x}\"");
                }
                out.push_str("],\"message\":");
                match report.text() {
                    Some(text) => json_string(&mut out, &text),
                    None => out.push_str("null"),
                }
                out.push('}');
            }
        }
        out.push('}');
        out
    }
}

/// Appends `text` as a JSON string.
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
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
        assert!(json.ends_with(",\"crash\":null}"), "{json}");
        stats.tlb_flush.insert(
            3,
            FlushCounts {
                calls: 1,
                entries: 3,
                pages: 10_000,
                vps: 2,
            },
        );
        let json = stats.to_json();
        assert!(
            json.contains(
                "\"tlb_flush\":{\"0x0003\":{\"calls\":1,\"entries\":3,\"pages\":10000,\"vps\":2}},\"synic\""
            ),
            "{json}"
        );
        assert_eq!(json.matches('{').count(), json.matches('}').count());
    }

    #[test]
    fn crash_message_is_escaped() {
        let stats = Stats {
            crash: Some(CrashReport {
                parameters: [1, 2, 3, 4, 5],
                message: Some(crate::crash::CrashMessage::Text(b"a\"b\\c\n".to_vec())),
            }),
            ..Stats::default()
        };
        let json = stats.to_json();
        assert!(
            json.ends_with(
                "\"crash\":{\"parameters\":[\"0x1\",\"0x2\",\"0x3\",\"0x4\",\"0x5\"],\
                 \"message\":\"a\\\"b\\\\c\\u000a\"}}"
            ),
            "{json}"
        );
    }
}
