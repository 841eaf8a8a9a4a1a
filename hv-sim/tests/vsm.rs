//! Virtual Secure Mode (TLFS 15): one scenario with a VTL 1 of the guest's own, plus the
//! refusals, each checked against the TLFS rule it follows.

mod common;

use common::*;
use hv_defs::HV_PARTITION_ID_SELF;
use hv_defs::register::HvRegisterName;
use hv_defs::vp::{
    HvInitialVpContext, HvInputVtl, HvSetVpRegistersElement, HvVpRegistersInputHeader,
    HvX64SegmentRegister, HvX64TableRegister,
};
use hv_defs::vsm::{
    HvEnablePartitionVtlFlags, HvEnablePartitionVtlInput, HvEnableVpVtlInput, HvMapGpaFlags,
    HvModifyVtlProtectionMaskInput,
};
use zerocopy::IntoBytes;

/// VTL 1's pages: hypercall page, SIMP, VP assist page, stack top.
const HCPAGE1: u64 = 0x6_1000;
const SIMP1: u64 = 0x6_2000;
const ASSIST1: u64 = 0x6_3000;
const VTL1_STACK: u64 = 0x8_E000;
/// The page VTL 1 makes read-only for VTL 0.
const PROTECTED: u64 = 0x5_0000;
/// The page VTL 1 makes inaccessible for VTL 0.
const HIDDEN: u64 = 0x5_1000;
/// Hypercall inputs (VTL 0 and VTL 1 use different pages; both share OUTPUT).
const IN_ENABLE_PARTITION: u64 = 0x7_2000;
const IN_ENABLE_VP: u64 = 0x7_3000;
const IN_PROTECT: u64 = 0x7_4000;
const IN_CONFIG: u64 = 0x7_5000;
const IN_GET_VTL0: u64 = 0x7_6000;
const IN_SET_VTL0_RIP: u64 = 0x7_7000;
const IN_STATUS: u64 = 0x7_8000;
const OUT_VTL1: u64 = 0x7_9000;
const IN_HIDE: u64 = 0x7_A000;

/// MSRs.
const MSR_VP_ASSIST: u32 = 0x4000_0073;
const MSR_SCONTROL: u32 = 0x4000_0080;
const MSR_SIMP: u32 = 0x4000_0083;
const MSR_EOM: u32 = 0x4000_0084;
const IA32_LSTAR: u32 = 0xC000_0082;

/// Hypercall codes (control words with a rep count where needed).
const GET_VP_REGISTERS: u64 = 0x50;
const SET_VP_REGISTERS: u64 = 0x51;
const MODIFY_PROTECTION: u64 = 0x0C;
const ENABLE_PARTITION_VTL: u64 = 0x0D;
const ENABLE_VP_VTL: u64 = 0x0F;
const fn reps(code: u64, n: u64) -> u64 {
    code | n << 32
}

/// Result slots.
const R_ENABLE_PARTITION: u64 = 0x100;
const R_ENABLE_PARTITION_AGAIN: u64 = 0x108;
const R_ENABLE_VP: u64 = 0x110;
const R_ENABLE_VP_AGAIN: u64 = 0x118;
const R_FIRST_ANSWER: u64 = 0x120;
const R_SECOND_ANSWER: u64 = 0x128;
const R_LSTAR_VTL0: u64 = 0x130;
const R_PROTECTED_AFTER: u64 = 0x138;
const R_STATUS_CALL: u64 = 0x140;
const R_RSP_VTL0: u64 = 0x148;
const R_R12_VTL0: u64 = 0x150;
const R_RETURN_FROM_VTL0: u64 = 0x158;
const R_VTL1_WROTE: u64 = 0x160;
const R_HIDDEN_READ: u64 = 0x168;
const R_VTL1_LSTAR: u64 = 0x200;
const R_VTL1_REASON: u64 = 0x208;
const R_VTL1_CONFIG: u64 = 0x210;
const R_VTL1_PROTECT: u64 = 0x218;
const R_VTL1_R12: u64 = 0x220;
const R_VTL1_VTL0_RSP: u64 = 0x228;
const R_VTL1_GET_STATUS: u64 = 0x230;
const R_VTL1_INTERCEPTS: u64 = 0x238;
const R_VTL1_MESSAGES: u64 = 0x300;
const R_VTL1_SET_RIP: u64 = 0x258;
const R_VTL1_CALLS: u64 = 0x260;
const R_VTL1_HIDE: u64 = 0x268;

