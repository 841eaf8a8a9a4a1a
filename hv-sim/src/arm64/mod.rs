//! The arm64 front end: an AArch64 processor at EL1 on Unicorn, the machine of the arm64
//! boot contract (`docs/architecture.md`, "Boot contract of the arm64 sample kernel") and
//! the Microsoft hypervisor's arm64 interface (`hv_defs::arm64`).
//!
//! # The machine
//!
//! QEMU `virt`'s layout ([`layout`]): RAM at 0x4000_0000, the kernel `Image` at
//! RAM + 2 MiB entered at its first byte at EL1h with the MMU off, DAIF masked and X0 = the
//! device tree ([`dtb`]) at the start of RAM; a GICv3 ([`gic`]), the generic timer
//! ([`timer`]) and a PL011 UART at 0x0900_0000 ([`pl011`]). The run ends with semihosting
//! `SYS_EXIT_EXTENDED` (`HLT #0xF000`) or PSCI `SYSTEM_OFF`.
//!
//! # How the processor is trapped
//!
//! Unicorn's AArch64 CPU has no EL2, so `HVC` and `HLT` are undefined instructions: the
//! exception hook reads the instruction and serves `HVC` ([`hvc`]: SMCCC, PSCI and
//! hypercalls) and semihosting, resuming after it; any other undefined instruction is
//! delivered to the guest's vector table as the architecture would. System registers are
//! trapped with Unicorn's `MRS`/`MSR` instruction hooks (`UC_HOOK_INSN` with
//! `UC_ARM64_INS_MRS`/`MSR`), which Unicorn calls, at run time, for every `MRS`/`MSR`
//! (register) with op0 2 or 3 in translated code: the model answers the generic timer
//! (`CNT*`, from the virtual clock, so time stays deterministic) and the GIC CPU interface
//! (`ICC_*`, which Unicorn's CPU model lacks) and lets Unicorn execute every other one. A
//! trapped register Unicorn does not know must also move the PC past the instruction:
//! Unicorn ends the translation block there without a jump to the next instruction.
//! Device registers (GIC distributor and redistributor, PL011) are Unicorn MMIO regions.
//!
//! Unicorn never takes interrupts by itself: the model does, at the start of a block or
//! after `WFI`, when the GIC signals one and PSTATE.I is clear (the IRQ exception to
//! `VBAR_EL1 + 0x280` with ELR_EL1, SPSR_EL1 and PSTATE set as the architecture does).
//!
//! # Virtual time
//!
//! As on x86-64: [`NS_PER_INSTRUCTION`] per instruction, charged per block (4 bytes an
//! instruction); `WFI` jumps to the next timer deadline. The counter runs at
//! [`timer::CNTFRQ_HZ`], the reference counter at 10 MHz.

mod dtb;
mod gic;
mod hvc;
pub(crate) mod layout;
mod pl011;
mod synic;
mod timer;

use unicorn_engine::unicorn_const::RegisterARM64 as R;

use crate::error::{Exit, SimError};
use crate::machine::{Config, NS_PER_INSTRUCTION};
use crate::profile::Profile;
use crate::stats::{Stats, bump};
use crate::uc::{Arm64Handler, Cpu, Engine, Mrs, SysReg, UcError, Unmapped};
use gic::{Gic, icc};
use hvc::Hv;
use layout::{
    DTB_ADDR, GICD_BASE, GICD_SIZE, GICR_BASE, GICR_SIZE, IMAGE_ADDR, PL011_BASE, PL011_SIZE,
    RAM_BASE,
};
use pl011::Pl011;
use timer::GenericTimer;

/// QEMU's exception number for an undefined instruction (`EXCP_UDEF`).
const EXCP_UDEF: u32 = 1;
/// `HLT #0xF000`, the A64 semihosting trap.
const SEMIHOSTING_HLT: u32 = 0xD45E_0000;
/// Semihosting `SYS_EXIT` and `SYS_EXIT_EXTENDED`.
const SYS_EXIT: u64 = 0x18;
const SYS_EXIT_EXTENDED: u64 = 0x20;
/// Semihosting stop reason "application exit".
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;

