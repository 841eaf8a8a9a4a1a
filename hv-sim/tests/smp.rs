//! Several VPs: starting VP 1 (HvCallStartVirtualProcessor, INIT and SIPI), IPIs to it
//! (synthetic cluster IPIs, the APIC ICR), HvCallGetVpIndexFromApicId, the flush calls,
//! scheduling and determinism.

mod common;
use common::*;

use hv_defs::HV_PARTITION_ID_SELF;
use hv_defs::vp::{
    HvInitialVpContext, HvStartVirtualProcessorInput, HvX64SegmentRegister, HvX64TableRegister,
};
use hv_sim::FlushCounts;
use zerocopy::IntoBytes;

/// Result slots.
const AP_READY: u64 = 0x200;
const AP_IRQS: u64 = 0x208;
const AP_VP_INDEX: u64 = 0x210;
/// Top of VP 1's stack.
const AP_STACK: u64 = 0x8_F000;
/// A second input page.
const INPUT2: u64 = 0x7_2000;
/// The IPI vector of the tests.
const VECTOR: u64 = 0x60;

/// The input of `HvCallStartVirtualProcessor` for VP `vp` in the test guest's long mode:
/// the boot GDT (0x08 code, 0x10 data), the page tables of the 64-bit entry, the test IDT.
/// RIP is filled in by the guest.
fn start_input(vp: u32) -> Vec<u8> {
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
    let input = HvStartVirtualProcessorInput {
        partition_id: HV_PARTITION_ID_SELF,
        vp_index: vp,
        target_vtl: 0,
        rsvd: [0; 3],
        vp_context: HvInitialVpContext {
            rip: 0,
            rsp: AP_STACK,
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
        },
    };
    input.as_bytes().to_vec()
}

/// Adds VP 1's code: x2APIC on, AP_READY = 1, then HLT with interrupts on for ever; and
/// its handler for VECTOR: counts in AP_IRQS, records the VP index MSR and the vector,
/// EOI. Returns the entry label.
fn add_ap(g: &mut Guest) -> CodeLabel {
    let mut entry = g.a.create_label();
    let mut isr = g.a.create_label();
    let mut skip = g.a.create_label();
    g.a.jmp(skip).unwrap();
    g.a.set_label(&mut entry).unwrap();
    g.a.nop().unwrap();
    g.x2apic_on(false);
    g.a.mov(rax, RESULTS + AP_READY).unwrap();
    g.a.mov(qword_ptr(rax), 1).unwrap();
    let mut idle = g.a.create_label();
    g.a.set_label(&mut idle).unwrap();
    g.a.sti().unwrap();
    g.a.hlt().unwrap();
    g.a.jmp(idle).unwrap();

    g.a.set_label(&mut isr).unwrap();
    g.a.push(rax).unwrap();
    g.a.push(rcx).unwrap();
    g.a.push(rdx).unwrap();
    g.a.mov(rax, RESULTS).unwrap();
    g.a.inc(qword_ptr(rax + AP_IRQS)).unwrap();
    g.rdmsr(MSR_VP_INDEX);
    g.a.mov(rcx, RESULTS).unwrap();
    g.a.mov(qword_ptr(rcx + AP_VP_INDEX), rax).unwrap();
    g.wrmsr(MSR_EOI, 0);
    g.a.pop(rdx).unwrap();
    g.a.pop(rcx).unwrap();
    g.a.pop(rax).unwrap();
    g.a.iretq().unwrap();
    g.handler(VECTOR as u8, isr);
    g.a.set_label(&mut skip).unwrap();
    g.a.nop().unwrap();
    entry
}

/// Starts VP 1 at `entry` with HvCallStartVirtualProcessor (input at INPUT), storing the
/// result at `slot`.
fn start_ap(g: &mut Guest, entry: CodeLabel, slot: u64) {
    g.a.lea(rax, ptr(entry)).unwrap();
    g.a.mov(rbx, INPUT + 16).unwrap();
    g.a.mov(qword_ptr(rbx), rax).unwrap();
    g.hypercall(0x99, INPUT, 0, slot);
}

