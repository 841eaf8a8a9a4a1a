//! The Hyper-V partition model: synthetic MSRs (TLFS appendix C), the x2APIC and
//! Hyper-V APIC MSRs, synthetic timers and hypercalls (TLFS 3).
//!
//! Every TLFS constant, layout and rule comes from `hv-defs`: which synthetic MSRs exist,
//! what privilege or feature each needs and whether it can be read or written
//! ([`hv_defs::msr::msr_info`]); the register contents ([`HvHypercallMsr`],
//! [`HvStimerConfig`], [`HvSynicSint`], ...); each hypercall's class, fast forms and
//! control-word rules ([`HvCallCode::info`], [`HvHypercallInput::validate`]); and the
//! input and output layouts of the calls the model serves.

use std::collections::BTreeMap;

use hv_defs::hypercall::{
    HV_HYPERCALL_FAST_INPUT_BYTES, HV_HYPERCALL_PARAMETER_ALIGNMENT, HV_HYPERCALL_XMM_BLOCK_BYTES,
    HvCallCode, HvCallInfo, HvCallPrivilege, HvHypercallInput, HvHypercallOutput,
    HvOutputExtCallQueryCapabilities,
};
use hv_defs::interrupt::{HvSendSyntheticClusterIpiExInput, HvSendSyntheticClusterIpiInput};
use hv_defs::mmu::{HvFlushVirtualAddressSpaceExInput, HvFlushVirtualAddressSpaceInput};
use hv_defs::msr::{
    HV_X64_MSR_APIC_FREQUENCY, HV_X64_MSR_CRASH_CTL, HV_X64_MSR_CRASH_P0, HV_X64_MSR_EOI,
    HV_X64_MSR_EOM, HV_X64_MSR_GUEST_IDLE, HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL,
    HV_X64_MSR_ICR, HV_X64_MSR_REENLIGHTENMENT_CONTROL, HV_X64_MSR_REFERENCE_TSC, HV_X64_MSR_RESET,
    HV_X64_MSR_SCONTROL, HV_X64_MSR_SIEFP, HV_X64_MSR_SIMP, HV_X64_MSR_SINT0, HV_X64_MSR_SINT15,
    HV_X64_MSR_SIRBP, HV_X64_MSR_STIMER0_CONFIG, HV_X64_MSR_STIMER3_COUNT, HV_X64_MSR_SVERSION,
    HV_X64_MSR_TIME_REF_COUNT, HV_X64_MSR_TPR, HV_X64_MSR_TSC_EMULATION_CONTROL,
    HV_X64_MSR_TSC_EMULATION_STATUS, HV_X64_MSR_TSC_FREQUENCY, HV_X64_MSR_TSC_INVARIANT_CONTROL,
    HV_X64_MSR_VP_ASSIST_PAGE, HV_X64_MSR_VP_INDEX, HV_X64_MSR_VP_RUNTIME, HvHypercallMsr,
    HvResetMsr, HvTscInvariantControl, msr_info,
};
use hv_defs::partition::{HvGuestCrashControl, HvPartitionPrivilegeMask};
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvStatus;
use hv_defs::synic::{
    HV_SYNIC_FIRST_VALID_VECTOR, HvPostMessageInput, HvSignalEventInput, HvSynicScontrol,
    HvSynicSiefp, HvSynicSimp, HvSynicSint, HvSynicSversion,
};
use hv_defs::timer::{HV_STIMER_COUNT, HvStimerConfig};
use hv_defs::vp::{
    HV_GET_VP_INDEX_FROM_APIC_ID_ELEMENT_SIZE, HV_GET_VP_REGISTERS_INPUT_ELEMENT_SIZE,
    HV_GET_VP_REGISTERS_OUTPUT_ELEMENT_SIZE, HvGetVpIndexFromApicIdInputHeader,
    HvNotifyLongSpinWaitInput, HvSetVpRegistersElement, HvStartVirtualProcessorInput,
    HvVpAssistPageMsr, HvVpRegistersInputHeader,
};
use hv_defs::vsm::{HvEnablePartitionVtlInput, HvEnableVpVtlInput, HvModifyVtlProtectionMaskInput};
use hv_defs::{HV_PAGE_SIZE, HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, HvVpIndex};
use unicorn_engine::unicorn_const::RegisterX86 as R;
use zerocopy::FromBytes;

use crate::apic::{self, Apic, ApicFault, Ipi};
use crate::crash::CrashReport;
use crate::error::Exit;
use crate::machine::{APIC_HZ, Stop, TSC_HZ, Vm};
use crate::mem::GuestMemory;
use crate::reftsc::RefTsc;
use crate::stats::bump;
use crate::stimer::Stimer;
use crate::synic::{Synic, page_fits};
use crate::uc::{Cpu, XMM};
use crate::vsm;

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

/// The page-number part of an overlay MSR (bits 63:12).
const GPFN_MASK: u64 = !0xFFF;

/// Offset of the hypercall entry in the hypercall page (TLFS 3.13).
pub const HYPERCALL_PAGE_ENTRY: u64 = 0x000;
/// Offset of the VTL call sequence in the hypercall page of a partition with VSM, as
/// `HvRegisterVsmCodePageOffsets` reports it (TLFS 15.8).
pub const HYPERCALL_PAGE_VTL_CALL: u64 = 0x010;
/// Offset of the VTL return sequence (TLFS 15.8).
pub const HYPERCALL_PAGE_VTL_RETURN: u64 = 0x020;

