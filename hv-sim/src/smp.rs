//! Several virtual processors on the one emulated CPU: run states, deterministic
//! scheduling, CPU contexts, starting processors (INIT and SIPI through the APIC,
//! `HvCallStartVirtualProcessor`, TLFS 7.10.3), IPI routing and the VP-management
//! hypercalls (`HvCallGetVpIndexFromApicId`, TLFS 7.10.4; `HvCallSendSyntheticClusterIpi`
//! and its `Ex` form, TLFS 10.5.2, 10.5.3).
//!
//! # How VPs share the CPU
//!
//! Unicorn emulates one CPU. Each VP that is not running keeps its register state in a
//! Unicorn context (`uc_context_save` / `uc_context_restore`: general, segment, control,
//! FPU and SSE registers and the MSRs Unicorn implements); its local APIC, synthetic
//! registers and timers live in [`crate::hv::Vp`] all the time. Switching VPs saves the
//! running VP's context, restores the next one's and flushes the emulator's TLB (cached
//! translations belong to the VP that made them).
//!
//! The VPs take turns on one virtual timeline (time advances with the instructions of
//! whichever VP runs, as on one physical CPU time-sliced between them):
//!
//! * a VP runs until it executes HLT or has run [`SLICE_INSTRUCTIONS`] instructions while
//!   another VP is runnable; the switch happens at the start of a translation block, never
//!   inside one;
//! * the next VP is the first runnable one after the current in VP index order (round
//!   robin); a VP is runnable unless it waits for a SIPI or is halted without a
//!   deliverable interrupt (a VP halted with RFLAGS.IF clear is never woken);
//! * when no VP is runnable, time jumps to the next timer deadline; with no deadline, or
//!   no VP that an interrupt could wake, the run ends with [`SimError::HaltedForever`].
//!
//! Every decision depends only on instruction counts and guest actions, so runs are
//! deterministic: two runs of a guest print the same output and counters.
//!
//! # Starting a VP
//!
//! VP 0 runs from the boot entry; the others wait for a SIPI, as application processors do
//! after reset. Two ways start one:
//!
//! * **INIT, then SIPI** through the x2APIC ICR or `HV_X64_MSR_ICR` (Intel SDM vol. 3,
//!   8.4.4): INIT puts the target back into wait-for-SIPI; a SIPI with vector `v` starts it
//!   in real mode at `v << 8 : 0000`. Unicorn cannot load a real-mode code segment from
//!   outside, so the VP first runs a 17-instruction stub the model keeps in the
//!   host-reserved boot area ([`INIT_STUB_GPA`], with its GDT at [`INIT_GDT_GPA`]): it
//!   leaves protected mode through a 16-bit segment and far-jumps to `v << 8 : 0000`, which
//!   leaves every register as after INIT (CR0 0x6000_0010, EFER, CR3, CR4 zero, segments
//!   0 with 64 KiB limits, EAX zero).
//! * **`HvCallStartVirtualProcessor`** (needs the `StartVirtualProcessor` privilege; only
//!   the `hyperv` profile has it): the VP starts with the given context. The model starts
//!   VPs in 64-bit mode at CPL 0 only: CS must describe present 64-bit ring-0 code and SS
//!   ring-0 data (or be null); other contexts fail with `HV_STATUS_INVALID_REGISTER_VALUE`.
//!   Unicorn keeps the hidden parts of CS, DS, ES and SS it gives a 64-bit CPU (their bases
//!   and limits have no effect in 64-bit mode); FS and GS are loaded from the context's
//!   GDT by selector and then given the context's bases; TR and LDTR take the context's
//!   hidden parts as they are.
//!
//! A VP can be started once; starting a running VP is `HV_STATUS_INVALID_VP_STATE`, and a
//! SIPI to a VP that does not wait for one is ignored, as on hardware. An INIT to the
//! sending VP itself is ignored (the model does not reset the running VP).

use hv_defs::HV_PARTITION_ID_SELF;
use hv_defs::hypercall::HvCallCode;
use hv_defs::interrupt::{HvSendSyntheticClusterIpiExInput, HvSendSyntheticClusterIpiInput};
use hv_defs::status::HvStatus;
use hv_defs::vp::{
    HV_GET_VP_INDEX_FROM_APIC_ID_ELEMENT_SIZE, HvGetVpIndexFromApicIdInputHeader,
    HvInitialVpContext, HvInputVtl, HvStartVirtualProcessorInput, HvVpSetHeader,
    HvX64SegmentRegister,
};
use unicorn_engine::unicorn_const::RegisterX86 as R;
use zerocopy::FromBytes;