/// The long-mode context of the test guest (boot GDT, page tables, test IDT) starting at
/// RIP 0 (the guest patches it in) on `stack`.
fn context(stack: u64) -> HvInitialVpContext {
    let code = HvX64SegmentRegister {
        base: 0,
        limit: 0xFFFF_FFFF,
        selector: 0x08,
        attributes: 0xA09B,
    };
    let data = HvX64SegmentRegister {
        base: 0,
        limit: 0xFFFF_FFFF,
        selector: 0x10,
        attributes: 0xC093,
    };
    HvInitialVpContext {
        rip: 0,
        rsp: stack,
        rflags: 2,
        cs: code,
        ds: data,
        es: data,
        ss: data,
        idtr: HvX64TableRegister {
            pad: [0; 3],
            limit: 0xFFF,
            base: IDT,
        },
        gdtr: HvX64TableRegister {
            pad: [0; 3],
            limit: 23,
            base: 0x1000,
        },
        efer: 0x500,
        cr0: 0x8005_0033,
        cr3: 0x3000,
        cr4: 0x20,
        msr_cr_pat: 0x0007_0406_0007_0406,
        ..HvInitialVpContext::default()
    }
}

fn registers_header(vtl: HvInputVtl) -> Vec<u8> {
    HvVpRegistersInputHeader {
        partition_id: HV_PARTITION_ID_SELF,
        vp_index: hv_defs::HV_VP_INDEX_SELF,
        input_vtl: vtl,
        rsvd: [0; 3],
    }
    .as_bytes()
    .to_vec()
}

fn set_register(vtl: HvInputVtl, name: HvRegisterName, value: u64) -> Vec<u8> {
    let mut input = registers_header(vtl);
    let element = HvSetVpRegistersElement {
        name,
        value: hv_defs::register::HvRegisterValue::from_u64(value),
        ..HvSetVpRegistersElement::default()
    };
    input.extend_from_slice(element.as_bytes());
    input
}

fn get_registers(vtl: HvInputVtl, names: &[HvRegisterName]) -> Vec<u8> {
    let mut input = registers_header(vtl);
    for name in names {
        input.extend_from_slice(&name.get().to_le_bytes());
    }
    input
}

fn blobs() -> Vec<(u64, Vec<u8>)> {
    let partition = HvEnablePartitionVtlInput {
        target_partition_id: HV_PARTITION_ID_SELF,
        target_vtl: 1,
        flags: HvEnablePartitionVtlFlags::new(),
        rsvd0: 0,
        rsvd1: 0,
    };
    let vp = HvEnableVpVtlInput {
        target_partition_id: HV_PARTITION_ID_SELF,
        vp_index: 0,
        target_vtl: 1,
        rsvd: [0; 3],
        vp_vtl_context: context(VTL1_STACK),
    };
    let mut protect = HvModifyVtlProtectionMaskInput {
        target_partition_id: HV_PARTITION_ID_SELF,
        map_flags: HvMapGpaFlags::new()
            .with_readable(true)
            .with_kernel_executable(true),
        target_vtl: HvInputVtl::CURRENT,
        rsvd: [0; 3],
    }
    .as_bytes()
    .to_vec();
    protect.extend_from_slice(&(PROTECTED >> 12).to_le_bytes());
    let mut hide = HvModifyVtlProtectionMaskInput {
        target_partition_id: HV_PARTITION_ID_SELF,
        map_flags: HvMapGpaFlags::NONE,
        target_vtl: HvInputVtl::CURRENT,
        rsvd: [0; 3],
    }
    .as_bytes()
    .to_vec();
    hide.extend_from_slice(&(HIDDEN >> 12).to_le_bytes());
    let vtl0 = HvInputVtl::target(0);
    vec![
        (IN_ENABLE_PARTITION, partition.as_bytes().to_vec()),
        (IN_ENABLE_VP, vp.as_bytes().to_vec()),
        (IN_PROTECT, protect),
        (IN_HIDE, hide),
        (HIDDEN, 0x1Du64.to_le_bytes().to_vec()),
        (
            IN_CONFIG,
            set_register(
                HvInputVtl::CURRENT,
                HvRegisterName::HvRegisterVsmPartitionConfig,
                1,
            ),
        ),
        (
            IN_GET_VTL0,
            get_registers(vtl0, &[HvRegisterName::HvX64RegisterRsp]),
        ),
        (
            IN_SET_VTL0_RIP,
            set_register(vtl0, HvRegisterName::HvX64RegisterRip, 0),
        ),
        (
            IN_STATUS,
            get_registers(
                HvInputVtl::CURRENT,
                &[
                    HvRegisterName::HvRegisterVsmPartitionStatus,
                    HvRegisterName::HvRegisterVsmVpStatus,
                    HvRegisterName::HvRegisterVsmCodePageOffsets,
                    HvRegisterName::HvRegisterVsmCapabilities,
                ],
            ),
        ),
        (PROTECTED, 0xAAu64.to_le_bytes().to_vec()),
    ]
}

