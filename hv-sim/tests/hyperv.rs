//! The partition model: synthetic MSR rules per profile, the hypercall page, hypercall
//! validation, rep continuation, register preservation, interrupts.

mod common;
use common::*;

const VP_INDEX: u32 = 0x4000_0002;
const TIME_REF_COUNT: u32 = 0x4000_0020;
const HV_EOI: u32 = 0x4000_0070;
const STIMER0_CONFIG: u32 = 0x4000_00B0;
const STIMER0_COUNT: u32 = 0x4000_00B1;

/// Runs RDMSR on `msr` and reports whether it raised #GP.
fn rdmsr_faults(profile: Profile, msr: u32) -> bool {
    let mut g = Guest::new();
    g.rdmsr(msr);
    g.exit(0);
    let mut run = g.run(profile);
    run.assert_exit(0);
    run.result_u64(GP_COUNT) == 1
}

#[test]
fn synthetic_msr_access_follows_the_profile() {
    // (MSR, none, kvm, hyperv): #GP expected?
    // The guest idle MSR (hyperv only) idles on a read: `guest_idle_waits_for_a_masked_
    // interrupt` covers it.
    let table: [(u32, bool, bool, bool); 8] = [
        (GUEST_OS_ID, true, false, false),
        (VP_INDEX, true, false, false),
        (TIME_REF_COUNT, true, false, false),
        (0x4000_0003, true, false, true),  // reset: kvm only
        (0x4000_0010, true, false, false), // VP runtime
        (HV_EOI, true, true, true),        // write-only: reads fault everywhere
        (0x4000_0080, true, false, false), // SCONTROL
        (0x4000_0100, true, false, false), // crash P0
    ];
    for (msr, none, kvm, hyperv) in table {
        assert_eq!(rdmsr_faults(Profile::none(), msr), none, "none {msr:#x}");
        assert_eq!(rdmsr_faults(Profile::kvm(), msr), kvm, "kvm {msr:#x}");
        assert_eq!(
            rdmsr_faults(Profile::hyperv(), msr),
            hyperv,
            "hyperv {msr:#x}"
        );
    }
    let only_vpindex = Profile::parse(None, Some("vpindex")).unwrap();
    assert!(!rdmsr_faults(only_vpindex.clone(), VP_INDEX));
    assert!(rdmsr_faults(only_vpindex, TIME_REF_COUNT));
}

#[test]
fn read_only_msrs_fault_on_write_with_error_code_zero() {
    let mut g = Guest::new();
    g.wrmsr(VP_INDEX, 1);
    g.wrmsr(TIME_REF_COUNT, 1);
    g.wrmsr(0x4000_0081, 1); // SVERSION
    g.exit(0);
    let mut run = g.run(Profile::kvm());
    run.assert_exit(0);
    assert_eq!(run.result_u64(GP_COUNT), 3);
    assert_eq!(run.result_u64(GP_ERROR), 0);
    assert_eq!(run.machine.stats().exception.get(&13), Some(&3));
}

#[test]
fn hypercall_page_needs_a_guest_os_id() {
    let mut g = Guest::new();
    // Enabling without a guest OS id leaves enable clear; RsvdP bits are preserved (0).
    g.wrmsr(HYPERCALL, HCPAGE | 0xFFC | 1);
    g.rdmsr(HYPERCALL);
    g.store_edx_eax(0x100);
    g.wrmsr(GUEST_OS_ID, 0x8100_0000_0000_0000);
    g.wrmsr(HYPERCALL, HCPAGE | 1);
    g.rdmsr(HYPERCALL);
    g.store_edx_eax(0x108);
    g.a.mov(rax, HCPAGE).unwrap();
    g.a.mov(eax, dword_ptr(rax)).unwrap();
    g.store_rax(0x110);
    // Clearing the guest OS id disables the page and restores RAM.
    g.wrmsr(GUEST_OS_ID, 0);
    g.rdmsr(HYPERCALL);
    g.store_edx_eax(0x118);
    g.a.mov(rax, HCPAGE).unwrap();
    g.a.mov(eax, dword_ptr(rax)).unwrap();
    g.store_rax(0x120);
    g.exit(0);
    let mut run = g.run(Profile::hyperv());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100), HCPAGE);
    assert_eq!(run.result_u64(0x108), HCPAGE | 1);
    assert_eq!(run.result_u64(0x110), 0xC3C1_010F, "vmcall; ret");
    assert_eq!(run.result_u64(0x118), HCPAGE);
    assert_eq!(run.result_u64(0x120), 0);
}

