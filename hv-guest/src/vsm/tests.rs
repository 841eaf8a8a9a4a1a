//! Host tests of the VSM wrappers against the scripted fake: golden control words and
//! input bytes, typed outcomes, privilege checks, decoding, and the VTL switch gates.

extern crate std;

use core::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::vec;
use std::vec::Vec;

use hv_defs::HV_VP_INDEX_SELF;
use hv_defs::hypercall::{HvHypercallInput, HvHypercallOutput};
use hv_defs::msr::HV_X64_MSR_VP_ASSIST_PAGE;
use hv_defs::status::HvStatus;
use hv_defs::vsm::{HV_VTL1, HV_VTL2, HvVtlEntryReason};

use super::*;
use crate::testing::{Event, FakeCpu, FakePlatform, MsrAccess, VtlSwitchKind};

/// Every privilege a VSM test needs.
fn all_privileges() -> HvPartitionPrivilegeMask {
    HvPartitionPrivilegeMask::new()
        .with_access_vsm(true)
        .with_access_vp_registers(true)
        .with_access_synic_regs(true)
        .with_start_virtual_processor(true)
        .with_access_intr_ctrl_regs(true)
}

fn vsm(fake: &FakePlatform) -> Vsm<'_, FakePlatform> {
    vsm_with(fake, all_privileges())
}

fn vsm_with(fake: &FakePlatform, privileges: HvPartitionPrivilegeMask) -> Vsm<'_, FakePlatform> {
    // SAFETY: the fake never executes the entry.
    let hc = unsafe { Hypercalls::new(fake, FakePlatform::entry(), false, false) };
    Vsm::new(hc, privileges).unwrap()
}

/// RAX for a call that completed `reps` reps with `status`.
fn rax(status: HvStatus, reps: u16) -> u64 {
    HvHypercallOutput::new()
        .with_status(status)
        .with_reps_completed(reps)
        .into_bits()
}

/// The control word of the `n`-th logged hypercall.
fn control(fake: &FakePlatform, n: usize) -> u64 {
    let calls: Vec<u64> = fake
        .log()
        .into_iter()
        .filter_map(|e| match e {
            Event::Hypercall(control, ..) => Some(control),
            _ => None,
        })
        .collect();
    calls[n]
}

/// A host that answers `HvCallGetVpRegisters` from `values` (register name → value) and
/// records the input header bytes of each call.
fn register_host(fake: &FakePlatform, values: &[(HvRegisterName, u64)]) -> Rc<RefCell<Vec<u8>>> {
    let values: BTreeMap<u32, u64> = values.iter().map(|&(n, v)| (n.get(), v)).collect();
    let header = Rc::new(RefCell::new(Vec::new()));
    let seen = header.clone();
    fake.on_hypercall(move |fake, ctx| {
        let control = HvHypercallInput::from_bits(ctx.control);
        assert_eq!(control.call_code(), HvCallCode::HvCallGetVpRegisters);
        *seen.borrow_mut() = ctx.read(fake, ctx.rdx, 16);
        let count = control.rep_count();
        for rep in control.rep_start_index()..count {
            let name = ctx.read(fake, ctx.rdx + 16 + u64::from(rep) * 4, 4);
            let name = u32::from_le_bytes(name.try_into().unwrap());
            let value = values[&name];
            let out = HvRegisterValue::from_u64(value);
            ctx.write(
                fake,
                ctx.r8 + u64::from(rep) * 16,
                zerocopy::IntoBytes::as_bytes(&out),
            );
        }
        rax(HvStatus::SUCCESS, count)
    });
    header
}

/// The 224-byte `HV_INITIAL_VP_CONTEXT` written out field by field in the order of the
/// TLFS 15.15.4 native interface table, independently of the struct's layout.
fn context_bytes(ctx: &HvInitialVpContext) -> Vec<u8> {
    let mut out = Vec::new();
    for q in [ctx.rip, ctx.rsp, ctx.rflags] {
        out.extend(q.to_le_bytes());
    }
    for seg in [
        ctx.cs, ctx.ds, ctx.es, ctx.fs, ctx.gs, ctx.ss, ctx.tr, ctx.ldtr,
    ] {
        out.extend(seg.base.to_le_bytes());
        out.extend(seg.limit.to_le_bytes());
        out.extend(seg.selector.to_le_bytes());
        out.extend(seg.attributes.to_le_bytes());
    }
    for table in [ctx.idtr, ctx.gdtr] {
        out.extend([0; 6]);
        out.extend(table.limit.to_le_bytes());
        out.extend(table.base.to_le_bytes());
    }
    for q in [ctx.efer, ctx.cr0, ctx.cr3, ctx.cr4, ctx.msr_cr_pat] {
        out.extend(q.to_le_bytes());
    }
    assert_eq!(out.len(), 224);
    out
}