/// A hypercall through the page at `page`; RAX stored at `slot`.
fn hc(g: &mut Guest, page: u64, control: u64, input: u64, output: u64, slot: u64) {
    g.a.mov(rcx, control).unwrap();
    g.a.mov(rdx, input).unwrap();
    g.a.mov(r8, output).unwrap();
    g.a.mov(rax, page).unwrap();
    g.a.call(rax).unwrap();
    g.store_rax(slot);
}

/// VTL 1 of the scenario. First entry: private registers set up (guest OS id, hypercall
/// page, VP assist page, SynIC), protections enabled and PROTECTED made read-only for
/// VTL 0. Then for every entry it answers a VTL call with RSI = RDI + 0x1000, or handles
/// a memory intercept by moving VTL 0's RIP past the instruction; and VTL-returns (fast).
fn add_vtl1(g: &mut Guest) -> CodeLabel {
    let mut entry = g.a.create_label();
    let mut skip = g.a.create_label();
    let mut serve = g.a.create_label();
    let mut back = g.a.create_label();
    let mut call = g.a.create_label();
    g.a.jmp(skip).unwrap();
    g.a.set_label(&mut entry).unwrap();
    // The shared registers arrive as VTL 0 left them: keep RDI and R12 aside.
    g.a.mov(r14, rdi).unwrap();
    g.a.mov(rax, RESULTS + R_VTL1_R12).unwrap();
    g.a.mov(qword_ptr(rax), r12).unwrap();
    // LSTAR is private: VTL 1 starts with its own (zero).
    g.rdmsr(IA32_LSTAR);
    g.store_edx_eax(R_VTL1_LSTAR);
    g.wrmsr(IA32_LSTAR, 0x2222);
    g.wrmsr(MSR_GUEST_OS_ID, 0x8100_0000_0000_0001);
    g.wrmsr(MSR_HYPERCALL, HCPAGE1 | 1);
    g.wrmsr(MSR_VP_ASSIST, ASSIST1 | 1);
    g.wrmsr(MSR_SIMP, SIMP1 | 1);
    g.wrmsr(MSR_SCONTROL, 1);
    hc(
        g,
        HCPAGE1,
        reps(SET_VP_REGISTERS, 1),
        IN_CONFIG,
        0,
        R_VTL1_CONFIG,
    );
    hc(
        g,
        HCPAGE1,
        reps(MODIFY_PROTECTION, 1),
        IN_PROTECT,
        0,
        R_VTL1_PROTECT,
    );
    hc(
        g,
        HCPAGE1,
        reps(MODIFY_PROTECTION, 1),
        IN_HIDE,
        0,
        R_VTL1_HIDE,
    );
    hc(
        g,
        HCPAGE1,
        reps(GET_VP_REGISTERS, 1),
        IN_GET_VTL0,
        OUT_VTL1,
        R_VTL1_GET_STATUS,
    );
    g.a.mov(rax, OUT_VTL1).unwrap();
    g.a.mov(rax, qword_ptr(rax)).unwrap();
    g.store_rax(R_VTL1_VTL0_RSP);
    // VTL 1 itself may still write the page it protected from VTL 0.
    g.a.mov(rax, PROTECTED + 8).unwrap();
    g.a.mov(qword_ptr(rax), 0xCC).unwrap();
    g.a.mov(rdi, r14).unwrap();
    g.a.jmp(serve).unwrap();
    // Every later entry comes back here, after the return sequence.
    g.a.set_label(&mut back).unwrap();
    g.a.mov(rax, ASSIST1 + 8).unwrap();
    g.a.mov(eax, dword_ptr(rax)).unwrap();
    g.store_rax(R_VTL1_REASON);
    g.a.cmp(eax, 3).unwrap();
    g.a.jne(serve).unwrap();
    // A memory intercept: the message is in SINT0's slot. Record intercept n (from 0) at
    // R_VTL1_MESSAGES + 0x20 n: type, GPA, access type.
    g.a.mov(rax, RESULTS + R_VTL1_INTERCEPTS).unwrap();
    g.a.mov(rdx, qword_ptr(rax)).unwrap();
    g.a.inc(qword_ptr(rax)).unwrap();
    g.a.shl(rdx, 5).unwrap();
    g.a.mov(rax, RESULTS + R_VTL1_MESSAGES).unwrap();
    g.a.add(rdx, rax).unwrap();
    g.a.mov(rsi, SIMP1).unwrap();
    g.a.mov(eax, dword_ptr(rsi)).unwrap();
    g.a.mov(qword_ptr(rdx), rax).unwrap();
    g.a.mov(rax, qword_ptr(rsi + 16 + 56)).unwrap();
    g.a.mov(qword_ptr(rdx + 8), rax).unwrap();
    g.a.movzx(eax, byte_ptr(rsi + 16 + 5)).unwrap();
    g.a.mov(qword_ptr(rdx + 16), rax).unwrap();
    // VTL 0's RIP := intercepted RIP + instruction length.
    g.a.movzx(ecx, byte_ptr(rsi + 16 + 4)).unwrap();
    g.a.and(ecx, 0xF).unwrap();
    g.a.mov(rax, qword_ptr(rsi + 16 + 24)).unwrap();
    g.a.add(rax, rcx).unwrap();
    g.a.mov(rbx, IN_SET_VTL0_RIP + 16 + 16).unwrap();
    g.a.mov(qword_ptr(rbx), rax).unwrap();
    g.a.mov(dword_ptr(rsi), 0).unwrap();
    g.wrmsr(MSR_EOM, 0);
    hc(
        g,
        HCPAGE1,
        reps(SET_VP_REGISTERS, 1),
        IN_SET_VTL0_RIP,
        0,
        R_VTL1_SET_RIP,
    );
    g.a.jmp(call).unwrap();
    // A VTL call: answer in RSI.
    g.a.set_label(&mut serve).unwrap();
    g.a.mov(rax, RESULTS + R_VTL1_CALLS).unwrap();
    g.a.inc(qword_ptr(rax)).unwrap();
    g.a.lea(rsi, qword_ptr(rdi + 0x1000)).unwrap();
    g.a.set_label(&mut call).unwrap();
    g.a.mov(ecx, 1u32).unwrap(); // fast return
    g.a.mov(rax, HCPAGE1 + 0x20).unwrap();
    g.a.call(rax).unwrap();
    g.a.jmp(back).unwrap();
    g.a.set_label(&mut skip).unwrap();
    g.a.nop().unwrap();
    entry
}

