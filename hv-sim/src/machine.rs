//! The machine: RAM, the boot state of the 64-bit entry, the devices, the virtual clock,
//! the run loop and the hooks that turn Unicorn events into model exits.

use std::collections::{HashMap, HashSet};
use std::ptr::NonNull;

use iced_x86::{Code, Decoder, DecoderOptions, Register};
use object::read::elf::ProgramHeader as _;
use object::{Object, ObjectSegment};
use unicorn_engine::unicorn_const::RegisterX86 as R;

use crate::apic::Apic;
use crate::error::{Exit, SimError};
use crate::hv::{Partition, Vp};
use crate::profile::Profile;
use crate::smp::Sched;
use crate::stats::{Stats, bump};
use crate::uart::{COM1, Uart};
use crate::uc::{Cpu, Engine, Handler, UcError, Unmapped};
use crate::vmbus::{Misbehaviour, Server as VmbusHost, VmbusChoice};
use crate::vsm::VsmState;
use crate::x86::{self, Delivered, EventKind, Fault};

/// Virtual nanoseconds per guest instruction (a 1 GHz, one-instruction-per-cycle CPU).
pub const NS_PER_INSTRUCTION: u64 = 1;
/// TSC frequency in Hz: the TSC counts 5 ticks per 2 virtual nanoseconds.
pub const TSC_HZ: u64 = 2_500_000_000;
/// APIC timer frequency reported by `HV_X64_MSR_APIC_FREQUENCY`.
pub const APIC_HZ: u64 = 200_000_000;

/// How often the reference TSC page is republished by default: every millisecond.
pub const DEFAULT_REFTSC_UPDATE_NS: u64 = 1_000_000;

/// The QEMU `isa-debug-exit` port.
const DEBUG_EXIT_PORT: u16 = 0xF4;

/// Guest physical layout of the boot structures (all below 64 KiB, reported reserved).
const GDT_GPA: u64 = 0x1000;
const START_INFO_GPA: u64 = 0x2000;
const MEMMAP_GPA: u64 = 0x2100;
/// The ACPI tables (RSDP first), see [`crate::acpi`].
const ACPI_GPA: u64 = 0x2200;
pub(crate) const PML4_GPA: u64 = 0x3000;
const PDPT_GPA: u64 = 0x4000;
const PD_GPA: u64 = 0x5000;
const BOOT_AREA_END: u64 = 0x1_0000;
/// Where the native CPUID probe runs before the guest is loaded.
const PROBE_GPA: u64 = 0x8000;
/// Code segment selector of the boot GDT.
pub(crate) const BOOT_CS: u16 = 0x08;
/// Data segment selector of the boot GDT.
const BOOT_DS: u16 = 0x10;

/// `hvm_start_info` magic (Xen `arch-x86/hvm/start_info.h`).
const HVM_START_MAGIC: u32 = 0x336E_C578;

/// Machine configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// RAM in MiB (at least 2, at most 65536), at guest physical address 0.
    pub mem_mib: u64,
    /// Number of virtual processors (1–64). VP 0 starts at the boot entry; the others wait
    /// for a SIPI or `HvCallStartVirtualProcessor` (see the `smp` module docs of the crate).
    pub vps: u32,
    /// Stop with [`SimError::InstructionLimit`] after this many instructions.
    pub max_instructions: Option<u64>,
    /// Stop with [`SimError::TimeLimit`] after this much virtual time.
    pub max_time_ns: Option<u64>,
    /// The partition profile.
    pub profile: Profile,
    /// Copy serial output to standard output as it is written.
    pub echo_serial: bool,
    /// At most this many reps of a rep hypercall are completed per `vmcall`; the rest
    /// continue per TLFS 3.3 (RIP not advanced, RCX's rep start index updated).
    pub reps_per_call: u16,
    /// While the reference TSC page is enabled, republish it (new sequence) every this
    /// many virtual nanoseconds, at the guest's next RDTSC (see the `reftsc` module).
    pub reftsc_update_ns: Option<u64>,
    /// Every Nth republication of the reference TSC page sets its sequence to 0 (invalid)
    /// until the next one; 0 never does.
    pub reftsc_invalid_every: u32,
    /// The VMBus server (see the `vmbus` module).
    pub vmbus: VmbusChoice,
    /// A way the VMBus server breaks the protocol on purpose, for tests.
    pub vmbus_misbehaviour: Option<Misbehaviour>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mem_mib: 128,
            vps: 2,
            max_instructions: None,
            max_time_ns: None,
            profile: Profile::kvm(),
            echo_serial: false,
            reps_per_call: 2,
            reftsc_update_ns: Some(DEFAULT_REFTSC_UPDATE_NS),
            reftsc_invalid_every: 0,
            vmbus: VmbusChoice::Default,
            vmbus_misbehaviour: None,
        }
    }
}

/// What the guest code is.
#[derive(Clone, Debug)]
pub enum Image<'a> {
    /// An ELF64 x86-64 executable, loaded at its segments' physical addresses and entered
    /// at `e_entry`.
    Elf(&'a [u8]),
    /// Raw code loaded at `load` and entered there (for tests).
    Flat {
        /// Load and entry address.
        load: u64,
        /// The bytes.
        code: &'a [u8],
    },
}

