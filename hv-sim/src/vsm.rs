//! Virtual Secure Mode (TLFS 15): VTL 0 and VTL 1 on every VP, VTL calls and returns, the
//! VSM registers, VTL protections of guest pages and the secure intercept that a violation
//! becomes.
//!
//! Only the `hyperv` profile offers VSM (it grants `AccessVsm`; TLFS 15.3.1). The model
//! implements two VTLs (`MaximumVtl` = 1, as TLFS 15.2 says Hyper-V does) and no MBEC.
//!
//! # State isolation (TLFS 15.11)
//!
//! The running VP's CPU state is its active VTL's. The other VTL's CPU state waits in a
//! Unicorn context, like a VP that is not running (`smp`). A VTL switch saves the whole
//! CPU into that context and loads the other VTL's, then copies the shared registers of
//! TLFS 15.11.2.2 across: RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8–R15, CR2, DR0–DR3, the x87
//! registers, XMM0–XMM15 and MXCSR. Everything else in the context stays private: RIP,
//! RSP, RFLAGS, CR0, CR3, CR4, DR6 (`Dr6Shared` is 0 in `HvRegisterVsmCapabilities`),
//! DR7, GDTR, IDTR, the segment registers with their hidden parts, TR, LDTR and the MSRs
//! Unicorn keeps (EFER, PAT, STAR, LSTAR, CSTAR, SFMASK, KERNEL_GSBASE, FS and GS base,
//! SYSENTER, TSC_AUX) (15.11.1.1, 15.11.1.2).
//!
//! The synthetic state is private too: each VTL of a VP has its own VP assist page, SynIC
//! (SCONTROL, SIMP, SIEFP, SIRBP, SINTx, EOM, message queues) and synthetic timers (a whole
//! [`crate::hv::Vp`] per VTL, swapped on a switch), and each VTL of the partition its own
//! guest OS id and hypercall page (swapped when the running VP's VTL differs from the one
//! loaded). Not modelled as private: the local APIC (one per VP for both VTLs, so an
//! interrupt waits for the VTL that can take it, and VTL 1 normally runs with interrupts
//! masked), the reference TSC page (one per partition, kept up to date by the model), the
//! TSC (the partition's one virtual clock) and XCR0 (Unicorn keeps no AVX state). A VTL's
//! timers and queued messages make progress only while it is active.
//!
//! # VTL call and return (TLFS 15.6–15.8)
//!
//! With `AccessVsm`, the hypercall page holds the call sequence at
//! [`HYPERCALL_PAGE_VTL_CALL`] and the return sequence at [`HYPERCALL_PAGE_VTL_RETURN`]
//! (`HvRegisterVsmCodePageOffsets`): `mov rax, rcx; mov ecx, code; vmcall; ret`, so the
//! control input the caller passes in RCX reaches the model in RAX and the VMCALL names
//! `HvCallVtlCall` (0x11) or `HvCallVtlReturn` (0x12). The VP leaves the VTL after the
//! VMCALL, so it resumes there, at the `ret`, when it next enters that VTL. #UD (15.6.1.1,
//! 15.7.2): CPL above 0, real mode, a control with reserved bits, a VTL call without
//! VTL 1 enabled on the VP, a VTL return from VTL 0. The first entry to VTL 1 starts from
//! the initial context `HvCallEnableVpVtl` gave. Every entry to VTL 1 writes the entry
//! reason into VTL 1's VP assist page, if enabled (15.6.1.2); a normal (not fast) return
//! loads VTL 0's RAX and RCX from VTL 1's VTL control area (15.7.1.1).
//!
//! # Protections and secure intercepts (TLFS 15.9, 15.13)
//!
//! `HvCallModifyVtlProtectionMask` from VTL 1 sets VTL 0's access to RAM pages. While a VP
//! runs VTL 0, the model gives those pages the Unicorn permissions of their mask (read,
//! write, kernel execute; user execute needs MBEC, which is not offered); while it runs
//! VTL 1 every page is fully accessible. An access the mask forbids does not happen: the
//! instruction is stopped before it completes (the CPU state is put back as it was before
//! it), and the violation becomes a secure memory intercept for VTL 1, which set the
//! protection (15.9.2): an `HvMessageTypeGpaIntercept` message with an
//! `HV_X64_MEMORY_INTERCEPT_MESSAGE` payload is queued on SINT0 of VTL 1's SynIC (TLFS
//! 11.4.2 puts intercepts on SINT0; delivered like any message, with its interrupt if the
//! SINT is unmasked; lost and counted when VTL 1's SynIC or SIMP is disabled), and the VP
//! enters VTL 1 with entry reason `HvVtlEntryIntercept` (15.13: "the intercept is queued to
//! the higher VTL, and that VTL is made runnable on the VP"). The message carries the
//! instruction's RIP, length and bytes, the access type and the GPA; the GVA and the hidden
//! part of CS are not filled in. VTL 0 resumes at the intercepted instruction unless VTL 1
//! moves its RIP with `HvCallSetVpRegisters` (15.13.3).
//!
//! Unicorn skips a forbidden write but finishes the translation block; to stop the
//! instruction stream there, the first protection installs a hook before every instruction
//! (slower from then on), which delivers the intercept at the next instruction boundary (or
//! when the block ends) after putting back the CPU state saved at the violation.
//!
//! # Not modelled
//!
//! VTLs above 1; MBEC; `DefaultVtlProtectionMask` other than full access, ZeroMemOnReset
//! and the intercept configuration bits of `HvRegisterVsmPartitionConfig` (writes that set
//! them fail with `HV_STATUS_INVALID_PARAMETER`); TLB locking (`TlbLocked`); VINA
//! (`HvRegisterVsmVina`); secure interrupts (15.12.2) and register intercepts (15.13.4);
//! starting a VP in VTL 1 (`HvCallStartVirtualProcessor` with target VTL 1 fails with
//! `HV_STATUS_INVALID_VTL_STATE`); disabling a VTL; 32-bit VTL 1.