/// An `HvCallSendSyntheticClusterIpiEx` input: vector, VTL byte, a sparse set.
fn ipi_ex_input(vector: u32, vtl: u8, format: u64, valid_banks: u64, banks: &[u64]) -> Vec<u8> {
    let mut input = vector.to_le_bytes().to_vec();
    input.extend_from_slice(&[vtl, 0, 0, 0]);
    input.extend_from_slice(&format.to_le_bytes());
    input.extend_from_slice(&valid_banks.to_le_bytes());
    for bank in banks {
        input.extend_from_slice(&bank.to_le_bytes());
    }
    input
}

/// The guest of the main scenario: start VP 1, one fast HvCallSendSyntheticClusterIpi and
/// one memory HvCallSendSyntheticClusterIpiEx to it, each waited for.
fn two_vp_guest() -> Guest {
    let mut g = Guest::new();
    let entry = add_ap(&mut g);
    g.enable_hypercalls();
    start_ap(&mut g, entry, 0x100);
    g.wait_for(AP_READY, 1);
    g.hypercall(0x0B | 1 << 16, VECTOR, 0b10, 0x108);
    g.wait_for(AP_IRQS, 1);
    g.hypercall(0x15 | 1 << 17, INPUT2, 0, 0x110);
    g.wait_for(AP_IRQS, 2);
    g.exit(0);
    g
}

fn two_vp_blobs() -> Vec<(u64, Vec<u8>)> {
    vec![
        (INPUT, start_input(1)),
        (INPUT2, ipi_ex_input(VECTOR as u32, 0, 0, 1, &[0b10])),
    ]
}

#[test]
fn vp_1_started_by_hypercall_runs_the_ipi_handler() {
    let mut run = two_vp_guest().run_with(&config(Profile::hyperv()), &two_vp_blobs());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100) & 0xFFFF, 0, "StartVirtualProcessor");
    assert_eq!(run.result_u64(0x108) & 0xFFFF, 0, "SendSyntheticClusterIpi");
    assert_eq!(
        run.result_u64(0x110) & 0xFFFF,
        0,
        "SendSyntheticClusterIpiEx"
    );
    assert_eq!(run.result_u64(AP_IRQS), 2, "the handler ran on VP 1 twice");
    assert_eq!(
        run.result_u64(AP_VP_INDEX),
        1,
        "VP 1 reads its own VP index"
    );
    let stats = run.machine.stats();
    assert_eq!(stats.synthetic_ipi.get(&(1, VECTOR as u8)), Some(&2));
    assert_eq!(stats.interrupt.get(&(VECTOR as u8)), Some(&2));
    assert_eq!(stats.vp_starts, 1);
    assert!(stats.vp_switches >= 2, "{}", stats.vp_switches);
    assert!(stats.vp_instructions.get(&1).is_some_and(|&n| n > 10));
    assert_eq!(
        stats.vp_instructions.values().sum::<u64>(),
        stats.instructions,
        "every instruction ran on some VP"
    );
}

#[test]
fn two_vps_run_deterministically() {
    let first = two_vp_guest().run_with(&config(Profile::hyperv()), &two_vp_blobs());
    let second = two_vp_guest().run_with(&config(Profile::hyperv()), &two_vp_blobs());
    first.assert_exit(0);
    assert_eq!(first.machine.stats(), second.machine.stats());
    assert_eq!(
        first.machine.stats().to_json(),
        second.machine.stats().to_json()
    );
}

