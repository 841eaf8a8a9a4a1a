//! Guest programs assembled in Rust with `iced-x86`, and a harness that runs them.
#![allow(dead_code, unreachable_pub)]

pub use hv_sim::{Config, Exit, Image, Machine, Profile, SimError};
pub use iced_x86::BlockEncoderOptions;
pub use iced_x86::code_asm::*;

/// Where guest code is loaded and entered.
pub const CODE: u64 = 0x10_0000;
/// The IDT (256 gates).
pub const IDT: u64 = 0x8_0000;
/// The IDTR pseudo-descriptor.
pub const IDTR: u64 = 0x7_F000;
/// Results the handlers and tests write.
pub const RESULTS: u64 = 0x9_0000;
/// Hypercall input and output pages.
pub const INPUT: u64 = 0x7_0000;
pub const OUTPUT: u64 = 0x7_1000;
/// Where tests put the hypercall page.
pub const HCPAGE: u64 = 0x6_0000;
/// Top of the guest stack.
pub const STACK: u64 = 0x9_F000;

/// The guest OS id and hypercall MSRs.
pub const GUEST_OS_ID: u32 = 0x4000_0000;
pub const HYPERCALL: u32 = 0x4000_0001;

/// Result slots (offsets from RESULTS).
pub const GP_COUNT: u64 = 0x00;
pub const GP_ERROR: u64 = 0x08;
pub const UD_COUNT: u64 = 0x10;
pub const IRQ_COUNT: u64 = 0x18;
pub const IRQ_LAST: u64 = 0x20;

/// A guest under construction: `a` is the assembler; `handlers` the IDT entries.
pub struct Guest {
    pub a: CodeAssembler,
    handlers: Vec<(u8, CodeLabel)>,
}

impl Guest {
    /// Prologue: stack, IDT; standard #GP (skips 2 bytes: RDMSR/WRMSR) and #UD (skips 3:
    /// VMCALL) handlers that count in RESULTS.
    pub fn new() -> Self {
        let mut a = CodeAssembler::new(64).unwrap();
        let mut handlers = Vec::new();
        let mut main = a.create_label();
        a.mov(rsp, STACK).unwrap();
        a.mov(rax, IDTR).unwrap();
        a.lidt(ptr(rax)).unwrap();
        a.jmp(main).unwrap();
        // #GP: count, record the error code, skip the 2-byte instruction.
        let mut gp = a.create_label();
        a.set_label(&mut gp).unwrap();
        a.push(rax).unwrap();
        a.mov(rax, RESULTS).unwrap();
        a.inc(qword_ptr(rax + GP_COUNT)).unwrap();
        a.push(rbx).unwrap();
        a.mov(rbx, qword_ptr(rsp + 16)).unwrap();
        a.mov(qword_ptr(rax + GP_ERROR), rbx).unwrap();
        a.pop(rbx).unwrap();
        a.pop(rax).unwrap();
        a.add(qword_ptr(rsp + 8), 2).unwrap();
        a.add(rsp, 8).unwrap();
        a.iretq().unwrap();
        handlers.push((13, gp));
        // #UD: count, skip the 3-byte instruction.
        let mut ud = a.create_label();
        a.set_label(&mut ud).unwrap();
        a.push(rax).unwrap();
        a.mov(rax, RESULTS).unwrap();
        a.inc(qword_ptr(rax + UD_COUNT)).unwrap();
        a.pop(rax).unwrap();
        a.add(qword_ptr(rsp), 3).unwrap();
        a.iretq().unwrap();
        handlers.push((6, ud));
        a.set_label(&mut main).unwrap();
        a.nop().unwrap();
        Self { a, handlers }
    }

    /// Adds an IDT entry for `vector` at `label`.
    pub fn handler(&mut self, vector: u8, label: CodeLabel) {
        self.handlers.push((vector, label));
    }

    /// Writes `value` (32 bits) to the debug-exit port.
    pub fn exit(&mut self, value: u32) {
        self.a.mov(edx, 0xF4u32).unwrap();
        self.a.mov(eax, value).unwrap();
        self.a.out(dx, eax).unwrap();
    }