#[test]
fn control_word_validation_returns_tlfs_status_codes() {
    const GET: u64 = 0x50;
    const SPIN: u64 = 0x08;
    const POST: u64 = 0x5C;
    const SIGNAL: u64 = 0x5D;
    let cases: [(u64, u64, u64, u16); 11] = [
        (SPIN | 1 << 27, 0, 0, 0x3),                   // RsvdZ bit 27
        (SPIN | 1 << 32, 0, 0, 0x3),                   // rep count on a simple call
        (GET | 1 << 16 | 1 << 32, 0, 0, 0x3),          // rep call, fast form needs XMM... see below
        (GET, INPUT, OUTPUT, 0x3),                     // rep call with zero rep count
        (GET | 2 << 32 | 2 << 48, INPUT, OUTPUT, 0x3), // start >= count
        (POST | 1 << 16, 0, 0, 0x3),                   // PostMessage has no fast form
        (SPIN | 1 << 17, 0, 0, 0x3),                   // variable header on a call without one
        (POST, INPUT + 4, 0, 0x4),                     // misaligned input
        (POST, INPUT + 0xF80, 0, 0x4),                 // input crosses a page
        (0x7777, 0, 0, 0x2),                           // unknown call code
        (SIGNAL | 1 << 16, 0, 0, 0x12),                // fast SignalEvent: unknown connection
    ];
    let g = with_hypercalls(|g| {
        for (i, (rcx_value, rdx_value, r8_value, _)) in cases.iter().enumerate() {
            call(g, *rcx_value, *rdx_value, *r8_value, 0x100 + 8 * i as u64);
        }
    });
    let mut run = g.run(Profile::hyperv());
    run.assert_exit(0);
    for (i, (rcx_value, _, _, status)) in cases.iter().enumerate() {
        let rax_value = run.result_u64(0x100 + 8 * i as u64);
        if i == 2 {
            // Fast GetVpRegisters with one name: XMM input is available in `hyperv`, the
            // header is all zero: partition id 0 is not HV_PARTITION_ID_SELF.
            assert_eq!(rax_value & 0xFFFF, 0xD, "case {i}");
            continue;
        }
        assert_eq!(
            rax_value & 0xFFFF,
            u64::from(*status),
            "case {i}: control {rcx_value:#x}"
        );
    }
}

#[test]
fn privileges_are_checked_before_the_call() {
    let g = with_hypercalls(|g| {
        call(g, 0x5D | 1 << 16, 0, 0, 0x100); // SignalEvent
        call(g, 0x5C, INPUT, 0, 0x108); // PostMessage
        call(g, 0x8001, 0, OUTPUT, 0x110); // HvExtCallQueryCapabilities
        call(g, 0x08 | 1 << 16, 5, 0, 0x118); // NotifyLongSpinWait
    });
    let none_synic = Profile::parse(None, Some("vpindex")).unwrap();
    let mut run = g.run(none_synic);
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100) & 0xFFFF, 0x6);
    assert_eq!(run.result_u64(0x108) & 0xFFFF, 0x6);
    assert_eq!(run.result_u64(0x110) & 0xFFFF, 0x6);
    assert_eq!(run.result_u64(0x118) & 0xFFFF, 0x0);
    assert_eq!(run.machine.stats().long_spin_waits, 1);

    let g = with_hypercalls(|g| {
        call(g, 0x5D | 1 << 16, 0, 0, 0x100);
        call(g, 0x5C, INPUT, 0, 0x108);
        call(g, 0x8001, 0, OUTPUT, 0x110);
    });
    let mut run = g.run(Profile::hyperv());
    run.assert_exit(0);
    assert_eq!(
        run.result_u64(0x100) & 0xFFFF,
        0x12,
        "connection 0 does not exist"
    );
    // The all-zero input names message type 0, which TLFS 11.11.1 refuses.
    assert_eq!(run.result_u64(0x108) & 0xFFFF, 0x5);
    assert_eq!(run.result_u64(0x110) & 0xFFFF, 0x0);
}

