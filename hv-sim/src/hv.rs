//! The Hyper-V partition model: synthetic MSRs (TLFS appendix C), the x2APIC and
//! Hyper-V APIC MSRs, synthetic timers and hypercalls (TLFS 3).

use std::collections::BTreeMap;

use hv_defs::HV_PARTITION_ID_SELF;
use hv_defs::hypercall::{HvCallCode, HvHypercallInput, HvHypercallOutput};
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvStatus;
use hv_defs::vp::HvInputVtl;
use hv_defs::{HV_VP_INDEX_SELF, HvVpIndex};
use unicorn_engine::unicorn_const::RegisterX86 as R;

use crate::apic::{self, Apic, ApicFault, Ipi};
use crate::error::Exit;
use crate::machine::{APIC_HZ, Stop, TSC_HZ, Vm};
use crate::stats::bump;
use crate::tlfs::{features_edx, msr, privilege};
use crate::uc::{Cpu, XMM};

/// MSRs Unicorn implements itself; the model lets the instruction execute natively.
fn native_msr(msr: u32) -> bool {
    matches!(
        msr,
        0xC000_0080..=0xC000_0084 // EFER, STAR, LSTAR, CSTAR, FMASK
            | 0xC000_0100..=0xC000_0103 // FS/GS base, kernel GS base, TSC_AUX
            | 0x174..=0x176 // SYSENTER
            | 0x179 | 0x17A // MCG_CAP, MCG_STATUS
            | 0x1A0 // MISC_ENABLE
            | 0xFE | 0x2FF | 0x200..=0x20F | 0x250 | 0x258 | 0x259 | 0x268..=0x26F // MTRRs
            | 0x277 // PAT
    )
}

/// IA32_TSC.
const IA32_TSC: u32 = 0x10;

/// Hypercall MSR fields (TLFS 3.13).
const HC_ENABLE: u64 = 1;
const HC_LOCKED: u64 = 1 << 1;
/// RsvdP bits 11:1 (11:2 for the hypercall MSR, whose bit 1 is Locked).
const OVERLAY_RSVDP: u64 = 0xFFE;
const GPFN_MASK: u64 = !0xFFF;

/// Offsets in the hypercall page: the hypercall entry, and the VTL call and VTL return
/// entries reserved for later VSM work (they issue HvCallVtlCall / HvCallVtlReturn).
pub const HYPERCALL_PAGE_ENTRY: u64 = 0x000;
/// VTL call entry offset in the hypercall page.
pub const HYPERCALL_PAGE_VTL_CALL: u64 = 0x010;
/// VTL return entry offset in the hypercall page.
pub const HYPERCALL_PAGE_VTL_RETURN: u64 = 0x020;

/// The pattern written to fast-output registers the call leaves unused (TLFS 3.9 lets
/// the hypervisor modify them).
pub const CLOBBER_BYTE: u8 = 0xA5;

/// Partition-wide state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Partition {
    pub(crate) guest_os_id: u64,
    hypercall: u64,
    reference_tsc: u64,
    crash: [u64; 5],
    reenlightenment: [u64; 3],
    /// Original contents of RAM pages covered by an overlay, by GPA.
    overlays: BTreeMap<u64, Vec<u8>>,
}

/// A synthetic timer (TLFS 12.5).
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Stimer {
    config: u64,
    count: u64,
    /// Absolute expiry in reference time (100 ns units) while armed.
    deadline: Option<u64>,
}

const STIMER_ENABLE: u64 = 1;
const STIMER_PERIODIC: u64 = 1 << 1;
const STIMER_AUTO_ENABLE: u64 = 1 << 3;
const STIMER_DIRECT: u64 = 1 << 12;
/// RsvdZ bits of the timer config: 15:13 and 63:20 (TLFS 12.5.1).
const STIMER_RSVDZ: u64 = 0xFFFF_FFFF_FFF0_E000;

/// One virtual processor.
#[derive(Clone, Debug)]
pub(crate) struct Vp {
    pub(crate) index: HvVpIndex,
    pub(crate) apic: Apic,
    auto_eoi: [u32; 8],
    scontrol: u64,
    siefp: u64,
    simp: u64,
    sint: [u64; 16],
    stimers: [Stimer; 4],
    vp_assist: u64,
}

const SINT_MASKED: u64 = 1 << 16;
const SINT_AUTO_EOI: u64 = 1 << 17;

impl Vp {
    pub(crate) fn new(index: HvVpIndex, apic: Apic) -> Self {
        Self {
            index,
            apic,
            auto_eoi: [0; 8],
            scontrol: 0,
            siefp: 0,
            simp: 0,
            sint: [SINT_MASKED; 16],
            stimers: [Stimer::default(); 4],
            vp_assist: 0,
        }
    }