    /// Writes a string to COM1.
    pub fn print(&mut self, text: &str) {
        self.a.mov(edx, 0x3F8u32).unwrap();
        for byte in text.bytes() {
            self.a.mov(al, byte as u32).unwrap();
            self.a.out(dx, al).unwrap();
        }
    }

    /// RDMSR of `msr` (result in EDX:EAX).
    pub fn rdmsr(&mut self, msr: u32) {
        self.a.mov(ecx, msr).unwrap();
        self.a.rdmsr().unwrap();
    }

    /// WRMSR of `value` to `msr`.
    pub fn wrmsr(&mut self, msr: u32, value: u64) {
        self.a.mov(ecx, msr).unwrap();
        self.a.mov(eax, value as u32).unwrap();
        self.a.mov(edx, (value >> 32) as u32).unwrap();
        self.a.wrmsr().unwrap();
    }

    /// Stores RAX at RESULTS + `offset`.
    pub fn store_rax(&mut self, offset: u64) {
        self.a.mov(rbx, RESULTS + offset).unwrap();
        self.a.mov(qword_ptr(rbx), rax).unwrap();
    }

    /// Stores EDX:EAX (an RDMSR result) as one u64 at RESULTS + `offset`.
    pub fn store_edx_eax(&mut self, offset: u64) {
        self.a.shl(rdx, 32).unwrap();
        self.a.mov(eax, eax).unwrap();
        self.a.or(rax, rdx).unwrap();
        self.store_rax(offset);
    }

    /// Builds the machine (IDT written into RAM) without running it.
    pub fn build(mut self, config: &Config) -> Machine {
        let result = self
            .a
            .assemble_options(CODE, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)
            .unwrap();
        let code = result.inner.code_buffer.clone();
        let mut machine = Machine::new(
            config,
            &Image::Flat {
                load: CODE,
                code: &code,
            },
        )
        .unwrap();
        let mut idt = vec![0u8; 256 * 16];
        for (vector, label) in &self.handlers {
            let target = result.label_ip(label).unwrap();
            let gate = &mut idt[usize::from(*vector) * 16..][..16];
            gate[0..2].copy_from_slice(&(target as u16).to_le_bytes());
            gate[2..4].copy_from_slice(&0x08u16.to_le_bytes());
            gate[5] = 0x8E;
            gate[6..8].copy_from_slice(&((target >> 16) as u16).to_le_bytes());
            gate[8..12].copy_from_slice(&((target >> 32) as u32).to_le_bytes());
        }
        machine.write_phys(IDT, &idt).unwrap();
        let mut idtr = Vec::new();
        idtr.extend_from_slice(&(256u16 * 16 - 1).to_le_bytes());
        idtr.extend_from_slice(&IDT.to_le_bytes());
        machine.write_phys(IDTR, &idtr).unwrap();
        machine
    }

    /// Builds and runs with `profile`.
    pub fn run(self, profile: Profile) -> Run {
        let config = Config {
            profile,
            max_instructions: Some(5_000_000),
            mem_mib: 16,
            ..Config::default()
        };
        let mut machine = self.build(&config);
        let result = machine.run();
        Run { machine, result }
    }
}

/// A finished run.
pub struct Run {
    pub machine: Machine,
    pub result: Result<Exit, SimError>,
}

impl Run {
    /// The u64 at RESULTS + `offset`.
    pub fn result_u64(&mut self, offset: u64) -> u64 {
        let mut bytes = [0u8; 8];
        self.machine
            .read_phys(RESULTS + offset, &mut bytes)
            .unwrap();
        u64::from_le_bytes(bytes)
    }

    /// Asserts the guest reached its debug exit with `value`.
    #[track_caller]
    pub fn assert_exit(&self, value: u32) {
        assert_eq!(
            self.result,
            Ok(Exit::DebugExit(value)),
            "serial: {}",
            self.serial()
        );
    }

    pub fn serial(&self) -> String {
        String::from_utf8_lossy(self.machine.serial()).into_owned()
    }
}