#[test]
fn xmm_input_without_the_feature_is_ud_and_user_mode_is_ud() {
    // kvm profile without xmm-input: a fast GetVpRegisters with names needs XMM input.
    let profile = Profile::parse(None, Some("vpindex")).unwrap();
    let g = with_hypercalls(|g| call(g, 0x50 | 1 << 16 | 1 << 32, 0, 0, 0x100));
    let mut run = g.run(profile);
    run.assert_exit(0);
    assert_eq!(run.result_u64(UD_COUNT), 1);
    assert_eq!(run.machine.stats().hypercall_ud, 1);
}

/// Writes a GetVpRegisters input at INPUT asking for `names`.
fn get_vp_registers_input(m: &mut Machine, names: &[u32]) {
    let mut input = Vec::new();
    input.extend_from_slice(&u64::MAX.to_le_bytes()); // HV_PARTITION_ID_SELF
    input.extend_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // HV_VP_INDEX_SELF
    input.extend_from_slice(&[0; 4]);
    for name in names {
        input.extend_from_slice(&name.to_le_bytes());
    }
    m.write_phys(INPUT, &input).unwrap();
}

#[test]
fn rep_get_vp_registers_continues_across_vmcalls() {
    // GuestOsId, VpIndex, TimeRefCount, GuestOsId, VpIndex: 5 reps, 2 per VMCALL.
    let names = [0x9_0002, 0x9_0003, 0x9_0004, 0x9_0002, 0x9_0003];
    let g = with_hypercalls(|g| {
        call(g, 0x50 | (names.len() as u64) << 32, INPUT, OUTPUT, 0x100);
    });
    let config = Config {
        profile: Profile::hyperv(),
        mem_mib: 16,
        vps: 2,
        ..Config::default()
    };
    let mut m = g.build(&config);
    get_vp_registers_input(&mut m, &names);
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    let mut rax_value = [0u8; 8];
    m.read_phys(RESULTS + 0x100, &mut rax_value).unwrap();
    let rax_value = u64::from_le_bytes(rax_value);
    assert_eq!(rax_value & 0xFFFF, 0, "success");
    assert_eq!((rax_value >> 32) & 0xFFF, 5, "reps completed");
    let mut out = [0u8; 80];
    m.read_phys(OUTPUT, &mut out).unwrap();
    let value = |i: usize| u64::from_le_bytes(out[16 * i..16 * i + 8].try_into().unwrap());
    assert_eq!(value(0), 0x8100_0000_0000_0000);
    assert_eq!(value(1), 0);
    assert!(value(2) < 100, "reference time of a short run");
    assert_eq!(value(3), 0x8100_0000_0000_0000);
    let stats = m.stats();
    assert_eq!(
        stats.hypercall_continuations, 2,
        "5 reps at 2 per call: 3 VMCALLs"
    );
    assert_eq!(stats.hypercall.get(&(0x50, 0)), Some(&3));
}

