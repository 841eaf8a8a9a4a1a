//! The SynIC, synthetic timers, reference TSC page, EOI assist, crash and guest idle rules,
//! each driven by a small guest.

mod common;
use common::*;

const SCONTROL: u32 = 0x4000_0080;
const SIEFP: u32 = 0x4000_0082;
const SIMP: u32 = 0x4000_0083;
const EOM: u32 = 0x4000_0084;
const SINT0: u32 = 0x4000_0090;
const STIMER0_CONFIG: u32 = 0x4000_00B0;
const STIMER0_COUNT: u32 = 0x4000_00B1;
const STIMER1_CONFIG: u32 = 0x4000_00B2;
const STIMER1_COUNT: u32 = 0x4000_00B3;
const TIME_REF_COUNT: u32 = 0x4000_0020;
const REFERENCE_TSC: u32 = 0x4000_0021;
const HV_EOI: u32 = 0x4000_0070;
const VP_ASSIST: u32 = 0x4000_0073;
const GUEST_IDLE: u32 = 0x4000_00F0;
const CRASH_P0: u32 = 0x4000_0100;
const CRASH_CTL: u32 = 0x4000_0105;

const SIM: u64 = 0x20_0000;
const SIEF: u64 = 0x20_1000;
const ASSIST: u64 = 0x20_2000;
const TSC_PAGE: u64 = 0x20_3000;

const POST: u64 = 0x5C;
const SIGNAL_FAST: u64 = 0x5D | 1 << 16;

/// SINT 4, which hv-sim's loopback ports target.
const LOOPBACK: u64 = hv_sim::LOOPBACK_SINT as u64;

fn x2apic(g: &mut Guest) {
    g.wrmsr(0x1B, 0xFEE0_0000 | 1 << 8 | 1 << 10 | 1 << 11);
    g.wrmsr(0x80F, 0x1FF);
}

fn enable_synic(g: &mut Guest) {
    g.wrmsr(SIMP, SIM | 1);
    g.wrmsr(SIEFP, SIEF | 1);
    g.wrmsr(SCONTROL, 1);
}

/// A handler for `vector`, placed out of line: counts in RESULTS + `counter`, stores ISR
/// bits 95:64 (vectors 0x40–0x5F) at RESULTS + `counter` + 8, and with `eoi` ends the
/// interrupt through `HV_X64_MSR_EOI`.
fn handler(g: &mut Guest, vector: u8, counter: u64, eoi: bool) {
    let mut isr = g.a.create_label();
    let mut skip = g.a.create_label();
    g.a.jmp(skip).unwrap();
    g.a.set_label(&mut isr).unwrap();
    for reg in [rax, rbx, rcx, rdx] {
        g.a.push(reg).unwrap();
    }
    g.a.mov(rbx, RESULTS + counter).unwrap();
    g.a.inc(qword_ptr(rbx)).unwrap();
    g.a.mov(ecx, 0x812u32).unwrap();
    g.a.rdmsr().unwrap();
    g.a.mov(dword_ptr(rbx + 8), eax).unwrap();
    if eoi {
        g.a.mov(ecx, HV_EOI).unwrap();
        g.a.xor(eax, eax).unwrap();
        g.a.xor(edx, edx).unwrap();
        g.a.wrmsr().unwrap();
    }
    for reg in [rdx, rcx, rbx, rax] {
        g.a.pop(reg).unwrap();
    }
    g.a.iretq().unwrap();
    g.a.set_label(&mut skip).unwrap();
    g.handler(vector, isr);
}

/// Opens an interrupt window of a few instructions.
fn window(g: &mut Guest) {
    g.a.sti().unwrap();
    g.a.nop().unwrap();
    g.a.nop().unwrap();
    g.a.cli().unwrap();
}

/// Sets the first payload byte of the PostMessage input at INPUT.
fn payload_byte(g: &mut Guest, value: u8) {
    g.a.mov(rax, INPUT + 16).unwrap();
    g.a.mov(byte_ptr(rax), u32::from(value)).unwrap();
}