/// A VTL call from VTL 0 with RDI = `rdi`; RSI (the answer) stored at `slot`.
fn vtl_call(g: &mut Guest, rdi_value: u64, slot: u64) {
    g.a.mov(rdi, rdi_value).unwrap();
    g.a.xor(ecx, ecx).unwrap();
    g.a.mov(rax, HCPAGE + 0x10).unwrap();
    g.a.call(rax).unwrap();
    g.a.mov(rax, rsi).unwrap();
    g.store_rax(slot);
}

fn scenario() -> Guest {
    let mut g = Guest::new();
    let entry = add_vtl1(&mut g);
    g.enable_hypercalls();
    hc(
        &mut g,
        HCPAGE,
        ENABLE_PARTITION_VTL,
        IN_ENABLE_PARTITION,
        0,
        R_ENABLE_PARTITION,
    );
    hc(
        &mut g,
        HCPAGE,
        ENABLE_PARTITION_VTL,
        IN_ENABLE_PARTITION,
        0,
        R_ENABLE_PARTITION_AGAIN,
    );
    g.a.lea(rax, ptr(entry)).unwrap();
    g.a.mov(rbx, IN_ENABLE_VP + 16).unwrap();
    g.a.mov(qword_ptr(rbx), rax).unwrap();
    hc(&mut g, HCPAGE, ENABLE_VP_VTL, IN_ENABLE_VP, 0, R_ENABLE_VP);
    hc(
        &mut g,
        HCPAGE,
        ENABLE_VP_VTL,
        IN_ENABLE_VP,
        0,
        R_ENABLE_VP_AGAIN,
    );
    g.wrmsr(IA32_LSTAR, 0x1111);
    g.a.mov(r12, 0x5EED_u64).unwrap();
    g.a.mov(rax, RESULTS + R_RSP_VTL0).unwrap();
    g.a.mov(qword_ptr(rax), rsp).unwrap();
    vtl_call(&mut g, 0x1234, R_FIRST_ANSWER);
    vtl_call(&mut g, 0x5000, R_SECOND_ANSWER);
    g.rdmsr(IA32_LSTAR);
    g.store_edx_eax(R_LSTAR_VTL0);
    g.a.mov(rax, RESULTS + R_R12_VTL0).unwrap();
    g.a.mov(qword_ptr(rax), r12).unwrap();
    // The forbidden write: stopped, VTL 1 moves RIP past it.
    g.a.mov(rax, PROTECTED).unwrap();
    g.a.mov(qword_ptr(rax), 0xBB).unwrap();
    // RAX is shared: VTL 1 changed it while handling the intercept (TLFS 15.11.2.2).
    g.a.mov(rax, PROTECTED).unwrap();
    g.a.mov(rax, qword_ptr(rax)).unwrap();
    g.store_rax(R_PROTECTED_AFTER);
    g.a.mov(rax, PROTECTED + 8).unwrap();
    g.a.mov(rax, qword_ptr(rax)).unwrap();
    g.store_rax(R_VTL1_WROTE);
    // A read of the inaccessible page: stopped too, R15 is not loaded (it is shared and
    // VTL 1 does not touch it, so it carries the marker across).
    g.a.mov(r15, 0x600D_u64).unwrap();
    g.a.mov(rax, HIDDEN).unwrap();
    g.a.mov(r15, qword_ptr(rax)).unwrap();
    g.a.mov(rax, r15).unwrap();
    g.store_rax(R_HIDDEN_READ);
    // A VTL return from VTL 0 is #UD (the handler skips the VMCALL, `ret` follows).
    g.a.mov(ecx, 0u32).unwrap();
    g.a.mov(rax, HCPAGE + 0x20).unwrap();
    g.a.call(rax).unwrap();
    g.a.mov(rax, RESULTS + UD_COUNT).unwrap();
    g.a.mov(rax, qword_ptr(rax)).unwrap();
    g.store_rax(R_RETURN_FROM_VTL0);
    hc(
        &mut g,
        HCPAGE,
        reps(GET_VP_REGISTERS, 4),
        IN_STATUS,
        OUTPUT,
        R_STATUS_CALL,
    );
    g.exit(0);
    g
}