#[test]
fn rep_error_reports_reps_completed() {
    let names = [0x9_0003, 0x12_3456, 0x9_0003];
    let g = with_hypercalls(|g| call(g, 0x50 | 3 << 32, INPUT, OUTPUT, 0x100));
    let config = Config {
        profile: Profile::hyperv(),
        mem_mib: 16,
        ..Config::default()
    };
    let mut m = g.build(&config);
    get_vp_registers_input(&mut m, &names);
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    let mut rax_value = [0u8; 8];
    m.read_phys(RESULTS + 0x100, &mut rax_value).unwrap();
    let rax_value = u64::from_le_bytes(rax_value);
    assert_eq!(rax_value & 0xFFFF, 0x5, "INVALID_PARAMETER");
    assert_eq!((rax_value >> 32) & 0xFFF, 1);
}

#[test]
fn fast_output_clobbers_only_what_the_tlfs_allows() {
    // Fast GetVpRegisters of VpIndex: header in RDX/R8, the name in XMM0 (input is 20
    // bytes, 32 rounded), the value comes back in XMM1; XMM2-5 may be clobbered; RDX, R8,
    // XMM0 and every other register are preserved.
    let g = with_hypercalls(|g| {
        let a = &mut g.a;
        a.mov(rax, 0x9_0003u64).unwrap();
        a.movq(xmm0, rax).unwrap();
        for (i, reg) in [xmm1, xmm2, xmm3, xmm4, xmm5].into_iter().enumerate() {
            a.mov(rax, 0x1111 * (i as u64 + 1)).unwrap();
            a.movq(reg, rax).unwrap();
        }
        a.mov(rbx, 0xB0B0u64).unwrap();
        a.mov(rsi, 0x5151u64).unwrap();
        a.mov(rdi, 0xD1D1u64).unwrap();
        a.mov(r9, 0x9999u64).unwrap();
        a.mov(r15, 0xF0F0u64).unwrap();
        a.mov(rcx, 0x50u64 | 1 << 16 | 1 << 32).unwrap();
        a.mov(rdx, u64::MAX).unwrap();
        a.mov(r8, 0xFFFF_FFFEu64).unwrap();
        a.mov(rax, HCPAGE).unwrap();
        a.call(rax).unwrap();
        let slots: [(AsmRegister64, u64); 8] = [
            (rax, 0x100),
            (rbx, 0x108),
            (rdx, 0x110),
            (r8, 0x118),
            (rsi, 0x120),
            (rdi, 0x128),
            (r9, 0x130),
            (r15, 0x138),
        ];
        for (reg, slot) in slots {
            a.mov(r10, RESULTS + slot).unwrap();
            a.mov(qword_ptr(r10), reg).unwrap();
        }
        for (i, reg) in [xmm0, xmm1, xmm2, xmm5].into_iter().enumerate() {
            a.mov(r10, RESULTS + 0x140 + 16 * i as u64).unwrap();
            a.movdqu(xmmword_ptr(r10), reg).unwrap();
        }
    });
    let mut run = g.run(Profile::hyperv());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100), 1 << 32, "success, 1 rep");
    assert_eq!(run.result_u64(0x108), 0xB0B0);
    assert_eq!(run.result_u64(0x110), u64::MAX, "RDX input preserved");
    assert_eq!(run.result_u64(0x118), 0xFFFF_FFFE, "R8 input preserved");
    assert_eq!(run.result_u64(0x120), 0x5151);
    assert_eq!(run.result_u64(0x128), 0xD1D1);
    assert_eq!(run.result_u64(0x130), 0x9999);
    assert_eq!(run.result_u64(0x138), 0xF0F0);
    assert_eq!(run.result_u64(0x140), 0x9_0003, "XMM0 input preserved");
    assert_eq!(run.result_u64(0x150), 0, "XMM1 = VP index 0");
    let pattern = u64::from_le_bytes([hv_sim::CLOBBER_BYTE; 8]);
    assert_eq!(run.result_u64(0x160), pattern, "XMM2 clobbered");
    assert_eq!(run.result_u64(0x170), pattern, "XMM5 clobbered");
}