use std::collections::BTreeMap;

use hv_defs::hypercall::HvHypercallInput;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvStatus;
use hv_defs::synic::{
    HV_SYNIC_INTERCEPTION_SINT_INDEX, HvCacheType, HvInterceptAccessType, HvMessage, HvMessageType,
    HvX64InterceptInstructionInfo, HvX64InterceptMessageHeader, HvX64MemoryAccessInfo,
    HvX64MemoryInterceptMessage, HvX64VpExecutionState,
};
use hv_defs::vp::{HvInitialVpContext, HvInputVtl, HvVpAssistPage};
use hv_defs::vsm::{
    HvEnablePartitionVtlInput, HvEnableVpVtlInput, HvMapGpaFlags, HvModifyVtlProtectionMaskInput,
    HvRegisterVsmCapabilities, HvRegisterVsmCodePageOffsets, HvRegisterVsmPartitionConfig,
    HvRegisterVsmPartitionStatus, HvRegisterVsmVpSecureVtlConfig, HvRegisterVsmVpStatus,
    HvVpVtlControl, HvVtlEntryReason, HvVtlReturnControl,
};
use hv_defs::{HV_PAGE_SIZE, HV_PARTITION_ID_SELF, HvVtl};
use iced_x86::{Decoder, DecoderOptions};
use unicorn_engine::unicorn_const::RegisterX86 as R;
use zerocopy::{FromBytes, IntoBytes};

use crate::error::SimError;
use crate::hv::{HYPERCALL_PAGE_VTL_CALL, HYPERCALL_PAGE_VTL_RETURN, HcEnd, Partition, Vp};
use crate::machine::{Stop, Vm};
use crate::smp::{load_long_mode, representable};
use crate::synic::{Env, Source};
use crate::uc::{Context, Cpu, UcError, Unmapped};

/// The highest VTL the model implements (`MaximumVtl` of `HvRegisterVsmPartitionStatus`).
pub(crate) const MAX_VTL: HvVtl = 1;

/// IA32_EFER and its LMA bit.
const IA32_EFER: u32 = 0xC000_0080;
const EFER_LMA: u64 = 1 << 10;

/// The shared general purpose registers (TLFS 15.11.2.2): all but RSP.
const SHARED_GPRS: [R; 15] = [
    R::RAX,
    R::RBX,
    R::RCX,
    R::RDX,
    R::RSI,
    R::RDI,
    R::RBP,
    R::R8,
    R::R9,
    R::R10,
    R::R11,
    R::R12,
    R::R13,
    R::R14,
    R::R15,
];

/// The other shared registers of TLFS 15.11.2.2 Unicorn has, read as 64 bits.
const SHARED_OTHER: [R; 9] = [
    R::CR2,
    R::DR0,
    R::DR1,
    R::DR2,
    R::DR3,
    R::MXCSR,
    R::FPCW,
    R::FPSW,
    R::FPTAG,
];

/// The shared wide registers: x87 and XMM.
const SHARED_WIDE: [R; 24] = [
    R::FP0,
    R::FP1,
    R::FP2,
    R::FP3,
    R::FP4,
    R::FP5,
    R::FP6,
    R::FP7,
    R::XMM0,
    R::XMM1,
    R::XMM2,
    R::XMM3,
    R::XMM4,
    R::XMM5,
    R::XMM6,
    R::XMM7,
    R::XMM8,
    R::XMM9,
    R::XMM10,
    R::XMM11,
    R::XMM12,
    R::XMM13,
    R::XMM14,
    R::XMM15,
];

/// The shared registers' values, carried across a VTL switch.
struct Shared {
    narrow: Vec<u64>,
    wide: Vec<u128>,
}

impl Shared {
    fn read(cpu: &Cpu<'_>) -> Result<Self, UcError> {
        let narrow = SHARED_GPRS
            .iter()
            .chain(&SHARED_OTHER)
            .map(|&r| cpu.read(r))
            .collect::<Result<_, _>>()?;
        let wide = SHARED_WIDE
            .iter()
            .map(|&r| cpu.read_u128(r))
            .collect::<Result<_, _>>()?;
        Ok(Self { narrow, wide })
    }

    fn write(&self, cpu: &mut Cpu<'_>) -> Result<(), UcError> {
        for (&r, &v) in SHARED_GPRS.iter().chain(&SHARED_OTHER).zip(&self.narrow) {
            cpu.write(r, v)?;
        }
        for (&r, &v) in SHARED_WIDE.iter().zip(&self.wide) {
            cpu.write_u128(r, v)?;
        }
        Ok(())
    }
}

