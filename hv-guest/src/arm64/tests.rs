//! Golden tests of the arm64 `HVC` traffic: every register value below is written from the
//! public sources (Linux `hv_core.c`/`mshyperv.c`, `mu_msvm` `HypercallImpl.S`), not computed
//! with the code under test.

extern crate std;

use std::string::ToString;
use std::vec::Vec;

use hv_defs::arm64::SmcccUid;
use hv_defs::guest_id::{HvGuestOsIdOpenSource, HvGuestOsType};
use hv_defs::hypercall::HvHypercallOutput;
use hv_defs::register::{HvRegisterName, HvRegisterValue};
use hv_defs::status::{HvError, HvStatus};
use hv_defs::vp::HvInputVtl;
use hv_defs::{HV_VP_INDEX_SELF, guest_id::HvGuestOsId};

use super::*;
use crate::testing::arm64::{FakeArm64, Hvc, RegisterFile, SMCCC_NOT_SUPPORTED_X0};

/// X0–X17 from the leading registers, the rest zero.
fn regs(leading: &[u64]) -> HvcRegs {
    let mut regs = HvcRegs::default();
    regs.x[..leading.len()].copy_from_slice(leading);
    regs
}

fn smccc(leading: &[u64]) -> Hvc {
    Hvc {
        convention: HvcConvention::Smccc,
        regs: regs(leading),
    }
}

fn hvc1(leading: &[u64]) -> Hvc {
    Hvc {
        convention: HvcConvention::HyperV,
        regs: regs(leading),
    }
}

/// A hypercall result value.
fn rax(status: HvStatus, reps: u16) -> u64 {
    HvHypercallOutput::new()
        .with_status(status)
        .with_reps_completed(reps)
        .into_bits()
}

fn linux_id() -> HvGuestOsId {
    HvGuestOsIdOpenSource::build(HvGuestOsType::LINUX, 0, 0x0006_0100, 0)
        .unwrap()
        .into()
}

/// A Hyper-V host with the registers the bring-up reads.
fn host(convention: HvcConvention) -> (FakeArm64, RegisterFile) {
    FakeArm64::hyperv(
        convention,
        &[
            (HvRegisterName::HvRegisterGuestOsId, 0),
            // Build 22621, version 10.0 (as CPUID 0x4000_0002: EAX build, EBX major.minor).
            (
                HvRegisterName::HvRegisterHypervisorVersion,
                0x000A_0000_0000_585D,
            ),
            // Privileges: AccessVpRunTimeReg (0), AccessPartitionReferenceCounter (1),
            // AccessSynicRegs (2), AccessHypercallMsrs (5), AccessVpIndex (6); word 2 bit 8
            // (crash registers) and bit 13 (direct synthetic timers).
            (
                HvRegisterName::HvRegisterPrivilegesAndFeaturesInfo,
                0x0000_2100_u128 << 64 | 0x67,
            ),
            // Recommendations: spinlock retries 0x1FFF in word 1.
            (HvRegisterName::HvRegisterFeaturesInfo, 0x1FFF_u128 << 32),
            (HvRegisterName::HvRegisterVpIndex, 0),
        ],
    )
}

#[test]
fn uid_query_is_one_smccc_call_with_the_vendor_hyp_function_id() {
    let (fake, _) = host(HvcConvention::HyperV);
    let uid = discovery::detect(&fake).unwrap();
    assert_eq!(uid.to_string(), "58ba324d-6447-24cd-756c-ef8e24705916");
    // Always hvc #0 (SMCCC), whatever the hypercall convention; X1–X17 zero.
    assert_eq!(fake.log(), [smccc(&[0x8600_FF01])]);
}