#[test]
fn self_ipi_honours_if_tpr_and_eoi() {
    let mut g = Guest::new();
    let mut isr = g.a.create_label();
    let mut main = g.a.create_label();
    g.a.jmp(main).unwrap();
    g.a.set_label(&mut isr).unwrap();
    g.a.push(rax).unwrap();
    g.a.push(rcx).unwrap();
    g.a.push(rdx).unwrap();
    g.a.mov(rax, RESULTS).unwrap();
    g.a.inc(qword_ptr(rax + IRQ_COUNT)).unwrap();
    // Record the TSC-free order: IRQ_LAST = the marker in R12 at delivery.
    g.a.mov(qword_ptr(rax + IRQ_LAST), r12).unwrap();
    g.a.mov(ecx, HV_EOI).unwrap();
    g.a.xor(eax, eax).unwrap();
    g.a.xor(edx, edx).unwrap();
    g.a.wrmsr().unwrap();
    g.a.pop(rdx).unwrap();
    g.a.pop(rcx).unwrap();
    g.a.pop(rax).unwrap();
    g.a.iretq().unwrap();
    g.a.set_label(&mut main).unwrap();
    g.handler(0x51, isr);
    // x2APIC on, software-enabled.
    g.wrmsr(0x1B, 0xFEE0_0000 | 1 << 8 | 1 << 10 | 1 << 11);
    g.wrmsr(0x80F, 0x1FF);
    g.a.mov(r12, 1u64).unwrap();
    g.a.sti().unwrap();
    // TPR 0x50 masks vector 0x51 (same class).
    g.wrmsr(0x808, 0x50);
    g.wrmsr(0x83F, 0x51); // self IPI
    g.a.mov(r12, 2u64).unwrap();
    g.a.mov(rax, RESULTS).unwrap();
    g.a.mov(rbx, qword_ptr(rax + IRQ_COUNT)).unwrap();
    g.a.mov(qword_ptr(rax + 0x100), rbx).unwrap();
    // Lowering TPR through CR8 delivers it.
    g.a.xor(eax, eax).unwrap();
    g.a.mov(cr8, rax).unwrap();
    g.a.mov(r12, 3u64).unwrap();
    g.rdmsr(0x810 + 2); // ISR bits 95:64 (vector 0x51 is bit 81)
    g.store_edx_eax(0x108);
    g.exit(0);
    let mut run = g.run(Profile::kvm());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100), 0, "masked by TPR");
    assert_eq!(run.result_u64(IRQ_COUNT), 1);
    assert_eq!(
        run.result_u64(IRQ_LAST),
        2,
        "delivered right after the CR8 write"
    );
    assert_eq!(run.result_u64(0x108), 0, "EOI cleared the ISR");
    assert_eq!(run.machine.stats().interrupt.get(&0x51), Some(&1));
}

#[test]
fn ipi_to_another_vp_is_recorded() {
    let mut g = Guest::new();
    g.wrmsr(0x1B, 0xFEE0_0000 | 1 << 8 | 1 << 10 | 1 << 11);
    g.wrmsr(0x80F, 0x1FF);
    g.wrmsr(0x830, 1 << 32 | 0x42);
    g.exit(0);
    let run = g.run(Profile::kvm());
    run.assert_exit(0);
    assert_eq!(
        run.machine.stats().ipi_to_other_vp.get(&(1, 0x42)),
        Some(&1)
    );
}