    /// Whether `vector` was raised by an auto-EOI SINT; clears the mark.
    pub(crate) fn take_auto_eoi(&mut self, vector: u8) -> bool {
        let word = &mut self.auto_eoi[usize::from(vector >> 5)];
        let bit = 1 << (vector & 31);
        let set = *word & bit != 0;
        *word &= !bit;
        set
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.stimers.iter().filter_map(|t| t.deadline).min()
    }

    /// Fires every timer whose deadline is at or before `now` (reference time).
    pub(crate) fn fire_timers(&mut self, now: u64) {
        for i in 0..self.stimers.len() {
            let timer = self.stimers[i];
            let Some(deadline) = timer.deadline.filter(|&d| d <= now) else {
                continue;
            };
            if timer.config & STIMER_DIRECT != 0 {
                self.apic.accept(((timer.config >> 4) & 0xFF) as u8);
            } else {
                let sint = ((timer.config >> 16) & 0xF) as usize;
                self.assert_sint(sint);
            }
            let timer = &mut self.stimers[i];
            if timer.config & STIMER_PERIODIC != 0 && timer.count != 0 {
                // The next period after now, skipping missed ones.
                let missed = (now - deadline) / timer.count;
                timer.deadline = Some(deadline + (missed + 1) * timer.count);
            } else {
                timer.deadline = None;
                timer.config &= !STIMER_ENABLE;
            }
        }
    }

    /// Raises SINT `sint` if the SynIC is enabled and the SINT unmasked (TLFS 11.8.5).
    fn assert_sint(&mut self, sint: usize) {
        let value = self.sint[sint];
        if self.scontrol & 1 == 0 || value & SINT_MASKED != 0 {
            return;
        }
        let vector = value as u8;
        if self.apic.accept(vector) && value & SINT_AUTO_EOI != 0 {
            self.auto_eoi[usize::from(vector >> 5)] |= 1 << (vector & 31);
        }
    }

    fn arm(&mut self, i: usize, now: u64) {
        let timer = &mut self.stimers[i];
        timer.deadline = None;
        if timer.config & STIMER_ENABLE == 0 || timer.count == 0 {
            return;
        }
        timer.deadline = Some(if timer.config & STIMER_PERIODIC != 0 {
            now + timer.count
        } else {
            timer.count
        });
    }
}

/// An MSR access that does not produce a value.
enum MsrFault {
    /// Inject #GP(0).
    Gp,
    /// Let Unicorn execute the instruction.
    Native,
    /// End the run.
    Stop(Exit),
}

impl From<ApicFault> for MsrFault {
    fn from(ApicFault::Gp: ApicFault) -> Self {
        Self::Gp
    }
}

type MsrResult<T> = Result<T, MsrFault>;

impl Vm {
    fn need(&self, mask: u64) -> MsrResult<()> {
        if self.profile.has_privilege(mask) {
            Ok(())
        } else {
            Err(MsrFault::Gp)
        }
    }

    fn need_feature(&self, bit: u32) -> MsrResult<()> {
        if self.profile.has_feature(bit) {
            Ok(())
        } else {
            Err(MsrFault::Gp)
        }
    }

    /// RDMSR at RIP; `next` is the following instruction.
    pub(crate) fn rdmsr(&mut self, cpu: &mut Cpu<'_>, next: u64) {
        let index = cpu.read(R::RCX).unwrap_or(0) as u32;
        bump(&mut self.stats.msr_read, index);
        match self.read_msr(index) {
            Ok(value) => {
                let _ = cpu.write(R::RAX, value & 0xFFFF_FFFF);
                let _ = cpu.write(R::RDX, value >> 32);
                let _ = cpu.write(R::RIP, next);
            }
            Err(fault) => self.msr_fault(cpu, fault),
        }
    }

    /// WRMSR at RIP; `next` is the following instruction.
    pub(crate) fn wrmsr(&mut self, cpu: &mut Cpu<'_>, next: u64) {
        let index = cpu.read(R::RCX).unwrap_or(0) as u32;
        let value =
            (cpu.read(R::RDX).unwrap_or(0) << 32) | (cpu.read(R::RAX).unwrap_or(0) & 0xFFFF_FFFF);
        bump(&mut self.stats.msr_write, index);
        match self.write_msr(cpu, index, value) {
            Ok(()) => {
                let _ = cpu.write(R::RIP, next);
                self.try_interrupt(cpu);
            }
            Err(fault) => self.msr_fault(cpu, fault),
        }
    }

    fn msr_fault(&mut self, cpu: &mut Cpu<'_>, fault: MsrFault) {
        match fault {
            MsrFault::Gp => self.inject_exception(cpu, 13, Some(0)),
            MsrFault::Native => {}
            MsrFault::Stop(exit) => {
                self.stop = Some(Stop::Exit(exit));
                let _ = cpu.stop();
            }
        }
    }