#[test]
fn hyperv_uid_registers_are_accepted() {
    let fake = FakeArm64::new(HvcConvention::Smccc);
    fake.on_hvc(|_, _, regs| {
        // Linux ARM_SMCCC_VENDOR_HYP_UID_HYPERV_REG_0..3; upper halves ignored (SMC32).
        regs.x[..4].copy_from_slice(&[
            0xDEAD_0000_4D32_BA58,
            0xCD24_4764,
            0x8EEF_6C75,
            0x1659_7024,
        ]);
    });
    assert!(discovery::detect(&fake).is_ok());
}

#[test]
fn qemu_tcg_answers_not_supported() {
    let fake = FakeArm64::new(HvcConvention::Smccc);
    fake.on_hvc(|_, _, regs| regs.x[0] = SMCCC_NOT_SUPPORTED_X0);
    let err = discovery::detect(&fake).unwrap_err();
    assert_eq!(err, NoHyperV::UidQueryNotSupported);
    assert_eq!(
        err.to_string(),
        "SMCCC vendor hypervisor UID query not supported"
    );
    // A host that writes only W0 (upper half zero) means the same.
    fake.on_hvc(|_, _, regs| regs.x[0] = 0xFFFF_FFFF);
    assert_eq!(
        discovery::detect(&fake),
        Err(NoHyperV::UidQueryNotSupported)
    );
    // Hyperv::detect makes no further call after a refusal.
    fake.clear_log();
    assert!(Hyperv::detect(&fake).is_err());
    assert_eq!(fake.log().len(), 1);
}

#[test]
fn kvm_is_named_and_not_hyperv() {
    let fake = FakeArm64::new(HvcConvention::Smccc);
    fake.on_hvc(|_, _, regs| {
        regs.x[..4].copy_from_slice(&[0xB66F_B428, 0xE911_C52E, 0x564B_CAA9, 0x743A_004D]);
    });
    let err = discovery::detect(&fake).unwrap_err();
    assert_eq!(
        err,
        NoHyperV::OtherHypervisor {
            uid: SmcccUid([0xB66F_B428, 0xE911_C52E, 0x564B_CAA9, 0x743A_004D])
        }
    );
    assert_eq!(
        err.to_string(),
        "SMCCC vendor hypervisor UID 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 (KVM), not Hyper-V"
    );
}

#[test]
fn smccc_bring_up_sets_the_identity_first_then_reads_features() {
    let (fake, file) = host(HvcConvention::Smccc);
    let id = linux_id().into_bits();
    assert_eq!(id, 0x8100_0006_0100_0000);
    let guest = Hyperv::detect(&fake)
        .unwrap()
        .set_guest_os_id(linux_id())
        .map_err(|(_, e)| e)
        .unwrap();
    assert_eq!(
        file.get(HvRegisterName::HvRegisterGuestOsId),
        Some(id.into())
    );
    let get = |name: u64| {
        smccc(&[
            0x4600_0001,
            0x0000_0001_0001_0050,
            u64::MAX,
            0xFFFF_FFFE,
            name,
        ])
    };
    assert_eq!(
        fake.log(),
        [
            smccc(&[0x8600_FF01]),
            // Linux hv_set_vpreg: X0 HV_FUNC_ID, X1 fast|rep 1|SetVpRegisters, X2 partition
            // self, X3 VP self, X4 name, X5 0, X6 value, X7 0.
            smccc(&[
                0x4600_0001,
                0x0000_0001_0001_0051,
                u64::MAX,
                0xFFFF_FFFE,
                0x0009_0002,
                0,
                0x8100_0006_0100_0000,
                0,
            ]),
            get(0x0009_0002),
            get(0x0000_0100),
            get(0x0000_0200),
            get(0x0000_0201),
        ]
    );
    let info = guest.info();
    assert_eq!(info.version.build_number(), 22621);
    assert!(info.features.privileges().access_hypercall_msrs());
    assert!(info.features.privileges().access_synic_regs());
    assert!(info.features_info().guest_crash_regs_available());
    assert!(info.features_info().direct_synthetic_timers());
    assert_eq!(info.spinlock_retries(), Some(0x1FFF));
    assert_eq!(guest.id().into_bits(), id);
}