/// A translation block seen before.
#[derive(Copy, Clone, Debug)]
struct Block {
    size: u32,
    instructions: u64,
    /// The last instruction is STI or MOV/POP SS: the next instruction cannot be
    /// interrupted.
    ends_in_shadow: bool,
    /// The code size the block was decoded with (16, 32 or 64).
    bits: u32,
}

/// Why a hook stopped the engine.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The run is over.
    Exit(Exit),
    /// The run failed.
    Error(SimError),
    /// New instruction sites need code hooks; resume at the same RIP afterwards.
    Rescan,
    /// The running VP's time slice is over; resume another runnable VP.
    Switch,
    /// The running VP read `HV_X64_MSR_GUEST_IDLE` (TLFS 7.5): idle it until an interrupt,
    /// even a masked one, is pending.
    Idle,
}

/// The model state every hook works on.
#[derive(Debug)]
pub(crate) struct Vm {
    pub(crate) profile: Profile,
    pub(crate) ram_bytes: u64,
    max_instructions: Option<u64>,
    pub(crate) max_time_ns: Option<u64>,
    pub(crate) reps_per_call: u16,
    pub(crate) reftsc_update_ns: Option<u64>,
    pub(crate) reftsc_invalid_every: u32,
    /// The VMBus server, if one runs.
    pub(crate) vmbus: Option<VmbusHost>,
    /// Virtual time in ns.
    pub(crate) now_ns: u64,
    /// Offset added to the TSC by IA32_TSC writes.
    pub(crate) tsc_offset: i128,
    pub(crate) instructions: u64,
    pub(crate) uart: Uart,
    pub(crate) stats: Stats,
    pub(crate) vps: Vec<Vp>,
    /// Which VP runs; the others' CPU state.
    pub(crate) sched: Sched,
    pub(crate) part: Partition,
    /// Virtual Secure Mode: VTLs, protections.
    pub(crate) vsm: VsmState,
    blocks: HashMap<u64, Block>,
    hooked: HashSet<u64>,
    pending_sites: Vec<u64>,
    /// Start of a block that lies in an interrupt shadow.
    pub(crate) shadow_at: Option<u64>,
    pub(crate) stop: Option<Stop>,
    native_leaf1: [u32; 4],
    /// The block being executed (start, size, instructions charged), until cut short.
    current: Option<(u64, u32, u64)>,
    /// The code size of the block being executed (16, 32 or 64).
    bits: u32,
}

impl Vm {
    /// The virtual TSC.
    pub(crate) fn tsc(&self) -> u64 {
        let ticks = i128::from(self.now_ns) * i128::from(TSC_HZ / 500_000_000) / 2;
        (ticks + self.tsc_offset) as u64
    }

    /// The partition reference counter in 100 ns units (TLFS 12.4).
    pub(crate) fn ref_time(&self) -> u64 {
        self.now_ns / 100
    }

    pub(crate) fn finish(&mut self, cpu: &mut Cpu<'_>, stop: Stop) {
        self.stop = Some(stop);
        if let Err(error) = cpu.stop() {
            self.stop = Some(Stop::Error(SimError::Emulator { error, rip: 0 }));
        }
    }

    /// Records an emulator error and stops.
    pub(crate) fn fail(&mut self, cpu: &mut Cpu<'_>, error: SimError) {
        self.finish(cpu, Stop::Error(error));
    }

    /// Delivers an exception at the current RIP, escalating to #DF and triple fault.
    pub(crate) fn inject_exception(
        &mut self,
        cpu: &mut Cpu<'_>,
        vector: u8,
        error_code: Option<u32>,
    ) {
        bump(&mut self.stats.exception, vector);
        let rip = cpu.read(R::RIP).unwrap_or(0);
        let result = match x86::deliver(cpu, vector, EventKind::Exception(error_code)) {
            Err(_) if vector == 8 => Err(SimError::TripleFault { vector, rip }),
            Err(Fault::Emulator(error)) => Err(SimError::Emulator { error, rip }),
            Err(_) => {
                bump(&mut self.stats.exception, 8);
                match x86::deliver(cpu, 8, EventKind::Exception(Some(0))) {
                    Ok(Delivered::Done) => Ok(()),
                    Ok(Delivered::PrivilegeChange) => {
                        Err(SimError::PrivilegeChange { vector: 8, rip })
                    }
                    Err(_) => Err(SimError::TripleFault { vector, rip }),
                }
            }
            Ok(Delivered::Done) => Ok(()),
            Ok(Delivered::PrivilegeChange) => Err(SimError::PrivilegeChange { vector, rip }),
        };
        if let Err(error) = result {
            self.fail(cpu, error);
        }
    }

    /// The running VP.
    pub(crate) fn vp(&self) -> &Vp {
        &self.vps[self.cur()]
    }

    /// The running VP.
    pub(crate) fn vp_mut(&mut self) -> &mut Vp {
        let cur = self.cur();
        &mut self.vps[cur]
    }