/// Empties SIM slot `sint` (message type 0).
fn empty_slot(g: &mut Guest, sint: u64) {
    g.a.mov(rax, SIM + 256 * sint).unwrap();
    g.a.mov(dword_ptr(rax), 0u32).unwrap();
}

/// A PostMessage input at INPUT: `connection`, type `message_type`, 4 payload bytes.
fn post_input(m: &mut Machine, connection: u32, message_type: u32) {
    let mut input = Vec::new();
    input.extend_from_slice(&connection.to_le_bytes());
    input.extend_from_slice(&[0; 4]);
    input.extend_from_slice(&message_type.to_le_bytes());
    input.extend_from_slice(&4u32.to_le_bytes());
    input.extend_from_slice(&[0xAA; 240]);
    m.write_phys(INPUT, &input).unwrap();
}

fn config(profile: Profile) -> Config {
    Config {
        profile,
        max_instructions: Some(5_000_000),
        mem_mib: 16,
        ..Config::default()
    }
}

fn read(m: &mut Machine, gpa: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    m.read_phys(gpa, &mut bytes).unwrap();
    bytes
}

fn u64_at(m: &mut Machine, gpa: u64) -> u64 {
    u64::from_le_bytes(read(m, gpa, 8).try_into().unwrap())
}

/// Posts `posts` messages (payload byte = their number) to the echo port with SINT 4
/// masked, then empties the slot, writes EOM and posts once more.
fn echo_run(profile: Profile, posts: u8) -> Machine {
    let g = with_hypercalls(|g| {
        enable_synic(g);
        g.wrmsr(SINT0 + LOOPBACK as u32, 0x50 | 1 << 16);
        for i in 0..posts {
            payload_byte(g, i);
            call(g, POST, INPUT, 0, 0x100 + 8 * u64::from(i));
        }
        empty_slot(g, LOOPBACK);
        g.wrmsr(EOM, 0);
        payload_byte(g, 0x77);
        call(g, POST, INPUT, 0, 0x400);
    });
    let mut m = g.build(&config(profile));
    post_input(&mut m, hv_sim::ECHO_CONNECTION_ID, 1);
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    m
}

#[test]
fn echo_port_buffers_busy_slot_pending_flag_and_eom() {
    // Hyper-V: the slot takes message 0, 16 buffers take 1-16, message 17 finds none.
    let mut m = echo_run(Profile::hyperv(), 18);
    for i in 0..17 {
        assert_eq!(u64_at(&mut m, RESULTS + 0x100 + 8 * i), 0, "post {i}");
    }
    assert_eq!(u64_at(&mut m, RESULTS + 0x100 + 8 * 17) & 0xFFFF, 0x13);
    assert_eq!(u64_at(&mut m, RESULTS + 0x400), 0, "EOM freed a buffer");
    let slot = read(&mut m, SIM + 256 * LOOPBACK, 24);
    assert_eq!(slot[0..4], [1, 0, 0, 0], "type 1");
    assert_eq!(slot[4], 4, "payload size");
    assert_eq!(slot[5], 1, "pending: more are queued");
    assert_eq!(
        u64::from_le_bytes(slot[8..16].try_into().unwrap()),
        u64::from(hv_sim::ECHO_CONNECTION_ID),
        "origination id: the port id"
    );
    assert_eq!(slot[16], 1, "EOM delivered the next message in order");
    let stats = m.stats();
    assert_eq!(stats.synic.messages, 2);
    assert_eq!(stats.synic.pending_flags, 2);
    assert_eq!(stats.msr_write.get(&EOM), Some(&1));

    // QEMU's test device stages one message: the third post finds no buffer.
    let mut m = echo_run(Profile::kvm(), 3);
    assert_eq!(u64_at(&mut m, RESULTS + 0x100), 0);
    assert_eq!(u64_at(&mut m, RESULTS + 0x108), 0);
    assert_eq!(u64_at(&mut m, RESULTS + 0x110) & 0xFFFF, 0x13);
    assert_eq!(u64_at(&mut m, RESULTS + 0x400), 0);
    let slot = read(&mut m, SIM + 256 * LOOPBACK, 24);
    assert_eq!(slot[16], 1, "message 1 after the EOM");
    assert_eq!(slot[5], 1, "flagged when the last post had to queue");
    assert_eq!(u64::from_le_bytes(slot[8..16].try_into().unwrap()), 0);
}