    fn read_msr(&mut self, index: u32) -> MsrResult<u64> {
        if native_msr(index) {
            return Err(MsrFault::Native);
        }
        let now_ref = self.ref_time();
        let vp = &self.vps[0];
        Ok(match index {
            IA32_TSC => self.tsc(),
            apic::IA32_APIC_BASE => vp.apic.base(),
            apic::X2APIC_MSR_BASE..=apic::X2APIC_MSR_LAST => vp.apic.read_msr(index)?,
            _ if self.profile.hv.is_none() => return Err(MsrFault::Gp),
            msr::GUEST_OS_ID => {
                self.need(privilege::HYPERCALL_MSRS)?;
                self.part.guest_os_id
            }
            msr::HYPERCALL => {
                self.need(privilege::HYPERCALL_MSRS)?;
                self.part.hypercall
            }
            msr::VP_INDEX => {
                self.need(privilege::VP_INDEX)?;
                u64::from(vp.index)
            }
            msr::RESET => {
                self.need(privilege::RESET_REG)?;
                0
            }
            msr::VP_RUNTIME => {
                self.need(privilege::VP_RUNTIME)?;
                (self.now_ns - self.halted_ns) / 100
            }
            msr::TIME_REF_COUNT => {
                self.need(privilege::PARTITION_REFERENCE_COUNTER)?;
                now_ref
            }
            msr::REFERENCE_TSC => {
                self.need(privilege::PARTITION_REFERENCE_TSC)?;
                self.part.reference_tsc
            }
            msr::TSC_FREQUENCY => {
                self.need(privilege::FREQUENCY_REGS)?;
                TSC_HZ
            }
            msr::APIC_FREQUENCY => {
                self.need(privilege::FREQUENCY_REGS)?;
                APIC_HZ
            }
            msr::EOI => {
                self.need(privilege::INTR_CTRL_REGS)?;
                return Err(MsrFault::Gp);
            }
            msr::ICR => {
                self.need(privilege::INTR_CTRL_REGS)?;
                if vp.apic.x2apic() {
                    vp.apic.read_msr(0x830)?
                } else {
                    0
                }
            }
            msr::TPR => {
                self.need(privilege::INTR_CTRL_REGS)?;
                u64::from(vp.apic.tpr())
            }
            msr::VP_ASSIST_PAGE => {
                self.need(privilege::INTR_CTRL_REGS)?;
                vp.vp_assist
            }
            msr::SCONTROL | msr::SVERSION | msr::SIEFP | msr::SIMP | msr::EOM => {
                self.need(privilege::SYNIC_REGS)?;
                match index {
                    msr::SCONTROL => vp.scontrol,
                    msr::SVERSION => 1,
                    msr::SIEFP => vp.siefp,
                    msr::SIMP => vp.simp,
                    _ => return Err(MsrFault::Gp),
                }
            }
            _ if (msr::SINT0..msr::SINT0 + 16).contains(&index) => {
                self.need(privilege::SYNIC_REGS)?;
                vp.sint[(index - msr::SINT0) as usize]
            }
            _ if (msr::STIMER0_CONFIG..msr::STIMER0_CONFIG + 8).contains(&index) => {
                self.need(privilege::SYNTHETIC_TIMER_REGS)?;
                let n = (index - msr::STIMER0_CONFIG) as usize;
                let timer = vp.stimers[n / 2];
                if n % 2 == 0 {
                    timer.config
                } else {
                    timer.count
                }
            }
            msr::GUEST_IDLE => {
                self.need(privilege::GUEST_IDLE_REG)?;
                0
            }
            _ if (msr::CRASH_P0..=msr::CRASH_CTL).contains(&index) => {
                self.need_feature(features_edx::CRASH_MSRS)?;
                if index == msr::CRASH_CTL {
                    1 << 63
                } else {
                    self.part.crash[(index - msr::CRASH_P0) as usize]
                }
            }
            msr::REENLIGHTENMENT_CONTROL
            | msr::TSC_EMULATION_CONTROL
            | msr::TSC_EMULATION_STATUS => {
                self.need(privilege::REENLIGHTENMENT_CONTROLS)?;
                self.part.reenlightenment[(index - msr::REENLIGHTENMENT_CONTROL) as usize]
            }
            _ => return Err(MsrFault::Gp),
        })
    }

