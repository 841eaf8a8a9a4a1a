//! `HVC` on arm64: the SMCCC calls (`hvc #0`: the vendor hypervisor UID query, PSCI, and
//! hypercalls with `HV_FUNC_ID`), hypercalls with `hvc #1`, and the synthetic registers they
//! reach (post-TLFS 6.0; the conventions are documented in `hv_defs::arm64`).
//!
//! # Hypercalls
//!
//! Both conventions carry the control word (TLFS 3.7) and a block of 16 registers: X1 and
//! X2–X17 with `hvc #0` (X0 = `HV_FUNC_ID`), X0 and X1–X16 with `hvc #1`. A memory-based
//! call names its input and output pages in block registers 0 and 1 (TLFS 3.6 alignment and
//! page rules apply); a fast call's input fills the block, 8 bytes a register. The result
//! value (TLFS 3.8) comes back in X0. The rules are `hv-defs`' ([`HvHypercallInput::validate`],
//! each call's privilege and layout as the x86-64 model has them), with what arm64 changes:
//!
//! * a fast call's input may use the whole 128-byte block (there is no XMM feature bit);
//!   its output follows the input rounded up to 16 bytes with SMCCC (a one-register
//!   `HvCallGetVpRegisters` answers in X6:X7, as Linux reads it) and ends at the end of the
//!   block with `hvc #1` (X15:X16, as Microsoft's firmware and OpenVMM read it; the model
//!   extends that published case to every fast output);
//! * every rep of a rep call completes in one exit (no continuation: the TLFS lets the
//!   hypervisor complete any number of reps, and arm64's register convention for a restarted
//!   call is not published);
//! * **before the guest OS identity is set** only `HvCallSetVpRegisters` and
//!   `HvCallGetVpRegisters` of `HvRegisterGuestOsId` alone are served; every other hypercall
//!   returns `HV_STATUS_ACCESS_DENIED`. TLFS 2.6 and 3.13 let no hypercall happen before the
//!   identity (on x64 the hypercall page cannot be enabled); on arm64 `HVC` always reaches
//!   the hypervisor, and this is the model's reading of that rule.
//!
//! # Synthetic registers
//!
//! Registers are served by TLFS name through `HvCallGetVpRegisters`/`HvCallSetVpRegisters`.
//! Access rules are the x64 MSR rules of the same register (`hv_defs::msr::msr_info` of
//! `x64_msr_for_register`: privilege, feature, read/write), so both architectures enforce the
//! same TLFS appendix. The CPUID-equivalent registers (0x100, 0x200–0x209) read the profile's
//! leaves, `HvRegisterPrivilegesAndFeaturesInfo` in its arm64 layout.

use std::collections::BTreeMap;

use hv_defs::arm64::{
    HV_ARM64_FAST_BLOCK_REGISTERS, HV_ARM64_SMCCC_UID, HV_FUNC_ID, SMCCC_RET_NOT_SUPPORTED,
    SMCCC_VENDOR_HYP_CALL_UID,
};
use hv_defs::cpuid::{HvArm64Features, cpuid_leaf_register};
use hv_defs::hypercall::{
    HV_HYPERCALL_PARAMETER_ALIGNMENT, HvCallCode, HvHypercallInput, HvHypercallOutput,
};
use hv_defs::msr::{msr_info, x64_msr_for_register};
use hv_defs::partition::HvGuestCrashControl;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvStatus;
use hv_defs::synic::{HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT, HvPostMessageInput};
use hv_defs::timer::HvReferenceTscMsr;
use hv_defs::vp::{HvInputVtl, HvSetVpRegistersElement, HvVpRegistersInputHeader};
use hv_defs::{HV_PAGE_SIZE, HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF};
use zerocopy::FromBytes;

use super::layout::RAM_BASE;
use super::synic::{Synic, ZERO_PAGE};
use super::timer::CNTFRQ_HZ;
use super::{Vm, le64};
use crate::crash::CrashReport;
use crate::error::Exit;
use crate::hv::{CallSize, call_privilege, call_size};
use crate::profile::Profile;
use crate::stats::bump;
use crate::uc::{Cpu, Xn};

