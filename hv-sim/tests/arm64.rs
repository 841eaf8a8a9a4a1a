//! The arm64 front end on hand-assembled `Image`s: SMCCC discovery, the identity rule,
//! both hypercall conventions and where their register output lands, PSCI and semihosting
//! exits, the virtual counter's determinism, and undefined `HVC` without Hyper-V.

use hv_sim::{Arm64Machine, Config, Exit, Profile};

/// Where the test programs store results.
const OUT: u64 = 0x4100_0000;

/// `MOVZ`/`MOVK` sequence putting `value` in `Xrd`.
fn mov(rd: u32, value: u64) -> Vec<u32> {
    (0..4)
        .map(|hw| {
            let imm = ((value >> (16 * hw)) & 0xFFFF) as u32;
            let op = if hw == 0 { 0xD280_0000 } else { 0xF280_0000 };
            op | ((hw as u32) << 21) | (imm << 5) | rd
        })
        .collect()
}

/// `STR Xt, [X9, #slot * 8]`.
fn store(rt: u32, slot: u32) -> u32 {
    0xF900_0000 | (slot << 10) | (9 << 5) | rt
}

const fn hvc(imm: u32) -> u32 {
    0xD400_0002 | (imm << 5)
}

/// `MRS Xt, CNTVCT_EL0`.
const fn mrs_cntvct(rt: u32) -> u32 {
    0xD53B_E040 | rt
}
const NOP: u32 = 0xD503_201F;
const HLT_SEMIHOSTING: u32 = 0xD45E_0000;

/// The program with an `Image` header (`code0` branches over it), then the semihosting
/// exit with `status`, its parameter block at `OUT + 0x800`.
fn image(body: &[u32], status: u64) -> Vec<u8> {
    let mut words = vec![0x1400_0010u32]; // b +64
    words.resize(16, 0);
    words[14] = u32::from_le_bytes(*b"ARM\x64");
    words.extend(mov(9, OUT));
    words.extend_from_slice(body);
    words.extend(mov(10, 0x2_0026));
    words.push(store(10, 0x100));
    words.extend(mov(10, status));
    words.push(store(10, 0x101));
    words.extend(mov(0, 0x20));
    words.extend(mov(1, OUT + 0x800));
    words.push(HLT_SEMIHOSTING);
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn run(profile: Profile, body: &[u32], status: u64) -> (Result<Exit, hv_sim::SimError>, Vec<u64>) {
    let config = Config {
        profile,
        max_instructions: Some(1_000_000),
        ..Config::default()
    };
    let mut machine = Arm64Machine::new(&config, &image(body, status), "").expect("machine");
    let exit = machine.run();
    let mut out = vec![0u8; 8 * 16];
    machine.read_phys(OUT, &mut out).expect("RAM");
    let words = out
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (exit, words)
}

const HV_FUNC_ID: u64 = 0x4600_0001;
const SELF: u64 = u64::MAX;
const VP_SELF: u64 = 0xFFFF_FFFE;
const GET_FAST_ONE: u64 = 0x0000_0001_0001_0050;
const SET_FAST_ONE: u64 = 0x0000_0001_0001_0051;
const GUEST_OS_ID: u64 = 0x9_0002;
const VP_INDEX: u64 = 0x9_0003;
const IDENTITY: u64 = 0x8000_0000_0100_0000;

#[test]
fn discovery_identity_rule_and_both_conventions() {
    let mut body = Vec::new();
    // UID query.
    body.extend(mov(0, 0x8600_FF01));
    body.push(hvc(0));
    for r in 0..4 {
        body.push(store(r, r));
    }
    // A hypercall before the identity: refused.
    body.extend(mov(0, HV_FUNC_ID));
    body.extend(mov(1, GET_FAST_ONE));
    body.extend(mov(2, SELF));
    body.extend(mov(3, VP_SELF));
    body.extend(mov(4, VP_INDEX));
    body.push(hvc(0));
    body.push(store(0, 4));
    // The identity, SMCCC fast set.
    body.extend(mov(0, HV_FUNC_ID));
    body.extend(mov(1, SET_FAST_ONE));
    body.extend(mov(4, GUEST_OS_ID));
    body.extend(mov(5, 0));
    body.extend(mov(6, IDENTITY));
    body.extend(mov(7, 0));
    body.push(hvc(0));
    body.push(store(0, 5));
    // Read back with SMCCC: X6:X7.
    body.extend(mov(0, HV_FUNC_ID));
    body.extend(mov(1, GET_FAST_ONE));
    body.extend(mov(4, GUEST_OS_ID));
    body.extend(mov(6, 0));
    body.push(hvc(0));
    body.push(store(0, 6));
    body.push(store(6, 7));
    // Read back with hvc #1: X15:X16.
    body.extend(mov(0, GET_FAST_ONE));
    body.extend(mov(1, SELF));
    body.extend(mov(2, VP_SELF));
    body.extend(mov(3, GUEST_OS_ID));
    body.push(hvc(1));
    body.push(store(0, 8));
    body.push(store(15, 9));
    let (exit, out) = run(Profile::hyperv(), &body, 33);
    assert_eq!(exit, Ok(Exit::Semihosting(33)));
    assert_eq!(exit.map(|e| e.status()), Ok(33));
    assert_eq!(
        out[..4],
        [0x4D32_BA58, 0xCD24_4764, 0x8EEF_6C75, 0x1659_7024]
    );
    // HV_STATUS_ACCESS_DENIED (6), no rep completed.
    assert_eq!(out[4], 6);
    // Success, one rep completed.
    assert_eq!(out[5], 1 << 32);
    assert_eq!((out[6], out[7]), (1 << 32, IDENTITY));
    assert_eq!((out[8], out[9]), (1 << 32, IDENTITY));
}

#[test]
fn without_hyperv_the_uid_query_is_unsupported_and_psci_powers_off() {
    let mut body = mov(0, 0x8600_FF01);
    body.push(hvc(0));
    body.push(store(0, 0));
    body.extend(mov(0, 0x8400_0008));
    body.push(hvc(0));
    let (exit, out) = run(Profile::none(), &body, 33);
    assert_eq!(exit, Ok(Exit::PowerOff));
    assert_eq!(out[0], u64::MAX);
}

#[test]
fn the_virtual_counter_follows_instructions() {
    let mut body = vec![mrs_cntvct(0)];
    body.extend([NOP; 160]);
    body.push(mrs_cntvct(1));
    body.push(store(0, 0));
    body.push(store(1, 1));
    let (first, a) = run(Profile::none(), &body, 35);
    let (second, b) = run(Profile::none(), &body, 35);
    assert_eq!(first, Ok(Exit::Semihosting(35)));
    assert_eq!(second, first);
    assert_eq!(a[..2], b[..2], "two runs read the same counter");
    // 161 instructions of 1 ns between the reads, 16 ns a tick at 62.5 MHz.
    assert_eq!(a[1] - a[0], 10);
}

#[test]
fn kvm_profiles_and_bad_images_are_refused() {
    let config = Config {
        profile: Profile::kvm(),
        ..Config::default()
    };
    assert!(Arm64Machine::new(&config, &image(&[], 33), "").is_err());
    let config = Config::default();
    let config = Config {
        profile: Profile::hyperv(),
        ..config
    };
    assert!(Arm64Machine::new(&config, &[0; 64], "").is_err());
}