    /// Forgets the block being executed (another VP's state is loaded).
    pub(crate) fn forget_block(&mut self) {
        self.current = None;
    }

    /// Delivers the highest deliverable APIC interrupt of the running VP if RFLAGS.IF
    /// allows it. Returns whether one was delivered.
    pub(crate) fn try_interrupt(&mut self, cpu: &mut Cpu<'_>) -> bool {
        self.assist_sync(cpu, self.cur());
        let Some(vector) = self.vp_mut().apic.deliverable() else {
            return false;
        };
        match cpu.read(R::RFLAGS) {
            Ok(flags) if flags & (1 << 9) != 0 => {}
            _ => return false,
        }
        self.assist_withdraw(cpu, self.cur());
        // TLFS 11.8.5: AutoEOI ends the interrupt on delivery, without ISR bookkeeping;
        // that EOI lets queued messages in like any other.
        let auto_eoi = self.vp_mut().synic.is_auto_eoi(vector);
        self.vp_mut().apic.acknowledge(vector, auto_eoi);
        if auto_eoi {
            self.synic_scan(cpu, self.cur());
        } else {
            self.assist_arm(cpu, 0, vector);
        }
        bump(&mut self.stats.interrupt, vector);
        let rip = cpu.read(R::RIP).unwrap_or(0);
        match x86::deliver(cpu, vector, EventKind::External) {
            Ok(Delivered::Done) => true,
            Ok(Delivered::PrivilegeChange) => {
                self.fail(cpu, SimError::PrivilegeChange { vector, rip });
                true
            }
            Err(Fault::Emulator(error)) => {
                self.fail(cpu, SimError::Emulator { error, rip });
                true
            }
            Err(Fault::Page {
                address,
                error_code,
            }) => {
                if cpu.write(R::CR2, address).is_err() {
                    self.fail(cpu, SimError::TripleFault { vector, rip });
                } else {
                    self.inject_exception(cpu, 14, Some(error_code));
                }
                true
            }
            Err(Fault::Gp(code)) => {
                self.inject_exception(cpu, 13, Some(code));
                true
            }
            Err(Fault::NotPresent(code)) => {
                self.inject_exception(cpu, 11, Some(code));
                true
            }
        }
    }

    /// Advances virtual time by `ns` and fires the timers that expire.
    pub(crate) fn advance(&mut self, cpu: &mut Cpu<'_>, ns: u64) {
        self.now_ns += ns;
        // Readers of an invalid page read no TSC, so the update that makes it valid again
        // comes with time, not with an RDTSC.
        if self.part.reftsc.is_invalid() {
            self.reftsc_tick(cpu, self.now_ns);
        }
        for vp in 0..self.vps.len() {
            self.run_timers(cpu, vp);
        }
        if self
            .vmbus_deadline_ns()
            .is_some_and(|due| due <= self.now_ns)
        {
            self.vmbus_run(cpu);
        }
    }

    /// The earliest timer deadline that can wake a VP, in ns.
    pub(crate) fn next_deadline_ns(&self) -> Option<u64> {
        let timers = (0..self.vps.len())
            .filter_map(|vp| self.next_timer(vp))
            .min()
            .map(|r| r.saturating_mul(100));
        timers.into_iter().chain(self.vmbus_deadline_ns()).min()
    }

    /// The current block ends before `at` (a hook moved RIP or stopped the engine):
    /// refunds the instructions from `at` to the block's end, which were charged when the
    /// block started but will not run (or will be charged again by the block at `at`).
    pub(crate) fn cut_block(&mut self, cpu: &Cpu<'_>, at: u64) {
        let refund = self.unexecuted(cpu, at);
        self.current = None;
        self.instructions -= refund;
        self.now_ns -= refund * NS_PER_INSTRUCTION;
    }

    /// Instructions of the current block from `at` to its end (charged, not yet run).
    fn unexecuted(&self, cpu: &Cpu<'_>, at: u64) -> u64 {
        let Some((start, size, charged)) = self.current else {
            return 0;
        };
        if at < start || at >= start + u64::from(size) {
            return 0;
        }
        let mut bytes = vec![0u8; (at - start) as usize];
        if x86::read_linear(cpu, start, &mut bytes).is_err() {
            return 0;
        }
        let mut decoder = Decoder::with_ip(self.bits, &bytes, start, DecoderOptions::NONE);
        let mut executed = 0;
        while decoder.can_decode() {
            let _ = decoder.decode();
            executed += 1;
        }
        charged.saturating_sub(executed)
    }