/// PSCI `PSCI_VERSION` (PSCI 0.2+, SMC32).
const PSCI_VERSION: u32 = 0x8400_0000;
/// PSCI `SYSTEM_OFF`.
const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;
/// PSCI `SYSTEM_RESET`.
const PSCI_SYSTEM_RESET: u32 = 0x8400_0009;
/// The PSCI version the model reports: 1.1.
const PSCI_1_1: u64 = 0x0001_0001;

/// The block size in bytes.
const BLOCK_BYTES: usize = HV_ARM64_FAST_BLOCK_REGISTERS * 8;

/// The page-number part of an overlay register (bits 63:12).
const GPFN_MASK: u64 = !0xFFF;

/// How an `HVC` exit ends.
pub(super) enum HvcEnd {
    /// Continue after the `HVC`.
    Resume,
    /// The `HVC` is an undefined instruction here.
    Undefined,
    /// The run is over.
    Exit(Exit),
}

/// The hypercall convention of an `HVC`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Convention {
    /// `hvc #0` with `HV_FUNC_ID`: control in X1, block X2–X17.
    Smccc,
    /// `hvc #1`: control in X0, block X1–X16.
    HyperV,
}

impl Convention {
    const fn control(self) -> usize {
        match self {
            Self::Smccc => 1,
            Self::HyperV => 0,
        }
    }

    const fn block(self) -> usize {
        self.control() + 1
    }

    /// Where a fast call's `out_size` bytes of output start in the block, after `in_size`
    /// bytes of input (see the module docs).
    const fn output_at(self, in_size: usize, out_size: usize) -> usize {
        match self {
            Self::Smccc => in_size.next_multiple_of(16),
            Self::HyperV => BLOCK_BYTES - out_size,
        }
    }
}

/// The arm64 partition's synthetic state (one partition, `vps` VPs of which VP 0 runs).
#[derive(Debug)]
pub(crate) struct Hv {
    profile: Profile,
    vps: u32,
    guest_os_id: u64,
    crash: [u64; 5],
    reference_tsc: HvReferenceTscMsr,
    /// Original contents of RAM pages covered by an overlay, by GPA.
    overlays: BTreeMap<u64, Vec<u8>>,
    synic: Synic,
}

impl Hv {
    pub(crate) fn new(profile: Profile, vps: u32) -> Self {
        Self {
            profile,
            vps,
            guest_os_id: 0,
            crash: [0; 5],
            reference_tsc: HvReferenceTscMsr::new(),
            overlays: BTreeMap::new(),
            synic: Synic::default(),
        }
    }

    /// Fires the synthetic timers due at virtual time `now_ns`, pushing the interrupt ids
    /// they raise.
    pub(crate) fn fire_timers(&mut self, cpu: &mut Cpu<'_>, now_ns: u64, raise: &mut Vec<u32>) {
        if self
            .synic
            .next_deadline()
            .is_some_and(|deadline| deadline <= now_ns / 100)
        {
            self.synic.fire(cpu, now_ns / 100, raise);
        }
    }

    /// The earliest synthetic timer deadline in virtual ns.
    pub(crate) fn next_deadline_ns(&self) -> Option<u64> {
        self.synic
            .next_deadline()
            .map(|deadline| deadline.saturating_mul(100))
    }

    /// The CPUID leaf whose value register `name` holds.
    fn leaf_of(name: HvRegisterName) -> Option<u32> {
        (0x4000_0001..=0x4000_000C).find(|&leaf| cpuid_leaf_register(leaf) == Some(name))
    }

    /// `HvRegisterPrivilegesAndFeaturesInfo` in the arm64 layout: the privileges, the crash
    /// registers and direct timers at their arm64 bits.
    fn arm64_features(&self) -> HvArm64Features {
        let features = self.profile.features();
        HvArm64Features::new()
            .with_privileges(features.privileges())
            .with_guest_crash_regs_available(features.guest_crash_regs_available())
            .with_direct_synthetic_timers(features.direct_synthetic_timers())
    }

    /// Whether the register's x64 MSR rule allows the access in this profile.
    fn allowed(&self, name: HvRegisterName, write: bool) -> bool {
        let Some(info) = x64_msr_for_register(name).and_then(msr_info) else {
            return false;
        };
        let access = if write {
            info.access.can_write()
        } else {
            info.access.can_read()
        };
        access && info.is_available(self.profile.features())
    }