use crate::apic::Ipi;
use crate::error::SimError;
use crate::hv::HcEnd;
use crate::machine::{NS_PER_INSTRUCTION, PML4_GPA, Stop, Vm};
use crate::stats::bump;
use crate::uc::{Context, Cpu, TableReg, UcError};
use crate::vpset::{Targets, parse_vp_set};
use crate::x86;

/// Instructions a VP runs before another runnable VP gets the CPU (20 µs of virtual time).
pub const SLICE_INSTRUCTIONS: u64 = 20_000;

/// Where the INIT stub's GDT lives (host-reserved boot area).
pub(crate) const INIT_GDT_GPA: u64 = 0x2E00;
/// Where the INIT stub lives (host-reserved boot area).
pub(crate) const INIT_STUB_GPA: u64 = 0x2F00;

/// The INIT stub's GDT: null, 16-bit code (0x08), 16-bit data (0x10), 32-bit code (0x18).
const INIT_GDT: [u64; 4] = [
    0,
    0x0000_9B00_0000_FFFF,
    0x0000_9300_0000_FFFF,
    0x00CF_9B00_0000_FFFF,
];

/// The 32-bit code selector a SIPI'd VP starts the stub with.
const INIT_STUB_CS: u16 = 0x18;

/// IA32_EFER.
const IA32_EFER: u32 = 0xC000_0080;
/// IA32_PAT.
const IA32_PAT: u32 = 0x277;
/// CR0 after INIT: CD, NW, ET (Intel SDM vol. 3, table 9-1).
const CR0_AFTER_INIT: u32 = 0x6000_0010;
const CR0_PE: u64 = 1;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;
/// RFLAGS bits that must be zero (reserved 3, 5, 15, 63:22) and the one that must be set.
const RFLAGS_RESERVED: u64 = (1 << 3) | (1 << 5) | (1 << 15) | !0x3F_FFFF;
const RFLAGS_FIXED: u64 = 1 << 1;

/// The INIT stub for SIPI vector `vector` (see the module docs), entered in 32-bit
/// protected mode at [`INIT_STUB_GPA`].
fn init_stub(vector: u8) -> Vec<u8> {
    let stub16 = (INIT_STUB_GPA + 7) as u32;
    let mut code = vec![0xEA]; // ljmp 0x08:stub16 (32-bit)
    code.extend_from_slice(&stub16.to_le_bytes());
    code.extend_from_slice(&0x08u16.to_le_bytes());
    code.extend_from_slice(&[0xB8, 0x10, 0x00]); // mov ax, 0x10
    for sreg in [0xD0, 0xD8, 0xC0, 0xE0, 0xE8] {
        code.extend_from_slice(&[0x8E, sreg]); // mov ss/ds/es/fs/gs, ax
    }
    code.extend_from_slice(&[0x66, 0xB8]); // mov eax, CR0_AFTER_INIT
    code.extend_from_slice(&CR0_AFTER_INIT.to_le_bytes());
    code.extend_from_slice(&[0x0F, 0x22, 0xC0]); // mov cr0, eax: real mode
    code.extend_from_slice(&[0x31, 0xC0]); // xor ax, ax
    for sreg in [0xD0, 0xD8, 0xC0, 0xE0, 0xE8] {
        code.extend_from_slice(&[0x8E, sreg]); // segments 0
    }
    code.extend_from_slice(&[0x66, 0x31, 0xC0]); // xor eax, eax
    code.extend_from_slice(&[0xEA, 0x00, 0x00]); // ljmp (vector << 8):0000
    code.extend_from_slice(&(u16::from(vector) << 8).to_le_bytes());
    code
}

/// What a VP is doing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Waiting for a SIPI (after reset or INIT); not started.
    WaitForSipi,
    /// Running or ready to run.
    Runnable,
    /// Executed HLT with RFLAGS.IF = `interrupts`.
    Halted {
        /// RFLAGS.IF at the HLT.
        interrupts: bool,
    },
    /// Read `HV_X64_MSR_GUEST_IDLE` (TLFS 7.5): wakes when an interrupt is pending, even
    /// one RFLAGS.IF masks, and resumes without taking it.
    Idle,
}