/// The VSM state of one VP.
#[derive(Debug, Default)]
pub(crate) struct VpVsm {
    /// The active VTL.
    active: HvVtl,
    /// VTL 1 is enabled on the VP.
    vtl1: bool,
    /// The context VTL 1 starts from on its first entry (`HvCallEnableVpVtl`).
    initial: Option<HvInitialVpContext>,
    /// The CPU state of the VTL that is not active (after VTL 1's first entry).
    inactive_cpu: Option<Context>,
    /// The synthetic per-VP state (assist page, SynIC, timers) of the inactive VTL.
    inactive_vp: Option<Vp>,
    /// VTL 1's `HvRegisterVsmVpSecureConfigVtl0` (TLFS 15.5.2).
    secure_config_vtl0: HvRegisterVsmVpSecureVtlConfig,
}

/// A protection violation waiting for the next instruction boundary.
#[derive(Debug)]
struct Violation {
    gpa: u64,
    access: HvInterceptAccessType,
    /// The CPU state before the violating instruction.
    before: Context,
}

/// The partition's VSM state.
#[derive(Debug, Default)]
pub(crate) struct VsmState {
    /// VTL 1 is enabled for the partition (TLFS 15.4.1).
    vtl1: bool,
    /// VTL 1's `HvRegisterVsmPartitionConfig` (TLFS 15.5.1).
    config: HvRegisterVsmPartitionConfig,
    pub(crate) vps: Vec<VpVsm>,
    /// VTL 0's access to each protected RAM page, by page number (pages at full access are
    /// not listed).
    protections: BTreeMap<u64, HvMapGpaFlags>,
    /// Whether the protections are applied to the emulator's memory (VTL 0 runs).
    applied: bool,
    /// Whether the per-instruction hook is installed.
    stepping: bool,
    /// The partition-wide private registers of the VTL whose copy is not in
    /// [`Vm::part`](crate::machine::Vm).
    inactive_part: Partition,
    /// The VTL whose partition-wide private registers are in [`Vm::part`].
    loaded_vtl: HvVtl,
    pending: Option<Violation>,
}

impl VsmState {
    pub(crate) fn new(vps: usize) -> Self {
        Self {
            vps: (0..vps).map(|_| VpVsm::default()).collect(),
            ..Self::default()
        }
    }

    /// The active VTL of VP `vp`.
    pub(crate) fn active_vtl(&self, vp: usize) -> HvVtl {
        self.vps.get(vp).map_or(0, |v| v.active)
    }

    /// Whether a lower VTL may start a VP (`DenyLowerVtlStartup`, TLFS 15.5.1.4).
    pub(crate) fn lower_vtl_startup_denied(&self) -> bool {
        self.vtl1 && self.config.deny_lower_vtl_startup()
    }
}

/// The VSM config bits the model implements (the rest fail with INVALID_PARAMETER).
const CONFIG_MODELLED: u64 = HvRegisterVsmPartitionConfig::new()
    .with_enable_vtl_protection(true)
    .with_default_vtl_protection_mask(0xF)
    .with_deny_lower_vtl_startup(true)
    .into_bits();

/// Whether `control` is the VSM code the model serves outside the common dispatch.
pub(crate) fn is_vtl_switch(control: HvHypercallInput) -> bool {
    matches!(control.call_code().get(), 0x11 | 0x12)
}

/// The hypercall page contents VSM adds (TLFS 15.8): `(offset, code)`.
pub(crate) fn vtl_code() -> [(u64, [u8; 12]); 2] {
    let seq = |code: u8| {
        [
            0x48, 0x89, 0xC8, // mov rax, rcx
            0xB9, code, 0, 0, 0, // mov ecx, code
            0x0F, 0x01, 0xC1, // vmcall
            0xC3, // ret
        ]
    };
    [
        (HYPERCALL_PAGE_VTL_CALL, seq(0x11)),
        (HYPERCALL_PAGE_VTL_RETURN, seq(0x12)),
    ]
}

fn emulator(error: UcError) -> SimError {
    SimError::Emulator { error, rip: 0 }
}

impl Vm {
    /// Whether the partition may use VSM (TLFS 15.3.1: AccessVsm, AccessVpRegisters and
    /// AccessSynicRegs).
    pub(crate) fn vsm_offered(&self) -> bool {
        let p = self.profile.privileges();
        p.access_vsm() && p.access_vp_registers() && p.access_synic_regs()
    }

    /// `HvCallVtlCall` or `HvCallVtlReturn` from the VMCALL at `rip` (TLFS 15.6.1, 15.7.1).
    pub(crate) fn vtl_switch_call(
        &mut self,
        cpu: &mut Cpu<'_>,
        control: HvHypercallInput,
        rip: u64,
    ) -> HcEnd {
        let cur = self.cur();
        let input = cpu.read(R::RAX).unwrap_or(u64::MAX);
        let cr0 = cpu.read(R::CR0).unwrap_or(0);
        let call = control.call_code().get() == 0x11;
        let active = self.vsm.active_vtl(cur);
        let ok = cr0 & 1 != 0
            && if call {
                input == 0 && active == 0 && self.vsm.vps[cur].vtl1
            } else {
                input & HvVtlReturnControl::RESERVED_MASK == 0 && active > 0
            };
        if !ok {
            return HcEnd::Ud;
        }
        let _ = cpu.write(R::RIP, rip + 3);
        let result = if call {
            self.stats.vtl_calls += 1;
            self.enter_vtl(cpu, 1, HvVtlEntryReason::HvVtlEntryVtlCall)
        } else {
            self.stats.vtl_returns += 1;
            let fast = HvVtlReturnControl::from_bits(input).fast_return();
            // Read VTL 1's control area before its assist page is swapped out.
            let regs = (!fast).then(|| self.vtl_control(cpu)).flatten();
            let switched = self.switch_vtl(cpu, 0);
            if let (Ok(()), Some(control)) = (&switched, regs) {
                let _ = cpu.write(R::RAX, control.vtl_return_x64_rax);
                let _ = cpu.write(R::RCX, control.vtl_return_x64_rcx);
            }
            switched
        };
        match result {
            Ok(()) => HcEnd::Switched,
            Err(error) => {
                self.fail(cpu, error);
                HcEnd::Switched
            }
        }
    }