    fn write_msr(&mut self, cpu: &mut Cpu<'_>, index: u32, value: u64) -> MsrResult<()> {
        if native_msr(index) {
            return Err(MsrFault::Native);
        }
        let now_ref = self.ref_time();
        match index {
            IA32_TSC => {
                self.tsc_offset += i128::from(value) - i128::from(self.tsc());
            }
            apic::IA32_APIC_BASE => self.vps[0].apic.set_base(value)?,
            apic::X2APIC_MSR_BASE..=apic::X2APIC_MSR_LAST => {
                if let Some(ipi) = self.vps[0].apic.write_msr(index, value)? {
                    self.send_ipi(ipi);
                }
            }
            _ if self.profile.hv.is_none() => return Err(MsrFault::Gp),
            msr::GUEST_OS_ID => {
                self.need(privilege::HYPERCALL_MSRS)?;
                self.set_guest_os_id(cpu, value);
            }
            msr::HYPERCALL => {
                self.need(privilege::HYPERCALL_MSRS)?;
                self.set_hypercall_msr(cpu, value)?;
            }
            msr::RESET => {
                self.need(privilege::RESET_REG)?;
                if value & 1 != 0 {
                    return Err(MsrFault::Stop(Exit::Reset));
                }
            }
            msr::REFERENCE_TSC => {
                self.need(privilege::PARTITION_REFERENCE_TSC)?;
                self.set_reference_tsc(cpu, value)?;
            }
            msr::EOI => {
                self.need(privilege::INTR_CTRL_REGS)?;
                self.vps[0].apic.eoi();
            }
            msr::ICR => {
                self.need(privilege::INTR_CTRL_REGS)?;
                let ipi = if self.vps[0].apic.x2apic() {
                    self.vps[0].apic.write_msr(0x830, value)?
                } else {
                    // xAPIC format: destination in ICR-high bits 31:24.
                    let low = value as u32;
                    Some(Ipi {
                        vector: low as u8,
                        mode: ((low >> 8) & 7) as u8,
                        shorthand: ((low >> 18) & 3) as u8,
                        logical: low & (1 << 11) != 0,
                        destination: (value >> 56) as u32,
                    })
                };
                if let Some(ipi) = ipi {
                    self.send_ipi(ipi);
                }
            }
            msr::TPR => {
                self.need(privilege::INTR_CTRL_REGS)?;
                if value > 0xFF {
                    return Err(MsrFault::Gp);
                }
                self.vps[0].apic.set_tpr(value as u8);
            }
            msr::VP_ASSIST_PAGE => {
                self.need(privilege::INTR_CTRL_REGS)?;
                let vp = &mut self.vps[0];
                vp.vp_assist = (value & !OVERLAY_RSVDP) | (vp.vp_assist & OVERLAY_RSVDP);
            }
            msr::SCONTROL => {
                self.need(privilege::SYNIC_REGS)?;
                let vp = &mut self.vps[0];
                vp.scontrol = (value & 1) | (vp.scontrol & !1);
            }
            msr::SIEFP | msr::SIMP => {
                self.need(privilege::SYNIC_REGS)?;
                self.set_synic_page(cpu, index, value)?;
            }
            msr::EOM => self.need(privilege::SYNIC_REGS)?,
            msr::SVERSION => {
                self.need(privilege::SYNIC_REGS)?;
                return Err(MsrFault::Gp);
            }
            _ if (msr::SINT0..msr::SINT0 + 16).contains(&index) => {
                self.need(privilege::SYNIC_REGS)?;
                // Vector 7:0, masked 16, auto-EOI 17, polling 18 (only when available);
                // 63:19 RsvdP. An unmasked vector below 16 is rejected (as KVM does).
                let polling = if self.profile.has_feature(features_edx::SINT_POLLING) {
                    1 << 18
                } else {
                    0
                };
                let writable = 0xFF | SINT_MASKED | SINT_AUTO_EOI | polling;
                if value & SINT_MASKED == 0 && value & 0xFF < 16 {
                    return Err(MsrFault::Gp);
                }
                let slot = &mut self.vps[0].sint[(index - msr::SINT0) as usize];
                *slot = (value & writable) | (*slot & !writable);
            }
            _ if (msr::STIMER0_CONFIG..msr::STIMER0_CONFIG + 8).contains(&index) => {
                self.need(privilege::SYNTHETIC_TIMER_REGS)?;
                let n = (index - msr::STIMER0_CONFIG) as usize;
                let direct_ok = self.profile.has_feature(features_edx::STIMER_DIRECT);
                let vp = &mut self.vps[0];
                let timer = &mut vp.stimers[n / 2];
                if n % 2 == 0 {
                    if value & STIMER_RSVDZ != 0 || (value & STIMER_DIRECT != 0 && !direct_ok) {
                        return Err(MsrFault::Gp);
                    }
                    timer.config = value;
                } else {
                    timer.count = value;
                    if value == 0 {
                        timer.config &= !STIMER_ENABLE;
                    } else if timer.config & STIMER_AUTO_ENABLE != 0 {
                        timer.config |= STIMER_ENABLE;
                    }
                }
                vp.arm(n / 2, now_ref);
                vp.fire_timers(now_ref);
            }
            _ if (msr::CRASH_P0..msr::CRASH_CTL).contains(&index) => {
                self.need_feature(features_edx::CRASH_MSRS)?;
                self.part.crash[(index - msr::CRASH_P0) as usize] = value;
            }
            msr::CRASH_CTL => {
                self.need_feature(features_edx::CRASH_MSRS)?;
                if value & (1 << 63) != 0 {
                    return Err(MsrFault::Stop(Exit::Crash(self.part.crash)));
                }
            }
            msr::REENLIGHTENMENT_CONTROL
            | msr::TSC_EMULATION_CONTROL
            | msr::TSC_EMULATION_STATUS => {
                self.need(privilege::REENLIGHTENMENT_CONTROLS)?;
                self.part.reenlightenment[(index - msr::REENLIGHTENMENT_CONTROL) as usize] = value;
            }
            // VP index, run time, reference counter, frequencies, guest idle: read-only.
            _ => return Err(MsrFault::Gp),
        }
        Ok(())
    }