fn captured_context() -> HvInitialVpContext {
    InitialVpContextBuilder::capture(&FakeCpu::long_mode(), 0x0010_2030, 0x0030_0FF8)
        .unwrap()
        .build()
}

// ----------------------------------------------------------------------------------------
// Detection and capabilities
// ----------------------------------------------------------------------------------------

#[test]
fn missing_privileges_are_unavailable_and_touch_nothing() {
    let fake = FakePlatform::new();
    // SAFETY: the fake never executes the entry.
    let hc = unsafe { Hypercalls::new(&fake, FakePlatform::entry(), false, false) };
    let cases = [
        (
            all_privileges().with_access_vsm(false),
            Privilege::AccessVsm,
        ),
        (
            all_privileges().with_access_vp_registers(false),
            Privilege::AccessVpRegisters,
        ),
        (
            all_privileges().with_access_synic_regs(false),
            Privilege::AccessSynicRegs,
        ),
        (HvPartitionPrivilegeMask::new(), Privilege::AccessVsm),
    ];
    for (privileges, missing) in cases {
        assert_eq!(
            Vsm::new(hc, privileges).map(|_| ()),
            Err(VsmError::Unavailable(missing))
        );
    }
    let no_start = vsm_with(&fake, all_privileges().with_start_virtual_processor(false));
    let mut io = fake.io_pages();
    assert_eq!(
        no_start.start_virtual_processor(&mut io, 1, 0, &captured_context()),
        Err(VsmError::Unavailable(Privilege::StartVirtualProcessor))
    );
    let page = fake.page();
    let gpa = page.gpa();
    let (back, error) = VpAssistPage::enable(
        &fake,
        all_privileges().with_access_intr_ctrl_regs(false),
        page,
    )
    .unwrap_err();
    assert_eq!(error, VsmError::Unavailable(Privilege::AccessIntrCtrlRegs));
    assert_eq!(back.gpa(), gpa);
    assert!(fake.log().is_empty(), "{:?}", fake.log());
}

#[test]
fn status_reads_four_registers_in_one_call_and_decodes_them() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let header = register_host(
        &fake,
        &[
            // Dr6Shared (0), MBEC for VTL 1 (bit 2 = mask bit 1), DenyLowerVtlStartup (17).
            (HvRegisterName::HvRegisterVsmCapabilities, 0x0002_0005),
            // VTLs 0 and 1 enabled, maximum VTL 2, MBEC on VTL 1 (bit 21).
            (HvRegisterName::HvRegisterVsmPartitionStatus, 0x0022_0003),
            // Active VTL 0, VTLs 0 and 1 enabled on the VP.
            (HvRegisterName::HvRegisterVsmVpStatus, 0x0003_0000),
            // VTL call at 0x0A0, VTL return at 0x0C8.
            (HvRegisterName::HvRegisterVsmCodePageOffsets, 0x000C_80A0),
        ],
    );
    let status = vsm(&fake).status(&mut io).unwrap();

    assert!(status.capabilities.dr6_shared());
    assert_eq!(status.capabilities.mbec_vtl_mask(), 0b10);
    assert!(status.capabilities.deny_lower_vtl_startup());
    assert!(!status.capabilities.supervisor_shadow_stack());
    assert_eq!(status.partition.enabled_vtl_set(), 0b11);
    assert_eq!(status.partition.maximum_vtl(), 2);
    assert_eq!(status.partition.mbec_enabled_vtl_set(), 0b10);
    assert!(status.partition.is_vtl_enabled(HV_VTL1));
    assert!(!status.partition.is_vtl_enabled(HV_VTL2));
    assert_eq!(status.vp.active_vtl(), 0);
    assert_eq!(status.vp.enabled_vtl_set(), 0b11);
    assert_eq!(status.code_page_offsets.vtl_call_offset(), 0x0A0);
    assert_eq!(status.code_page_offsets.vtl_return_offset(), 0x0C8);

    // One rep call: code 0x0050, rep count 4.
    assert_eq!(fake.log().len(), 1);
    assert_eq!(control(&fake, 0), 0x0000_0004_0000_0050);
    // Self partition, self VP, the caller's VTL.
    let mut expected = vec![0xFF; 8];
    expected.extend(HV_VP_INDEX_SELF.to_le_bytes());
    expected.extend([0; 4]);
    assert_eq!(*header.borrow(), expected);
    let names = io.input.bytes()[16..32].to_vec();
    let mut expected = Vec::new();
    for name in [0x000D_0006u32, 0x000D_0004, 0x000D_0003, 0x000D_0002] {
        expected.extend(name.to_le_bytes());
    }
    assert_eq!(names, expected);
}