/// The scheduler's view of one VP.
#[derive(Debug)]
struct Slot {
    state: RunState,
    /// The CPU state while another VP runs (allocated on first use).
    context: Option<Context>,
    /// Start of a block in this VP's interrupt shadow, while another VP runs.
    shadow_at: Option<u64>,
    /// Instructions this VP ran before it was last switched in.
    instructions: u64,
}

/// Which VP runs and what the others are doing.
#[derive(Debug)]
pub(crate) struct Sched {
    cur: usize,
    slots: Vec<Slot>,
    /// Instructions the current VP has run in its slice.
    slice_used: u64,
    /// The machine's instruction count when the current VP was switched in.
    entered_at: u64,
    /// The CPU state of a fresh engine: the base of every started VP.
    reset: Context,
    /// Where the running VP's state is parked while a new VP's context is built.
    scratch: Context,
}

impl Sched {
    /// A scheduler for `vps` VPs with VP 0 running; `cpu` must be a fresh engine (its state
    /// becomes the reset state of started VPs).
    pub(crate) fn new(cpu: &mut Cpu<'_>, vps: usize) -> Result<Self, UcError> {
        let mut reset = cpu.new_context()?;
        cpu.save_context(&mut reset)?;
        let scratch = cpu.new_context()?;
        let slots = (0..vps)
            .map(|i| Slot {
                state: if i == 0 {
                    RunState::Runnable
                } else {
                    RunState::WaitForSipi
                },
                context: None,
                shadow_at: None,
                instructions: 0,
            })
            .collect();
        Ok(Self {
            cur: 0,
            slots,
            slice_used: 0,
            entered_at: 0,
            reset,
            scratch,
        })
    }
}

fn emulator(error: UcError) -> SimError {
    SimError::Emulator { error, rip: 0 }
}

/// The QEMU segment-cache flags (descriptor bits 40–55 as bits 8–23) of TLFS segment
/// attributes (type, S, DPL, P in bits 7:0; AVL, L, D/B, G in bits 15:12).
fn cache_flags(attributes: u16) -> u32 {
    (u32::from(attributes & 0xFF) << 8) | (u32::from(attributes >> 12) << 20)
}

fn canonical(address: u64) -> bool {
    let top = address >> 47;
    top == 0 || top == 0x1_FFFF
}

/// Whether the model can start a VP with `c`: 64-bit mode at CPL 0 (see the module docs).
pub(crate) fn representable(c: &HvInitialVpContext) -> bool {
    let attr = |s: &HvX64SegmentRegister, bit: u32| s.attributes & (1 << bit) != 0;
    let dpl = |s: &HvX64SegmentRegister| (s.attributes >> 5) & 3;
    let long_mode = c.cr0 & (CR0_PE | CR0_PG) == CR0_PE | CR0_PG
        && c.cr4 & CR4_PAE != 0
        && c.efer & (EFER_LME | EFER_LMA) == EFER_LME | EFER_LMA;
    // CS: present (7), code or data (4), code (3), 64-bit (13), not D (14), DPL 0.
    let cs = &c.cs;
    let cs_ok =
        attr(cs, 7) && attr(cs, 4) && attr(cs, 3) && attr(cs, 13) && !attr(cs, 14) && dpl(cs) == 0;
    // SS: null, or present writable data at DPL 0.
    let ss = &c.ss;
    let ss_ok = ss.selector & !3 == 0
        || (attr(ss, 7) && attr(ss, 4) && !attr(ss, 3) && attr(ss, 1) && dpl(ss) == 0);
    long_mode
        && cs_ok
        && ss_ok
        && canonical(c.rip)
        && c.rflags & RFLAGS_RESERVED == 0
        && c.rflags & RFLAGS_FIXED != 0
        && c.cr3 >> 52 == 0
        && canonical(c.gdtr.base)
        && canonical(c.idtr.base)
}

impl Sched {
    /// The CPU state of a fresh engine.
    pub(crate) fn reset_context(&self) -> &Context {
        &self.reset
    }
}

impl Vm {
    /// The running VP.
    pub(crate) fn cur(&self) -> usize {
        self.sched.cur
    }

    /// The virtual time VP `vp` has run, in ns (`HV_X64_MSR_VP_RUNTIME`, TLFS 7.9.1).
    pub(crate) fn vp_runtime_ns(&self, vp: usize) -> u64 {
        let mut instructions = self.sched.slots[vp].instructions;
        if vp == self.sched.cur {
            instructions += self.instructions - self.sched.entered_at;
        }
        instructions * NS_PER_INSTRUCTION
    }