#[test]
fn sint_interrupts_auto_eoi_masking_and_event_statuses() {
    let echo = u64::from(hv_sim::ECHO_CONNECTION_ID);
    let event = u64::from(hv_sim::EVENT_CONNECTION_ID);
    let sint4 = SINT0 + LOOPBACK as u32;
    let g = with_hypercalls(|g| {
        handler(g, 0x50, IRQ_COUNT, false);
        x2apic(g);
        enable_synic(g);
        g.wrmsr(sint4, 0x50 | 1 << 17); // unmasked, AutoEOI
        call(g, POST, INPUT, 0, 0x100);
        window(g);
        empty_slot(g, LOOPBACK);
        call(g, SIGNAL_FAST, event | 3 << 32, 0, 0x108);
        window(g);
        call(g, SIGNAL_FAST, event | 3 << 32, 0, 0x110); // already set: no interrupt
        window(g);
        call(g, SIGNAL_FAST, event | 16 << 32, 0, 0x118); // beyond the port's 16 flags
        call(g, SIGNAL_FAST, echo, 0, 0x120); // not an event port
        call(g, POST, INPUT + 0x800, 0, 0x128); // a post to the event port
        g.wrmsr(sint4, 0x50 | 1 << 16 | 1 << 17); // masked
        call(g, SIGNAL_FAST, event | 4 << 32, 0, 0x130);
        call(g, POST, INPUT, 0, 0x138); // delivered, no interrupt
        window(g);
        g.wrmsr(SCONTROL, 0);
        call(g, POST, INPUT, 0, 0x140);
    });
    let mut m = g.build(&config(Profile::hyperv()));
    post_input(&mut m, hv_sim::ECHO_CONNECTION_ID, 1);
    let mut to_event = Vec::new();
    to_event.extend_from_slice(&hv_sim::EVENT_CONNECTION_ID.to_le_bytes());
    to_event.extend_from_slice(&[0; 4]);
    to_event.extend_from_slice(&1u32.to_le_bytes());
    m.write_phys(INPUT + 0x800, &to_event).unwrap();
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    let status = |m: &mut Machine, slot: u64| u64_at(m, RESULTS + slot) & 0xFFFF;
    assert_eq!(status(&mut m, 0x100), 0);
    assert_eq!(status(&mut m, 0x108), 0);
    assert_eq!(status(&mut m, 0x110), 0);
    assert_eq!(status(&mut m, 0x118), 0x5, "flag beyond the count");
    assert_eq!(status(&mut m, 0x120), 0x11, "signal to a message port");
    assert_eq!(status(&mut m, 0x128), 0x11, "post to an event port");
    assert_eq!(status(&mut m, 0x130), 0x18, "masked SINT");
    assert_eq!(
        status(&mut m, 0x138),
        0,
        "a masked SINT still gets messages"
    );
    assert_eq!(status(&mut m, 0x140), 0x18, "SCONTROL disabled");
    assert_eq!(
        u64_at(&mut m, RESULTS + IRQ_COUNT),
        2,
        "echo and first event only"
    );
    assert_eq!(
        u64_at(&mut m, RESULTS + IRQ_COUNT + 8) & 1 << 16,
        0,
        "AutoEOI: vector 0x50 not in service in its handler"
    );
    assert_eq!(read(&mut m, SIEF + 256 * LOOPBACK, 1)[0], 1 << 3, "flag 3");
    assert_eq!(
        read(&mut m, SIM + 256 * LOOPBACK, 1)[0],
        1,
        "the masked delivery"
    );
    let stats = m.stats();
    assert_eq!(stats.synic.events, 1);
    assert_eq!(stats.interrupt.get(&0x50), Some(&2));

    // QEMU's event connection sets the flag numbered like the connection; another flag
    // number names another (absent) connection.
    let g = with_hypercalls(|g| {
        enable_synic(g);
        g.wrmsr(sint4, 0x50);
        call(g, SIGNAL_FAST, event, 0, 0x100);
        call(g, SIGNAL_FAST, event | 1 << 32, 0, 0x108);
    });
    let mut m = g.build(&config(Profile::kvm()));
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    assert_eq!(u64_at(&mut m, RESULTS + 0x100) & 0xFFFF, 0);
    assert_eq!(u64_at(&mut m, RESULTS + 0x108) & 0xFFFF, 0x12);
    let flags = read(&mut m, SIEF + 256 * LOOPBACK, 256);
    let flag = hv_sim::EVENT_CONNECTION_ID as usize;
    assert_eq!(flags[flag / 8], 1 << (flag % 8));
}