    fn decode_block(
        &mut self,
        cpu: &Cpu<'_>,
        address: u64,
        size: u32,
        bits: u32,
    ) -> Result<Block, Fault> {
        let mut bytes = vec![0u8; size as usize];
        x86::read_linear(cpu, address, &mut bytes)?;
        let mut decoder = Decoder::with_ip(bits, &bytes, address, DecoderOptions::NONE);
        let mut instructions = 0;
        let mut last = Code::INVALID;
        let mut last_ss = false;
        while decoder.can_decode() {
            let insn = decoder.decode();
            instructions += 1;
            last = insn.code();
            last_ss = insn.op0_register() == Register::SS;
            let traps = matches!(insn.code(), Code::Rdmsr | Code::Wrmsr)
                || (matches!(insn.code(), Code::Mov_r64_cr | Code::Mov_cr_r64)
                    && (insn.op0_register() == Register::CR8
                        || insn.op1_register() == Register::CR8));
            if traps && !self.hooked.contains(&insn.ip()) {
                self.pending_sites.push(insn.ip());
            }
        }
        Ok(Block {
            size,
            instructions,
            ends_in_shadow: last == Code::Sti || (last_ss && last == Code::Mov_Sreg_rm16),
            bits,
        })
    }
}

impl Handler for Vm {
    fn on_block(&mut self, cpu: &mut Cpu<'_>, address: u64, size: u32) {
        let bits = x86::code_bits(cpu);
        let block = match self.blocks.get(&address) {
            Some(block) if block.size == size && block.bits == bits => *block,
            _ => match self.decode_block(cpu, address, size, bits) {
                Ok(block) => {
                    self.blocks.insert(address, block);
                    if !self.pending_sites.is_empty() {
                        self.finish(cpu, Stop::Rescan);
                        return;
                    }
                    block
                }
                Err(_) => Block {
                    size,
                    instructions: 1,
                    ends_in_shadow: false,
                    bits,
                },
            },
        };
        if self.preempt(block.instructions) {
            self.finish(cpu, Stop::Switch);
            return;
        }
        self.bits = bits;
        let in_shadow = self.shadow_at == Some(address);
        self.shadow_at = block.ends_in_shadow.then(|| address + u64::from(size));
        if !in_shadow && self.vp().apic.has_pending() && self.try_interrupt(cpu) {
            return;
        }
        self.instructions += block.instructions;
        self.current = Some((address, size, block.instructions));
        self.advance(cpu, block.instructions * NS_PER_INSTRUCTION);
        if let Some(limit) = self.max_instructions
            && self.instructions > limit
        {
            self.fail(
                cpu,
                SimError::InstructionLimit {
                    limit,
                    rip: address,
                },
            );
        } else if let Some(limit_ns) = self.max_time_ns
            && self.now_ns > limit_ns
        {
            self.fail(
                cpu,
                SimError::TimeLimit {
                    limit_ns,
                    rip: address,
                },
            );
        }
    }

    fn on_code(&mut self, cpu: &mut Cpu<'_>, address: u64) {
        let mut bytes = [0u8; 16];
        if x86::read_linear(cpu, address, &mut bytes).is_err() {
            return;
        }
        let mut decoder = Decoder::with_ip(self.bits, &bytes, address, DecoderOptions::NONE);
        let insn = decoder.decode();
        let len = insn.len() as u64;
        self.cut_block(cpu, address + len);
        // RIP is the offset in CS, which differs from the linear address in real mode.
        let next = cpu.read(R::RIP).unwrap_or(address) + len;
        match insn.code() {
            Code::Rdmsr => self.rdmsr(cpu, next),
            Code::Wrmsr => self.wrmsr(cpu, next),
            Code::Mov_r64_cr if insn.op1_register() == Register::CR8 => {
                let tpr = u64::from(self.vp().apic.tpr() >> 4);
                if let Some(reg) = gpr(insn.op0_register()) {
                    let _ = cpu.write(reg, tpr);
                }
                let _ = cpu.write(R::RIP, next);
            }
            Code::Mov_cr_r64 if insn.op0_register() == Register::CR8 => {
                let value = gpr(insn.op1_register()).map_or(0, |reg| cpu.read(reg).unwrap_or(0));
                if value > 0xF {
                    self.inject_exception(cpu, 13, Some(0));
                    return;
                }
                self.vp_mut().apic.set_tpr((value as u8) << 4);
                let _ = cpu.write(R::RIP, next);
                self.try_interrupt(cpu);
            }
            _ => {}
        }
    }

    fn on_cpuid(&mut self, cpu: &mut Cpu<'_>) -> bool {
        let leaf = cpu.read(R::RAX).unwrap_or(0) as u32;
        bump(&mut self.stats.cpuid, leaf);
        let regs = match leaf {
            1 => {
                let [eax, ebx, mut ecx, edx] = self.native_leaf1;
                // x2APIC (21) present, TSC-deadline (24) not modelled, hypervisor (31)
                // per profile.
                ecx = (ecx | (1 << 21)) & !(1 << 24) & !(1 << 31);
                if self.profile.hv.is_some() {
                    ecx |= 1 << 31;
                }
                let ebx = (ebx & 0x00FF_FFFF) | (self.vp().apic.id() << 24);
                [eax, ebx, ecx, edx]
            }
            0x4000_0000..=0x4FFF_FFFF => self.profile.cpuid(leaf, self.part.guest_os_id != 0),
            _ => return false,
        };
        for (reg, value) in [R::RAX, R::RBX, R::RCX, R::RDX].into_iter().zip(regs) {
            let _ = cpu.write(reg, u64::from(value));
        }
        true
    }