#[test]
fn single_register_getters_decode_their_register() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    register_host(
        &fake,
        &[
            (HvRegisterName::HvRegisterVsmCapabilities, 1 << 18),
            (HvRegisterName::HvRegisterVsmPartitionStatus, 0x0001_0001),
            (HvRegisterName::HvRegisterVsmVpStatus, 0x0003_0001),
            (HvRegisterName::HvRegisterVsmCodePageOffsets, 0x0001_0800),
        ],
    );
    let vsm = vsm(&fake);
    assert!(vsm.capabilities(&mut io).unwrap().supervisor_shadow_stack());
    assert_eq!(vsm.partition_status(&mut io).unwrap().maximum_vtl(), 1);
    let vp = vsm.vp_status(&mut io, 3).unwrap();
    assert_eq!((vp.active_vtl(), vp.enabled_vtl_set()), (1, 0b11));
    // The VP status of VP 3 names VP 3 in the header.
    assert_eq!(&io.input.bytes()[8..12], &3u32.to_le_bytes());
    let offsets = vsm.code_page_offsets(&mut io).unwrap();
    assert_eq!(
        (offsets.vtl_call_offset(), offsets.vtl_return_offset()),
        (0x800, 0x010)
    );
    for n in 0..4 {
        assert_eq!(control(&fake, n), 0x0000_0001_0000_0050);
    }
}

#[test]
fn register_read_failures_keep_their_typed_status() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let vsm = vsm(&fake);
    fake.on_hypercall(|_, _| rax(HvStatus::ACCESS_DENIED, 0));
    assert_eq!(vsm.status(&mut io), Err(VsmError::AccessDenied));
    fake.on_hypercall(|_, _| rax(HvStatus::INVALID_PARAMETER, 0));
    assert_eq!(
        vsm.capabilities(&mut io),
        Err(VsmError::Call(CallError::Hv(HvError::INVALID_PARAMETER)))
    );
}

// ----------------------------------------------------------------------------------------
// Enabling VTLs
// ----------------------------------------------------------------------------------------

#[test]
fn enable_partition_vtl_sends_the_golden_input() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let input = Rc::new(RefCell::new(Vec::new()));
    let seen = input.clone();
    fake.on_hypercall(move |fake, ctx| {
        *seen.borrow_mut() = ctx.read(fake, ctx.rdx, 16);
        rax(HvStatus::SUCCESS, 0)
    });
    let outcome = vsm(&fake)
        .enable_partition_vtl(
            &mut io,
            HV_VTL1,
            HvEnablePartitionVtlFlags::new().with_enable_mbec(true),
        )
        .unwrap();
    assert_eq!(outcome, Enablement::Enabled);
    assert_eq!(
        fake.log(),
        [Event::Hypercall(0x000D, io.input.gpa(), io.output.gpa())]
    );
    assert_eq!(
        *input.borrow(),
        [
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // partition: self
            0x01, // target VTL
            0x01, // flags: EnableMbec
            0, 0, 0, 0, 0, 0, // RsvdZ
        ]
    );
}

#[test]
fn enable_outcomes_are_typed() {
    let cases = [
        (HvStatus::SUCCESS, Ok(Enablement::Enabled)),
        (
            HvStatus::VTL_ALREADY_ENABLED,
            Ok(Enablement::AlreadyEnabled),
        ),
        (HvStatus::ACCESS_DENIED, Err(VsmError::AccessDenied)),
        (HvStatus::INVALID_VTL_STATE, Err(VsmError::InvalidVtlState)),
        (
            HvStatus::INVALID_VP_INDEX,
            Err(VsmError::Call(CallError::Hv(HvError::INVALID_VP_INDEX))),
        ),
    ];
    for (status, expected) in cases {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        fake.on_hypercall(move |_, _| rax(status, 0));
        let vsm = vsm(&fake);
        let flags = HvEnablePartitionVtlFlags::new();
        assert_eq!(
            vsm.enable_partition_vtl(&mut io, HV_VTL1, flags),
            expected,
            "{status:?}"
        );
        assert_eq!(
            vsm.enable_vp_vtl(&mut io, 0, HV_VTL1, &captured_context()),
            expected,
            "{status:?}"
        );
    }
}