/// PSTATE.I.
const PSTATE_I: u64 = 1 << 7;
/// PSTATE on exception entry to EL1h: D, A, I, F masked, EL1, SP_EL1.
const PSTATE_EL1H_MASKED: u64 = 0x3C5;
/// SPSR_EL1 (op0 3, op1 0, CRn 4, CRm 0, op2 0).
const SPSR_EL1: SysReg = SysReg::new(3, 0, 4, 0, 0);
/// SCR_EL3 and its RW (lower levels are AArch64) and NS (non-secure) bits.
const SCR_EL3: SysReg = SysReg::new(3, 6, 1, 1, 0);
const SCR_EL3_RW: u64 = 1 << 10;
const SCR_EL3_NS: u64 = 1 << 0;
/// HCR_EL2 and its RW bit (EL1 is AArch64).
const HCR_EL2: SysReg = SysReg::new(3, 4, 1, 1, 0);
const HCR_EL2_RW: u64 = 1 << 31;
/// Vector table offsets (Arm ARM D1.10.2): synchronous and IRQ, from the current EL with
/// SP_ELx.
const VECTOR_SYNC_SPX: u64 = 0x200;
const VECTOR_IRQ_SPX: u64 = 0x280;
/// ESR_ELx.EC of an unknown reason (undefined instruction), with IL (32-bit instruction).
const ESR_UNKNOWN_IL: u64 = 1 << 25;

/// Why a hook stopped the engine.
#[derive(Debug)]
enum Stop {
    Exit(Exit),
    Error(SimError),
}

/// The model state every hook works on.
#[derive(Debug)]
pub(crate) struct Vm {
    ram_bytes: u64,
    max_instructions: Option<u64>,
    max_time_ns: Option<u64>,
    now_ns: u64,
    halted_ns: u64,
    instructions: u64,
    uart: Pl011,
    gic: Gic,
    timer: GenericTimer,
    hv: Hv,
    stats: Stats,
    /// The block being executed (start, size, instructions charged), until cut short.
    current: Option<(u64, u32, u64)>,
    stop: Option<Stop>,
}

fn emulator(error: UcError) -> SimError {
    SimError::Emulator { error, rip: 0 }
}

/// The packed key of a system register in the statistics.
fn stat_key(reg: SysReg) -> u32 {
    u32::from(reg.op0) << 16
        | u32::from(reg.op1) << 12
        | u32::from(reg.crn) << 8
        | u32::from(reg.crm) << 4
        | u32::from(reg.op2)
}

impl Vm {
    fn finish(&mut self, cpu: &mut Cpu<'_>, stop: Stop) {
        self.stop = Some(stop);
        if let Err(error) = cpu.stop() {
            self.stop = Some(Stop::Error(emulator(error)));
        }
    }

    /// Virtual time at the instruction at `pc` of the current block: the block's later
    /// instructions were charged when it started.
    fn now_at(&self, pc: u64) -> u64 {
        self.now_ns - self.unexecuted(pc + 4) * NS_PER_INSTRUCTION
    }

    /// Instructions of the current block from `at` to its end (charged, not yet run).
    fn unexecuted(&self, at: u64) -> u64 {
        match self.current {
            Some((start, size, charged)) if (start..start + u64::from(size)).contains(&at) => {
                charged.saturating_sub((at - start) / 4)
            }
            _ => 0,
        }
    }

    /// The current block ends before `at` (a hook moved the PC or stopped the engine):
    /// refunds the instructions that will not run there.
    fn cut_block(&mut self, at: u64) {
        let refund = self.unexecuted(at);
        self.current = None;
        self.instructions -= refund;
        self.now_ns -= refund * NS_PER_INSTRUCTION;
    }

    /// Advances virtual time by `ns`: timers fire, interrupt lines follow.
    fn advance(&mut self, cpu: &mut Cpu<'_>, ns: u64) {
        self.now_ns += ns;
        for (intid, high) in self.timer.lines(self.now_ns) {
            self.gic.set_level(intid, high);
        }
        let mut raise = Vec::new();
        self.hv.fire_timers(cpu, self.now_ns, &mut raise);
        for intid in raise {
            self.gic.raise(intid);
        }
    }