    /// The VTL control area of the active VTL's VP assist page, if enabled.
    fn vtl_control(&self, cpu: &Cpu<'_>) -> Option<HvVpVtlControl> {
        let assist = self.vp().vp_assist;
        if !assist.enable() {
            return None;
        }
        let gpa = assist.gpa_page_number() << 12;
        let mut bytes = [0u8; size_of::<HvVpVtlControl>()];
        cpu.read_mem(
            gpa + core::mem::offset_of!(HvVpAssistPage, vtl_control) as u64,
            &mut bytes,
        )
        .ok()?;
        HvVpVtlControl::read_from_bytes(&bytes).ok()
    }

    /// Switches the running VP to VTL `to` and writes `reason` into its VP assist page.
    fn enter_vtl(
        &mut self,
        cpu: &mut Cpu<'_>,
        to: HvVtl,
        reason: HvVtlEntryReason,
    ) -> Result<(), SimError> {
        self.switch_vtl(cpu, to)?;
        let assist = self.vp().vp_assist;
        if assist.enable() {
            let gpa = (assist.gpa_page_number() << 12)
                + (core::mem::offset_of!(HvVpAssistPage, vtl_control)
                    + core::mem::offset_of!(HvVpVtlControl, entry_reason)) as u64;
            cpu.write_mem(gpa, reason.get().as_bytes())
                .map_err(emulator)?;
        }
        Ok(())
    }

    /// Saves the running VP's active VTL and loads VTL `to` (see the module docs).
    fn switch_vtl(&mut self, cpu: &mut Cpu<'_>, to: HvVtl) -> Result<(), SimError> {
        let cur = self.cur();
        let shared = Shared::read(cpu).map_err(emulator)?;
        let mut saved = cpu.new_context().map_err(emulator)?;
        cpu.save_context(&mut saved).map_err(emulator)?;
        match self.vsm.vps[cur].inactive_cpu.take() {
            Some(context) => cpu.restore_context(&context).map_err(emulator)?,
            None => {
                let initial = self.vsm.vps[cur].initial.ok_or(SimError::Emulator {
                    error: UcError::ARG,
                    rip: 0,
                })?;
                cpu.restore_context(self.sched.reset_context())
                    .map_err(emulator)?;
                if !load_long_mode(cpu, &initial).map_err(emulator)? {
                    return Err(SimError::Emulator {
                        error: UcError::ARG,
                        rip: initial.rip,
                    });
                }
            }
        }
        shared.write(cpu).map_err(emulator)?;
        // Writing RIP makes Unicorn leave the block and continue at the loaded VTL.
        let rip = cpu.read(R::RIP).map_err(emulator)?;
        cpu.write(R::RIP, rip).map_err(emulator)?;
        cpu.flush_tlb().map_err(emulator)?;
        self.forget_block();
        let vsm = &mut self.vsm.vps[cur];
        vsm.inactive_cpu = Some(saved);
        vsm.active = to;
        let index = self.vps[cur].index;
        let apic = self.vps[cur].apic.clone();
        let mut other = vsm
            .inactive_vp
            .take()
            .unwrap_or_else(|| Vp::new(index, apic));
        std::mem::swap(&mut self.vps[cur], &mut other);
        // The local APIC is not per VTL in the model: it stays with the VP.
        std::mem::swap(&mut self.vps[cur].apic, &mut other.apic);
        self.vsm.vps[cur].inactive_vp = Some(other);
        self.vsm_sync(cpu).map_err(emulator)
    }

    /// Makes the partition-wide private registers and the memory protections match the
    /// running VP's active VTL (after a VTL or VP switch).
    pub(crate) fn vsm_sync(&mut self, cpu: &mut Cpu<'_>) -> Result<(), UcError> {
        let vtl = self.vsm.active_vtl(self.cur());
        if vtl != self.vsm.loaded_vtl {
            self.part.swap_vtl_private(&mut self.vsm.inactive_part);
            self.vsm.loaded_vtl = vtl;
        }
        self.apply_protections(cpu, vtl == 0)
    }

    /// Gives the protected pages their VTL 0 permissions (`enforce`) or full access.
    fn apply_protections(&mut self, cpu: &mut Cpu<'_>, enforce: bool) -> Result<(), UcError> {
        if self.vsm.applied == enforce || self.vsm.protections.is_empty() {
            self.vsm.applied = enforce && !self.vsm.protections.is_empty();
            return Ok(());
        }
        for (&gpn, &flags) in &self.vsm.protections {
            let (r, w, x) = if enforce {
                (
                    flags.readable(),
                    flags.writable(),
                    flags.kernel_executable(),
                )
            } else {
                (true, true, true)
            };
            cpu.protect(gpn << 12, r, w, x)?;
        }
        self.vsm.applied = enforce;
        cpu.flush_tlb()
    }