#[test]
fn enable_refuses_bad_input_before_any_call() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let vsm = vsm(&fake);
    let flags = HvEnablePartitionVtlFlags::new();
    for vtl in [0, 16, 0xFF] {
        assert_eq!(
            vsm.enable_partition_vtl(&mut io, vtl, flags),
            Err(VsmError::InvalidVtl(vtl))
        );
        assert_eq!(
            vsm.enable_vp_vtl(&mut io, 0, vtl, &captured_context()),
            Err(VsmError::InvalidVtl(vtl))
        );
    }
    assert_eq!(
        vsm.enable_partition_vtl(&mut io, 1, HvEnablePartitionVtlFlags::from_bits(0x81)),
        Err(VsmError::InvalidBits {
            value: 0x81,
            allowed: 0x07
        })
    );
    assert!(fake.log().is_empty());
}

#[test]
fn enable_vp_vtl_places_the_context_where_tlfs_15_15_4_says() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let input = Rc::new(RefCell::new(Vec::new()));
    let seen = input.clone();
    fake.on_hypercall(move |fake, ctx| {
        *seen.borrow_mut() = ctx.read(fake, ctx.rdx, 240);
        rax(HvStatus::SUCCESS, 0)
    });
    let context = captured_context();
    let outcome = vsm(&fake)
        .enable_vp_vtl(&mut io, 5, HV_VTL1, &context)
        .unwrap();
    assert_eq!(outcome, Enablement::Enabled);
    assert_eq!(control(&fake, 0), 0x000F);

    let bytes = input.borrow().clone();
    let mut expected = vec![0xFF; 8];
    expected.extend(5u32.to_le_bytes());
    expected.extend([1, 0, 0, 0]);
    expected.extend(context_bytes(&context));
    assert_eq!(bytes, expected);
    // Spot checks against the TLFS table: RIP 16, RSP 24, CS 40, TR 136, IDTR 168,
    // GDTR 184, EFER 200, CR3 216, PAT 232.
    let q = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    assert_eq!(q(16), 0x0010_2030);
    assert_eq!(q(24), 0x0030_0FF8);
    assert_eq!(q(32), 2);
    assert_eq!(q(48), 0xA09B_0008_FFFF_FFFF); // CS limit, selector, attributes
    assert_eq!(q(136), 0x0000_0001_0012_3450); // TR base
    assert_eq!(q(176), 0x0011_1000); // IDTR base
    assert_eq!(&bytes[174..176], &0x0FFFu16.to_le_bytes()); // IDTR limit
    assert_eq!(q(192), 0x0011_0000); // GDTR base
    assert_eq!(q(200), 0x0D00);
    assert_eq!(q(216), 0x0010_3000);
    assert_eq!(q(232), 0x0007_0406_0007_0406);
}

// ----------------------------------------------------------------------------------------
// Registers of other VTLs, partition configuration, starting VPs
// ----------------------------------------------------------------------------------------

#[test]
fn vtl_register_calls_target_the_vtl() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let header = register_host(&fake, &[(HvRegisterName::HvX64RegisterRip, 0x1234)]);
    let vsm = vsm(&fake);
    let mut values = [HvRegisterValue::default()];
    vsm.get_vtl_registers(
        &mut io,
        2,
        0,
        &[HvRegisterName::HvX64RegisterRip],
        &mut values,
    )
    .unwrap();
    assert_eq!(values[0].as_u64(), 0x1234);
    // HV_INPUT_VTL: UseTargetVtl (bit 4) with target VTL 0.
    assert_eq!(header.borrow()[8..16], [2, 0, 0, 0, 0x10, 0, 0, 0]);

    let input = Rc::new(RefCell::new(Vec::new()));
    let seen = input.clone();
    fake.on_hypercall(move |fake, ctx| {
        *seen.borrow_mut() = ctx.read(fake, ctx.rdx, 48);
        rax(HvStatus::SUCCESS, 1)
    });
    let rip = (
        HvRegisterName::HvX64RegisterRip,
        HvRegisterValue::from_u64(0x5678),
    );
    vsm.set_vtl_registers(&mut io, HV_VP_INDEX_SELF, 1, &[rip])
        .unwrap();
    assert_eq!(control(&fake, 1), 0x0000_0001_0000_0051);
    let bytes = input.borrow().clone();
    assert_eq!(bytes[12], 0x11, "UseTargetVtl with target VTL 1");
    assert_eq!(&bytes[16..20], &0x0002_0010u32.to_le_bytes());
    assert_eq!(&bytes[32..40], &0x5678u64.to_le_bytes());

    assert_eq!(
        vsm.set_vtl_registers(&mut io, 0, 16, &[rip]),
        Err(VsmRepError {
            error: VsmError::InvalidVtl(16),
            completed: 0
        })
    );
    assert_eq!(fake.log().len(), 2);
}