#[test]
fn hlt_advances_virtual_time_to_a_direct_stimer() {
    let mut g = Guest::new();
    let mut isr = g.a.create_label();
    let mut main = g.a.create_label();
    g.a.jmp(main).unwrap();
    g.a.set_label(&mut isr).unwrap();
    g.a.push(rax).unwrap();
    g.a.mov(rax, RESULTS).unwrap();
    g.a.inc(qword_ptr(rax + IRQ_COUNT)).unwrap();
    g.a.pop(rax).unwrap();
    g.a.iretq().unwrap();
    g.a.set_label(&mut main).unwrap();
    g.handler(0x60, isr);
    g.wrmsr(0x1B, 0xFEE0_0000 | 1 << 8 | 1 << 10 | 1 << 11);
    g.wrmsr(0x80F, 0x1FF);
    // Direct-mode one-shot timer, vector 0x60, at reference time 10 ms (100000 units).
    g.wrmsr(STIMER0_CONFIG, 1 | 0x60 << 4 | 1 << 12);
    g.wrmsr(STIMER0_COUNT, 100_000);
    g.a.sti().unwrap();
    g.a.hlt().unwrap();
    g.rdmsr(TIME_REF_COUNT);
    g.store_edx_eax(0x100);
    g.exit(0);
    let mut run = g.run(Profile::kvm());
    run.assert_exit(0);
    let now = run.result_u64(0x100);
    assert_eq!(
        run.result_u64(IRQ_COUNT),
        1,
        "{now} {:?}",
        run.machine.stats()
    );
    assert!((100_000..100_010).contains(&now), "{now}");
    assert_eq!(run.machine.stats().hlt, 1);
}

#[test]
fn cpuid_leaves_follow_the_profile() {
    let mut g = Guest::new();
    for (i, leaf) in [1u32, 0x4000_0000, 0x4000_0001, 0x4000_0003]
        .into_iter()
        .enumerate()
    {
        g.a.mov(eax, leaf).unwrap();
        g.a.xor(ecx, ecx).unwrap();
        g.a.cpuid().unwrap();
        g.a.mov(r10, RESULTS + 0x100 + 16 * i as u64).unwrap();
        g.a.mov(dword_ptr(r10), eax).unwrap();
        g.a.mov(dword_ptr(r10 + 4), ebx).unwrap();
        g.a.mov(dword_ptr(r10 + 8), ecx).unwrap();
        g.a.mov(dword_ptr(r10 + 12), edx).unwrap();
    }
    g.exit(0);
    let mut run = g.run(Profile::none());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x108) >> 31 & 1, 0, "no hypervisor bit");
    assert_eq!(run.result_u64(0x108) >> 21 & 1, 1, "x2APIC");
    assert_eq!(run.result_u64(0x110), 0, "no vendor leaf");
}

#[test]
fn hypercall_after_a_rescan_is_served() {
    // The hypercall page is enabled, then a new block with an RDMSR (found by a rescan) runs
    // right before the call: the VMCALL must still be served, not taken for a halt.
    let mut g = Guest::new();
    g.wrmsr(GUEST_OS_ID, 0x8100_0000_0000_0000);
    g.wrmsr(HYPERCALL, HCPAGE | 1);
    let mut next = g.a.create_label();
    g.a.jmp(next).unwrap();
    g.a.nop().unwrap();
    g.a.set_label(&mut next).unwrap();
    g.rdmsr(HYPERCALL);
    call(&mut g, 0x08 | 1 << 16, 0, 0, 0x100); // NotifyLongSpinWait
    g.exit(0);
    let mut run = g.run(Profile::kvm());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100), 0);
    assert_eq!(run.machine.stats().long_spin_waits, 1);
}

#[test]
fn invalid_instructions_and_hypercalls_without_a_hypervisor_are_ud() {
    // UD2 (2 bytes) plus a NOP, so the standard #UD handler's 3-byte skip lands after both;
    // then a VMCALL with no hypervisor: #UD too (TLFS 3.5), and counted as a refused
    // hypercall.
    let mut g = Guest::new();
    g.a.ud2().unwrap();
    g.a.nop().unwrap();
    g.a.vmcall().unwrap();
    g.exit(0);
    let mut run = g.run(Profile::none());
    run.assert_exit(0);
    assert_eq!(run.result_u64(UD_COUNT), 2);
    let stats = run.machine.stats();
    assert_eq!(stats.exception.get(&6), Some(&2));
    assert_eq!(stats.hypercall_ud, 1);
    assert!(stats.hypercall.is_empty());
}