fn output(run: &mut Run, i: u64) -> u64 {
    let mut bytes = [0u8; 8];
    run.machine.read_phys(OUTPUT + 16 * i, &mut bytes).unwrap();
    u64::from_le_bytes(bytes)
}

#[test]
fn vtl1_of_the_guest_serves_calls_and_stops_protected_accesses() {
    let mut run = scenario().run_with(&config(Profile::hyperv()), &blobs());
    run.assert_exit(0);
    // TLFS 15.15.3, 15.15.4: enabled, then "already enabled".
    assert_eq!(run.result_u64(R_ENABLE_PARTITION) & 0xFFFF, 0);
    assert_eq!(run.result_u64(R_ENABLE_PARTITION_AGAIN) & 0xFFFF, 0x86);
    assert_eq!(run.result_u64(R_ENABLE_VP) & 0xFFFF, 0);
    assert_eq!(run.result_u64(R_ENABLE_VP_AGAIN) & 0xFFFF, 0x86);
    // TLFS 15.6.1, 15.7.1: shared registers carry the call up and the answer down.
    assert_eq!(run.result_u64(R_FIRST_ANSWER), 0x2234);
    assert_eq!(run.result_u64(R_SECOND_ANSWER), 0x6000);
    assert_eq!(
        run.result_u64(R_VTL1_R12),
        0x5EED,
        "R12 is shared (15.11.2.2)"
    );
    assert_eq!(run.result_u64(R_R12_VTL0), 0x5EED);
    // TLFS 15.11.1.1: LSTAR is private.
    assert_eq!(
        run.result_u64(R_VTL1_LSTAR),
        0,
        "VTL 1 does not see VTL 0's LSTAR"
    );
    assert_eq!(
        run.result_u64(R_LSTAR_VTL0),
        0x1111,
        "VTL 0 keeps its LSTAR"
    );
    // TLFS 15.11.1.2: RSP is private; VTL 1 reads VTL 0's through a target VTL.
    assert_eq!(run.result_u64(R_VTL1_GET_STATUS) & 0xFFFF, 0);
    assert_eq!(
        run.result_u64(R_VTL1_VTL0_RSP),
        run.result_u64(R_RSP_VTL0) - 8,
        "VTL 0's RSP inside its call of the hypercall page"
    );
    // TLFS 15.5.1.1, 15.15.2.
    assert_eq!(run.result_u64(R_VTL1_CONFIG) & 0xFFFF, 0);
    assert_eq!(run.result_u64(R_VTL1_PROTECT), 1 << 32, "1 rep completed");
    // TLFS 15.9.2, 15.13: the write did not land; VTL 1 got the intercept.
    assert_eq!(run.result_u64(R_PROTECTED_AFTER), 0xAA);
    let mut bytes = [0u8; 8];
    run.machine.read_phys(PROTECTED, &mut bytes).unwrap();
    assert_eq!(u64::from_le_bytes(bytes), 0xAA);
    assert_eq!(
        run.result_u64(R_VTL1_WROTE),
        0xCC,
        "VTL 1 writes, VTL 0 reads"
    );
    assert_eq!(run.result_u64(R_VTL1_HIDE), 1 << 32);
    assert_eq!(
        run.result_u64(R_HIDDEN_READ),
        0x600D,
        "the read did not load R15"
    );
    assert_eq!(run.result_u64(R_VTL1_INTERCEPTS), 2);
    assert_eq!(run.result_u64(R_VTL1_REASON), 3, "last entry: intercept");
    let message =
        |run: &mut Run, n: u64, i: u64| run.result_u64(R_VTL1_MESSAGES + 0x20 * n + 8 * i);
    assert_eq!(message(&mut run, 0, 0), 0x8000_0001, "GPA intercept");
    assert_eq!(message(&mut run, 0, 1), PROTECTED);
    assert_eq!(message(&mut run, 0, 2), 1, "a write");
    assert_eq!(message(&mut run, 1, 0), 0x8000_0001);
    assert_eq!(message(&mut run, 1, 1), HIDDEN);
    assert_eq!(message(&mut run, 1, 2), 0, "a read");
    assert_eq!(run.result_u64(R_VTL1_SET_RIP) & 0xFFFF, 0);
    assert_eq!(run.result_u64(R_VTL1_CALLS), 2);
    // TLFS 15.7.2: a VTL return from VTL 0 is #UD.
    assert_eq!(run.result_u64(R_RETURN_FROM_VTL0), 1);
    // TLFS 15.3.3, 15.8.
    assert_eq!(run.result_u64(R_STATUS_CALL), 4 << 32);
    let partition = output(&mut run, 0);
    assert_eq!(partition & 0xFFFF, 0b11, "VTL 0 and 1 enabled");
    assert_eq!((partition >> 16) & 0xF, 1, "maximum VTL 1");
    let vp = output(&mut run, 1);
    assert_eq!(vp & 0x1F, 0, "active VTL 0");
    assert_eq!((vp >> 16) & 0xFFFF, 0b11);
    assert_eq!(output(&mut run, 2), 0x10 | 0x20 << 12, "code page offsets");
    assert_eq!(output(&mut run, 3), 0, "no MBEC, DR6 private");
    let stats = run.machine.stats();
    assert_eq!(stats.vtl_calls, 2);
    assert_eq!(stats.vtl_returns, 4, "two answers and the intercepts'");
    assert_eq!(stats.vtl_protection_violations, 2);
    assert_eq!(stats.vtl_intercept_messages_lost, 0);
}