#[test]
fn hvc1_bring_up_uses_x0_for_the_control_and_x1_for_the_block() {
    let (fake, _) = host(HvcConvention::HyperV);
    let _guest = Hyperv::detect(&fake)
        .unwrap()
        .set_guest_os_id(linux_id())
        .map_err(|(_, e)| e)
        .unwrap();
    let log = fake.log();
    // mu_msvm AsmSetVpRegister64: X0 control, X1 partition, X2 VP, X3 name, X4 0, X5 value
    // low, X6 value high.
    assert_eq!(
        log[1],
        hvc1(&[
            0x0000_0001_0001_0051,
            u64::MAX,
            0xFFFF_FFFE,
            0x0009_0002,
            0,
            0x8100_0006_0100_0000,
            0,
        ])
    );
    // mu_msvm AsmGetVpRegister: X0 control, X1 partition, X2 VP, X3 name.
    assert_eq!(
        log[2],
        hvc1(&[0x0000_0001_0001_0050, u64::MAX, 0xFFFF_FFFE, 0x0009_0002])
    );
    assert_eq!(log.len(), 6);
}

#[test]
fn get_vp_register_reads_the_output_registers_of_each_convention() {
    for (convention, low, high) in [
        (HvcConvention::Smccc, 6, 7),
        (HvcConvention::HyperV, 15, 16),
    ] {
        let fake = FakeArm64::new(convention);
        fake.on_hvc(move |_, _, regs| {
            // Fill every register with noise, then the documented output pair.
            for (i, x) in regs.x.iter_mut().enumerate() {
                *x = 0xBAD0 + i as u64;
            }
            regs.x[low] = 0x1111_2222_3333_4444;
            regs.x[high] = 0x5555_6666_7777_8888;
            regs.x[0] = rax(HvStatus::SUCCESS, 1);
        });
        let value = get_vp_register(
            &fake,
            HV_VP_INDEX_SELF,
            HvInputVtl::CURRENT,
            HvRegisterName::HvRegisterVpIndex,
        )
        .unwrap();
        assert_eq!(
            value,
            HvRegisterValue {
                low: 0x1111_2222_3333_4444,
                high: 0x5555_6666_7777_8888
            },
            "{convention:?}"
        );
    }
}

#[test]
fn another_vp_and_vtl_go_in_block_register_one() {
    let fake = FakeArm64::new(HvcConvention::Smccc);
    fake.on_hvc(|_, _, regs| regs.x[0] = rax(HvStatus::SUCCESS, 1));
    get_vp_register(
        &fake,
        3,
        HvInputVtl::target(1),
        HvRegisterName::HvRegisterVpIndex,
    )
    .unwrap();
    // VP 3, input VTL byte 0x11 (target VTL 1, use target) in bits 39:32.
    assert_eq!(fake.log()[0].regs.x[3], 0x0000_0011_0000_0003);
}

#[test]
fn failed_and_incomplete_register_calls_are_errors() {
    let fake = FakeArm64::new(HvcConvention::Smccc);
    fake.on_hvc(|_, _, regs| {
        regs.x[6] = 0xEE;
        regs.x[0] = rax(HvStatus::ACCESS_DENIED, 0);
    });
    let name = HvRegisterName::HvRegisterGuestCrashCtl;
    assert_eq!(
        get_vp_register(&fake, HV_VP_INDEX_SELF, HvInputVtl::CURRENT, name),
        Err(CallError::Hv(HvError::ACCESS_DENIED))
    );
    // SAFETY: the fake's registers overlay no memory.
    let read = unsafe { fake.read_register(name) };
    assert_eq!(read, Err(HvError::ACCESS_DENIED));
    // Success without the rep completed: the output registers are not trusted.
    fake.on_hvc(|_, _, regs| regs.x[0] = rax(HvStatus::SUCCESS, 0));
    assert_eq!(
        get_vp_register(&fake, HV_VP_INDEX_SELF, HvInputVtl::CURRENT, name),
        Err(CallError::BadRepsCompleted {
            start: 0,
            completed: 0,
            count: 1
        })
    );
    // SAFETY: as above.
    let written = unsafe { fake.write_register(name, 1) };
    assert_eq!(written, Err(HvError::OPERATION_FAILED));
}