#[test]
fn partition_config_is_read_and_written_as_a_register() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    register_host(
        &fake,
        &[(HvRegisterName::HvRegisterVsmPartitionConfig, 0x1F)],
    );
    let vsm = vsm(&fake);
    let config = vsm.partition_config(&mut io, HvInputVtl::CURRENT).unwrap();
    assert!(config.enable_vtl_protection());
    assert_eq!(config.default_protection(), HvMapGpaFlags::FULL_ACCESS);

    let input = Rc::new(RefCell::new(Vec::new()));
    let seen = input.clone();
    fake.on_hypercall(move |fake, ctx| {
        *seen.borrow_mut() = ctx.read(fake, ctx.rdx, 48);
        rax(HvStatus::SUCCESS, 1)
    });
    let new = HvRegisterVsmPartitionConfig::new()
        .with_enable_vtl_protection(true)
        .with_default_protection(HvMapGpaFlags::new().with_readable(true));
    vsm.set_partition_config(&mut io, HvInputVtl::CURRENT, new)
        .unwrap();
    let bytes = input.borrow().clone();
    assert_eq!(bytes[12], 0, "the caller's own VTL");
    assert_eq!(&bytes[16..20], &0x000D_0007u32.to_le_bytes());
    assert_eq!(&bytes[32..40], &0x03u64.to_le_bytes());

    let reserved = HvRegisterVsmPartitionConfig::from_bits(1 << 16);
    assert_eq!(
        vsm.set_partition_config(&mut io, HvInputVtl::CURRENT, reserved),
        Err(VsmError::InvalidBits {
            value: 1 << 16,
            allowed: 0xFFFF
        })
    );
    assert_eq!(
        vsm.partition_config(&mut io, HvInputVtl::from_bits(0x20)),
        Err(VsmError::InvalidBits {
            value: 0x20,
            allowed: 0x1F
        })
    );
    assert_eq!(fake.log().len(), 2);
}

#[test]
fn start_virtual_processor_sends_the_golden_input() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let input = Rc::new(RefCell::new(Vec::new()));
    let seen = input.clone();
    fake.on_hypercall(move |fake, ctx| {
        *seen.borrow_mut() = ctx.read(fake, ctx.rdx, 240);
        rax(HvStatus::SUCCESS, 0)
    });
    let context = captured_context();
    let vsm = vsm(&fake);
    vsm.start_virtual_processor(&mut io, 3, HV_VTL1, &context)
        .unwrap();
    assert_eq!(control(&fake, 0), 0x0099);
    let mut expected = vec![0xFF; 8];
    expected.extend(3u32.to_le_bytes());
    expected.extend([1, 0, 0, 0]);
    expected.extend(context_bytes(&context));
    assert_eq!(*input.borrow(), expected);

    fake.on_hypercall(|_, _| rax(HvStatus::ACCESS_DENIED, 0));
    assert_eq!(
        vsm.start_virtual_processor(&mut io, 3, 0, &context),
        Err(VsmError::AccessDenied)
    );
    assert_eq!(
        vsm.start_virtual_processor(&mut io, 3, 16, &context),
        Err(VsmError::InvalidVtl(16))
    );
    assert_eq!(fake.log().len(), 2);
}

// ----------------------------------------------------------------------------------------
// VTL protections
// ----------------------------------------------------------------------------------------

/// A host that accepts `HvCallModifyVtlProtectionMask` calls, completing at most
/// `per_call` reps per issue, and records (control, header bytes, GPNs) per issue.
type ProtectionLog = Rc<RefCell<Vec<(u64, Vec<u8>, Vec<u64>)>>>;

fn protection_host(fake: &FakePlatform, per_call: u16) -> ProtectionLog {
    let log: ProtectionLog = Rc::new(RefCell::new(Vec::new()));
    let seen = log.clone();
    fake.on_hypercall(move |fake, ctx| {
        let control = HvHypercallInput::from_bits(ctx.control);
        let (start, count) = (control.rep_start_index(), control.rep_count());
        let header = ctx.read(fake, ctx.rdx, 16);
        let gpns = ctx
            .read(fake, ctx.rdx + 16, usize::from(count) * 8)
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        seen.borrow_mut().push((ctx.control, header, gpns));
        rax(HvStatus::SUCCESS, (start + per_call).min(count))
    });
    log
}