    fn next_deadline_ns(&self) -> Option<u64> {
        [self.timer.next_deadline_ns(), self.hv.next_deadline_ns()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Takes an exception to EL1 at vector `offset` with `esr` (for synchronous ones): the
    /// return address is the current PC.
    fn take_exception(
        &mut self,
        cpu: &mut Cpu<'_>,
        offset: u64,
        esr: Option<u64>,
    ) -> Result<(), UcError> {
        let pc = cpu.read(R::PC)?;
        let pstate = cpu.read(R::PSTATE)?;
        let vbar = cpu.read(R::VBAR_EL1)?;
        cpu.write_sysreg(SPSR_EL1, pstate)?;
        cpu.write(R::ELR_EL1, pc)?;
        if let Some(esr) = esr {
            cpu.write(R::ESR_EL1, esr)?;
        }
        cpu.write(R::PSTATE, PSTATE_EL1H_MASKED | (pstate & 0xF000_0000))?;
        cpu.write(R::PC, vbar + offset)
    }

    /// Delivers the interrupt the GIC signals, if PSTATE.I allows it. Returns whether one
    /// was taken.
    fn try_interrupt(&mut self, cpu: &mut Cpu<'_>) -> bool {
        let Some(intid) = self.gic.signalled() else {
            return false;
        };
        match cpu.read(R::PSTATE) {
            Ok(pstate) if pstate & PSTATE_I == 0 => {}
            _ => return false,
        }
        bump(&mut self.stats.interrupt, intid as u8);
        if let Err(error) = self.take_exception(cpu, VECTOR_IRQ_SPX, None) {
            self.finish(cpu, Stop::Error(emulator(error)));
        }
        true
    }

    fn undefined(&mut self, cpu: &mut Cpu<'_>) {
        bump(&mut self.stats.exception, 0);
        if let Err(error) = self.take_exception(cpu, VECTOR_SYNC_SPX, Some(ESR_UNKNOWN_IL)) {
            self.finish(cpu, Stop::Error(emulator(error)));
        }
    }

    /// Semihosting at `pc` (Arm semihosting 2.0): the exit calls end the run; every other
    /// operation is not provided and returns -1.
    fn semihosting(&mut self, cpu: &mut Cpu<'_>, pc: u64) {
        let op = cpu.read(R::X0).unwrap_or(0) & 0xFFFF_FFFF;
        let param = cpu.read(R::X1).unwrap_or(0);
        // Both exit calls take a parameter block on AArch64: reason, then status.
        let exit = match op {
            SYS_EXIT | SYS_EXIT_EXTENDED => {
                let mut block = [0u8; 16];
                cpu.read_mem(param, &mut block).ok().map(|()| {
                    let (reason, status) = block.split_at(8);
                    (le64(reason), le64(status))
                })
            }
            _ => None,
        };
        match exit {
            Some((ADP_STOPPED_APPLICATION_EXIT, status)) => {
                self.finish(cpu, Stop::Exit(Exit::Semihosting(status)));
            }
            _ => {
                let _ = cpu.write(R::X0, u64::MAX);
                let _ = cpu.write(R::PC, pc + 4);
            }
        }
    }
}

impl Arm64Handler for Vm {
    fn on_block(&mut self, cpu: &mut Cpu<'_>, address: u64, size: u32) {
        if self.gic.signalled().is_some() && self.try_interrupt(cpu) {
            return;
        }
        let instructions = u64::from(size / 4).max(1);
        self.instructions += instructions;
        self.current = Some((address, size, instructions));
        self.advance(cpu, instructions * NS_PER_INSTRUCTION);
        if let Some(limit) = self.max_instructions
            && self.instructions > limit
        {
            let error = SimError::InstructionLimit {
                limit,
                rip: address,
            };
            self.finish(cpu, Stop::Error(error));
        } else if let Some(limit_ns) = self.max_time_ns
            && self.now_ns > limit_ns
        {
            let error = SimError::TimeLimit {
                limit_ns,
                rip: address,
            };
            self.finish(cpu, Stop::Error(error));
        }
    }

    fn on_exception(&mut self, cpu: &mut Cpu<'_>, exception: u32) {
        let pc = cpu.read(R::PC).unwrap_or(0);
        if exception != EXCP_UDEF {
            self.cut_block(pc);
            self.finish(cpu, Stop::Error(SimError::Arm64Exception { exception, pc }));
            return;
        }
        let mut bytes = [0u8; 4];
        let insn = cpu
            .read_mem(pc, &mut bytes)
            .map(|()| u32::from_le_bytes(bytes))
            .unwrap_or(0);
        self.cut_block(pc + 4);
        if insn & 0xFFE0_001F == 0xD400_0002 {
            let imm = (insn >> 5) & 0xFFFF;
            match self.hvc(cpu, imm) {
                hvc::HvcEnd::Resume => {
                    let _ = cpu.write(R::PC, pc + 4);
                }
                hvc::HvcEnd::Undefined => {
                    self.cut_block(pc);
                    self.undefined(cpu);
                }
                hvc::HvcEnd::Exit(exit) => self.finish(cpu, Stop::Exit(exit)),
            }
        } else if insn == SEMIHOSTING_HLT {
            self.semihosting(cpu, pc);
        } else {
            self.undefined(cpu);
        }
    }

    fn on_mrs(&mut self, cpu: &mut Cpu<'_>, reg: SysReg) -> Mrs {
        let pc = cpu.read(R::PC).unwrap_or(0);
        if icc::is_icc(reg) {
            bump(&mut self.stats.sysreg_read, stat_key(reg));
            self.cut_block(pc + 4);
            return match self.gic.read_icc(reg) {
                Ok(value) => {
                    let _ = cpu.write(R::PC, pc + 4);
                    Mrs::Value(value)
                }
                Err(gic::Undefined) => {
                    self.undefined(cpu);
                    Mrs::Skip
                }
            };
        }
        match self.timer.read(reg, self.now_at(pc)) {
            Some(value) => {
                bump(&mut self.stats.sysreg_read, stat_key(reg));
                Mrs::Value(value)
            }
            None => Mrs::Native,
        }
    }

    fn on_msr(&mut self, cpu: &mut Cpu<'_>, reg: SysReg, value: u64) -> bool {
        let pc = cpu.read(R::PC).unwrap_or(0);
        if icc::is_icc(reg) {
            bump(&mut self.stats.sysreg_write, stat_key(reg));
            self.cut_block(pc + 4);
            match self.gic.write_icc(reg, value) {
                Ok(()) => {
                    let _ = cpu.write(R::PC, pc + 4);
                }
                Err(gic::Undefined) => self.undefined(cpu),
            }
            return true;
        }
        let now = self.now_at(pc);
        if !self.timer.write(reg, value, now) {
            return false;
        }
        bump(&mut self.stats.sysreg_write, stat_key(reg));
        for (intid, high) in self.timer.lines(now) {
            self.gic.set_level(intid, high);
        }
        true
    }

    fn on_mmio_read(&mut self, _cpu: &mut Cpu<'_>, address: u64, size: u32) -> u64 {
        match address {
            a if (GICD_BASE..GICD_BASE + GICD_SIZE).contains(&a) => {
                u64::from(self.gic.read_distributor(a - GICD_BASE))
            }
            a if (GICR_BASE..GICR_BASE + GICR_SIZE).contains(&a) => {
                self.gic.read_redistributor(a - GICR_BASE, size)
            }
            a if (PL011_BASE..PL011_BASE + PL011_SIZE).contains(&a) => {
                u64::from(self.uart.read(a - PL011_BASE))
            }
            _ => 0,
        }
    }

    fn on_mmio_write(&mut self, _cpu: &mut Cpu<'_>, address: u64, size: u32, value: u64) {
        match address {
            a if (GICD_BASE..GICD_BASE + GICD_SIZE).contains(&a) => {
                self.gic.write_distributor(a - GICD_BASE, value as u32);
            }
            a if (GICR_BASE..GICR_BASE + GICR_SIZE).contains(&a) => {
                self.gic.write_redistributor(a - GICR_BASE, size, value);
            }
            a if (PL011_BASE..PL011_BASE + PL011_SIZE).contains(&a) => {
                self.uart.write(a - PL011_BASE, value as u32);
            }
            _ => {}
        }
    }

    fn on_unmapped(&mut self, cpu: &mut Cpu<'_>, kind: Unmapped, address: u64) {
        let pc = cpu.read(R::PC).unwrap_or(0);
        self.cut_block(pc + 4);
        self.stop = Some(Stop::Error(SimError::Unmapped {
            kind,
            address,
            rip: pc,
        }));
    }
}

fn le64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |value, &byte| value << 8 | u64::from(byte))
}