/// Timer 0 periodic (1 ms) to masked SINT 3, never emptied until an alarm (timer 1, direct)
/// at 5.5 ms; then the guest empties the slot and writes EOM.
fn busy_timer_run(lazy: bool) -> Machine {
    let mut g = Guest::new();
    handler(&mut g, 0x60, IRQ_COUNT, true);
    x2apic(&mut g);
    enable_synic(&mut g);
    g.wrmsr(SINT0 + 3, 0x51 | 1 << 16);
    let lazy_bit = if lazy { 1 << 2 } else { 0 };
    g.wrmsr(STIMER0_CONFIG, 1 << 1 | lazy_bit | 1 << 3 | 3 << 16);
    g.wrmsr(STIMER0_COUNT, 10_000);
    g.wrmsr(STIMER1_CONFIG, 1 | 0x60 << 4 | 1 << 12);
    g.wrmsr(STIMER1_COUNT, 55_000);
    g.a.sti().unwrap();
    g.a.hlt().unwrap();
    g.a.cli().unwrap();
    empty_slot(&mut g, 3);
    g.wrmsr(EOM, 0);
    g.exit(0);
    let mut m = g.build(&config(Profile::hyperv()));
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    m
}

#[test]
fn periodic_message_timers_wait_for_their_buffer_and_lazy_ones_skip() {
    for lazy in [false, true] {
        let mut m = busy_timer_run(lazy);
        let slot = read(&mut m, SIM + 256 * 3, 48);
        assert_eq!(
            u32::from_le_bytes(slot[0..4].try_into().unwrap()),
            0x8000_0010,
            "timer expired"
        );
        assert_eq!(slot[4], 24, "payload size");
        assert_eq!(slot[5], 1, "another expiration is queued behind it");
        assert_eq!(
            u64::from_le_bytes(slot[8..16].try_into().unwrap()),
            0,
            "origination"
        );
        assert_eq!(
            u32::from_le_bytes(slot[16..20].try_into().unwrap()),
            0,
            "timer 0"
        );
        let expiration = u64::from_le_bytes(slot[24..32].try_into().unwrap());
        let delivery = u64::from_le_bytes(slot[32..40].try_into().unwrap());
        assert!(
            (20_000..20_100).contains(&expiration),
            "the second expiration waited in its buffer: {expiration}"
        );
        assert!(
            delivery >= 55_000,
            "delivered when the slot was freed: {delivery}"
        );
        let stats = m.stats();
        assert_eq!(
            stats.synic.stimer_expirations, 4,
            "1st, 2nd, one more after the EOM, and the alarm"
        );
        assert_eq!(
            stats.synic.stimer_skipped,
            if lazy { 2 } else { 0 },
            "lazy {lazy}"
        );
        assert_eq!(stats.interrupt.get(&0x51), None, "SINT 3 is masked");
        assert_eq!(stats.interrupt.get(&0x60), Some(&1));
    }
}