#[test]
fn protection_mask_input_is_header_then_page_numbers() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let log = protection_host(&fake, 4095);
    let flags = HvMapGpaFlags::new()
        .with_readable(true)
        .with_kernel_executable(true);
    vsm(&fake)
        .modify_vtl_protection_mask(&mut io, HvInputVtl::CURRENT, flags, &[0x100, 0x101, 0x7FF])
        .unwrap();
    let log = log.borrow();
    assert_eq!(log.len(), 1);
    let (control, header, gpns) = &log[0];
    // Code 0x000C, rep count 3.
    assert_eq!(*control, 0x0000_0003_0000_000C);
    assert_eq!(
        *header,
        [
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // partition: self
            0x05, 0, 0, 0,    // map flags: read, kernel execute
            0x00, // target VTL: the caller's
            0, 0, 0, // RsvdZ
        ]
    );
    assert_eq!(*gpns, [0x100, 0x101, 0x7FF]);
}

#[test]
fn protection_lists_longer_than_a_page_are_split() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let log = protection_host(&fake, 4095);
    let gpns: Vec<u64> = (0x1000..0x1000 + 1000).collect();
    vsm(&fake)
        .modify_vtl_protection_mask(&mut io, HvInputVtl::CURRENT, HvMapGpaFlags::NONE, &gpns)
        .unwrap();
    let log = log.borrow();
    // (4096 - 16) / 8 = 510 page numbers fit after the header; then the remaining 490.
    let controls: Vec<u64> = log.iter().map(|(c, ..)| *c).collect();
    assert_eq!(controls, [0x0000_01FE_0000_000C, 0x0000_01EA_0000_000C]);
    assert_eq!(log[0].2, gpns[..510]);
    assert_eq!(log[1].2, gpns[510..]);
    assert_eq!(log[0].1, log[1].1, "each call repeats the header");
}

#[test]
fn protection_calls_resume_and_report_completed_pages() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let log = protection_host(&fake, 2);
    let vsm = vsm(&fake);
    vsm.modify_vtl_protection_mask(
        &mut io,
        HvInputVtl::CURRENT,
        HvMapGpaFlags::NONE,
        &[1, 2, 3],
    )
    .unwrap();
    let controls: Vec<u64> = log.borrow().iter().map(|(c, ..)| *c).collect();
    // Rep start 0, then 2 (TLFS 3.2).
    assert_eq!(controls, [0x0000_0003_0000_000C, 0x0002_0003_0000_000C]);

    fake.on_hypercall(|_, _| rax(HvStatus::INVALID_PARAMETER, 1));
    assert_eq!(
        vsm.modify_vtl_protection_mask(&mut io, HvInputVtl::CURRENT, HvMapGpaFlags::NONE, &[1, 2]),
        Err(VsmRepError {
            error: VsmError::Call(CallError::Hv(HvError::INVALID_PARAMETER)),
            completed: 1
        })
    );
    fake.on_hypercall(|_, _| rax(HvStatus::INVALID_VTL_STATE, 0));
    assert_eq!(
        vsm.modify_vtl_protection_mask(&mut io, HvInputVtl::CURRENT, HvMapGpaFlags::NONE, &[1]),
        Err(VsmRepError {
            error: VsmError::InvalidVtlState,
            completed: 0
        })
    );
}

#[test]
fn protection_refuses_flags_beyond_the_permissions() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let vsm = vsm(&fake);
    let adjustable = HvMapGpaFlags::new()
        .with_readable(true)
        .with_adjustable(true);
    assert_eq!(
        vsm.modify_vtl_protection_mask(&mut io, HvInputVtl::CURRENT, adjustable, &[1]),
        Err(VsmRepError {
            error: VsmError::InvalidBits {
                value: 0x8001,
                allowed: 0xF
            },
            completed: 0
        })
    );
    assert_eq!(
        vsm.modify_vtl_protection_mask(
            &mut io,
            HvInputVtl::from_bits(0x80),
            HvMapGpaFlags::NONE,
            &[1]
        )
        .map_err(|e| e.error),
        Err(VsmError::InvalidBits {
            value: 0x80,
            allowed: 0x1F
        })
    );
    assert_eq!(
        vsm.modify_vtl_protection_mask(&mut io, HvInputVtl::CURRENT, HvMapGpaFlags::NONE, &[])
            .map_err(|e| e.error),
        Err(VsmError::Call(CallError::EmptyRepList))
    );
    assert!(fake.log().is_empty());
}

// ----------------------------------------------------------------------------------------
// VTL call and return
// ----------------------------------------------------------------------------------------

/// A host whose VP status is `vp_status` and whose code page offsets are call 0x0A0,
/// return 0x0C8.
fn switch_host(fake: &FakePlatform, vp_status: u64) {
    register_host(
        fake,
        &[
            (HvRegisterName::HvRegisterVsmVpStatus, vp_status),
            (HvRegisterName::HvRegisterVsmCodePageOffsets, 0x000C_80A0),
        ],
    );
}