#[test]
fn the_scenario_is_deterministic() {
    let first = scenario().run_with(&config(Profile::hyperv()), &blobs());
    let second = scenario().run_with(&config(Profile::hyperv()), &blobs());
    first.assert_exit(0);
    assert_eq!(
        first.machine.stats().to_json(),
        second.machine.stats().to_json()
    );
}

/// A guest that tries EnablePartitionVtl and a VTL call without enabling anything.
fn refusals() -> Guest {
    let mut g = Guest::new();
    g.enable_hypercalls();
    // The VTL call sequence, which only a VSM partition's page has: call it by hand.
    g.a.mov(rax, 0u64).unwrap();
    g.a.mov(ecx, 0x11u32).unwrap();
    g.a.vmcall().unwrap();
    g.a.mov(rax, RESULTS + UD_COUNT).unwrap();
    g.a.mov(rax, qword_ptr(rax)).unwrap();
    g.store_rax(0x100);
    hc(
        &mut g,
        HCPAGE,
        ENABLE_PARTITION_VTL,
        IN_ENABLE_PARTITION,
        0,
        0x108,
    );
    hc(&mut g, HCPAGE, ENABLE_VP_VTL, IN_ENABLE_VP, 0, 0x110);
    hc(
        &mut g,
        HCPAGE,
        reps(GET_VP_REGISTERS, 4),
        IN_STATUS,
        OUTPUT,
        0x118,
    );
    g.a.mov(rax, HCPAGE + 0x10).unwrap();
    g.a.mov(rax, qword_ptr(rax)).unwrap();
    g.store_rax(0x120);
    g.exit(0);
    g
}