    /// A VTL 0 access to a protected page (the `on_protected` hook): remembers it and the
    /// CPU state before the instruction; the next instruction boundary delivers it.
    pub(crate) fn vsm_violation(&mut self, cpu: &mut Cpu<'_>, kind: Unmapped, gpa: u64) {
        if self.vsm.pending.is_some() {
            return;
        }
        let access = match kind {
            Unmapped::Read => HvInterceptAccessType::HvInterceptAccessRead,
            Unmapped::Write => HvInterceptAccessType::HvInterceptAccessWrite,
            Unmapped::Fetch => HvInterceptAccessType::HvInterceptAccessExecute,
        };
        let before = cpu
            .new_context()
            .and_then(|mut c| cpu.save_context(&mut c).map(|()| c));
        match before {
            Ok(before) => {
                self.vsm.pending = Some(Violation {
                    gpa,
                    access,
                    before,
                });
            }
            Err(error) => self.fail(cpu, emulator(error)),
        }
    }

    /// Before an instruction (the per-instruction hook): delivers a pending violation as a
    /// secure intercept to VTL 1 (see the module docs) and stops the engine, which resumes
    /// in VTL 1.
    pub(crate) fn vsm_step(&mut self, cpu: &mut Cpu<'_>, address: u64) {
        if self.vsm.pending.is_none() {
            return;
        }
        self.cut_block(cpu, address);
        if let Err(error) = self.vsm_deliver_pending(cpu) {
            self.fail(cpu, error);
            return;
        }
        self.stop = Some(Stop::Rescan);
        let _ = cpu.stop();
    }

    /// Delivers a pending violation, if any (also called when the engine stopped at the
    /// end of the violating block before the next instruction's hook); whether there was
    /// one.
    pub(crate) fn vsm_deliver_pending(&mut self, cpu: &mut Cpu<'_>) -> Result<bool, SimError> {
        let Some(violation) = self.vsm.pending.take() else {
            return Ok(false);
        };
        self.deliver_intercept(cpu, &violation)?;
        Ok(true)
    }

    fn deliver_intercept(
        &mut self,
        cpu: &mut Cpu<'_>,
        violation: &Violation,
    ) -> Result<(), SimError> {
        cpu.restore_context(&violation.before).map_err(emulator)?;
        self.stats.vtl_protection_violations += 1;
        let rip = cpu.read(R::RIP).map_err(emulator)?;
        let mut bytes = [0u8; 16];
        let fetched = crate::x86::read_linear(cpu, rip, &mut bytes).is_ok();
        let length = if fetched {
            let mut decoder = Decoder::with_ip(64, &bytes, rip, DecoderOptions::NONE);
            decoder.decode().len() as u8
        } else {
            0
        };
        let cs = cpu.read(R::CS).map_err(emulator)?;
        let cr0 = cpu.read(R::CR0).map_err(emulator)?;
        let efer = cpu.read_msr(IA32_EFER).map_err(emulator)?;
        let header = HvX64InterceptMessageHeader {
            vp_index: self.vp().index,
            instruction_info: HvX64InterceptInstructionInfo::new()
                .with_instruction_length(length & 0xF),
            intercept_access_type: violation.access,
            execution_state: HvX64VpExecutionState::new()
                .with_cpl((cs & 3) as u8)
                .with_cr0_pe(cr0 & 1 != 0)
                .with_efer_lma(efer & EFER_LMA != 0)
                .with_vtl(0),
            cs_segment: hv_defs::vp::HvX64SegmentRegister {
                selector: cs as u16,
                ..Default::default()
            },
            rip,
            rflags: cpu.read(R::RFLAGS).map_err(emulator)?,
        };
        let message = HvX64MemoryInterceptMessage {
            header,
            cache_type: HvCacheType::HvCacheTypeWriteBack,
            instruction_byte_count: if fetched { 16 } else { 0 },
            memory_access_info: HvX64MemoryAccessInfo::new(),
            guest_physical_address: violation.gpa,
            instruction_bytes: bytes,
            ..Default::default()
        };
        self.enter_vtl(cpu, 1, HvVtlEntryReason::HvVtlEntryIntercept)?;
        // VTL 1's SynIC is loaded now: queue the message on its SINT0 (TLFS 11.4.2).
        let origination = HV_PARTITION_ID_SELF;
        let message = HvMessage::new(
            HvMessageType::HvMessageTypeGpaIntercept,
            origination,
            message.as_bytes(),
        )
        .map_err(|_| SimError::Emulator {
            error: UcError::ARG,
            rip,
        })?;
        let now = self.ref_time();
        let cur = self.cur();
        let vp = &mut self.vps[cur];
        if vp.synic.accepts_messages() {
            let mut env = Env {
                mem: cpu,
                stats: &mut self.stats,
                now,
            };
            let sint = HV_SYNIC_INTERCEPTION_SINT_INDEX as usize;
            vp.synic
                .enqueue(&mut env, &mut vp.apic, sint, Source::Intercept, message);
        } else {
            self.stats.vtl_intercept_messages_lost += 1;
        }
        Ok(())
    }