/// Whether `image` is an arm64 Linux `Image` (the magic "ARM\x64" at offset 56).
#[must_use]
pub fn is_image(image: &[u8]) -> bool {
    image.get(56..60) == Some(b"ARM\x64".as_slice())
}

/// An arm64 machine ready to run a kernel `Image`.
#[derive(Debug)]
pub struct Arm64Machine {
    engine: Engine,
    vm: core::ptr::NonNull<Vm>,
    /// Wall-clock nanoseconds spent in the emulator, for performance reports only.
    wall_ns: u128,
}

impl Drop for Arm64Machine {
    fn drop(&mut self) {
        // SAFETY: `vm` came from `Box::leak` in `Arm64Machine::new` and is reclaimed only
        // here. Hooks, the only other users, run only inside `Engine::run`, which cannot be
        // running while `drop` has `&mut self`.
        drop(unsafe { Box::from_raw(self.vm.as_ptr()) });
    }
}

impl Arm64Machine {
    /// Builds the machine, writes the device tree and loads the `Image` (`bootargs` is the
    /// device tree's command line).
    ///
    /// # Errors
    ///
    /// Bad configuration (a KVM-style profile: KVM has no Hyper-V interface on arm64), an
    /// image that is not an arm64 `Image` or does not fit RAM, or an emulator failure.
    pub fn new(config: &Config, image: &[u8], bootargs: &str) -> Result<Self, SimError> {
        if !(16..=3072).contains(&config.mem_mib) {
            return Err(SimError::Config(format!(
                "arm64 memory must be 16 to 3072 MiB (RAM from 1 GiB up to the 4 GiB the \
                 kernel maps), not {}",
                config.mem_mib
            )));
        }
        if config.profile.hv.is_some() && config.profile != Profile::hyperv() {
            return Err(SimError::Config(
                "KVM has no Hyper-V emulation on arm64: use --profile hyperv or none".into(),
            ));
        }
        if !is_image(image) {
            return Err(SimError::Elf(
                "not an arm64 Image (no \"ARM\\x64\" magic)".into(),
            ));
        }
        let ram_bytes = config.mem_mib << 20;
        let fits = (IMAGE_ADDR - RAM_BASE)
            .checked_add(image.len() as u64)
            .is_some_and(|end| end <= ram_bytes);
        if !fits {
            return Err(SimError::Elf(format!(
                "an Image of {} bytes does not fit {} MiB of RAM",
                image.len(),
                config.mem_mib
            )));
        }
        let mut engine = Engine::new_arm64(RAM_BASE, ram_bytes).map_err(emulator)?;
        let mut cpu = engine.cpu();
        cpu.write_mem(IMAGE_ADDR, image).map_err(emulator)?;
        cpu.write_mem(DTB_ADDR, &dtb::build(ram_bytes, bootargs))
            .map_err(emulator)?;
        // Unicorn's CPU implements EL3 and EL2 (though it starts at EL1): make EL1 the
        // non-secure AArch64 EL1 that firmware hands a kernel (SCR_EL3.RW|NS, HCR_EL2.RW),
        // leaving SCR_EL3.HCE clear so that `HVC` stays undefined and reaches the model.
        cpu.write_sysreg(SCR_EL3, SCR_EL3_RW | SCR_EL3_NS)
            .map_err(emulator)?;
        cpu.write_sysreg(HCR_EL2, HCR_EL2_RW).map_err(emulator)?;
        cpu.write(R::PSTATE, PSTATE_EL1H_MASKED).map_err(emulator)?;
        cpu.write(R::X0, DTB_ADDR).map_err(emulator)?;
        for reg in [R::X1, R::X2, R::X3] {
            cpu.write(reg, 0).map_err(emulator)?;
        }
        cpu.write(R::PC, IMAGE_ADDR).map_err(emulator)?;
        let vm = Box::new(Vm {
            ram_bytes,
            max_instructions: config.max_instructions,
            max_time_ns: config.max_time_ns,
            now_ns: 0,
            halted_ns: 0,
            instructions: 0,
            uart: Pl011::new(config.echo_serial),
            gic: Gic::default(),
            timer: GenericTimer::default(),
            hv: Hv::new(config.profile.clone(), config.vps),
            stats: Stats::default(),
            current: None,
            stop: None,
        });
        let vm = core::ptr::NonNull::from(Box::leak(vm));
        // SAFETY: `vm` stays valid until `Arm64Machine::drop`, which runs after the last
        // `Engine::run`; between runs the machine only touches it through `vm()`, never
        // while the engine runs.
        unsafe { engine.install_arm64(vm.as_ptr()) }.map_err(emulator)?;
        // SAFETY: the handler installed just above is a `Vm`.
        unsafe { engine.map_mmio::<Vm, GICD_BASE>(GICD_SIZE) }.map_err(emulator)?;
        // SAFETY: as above.
        unsafe { engine.map_mmio::<Vm, GICR_BASE>(GICR_SIZE) }.map_err(emulator)?;
        // SAFETY: as above.
        unsafe { engine.map_mmio::<Vm, PL011_BASE>(PL011_SIZE) }.map_err(emulator)?;
        Ok(Self {
            engine,
            vm,
            wall_ns: 0,
        })
    }