    /// Called at the start of each block before it is charged: whether the running VP's
    /// slice is over and another VP is runnable (then the caller stops the engine with
    /// [`Stop::Switch`]).
    pub(crate) fn preempt(&mut self, instructions: u64) -> bool {
        if self.sched.slice_used < SLICE_INSTRUCTIONS {
            self.sched.slice_used += instructions;
            return false;
        }
        if self.next_runnable(false).is_some() {
            return true;
        }
        self.sched.slice_used = instructions;
        false
    }

    /// Whether VP `i` could run now.
    fn runnable(&self, i: usize) -> bool {
        match self.sched.slots[i].state {
            RunState::Runnable => true,
            RunState::Halted { interrupts } => {
                interrupts && self.vps[i].apic.deliverable().is_some()
            }
            RunState::Idle => self.vps[i].apic.deliverable().is_some(),
            RunState::WaitForSipi => false,
        }
    }

    /// The first runnable VP after the current one, in VP index order; with
    /// `include_current`, the current VP comes last.
    fn next_runnable(&self, include_current: bool) -> Option<usize> {
        let n = self.vps.len();
        let last = if include_current { n } else { n - 1 };
        (1..=last)
            .map(|step| (self.sched.cur + step) % n)
            .find(|&i| self.runnable(i))
    }

    /// HLT (or, with `idle`, a guest-idle MSR read) by the running VP at `rip` (RIP after
    /// the instruction): deliver a pending interrupt if RFLAGS.IF allows (an idle VP just
    /// resumes when one is pending), else halt the VP and run another one, or wait for the
    /// next timer.
    pub(crate) fn halt(&mut self, cpu: &mut Cpu<'_>, rip: u64, idle: bool) -> Result<(), SimError> {
        self.stats.hlt += 1;
        let flags = cpu.read(R::RFLAGS).map_err(emulator)?;
        let interrupts = flags & (1 << 9) != 0;
        let cur = self.sched.cur;
        self.assist_sync(cpu, cur);
        if idle && self.vps[cur].apic.deliverable().is_some() {
            return Ok(());
        }
        if interrupts && self.try_interrupt(cpu) {
            return self.stop_error();
        }
        self.sched.slots[cur].state = if idle {
            RunState::Idle
        } else {
            RunState::Halted { interrupts }
        };
        loop {
            if let Some(next) = self.next_runnable(true) {
                return self.resume(cpu, next);
            }
            let wakeable = self.sched.slots.iter().any(|s| {
                matches!(
                    s.state,
                    RunState::Halted { interrupts: true } | RunState::Idle
                )
            });
            let deadline = self.next_deadline_ns().filter(|_| wakeable);
            let Some(deadline) = deadline else {
                return Err(SimError::HaltedForever {
                    rip,
                    interrupts_enabled: interrupts,
                });
            };
            if let Some(limit_ns) = self.max_time_ns
                && deadline > limit_ns
            {
                return Err(SimError::TimeLimit { limit_ns, rip });
            }
            let wait = deadline.saturating_sub(self.now_ns).max(1);
            self.advance(cpu, wait);
        }
    }

    /// The running VP's slice is over: switch to the next runnable VP.
    pub(crate) fn reschedule(&mut self, cpu: &mut Cpu<'_>) -> Result<(), SimError> {
        match self.next_runnable(true) {
            Some(next) => self.resume(cpu, next),
            None => Ok(()),
        }
    }

    /// Makes `next` (runnable) the running VP; a halted VP wakes with its interrupt.
    fn resume(&mut self, cpu: &mut Cpu<'_>, next: usize) -> Result<(), SimError> {
        if next != self.sched.cur {
            self.switch_to(cpu, next)?;
        }
        self.sched.slice_used = 0;
        let was_halted = matches!(self.sched.slots[next].state, RunState::Halted { .. });
        self.sched.slots[next].state = RunState::Runnable;
        if was_halted {
            self.try_interrupt(cpu);
            return self.stop_error();
        }
        Ok(())
    }

    /// A run-ending error a delivery recorded.
    fn stop_error(&mut self) -> Result<(), SimError> {
        match self.stop.take() {
            Some(Stop::Error(error)) => Err(error),
            other => {
                self.stop = other;
                Ok(())
            }
        }
    }