    /// `HvCallEnablePartitionVtl` (TLFS 15.15.3).
    pub(crate) fn enable_partition_vtl(&mut self, input: &[u8]) -> HcEnd {
        let done = |s| HcEnd::Done(s, 0);
        let Ok(input) = HvEnablePartitionVtlInput::read_from_bytes(input) else {
            return done(HvStatus::INVALID_HYPERCALL_INPUT);
        };
        if input.target_partition_id != HV_PARTITION_ID_SELF {
            return done(HvStatus::INVALID_PARTITION_ID);
        }
        if input.target_vtl == 0
            || input.target_vtl > MAX_VTL
            || input.rsvd0 != 0
            || input.rsvd1 != 0
            // No MBEC or other flag is offered (HvRegisterVsmCapabilities).
            || input.flags.into_bits() != 0
        {
            return done(HvStatus::INVALID_PARAMETER);
        }
        if self.vsm.vtl1 {
            return done(HvStatus::VTL_ALREADY_ENABLED);
        }
        // Restriction 2: VTL 0 is the highest VTL below 1, so it may enable VTL 1.
        self.vsm.vtl1 = true;
        self.vsm.config = HvRegisterVsmPartitionConfig::new();
        done(HvStatus::SUCCESS)
    }

    /// `HvCallEnableVpVtl` (TLFS 15.15.4).
    pub(crate) fn enable_vp_vtl(&mut self, input: &[u8]) -> HcEnd {
        let done = |s| HcEnd::Done(s, 0);
        let Ok(input) = HvEnableVpVtlInput::read_from_bytes(input) else {
            return done(HvStatus::INVALID_HYPERCALL_INPUT);
        };
        if input.target_partition_id != HV_PARTITION_ID_SELF {
            return done(HvStatus::INVALID_PARTITION_ID);
        }
        let vp = input.vp_index as usize;
        if vp >= self.vps.len() {
            return done(HvStatus::INVALID_VP_INDEX);
        }
        if input.target_vtl == 0 || input.target_vtl > MAX_VTL || input.rsvd != [0; 3] {
            return done(HvStatus::INVALID_PARAMETER);
        }
        if !self.vsm.vtl1 {
            return done(HvStatus::INVALID_VTL_STATE);
        }
        if self.vsm.vps[vp].vtl1 {
            return done(HvStatus::VTL_ALREADY_ENABLED);
        }
        // "Once the target VTL is enabled on a VP, all other calls to enable the VTL must
        // come from equal or greater VTLs."
        let caller = self.vsm.active_vtl(self.cur());
        if caller < input.target_vtl && self.vsm.vps.iter().any(|v| v.vtl1) {
            return done(HvStatus::ACCESS_DENIED);
        }
        let context = input.vp_vtl_context;
        if !representable(&context) {
            return done(HvStatus::INVALID_REGISTER_VALUE);
        }
        let state = &mut self.vsm.vps[vp];
        state.vtl1 = true;
        state.initial = Some(context);
        done(HvStatus::SUCCESS)
    }

    /// `HvCallModifyVtlProtectionMask` (TLFS 15.15.2), a rep call: one GPA page number per
    /// rep.
    pub(crate) fn modify_vtl_protection_mask(
        &mut self,
        cpu: &mut Cpu<'_>,
        control: HvHypercallInput,
        input: &[u8],
    ) -> HcEnd {
        let Ok((header, list)) = HvModifyVtlProtectionMaskInput::read_from_prefix(input) else {
            return HcEnd::Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
        };
        let start = control.rep_start_index();
        let done = |s| HcEnd::Done(s, start);
        if header.target_partition_id != HV_PARTITION_ID_SELF {
            return done(HvStatus::INVALID_PARTITION_ID);
        }
        let caller = self.vsm.active_vtl(self.cur());
        let vtl = match self.resolve_vtl(caller, header.target_vtl) {
            Ok(vtl) => vtl,
            Err(status) => return done(status),
        };
        // A VTL can only protect pages from lower VTLs: VTL 0 has none.
        if vtl == 0 {
            return done(HvStatus::ACCESS_DENIED);
        }
        if !self.vsm.config.enable_vtl_protection() {
            return done(HvStatus::INVALID_VTL_STATE);
        }
        let flags = header.map_flags;
        if header.rsvd != [0; 3] || flags.into_bits() & !HvMapGpaFlags::PERMISSIONS_MASK != 0 {
            return done(HvStatus::INVALID_PARAMETER);
        }
        let count = control.rep_count();
        let end = count.min(start.saturating_add(self.reps_per_call));
        let full = flags.readable() && flags.writable() && flags.kernel_executable();
        for i in start..end {
            let at = 8 * usize::from(i);
            let Some(gpn) = list
                .get(at..at + 8)
                .and_then(|b| u64::read_from_bytes(b).ok())
            else {
                return HcEnd::Done(HvStatus::INVALID_HYPERCALL_INPUT, i);
            };
            // Only RAM can be protected.
            if gpn
                .checked_mul(HV_PAGE_SIZE as u64)
                .is_none_or(|gpa| gpa + HV_PAGE_SIZE as u64 > self.ram_bytes)
            {
                return HcEnd::Done(HvStatus::INVALID_PARAMETER, i);
            }
            // Restore full access first, so that a page leaving the list is writable again.
            let was_applied = self.vsm.applied;
            if was_applied
                && self.vsm.protections.contains_key(&gpn)
                && let Err(error) = cpu.protect(gpn << 12, true, true, true)
            {
                self.fail(cpu, emulator(error));
                return HcEnd::Done(HvStatus::SUCCESS, i);
            }
            if full {
                self.vsm.protections.remove(&gpn);
            } else {
                self.vsm.protections.insert(gpn, flags);
            }
        }
        if !self.vsm.stepping && !self.vsm.protections.is_empty() {
            if let Err(error) = cpu.hook_every_instruction() {
                self.fail(cpu, emulator(error));
                return HcEnd::Done(HvStatus::SUCCESS, end);
            }
            self.vsm.stepping = true;
        }
        // The caller runs VTL 1: the pages stay fully accessible until VTL 0 runs.
        self.vsm.applied = false;
        if let Err(error) = self.vsm_sync(cpu) {
            self.fail(cpu, emulator(error));
        }
        if end == count {
            HcEnd::Done(HvStatus::SUCCESS, count)
        } else {
            HcEnd::Continue(end)
        }
    }