    fn on_rdtsc(&mut self, cpu: &mut Cpu<'_>, rdtscp: bool) -> bool {
        self.stats.rdtsc += 1;
        // The time at this instruction: the rest of the block has been charged already.
        let rip = cpu.read(R::RIP).unwrap_or(0);
        let ahead = self.unexecuted(cpu, rip + 1) * NS_PER_INSTRUCTION;
        self.now_ns -= ahead;
        let tsc = self.tsc();
        let at_ns = self.now_ns;
        self.now_ns += ahead;
        self.reftsc_tick(cpu, at_ns);
        let _ = cpu.write(R::RAX, tsc & 0xFFFF_FFFF);
        let _ = cpu.write(R::RDX, tsc >> 32);
        if rdtscp {
            let _ = cpu.write(R::RCX, u64::from(self.vp().index));
        }
        true
    }

    fn on_in(&mut self, _cpu: &mut Cpu<'_>, port: u16, size: u8) -> u32 {
        bump(&mut self.stats.io_in, port);
        match port {
            COM1..=0x3FF => u32::from(self.uart.read(port - COM1)),
            _ => match size {
                1 => 0xFF,
                2 => 0xFFFF,
                _ => 0xFFFF_FFFF,
            },
        }
    }

    fn on_out(&mut self, cpu: &mut Cpu<'_>, port: u16, _size: u8, value: u32) {
        bump(&mut self.stats.io_out, port);
        match port {
            COM1..=0x3FF => self.uart.write(port - COM1, value as u8),
            DEBUG_EXIT_PORT => {
                let rip = cpu.read(R::RIP).unwrap_or(0);
                let mut decoder = [0u8; 16];
                let len = x86::read_linear(cpu, rip, &mut decoder)
                    .map(|()| {
                        Decoder::with_ip(64, &decoder, rip, DecoderOptions::NONE)
                            .decode()
                            .len()
                    })
                    .unwrap_or(1);
                self.cut_block(cpu, rip + len as u64);
                self.finish(cpu, Stop::Exit(Exit::DebugExit(value)));
            }
            _ => {}
        }
    }

    fn on_invalid(&mut self, cpu: &mut Cpu<'_>) -> bool {
        let rip = cpu.read(R::RIP).unwrap_or(0);
        self.cut_block(cpu, rip + 1);
        if self.at_hypercall(cpu, rip) {
            self.hypercall(cpu, rip);
        } else {
            self.inject_exception(cpu, 6, None);
        }
        true
    }

    fn on_interrupt(&mut self, cpu: &mut Cpu<'_>, vector: u32) {
        let vector = vector as u8;
        let rip = cpu.read(R::RIP).unwrap_or(0);
        self.cut_block(cpu, rip + 1);
        match vector {
            // Exceptions with an error code. Unicorn does not expose the code it computed:
            // #PF's is rebuilt from a page walk; the others report 0.
            14 => {
                let cr2 = cpu.read(R::CR2).unwrap_or(0);
                let cs = cpu.read(R::CS).unwrap_or(0);
                let user = cs & 3 == 3;
                let code = match x86::translate(cpu, cr2, false, user) {
                    Err(Fault::Page { error_code, .. }) => error_code,
                    _ => 3 | (u32::from(user) << 2),
                };
                self.inject_exception(cpu, 14, Some(code));
            }
            8 | 10..=13 | 17 | 21 => self.inject_exception(cpu, vector, Some(0)),
            0..=31 => self.inject_exception(cpu, vector, None),
            _ => {
                bump(&mut self.stats.exception, vector);
                let rip = cpu.read(R::RIP).unwrap_or(0);
                match x86::deliver(cpu, vector, EventKind::Software) {
                    Ok(Delivered::Done) => {}
                    Ok(Delivered::PrivilegeChange) => {
                        self.fail(cpu, SimError::PrivilegeChange { vector, rip });
                    }
                    Err(Fault::Gp(code)) => self.inject_exception(cpu, 13, Some(code)),
                    Err(Fault::NotPresent(code)) => self.inject_exception(cpu, 11, Some(code)),
                    Err(Fault::Page {
                        address,
                        error_code,
                    }) => {
                        let _ = cpu.write(R::CR2, address);
                        self.inject_exception(cpu, 14, Some(error_code));
                    }
                    Err(Fault::Emulator(error)) => {
                        self.fail(cpu, SimError::Emulator { error, rip });
                    }
                }
            }
        }
    }

    fn on_protected(&mut self, cpu: &mut Cpu<'_>, kind: Unmapped, address: u64) {
        self.vsm_violation(cpu, kind, address);
    }

    fn on_step(&mut self, cpu: &mut Cpu<'_>, address: u64) {
        self.vsm_step(cpu, address);
    }

    fn on_unmapped(&mut self, cpu: &mut Cpu<'_>, kind: Unmapped, address: u64, _size: usize) {
        let rip = cpu.read(R::RIP).unwrap_or(0);
        self.cut_block(cpu, rip + 1);
        self.stop = Some(Stop::Error(SimError::Unmapped { kind, address, rip }));
    }
}