    fn vm(&self) -> &Vm {
        // SAFETY: no hook runs outside `Engine::run`, so no `&mut Vm` exists now.
        unsafe { self.vm.as_ref() }
    }

    fn parts(&mut self) -> (&mut Engine, &mut Vm) {
        // SAFETY: as in `vm()`; the engine and the VM are distinct objects.
        (&mut self.engine, unsafe { self.vm.as_mut() })
    }

    /// Everything the guest wrote to the UART.
    #[must_use]
    pub fn serial(&self) -> &[u8] {
        self.vm().uart.output()
    }

    /// The exit counters so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let vm = self.vm();
        let mut stats = vm.stats.clone();
        stats.instructions = vm.instructions;
        stats.virtual_ns = vm.now_ns;
        stats
    }

    /// Wall-clock time spent running the guest, in nanoseconds.
    #[must_use]
    pub fn wall_ns(&self) -> u128 {
        self.wall_ns
    }

    /// Reads guest physical memory.
    ///
    /// # Errors
    ///
    /// The range is not RAM.
    pub fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> Result<(), SimError> {
        self.engine.cpu().read_mem(gpa, buf).map_err(emulator)
    }

    /// Runs the guest until it exits or the run fails.
    ///
    /// # Errors
    ///
    /// Every way a run can fail: see [`SimError`].
    pub fn run(&mut self) -> Result<Exit, SimError> {
        let start = std::time::Instant::now();
        let result = self.run_inner();
        self.wall_ns += start.elapsed().as_nanos();
        result
    }

    fn run_inner(&mut self) -> Result<Exit, SimError> {
        let mut pc = self.engine.cpu().read(R::PC).map_err(emulator)?;
        loop {
            let (engine, _) = self.parts();
            let result = engine.run(pc);
            let (engine, vm) = self.parts();
            let mut cpu = engine.cpu();
            pc = cpu.read(R::PC).map_err(emulator)?;
            match (vm.stop.take(), result) {
                (Some(Stop::Exit(exit)), _) => return Ok(exit),
                (Some(Stop::Error(error)), _) => return Err(error),
                (None, Err(error)) => return Err(SimError::Emulator { error, rip: pc }),
                (None, Ok(())) => {
                    vm.wait(&mut cpu, pc)?;
                    pc = cpu.read(R::PC).map_err(emulator)?;
                }
            }
        }
    }
}