    /// Reads a register of VP `vp` at virtual time `now_ns`.
    fn get(&self, vp: u32, name: HvRegisterName, now_ns: u64) -> Result<u128, HvStatus> {
        if let Some(leaf) = Self::leaf_of(name) {
            return Ok(if leaf == 0x4000_0003 {
                self.arm64_features().into_bits()
            } else {
                let regs = self.profile.cpuid(leaf, self.guest_os_id != 0);
                regs.iter()
                    .rev()
                    .fold(0, |value, &word| value << 32 | u128::from(word))
            });
        }
        if !self.allowed(name, false) {
            return Err(HvStatus::INVALID_PARAMETER);
        }
        let crash = HvRegisterName::HvRegisterGuestCrashP0.get();
        Ok(u128::from(match name {
            HvRegisterName::HvRegisterGuestOsId => self.guest_os_id,
            HvRegisterName::HvRegisterVpIndex => u64::from(vp),
            HvRegisterName::HvRegisterTimeRefCount => now_ns / 100,
            HvRegisterName::HvRegisterReferenceTsc => self.reference_tsc.into_bits(),
            // TLFS 4.3: the control register reports the supported actions.
            HvRegisterName::HvRegisterGuestCrashCtl => HvGuestCrashControl::NOTIFY.into_bits(),
            n if (crash..crash + 5).contains(&n.get()) => self.crash[(n.get() - crash) as usize],
            _ => self.synic.read(name).ok_or(HvStatus::INVALID_PARAMETER)?,
        }))
    }

    /// Writes a register at virtual time `now_ns`, pushing the interrupt ids the write
    /// raises; `Err(Ok(exit))` ends the run (a crash report).
    fn set(
        &mut self,
        cpu: &mut Cpu<'_>,
        ram_bytes: u64,
        name: HvRegisterName,
        value: u128,
        now_ns: u64,
        raise: &mut Vec<u32>,
    ) -> Result<(), Result<Exit, HvStatus>> {
        if !self.allowed(name, true) {
            return Err(Err(HvStatus::INVALID_PARAMETER));
        }
        let low = value as u64;
        let crash = HvRegisterName::HvRegisterGuestCrashP0.get();
        match name {
            HvRegisterName::HvRegisterGuestOsId => self.guest_os_id = low,
            HvRegisterName::HvRegisterReferenceTsc => {
                self.set_reference_tsc(cpu, ram_bytes, low).map_err(Err)?;
            }
            HvRegisterName::HvRegisterGuestCrashCtl => {
                if HvGuestCrashControl::from_bits(low).crash_notify() {
                    // The arm64 model offers the notification only, not the message form.
                    return Err(Ok(Exit::Crash(CrashReport {
                        parameters: self.crash,
                        message: None,
                    })));
                }
            }
            n if (crash..crash + 5).contains(&n.get()) => {
                self.crash[(n.get() - crash) as usize] = low;
            }
            _ => {
                let direct_ok = self.profile.features().direct_synthetic_timers();
                let page_ok = |gpa| in_ram(gpa, HV_PAGE_SIZE as u64, ram_bytes);
                let effects = self
                    .synic
                    .write(cpu, name, low, now_ns / 100, direct_ok, page_ok)
                    .map_err(Err)?
                    .ok_or(Err(HvStatus::INVALID_PARAMETER))?;
                for gpa in effects.unmap {
                    self.unmap_overlay(cpu, gpa);
                }
                for gpa in effects.map {
                    self.map_overlay(cpu, gpa, &ZERO_PAGE);
                }
                raise.extend(effects.raise);
            }
        }
        Ok(())
    }