#[test]
fn reference_tsc_page_readers_retry_on_updates_and_fall_back_on_sequence_zero() {
    let mut g = Guest::new();
    g.wrmsr(GUEST_OS_ID, 0x8100_0000_0000_0000);
    g.wrmsr(REFERENCE_TSC, TSC_PAGE | 1);
    let a = &mut g.a;
    let mut outer = a.create_label();
    let mut fallback = a.create_label();
    let mut next = a.create_label();
    a.mov(r14, 30_000u64).unwrap();
    a.xor(r12, r12).unwrap();
    a.xor(r13, r13).unwrap();
    a.mov(rsi, TSC_PAGE).unwrap();
    a.set_label(&mut outer).unwrap();
    a.mov(r15d, dword_ptr(rsi)).unwrap();
    a.test(r15d, r15d).unwrap();
    a.jz(fallback).unwrap();
    a.rdtsc().unwrap();
    a.mov(ebx, dword_ptr(rsi)).unwrap();
    a.cmp(ebx, r15d).unwrap();
    a.je(next).unwrap();
    a.inc(r12).unwrap();
    a.jmp(outer).unwrap();
    a.set_label(&mut fallback).unwrap();
    a.mov(ecx, TIME_REF_COUNT).unwrap();
    a.rdmsr().unwrap();
    a.inc(r13).unwrap();
    a.set_label(&mut next).unwrap();
    a.dec(r14).unwrap();
    a.jnz(outer).unwrap();
    a.mov(rax, r12).unwrap();
    g.store_rax(0x100);
    g.a.mov(rax, r13).unwrap();
    g.store_rax(0x108);
    g.exit(0);
    let config = Config {
        reftsc_update_ns: Some(20_000),
        reftsc_invalid_every: 2,
        ..config(Profile::hyperv())
    };
    let mut m = g.build(&config);
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    let retries = u64_at(&mut m, RESULTS + 0x100);
    let fallbacks = u64_at(&mut m, RESULTS + 0x108);
    let stats = m.stats();
    let updates = stats.synic.reftsc_updates;
    assert!(updates >= 6, "{updates} updates");
    // An update of a valid page (to a new sequence, or to 0) lands at a reader's RDTSC, in
    // its window: a retry. One that makes an invalid page valid again comes with time.
    assert!(
        retries >= updates / 2,
        "{retries} retries, {updates} updates"
    );
    assert!(fallbacks > 0, "sequence 0 sent readers to the counter MSR");
    assert_eq!(stats.msr_read.get(&TIME_REF_COUNT), Some(&fallbacks));
    let page = read(&mut m, TSC_PAGE, 24);
    let scale = u64::from_le_bytes(page[8..16].try_into().unwrap());
    assert_eq!(
        scale >> 48,
        ((1u128 << 64) / 250) as u64 >> 48,
        "10 MHz from 2.5 GHz"
    );
}

#[test]
fn eoi_assist_lets_the_guest_skip_its_eoi_but_never_for_a_nested_interrupt() {
    let mut g = Guest::new();
    // Handler for 0x53 and 0x63: take "No EOI required"; without it, EOI through the
    // x2APIC. Counts skips at 0x100, explicit EOIs at 0x108.
    let mut isr = g.a.create_label();
    let mut skip = g.a.create_label();
    let mut out = g.a.create_label();
    let mut main = g.a.create_label();
    g.a.jmp(main).unwrap();
    g.a.set_label(&mut isr).unwrap();
    for reg in [rax, rbx, rcx, rdx] {
        g.a.push(reg).unwrap();
    }
    g.a.mov(rbx, RESULTS).unwrap();
    g.a.inc(qword_ptr(rbx + IRQ_COUNT)).unwrap();
    g.a.mov(rax, ASSIST).unwrap();
    g.a.btr(dword_ptr(rax), 0).unwrap();
    g.a.jc(skip).unwrap();
    g.a.inc(qword_ptr(rbx + 0x108)).unwrap();
    g.a.mov(ecx, 0x80Bu32).unwrap();
    g.a.xor(eax, eax).unwrap();
    g.a.xor(edx, edx).unwrap();
    g.a.wrmsr().unwrap();
    g.a.jmp(out).unwrap();
    g.a.set_label(&mut skip).unwrap();
    g.a.inc(qword_ptr(rbx + 0x100)).unwrap();
    g.a.set_label(&mut out).unwrap();
    for reg in [rdx, rcx, rbx, rax] {
        g.a.pop(reg).unwrap();
    }
    g.a.iretq().unwrap();
    g.a.set_label(&mut main).unwrap();
    g.handler(0x53, isr);
    g.handler(0x63, isr);
    x2apic(&mut g);
    g.wrmsr(VP_ASSIST, ASSIST | 1);
    for _ in 0..3 {
        g.wrmsr(0x83F, 0x53);
        window(&mut g);
    }
    // Both pending: 0x63 first (0x53 still waits, so no assist), then 0x53 alone.
    g.wrmsr(0x83F, 0x53);
    g.wrmsr(0x83F, 0x63);
    window(&mut g);
    g.rdmsr(0x812);
    g.store_edx_eax(0x110);
    g.rdmsr(0x813);
    g.store_edx_eax(0x118);
    g.exit(0);
    let mut m = g.build(&config(Profile::hyperv()));
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    assert_eq!(u64_at(&mut m, RESULTS + IRQ_COUNT), 5);
    assert_eq!(u64_at(&mut m, RESULTS + 0x100), 4, "skipped EOIs");
    assert_eq!(
        u64_at(&mut m, RESULTS + 0x108),
        1,
        "the nested 0x63 ended explicitly"
    );
    assert_eq!(
        u64_at(&mut m, RESULTS + 0x110),
        0,
        "nothing in service (0x40-0x5f)"
    );
    assert_eq!(
        u64_at(&mut m, RESULTS + 0x118),
        0,
        "nothing in service (0x60-0x7f)"
    );
    let stats = m.stats();
    assert_eq!(stats.synic.eoi_assist_set, 4);
    assert_eq!(stats.synic.eoi_assist_skipped, 4);
    assert_eq!(stats.msr_write.get(&0x80B), Some(&1));
}