#[test]
fn a_hypercall_from_user_mode_is_ud_and_never_served() {
    // Page tables the boot state built (PML4 at 0x3000, PDPT at 0x4000, PD at 0x5000) get
    // the user bit so CPL 3 may run the first 2 MiB; a GDT with ring-3 code and data.
    let mut g = with_hypercalls(|g| {
        const GDT: u64 = 0x7_E000;
        let mut user = g.a.create_label();
        g.a.mov(rax, GDT + 0x100).unwrap();
        g.a.lgdt(ptr(rax)).unwrap();
        g.a.push(0x23i32).unwrap(); // SS: ring-3 data
        g.a.push(STACK as i32 - 0x800).unwrap(); // RSP
        g.a.push(0x2i32).unwrap(); // RFLAGS
        g.a.push(0x1Bi32).unwrap(); // CS: ring-3 code
        g.a.lea(rax, ptr(user)).unwrap();
        g.a.push(rax).unwrap();
        g.a.iretq().unwrap();
        g.a.set_label(&mut user).unwrap();
        call(g, 0x08 | 1 << 16, 0, 0, 0x100); // NotifyLongSpinWait from CPL 3
    })
    .build(&Config {
        profile: Profile::kvm(),
        max_instructions: Some(5_000_000),
        mem_mib: 16,
        ..Config::default()
    });
    // Null, ring-0 code (0x08), ring-0 data (0x10), ring-3 code (0x18), ring-3 data (0x20).
    let gdt: [u64; 5] = [
        0,
        0x00AF_9A00_0000_FFFF,
        0x00CF_9200_0000_FFFF,
        0x00AF_FA00_0000_FFFF,
        0x00CF_F200_0000_FFFF,
    ];
    let bytes: Vec<u8> = gdt.iter().flat_map(|d| d.to_le_bytes()).collect();
    g.write_phys(0x7_E000, &bytes).unwrap();
    let mut gdtr = Vec::new();
    gdtr.extend_from_slice(&((bytes.len() - 1) as u16).to_le_bytes());
    gdtr.extend_from_slice(&0x7_E000u64.to_le_bytes());
    g.write_phys(0x7_E100, &gdtr).unwrap();
    for table in [0x3000u64, 0x4000, 0x5000] {
        let mut entry = [0u8; 8];
        g.read_phys(table, &mut entry).unwrap();
        let value = u64::from_le_bytes(entry) | 4;
        g.write_phys(table, &value.to_le_bytes()).unwrap();
    }
    let result = g.run();
    // The #UD is raised at CPL 3 and its handler runs at CPL 0: a privilege change the
    // model does not deliver, so the run ends there, with the hypercall refused.
    assert!(
        matches!(result, Err(SimError::PrivilegeChange { vector: 6, .. })),
        "{result:?}"
    );
    let stats = g.stats();
    assert_eq!(stats.hypercall_ud, 1);
    assert_eq!(stats.long_spin_waits, 0);
    assert!(stats.hypercall.is_empty());
}

#[test]
fn every_synthetic_msr_the_hyperv_profile_grants_is_readable() {
    // hv-defs says which MSRs exist and which accesses a partition gets; the model must
    // honour every read it grants (none may #GP), so the two never disagree.
    let features = Profile::hyperv()
        .hv
        .map(|hv| hv.features)
        .expect("hyperv has an interface");
    for info in hv_defs::msr::SYNTHETIC_MSRS {
        // Reading the guest idle MSR idles the VP (tested on its own).
        if !info.is_available(features) || !info.access.can_read() || info.index == 0x4000_00F0 {
            continue;
        }
        assert!(
            !rdmsr_faults(Profile::hyperv(), info.index),
            "{} ({:#x})",
            info.name,
            info.index
        );
    }
}