    /// Saves the running VP's CPU state and loads `next`'s.
    fn switch_to(&mut self, cpu: &mut Cpu<'_>, next: usize) -> Result<(), SimError> {
        let cur = self.sched.cur;
        let slot = &mut self.sched.slots[cur];
        slot.shadow_at = self.shadow_at.take();
        slot.instructions += self.instructions - self.sched.entered_at;
        let saved = match slot.context.as_mut() {
            Some(context) => context,
            None => slot.context.insert(cpu.new_context().map_err(emulator)?),
        };
        cpu.save_context(saved).map_err(emulator)?;
        let context = self.sched.slots[next]
            .context
            .as_ref()
            .ok_or(SimError::Emulator {
                error: UcError::ARG,
                rip: 0,
            })?;
        cpu.restore_context(context).map_err(emulator)?;
        cpu.flush_tlb().map_err(emulator)?;
        self.shadow_at = self.sched.slots[next].shadow_at.take();
        self.forget_block();
        self.sched.cur = next;
        self.sched.entered_at = self.instructions;
        self.stats.vp_switches += 1;
        self.vsm_sync(cpu).map_err(emulator)
    }

    /// Builds VP `vp`'s context from the reset state with `setup`, without disturbing the
    /// running VP (whose state is parked and restored around it).
    fn build_context(
        &mut self,
        cpu: &mut Cpu<'_>,
        vp: usize,
        setup: impl FnOnce(&mut Cpu<'_>) -> Result<bool, UcError>,
    ) -> Result<bool, UcError> {
        cpu.save_context(&mut self.sched.scratch)?;
        cpu.restore_context(&self.sched.reset)?;
        let built = setup(cpu);
        let saved = match built {
            Ok(true) => {
                let slot = &mut self.sched.slots[vp];
                let context = match slot.context.as_mut() {
                    Some(context) => context,
                    None => slot.context.insert(cpu.new_context()?),
                };
                cpu.save_context(context)
            }
            _ => Ok(()),
        };
        let restored = cpu.restore_context(&self.sched.scratch);
        cpu.flush_tlb()?;
        restored?;
        saved?;
        built
    }

    /// Puts VP `vp` into the state a SIPI with `vector` leaves it in (see the module docs).
    fn sipi(&mut self, cpu: &mut Cpu<'_>, vp: usize, vector: u8) -> Result<(), UcError> {
        let gdt: Vec<u8> = INIT_GDT.iter().flat_map(|d| d.to_le_bytes()).collect();
        cpu.write_mem(INIT_GDT_GPA, &gdt)?;
        let stub = init_stub(vector);
        cpu.write_mem(INIT_STUB_GPA, &stub)?;
        cpu.flush_code(INIT_STUB_GPA, INIT_STUB_GPA + stub.len() as u64)?;
        self.build_context(cpu, vp, |cpu| {
            // From the engine's 64-bit reset state into 32-bit protected mode without
            // paging: turning paging on and off again is how Unicorn leaves long mode.
            cpu.write(R::CR4, CR4_PAE)?;
            cpu.write(R::CR3, PML4_GPA)?;
            cpu.write(R::CR0, CR0_PG | 0x11)?;
            cpu.write(R::CR0, 0x11)?;
            cpu.write_msr(IA32_EFER, 0)?;
            cpu.write(R::CR4, 0)?;
            cpu.write(R::CR3, 0)?;
            cpu.write_table(
                R::GDTR,
                TableReg {
                    base: INIT_GDT_GPA,
                    limit: (INIT_GDT.len() * 8 - 1) as u32,
                    ..TableReg::default()
                },
            )?;
            cpu.write_table(
                R::IDTR,
                TableReg {
                    limit: 0x3FF,
                    ..TableReg::default()
                },
            )?;
            cpu.write(R::CS, u64::from(INIT_STUB_CS))?;
            cpu.write(R::RSP, 0)?;
            cpu.write(R::RFLAGS, RFLAGS_FIXED)?;
            cpu.write(R::RIP, INIT_STUB_GPA)?;
            Ok(true)
        })?;
        self.sched.slots[vp].state = RunState::Runnable;
        self.sched.slots[vp].shadow_at = None;
        Ok(())
    }

    /// Routes an IPI from the running VP (Intel SDM vol. 3, 10.6, 10.12.10): fixed and
    /// lowest-priority interrupts (delivered as fixed to every target), INIT and SIPI.
    /// SMI and NMI are not modelled: they are counted and dropped.
    pub(crate) fn send_ipi(&mut self, cpu: &mut Cpu<'_>, ipi: Ipi) {
        let cur = self.cur();
        let targets: Vec<usize> = match ipi.shorthand {
            1 => vec![cur],
            2 => (0..self.vps.len()).collect(),
            3 => (0..self.vps.len()).filter(|&i| i != cur).collect(),
            _ if ipi.destination == u32::MAX => (0..self.vps.len()).collect(),
            _ if ipi.logical => (0..self.vps.len())
                .filter(|&i| self.vps[i].apic.in_logical_destination(ipi.destination))
                .collect(),
            _ => (0..self.vps.len())
                .filter(|&i| self.vps[i].apic.id() == ipi.destination)
                .collect(),
        };
        for target in targets {
            if target != cur {
                bump(
                    &mut self.stats.ipi_to_other_vp,
                    (self.vps[target].index, ipi.vector),
                );
            }
            match ipi.mode {
                0 | 1 => {
                    self.vps[target].apic.accept(ipi.vector);
                }
                // INIT (a level de-assert, trigger level with level 0, does nothing).
                5 if target != cur && !ipi.deassert => {
                    self.vps[target].apic.init();
                    let slot = &mut self.sched.slots[target];
                    slot.state = RunState::WaitForSipi;
                    slot.shadow_at = None;
                }
                6 if self.sched.slots[target].state == RunState::WaitForSipi => {
                    if let Err(error) = self.sipi(cpu, target, ipi.vector) {
                        self.fail(cpu, emulator(error));
                        return;
                    }
                }
                _ => self.stats.ipi_dropped += 1,
            }
        }
    }

    /// `HvCallStartVirtualProcessor` (TLFS 7.10.3); see the module docs for what the model
    /// accepts.
    pub(crate) fn start_virtual_processor(&mut self, cpu: &mut Cpu<'_>, input: &[u8]) -> HcEnd {
        let Ok(input) = HvStartVirtualProcessorInput::read_from_bytes(input) else {
            return HcEnd::Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
        };
        let status = |status| HcEnd::Done(status, 0);
        if input.partition_id != HV_PARTITION_ID_SELF {
            return status(HvStatus::INVALID_PARTITION_ID);
        }
        let vp = input.vp_index as usize;
        if vp >= self.vps.len() {
            return status(HvStatus::INVALID_VP_INDEX);
        }
        if input.rsvd != [0; 3] || input.target_vtl > 15 {
            return status(HvStatus::INVALID_PARAMETER);
        }
        // Starting a VP in VTL 1 is not modelled (`vsm` module docs); a VTL 1 that set
        // DenyLowerVtlStartup refuses starts from VTL 0 (TLFS 15.5.1.4).
        if input.target_vtl != 0 {
            return status(HvStatus::INVALID_VTL_STATE);
        }
        if self.vsm.active_vtl(self.cur()) == 0 && self.vsm.lower_vtl_startup_denied() {
            return status(HvStatus::ACCESS_DENIED);
        }
        if self.sched.slots[vp].state != RunState::WaitForSipi {
            return status(HvStatus::INVALID_VP_STATE);
        }
        let context = input.vp_context;
        if !representable(&context) {
            return status(HvStatus::INVALID_REGISTER_VALUE);
        }
        match self.build_context(cpu, vp, |cpu| load_long_mode(cpu, &context)) {
            Ok(true) => {
                self.sched.slots[vp].state = RunState::Runnable;
                self.sched.slots[vp].shadow_at = None;
                self.stats.vp_starts += 1;
                status(HvStatus::SUCCESS)
            }
            Ok(false) => status(HvStatus::INVALID_REGISTER_VALUE),
            Err(error) => {
                self.fail(cpu, emulator(error));
                status(HvStatus::SUCCESS)
            }
        }
    }

    /// `HvCallGetVpIndexFromApicId` (TLFS 7.10.4), a rep call: one APIC id in, one VP index
    /// out per rep. An APIC id no VP has stops the call with `HV_STATUS_INVALID_PARAMETER`.
    pub(crate) fn get_vp_index_from_apic_id(
        &mut self,
        control: hv_defs::hypercall::HvHypercallInput,
        input: &[u8],
        output: &mut [u8],
    ) -> HcEnd {
        let Ok((header, list)) = HvGetVpIndexFromApicIdInputHeader::read_from_prefix(input) else {
            return HcEnd::Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
        };
        if header.partition_id != HV_PARTITION_ID_SELF {
            return HcEnd::Done(HvStatus::INVALID_PARTITION_ID, 0);
        }
        let vtl = header.target_vtl;
        if vtl.into_bits() & HvInputVtl::RESERVED_MASK != 0 || header.rsvd != [0; 7] {
            return HcEnd::Done(HvStatus::INVALID_PARAMETER, 0);
        }
        if vtl.use_target_vtl() && vtl.target_vtl() != 0 {
            return HcEnd::Done(HvStatus::INVALID_VTL_STATE, 0);
        }
        let size = HV_GET_VP_INDEX_FROM_APIC_ID_ELEMENT_SIZE;
        let count = control.rep_count();
        let start = control.rep_start_index();
        let end = count.min(start.saturating_add(self.reps_per_call));
        for i in start..end {
            let at = usize::from(i) * size;
            let Some(apic_id) = list
                .get(at..at + size)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
            else {
                return HcEnd::Done(HvStatus::INVALID_HYPERCALL_INPUT, i);
            };
            let Some(vp) = self.vps.iter().find(|vp| vp.apic.id() == apic_id) else {
                return HcEnd::Done(HvStatus::INVALID_PARAMETER, i);
            };
            output[at..at + size].copy_from_slice(&vp.index.to_le_bytes());
        }
        if end == count {
            HcEnd::Done(HvStatus::SUCCESS, count)
        } else {
            HcEnd::Continue(end)
        }
    }

    /// `HvCallSendSyntheticClusterIpi` and `HvCallSendSyntheticClusterIpiEx` (TLFS 10.5.2,
    /// 10.5.3): a fixed interrupt with `vector` (0x10–0xFF) to each VP of the mask or set.
    /// A VP the partition does not have is `HV_STATUS_INVALID_PARAMETER` and nothing is
    /// sent; an empty mask or set sends nothing and succeeds.
    pub(crate) fn send_synthetic_ipi(
        &mut self,
        control: hv_defs::hypercall::HvHypercallInput,
        input: &[u8],
    ) -> HcEnd {
        let invalid = HcEnd::Done(HvStatus::INVALID_PARAMETER, 0);
        let ex = control.call_code() == HvCallCode::HvCallSendSyntheticClusterIpiEx;
        let (vector, vtl, rsvd, targets) = if ex {
            let Ok((fixed, banks)) = HvSendSyntheticClusterIpiExInput::read_from_prefix(input)
            else {
                return HcEnd::Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
            };
            let targets = match parse_vp_set(fixed.processor_set, banks) {
                Ok(targets) => targets,
                Err(status) => return HcEnd::Done(status, 0),
            };
            (fixed.vector, fixed.target_vtl, fixed.rsvd, targets)
        } else {
            let Ok(fixed) = HvSendSyntheticClusterIpiInput::read_from_bytes(input) else {
                return HcEnd::Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
            };
            let set = HvVpSetHeader::sparse(1);
            let targets = match parse_vp_set(set, &fixed.processor_mask.to_le_bytes()) {
                Ok(targets) => targets,
                Err(status) => return HcEnd::Done(status, 0),
            };
            (fixed.vector, fixed.target_vtl, fixed.rsvd, targets)
        };
        if !hv_defs::interrupt::hv_is_valid_ipi_vector(vector)
            || vtl.into_bits() & HvInputVtl::RESERVED_MASK != 0
            || rsvd != [0; 3]
        {
            return invalid;
        }
        // No VTL above 0 exists in the model.
        if vtl.use_target_vtl() && vtl.target_vtl() != 0 {
            return invalid;
        }
        let vps: Vec<usize> = match targets {
            Targets::All => (0..self.vps.len()).collect(),
            Targets::Set(set) => {
                if set.iter().any(|&vp| vp as usize >= self.vps.len()) {
                    return invalid;
                }
                set.into_iter().map(|vp| vp as usize).collect()
            }
        };
        for vp in vps {
            let vector = vector as u8;
            if self.vps[vp].apic.accept(vector) {
                bump(&mut self.stats.synthetic_ipi, (self.vps[vp].index, vector));
            } else {
                self.stats.ipi_dropped += 1;
            }
        }
        HcEnd::Done(HvStatus::SUCCESS, 0)
    }
}

/// Loads a long-mode context into the CPU (in reset state); `Ok(false)` when FS or GS
/// cannot be loaded from the context's GDT.
pub(crate) fn load_long_mode(cpu: &mut Cpu<'_>, c: &HvInitialVpContext) -> Result<bool, UcError> {
    let table = |t: hv_defs::vp::HvX64TableRegister| TableReg {
        base: t.base,
        limit: u32::from(t.limit),
        ..TableReg::default()
    };
    cpu.write_table(R::GDTR, table(c.gdtr))?;
    cpu.write_table(R::IDTR, table(c.idtr))?;
    cpu.write(R::CR4, c.cr4)?;
    cpu.write(R::CR3, c.cr3)?;
    cpu.write_msr(IA32_EFER, c.efer)?;
    cpu.write(R::CR0, c.cr0)?;
    cpu.write_msr(IA32_PAT, c.msr_cr_pat)?;
    for (reg, segment) in [(R::CS, c.cs), (R::SS, c.ss), (R::DS, c.ds), (R::ES, c.es)] {
        cpu.write(reg, u64::from(segment.selector))?;
    }
    for (reg, base_reg, segment) in [(R::FS, R::FS_BASE, c.fs), (R::GS, R::GS_BASE, c.gs)] {
        if !loadable(cpu, c, segment.selector)
            || cpu.write(reg, u64::from(segment.selector)).is_err()
        {
            return Ok(false);
        }
        cpu.write(base_reg, segment.base)?;
    }
    for (reg, segment) in [(R::TR, c.tr), (R::LDTR, c.ldtr)] {
        cpu.write_table(
            reg,
            TableReg {
                selector: segment.selector,
                base: segment.base,
                limit: segment.limit,
                flags: cache_flags(segment.attributes),
            },
        )?;
    }
    cpu.write(R::RSP, c.rsp)?;
    cpu.write(R::RFLAGS, c.rflags)?;
    cpu.write(R::RIP, c.rip)?;
    Ok(true)
}

/// Whether Unicorn can read the GDT descriptor `selector` names (null, or inside the
/// GDT limit in mapped memory), so that loading it cannot fault inside the emulator.
fn loadable(cpu: &Cpu<'_>, c: &HvInitialVpContext, selector: u16) -> bool {
    if selector & !3 == 0 {
        return true;
    }
    let offset = u64::from(selector & !7);
    selector & 4 == 0
        && offset + 7 <= u64::from(c.gdtr.limit)
        && x86::read_linear(cpu, c.gdtr.base + offset, &mut [0u8; 8]).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long_mode_context() -> HvInitialVpContext {
        let code = HvX64SegmentRegister {
            selector: 0x08,
            attributes: 0xA09B,
            ..HvX64SegmentRegister::default()
        };
        let data = HvX64SegmentRegister {
            selector: 0x10,
            attributes: 0xC093,
            ..HvX64SegmentRegister::default()
        };
        HvInitialVpContext {
            rip: 0x10_0000,
            rsp: 0x9_0000,
            rflags: 2,
            cs: code,
            ss: data,
            ds: data,
            es: data,
            cr0: 0x8005_0033,
            cr4: 0x20,
            efer: 0x500,
            ..HvInitialVpContext::default()
        }
    }

    #[test]
    fn only_64_bit_ring_0_contexts_are_representable() {
        let good = long_mode_context();
        assert!(representable(&good));
        let mut compat = good;
        compat.cs.attributes = 0xC09B; // D set, L clear: 32-bit code
        assert!(!representable(&compat));
        let mut user = good;
        user.cs.attributes |= 3 << 5;
        assert!(!representable(&user));
        let mut no_paging = good;
        no_paging.cr0 = 0x11;
        assert!(!representable(&no_paging));
        let mut flags = good;
        flags.rflags = 0;
        assert!(!representable(&flags));
        let mut rip = good;
        rip.rip = 0x8000_0000_0000;
        assert!(!representable(&rip));
        let mut null_ss = good;
        null_ss.ss = HvX64SegmentRegister::default();
        assert!(representable(&null_ss));
    }

    #[test]
    fn attributes_become_segment_cache_flags() {
        // Present 64-bit code: type 0xB, S, P; L; G.
        assert_eq!(cache_flags(0xA09B), 0x00A0_9B00);
        // An available 64-bit TSS.
        assert_eq!(cache_flags(0x0089), 0x0000_8900);
    }

    #[test]
    fn the_init_stub_ends_in_the_sipi_far_jump() {
        let stub = init_stub(0x9F);
        assert_eq!(stub[..7], [0xEA, 0x07, 0x2F, 0, 0, 0x08, 0]);
        assert_eq!(stub[stub.len() - 5..], [0xEA, 0, 0, 0x00, 0x9F]);
    }
}