#[test]
fn start_virtual_processor_checks_privilege_vp_state_and_context() {
    let mut g = Guest::new();
    let entry = add_ap(&mut g);
    g.enable_hypercalls();
    // VP 5 does not exist; a 32-bit code segment is not a context the model starts.
    g.hypercall(0x99, INPUT2, 0, 0x100);
    g.hypercall(0x99, INPUT2 + 0x1000, 0, 0x108);
    start_ap(&mut g, entry, 0x110);
    g.wait_for(AP_READY, 1);
    start_ap(&mut g, entry, 0x118);
    g.exit(0);
    let mut bad_cs = start_input(1);
    bad_cs[16 + 24 + 14..16 + 24 + 16].copy_from_slice(&0xC09Bu16.to_le_bytes());
    let blobs = [
        (INPUT, start_input(1)),
        (INPUT2, start_input(5)),
        (INPUT2 + 0x1000, bad_cs),
    ];
    let mut run = g.run_with(&config(Profile::hyperv()), &blobs);
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100) & 0xFFFF, 0xE, "INVALID_VP_INDEX");
    assert_eq!(
        run.result_u64(0x108) & 0xFFFF,
        0x50,
        "INVALID_REGISTER_VALUE"
    );
    assert_eq!(run.result_u64(0x110) & 0xFFFF, 0, "started");
    assert_eq!(
        run.result_u64(0x118) & 0xFFFF,
        0x15,
        "INVALID_VP_STATE: running"
    );

    // Without the StartVirtualProcessor privilege (KVM has no such call at all).
    let mut g = Guest::new();
    g.enable_hypercalls();
    g.hypercall(0x99, INPUT, 0, 0x100);
    g.exit(0);
    let blobs = [(INPUT, start_input(1))];
    let mut run = g.run_with(&config(Profile::kvm()), &blobs);
    run.assert_exit(0);
    assert_eq!(
        run.result_u64(0x100) & 0xFFFF,
        0x2,
        "KVM: INVALID_HYPERCALL_CODE"
    );
}

#[test]
fn synthetic_ipis_validate_vector_vtl_and_vp_sets() {
    let cases: [(u64, u64, u64, u16); 8] = [
        (0x0B | 1 << 16, 0x0F, 0b10, 0x5),    // vector below 0x10
        (0x0B | 1 << 16, 0x100, 0b10, 0x5),   // vector above 0xFF
        (0x0B | 1 << 16, VECTOR, 0b100, 0x5), // VP 2 does not exist
        (0x0B | 1 << 16, VECTOR | 0x11 << 32, 0b1, 0x5), // target VTL 1
        (0x0B | 1 << 16, VECTOR, 0, 0x0),     // empty mask: nothing sent
        (0x15 | 2 << 17, INPUT, 0, 0x3),      // 2 masks for 1 valid bank
        (0x15 | 1 << 17, INPUT + 0x100, 0, 0x5), // format 2
        (0x15, INPUT + 0x200, 0, 0x0),        // format all, self included
    ];
    let mut g = Guest::new();
    g.x2apic_on(true);
    g.enable_hypercalls();
    for (i, (rcx_value, rdx_value, r8_value, _)) in cases.iter().enumerate() {
        g.hypercall(*rcx_value, *rdx_value, *r8_value, 0x100 + 8 * i as u64);
    }
    g.exit(0);
    let blobs = [
        (INPUT, ipi_ex_input(VECTOR as u32, 0, 0, 1, &[1, 1])),
        (INPUT + 0x100, ipi_ex_input(VECTOR as u32, 0, 2, 1, &[1])),
        (INPUT + 0x200, ipi_ex_input(VECTOR as u32, 0, 1, 0, &[])),
    ];
    let mut run = g.run_with(&config(Profile::hyperv()), &blobs);
    run.assert_exit(0);
    for (i, (rcx_value, _, _, status)) in cases.iter().enumerate() {
        assert_eq!(
            run.result_u64(0x100 + 8 * i as u64) & 0xFFFF,
            u64::from(*status),
            "case {i}: control {rcx_value:#x}"
        );
    }
    let stats = run.machine.stats();
    // Format all reached VP 0 (IF clear: pending) and VP 1, whose APIC is still off
    // (it never started): dropped.
    assert_eq!(stats.synthetic_ipi.get(&(0, VECTOR as u8)), Some(&1));
    assert_eq!(stats.synthetic_ipi.get(&(1, VECTOR as u8)), None);
    assert_eq!(stats.ipi_dropped, 1);
}