#[test]
fn platform_registers_go_through_the_fast_calls() {
    let (fake, file) = host(HvcConvention::HyperV);
    file.set(HvRegisterName::HvRegisterVpIndex, 7);
    // SAFETY: the fake's registers overlay no memory.
    let vp = unsafe { fake.read_register(HvRegisterName::HvRegisterVpIndex) };
    // SAFETY: as above.
    let written = unsafe { fake.write_register(HvRegisterName::HvRegisterGuestOsId, 5) };
    // SAFETY: as above.
    let absent = unsafe { fake.read_register(HvRegisterName::HvRegisterSint0) };
    assert_eq!(vp, Ok(7));
    assert_eq!(written, Ok(()));
    assert_eq!(absent, Err(HvError::INVALID_PARAMETER));
    assert_eq!(file.get(HvRegisterName::HvRegisterGuestOsId), Some(5));
    assert_eq!(
        fake.log()[1],
        hvc1(&[
            0x0000_0001_0001_0051,
            u64::MAX,
            0xFFFF_FFFE,
            0x0009_0002,
            0,
            5
        ])
    );
}

#[test]
fn memory_calls_put_the_gpas_in_the_first_block_registers() {
    for convention in [HvcConvention::Smccc, HvcConvention::HyperV] {
        let (fake, file) = host(convention);
        file.set(HvRegisterName::HvRegisterVpIndex, 0x42);
        let guest = Hyperv::detect(&fake)
            .unwrap()
            .set_guest_os_id(linux_id())
            .map_err(|(_, e)| e)
            .unwrap();
        let mut io = fake.io_pages();
        let (input, output) = (io.input.gpa(), io.output.gpa());
        fake.clear_log();
        let value = guest
            .hypercalls()
            .get_vp_register(
                &mut io,
                HV_VP_INDEX_SELF,
                HvInputVtl::CURRENT,
                HvRegisterName::HvRegisterVpIndex,
            )
            .unwrap();
        assert_eq!(value.as_u64(), 0x42);
        // Memory-based rep call, rep count 1: control 0x0000_0001_0000_0050.
        let expected = match convention {
            HvcConvention::Smccc => smccc(&[0x4600_0001, 0x0000_0001_0000_0050, input, output]),
            HvcConvention::HyperV => hvc1(&[0x0000_0001_0000_0050, input, output]),
        };
        assert_eq!(fake.log(), [expected]);
    }
}

#[test]
fn fast_calls_put_sixteen_bytes_in_the_first_block_registers() {
    for convention in [HvcConvention::Smccc, HvcConvention::HyperV] {
        let (fake, _) = host(convention);
        let guest = Hyperv::detect(&fake)
            .unwrap()
            .set_guest_os_id(linux_id())
            .map_err(|(_, e)| e)
            .unwrap();
        fake.on_hvc(|_, _, regs| regs.x[0] = rax(HvStatus::SUCCESS, 0));
        fake.clear_log();
        guest.hypercalls().notify_long_spin_wait(0x2000).unwrap();
        let expected = match convention {
            HvcConvention::Smccc => smccc(&[0x4600_0001, 0x0001_0008, 0x2000, 0]),
            HvcConvention::HyperV => hvc1(&[0x0001_0008, 0x2000, 0]),
        };
        assert_eq!(fake.log(), [expected]);
    }
}