#[test]
fn crash_notification_records_parameters_and_the_message_where_offered() {
    const MESSAGE: &[u8] = b"guest panic: test";
    for (profile, with_message) in [(Profile::hyperv(), true), (Profile::kvm(), false)] {
        let mut g = Guest::new();
        for (i, value) in [0xDEADu64, 1, 2, 0x9_8000, MESSAGE.len() as u64]
            .into_iter()
            .enumerate()
        {
            g.wrmsr(CRASH_P0 + i as u32, value);
        }
        g.wrmsr(CRASH_CTL, 0xC000_0000_0000_0000);
        g.exit(0);
        let mut m = g.build(&config(profile));
        m.write_phys(0x9_8000, MESSAGE).unwrap();
        let result = m.run();
        let Ok(Exit::Crash(report)) = &result else {
            panic!("{result:?}");
        };
        assert_eq!(
            report.parameters,
            [0xDEAD, 1, 2, 0x9_8000, MESSAGE.len() as u64]
        );
        let expected = with_message.then(|| String::from_utf8_lossy(MESSAGE).into_owned());
        assert_eq!(report.text(), expected);
        assert_eq!(result.as_ref().map(Exit::status), Ok(18));
        let stats = m.stats();
        assert_eq!(stats.crash.as_ref(), Some(report));
        assert!(stats.to_json().contains("\"message\":"));
    }
}

#[test]
fn guest_idle_waits_for_a_masked_interrupt() {
    let mut g = Guest::new();
    handler(&mut g, 0x60, IRQ_COUNT, true);
    x2apic(&mut g);
    g.wrmsr(STIMER1_CONFIG, 1 | 0x60 << 4 | 1 << 12);
    g.wrmsr(STIMER1_COUNT, 50_000);
    g.rdmsr(GUEST_IDLE);
    g.rdmsr(TIME_REF_COUNT);
    g.store_edx_eax(0x100);
    g.a.mov(rax, RESULTS).unwrap();
    g.a.mov(rax, qword_ptr(rax + IRQ_COUNT)).unwrap();
    g.store_rax(0x108);
    window(&mut g);
    g.exit(0);
    let mut m = g.build(&config(Profile::hyperv()));
    assert_eq!(m.run(), Ok(Exit::DebugExit(0)));
    assert!(
        u64_at(&mut m, RESULTS + 0x100) >= 50_000,
        "idle until the timer"
    );
    assert_eq!(
        u64_at(&mut m, RESULTS + 0x108),
        0,
        "IF=0: woken, not delivered"
    );
    assert_eq!(u64_at(&mut m, RESULTS + IRQ_COUNT), 1, "delivered at STI");
    assert_eq!(m.stats().hlt, 1);
}