#[test]
fn get_vp_index_from_apic_id_is_a_rep_call() {
    let mut g = Guest::new();
    g.enable_hypercalls();
    // APIC ids 1, 0, 1: three reps at two per exit; then APIC id 7, which no VP has.
    g.hypercall(0x9A | 3 << 32, INPUT, OUTPUT, 0x100);
    g.hypercall(0x9A | 2 << 32, INPUT + 0x100, OUTPUT + 0x100, 0x108);
    g.exit(0);
    let header = |ids: &[u32]| {
        let mut input = HV_PARTITION_ID_SELF.to_le_bytes().to_vec();
        input.extend_from_slice(&[0; 8]);
        for id in ids {
            input.extend_from_slice(&id.to_le_bytes());
        }
        input
    };
    let blobs = [
        (INPUT, header(&[1, 0, 1])),
        (INPUT + 0x100, header(&[0, 7])),
    ];
    let mut run = g.run_with(&config(Profile::hyperv()), &blobs);
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100), 3 << 32, "success, 3 reps");
    let mut out = [0u8; 12];
    run.machine.read_phys(OUTPUT, &mut out).unwrap();
    assert_eq!(out, [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        run.result_u64(0x108),
        1 << 32 | 0x5,
        "INVALID_PARAMETER after 1 rep"
    );
    let stats = run.machine.stats();
    assert_eq!(stats.hypercall_continuations, 1);
    assert_eq!(stats.hypercall.get(&(0x9A, 0)), Some(&2));

    // KVM does not implement it; Hyper-V refuses it without AccessVpIndex.
    let mut no_vp_index = Profile::hyperv();
    if let Some(hv) = no_vp_index.hv.as_mut() {
        let privileges = hv.features.privileges().with_access_vp_index(false);
        hv.features.set_privileges(privileges);
    }
    for (profile, status) in [(Profile::kvm(), 0x2), (no_vp_index, 0x6)] {
        let mut g = Guest::new();
        g.enable_hypercalls();
        g.hypercall(0x9A | 1 << 32, INPUT, OUTPUT, 0x100);
        g.exit(0);
        let mut run = g.run_with(&config(profile), &[(INPUT, header(&[0]))]);
        run.assert_exit(0);
        assert_eq!(run.result_u64(0x100) & 0xFFFF, status);
    }
}

/// A flush list input: address space, flags, mask (or, with `set`, the Ex header and
/// banks), then the entries.
fn flush_input(
    space: u64,
    flags: u64,
    mask: u64,
    set: Option<(u64, u64, &[u64])>,
    list: &[u64],
) -> Vec<u8> {
    let mut input = space.to_le_bytes().to_vec();
    input.extend_from_slice(&flags.to_le_bytes());
    match set {
        Some((format, valid, banks)) => {
            input.extend_from_slice(&format.to_le_bytes());
            input.extend_from_slice(&valid.to_le_bytes());
            for bank in banks {
                input.extend_from_slice(&bank.to_le_bytes());
            }
        }
        None => input.extend_from_slice(&mask.to_le_bytes()),
    }
    for entry in list {
        input.extend_from_slice(&entry.to_le_bytes());
    }
    input
}