#[test]
fn vtl_call_goes_through_the_call_offset_and_carries_registers() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    switch_host(&fake, 0x0003_0000); // active VTL 0, VTLs 0 and 1
    let gate = vsm(&fake).vtl_call_gate(&mut io).unwrap();
    assert_eq!(gate.entry().offset(), 0x0A0);
    assert_eq!(control(&fake, 0), 0x0000_0002_0000_0050);

    fake.on_vtl_switch(|_, ctx| {
        assert_eq!(ctx.kind, VtlSwitchKind::Call);
        assert_eq!((ctx.offset, ctx.control), (0x0A0, 0));
        assert_eq!(ctx.regs.rdi, 0x42);
        // VTL 1 answers in RSI and leaves the rest as it likes.
        ctx.regs.rsi = ctx.regs.rdi + 1;
        ctx.regs.r15 = 0xDEAD;
    });
    let mut regs = X64VtlRegisters {
        rdi: 0x42,
        ..X64VtlRegisters::default()
    };
    let sent = regs;
    gate.call(&mut regs);
    assert_eq!((regs.rsi, regs.r15), (0x43, 0xDEAD));
    assert_eq!(fake.log().last(), Some(&Event::VtlCall(0x0A0, sent)));
}

#[test]
fn vtl_call_needs_a_higher_vtl_on_this_vp() {
    // (VP status, expected): active VTL bits 3:0, enabled set bits 31:16.
    let cases = [
        (
            0x0001_0000,
            Err(VsmError::NoHigherVtl {
                active: 0,
                enabled: 1,
            }),
        ),
        (
            0x0003_0001,
            Err(VsmError::NoHigherVtl {
                active: 1,
                enabled: 3,
            }),
        ),
        (
            0xFFFF_000F,
            Err(VsmError::NoHigherVtl {
                active: 15,
                enabled: 0xFFFF,
            }),
        ),
        // VTL 2 enabled without VTL 1: the call goes to the next higher enabled VTL.
        (0x0005_0000, Ok(0x0A0)),
        (0x0007_0001, Ok(0x0A0)),
    ];
    for (status, expected) in cases {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        switch_host(&fake, status);
        let gate = vsm(&fake).vtl_call_gate(&mut io);
        assert_eq!(gate.map(|g| g.entry().offset()), expected, "{status:#x}");
    }
}

/// Enables a VP assist page on the fake; returns it and its GPA.
fn assist_page(fake: &FakePlatform) -> VpAssistPage {
    fake.define_msr(HV_X64_MSR_VP_ASSIST_PAGE, 0, MsrAccess::ReadWrite);
    VpAssistPage::enable(fake, all_privileges(), fake.page())
        .map_err(|(_, e)| e)
        .unwrap()
}

#[test]
fn vtl_return_needs_a_vtl_above_0() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    switch_host(&fake, 0x0003_0000);
    assert_eq!(
        vsm(&fake).vtl_return_gate(&mut io).map(|_| ()),
        Err(VsmError::LowestVtlActive)
    );
}

#[test]
fn fast_return_sets_the_fast_bit_and_resumes_at_the_next_entry() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let assist = assist_page(&fake);
    let gpa = assist.gpa();
    switch_host(&fake, 0x0003_0001); // active VTL 1
    let gate = vsm(&fake).vtl_return_gate(&mut io).unwrap();
    assert_eq!(gate.entry().offset(), 0x0C8);

    // VTL 0 runs, then makes a VTL call with a request in RDX: the hypervisor records the
    // entry reason in VTL 1's control area.
    fake.on_vtl_switch(move |fake, ctx| {
        assert_eq!(ctx.kind, VtlSwitchKind::Return);
        assert_eq!((ctx.offset, ctx.control), (0x0C8, 1));
        fake.write_phys(gpa + 8, &1u32.to_le_bytes());
        *ctx.regs = X64VtlRegisters {
            rdx: 0x77,
            ..X64VtlRegisters::default()
        };
    });
    let mut regs = X64VtlRegisters {
        rsi: 5,
        ..X64VtlRegisters::default()
    };
    let sent = regs;
    gate.fast_return(&mut regs);
    assert_eq!(regs.rdx, 0x77);
    let control = assist.vtl_control();
    assert_eq!(control.entry_reason(), HvVtlEntryReason::HvVtlEntryVtlCall);
    assert_eq!(fake.log().last(), Some(&Event::VtlReturn(0x0C8, 1, sent)));
}