    /// The VTL an `HV_INPUT_VTL` names for a caller in VTL `caller` (TLFS 15.15.1): its
    /// own, or a target no higher than its own that is enabled.
    fn resolve_vtl(&self, caller: HvVtl, input: HvInputVtl) -> Result<HvVtl, HvStatus> {
        if input.into_bits() & HvInputVtl::RESERVED_MASK != 0 {
            return Err(HvStatus::INVALID_PARAMETER);
        }
        if !input.use_target_vtl() {
            return Ok(caller);
        }
        let vtl = input.target_vtl();
        if vtl > MAX_VTL {
            return Err(HvStatus::INVALID_PARAMETER);
        }
        if vtl > caller {
            return Err(HvStatus::ACCESS_DENIED);
        }
        Ok(vtl)
    }

    /// The VTL an `HvCallGetVpRegisters`/`HvCallSetVpRegisters` on VP `vp` addresses
    /// (TLFS 7.10.1, 7.10.2, 15.13.3): a VTL may reach its own and lower VTLs' registers,
    /// of VTLs enabled on the VP.
    pub(crate) fn register_vtl(&self, vp: usize, input: HvInputVtl) -> Result<HvVtl, HvStatus> {
        let caller = self.vsm.active_vtl(self.cur());
        let vtl = self.resolve_vtl(caller, input)?;
        if vtl == 1 && !self.vsm.vps[vp].vtl1 {
            return Err(HvStatus::INVALID_VTL_STATE);
        }
        Ok(vtl)
    }

    /// Reads a VSM register or an x64 register of VTL `vtl` of VP `vp` through
    /// `HvCallGetVpRegisters`; `None` for any other name.
    pub(crate) fn vsm_get_register(
        &mut self,
        cpu: &mut Cpu<'_>,
        vp: usize,
        vtl: HvVtl,
        name: HvRegisterName,
    ) -> Option<Result<u64, HvStatus>> {
        if let Some(value) = self.vsm_register(vp, vtl, name) {
            return Some(value);
        }
        let reg = x64_register(name)?;
        Some(self.with_vtl_cpu(cpu, vp, vtl, reg, |cpu| cpu.read(reg)))
    }

    /// Writes a VSM register or an x64 register through `HvCallSetVpRegisters`; `None`
    /// for any other name.
    pub(crate) fn vsm_set_register(
        &mut self,
        cpu: &mut Cpu<'_>,
        vp: usize,
        vtl: HvVtl,
        name: HvRegisterName,
        value: u64,
    ) -> Option<HvStatus> {
        let vsm_name = name.get() & 0xFFFF_FF00 == 0x000D_0000;
        if vsm_name {
            return Some(self.set_vsm_register(vp, vtl, name, value));
        }
        let reg = x64_register(name)?;
        Some(
            match self.with_vtl_cpu(cpu, vp, vtl, reg, |cpu| cpu.write(reg, value).map(|()| 0)) {
                Ok(_) => HvStatus::SUCCESS,
                Err(status) => status,
            },
        )
    }