    /// Routes an IPI from VP 0 (SDM 11.6). Fixed delivery only; other modes are counted.
    fn send_ipi(&mut self, ipi: Ipi) {
        let targets: Vec<usize> = match ipi.shorthand {
            1 => vec![0],
            2 => (0..self.vps.len()).collect(),
            3 => (1..self.vps.len()).collect(),
            _ if ipi.logical => Vec::new(),
            _ => self
                .vps
                .iter()
                .position(|vp| vp.apic.id() == ipi.destination)
                .into_iter()
                .collect(),
        };
        for target in targets {
            if target != 0 {
                bump(
                    &mut self.stats.ipi_to_other_vp,
                    (self.vps[target].index, ipi.vector),
                );
            }
            if ipi.mode == 0 {
                self.vps[target].apic.accept(ipi.vector);
            }
        }
    }

    fn set_guest_os_id(&mut self, cpu: &mut Cpu<'_>, value: u64) {
        self.part.guest_os_id = value;
        // TLFS 2.6: clearing the guest OS id disables the hypercall page.
        if value == 0 && self.part.hypercall & HC_ENABLE != 0 {
            self.unmap_overlay(cpu, self.part.hypercall & GPFN_MASK);
            self.part.hypercall &= !HC_ENABLE;
        }
    }

    fn set_hypercall_msr(&mut self, cpu: &mut Cpu<'_>, value: u64) -> MsrResult<()> {
        let old = self.part.hypercall;
        if old & HC_LOCKED != 0 {
            // TLFS 3.13: a locked MSR cannot change until reset; the write is ignored.
            return Ok(());
        }
        let reserved = OVERLAY_RSVDP & !HC_LOCKED;
        let mut new = (value & !reserved) | (old & reserved);
        let gpa = new & GPFN_MASK;
        if new & HC_ENABLE != 0 && gpa + 0x1000 > self.ram_bytes {
            return Err(MsrFault::Gp);
        }
        // TLFS 3.13: without a guest OS id the enable bit stays zero.
        if self.part.guest_os_id == 0 {
            new &= !HC_ENABLE;
        }
        if old & HC_ENABLE != 0 {
            self.unmap_overlay(cpu, old & GPFN_MASK);
        }
        if new & HC_ENABLE != 0 {
            let mut page = vec![0u8; 0x1000];
            let entries: [(u64, &[u8]); 3] = [
                (HYPERCALL_PAGE_ENTRY, &[0x0F, 0x01, 0xC1, 0xC3]),
                (
                    HYPERCALL_PAGE_VTL_CALL,
                    &[0xB9, 0x11, 0, 0, 0, 0x0F, 0x01, 0xC1, 0xC3],
                ),
                (
                    HYPERCALL_PAGE_VTL_RETURN,
                    &[0xB9, 0x12, 0, 0, 0, 0x0F, 0x01, 0xC1, 0xC3],
                ),
            ];
            for (offset, code) in entries {
                page[offset as usize..offset as usize + code.len()].copy_from_slice(code);
            }
            self.map_overlay(cpu, gpa, &page);
        }
        self.part.hypercall = new;
        Ok(())
    }

    fn set_reference_tsc(&mut self, cpu: &mut Cpu<'_>, value: u64) -> MsrResult<()> {
        let old = self.part.reference_tsc;
        let new = (value & !OVERLAY_RSVDP) | (old & OVERLAY_RSVDP);
        if new & 1 != 0 && (new & GPFN_MASK) + 0x1000 > self.ram_bytes {
            return Err(MsrFault::Gp);
        }
        if old & 1 != 0 {
            self.unmap_overlay(cpu, old & GPFN_MASK);
        }
        if new & 1 != 0 {
            // TLFS 12.7.2: reference time = ((TSC * scale) >> 64) + offset; the TSC runs
            // at TSC_HZ and the reference counter at 10 MHz.
            let scale = ((1u128 << 64) * 10_000_000 / u128::from(TSC_HZ)) as u64;
            let mut page = vec![0u8; 0x1000];
            page[0..4].copy_from_slice(&1u32.to_le_bytes());
            page[8..16].copy_from_slice(&scale.to_le_bytes());
            self.map_overlay(cpu, new & GPFN_MASK, &page);
        }
        self.part.reference_tsc = new;
        Ok(())
    }