impl Vm {
    /// Whether the instruction at `rip` is VMCALL or VMMCALL.
    fn at_hypercall(&self, cpu: &Cpu<'_>, rip: u64) -> bool {
        let mut bytes = [0u8; 3];
        x86::read_linear(cpu, rip, &mut bytes).is_ok()
            && (bytes == [0x0F, 0x01, 0xC1] || bytes == [0x0F, 0x01, 0xD9])
    }
}

/// The 64-bit general-purpose register for an iced register.
fn gpr(reg: Register) -> Option<R> {
    Some(match reg {
        Register::RAX => R::RAX,
        Register::RBX => R::RBX,
        Register::RCX => R::RCX,
        Register::RDX => R::RDX,
        Register::RSI => R::RSI,
        Register::RDI => R::RDI,
        Register::RBP => R::RBP,
        Register::RSP => R::RSP,
        Register::R8 => R::R8,
        Register::R9 => R::R9,
        Register::R10 => R::R10,
        Register::R11 => R::R11,
        Register::R12 => R::R12,
        Register::R13 => R::R13,
        Register::R14 => R::R14,
        Register::R15 => R::R15,
        _ => return None,
    })
}

/// A machine ready to run a guest.
#[derive(Debug)]
pub struct Machine {
    engine: Engine,
    vm: NonNull<Vm>,
    entry: u64,
    /// Wall-clock nanoseconds spent in the emulator, for performance reports only.
    wall_ns: u128,
}

impl Drop for Machine {
    fn drop(&mut self) {
        // SAFETY: `vm` came from `Box::leak` in `Machine::new` and is reclaimed only here.
        // Hooks, the only other users, run only inside `Engine::run`, which cannot be
        // running while `drop` has `&mut self`.
        drop(unsafe { Box::from_raw(self.vm.as_ptr()) });
    }
}

fn emulator(error: UcError) -> SimError {
    SimError::Emulator { error, rip: 0 }
}

