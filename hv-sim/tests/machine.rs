//! The machine: boot state, serial, debug exit, limits, errors, virtual time, determinism.

mod common;
use common::*;

#[test]
fn serial_output_and_debug_exit_status() {
    let mut g = Guest::new();
    g.print("hello\n");
    g.exit(0x10);
    let run = g.run(Profile::kvm());
    run.assert_exit(0x10);
    assert_eq!(run.serial(), "hello\n");
    assert_eq!(Exit::DebugExit(0x10).status(), 33);
    assert_eq!(Exit::DebugExit(0x11).status(), 35);
}

#[test]
fn instruction_limit_is_a_typed_error() {
    let mut g = Guest::new();
    let mut spin = g.a.create_label();
    g.a.set_label(&mut spin).unwrap();
    g.a.jmp(spin).unwrap();
    let run = g.run(Profile::kvm());
    assert!(
        matches!(
            run.result,
            Err(SimError::InstructionLimit {
                limit: 5_000_000,
                ..
            })
        ),
        "{:?}",
        run.result
    );
}

#[test]
fn time_limit_is_a_typed_error() {
    let mut g = Guest::new();
    let mut spin = g.a.create_label();
    g.a.set_label(&mut spin).unwrap();
    g.a.jmp(spin).unwrap();
    let config = Config {
        max_time_ns: Some(100_000),
        mem_mib: 16,
        ..Config::default()
    };
    let mut machine = g.build(&config);
    let result = machine.run();
    assert!(
        matches!(
            result,
            Err(SimError::TimeLimit {
                limit_ns: 100_000,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(machine.stats().virtual_ns > 100_000);
}

#[test]
fn fault_without_idt_is_a_triple_fault() {
    let mut g = Guest::new();
    g.a.mov(rax, IDTR + 0x100).unwrap();
    g.a.lidt(ptr(rax)).unwrap();
    g.rdmsr(0x1234);
    let run = g.run(Profile::kvm());
    assert!(
        matches!(run.result, Err(SimError::TripleFault { vector: 13, .. })),
        "{:?}",
        run.result
    );
}

#[test]
fn unmapped_memory_names_the_address() {
    let mut g = Guest::new();
    g.a.mov(rax, 0x3000_0000u64).unwrap();
    g.a.mov(rbx, qword_ptr(rax)).unwrap();
    let run = g.run(Profile::kvm());
    assert!(
        matches!(
            run.result,
            Err(SimError::Unmapped {
                address: 0x3000_0000,
                ..
            })
        ),
        "{:?}",
        run.result
    );
}

#[test]
fn halt_with_interrupts_disabled_cannot_wake() {
    let mut g = Guest::new();
    g.a.cli().unwrap();
    g.a.hlt().unwrap();
    let run = g.run(Profile::kvm());
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
}

#[test]
fn rdtsc_follows_virtual_time_and_boot_state_matches_the_contract() {
    let mut g = Guest::new();
    // RDI points at hvm_start_info: check the magic.
    g.a.mov(eax, dword_ptr(rdi)).unwrap();
    g.store_rax(0x100);
    g.a.rdtsc().unwrap();
    g.store_edx_eax(0x108);
    g.a.mov(rcx, 1000u64).unwrap();
    let mut spin = g.a.create_label();
    g.a.set_label(&mut spin).unwrap();
    g.a.dec(rcx).unwrap();
    g.a.jnz(spin).unwrap();
    g.a.rdtsc().unwrap();
    g.store_edx_eax(0x110);
    g.exit(0);
    let mut run = g.run(Profile::kvm());
    run.assert_exit(0);
    assert_eq!(run.result_u64(0x100), 0x336E_C578);
    let (t0, t1) = (run.result_u64(0x108), run.result_u64(0x110));
    // 2000 loop instructions at 1 ns each, TSC at 2.5 GHz.
    // Between the two: 5 stores, 1 mov, 2000 loop instructions, 1 RDTSC = 2007 ns.
    assert!((5017..=5018).contains(&(t1 - t0)), "{t0} {t1}");
}

#[test]
fn two_runs_are_identical() {
    let build = || {
        let mut g = Guest::new();
        g.print("tick ");
        g.rdmsr(0x4000_0020);
        g.store_edx_eax(0x100);
        g.a.rdtsc().unwrap();
        g.store_edx_eax(0x108);
        g.a.cpuid().unwrap();
        g.exit(1);
        g.run(Profile::kvm())
    };
    let mut first = build();
    let mut second = build();
    assert_eq!(first.result, second.result);
    assert_eq!(first.machine.serial(), second.machine.serial());
    assert_eq!(first.machine.stats(), second.machine.stats());
    assert_eq!(
        first.machine.stats().to_json(),
        second.machine.stats().to_json()
    );
    assert_eq!(first.result_u64(0x100), second.result_u64(0x100));
    assert_eq!(first.result_u64(0x108), second.result_u64(0x108));
}

/// Throughput of straight-line code with an MSR trap in the loop (run with
/// `cargo test --release -p hv-sim --test machine -- --ignored --nocapture`).
#[test]
#[ignore = "performance measurement, not a check"]
fn measure_instructions_per_second() {
    for with_msr in [false, true] {
        let mut g = Guest::new();
        g.a.mov(r12, 2_000_000u64).unwrap();
        let mut top = g.a.create_label();
        g.a.set_label(&mut top).unwrap();
        for _ in 0..8 {
            g.a.add(rbx, 1).unwrap();
        }
        if with_msr {
            g.a.mov(ecx, 0x4000_0020u32).unwrap();
            g.a.rdmsr().unwrap();
        }
        g.a.dec(r12).unwrap();
        g.a.jnz(top).unwrap();
        g.exit(0);
        let config = Config {
            mem_mib: 16,
            ..Config::default()
        };
        let mut m = g.build(&config);
        assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
        let stats = m.stats();
        let secs = m.wall_ns() as f64 / 1e9;
        println!(
            "msr trap in loop: {with_msr}: {} instructions in {secs:.3} s = {:.1} M/s, {} MSR exits",
            stats.instructions,
            stats.instructions as f64 / secs / 1e6,
            stats.msr_read.values().sum::<u64>()
        );
    }
}