    fn set_synic_page(&mut self, cpu: &mut Cpu<'_>, index: u32, value: u64) -> MsrResult<()> {
        let old = if index == msr::SIMP {
            self.vps[0].simp
        } else {
            self.vps[0].siefp
        };
        let new = (value & !OVERLAY_RSVDP) | (old & OVERLAY_RSVDP);
        if new & 1 != 0 && (new & GPFN_MASK) + 0x1000 > self.ram_bytes {
            return Err(MsrFault::Gp);
        }
        if old & 1 != 0 {
            self.unmap_overlay(cpu, old & GPFN_MASK);
        }
        if new & 1 != 0 {
            // The page starts zeroed (as KVM clears it on enable).
            self.map_overlay(cpu, new & GPFN_MASK, &[0u8; 0x1000]);
        }
        if index == msr::SIMP {
            self.vps[0].simp = new;
        } else {
            self.vps[0].siefp = new;
        }
        Ok(())
    }

    /// Covers the RAM page at `gpa` with `content`, keeping the RAM contents to restore
    /// when the overlay goes away (TLFS 5.2.1).
    fn map_overlay(&mut self, cpu: &mut Cpu<'_>, gpa: u64, content: &[u8]) {
        let mut saved = vec![0u8; 0x1000];
        if cpu.read_mem(gpa, &mut saved).is_ok() {
            self.part.overlays.entry(gpa).or_insert(saved);
        }
        let _ = cpu.write_mem(gpa, content);
        let _ = cpu.flush_code(gpa, gpa + 0x1000);
    }

    fn unmap_overlay(&mut self, cpu: &mut Cpu<'_>, gpa: u64) {
        if let Some(saved) = self.part.overlays.remove(&gpa) {
            let _ = cpu.write_mem(gpa, &saved);
            let _ = cpu.flush_code(gpa, gpa + 0x1000);
        }
    }
}

/// What a hypercall accepts (TLFS 3.2, 3.7, and each call's section).
struct CallSpec {
    rep: bool,
    fast: bool,
    /// Fixed input header bytes.
    input: usize,
    /// Input bytes per rep element.
    rep_input: usize,
    /// Output bytes (simple) or per rep element.
    output: usize,
    privilege: u64,
}

fn spec(code: HvCallCode) -> Option<CallSpec> {
    let simple = |fast, input, output, privilege| CallSpec {
        rep: false,
        fast,
        input,
        rep_input: 0,
        output,
        privilege,
    };
    Some(match code {
        HvCallCode::HvCallNotifyLongSpinWait => simple(true, 8, 0, 0),
        HvCallCode::HvCallPostMessage => simple(false, 256, 0, privilege::POST_MESSAGES),
        HvCallCode::HvCallSignalEvent => simple(true, 8, 0, privilege::SIGNAL_EVENTS),
        HvCallCode::HvExtCallQueryCapabilities => {
            simple(false, 0, 8, privilege::ENABLE_EXTENDED_HYPERCALLS)
        }
        HvCallCode::HvCallGetVpRegisters => CallSpec {
            rep: true,
            fast: true,
            input: 16,
            rep_input: 4,
            output: 16,
            privilege: privilege::ACCESS_VP_REGISTERS,
        },
        HvCallCode::HvCallSetVpRegisters => CallSpec {
            rep: true,
            fast: true,
            input: 16,
            rep_input: 32,
            output: 0,
            privilege: privilege::ACCESS_VP_REGISTERS,
        },
        _ => return None,
    })
}

/// How a hypercall exit ends.
enum HcEnd {
    /// Return with this status and rep count; RIP advances.
    Done(HvStatus, u16),
    /// Return for continuation after this many reps; RIP stays on the VMCALL.
    Continue(u16),
    /// Inject #UD.
    Ud,
}

/// Where the input and output blocks live.
enum Io {
    Memory {
        input: u64,
        output: u64,
    },
    /// RDX, R8, XMM0–XMM5 as one 112-byte block.
    Fast([u8; 112]),
}

const fn round16(n: usize) -> usize {
    (n + 15) & !15
}

impl Vm {
    /// A VMCALL at `rip` from the hypercall page or anywhere else.
    pub(crate) fn hypercall(&mut self, cpu: &mut Cpu<'_>, rip: u64) {
        let control = HvHypercallInput::from_bits(cpu.read(R::RCX).unwrap_or(0));
        let code = control.call_code();
        let cpl = cpu.read(R::CS).unwrap_or(0) & 3;
        // TLFS 3.5: only CPL 0 may call, or #UD; no hypervisor, no hypercalls.
        let end = if cpl != 0 || self.profile.hv.is_none() {
            HcEnd::Ud
        } else {
            self.dispatch(cpu, control)
        };
        match end {
            HcEnd::Ud => {
                self.stats.hypercall_ud += 1;
                self.inject_exception(cpu, 6, None);
            }
            HcEnd::Done(status, reps) => {
                bump(&mut self.stats.hypercall, (code.get(), status.get()));
                let out = HvHypercallOutput::new()
                    .with_status(status)
                    .with_reps_completed(reps);
                let _ = cpu.write(R::RAX, out.into_bits());
                let _ = cpu.write(R::RIP, rip + 3);
            }
            HcEnd::Continue(reps) => {
                bump(&mut self.stats.hypercall, (code.get(), 0));
                self.stats.hypercall_continuations += 1;
                let out = HvHypercallOutput::new().with_reps_completed(reps);
                let _ = cpu.write(R::RAX, out.into_bits());
                let _ = cpu.write(R::RCX, control.with_rep_start_index(reps).into_bits());
                let _ = cpu.write(R::RIP, rip);
                self.try_interrupt(cpu);
            }
        }
    }