#[test]
fn list_flushes_continue_count_and_validate() {
    let list = [0x1000, 0x10_0002, 0x7F00_0000_0FFF, 0x2000, 0x3000];
    // Control, input address, expected RAX (status | reps completed << 32).
    let cases: [(u64, u64, u64); 10] = [
        (0x03 | 5 << 32, INPUT, 5 << 32), // 5 reps, 2 per exit
        (0x14 | 1 << 17 | 2 << 32, INPUT + 0x100, 2 << 32), // Ex, set {0,1}
        (0x03 | 1 << 32, INPUT + 0x200, 0x5), // reserved flag bit 4
        (0x03 | 1 << 32, INPUT + 0x300, 0x5), // non-global on a list
        (0x03 | 1 << 32, INPUT + 0x400, 0x5), // empty mask
        (0x03 | 1 << 32, INPUT + 0x500, 0x5), // CR3 bit 52
        (0x03 | 1 << 32, INPUT + 0x600, 1 << 32), // ... ignored for all spaces
        (0x02, INPUT + 0x700, 0x5),       // extended format on a space call
        (0x03 | 3 << 32, INPUT + 0x800, 2 << 32 | 0x5), // bad large entry at index 2
        (0x13 | 1 << 17, INPUT + 0x900, 0x3), // Ex: 1 mask for 2 banks
    ];
    let mut g = Guest::new();
    g.enable_hypercalls();
    for (i, (rcx_value, rdx_value, _)) in cases.iter().enumerate() {
        g.hypercall(*rcx_value, *rdx_value, 0, 0x100 + 8 * i as u64);
    }
    g.exit(0);
    let space: u64 = 0x3000;
    let large_bad: u64 = 1 << 11 | 1 << 13;
    let blobs = [
        (INPUT, flush_input(space, 0, 0b11, None, &list)),
        (
            INPUT + 0x100,
            flush_input(space, 0, 0, Some((0, 1, &[0b11])), &list[..2]),
        ),
        (
            INPUT + 0x200,
            flush_input(space, 1 << 4, 1, None, &list[..1]),
        ),
        (
            INPUT + 0x300,
            flush_input(space, 1 << 2, 1, None, &list[..1]),
        ),
        (INPUT + 0x400, flush_input(space, 0, 0, None, &list[..1])),
        (INPUT + 0x500, flush_input(1 << 52, 0, 1, None, &list[..1])),
        (
            INPUT + 0x600,
            flush_input(1 << 52, 1 << 1, 1, None, &list[..1]),
        ),
        (INPUT + 0x700, flush_input(space, 1 << 3 | 1, 0, None, &[])),
        (
            INPUT + 0x800,
            flush_input(space, 1 << 3 | 1, 0, None, &[0x1000, 0x2000, large_bad]),
        ),
        (
            INPUT + 0x900,
            flush_input(space, 1, 0, Some((0, 0b11, &[1])), &[]),
        ),
    ];
    let mut run = g.run_with(&config(Profile::hyperv()), &blobs);
    run.assert_exit(0);
    for (i, (rcx_value, _, expected)) in cases.iter().enumerate() {
        assert_eq!(
            run.result_u64(0x100 + 8 * i as u64),
            *expected,
            "case {i}: control {rcx_value:#x}"
        );
    }
    let stats = run.machine.stats();
    // Calls that fail a check before their list count nothing. Case 0: 1 + 3 + 4096 +
    // 1 + 1 pages on VPs {0, 1}; case 6: 1 page on VP 0; case 8: two 1-page entries on
    // all (2) VPs before the bad one.
    assert_eq!(
        stats.tlb_flush.get(&0x03),
        Some(&FlushCounts {
            calls: 3,
            entries: 5 + 1 + 2,
            pages: 4102 + 1 + 2,
            vps: 2 + 1 + 2,
        })
    );
    assert_eq!(
        stats.tlb_flush.get(&0x14),
        Some(&FlushCounts {
            calls: 1,
            entries: 2,
            pages: 4,
            vps: 2,
        })
    );
}

#[test]
fn ten_thousand_pages_on_two_vps_are_one_xmm_hypercall() {
    // HvCallFlushVirtualAddressList, XMM fast: RDX = CR3, R8 = flags 0, XMM0 low = mask
    // {0, 1}, then the three entries of 4096 + 4096 + 1808 pages in XMM0 high and XMM1.
    let base: u64 = 0x7F00_0000_0000;
    let entries = [
        base | 0xFFF,
        (base + (4096 << 12)) | 0xFFF,
        (base + (8192 << 12)) | 1807,
    ];
    let mut g = Guest::new();
    g.enable_hypercalls();
    g.a.mov(rax, INPUT).unwrap();
    g.a.movdqu(xmm0, xmmword_ptr(rax)).unwrap();
    g.a.movdqu(xmm1, xmmword_ptr(rax + 16)).unwrap();
    g.hypercall(0x03 | 1 << 16 | 3 << 32, 0x3000, 0, 0x100);
    g.exit(0);
    let mut block = 0b11u64.to_le_bytes().to_vec();
    for entry in entries {
        block.extend_from_slice(&entry.to_le_bytes());
    }
    let mut run = g.run_with(&config(Profile::hyperv()), &[(INPUT, block)]);
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100), 3 << 32);
    let stats = run.machine.stats();
    assert_eq!(
        stats.tlb_flush.get(&0x03),
        Some(&FlushCounts {
            calls: 1,
            entries: 3,
            pages: 10_000,
            vps: 2,
        })
    );
    assert_eq!(
        stats.hypercall_xmm, 2,
        "one call, returned once for continuation"
    );
    assert_eq!(stats.hypercall_continuations, 1);
}