#[test]
fn a_vtl_call_without_vtl1_is_ud_and_enable_vp_needs_the_partition() {
    let mut run = refusals().run_with(&config(Profile::hyperv()), &blobs());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100), 1, "TLFS 15.6.1.1 item 3");
    assert_eq!(run.result_u64(0x108) & 0xFFFF, 0);
    assert_ne!(
        run.result_u64(0x120),
        0,
        "the VTL call sequence is in the page"
    );
    let mut run = {
        let mut g = Guest::new();
        g.enable_hypercalls();
        hc(&mut g, HCPAGE, ENABLE_VP_VTL, IN_ENABLE_VP, 0, 0x100);
        g.exit(0);
        g.run_with(&config(Profile::hyperv()), &blobs())
    };
    run.assert_exit(0);
    assert_eq!(
        run.result_u64(0x100) & 0xFFFF,
        0x51,
        "INVALID_VTL_STATE (15.4.2)"
    );
}

#[test]
fn without_access_vsm_the_calls_and_registers_are_denied() {
    let mut profile = Profile::hyperv();
    let hv = profile.hv.as_mut().unwrap();
    let privileges = hv.features.privileges().with_access_vsm(false);
    hv.features.set_privileges(privileges);
    let mut run = refusals().run_with(&config(profile), &blobs());
    run.assert_exit(0);
    assert_eq!(
        run.result_u64(0x108) & 0xFFFF,
        0x06,
        "ACCESS_DENIED (15.3.1)"
    );
    assert_eq!(run.result_u64(0x110) & 0xFFFF, 0x06);
    assert_eq!(
        run.result_u64(0x118),
        0x06,
        "the first VSM register is denied"
    );
    assert_eq!(run.result_u64(0x120), 0, "no VTL call sequence in the page");
}