    fn dispatch(&mut self, cpu: &mut Cpu<'_>, control: HvHypercallInput) -> HcEnd {
        use HcEnd::Done;
        let bad_input = Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
        if control.has_reserved_bits() {
            return bad_input;
        }
        let Some(spec) = spec(control.call_code()) else {
            return Done(HvStatus::INVALID_HYPERCALL_CODE, 0);
        };
        let (count, start) = (control.rep_count(), control.rep_start_index());
        let rep_ok = if spec.rep {
            count != 0 && start < count
        } else {
            count == 0 && start == 0
        };
        if !rep_ok
            || (control.fast() && !spec.fast)
            || control.variable_header_size() != 0
            || control.nested()
        {
            return bad_input;
        }
        let reps = if spec.rep { usize::from(count) } else { 0 };
        let in_size = spec.input + reps * spec.rep_input;
        let out_size = if spec.rep {
            reps * spec.output
        } else {
            spec.output
        };
        let io = if control.fast() {
            if in_size > 16 && !self.profile.has_feature(features_edx::XMM_INPUT) {
                return HcEnd::Ud;
            }
            if out_size > 0 && !self.profile.has_feature(features_edx::XMM_OUTPUT) {
                return HcEnd::Ud;
            }
            if round16(in_size) + out_size > 112 {
                return bad_input;
            }
            let mut block = [0u8; 112];
            block[..8].copy_from_slice(&cpu.read(R::RDX).unwrap_or(0).to_le_bytes());
            block[8..16].copy_from_slice(&cpu.read(R::R8).unwrap_or(0).to_le_bytes());
            for (i, reg) in XMM.iter().enumerate() {
                let value = cpu.read_u128(*reg).unwrap_or(0);
                block[16 + 16 * i..32 + 16 * i].copy_from_slice(&value.to_le_bytes());
            }
            Io::Fast(block)
        } else {
            let input = cpu.read(R::RDX).unwrap_or(0);
            let output = cpu.read(R::R8).unwrap_or(0);
            for (gpa, size) in [(input, in_size), (output, out_size)] {
                if size == 0 {
                    continue;
                }
                if gpa & 7 != 0 || (gpa & 0xFFF) as usize + size > 0x1000 {
                    return Done(HvStatus::INVALID_ALIGNMENT, 0);
                }
                if gpa
                    .checked_add(size as u64)
                    .is_none_or(|end| end > self.ram_bytes)
                {
                    return bad_input;
                }
            }
            Io::Memory { input, output }
        };
        if !self.profile.has_privilege(spec.privilege) {
            return Done(HvStatus::ACCESS_DENIED, 0);
        }
        let mut input = vec![0u8; in_size];
        match &io {
            Io::Fast(block) => input.copy_from_slice(&block[..in_size]),
            Io::Memory { input: gpa, .. } => {
                if cpu.read_mem(*gpa, &mut input).is_err() {
                    return bad_input;
                }
            }
        }
        let mut output = vec![0u8; out_size];
        let end = self.call(control, &input, &mut output);
        if self.part.guest_os_id == 0 {
            self.set_guest_os_id(cpu, 0);
        }
        // Write back output: memory for the reps done, or the fast-output registers.
        let done = match end {
            Done(_, reps) | HcEnd::Continue(reps) => usize::from(reps),
            HcEnd::Ud => 0,
        };
        match io {
            Io::Memory { output: gpa, .. } if out_size > 0 => {
                let upto = if spec.rep {
                    done * spec.output
                } else {
                    out_size
                };
                let from = if spec.rep {
                    usize::from(start) * spec.output
                } else {
                    0
                };
                if from < upto {
                    let _ = cpu.write_mem(gpa + from as u64, &output[from..upto]);
                }
            }
            Io::Fast(mut block) if out_size > 0 => {
                let base = round16(in_size);
                let from = if spec.rep {
                    usize::from(start) * spec.output
                } else {
                    0
                };
                let upto = if spec.rep {
                    done * spec.output
                } else {
                    out_size
                };
                block[base + from..base + upto].copy_from_slice(&output[from..upto]);
                if start == 0 {
                    block[base + out_size..].fill(CLOBBER_BYTE);
                }
                for (i, reg) in XMM.iter().enumerate() {
                    if 16 + 16 * i >= base {
                        let mut bytes = [0u8; 16];
                        bytes.copy_from_slice(&block[16 + 16 * i..32 + 16 * i]);
                        let _ = cpu.write_u128(*reg, u128::from_le_bytes(bytes));
                    }
                }
            }
            _ => {}
        }
        end
    }