/// The pattern written to fast-output registers the call leaves unused (TLFS 3.9 lets
/// the hypervisor modify them).
pub const CLOBBER_BYTE: u8 = 0xA5;

/// The SynIC version `HV_X64_MSR_SVERSION` reports (TLFS 11.8.2: version 1).
const SYNIC_VERSION: u64 = 1;

/// Partition-wide state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Partition {
    pub(crate) guest_os_id: u64,
    hypercall: HvHypercallMsr,
    pub(crate) reftsc: RefTsc,
    crash: [u64; 5],
    reenlightenment: [u64; 3],
    tsc_invariant: HvTscInvariantControl,
    /// Original contents of RAM pages covered by an overlay, by GPA.
    overlays: BTreeMap<u64, Vec<u8>>,
}

impl Partition {
    /// Exchanges the partition-wide registers that are private to each VTL (TLFS
    /// 15.11.1.1) with `other`'s: the guest OS id and the hypercall page.
    pub(crate) fn swap_vtl_private(&mut self, other: &mut Self) {
        std::mem::swap(&mut self.guest_os_id, &mut other.guest_os_id);
        std::mem::swap(&mut self.hypercall, &mut other.hypercall);
    }
}

/// One virtual processor.
#[derive(Clone, Debug)]
pub(crate) struct Vp {
    pub(crate) index: HvVpIndex,
    pub(crate) apic: Apic,
    pub(crate) synic: Synic,
    pub(crate) stimers: [Stimer; HV_STIMER_COUNT],
    pub(crate) vp_assist: HvVpAssistPageMsr,
    /// The vector "No EOI required" was set for, while the assist is armed (`assist`).
    pub(crate) eoi_assist: Option<u8>,
}