    /// Runs `f` on the CPU state of VTL `vtl` of the running VP: the live CPU for the
    /// active VTL and for shared registers, the saved context otherwise (loaded and saved
    /// back around `f`). Other VPs' architectural registers are not reachable.
    fn with_vtl_cpu(
        &mut self,
        cpu: &mut Cpu<'_>,
        vp: usize,
        vtl: HvVtl,
        reg: R,
        f: impl FnOnce(&mut Cpu<'_>) -> Result<u64, UcError>,
    ) -> Result<u64, HvStatus> {
        if vp != self.cur() {
            return Err(HvStatus::INVALID_PARAMETER);
        }
        let state = &mut self.vsm.vps[vp];
        if vtl == state.active || SHARED_GPRS.contains(&reg) {
            return f(cpu).map_err(|_| HvStatus::INVALID_PARAMETER);
        }
        let Some(mut context) = state.inactive_cpu.take() else {
            // VTL 1 has not run yet: its registers are the initial context's.
            return Err(HvStatus::INVALID_VTL_STATE);
        };
        let result = (|| {
            let mut live = cpu.new_context()?;
            cpu.save_context(&mut live)?;
            cpu.restore_context(&context)?;
            let value = f(cpu);
            cpu.save_context(&mut context)?;
            cpu.restore_context(&live)?;
            value
        })();
        self.vsm.vps[vp].inactive_cpu = Some(context);
        result.map_err(|_| HvStatus::INVALID_PARAMETER)
    }

    /// The VSM registers (TLFS 15.3.2, 15.3.3, 15.5, 15.8), readable with `AccessVsm`.
    fn vsm_register(
        &self,
        vp: usize,
        vtl: HvVtl,
        name: HvRegisterName,
    ) -> Option<Result<u64, HvStatus>> {
        if name.get() & 0xFFFF_FF00 != 0x000D_0000 {
            return None;
        }
        if !self.vsm_offered() {
            return Some(Err(HvStatus::ACCESS_DENIED));
        }
        let state = &self.vsm.vps[vp];
        Some(Ok(match name {
            HvRegisterName::HvRegisterVsmCapabilities => {
                HvRegisterVsmCapabilities::new().into_bits()
            }
            HvRegisterName::HvRegisterVsmPartitionStatus => HvRegisterVsmPartitionStatus::new()
                .with_enabled_vtl_set(1 | (u16::from(self.vsm.vtl1) << 1))
                .with_maximum_vtl(MAX_VTL)
                .into_bits(),
            HvRegisterName::HvRegisterVsmVpStatus => HvRegisterVsmVpStatus::new()
                .with_active_vtl(state.active)
                .with_enabled_vtl_set(1 | (u16::from(state.vtl1) << 1))
                .into_bits(),
            HvRegisterName::HvRegisterVsmCodePageOffsets => HvRegisterVsmCodePageOffsets::new()
                .with_vtl_call_offset(HYPERCALL_PAGE_VTL_CALL as u16)
                .with_vtl_return_offset(HYPERCALL_PAGE_VTL_RETURN as u16)
                .into_bits(),
            // One instance per VTL above 0 (TLFS 15.5.1).
            HvRegisterName::HvRegisterVsmPartitionConfig if vtl == 1 => self.vsm.config.into_bits(),
            // VTL 1's instance for VTL 0 (TLFS 15.5.2).
            HvRegisterName::HvRegisterVsmVpSecureConfigVtl0 if vtl == 1 => {
                state.secure_config_vtl0.into_bits()
            }
            _ => return Some(Err(HvStatus::INVALID_PARAMETER)),
        }))
    }

    fn set_vsm_register(
        &mut self,
        vp: usize,
        vtl: HvVtl,
        name: HvRegisterName,
        value: u64,
    ) -> HvStatus {
        if !self.vsm_offered() {
            return HvStatus::ACCESS_DENIED;
        }
        match name {
            HvRegisterName::HvRegisterVsmPartitionConfig if vtl == 1 => {
                let new = HvRegisterVsmPartitionConfig::from_bits(value);
                let old = self.vsm.config;
                // Write-once (15.5.1.1); only full access as the default mask (15.5.1.2).
                let mask = new.default_vtl_protection_mask();
                if value & !CONFIG_MODELLED != 0
                    || (old.enable_vtl_protection() && !new.enable_vtl_protection())
                    || !matches!(mask, 0 | 0xF)
                {
                    return HvStatus::INVALID_PARAMETER;
                }
                self.vsm.config = new;
                HvStatus::SUCCESS
            }
            HvRegisterName::HvRegisterVsmVpSecureConfigVtl0 if vtl == 1 => {
                // Neither MBEC nor TLB locking is modelled.
                if value != 0 {
                    return HvStatus::INVALID_PARAMETER;
                }
                self.vsm.vps[vp].secure_config_vtl0 = HvRegisterVsmVpSecureVtlConfig::new();
                HvStatus::SUCCESS
            }
            // The status, capability and offset registers are read-only.
            _ => HvStatus::INVALID_PARAMETER,
        }
    }
}

/// The Unicorn register of an x64 register name `HvCallGet/SetVpRegisters` reaches.
fn x64_register(name: HvRegisterName) -> Option<R> {
    Some(match name {
        HvRegisterName::HvX64RegisterRax => R::RAX,
        HvRegisterName::HvX64RegisterRcx => R::RCX,
        HvRegisterName::HvX64RegisterRdx => R::RDX,
        HvRegisterName::HvX64RegisterRbx => R::RBX,
        HvRegisterName::HvX64RegisterRsp => R::RSP,
        HvRegisterName::HvX64RegisterRbp => R::RBP,
        HvRegisterName::HvX64RegisterRsi => R::RSI,
        HvRegisterName::HvX64RegisterRdi => R::RDI,
        HvRegisterName::HvX64RegisterR8 => R::R8,
        HvRegisterName::HvX64RegisterR9 => R::R9,
        HvRegisterName::HvX64RegisterR10 => R::R10,
        HvRegisterName::HvX64RegisterR11 => R::R11,
        HvRegisterName::HvX64RegisterR12 => R::R12,
        HvRegisterName::HvX64RegisterR13 => R::R13,
        HvRegisterName::HvX64RegisterR14 => R::R14,
        HvRegisterName::HvX64RegisterR15 => R::R15,
        HvRegisterName::HvX64RegisterRip => R::RIP,
        HvRegisterName::HvX64RegisterRflags => R::RFLAGS,
        HvRegisterName::HvX64RegisterCr0 => R::CR0,
        HvRegisterName::HvX64RegisterCr3 => R::CR3,
        HvRegisterName::HvX64RegisterCr4 => R::CR4,
        _ => return None,
    })
}