    fn set_reference_tsc(
        &mut self,
        cpu: &mut Cpu<'_>,
        ram_bytes: u64,
        value: u64,
    ) -> Result<(), HvStatus> {
        let old = self.reference_tsc;
        let keep = HvReferenceTscMsr::RESERVED_MASK;
        let new = HvReferenceTscMsr::from_bits((value & !keep) | (old.into_bits() & keep));
        let gpa = new.into_bits() & GPFN_MASK;
        if new.enable() && !in_ram(gpa, HV_PAGE_SIZE as u64, ram_bytes) {
            return Err(HvStatus::INVALID_PARAMETER);
        }
        if old.enable() {
            self.unmap_overlay(cpu, old.into_bits() & GPFN_MASK);
        }
        if new.enable() {
            // TLFS 12.7.2: reference time = ((counter * scale) >> 64) + offset, the arm64
            // counter being CNTVCT_EL0 at CNTFRQ_HZ and the reference counter 10 MHz.
            let scale = ((1u128 << 64) * 10_000_000 / u128::from(CNTFRQ_HZ)) as u64;
            let mut page = vec![0u8; HV_PAGE_SIZE];
            page[0..4].copy_from_slice(&1u32.to_le_bytes());
            page[8..16].copy_from_slice(&scale.to_le_bytes());
            self.map_overlay(cpu, gpa, &page);
        }
        self.reference_tsc = new;
        Ok(())
    }

    /// Covers the RAM page at `gpa` with `content`, keeping the RAM contents to restore
    /// when the overlay goes away (TLFS 5.2.1).
    fn map_overlay(&mut self, cpu: &mut Cpu<'_>, gpa: u64, content: &[u8]) {
        let mut saved = vec![0u8; HV_PAGE_SIZE];
        if cpu.read_mem(gpa, &mut saved).is_ok() {
            self.overlays.entry(gpa).or_insert(saved);
        }
        let _ = cpu.write_mem(gpa, content);
    }

    fn unmap_overlay(&mut self, cpu: &mut Cpu<'_>, gpa: u64) {
        if let Some(saved) = self.overlays.remove(&gpa) {
            let _ = cpu.write_mem(gpa, &saved);
        }
    }
}

/// Whether `[gpa, gpa + len)` is RAM.
fn in_ram(gpa: u64, len: u64, ram_bytes: u64) -> bool {
    gpa >= RAM_BASE
        && gpa
            .checked_add(len)
            .is_some_and(|end| end <= RAM_BASE + ram_bytes)
}

/// How a hypercall ends.
enum HcEnd {
    Done(HvStatus, u16),
    Exit(Exit),
}

impl Vm {
    /// `HVC #imm` at EL1; the PC is the `HVC`.
    pub(super) fn hvc(&mut self, cpu: &mut Cpu<'_>, imm: u32) -> HvcEnd {
        let mut x = [0u64; 18];
        for (i, slot) in x.iter_mut().enumerate() {
            *slot = cpu.read(Xn(i as u8)).unwrap_or(0);
        }
        let hyperv = self.hv.profile.hv.is_some();
        match imm {
            0 => {
                let function = x[0] as u32;
                bump(&mut self.stats.smccc, function);
                match function {
                    SMCCC_VENDOR_HYP_CALL_UID if hyperv => {
                        for (i, word) in HV_ARM64_SMCCC_UID.0.iter().enumerate() {
                            x[i] = u64::from(*word);
                        }
                        self.write_regs(cpu, &x[..4]);
                    }
                    PSCI_VERSION => self.write_regs(cpu, &[PSCI_1_1]),
                    PSCI_SYSTEM_OFF => return HvcEnd::Exit(Exit::PowerOff),
                    PSCI_SYSTEM_RESET => return HvcEnd::Exit(Exit::Reset),
                    HV_FUNC_ID if hyperv && x[0] >> 32 == 0 => {
                        return self.hypercall(cpu, Convention::Smccc, &mut x);
                    }
                    // SMCCC: an unknown function id returns NOT_SUPPORTED, sign-extended.
                    _ => self.write_regs(cpu, &[i64::from(SMCCC_RET_NOT_SUPPORTED) as u64]),
                }
                HvcEnd::Resume
            }
            1 if hyperv => self.hypercall(cpu, Convention::HyperV, &mut x),
            // Without Hyper-V, and for the VTL and VP launch immediates the model does not
            // implement, `HVC` is undefined.
            _ => HvcEnd::Undefined,
        }
    }

    /// Writes X0.. from `values`.
    fn write_regs(&mut self, cpu: &mut Cpu<'_>, values: &[u64]) {
        for (i, value) in values.iter().enumerate() {
            let _ = cpu.write(Xn(i as u8), *value);
        }
    }