#[test]
fn normal_return_hands_rax_and_rcx_over_in_the_control_area() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let assist = assist_page(&fake);
    let gpa = assist.gpa();
    switch_host(&fake, 0x0003_0001);
    let gate = vsm(&fake).vtl_return_gate(&mut io).unwrap();
    fake.on_vtl_switch(move |fake, ctx| {
        assert_eq!(ctx.control, 0, "a normal return has the fast bit clear");
        // The hypervisor reloads VTL 0's RAX and RCX from the control area (offsets 16, 24
        // of the page); then an interrupt for VTL 1 brings the VP back.
        assert_eq!(fake.read_phys(gpa + 16, 8), 0xAAu64.to_le_bytes());
        assert_eq!(fake.read_phys(gpa + 24, 8), 0xCCu64.to_le_bytes());
        fake.write_phys(gpa + 8, &2u32.to_le_bytes());
    });
    let control = assist.vtl_control();
    let mut regs = X64VtlRegisters::default();
    gate.normal_return(&control, 0xAA, 0xCC, &mut regs);
    assert_eq!(control.return_registers(), (0xAA, 0xCC));
    assert_eq!(
        control.entry_reason(),
        HvVtlEntryReason::HvVtlEntryInterrupt
    );
}

#[test]
fn entry_reasons_and_vina_status_decode_from_the_assist_page() {
    let fake = FakePlatform::new();
    let assist = assist_page(&fake);
    let gpa = assist.gpa();
    let control = assist.vtl_control();
    let names = [
        (0, Some("HvVtlEntryReserved")),
        (1, Some("HvVtlEntryVtlCall")),
        (2, Some("HvVtlEntryInterrupt")),
        (3, Some("HvVtlEntryIntercept")),
        (0x1234_5678, None),
    ];
    for (raw, name) in names {
        fake.write_phys(gpa + 8, &u32::to_le_bytes(raw));
        let reason = control.entry_reason();
        assert_eq!((reason.get(), reason.name()), (raw, name));
    }
    assert!(!control.vina_asserted());
    fake.write_phys(gpa + 12, &[0x01]);
    assert!(control.vina_asserted());
    control.clear_vina_asserted();
    assert_eq!(fake.read_phys(gpa + 12, 1), [0]);
    assert!(!control.vina_asserted());
}

// ----------------------------------------------------------------------------------------
// VP assist page
// ----------------------------------------------------------------------------------------

#[test]
fn assist_page_keeps_rsvdp_bits_and_is_given_back() {
    let fake = FakePlatform::new();
    fake.define_msr(HV_X64_MSR_VP_ASSIST_PAGE, 0xFFE, MsrAccess::ReadWrite);
    let page = fake.page();
    let gpa = page.gpa();
    let assist = VpAssistPage::enable(&fake, all_privileges(), page)
        .map_err(|(_, e)| e)
        .unwrap();
    assert_eq!(assist.gpa(), gpa);
    let page = assist.disable(&fake).map_err(|(_, e)| e).unwrap();
    assert_eq!(page.gpa(), gpa);
    assert_eq!(
        fake.log(),
        [
            Event::ReadMsr(HV_X64_MSR_VP_ASSIST_PAGE, 0xFFE),
            Event::WriteMsr(HV_X64_MSR_VP_ASSIST_PAGE, gpa | 0xFFE | 1),
            Event::ReadMsr(HV_X64_MSR_VP_ASSIST_PAGE, gpa | 0xFFE | 1),
            Event::ReadMsr(HV_X64_MSR_VP_ASSIST_PAGE, gpa | 0xFFE | 1),
            Event::WriteMsr(HV_X64_MSR_VP_ASSIST_PAGE, gpa | 0xFFE),
        ]
    );
}

#[test]
fn assist_page_a_host_ignores_is_reported() {
    let fake = FakePlatform::new();
    fake.define_msr(HV_X64_MSR_VP_ASSIST_PAGE, 0, MsrAccess::DropsWrites);
    let page = fake.page();
    let gpa = page.gpa();
    let (back, error) = VpAssistPage::enable(&fake, all_privileges(), page).unwrap_err();
    assert_eq!(error, VsmError::NotAccepted { readback: 0 });
    assert_eq!(back.gpa(), gpa);
}

#[test]
fn errors_display_their_cause() {
    use std::string::ToString;
    assert_eq!(
        VsmError::Unavailable(Privilege::AccessVsm).to_string(),
        "the partition lacks the AccessVsm privilege"
    );
    assert_eq!(
        VsmError::NoHigherVtl {
            active: 1,
            enabled: 3
        }
        .to_string(),
        "no VTL above VTL 1 is enabled on this VP (enabled set 0x3)"
    );
    assert_eq!(
        VsmRepError {
            error: VsmError::InvalidVtlState,
            completed: 4
        }
        .to_string(),
        "the VTL is not in a state for this operation after 4 completed elements"
    );
}