impl Vp {
    pub(crate) fn new(index: HvVpIndex, apic: Apic) -> Self {
        Self {
            index,
            apic,
            synic: Synic::default(),
            stimers: [Stimer::default(); HV_STIMER_COUNT],
            vp_assist: HvVpAssistPageMsr::new(),
            eoi_assist: None,
        }
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

/// Keeps the RsvdP bits `reserved` of `old` and takes the rest from `value`.
const fn preserve(old: u64, value: u64, reserved: u64) -> u64 {
    (value & !reserved) | (old & reserved)
}

impl Vm {
    /// The rule every synthetic MSR access follows (TLFS appendix C, as `hv-defs` records
    /// it): the MSR must exist, the partition must hold its privileges and features, and
    /// the access must be one the MSR allows; anything else is #GP.
    fn check_synthetic(&self, index: u32, write: bool) -> MsrResult<()> {
        let info = msr_info(index).ok_or(MsrFault::Gp)?;
        let allowed = if write {
            info.access.can_write()
        } else {
            info.access.can_read()
        };
        if allowed && info.is_available(self.profile.features()) {
            Ok(())
        } else {
            Err(MsrFault::Gp)
        }
    }

    /// RDMSR at RIP; `next` is the following instruction.
    pub(crate) fn rdmsr(&mut self, cpu: &mut Cpu<'_>, next: u64) {
        let index = cpu.read(R::RCX).unwrap_or(0) as u32;
        bump(&mut self.stats.msr_read, index);
        match self.read_msr(cpu, index) {
            Ok(value) => {
                let _ = cpu.write(R::RAX, value & 0xFFFF_FFFF);
                let _ = cpu.write(R::RDX, value >> 32);
                let _ = cpu.write(R::RIP, next);
                if index == HV_X64_MSR_GUEST_IDLE {
                    // TLFS 7.5: the read idles the VP until an interrupt arrives, even one
                    // RFLAGS.IF masks; the run loop idles it (and may run another VP).
                    self.finish(cpu, Stop::Idle);
                }
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

    fn read_msr(&mut self, cpu: &mut Cpu<'_>, index: u32) -> MsrResult<u64> {
        if native_msr(index) {
            return Err(MsrFault::Native);
        }
        match index {
            IA32_TSC => return Ok(self.tsc()),
            apic::IA32_APIC_BASE => return Ok(self.vp().apic.base()),
            apic::X2APIC_MSR_BASE..=apic::X2APIC_MSR_LAST => {
                // ISR and PPR must show an EOI the guest skipped through the assist.
                self.assist_sync(cpu, self.cur());
                return Ok(self.vp_mut().apic.read_msr(index)?);
            }
            _ => {}
        }
        self.check_synthetic(index, false)?;
        let now_ref = self.ref_time();
        let vp = self.vp();
        Ok(match index {
            HV_X64_MSR_GUEST_OS_ID => self.part.guest_os_id,
            HV_X64_MSR_HYPERCALL => self.part.hypercall.into_bits(),
            HV_X64_MSR_VP_INDEX => u64::from(vp.index),
            HV_X64_MSR_RESET => 0,
            HV_X64_MSR_VP_RUNTIME => self.vp_runtime_ns(self.cur()) / 100,
            HV_X64_MSR_TIME_REF_COUNT => now_ref,
            HV_X64_MSR_REFERENCE_TSC => self.part.reftsc.msr.into_bits(),
            HV_X64_MSR_TSC_FREQUENCY => TSC_HZ,
            HV_X64_MSR_APIC_FREQUENCY => APIC_HZ,
            HV_X64_MSR_ICR if vp.apic.x2apic() => vp.apic.read_msr(0x830)?,
            HV_X64_MSR_ICR => 0,
            HV_X64_MSR_TPR => u64::from(vp.apic.tpr()),
            HV_X64_MSR_VP_ASSIST_PAGE => vp.vp_assist.into_bits(),
            HV_X64_MSR_SCONTROL => vp.synic.scontrol.into_bits(),
            HV_X64_MSR_SVERSION => HvSynicSversion::from_bits(SYNIC_VERSION).into_bits(),
            HV_X64_MSR_SIEFP => vp.synic.siefp.into_bits(),
            HV_X64_MSR_SIMP => vp.synic.simp.into_bits(),
            HV_X64_MSR_SIRBP => vp.synic.sirbp,
            HV_X64_MSR_SINT0..=HV_X64_MSR_SINT15 => {
                vp.synic.sint[(index - HV_X64_MSR_SINT0) as usize].into_bits()
            }
            HV_X64_MSR_STIMER0_CONFIG..=HV_X64_MSR_STIMER3_COUNT => {
                let n = (index - HV_X64_MSR_STIMER0_CONFIG) as usize;
                let timer = vp.stimers[n / 2];
                if n % 2 == 0 {
                    timer.config.into_bits()
                } else {
                    timer.count
                }
            }
            // TLFS 7.5: the value means nothing; `rdmsr` idles the VP after the read.
            HV_X64_MSR_GUEST_IDLE => 0,
            // TLFS 4.3.1.1: reading the crash control MSR reports the supported actions.
            HV_X64_MSR_CRASH_CTL => self.crash_control().into_bits(),
            HV_X64_MSR_CRASH_P0..HV_X64_MSR_CRASH_CTL => {
                self.part.crash[(index - HV_X64_MSR_CRASH_P0) as usize]
            }
            HV_X64_MSR_REENLIGHTENMENT_CONTROL..=HV_X64_MSR_TSC_EMULATION_STATUS => {
                self.part.reenlightenment[(index - HV_X64_MSR_REENLIGHTENMENT_CONTROL) as usize]
            }
            HV_X64_MSR_TSC_INVARIANT_CONTROL => self.part.tsc_invariant.into_bits(),
            // Defined and granted, but not modelled (the syndbg, NPIEP, time-unhalted timer
            // and nested SynIC MSRs need privileges or features no profile grants).
            _ => return Err(MsrFault::Gp),
        })
    }

    fn write_msr(&mut self, cpu: &mut Cpu<'_>, index: u32, value: u64) -> MsrResult<()> {
        if native_msr(index) {
            return Err(MsrFault::Native);
        }
        match index {
            IA32_TSC => {
                self.tsc_offset += i128::from(value) - i128::from(self.tsc());
                self.reftsc_tsc_changed(cpu);
                return Ok(());
            }
            apic::IA32_APIC_BASE => return Ok(self.vp_mut().apic.set_base(value)?),
            apic::X2APIC_EOI => {
                if !self.vp_mut().apic.x2apic() || value != 0 {
                    return Err(MsrFault::Gp);
                }
                self.end_of_interrupt(cpu, self.cur());
                return Ok(());
            }
            apic::X2APIC_MSR_BASE..=apic::X2APIC_MSR_LAST => {
                if let Some(ipi) = self.vp_mut().apic.write_msr(index, value)? {
                    self.send_ipi(cpu, ipi);
                }
                return Ok(());
            }
            _ => {}
        }
        self.check_synthetic(index, true)?;
        let now_ref = self.ref_time();
        match index {
            HV_X64_MSR_GUEST_OS_ID => self.set_guest_os_id(cpu, value),
            HV_X64_MSR_HYPERCALL => self.set_hypercall_msr(cpu, value)?,
            HV_X64_MSR_RESET => {
                if HvResetMsr::from_bits(value).reset() {
                    return Err(MsrFault::Stop(Exit::Reset));
                }
            }
            HV_X64_MSR_REFERENCE_TSC => self
                .set_reference_tsc(cpu, value)
                .map_err(|_| MsrFault::Gp)?,
            HV_X64_MSR_EOI => self.end_of_interrupt(cpu, self.cur()),
            HV_X64_MSR_ICR => {
                let ipi = if self.vp().apic.x2apic() {
                    self.vp_mut().apic.write_msr(0x830, value)?
                } else {
                    // xAPIC format: destination in ICR-high bits 31:24.
                    Some(Ipi::from_icr(value as u32, (value >> 56) as u32))
                };
                if let Some(ipi) = ipi {
                    self.send_ipi(cpu, ipi);
                }
            }
            HV_X64_MSR_TPR => {
                if value > 0xFF {
                    return Err(MsrFault::Gp);
                }
                self.vp_mut().apic.set_tpr(value as u8);
            }
            HV_X64_MSR_VP_ASSIST_PAGE => self.set_vp_assist(cpu, value)?,
            HV_X64_MSR_SCONTROL => {
                let synic = &mut self.vp_mut().synic;
                synic.scontrol = HvSynicScontrol::from_bits(preserve(
                    synic.scontrol.into_bits(),
                    value,
                    HvSynicScontrol::RESERVED_MASK,
                ));
                self.synic_scan(cpu, self.cur());
            }
            HV_X64_MSR_SIEFP | HV_X64_MSR_SIMP => {
                self.set_synic_page(cpu, index, value)?;
                self.synic_scan(cpu, self.cur());
            }
            HV_X64_MSR_SIRBP => self.vp_mut().synic.sirbp = value,
            // TLFS 11.8.6: any write makes the hypervisor scan the queues.
            HV_X64_MSR_EOM => self.synic_scan(cpu, self.cur()),
            HV_X64_MSR_SINT0..=HV_X64_MSR_SINT15 => {
                let new = HvSynicSint::from_bits(value);
                // An unmasked vector below 16 is rejected (TLFS 11.8.5; as KVM does).
                if !new.masked() && new.vector() < HV_SYNIC_FIRST_VALID_VECTOR {
                    return Err(MsrFault::Gp);
                }
                // Polling mode only when offered (TLFS 2.4.4 EDX bit 17); the paravisor bits
                // 19 and 20 are kept as RsvdP for a guest partition.
                let polling = self.profile.features().sint_polling_mode_available();
                let writable = HvSynicSint::new()
                    .with_vector(0xFF)
                    .with_masked(true)
                    .with_auto_eoi(true)
                    .with_polling(polling)
                    .into_bits();
                let slot = &mut self.vp_mut().synic.sint[(index - HV_X64_MSR_SINT0) as usize];
                *slot = HvSynicSint::from_bits(preserve(slot.into_bits(), value, !writable));
            }
            HV_X64_MSR_STIMER0_CONFIG..=HV_X64_MSR_STIMER3_COUNT => {
                let n = (index - HV_X64_MSR_STIMER0_CONFIG) as usize;
                let direct_ok = self.profile.features().direct_synthetic_timers();
                let timer = &mut self.vp_mut().stimers[n / 2];
                if n % 2 == 0 {
                    let config = HvStimerConfig::from_bits(value);
                    if config.has_reserved_bits() || (config.direct_mode() && !direct_ok) {
                        return Err(MsrFault::Gp);
                    }
                    timer.write_config(config, now_ref);
                } else {
                    timer.write_count(value, now_ref);
                }
                self.run_timers(cpu, self.cur());
            }
            HV_X64_MSR_CRASH_P0..HV_X64_MSR_CRASH_CTL => {
                self.part.crash[(index - HV_X64_MSR_CRASH_P0) as usize] = value;
            }
            HV_X64_MSR_CRASH_CTL => {
                let control = HvGuestCrashControl::from_bits(value);
                if control.crash_notify() {
                    let offered = self.crash_control();
                    let report = CrashReport::record(self.part.crash, control, offered, cpu);
                    self.stats.crash = Some(report.clone());
                    return Err(MsrFault::Stop(Exit::Crash(report)));
                }
            }
            HV_X64_MSR_REENLIGHTENMENT_CONTROL
            | HV_X64_MSR_TSC_EMULATION_CONTROL
            | HV_X64_MSR_TSC_EMULATION_STATUS => {
                self.part.reenlightenment[(index - HV_X64_MSR_REENLIGHTENMENT_CONTROL) as usize] =
                    value;
            }
            HV_X64_MSR_TSC_INVARIANT_CONTROL => {
                if value & HvTscInvariantControl::RESERVED_MASK != 0 {
                    return Err(MsrFault::Gp);
                }
                self.part.tsc_invariant = HvTscInvariantControl::from_bits(value);
            }
            // Defined and granted, but not modelled (see `read_msr`).
            _ => return Err(MsrFault::Gp),
        }
        Ok(())
    }

    fn set_guest_os_id(&mut self, cpu: &mut Cpu<'_>, value: u64) {
        self.part.guest_os_id = value;
        // TLFS 2.6: clearing the guest OS id disables the hypercall page.
        if value == 0 && self.part.hypercall.enable() {
            self.unmap_overlay(cpu, self.part.hypercall.into_bits() & GPFN_MASK);
            self.part.hypercall.set_enable(false);
        }
    }

    fn set_hypercall_msr(&mut self, cpu: &mut Cpu<'_>, value: u64) -> MsrResult<()> {
        let old = self.part.hypercall;
        if old.locked() {
            // TLFS 3.13: a locked MSR cannot change until reset; the write is ignored.
            return Ok(());
        }
        let mut new = HvHypercallMsr::from_bits(preserve(
            old.into_bits(),
            value,
            HvHypercallMsr::RESERVED_MASK,
        ));
        let gpa = new.into_bits() & GPFN_MASK;
        if new.enable() && gpa + HV_PAGE_SIZE as u64 > self.ram_bytes {
            return Err(MsrFault::Gp);
        }
        // TLFS 3.13: without a guest OS id the enable bit stays zero.
        if self.part.guest_os_id == 0 {
            new.set_enable(false);
        }
        if old.enable() {
            self.unmap_overlay(cpu, old.into_bits() & GPFN_MASK);
        }
        if new.enable() {
            let mut page = vec![0u8; HV_PAGE_SIZE];
            page[..4].copy_from_slice(&[0x0F, 0x01, 0xC1, 0xC3]);
            if self.vsm_offered() {
                for (offset, code) in vsm::vtl_code() {
                    page[offset as usize..offset as usize + code.len()].copy_from_slice(&code);
                }
            }
            self.map_overlay(cpu, gpa, &page);
        }
        self.part.hypercall = new;
        Ok(())
    }

    /// What `HV_X64_MSR_CRASH_CTL` reports (TLFS 4.3.1.1).
    fn crash_control(&self) -> HvGuestCrashControl {
        self.profile
            .hv
            .as_ref()
            .map_or(HvGuestCrashControl::new(), |hv| hv.crash_control)
    }

    /// A write of `HV_X64_MSR_VP_ASSIST_PAGE` (TLFS 7.8.7): the page is an overlay that
    /// starts zeroed; an armed EOI assist is withdrawn with the old page.
    fn set_vp_assist(&mut self, cpu: &mut Cpu<'_>, value: u64) -> MsrResult<()> {
        let old = self.vp().vp_assist;
        let new = HvVpAssistPageMsr::from_bits(preserve(
            old.into_bits(),
            value,
            HvVpAssistPageMsr::RESERVED_MASK,
        ));
        let gpa = new.into_bits() & GPFN_MASK;
        if new.enable() && !page_fits(gpa, self.ram_bytes) {
            return Err(MsrFault::Gp);
        }
        self.assist_withdraw(cpu, self.cur());
        if old.enable() {
            self.unmap_overlay(cpu, old.into_bits() & GPFN_MASK);
        }
        if new.enable() {
            self.map_overlay(cpu, gpa, &[0u8; HV_PAGE_SIZE]);
        }
        self.vp_mut().vp_assist = new;
        Ok(())
    }

    fn set_synic_page(&mut self, cpu: &mut Cpu<'_>, index: u32, value: u64) -> MsrResult<()> {
        // SIMP and SIEFP share their layout: enable bit 0, RsvdP 11:1, GPN 63:12
        // (TLFS 11.8.3, 11.8.4).
        let old = if index == HV_X64_MSR_SIMP {
            self.vp_mut().synic.simp.into_bits()
        } else {
            self.vp_mut().synic.siefp.into_bits()
        };
        let new = preserve(old, value, HvSynicSimp::RESERVED_MASK);
        let (old_enabled, new_enabled) = (old & 1 != 0, new & 1 != 0);
        if new_enabled && (new & GPFN_MASK) + HV_PAGE_SIZE as u64 > self.ram_bytes {
            return Err(MsrFault::Gp);
        }
        if old_enabled {
            self.unmap_overlay(cpu, old & GPFN_MASK);
        }
        if new_enabled {
            // The page starts zeroed (as KVM clears it on enable).
            self.map_overlay(cpu, new & GPFN_MASK, &[0u8; HV_PAGE_SIZE]);
        }
        if index == HV_X64_MSR_SIMP {
            self.vp_mut().synic.simp = HvSynicSimp::from_bits(new);
        } else {
            self.vp_mut().synic.siefp = HvSynicSiefp::from_bits(new);
        }
        Ok(())
    }

    /// Covers the RAM page at `gpa` with `content`, keeping the RAM contents to restore
    /// when the overlay goes away (TLFS 5.2.1).
    pub(crate) fn map_overlay(&mut self, mem: &mut dyn GuestMemory, gpa: u64, content: &[u8]) {
        let mut saved = vec![0u8; HV_PAGE_SIZE];
        if mem.read_phys(gpa, &mut saved) {
            self.part.overlays.entry(gpa).or_insert(saved);
        }
        mem.write_phys(gpa, content);
        mem.flush_phys(gpa, HV_PAGE_SIZE as u64);
    }

    pub(crate) fn unmap_overlay(&mut self, mem: &mut dyn GuestMemory, gpa: u64) {
        if let Some(saved) = self.part.overlays.remove(&gpa) {
            mem.write_phys(gpa, &saved);
            mem.flush_phys(gpa, HV_PAGE_SIZE as u64);
        }
    }
}

/// The input and output sizes of a call the model serves, from the call's wire types.
pub(crate) struct CallLayout {
    /// Fixed input header bytes.
    pub(crate) input: usize,
    /// Input bytes per rep element.
    pub(crate) rep_input: usize,
    /// Output bytes (simple call) or output bytes per rep element.
    pub(crate) output: usize,
}

/// The calls the model serves and their layouts (each call's TLFS section); every other
/// code is answered with `HV_STATUS_INVALID_HYPERCALL_CODE`.
/// What the control word says a call the model serves moves: its metadata, its layout
/// and the input and output sizes (fixed part, variable header, rep lists).
pub(crate) struct CallSize {
    pub(crate) info: HvCallInfo,
    pub(crate) layout: CallLayout,
    pub(crate) in_size: usize,
    pub(crate) out_size: usize,
}

/// Checks `control` as both front ends do before touching input (TLFS 3.7, 3.7.1: RsvdZ
/// bits, known code, rep count and start, variable header; no nested calls; a fast call
/// only where a fast form exists) and sizes the call; `Err` is the status to return.
pub(crate) fn call_size(control: HvHypercallInput) -> Result<CallSize, HvStatus> {
    let info = control.validate().map_err(HvStatus::from)?;
    // The nested flag is for calls to the L0 hypervisor from a nested one; the model runs no
    // nested hypervisor. The TLFS names no status for a fast call to a call without a fast
    // form; invalid input is what the hypervisor returns.
    if control.nested() || (control.fast() && !info.fast) {
        return Err(HvStatus::INVALID_HYPERCALL_INPUT);
    }
    let layout = layout(control.call_code()).ok_or(HvStatus::INVALID_HYPERCALL_CODE)?;
    let reps = if info.is_rep() {
        usize::from(control.rep_count())
    } else {
        0
    };
    // TLFS 3.7.1: the variable header follows the fixed one, the rep list both.
    let variable = 8 * usize::from(control.variable_header_size());
    let in_size = layout.input + variable + reps * layout.rep_input;
    let out_size = if info.is_rep() {
        reps * layout.output
    } else {
        layout.output
    };
    Ok(CallSize {
        info,
        layout,
        in_size,
        out_size,
    })
}

pub(crate) fn layout(code: HvCallCode) -> Option<CallLayout> {
    let simple = |input, output| CallLayout {
        input,
        rep_input: 0,
        output,
    };
    Some(match code {
        // TLFS 9.4.2, 9.4.3: the Ex form's bank masks are the variable header.
        HvCallCode::HvCallFlushVirtualAddressSpace => {
            simple(size_of::<HvFlushVirtualAddressSpaceInput>(), 0)
        }
        HvCallCode::HvCallFlushVirtualAddressSpaceEx => {
            simple(size_of::<HvFlushVirtualAddressSpaceExInput>(), 0)
        }
        // TLFS 9.4.4, 9.4.5: one 8-byte GVA range per rep.
        HvCallCode::HvCallFlushVirtualAddressList => CallLayout {
            input: size_of::<HvFlushVirtualAddressSpaceInput>(),
            rep_input: 8,
            output: 0,
        },
        HvCallCode::HvCallFlushVirtualAddressListEx => CallLayout {
            input: size_of::<HvFlushVirtualAddressSpaceExInput>(),
            rep_input: 8,
            output: 0,
        },
        // TLFS 10.5.2, 10.5.3.
        HvCallCode::HvCallSendSyntheticClusterIpi => {
            simple(size_of::<HvSendSyntheticClusterIpiInput>(), 0)
        }
        HvCallCode::HvCallSendSyntheticClusterIpiEx => {
            simple(size_of::<HvSendSyntheticClusterIpiExInput>(), 0)
        }
        // TLFS 7.10.3.
        HvCallCode::HvCallStartVirtualProcessor => {
            simple(size_of::<HvStartVirtualProcessorInput>(), 0)
        }
        // TLFS 15.15.2: one GPA page number per rep.
        HvCallCode::HvCallModifyVtlProtectionMask => CallLayout {
            input: size_of::<HvModifyVtlProtectionMaskInput>(),
            rep_input: 8,
            output: 0,
        },
        // TLFS 15.15.3, 15.15.4.
        HvCallCode::HvCallEnablePartitionVtl => simple(size_of::<HvEnablePartitionVtlInput>(), 0),
        HvCallCode::HvCallEnableVpVtl => simple(size_of::<HvEnableVpVtlInput>(), 0),
        // TLFS 7.10.4.
        HvCallCode::HvCallGetVpIndexFromApicId => CallLayout {
            input: size_of::<HvGetVpIndexFromApicIdInputHeader>(),
            rep_input: HV_GET_VP_INDEX_FROM_APIC_ID_ELEMENT_SIZE,
            output: HV_GET_VP_INDEX_FROM_APIC_ID_ELEMENT_SIZE,
        },
        // TLFS 14.5.1.
        HvCallCode::HvCallNotifyLongSpinWait => simple(size_of::<HvNotifyLongSpinWaitInput>(), 0),
        // TLFS 11.10.1.
        HvCallCode::HvCallPostMessage => simple(size_of::<HvPostMessageInput>(), 0),
        // TLFS 11.10.2.
        HvCallCode::HvCallSignalEvent => simple(size_of::<HvSignalEventInput>(), 0),
        // TLFS 3.14.1.
        HvCallCode::HvExtCallQueryCapabilities => {
            simple(0, size_of::<HvOutputExtCallQueryCapabilities>())
        }
        // TLFS 7.10.2.
        HvCallCode::HvCallGetVpRegisters => CallLayout {
            input: size_of::<HvVpRegistersInputHeader>(),
            rep_input: HV_GET_VP_REGISTERS_INPUT_ELEMENT_SIZE,
            output: HV_GET_VP_REGISTERS_OUTPUT_ELEMENT_SIZE,
        },
        // TLFS 7.10.1.
        HvCallCode::HvCallSetVpRegisters => CallLayout {
            input: size_of::<HvVpRegistersInputHeader>(),
            rep_input: size_of::<HvSetVpRegistersElement>(),
            output: 0,
        },
        _ => return None,
    })
}

/// The partition privilege a call needs.
///
/// Appendix A names the privilege of most calls ([`HvCallInfo::privilege`]); three of its
/// entries are recommendations (TLFS 2.4.5), which the hypervisor does not enforce.
/// Appendix A leaves five gates out that TLFS 4.2.2, 3.14, 7.10.3, 7.10.4 and 15.3.1 give:
/// `AccessVpRegisters` for `HvCallGetVpRegisters`/`HvCallSetVpRegisters`,
/// `EnableExtendedHypercalls` for every extended call, `StartVirtualProcessor` for
/// `HvCallStartVirtualProcessor`, `AccessVpIndex` for `HvCallGetVpIndexFromApicId` and
/// `AccessVsm` for the VSM calls.
pub(crate) fn call_privilege(info: &HvCallInfo) -> HvPartitionPrivilegeMask {
    let none = HvPartitionPrivilegeMask::new();
    match info.code {
        HvCallCode::HvCallGetVpRegisters | HvCallCode::HvCallSetVpRegisters => {
            return none.with_access_vp_registers(true);
        }
        HvCallCode::HvCallStartVirtualProcessor => {
            return none.with_start_virtual_processor(true);
        }
        HvCallCode::HvCallGetVpIndexFromApicId => return none.with_access_vp_index(true),
        // TLFS 15.3.1: only a partition with AccessVsm may use VSM. (The status tables of
        // 15.15.2–15.15.4 name CpuManagement, the host's privilege for enabling VTLs of a
        // child partition; a partition enabling its own VTLs needs AccessVsm.)
        HvCallCode::HvCallModifyVtlProtectionMask
        | HvCallCode::HvCallEnablePartitionVtl
        | HvCallCode::HvCallEnableVpVtl => return none.with_access_vsm(true),
        _ => {}
    }
    if info.code.is_extended() {
        return none.with_enable_extended_hypercalls(true);
    }
    match info.privilege {
        None
        | Some(
            HvCallPrivilege::UseHypercallForAddressSpaceSwitch
            | HvCallPrivilege::UseHypercallForLocalOrRemoteFlush
            | HvCallPrivilege::UseHypercallForLongSpinWait,
        ) => none,
        Some(HvCallPrivilege::CpuManagement) => none.with_cpu_management(true),
        Some(HvCallPrivilege::CreatePartitions) => none.with_create_partitions(true),
        Some(HvCallPrivilege::AccessPartitionId) => none.with_access_partition_id(true),
        Some(HvCallPrivilege::AccessMemoryPool) => none.with_access_memory_pool(true),
        Some(HvCallPrivilege::CreatePort) => none.with_create_port(true),
        Some(HvCallPrivilege::ConnectPort) => none.with_connect_port(true),
        Some(HvCallPrivilege::PostMessages) => none.with_post_messages(true),
        Some(HvCallPrivilege::SignalEvents) => none.with_signal_events(true),
        Some(HvCallPrivilege::Debugging) => none.with_debugging(true),
        Some(HvCallPrivilege::AccessStats) => none.with_access_stats(true),
        Some(HvCallPrivilege::ConfigureProfiler) => none.with_configure_profiler(true),
    }
}

/// How a hypercall exit ends.
pub(crate) enum HcEnd {
    /// Return with this status and rep count; RIP advances.
    Done(HvStatus, u16),
    /// Return for continuation after this many reps; RIP stays on the VMCALL.
    Continue(u16),
    /// Inject #UD.
    Ud,
    /// The VP switched VTLs (TLFS 15.6, 15.7): no status is returned, the other VTL's
    /// registers are loaded.
    Switched,
}

/// Where the input and output blocks live.
enum Io {
    Memory {
        input: u64,
        output: u64,
    },
    /// RDX, R8, XMM0–XMM5 as one 112-byte block.
    Fast([u8; HV_HYPERCALL_XMM_BLOCK_BYTES]),
}

const fn round16(n: usize) -> usize {
    n.next_multiple_of(16)
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
        } else if vsm::is_vtl_switch(control) && self.vsm_offered() {
            self.vtl_switch_call(cpu, control, rip)
        } else {
            self.dispatch(cpu, control)
        };
        match end {
            HcEnd::Ud => {
                self.stats.hypercall_ud += 1;
                self.inject_exception(cpu, 6, None);
            }
            HcEnd::Switched => bump(&mut self.stats.hypercall, (code.get(), 0)),
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
        let CallSize {
            info,
            layout,
            in_size,
            out_size,
        } = match call_size(control) {
            Ok(size) => size,
            Err(status) => return Done(status, 0),
        };
        let features = self.profile.features();
        let io = if control.fast() {
            // TLFS 3.7.2.1, 3.8.1.1: the XMM forms without the feature are #UD.
            if in_size > HV_HYPERCALL_FAST_INPUT_BYTES {
                if !features.xmm_registers_for_fast_hypercall_available() {
                    return HcEnd::Ud;
                }
                if !info.xmm_fast_input {
                    return bad_input;
                }
            }
            if out_size > 0 && !features.fast_hypercall_output_available() {
                return HcEnd::Ud;
            }
            if round16(in_size) + out_size > HV_HYPERCALL_XMM_BLOCK_BYTES {
                return bad_input;
            }
            let mut block = [0u8; HV_HYPERCALL_XMM_BLOCK_BYTES];
            block[..8].copy_from_slice(&cpu.read(R::RDX).unwrap_or(0).to_le_bytes());
            block[8..16].copy_from_slice(&cpu.read(R::R8).unwrap_or(0).to_le_bytes());
            for (i, reg) in XMM.iter().enumerate() {
                let value = cpu.read_u128(*reg).unwrap_or(0);
                block[16 + 16 * i..32 + 16 * i].copy_from_slice(&value.to_le_bytes());
            }
            if in_size > HV_HYPERCALL_FAST_INPUT_BYTES {
                self.stats.hypercall_xmm += 1;
            } else {
                self.stats.hypercall_fast += 1;
            }
            Io::Fast(block)
        } else {
            let input = cpu.read(R::RDX).unwrap_or(0);
            let output = cpu.read(R::R8).unwrap_or(0);
            // TLFS 3.6: 8-byte aligned, not crossing a page.
            for (gpa, size) in [(input, in_size), (output, out_size)] {
                if size == 0 {
                    continue;
                }
                if gpa % HV_HYPERCALL_PARAMETER_ALIGNMENT as u64 != 0
                    || (gpa % HV_PAGE_SIZE as u64) as usize + size > HV_PAGE_SIZE
                {
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
        // A call the profile's hypervisor does not implement (after the calling-convention
        // checks, which KVM makes first too).
        if !self.profile.implements(control.call_code()) {
            return Done(HvStatus::INVALID_HYPERCALL_CODE, 0);
        }
        if !self.profile.has_privilege(call_privilege(&info))
            || !self.profile.allows_by_cpuid(control.call_code())
        {
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
        let end = self.call(cpu, control, &input, &mut output);
        if self.part.guest_os_id == 0 {
            self.set_guest_os_id(cpu, 0);
        }
        // Write back output: memory for the reps done, or the fast-output registers.
        let done = match end {
            Done(_, reps) | HcEnd::Continue(reps) => usize::from(reps),
            HcEnd::Ud | HcEnd::Switched => 0,
        };
        let start = usize::from(control.rep_start_index());
        let (from, upto) = if info.is_rep() {
            (start * layout.output, done * layout.output)
        } else {
            (0, out_size)
        };
        match io {
            Io::Memory { output: gpa, .. } if from < upto => {
                let _ = cpu.write_mem(gpa + from as u64, &output[from..upto]);
            }
            Io::Fast(mut block) if out_size > 0 => {
                let base = round16(in_size);
                if from < upto {
                    block[base + from..base + upto].copy_from_slice(&output[from..upto]);
                }
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

    fn call(
        &mut self,
        cpu: &mut Cpu<'_>,
        control: HvHypercallInput,
        input: &[u8],
        output: &mut [u8],
    ) -> HcEnd {
        use HcEnd::Done;
        let u32_at = |off: usize| {
            u32::from_le_bytes([input[off], input[off + 1], input[off + 2], input[off + 3]])
        };
        let u64_at = |off: usize| u64::from(u32_at(off)) | u64::from(u32_at(off + 4)) << 32;
        match control.call_code() {
            HvCallCode::HvCallFlushVirtualAddressSpace
            | HvCallCode::HvCallFlushVirtualAddressSpaceEx
            | HvCallCode::HvCallFlushVirtualAddressList
            | HvCallCode::HvCallFlushVirtualAddressListEx => {
                self.flush_virtual_address(cpu, control, input)
            }
            HvCallCode::HvCallSendSyntheticClusterIpi
            | HvCallCode::HvCallSendSyntheticClusterIpiEx => {
                self.send_synthetic_ipi(control, input)
            }
            HvCallCode::HvCallStartVirtualProcessor => self.start_virtual_processor(cpu, input),
            HvCallCode::HvCallEnablePartitionVtl => self.enable_partition_vtl(input),
            HvCallCode::HvCallEnableVpVtl => self.enable_vp_vtl(input),
            HvCallCode::HvCallModifyVtlProtectionMask => {
                self.modify_vtl_protection_mask(cpu, control, input)
            }
            HvCallCode::HvCallGetVpIndexFromApicId => {
                self.get_vp_index_from_apic_id(control, input, output)
            }
            HvCallCode::HvCallNotifyLongSpinWait => {
                self.stats.long_spin_waits += 1;
                Done(HvStatus::SUCCESS, 0)
            }
            HvCallCode::HvCallPostMessage => Done(self.post_message_or_vmbus(cpu, input), 0),
            HvCallCode::HvCallSignalEvent => Done(self.signal_event_or_vmbus(cpu, input), 0),
            HvCallCode::HvExtCallQueryCapabilities => {
                // No extended hypercall besides this query is implemented.
                output.copy_from_slice(&0u64.to_le_bytes());
                Done(HvStatus::SUCCESS, 0)
            }
            code @ (HvCallCode::HvCallGetVpRegisters | HvCallCode::HvCallSetVpRegisters) => {
                let get = code == HvCallCode::HvCallGetVpRegisters;
                let Ok((header, _)) = HvVpRegistersInputHeader::read_from_prefix(input) else {
                    return Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
                };
                if header.partition_id != HV_PARTITION_ID_SELF {
                    return Done(HvStatus::INVALID_PARTITION_ID, 0);
                }
                let vp = match header.vp_index {
                    HV_VP_INDEX_SELF => self.vp().index,
                    vp => vp,
                };
                if vp as usize >= self.vps.len() {
                    return Done(HvStatus::INVALID_VP_INDEX, 0);
                }
                let vtl = match self.register_vtl(vp as usize, header.input_vtl) {
                    Ok(vtl) => vtl,
                    Err(status) => return Done(status, 0),
                };
                let header_len = size_of::<HvVpRegistersInputHeader>();
                let count = control.rep_count();
                let start = control.rep_start_index();
                let end = count.min(start.saturating_add(self.reps_per_call));
                for i in start..end {
                    let i_us = usize::from(i);
                    let status = if get {
                        let name = HvRegisterName::new(u32_at(header_len + 4 * i_us));
                        let value = match self.vsm_get_register(cpu, vp as usize, vtl, name) {
                            Some(value) => value,
                            None => self
                                .get_register(vp as usize, name)
                                .ok_or(HvStatus::INVALID_PARAMETER),
                        };
                        match value {
                            Ok(value) => {
                                output[16 * i_us..16 * i_us + 8]
                                    .copy_from_slice(&value.to_le_bytes());
                                HvStatus::SUCCESS
                            }
                            Err(status) => status,
                        }
                    } else {
                        let at = header_len + size_of::<HvSetVpRegistersElement>() * i_us;
                        let name = HvRegisterName::new(u32_at(at));
                        let value = u64_at(at + 16);
                        match self.vsm_set_register(cpu, vp as usize, vtl, name, value) {
                            Some(status) => status,
                            None => self.set_register(name, value),
                        }
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
        let privileges = self.profile.privileges();
        match name {
            HvRegisterName::HvRegisterGuestOsId if privileges.access_hypercall_msrs() => {
                Some(self.part.guest_os_id)
            }
            HvRegisterName::HvRegisterVpIndex if privileges.access_vp_index() => {
                Some(u64::from(self.vps[vp].index))
            }
            HvRegisterName::HvRegisterTimeRefCount
                if privileges.access_partition_reference_counter() =>
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
                if self.profile.privileges().access_hypercall_msrs() =>
            {
                self.part.guest_os_id = value;
                HvStatus::SUCCESS
            }
            _ => HvStatus::INVALID_PARAMETER,
        }
    }
}