    fn call(&mut self, control: HvHypercallInput, input: &[u8], output: &mut [u8]) -> HcEnd {
        use HcEnd::Done;
        let u32_at = |off: usize| {
            u32::from_le_bytes([input[off], input[off + 1], input[off + 2], input[off + 3]])
        };
        let u64_at = |off: usize| u64::from(u32_at(off)) | u64::from(u32_at(off + 4)) << 32;
        match control.call_code() {
            HvCallCode::HvCallNotifyLongSpinWait => {
                self.stats.long_spin_waits += 1;
                Done(HvStatus::SUCCESS, 0)
            }
            HvCallCode::HvCallPostMessage => {
                // TLFS 11.10.1: payload of at most 240 bytes; no connection exists here.
                if u32_at(12) > 240 {
                    Done(HvStatus::INVALID_PARAMETER, 0)
                } else {
                    Done(HvStatus::INVALID_CONNECTION_ID, 0)
                }
            }
            HvCallCode::HvCallSignalEvent => Done(HvStatus::INVALID_CONNECTION_ID, 0),
            HvCallCode::HvExtCallQueryCapabilities => {
                // No extended hypercall besides this query is implemented.
                output.copy_from_slice(&0u64.to_le_bytes());
                Done(HvStatus::SUCCESS, 0)
            }
            code @ (HvCallCode::HvCallGetVpRegisters | HvCallCode::HvCallSetVpRegisters) => {
                let get = code == HvCallCode::HvCallGetVpRegisters;
                if u64_at(0) != HV_PARTITION_ID_SELF {
                    return Done(HvStatus::INVALID_PARTITION_ID, 0);
                }
                let vp = u32_at(8);
                let vp = if vp == HV_VP_INDEX_SELF { 0 } else { vp };
                if vp as usize >= self.vps.len() {
                    return Done(HvStatus::INVALID_VP_INDEX, 0);
                }
                let vtl = HvInputVtl::from_bits(input[12]);
                if vtl.into_bits() & HvInputVtl::RESERVED_MASK != 0
                    || (vtl.use_target_vtl() && vtl.target_vtl() != 0)
                {
                    return Done(HvStatus::INVALID_PARAMETER, 0);
                }
                let count = control.rep_count();
                let start = control.rep_start_index();
                let end = count.min(start.saturating_add(self.reps_per_call));
                for i in start..end {
                    let i_us = usize::from(i);
                    let status = if get {
                        let name = HvRegisterName::new(u32_at(16 + 4 * i_us));
                        match self.get_register(vp as usize, name) {
                            Some(value) => {
                                output[16 * i_us..16 * i_us + 8]
                                    .copy_from_slice(&value.to_le_bytes());
                                HvStatus::SUCCESS
                            }
                            None => HvStatus::INVALID_PARAMETER,
                        }
                    } else {
                        let at = 16 + 32 * i_us;
                        let name = HvRegisterName::new(u32_at(at));
                        self.set_register(name, u64_at(at + 16))
                    };
                    if status != HvStatus::SUCCESS {
                        return Done(status, i);
                    }
                }
                if end == count {
                    Done(HvStatus::SUCCESS, count)
                } else {
                    HcEnd::Continue(end)
                }
            }
            _ => Done(HvStatus::INVALID_HYPERCALL_CODE, 0),
        }
    }

    /// A synthetic register readable through HvCallGetVpRegisters, if the profile
    /// exposes it (the privilege that guards its MSR).
    fn get_register(&self, vp: usize, name: HvRegisterName) -> Option<u64> {
        let has = |mask| self.profile.has_privilege(mask);
        match name {
            HvRegisterName::HvRegisterGuestOsId if has(privilege::HYPERCALL_MSRS) => {
                Some(self.part.guest_os_id)
            }
            HvRegisterName::HvRegisterVpIndex if has(privilege::VP_INDEX) => {
                Some(u64::from(self.vps[vp].index))
            }
            HvRegisterName::HvRegisterTimeRefCount
                if has(privilege::PARTITION_REFERENCE_COUNTER) =>
            {
                Some(self.ref_time())
            }
            _ => None,
        }
    }

    /// Writes a register through HvCallSetVpRegisters. Only the guest OS id is writable
    /// (its hypercall-page rule, TLFS 2.6, is applied by `dispatch` when the call returns).
    fn set_register(&mut self, name: HvRegisterName, value: u64) -> HvStatus {
        match name {
            HvRegisterName::HvRegisterGuestOsId
                if self.profile.has_privilege(privilege::HYPERCALL_MSRS) =>
            {
                self.part.guest_os_id = value;
                HvStatus::SUCCESS
            }
            _ => HvStatus::INVALID_PARAMETER,
        }
    }
}