#[test]
fn enforce_cpuid_refuses_calls_the_cpuid_leaves_do_not_offer() {
    let blobs = [(INPUT, flush_input(0, 0b11, 0, None, &[]))];
    for (flags, flush, ipi) in [
        ("vpindex,enforce-cpuid", 0x6, 0x6),
        ("vpindex,tlbflush,hv-enforce-cpuid=on", 0x0, 0x6),
        ("vpindex,ipi,enforce-cpuid", 0x6, 0x0),
        ("vpindex", 0x0, 0x0),
    ] {
        let mut g = Guest::new();
        g.enable_hypercalls();
        g.hypercall(0x02, INPUT, 0, 0x100);
        g.hypercall(0x0B | 1 << 16, VECTOR, 0b1, 0x108);
        g.exit(0);
        let profile = Profile::parse(None, Some(flags)).unwrap();
        let mut run = g.run_with(&config(profile), &blobs);
        run.assert_exit(0);
        assert_eq!(run.result_u64(0x100) & 0xFFFF, flush, "{flags}: flush");
        assert_eq!(run.result_u64(0x108) & 0xFFFF, ipi, "{flags}: IPI");
    }
}

#[test]
fn init_and_sipi_start_vp_1_in_real_mode() {
    // VP 1's code at 0x2_0000 (SIPI vector 0x20), 16-bit: record CS, CR0, EAX and a
    // marker through DS = CS, then halt with interrupts off.
    let mut ap = CodeAssembler::new(16).unwrap();
    ap.mov(bx, ax).unwrap(); // EAX low half after INIT (0)
    ap.mov(ax, cs).unwrap();
    ap.mov(ds, ax).unwrap();
    ap.mov(word_ptr(0x100), ax).unwrap(); // written to 0x2_0100
    ap.mov(word_ptr(0x104), bx).unwrap();
    ap.mov(eax, cr0).unwrap();
    ap.mov(dword_ptr(0x108), eax).unwrap();
    ap.mov(word_ptr(0x102), 0xBEEFu32).unwrap();
    ap.cli().unwrap();
    ap.hlt().unwrap();
    let ap_code = ap.assemble(0).unwrap();

    let mut g = Guest::new();
    g.x2apic_on(true);
    // INIT (level assert), an INIT level de-assert (ignored), SIPI vector 0x20, through
    // the x2APIC ICR; a second SIPI through HV_X64_MSR_ICR once VP 1 runs (ignored).
    g.wrmsr(0x830, 1 << 32 | 0x4500);
    g.wrmsr(0x830, 1 << 32 | 0x8500);
    g.wrmsr(0x830, 1 << 32 | 0x4620);
    g.a.mov(rax, 0x2_0102u64).unwrap();
    let mut again = g.a.create_label();
    g.a.set_label(&mut again).unwrap();
    g.a.pause().unwrap();
    g.a.cmp(word_ptr(rax), 0xBEEF).unwrap();
    g.a.jne(again).unwrap();
    g.wrmsr(MSR_ICR, 1 << 32 | 0x4621);
    // VP 1 is parked (HLT with IF clear): VP 0 halting too leaves nothing that can run.
    g.a.cli().unwrap();
    g.a.hlt().unwrap();
    let mut run = g.run_with(&config(Profile::kvm()), &[(0x2_0000, ap_code)]);
    assert!(
        matches!(
            run.result,
            Err(SimError::HaltedForever {
                interrupts_enabled: false,
                ..
            })
        ),
        "{:?}",
        run.result
    );
    let mut seen = [0u8; 12];
    run.machine.read_phys(0x2_0100, &mut seen).unwrap();
    assert_eq!(
        u16::from_le_bytes([seen[0], seen[1]]),
        0x2000,
        "CS = vector << 8"
    );
    assert_eq!(u16::from_le_bytes([seen[4], seen[5]]), 0, "EAX = 0");
    assert_eq!(
        u32::from_le_bytes(seen[8..12].try_into().unwrap()),
        0x6000_0010,
        "CR0 after INIT"
    );
    let stats = run.machine.stats();
    assert_eq!(stats.vp_starts, 0, "not by hypercall");
    assert!(stats.vp_instructions.get(&1).is_some_and(|&n| n >= 17 + 8));
    // INIT and SIPI, the de-assert and the ignored second SIPI: all to VP 1.
    assert_eq!(stats.ipi_to_other_vp.values().sum::<u64>(), 4);
}