impl Vm {
    /// `WFI` (the only way a run returns without a stop): waits for an interrupt the GIC
    /// signals, advancing virtual time to the next timer deadline, and takes it if PSTATE.I
    /// allows (a masked one only wakes the processor, as the architecture has it).
    fn wait(&mut self, cpu: &mut Cpu<'_>, pc: u64) -> Result<(), SimError> {
        self.stats.hlt += 1;
        self.current = None;
        loop {
            if self.gic.signalled().is_some() {
                self.try_interrupt(cpu);
                return match self.stop.take() {
                    Some(Stop::Error(error)) => Err(error),
                    Some(Stop::Exit(_)) | None => Ok(()),
                };
            }
            let interrupts_enabled = cpu.read(R::PSTATE).map_err(emulator)? & PSTATE_I == 0;
            let Some(deadline) = self.next_deadline_ns() else {
                return Err(SimError::HaltedForever {
                    rip: pc,
                    interrupts_enabled,
                });
            };
            if let Some(limit_ns) = self.max_time_ns
                && deadline > limit_ns
            {
                return Err(SimError::TimeLimit { limit_ns, rip: pc });
            }
            let wait = deadline.saturating_sub(self.now_ns).max(1);
            self.halted_ns += wait;
            self.advance(cpu, wait);
        }
    }
}