    fn hypercall(&mut self, cpu: &mut Cpu<'_>, conv: Convention, x: &mut [u64; 18]) -> HvcEnd {
        let control = HvHypercallInput::from_bits(x[conv.control()]);
        let mut block = [0u8; BLOCK_BYTES];
        for (i, chunk) in block.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&x[conv.block() + i].to_le_bytes());
        }
        let (status, reps) = match self.dispatch(cpu, conv, control, &mut block) {
            HcEnd::Done(status, reps) => (status, reps),
            HcEnd::Exit(exit) => return HvcEnd::Exit(exit),
        };
        bump(
            &mut self.stats.hypercall,
            (control.call_code().get(), status.get()),
        );
        let out = HvHypercallOutput::new()
            .with_status(status)
            .with_reps_completed(reps);
        x[0] = out.into_bits();
        for (i, chunk) in block.chunks_exact(8).enumerate() {
            x[conv.block() + i] = le64(chunk);
        }
        // X0 and, for fast calls, the block as the call left it.
        let upto = if control.fast() {
            conv.block() + HV_ARM64_FAST_BLOCK_REGISTERS
        } else {
            1
        };
        let values: Vec<u64> = x[..upto].to_vec();
        self.write_regs(cpu, &values);
        HvcEnd::Resume
    }

    fn dispatch(
        &mut self,
        cpu: &mut Cpu<'_>,
        conv: Convention,
        control: HvHypercallInput,
        block: &mut [u8; BLOCK_BYTES],
    ) -> HcEnd {
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
        let mut input = vec![0u8; in_size];
        let output_gpa = if control.fast() {
            if conv.output_at(in_size, out_size) < in_size
                || in_size.next_multiple_of(16) + out_size > BLOCK_BYTES
            {
                return bad_input;
            }
            self.stats.hypercall_fast += 1;
            input.copy_from_slice(&block[..in_size]);
            None
        } else {
            let (input_gpa, output_gpa) = (le64(&block[..8]), le64(&block[8..16]));
            // TLFS 3.6: 8-byte aligned, not crossing a page.
            for (gpa, size) in [(input_gpa, in_size), (output_gpa, out_size)] {
                if size == 0 {
                    continue;
                }
                if gpa % HV_HYPERCALL_PARAMETER_ALIGNMENT as u64 != 0
                    || (gpa % HV_PAGE_SIZE as u64) as usize + size > HV_PAGE_SIZE
                {
                    return Done(HvStatus::INVALID_ALIGNMENT, 0);
                }
                if !in_ram(gpa, size as u64, self.ram_bytes) {
                    return bad_input;
                }
            }
            if cpu.read_mem(input_gpa, &mut input).is_err() {
                return bad_input;
            }
            Some(output_gpa)
        };
        if !self.hv.profile.has_privilege(call_privilege(&info)) {
            return Done(HvStatus::ACCESS_DENIED, 0);
        }
        if self.hv.guest_os_id == 0 && !only_guest_os_id(control, &input) {
            return Done(HvStatus::ACCESS_DENIED, 0);
        }
        let mut output = vec![0u8; out_size];
        let end = self.call(cpu, control, &input, &mut output);
        if let Done(status, done) = end {
            // The reps done from the rep start index (TLFS 3.7.1), or the whole output of a
            // simple call that succeeded.
            let (from, upto) = if info.is_rep() {
                let start = usize::from(control.rep_start_index());
                (start * layout.output, usize::from(done) * layout.output)
            } else if status == HvStatus::SUCCESS {
                (0, out_size)
            } else {
                (0, 0)
            };
            match output_gpa {
                Some(gpa) if from < upto => {
                    let _ = cpu.write_mem(gpa + from as u64, &output[from..upto]);
                }
                None if from < upto => {
                    let at = conv.output_at(in_size, out_size);
                    block[at + from..at + upto].copy_from_slice(&output[from..upto]);
                }
                _ => {}
            }
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
        match control.call_code() {
            HvCallCode::HvCallNotifyLongSpinWait => {
                self.stats.long_spin_waits += 1;
                Done(HvStatus::SUCCESS, 0)
            }
            HvCallCode::HvCallPostMessage => {
                // TLFS 11.10.1: payload of at most 240 bytes; no connection exists here.
                let too_long = HvPostMessageInput::read_from_bytes(input).map_or(true, |m| {
                    m.payload_size as usize > HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT
                });
                if too_long {
                    Done(HvStatus::INVALID_PARAMETER, 0)
                } else {
                    Done(HvStatus::INVALID_CONNECTION_ID, 0)
                }
            }
            // TLFS 11.10.2: no connection exists here.
            HvCallCode::HvCallSignalEvent => Done(HvStatus::INVALID_CONNECTION_ID, 0),
            HvCallCode::HvExtCallQueryCapabilities => {
                // No extended hypercall besides this query is implemented.
                output.copy_from_slice(&0u64.to_le_bytes());
                Done(HvStatus::SUCCESS, 0)
            }
            code @ (HvCallCode::HvCallGetVpRegisters | HvCallCode::HvCallSetVpRegisters) => self
                .vp_registers(
                    cpu,
                    code == HvCallCode::HvCallGetVpRegisters,
                    control,
                    input,
                    output,
                ),
            _ => Done(HvStatus::INVALID_HYPERCALL_CODE, 0),
        }
    }

    fn vp_registers(
        &mut self,
        cpu: &mut Cpu<'_>,
        get: bool,
        control: HvHypercallInput,
        input: &[u8],
        output: &mut [u8],
    ) -> HcEnd {
        use HcEnd::Done;
        let Ok((header, elements)) = HvVpRegistersInputHeader::read_from_prefix(input) else {
            return Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
        };
        if header.partition_id != HV_PARTITION_ID_SELF {
            return Done(HvStatus::INVALID_PARTITION_ID, 0);
        }
        let vp = match header.vp_index {
            HV_VP_INDEX_SELF => 0,
            vp => vp,
        };
        if vp >= self.hv.vps {
            return Done(HvStatus::INVALID_VP_INDEX, 0);
        }
        let vtl = header.input_vtl;
        if vtl.into_bits() & HvInputVtl::RESERVED_MASK != 0
            || (vtl.use_target_vtl() && vtl.target_vtl() != 0)
        {
            return Done(HvStatus::INVALID_PARAMETER, 0);
        }
        let now = self.now_ns;
        let mut raise = Vec::new();
        for i in control.rep_start_index()..control.rep_count() {
            let at = usize::from(i);
            let status = if get {
                let name = HvRegisterName::new(le64(&elements[4 * at..4 * at + 4]) as u32);
                match self.hv.get(vp, name, now) {
                    Ok(value) => {
                        output[16 * at..16 * at + 16].copy_from_slice(&value.to_le_bytes());
                        HvStatus::SUCCESS
                    }
                    Err(status) => status,
                }
            } else {
                let size = size_of::<HvSetVpRegistersElement>();
                let Ok(element) =
                    HvSetVpRegistersElement::read_from_bytes(&elements[size * at..size * (at + 1)])
                else {
                    return Done(HvStatus::INVALID_HYPERCALL_INPUT, i);
                };
                // Registers of another VP are not modelled beyond VP 0's.
                if vp != 0 {
                    HvStatus::INVALID_PARAMETER
                } else {
                    let value = element.value.as_u128();
                    match self
                        .hv
                        .set(cpu, self.ram_bytes, element.name, value, now, &mut raise)
                    {
                        Ok(()) => HvStatus::SUCCESS,
                        Err(Ok(exit)) => return HcEnd::Exit(exit),
                        Err(Err(status)) => status,
                    }
                }
            };
            for intid in raise.drain(..) {
                self.gic.raise(intid);
            }
            if status != HvStatus::SUCCESS {
                return Done(status, i);
            }
        }
        Done(HvStatus::SUCCESS, control.rep_count())
    }
}

/// Whether a call is a register access naming only `HvRegisterGuestOsId`: what may be made
/// before the identity is set (see the module docs).
fn only_guest_os_id(control: HvHypercallInput, input: &[u8]) -> bool {
    let header = size_of::<HvVpRegistersInputHeader>();
    let stride = match control.call_code() {
        HvCallCode::HvCallGetVpRegisters => 4,
        HvCallCode::HvCallSetVpRegisters => size_of::<HvSetVpRegistersElement>(),
        _ => return false,
    };
    let count = usize::from(control.rep_count());
    count > 0
        && (0..count).all(|i| {
            let at = header + stride * i;
            input.get(at..at + 4).is_some_and(|name| {
                le64(name) == u64::from(HvRegisterName::HvRegisterGuestOsId.get())
            })
        })
}