#[test]
fn the_block_maps_onto_x2_x17_or_x1_x16() {
    for (convention, start) in [(HvcConvention::Smccc, 2), (HvcConvention::HyperV, 1)] {
        let fake = FakeArm64::new(convention);
        fake.on_hvc(move |_, _, regs| {
            for i in 0..16 {
                regs.x[start + i] += 100;
            }
            regs.x[0] = 9;
        });
        let mut block = FastBlock::default();
        for (i, r) in block.regs.iter_mut().enumerate() {
            *r = i as u64;
        }
        // SAFETY: the fake executes nothing and reads no memory.
        let result = unsafe { hypercall_block(&fake, 0x1234, &mut block) };
        assert_eq!(result, 9);
        assert_eq!(block.regs[0], 100);
        assert_eq!(block.regs[15], 115);
        let sent = fake.log()[0].regs;
        assert_eq!(sent.x[start..start + 16], (0..16).collect::<Vec<u64>>()[..]);
        match convention {
            HvcConvention::Smccc => assert_eq!(sent.x[..2], [0x4600_0001, 0x1234]),
            HvcConvention::HyperV => {
                assert_eq!(sent.x[0], 0x1234);
                assert_eq!(sent.x[17], 0, "X17 is outside the hvc #1 block");
            }
        }
    }
}

#[test]
fn zero_identity_is_refused_without_a_call() {
    let (fake, _) = host(HvcConvention::Smccc);
    let hv = Hyperv::detect(&fake).unwrap();
    fake.clear_log();
    let (_, err) = hv.set_guest_os_id(HvGuestOsId::from_bits(0)).unwrap_err();
    assert_eq!(err, IdentityError::Zero);
    assert!(fake.log().is_empty());
}

#[test]
fn a_host_that_drops_the_identity_is_reported() {
    let (fake, file) = host(HvcConvention::Smccc);
    let hv = Hyperv::detect(&fake).unwrap();
    // The host accepts the write but keeps reading zero.
    fake.on_hvc(|_, _, regs| regs.x[0] = rax(HvStatus::SUCCESS, 1));
    let (hv, err) = hv.set_guest_os_id(linux_id()).unwrap_err();
    assert_eq!(err, IdentityError::NotAccepted { readback: 0 });
    assert_eq!(file.get(HvRegisterName::HvRegisterGuestOsId), Some(0));
    // A host that refuses the write: the error carries its status.
    fake.on_hvc(|_, _, regs| regs.x[0] = rax(HvStatus::ACCESS_DENIED, 0));
    let (_, err) = hv.set_guest_os_id(linux_id()).unwrap_err();
    assert_eq!(
        err,
        IdentityError::Write(CallError::Hv(HvError::ACCESS_DENIED))
    );
    assert_eq!(
        err.to_string(),
        "writing HvRegisterGuestOsId: hypercall failed: HV_STATUS_ACCESS_DENIED (the caller did not possess sufficient access rights)"
    );
}

#[test]
fn missing_feature_registers_fail_the_bring_up() {
    let (fake, file) = host(HvcConvention::Smccc);
    file.remove(HvRegisterName::HvRegisterFeaturesInfo);
    let (_, err) = Hyperv::detect(&fake)
        .unwrap()
        .set_guest_os_id(linux_id())
        .unwrap_err();
    assert_eq!(
        err,
        IdentityError::Features(CallError::Hv(HvError::INVALID_PARAMETER))
    );
}

#[test]
fn clearing_the_identity_writes_zero() {
    let (fake, file) = host(HvcConvention::Smccc);
    let guest = Hyperv::detect(&fake)
        .unwrap()
        .set_guest_os_id(linux_id())
        .map_err(|(_, e)| e)
        .unwrap();
    fake.clear_log();
    let _hv = guest.clear().map_err(|(_, e)| e).unwrap();
    assert_eq!(file.get(HvRegisterName::HvRegisterGuestOsId), Some(0));
    assert_eq!(
        fake.log(),
        [smccc(&[
            0x4600_0001,
            0x0000_0001_0001_0051,
            u64::MAX,
            0xFFFF_FFFE,
            0x0009_0002,
            0,
            0,
            0
        ])]
    );
}