impl Machine {
    /// Builds the machine and loads `image`.
    ///
    /// # Errors
    ///
    /// Bad configuration, an image that does not fit RAM, or an emulator failure.
    pub fn new(config: &Config, image: &Image<'_>) -> Result<Self, SimError> {
        if !(2..=65536).contains(&config.mem_mib) {
            return Err(SimError::Config(format!(
                "memory must be 2 to 65536 MiB, not {}",
                config.mem_mib
            )));
        }
        if !(1..=64).contains(&config.vps) {
            return Err(SimError::Config(format!(
                "VP count must be 1 to 64, not {}",
                config.vps
            )));
        }
        if config.reps_per_call == 0 {
            return Err(SimError::Config("reps per call must be at least 1".into()));
        }
        let ram_bytes = config.mem_mib << 20;
        let mut engine = Engine::new(ram_bytes).map_err(emulator)?;
        let sched = Sched::new(&mut engine.cpu(), config.vps as usize).map_err(emulator)?;
        let native_leaf1 = probe_leaf1(&mut engine)?;
        let entry = load(&mut engine.cpu(), image, ram_bytes)?;
        boot_state(&mut engine.cpu(), ram_bytes, entry, config.vps)?;
        let vps = (0..config.vps)
            .map(|index| Vp::new(index, Apic::new(index, index == 0)))
            .collect();
        let vm = Box::new(Vm {
            profile: config.profile.clone(),
            ram_bytes,
            max_instructions: config.max_instructions,
            max_time_ns: config.max_time_ns,
            reps_per_call: config.reps_per_call,
            reftsc_update_ns: config.reftsc_update_ns.filter(|&ns| ns > 0),
            reftsc_invalid_every: config.reftsc_invalid_every,
            vmbus: config
                .vmbus
                .resolve(&config.profile)
                .map(|server| VmbusHost::new(server, config.vmbus_misbehaviour)),
            now_ns: 0,
            tsc_offset: 0,
            instructions: 0,
            uart: Uart::new(config.echo_serial),
            stats: Stats::default(),
            vps,
            sched,
            part: Partition::default(),
            vsm: VsmState::new(config.vps as usize),
            blocks: HashMap::new(),
            hooked: HashSet::new(),
            pending_sites: Vec::new(),
            shadow_at: None,
            stop: None,
            native_leaf1,
            current: None,
            bits: 64,
        });
        let vm = NonNull::from(Box::leak(vm));
        // SAFETY: `vm` stays valid until `Machine::drop`, which runs after the last
        // `Engine::run`; between runs the machine only touches it through `vm()`, never
        // while the engine runs.
        unsafe { engine.install(vm.as_ptr()) }.map_err(emulator)?;
        Ok(Self {
            engine,
            vm,
            entry,
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

    /// Everything the guest wrote to the serial port.
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
        for (i, vp) in vm.vps.iter().enumerate() {
            let instructions = vm.vp_runtime_ns(i) / NS_PER_INSTRUCTION;
            if instructions > 0 {
                stats.vp_instructions.insert(vp.index, instructions);
            }
        }
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

    /// Writes guest physical memory (for test set-ups).
    ///
    /// # Errors
    ///
    /// The range is not RAM.
    pub fn write_phys(&mut self, gpa: u64, bytes: &[u8]) -> Result<(), SimError> {
        self.engine.cpu().write_mem(gpa, bytes).map_err(emulator)
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
        let mut rip = self.entry;
        loop {
            let (engine, _) = self.parts();
            let result = engine.run(rip);
            let (engine, vm) = self.parts();
            let mut cpu = engine.cpu();
            rip = cpu.read(R::RIP).map_err(emulator)?;
            match (vm.stop.take(), result) {
                (Some(Stop::Exit(exit)), _) => return Ok(exit),
                (Some(Stop::Error(error)), _) => return Err(error),
                (Some(Stop::Switch), _) => {
                    vm.reschedule(&mut cpu)?;
                    rip = cpu.read(R::RIP).map_err(emulator)?;
                }
                (Some(Stop::Rescan), _) => {
                    for site in std::mem::take(&mut vm.pending_sites) {
                        if vm.hooked.insert(site) {
                            cpu.hook_code_at(site).map_err(emulator)?;
                            cpu.flush_code(site, site + 1).map_err(emulator)?;
                        }
                    }
                }
                // A VTL 0 access a VTL protection forbade ended the block (`vsm`).
                (None, Err(error)) => {
                    if !vm.vsm_deliver_pending(&mut cpu)? {
                        return Err(SimError::Emulator { error, rip });
                    }
                    rip = cpu.read(R::RIP).map_err(emulator)?;
                }
                (None, Ok(())) if vm.at_hypercall(&cpu, rip) => {
                    // Unicorn sometimes ends a run at a VMCALL/VMMCALL without reporting
                    // it as an invalid instruction (seen when a code hook moved RIP in the
                    // block that follows a rescan; test
                    // `hypercall_after_a_rescan_is_served`). Serve it as the hook would.
                    vm.on_invalid(&mut cpu);
                    rip = cpu.read(R::RIP).map_err(emulator)?;
                    match vm.stop.take() {
                        Some(Stop::Exit(exit)) => return Ok(exit),
                        Some(Stop::Error(error)) => return Err(error),
                        Some(Stop::Rescan | Stop::Switch | Stop::Idle) | None => {}
                    }
                }
                (Some(Stop::Idle), _) => {
                    vm.halt(&mut cpu, rip, true)?;
                    rip = cpu.read(R::RIP).map_err(emulator)?;
                }
                (None, Ok(())) => {
                    vm.halt(&mut cpu, rip, false)?;
                    rip = cpu.read(R::RIP).map_err(emulator)?;
                }
            }
        }
    }
}

/// Runs `mov eax, 1; xor ecx, ecx; cpuid; hlt` before any hook exists, to learn the
/// leaf-1 values of Unicorn's CPU model.
fn probe_leaf1(engine: &mut Engine) -> Result<[u32; 4], SimError> {
    const PROBE: [u8; 10] = [0xB8, 0x01, 0, 0, 0, 0x31, 0xC9, 0x0F, 0xA2, 0xF4];
    engine
        .cpu()
        .write_mem(PROBE_GPA, &PROBE)
        .map_err(emulator)?;
    engine.run(PROBE_GPA).map_err(emulator)?;
    let mut cpu = engine.cpu();
    let mut out = [0u32; 4];
    for (slot, reg) in out.iter_mut().zip([R::RAX, R::RBX, R::RCX, R::RDX]) {
        *slot = cpu.read(reg).map_err(emulator)? as u32;
    }
    cpu.write_mem(PROBE_GPA, &[0; PROBE.len()])
        .map_err(emulator)?;
    Ok(out)
}

/// Loads the image into RAM; returns the entry point.
fn load(cpu: &mut Cpu<'_>, image: &Image<'_>, ram_bytes: u64) -> Result<u64, SimError> {
    let fits = |start: u64, len: u64| {
        start >= BOOT_AREA_END && start.checked_add(len).is_some_and(|end| end <= ram_bytes)
    };
    match image {
        Image::Flat { load, code } => {
            if !fits(*load, code.len() as u64) {
                return Err(SimError::Elf(format!(
                    "{} bytes at {load:#x} do not fit RAM above the boot area",
                    code.len()
                )));
            }
            cpu.write_mem(*load, code).map_err(emulator)?;
            Ok(*load)
        }
        Image::Elf(bytes) => {
            let file = object::read::elf::ElfFile64::<object::Endianness>::parse(*bytes)
                .map_err(|e| SimError::Elf(e.to_string()))?;
            if file.architecture() != object::Architecture::X86_64 {
                return Err(SimError::Elf(format!(
                    "not an x86-64 image ({:?})",
                    file.architecture()
                )));
            }
            let endian = file.endian();
            for segment in file.segments() {
                let header = segment.elf_program_header();
                if header.p_type(endian) != object::elf::PT_LOAD {
                    continue;
                }
                let paddr = header.p_paddr(endian);
                let memsz = header.p_memsz(endian);
                let data = segment.data().map_err(|e| SimError::Elf(e.to_string()))?;
                if !fits(paddr, memsz) || data.len() as u64 > memsz {
                    return Err(SimError::Elf(format!(
                        "segment at {paddr:#x} ({memsz:#x} bytes) does not fit RAM above the \
                         boot area"
                    )));
                }
                cpu.write_mem(paddr, data).map_err(emulator)?;
                let bss = vec![0u8; (memsz - data.len() as u64) as usize];
                cpu.write_mem(paddr + data.len() as u64, &bss)
                    .map_err(emulator)?;
            }
            Ok(file.entry())
        }
    }
}

/// Writes the GDT, page tables, ACPI tables and `hvm_start_info`, and sets the registers
/// of the 64-bit entry (docs/architecture.md, "Boot contract").
fn boot_state(cpu: &mut Cpu<'_>, ram_bytes: u64, entry: u64, vps: u32) -> Result<(), SimError> {
    let e = emulator;
    // GDT: null, 64-bit code (0x08), flat data (0x10).
    let gdt: [u64; 3] = [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF];
    let gdt_bytes: Vec<u8> = gdt.iter().flat_map(|d| d.to_le_bytes()).collect();
    cpu.write_mem(GDT_GPA, &gdt_bytes).map_err(e)?;
    // Identity map with 2 MiB pages, one page directory per GiB of RAM.
    let gibs = ram_bytes.div_ceil(1 << 30);
    cpu.write_mem(PML4_GPA, &(PDPT_GPA | 3).to_le_bytes())
        .map_err(e)?;
    for g in 0..gibs {
        let pd = PD_GPA + g * 0x1000;
        cpu.write_mem(PDPT_GPA + g * 8, &(pd | 3).to_le_bytes())
            .map_err(e)?;
        let entries: Vec<u8> = (0..512u64)
            .flat_map(|i| (((g << 30) + (i << 21)) | 0x83).to_le_bytes())
            .collect();
        cpu.write_mem(pd, &entries).map_err(e)?;
    }
    // hvm_start_info version 1 with a memory map: boot area reserved, RAM below the
    // 640 KiB hole, RAM from 1 MiB.
    let memmap: [(u64, u64, u32); 3] = [
        (0, BOOT_AREA_END, 2),
        (BOOT_AREA_END, 0xA_0000 - BOOT_AREA_END, 1),
        (0x10_0000, ram_bytes - 0x10_0000, 1),
    ];
    let mut map = Vec::new();
    for (addr, size, kind) in memmap {
        map.extend_from_slice(&addr.to_le_bytes());
        map.extend_from_slice(&size.to_le_bytes());
        map.extend_from_slice(&kind.to_le_bytes());
        map.extend_from_slice(&0u32.to_le_bytes());
    }
    cpu.write_mem(MEMMAP_GPA, &map).map_err(e)?;
    let mut info = Vec::with_capacity(56);
    info.extend_from_slice(&HVM_START_MAGIC.to_le_bytes());
    info.extend_from_slice(&1u32.to_le_bytes()); // version
    info.extend_from_slice(&0u32.to_le_bytes()); // flags
    info.extend_from_slice(&0u32.to_le_bytes()); // nr_modules
    info.extend_from_slice(&0u64.to_le_bytes()); // modlist_paddr
    info.extend_from_slice(&0u64.to_le_bytes()); // cmdline_paddr
    info.extend_from_slice(&ACPI_GPA.to_le_bytes()); // rsdp_paddr
    info.extend_from_slice(&MEMMAP_GPA.to_le_bytes());
    info.extend_from_slice(&(memmap.len() as u32).to_le_bytes());
    info.extend_from_slice(&0u32.to_le_bytes());
    cpu.write_mem(START_INFO_GPA, &info).map_err(e)?;
    let apic_ids: Vec<u32> = (0..vps).collect();
    for (offset, table) in crate::acpi::tables(ACPI_GPA, &apic_ids) {
        cpu.write_mem(ACPI_GPA + offset, &table).map_err(e)?;
    }

    cpu.write_table(
        R::GDTR,
        crate::uc::TableReg {
            base: GDT_GPA,
            limit: (gdt_bytes.len() - 1) as u32,
            ..Default::default()
        },
    )
    .map_err(e)?;
    cpu.write(R::CS, u64::from(BOOT_CS)).map_err(e)?;
    for seg in [R::DS, R::ES, R::SS] {
        cpu.write(seg, u64::from(BOOT_DS)).map_err(e)?;
    }
    cpu.write(R::CR3, PML4_GPA).map_err(e)?;
    let cr4 = cpu.read(R::CR4).map_err(e)?;
    cpu.write(R::CR4, cr4 | (1 << 5)).map_err(e)?; // PAE
    // PE, MP, ET, NE, WP, PG. EFER.LME|LMA are set by Unicorn's 64-bit reset.
    cpu.write(R::CR0, 0x8005_0033).map_err(e)?;
    cpu.write(R::RFLAGS, 0x2).map_err(e)?;
    cpu.write(R::RDI, START_INFO_GPA).map_err(e)?;
    cpu.write(R::RSP, 0).map_err(e)?;
    cpu.write(R::RIP, entry).map_err(e)?;
    Ok(())
}