/// A guest that enables the hypercall page, then runs `body`, then exits 0.
pub fn with_hypercalls(body: impl FnOnce(&mut Guest)) -> Guest {
    let mut g = Guest::new();
    g.wrmsr(GUEST_OS_ID, 0x8100_0000_0000_0000);
    g.wrmsr(HYPERCALL, HCPAGE | 1);
    body(&mut g);
    g.exit(0);
    g
}

/// Calls the hypercall page with control `rcx`, RDX = `rdx`, R8 = `r8`; stores RAX at
/// RESULTS + `slot`.
pub fn call(g: &mut Guest, rcx_value: u64, rdx_value: u64, r8_value: u64, slot: u64) {
    g.a.mov(rcx, rcx_value).unwrap();
    g.a.mov(rdx, rdx_value).unwrap();
    g.a.mov(r8, r8_value).unwrap();
    g.a.mov(rax, HCPAGE).unwrap();
    g.a.call(rax).unwrap();
    g.store_rax(slot);
}

/// `HV_X64_MSR_GUEST_OS_ID`, `HV_X64_MSR_HYPERCALL`, `HV_X64_MSR_VP_INDEX`,
/// `HV_X64_MSR_EOI` and `HV_X64_MSR_ICR`.
pub const MSR_GUEST_OS_ID: u32 = 0x4000_0000;
pub const MSR_HYPERCALL: u32 = 0x4000_0001;
pub const MSR_VP_INDEX: u32 = 0x4000_0002;
pub const MSR_EOI: u32 = 0x4000_0070;
pub const MSR_ICR: u32 = 0x4000_0071;

impl Guest {
    /// Sets a guest OS id and enables the hypercall page at HCPAGE.
    pub fn enable_hypercalls(&mut self) {
        self.wrmsr(MSR_GUEST_OS_ID, 0x8100_0000_0000_0000);
        self.wrmsr(MSR_HYPERCALL, HCPAGE | 1);
    }

    /// Calls the hypercall page with control `rcx`, RDX = `rdx`, R8 = `r8`; stores RAX at
    /// RESULTS + `slot`.
    pub fn hypercall(&mut self, rcx_value: u64, rdx_value: u64, r8_value: u64, slot: u64) {
        self.a.mov(rcx, rcx_value).unwrap();
        self.a.mov(rdx, rdx_value).unwrap();
        self.a.mov(r8, r8_value).unwrap();
        self.a.mov(rax, HCPAGE).unwrap();
        self.a.call(rax).unwrap();
        self.store_rax(slot);
    }

    /// Turns this VP's local APIC on in x2APIC mode, software-enabled (`bsp`: the BSP
    /// flag of IA32_APIC_BASE, which cannot change).
    pub fn x2apic_on(&mut self, bsp: bool) {
        let bsp_flag = if bsp { 1 << 8 } else { 0 };
        self.wrmsr(0x1B, 0xFEE0_0000 | bsp_flag | 1 << 10 | 1 << 11);
        self.wrmsr(0x80F, 0x1FF);
    }

    /// Spins until the u64 at RESULTS + `slot` is at least `value`.
    pub fn wait_for(&mut self, slot: u64, value: u64) {
        let mut again = self.a.create_label();
        self.a.set_label(&mut again).unwrap();
        self.a.pause().unwrap();
        self.a.mov(rax, RESULTS + slot).unwrap();
        self.a.mov(rax, qword_ptr(rax)).unwrap();
        self.a.cmp(rax, value as i32).unwrap();
        self.a.jb(again).unwrap();
    }

    /// Builds the machine with `config`, writes `blobs` (address, bytes) into RAM and runs.
    pub fn run_with(self, config: &Config, blobs: &[(u64, Vec<u8>)]) -> Run {
        let mut machine = self.build(config);
        for (address, bytes) in blobs {
            machine.write_phys(*address, bytes).unwrap();
        }
        let result = machine.run();
        Run { machine, result }
    }
}

/// The configuration of most tests: `profile`, 16 MiB, 2 VPs, an instruction limit.
pub fn config(profile: Profile) -> Config {
    Config {
        profile,
        max_instructions: Some(5_000_000),
        mem_mib: 16,
        vps: 2,
        ..Config::default()
    }
}