#[test]
fn kvm_offers_no_vsm() {
    let mut run = refusals().run_with(&config(Profile::kvm()), &blobs());
    run.assert_exit(0);
    assert_eq!(
        run.result_u64(0x108) & 0xFFFF,
        0x02,
        "INVALID_HYPERCALL_CODE"
    );
    assert_eq!(run.result_u64(0x110) & 0xFFFF, 0x02);
    assert_eq!(run.result_u64(0x120), 0);
}

/// VTL 1 that answers its first entry with a normal VTL return (TLFS 15.7.1.1): RAX and RCX
/// for VTL 0 come from VTL 1's VTL control area.
fn normal_return_guest() -> Guest {
    let mut g = Guest::new();
    let mut entry = g.a.create_label();
    let mut skip = g.a.create_label();
    g.a.jmp(skip).unwrap();
    g.a.set_label(&mut entry).unwrap();
    g.wrmsr(MSR_GUEST_OS_ID, 0x8100_0000_0000_0001);
    g.wrmsr(MSR_HYPERCALL, HCPAGE1 | 1);
    g.wrmsr(MSR_VP_ASSIST, ASSIST1 | 1);
    g.a.mov(rax, ASSIST1 + 8).unwrap();
    g.a.mov(rbx, 0xAAAA_u64).unwrap();
    g.a.mov(qword_ptr(rax + 8), rbx).unwrap();
    g.a.mov(rbx, 0xCCCC_u64).unwrap();
    g.a.mov(qword_ptr(rax + 16), rbx).unwrap();
    g.a.mov(rdx, 0xDDDD_u64).unwrap();
    g.a.xor(ecx, ecx).unwrap(); // normal return
    g.a.mov(rax, HCPAGE1 + 0x20).unwrap();
    g.a.call(rax).unwrap();
    g.a.hlt().unwrap();
    g.a.set_label(&mut skip).unwrap();
    g.a.nop().unwrap();
    g.enable_hypercalls();
    hc(
        &mut g,
        HCPAGE,
        ENABLE_PARTITION_VTL,
        IN_ENABLE_PARTITION,
        0,
        0x100,
    );
    g.a.lea(rax, ptr(entry)).unwrap();
    g.a.mov(rbx, IN_ENABLE_VP + 16).unwrap();
    g.a.mov(qword_ptr(rbx), rax).unwrap();
    hc(&mut g, HCPAGE, ENABLE_VP_VTL, IN_ENABLE_VP, 0, 0x108);
    g.a.xor(ecx, ecx).unwrap();
    g.a.mov(rax, HCPAGE + 0x10).unwrap();
    g.a.call(rax).unwrap();
    g.a.mov(r12, rcx).unwrap();
    g.store_rax(0x110);
    g.a.mov(rax, r12).unwrap();
    g.store_rax(0x118);
    g.a.mov(rax, rdx).unwrap();
    g.store_rax(0x120);
    g.exit(0);
    g
}

#[test]
fn a_normal_return_loads_rax_and_rcx_from_the_vtl_control_area() {
    let mut run = normal_return_guest().run_with(&config(Profile::hyperv()), &blobs());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x108) & 0xFFFF, 0);
    assert_eq!(run.result_u64(0x110), 0xAAAA, "RAX");
    assert_eq!(run.result_u64(0x118), 0xCCCC, "RCX");
    assert_eq!(run.result_u64(0x120), 0xDDDD, "RDX is shared");
    let stats = run.machine.stats();
    assert_eq!((stats.vtl_calls, stats.vtl_returns), (1, 1));
}
