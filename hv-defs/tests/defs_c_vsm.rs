//! Tests of the VSM definitions (TLFS 15): bit positions, reserved masks, wire layouts,
//! round trips and the VTL state sharing table.

use core::mem::offset_of;

use hv_defs::vp::{HvInitialVpContext, HvInputVtl, HvX64SegmentRegister, HvX64TableRegister};
use hv_defs::vsm::*;
use proptest::prelude::*;
use zerocopy::{FromBytes, IntoBytes};

/// For a bitfield type: a test that every public field at its maximum sets exactly
/// `!RESERVED_MASK`, and proptests that bits, bytes and fields round trip.
macro_rules! bitfield_suite {
    ($name:ident, $ty:ty, $int:ty, $reserved:expr, [$(($get:ident, $with:ident)),* $(,)?]) => {
        mod $name {
            use super::*;

            /// Copies every public field of `src` into a fresh value.
            fn rebuild(src: $ty) -> $ty {
                <$ty>::new()$(.$with(src.$get()))*
            }

            #[test]
            fn public_fields_at_max_set_exactly_the_defined_bits() {
                let all = rebuild(<$ty>::from_bits(<$int>::MAX));
                assert_eq!(all.into_bits(), !$reserved);
                assert_eq!(all.into_bits() & $reserved, 0);
                assert_eq!(<$ty>::new().into_bits(), 0);
            }

            proptest! {
                #[test]
                fn bits_and_bytes_round_trip(bits in any::<$int>()) {
                    let value = <$ty>::from_bits(bits);
                    prop_assert_eq!(value.into_bits(), bits);
                    let bytes = bits.to_le_bytes();
                    let read = <$ty>::read_from_bytes(&bytes[..]).unwrap();
                    prop_assert_eq!(read.as_bytes(), &bytes[..]);
                    prop_assert_eq!(read, value);
                }

                #[test]
                fn fields_round_trip(bits in any::<$int>()) {
                    let value = <$ty>::from_bits(bits);
                    let rebuilt = rebuild(value);
                    prop_assert_eq!(rebuilt.into_bits(), bits & !$reserved);
                    $( prop_assert_eq!(rebuilt.$get(), value.$get()); )*
                }
            }
        }
    };
}

/// A proptest that bytes -> struct -> bytes is the identity for a wire struct.
macro_rules! wire_round_trip {
    ($name:ident, $ty:ty) => {
        proptest! {
            #[test]
            fn $name(bytes in proptest::collection::vec(any::<u8>(), size_of::<$ty>())) {
                let value = <$ty>::read_from_bytes(&bytes).unwrap();
                prop_assert_eq!(value.as_bytes(), &bytes[..]);
            }
        }
    };
}

// TLFS-given sizes and offsets (15.8.2, 15.15.2–15.15.4).
const _: () = assert!(size_of::<HvVpVtlControl>() == 24);
const _: () = assert!(size_of::<HvEnablePartitionVtlInput>() == 16);
const _: () = assert!(size_of::<HvEnableVpVtlInput>() == 240);
const _: () = assert!(offset_of!(HvEnableVpVtlInput, vp_vtl_context) == 16);
const _: () = assert!(size_of::<HvModifyVtlProtectionMaskInput>() == 16);
const _: () = assert!(offset_of!(HvModifyVtlProtectionMaskInput, target_vtl) == 12);

bitfield_suite!(
    capabilities,
    HvRegisterVsmCapabilities,
    u64,
    HvRegisterVsmCapabilities::RESERVED_MASK,
    [
        (dr6_shared, with_dr6_shared),
        (mbec_vtl_mask, with_mbec_vtl_mask),
        (deny_lower_vtl_startup, with_deny_lower_vtl_startup),
        (supervisor_shadow_stack, with_supervisor_shadow_stack),
        (hardware_hvpt_available, with_hardware_hvpt_available),
        (software_hvpt_available, with_software_hvpt_available),
        (hardware_hvpt_range_bits, with_hardware_hvpt_range_bits),
        (intercept_page_available, with_intercept_page_available),
        (return_action_available, with_return_action_available),
        (vtl0_alias_map_available, with_vtl0_alias_map_available),
        (
            intercept_not_present_available,
            with_intercept_not_present_available
        ),
        (install_intercept_ex, with_install_intercept_ex),
        (
            intercept_system_reset_available,
            with_intercept_system_reset_available
        ),
    ]
);
bitfield_suite!(
    partition_config,
    HvRegisterVsmPartitionConfig,
    u64,
    HvRegisterVsmPartitionConfig::RESERVED_MASK,
    [
        (enable_vtl_protection, with_enable_vtl_protection),
        (
            default_vtl_protection_mask,
            with_default_vtl_protection_mask
        ),
        (zero_memory_on_reset, with_zero_memory_on_reset),
        (deny_lower_vtl_startup, with_deny_lower_vtl_startup),
        (intercept_acceptance, with_intercept_acceptance),
        (
            intercept_enable_vtl_protection,
            with_intercept_enable_vtl_protection
        ),
        (intercept_vp_startup, with_intercept_vp_startup),
        (
            intercept_cpuid_unimplemented,
            with_intercept_cpuid_unimplemented
        ),
        (
            intercept_unrecoverable_exception,
            with_intercept_unrecoverable_exception
        ),
        (intercept_page, with_intercept_page),
        (
            intercept_restore_partition_time,
            with_intercept_restore_partition_time
        ),
        (intercept_not_present, with_intercept_not_present),
        (intercept_system_reset, with_intercept_system_reset),
    ]
);
bitfield_suite!(
    partition_status,
    HvRegisterVsmPartitionStatus,
    u64,
    HvRegisterVsmPartitionStatus::RESERVED_MASK,
    [
        (enabled_vtl_set, with_enabled_vtl_set),
        (maximum_vtl, with_maximum_vtl),
        (mbec_enabled_vtl_set, with_mbec_enabled_vtl_set),
        (
            supervisor_shadow_stack_enabled_vtl_set,
            with_supervisor_shadow_stack_enabled_vtl_set
        ),
    ]
);
bitfield_suite!(
    vp_status,
    HvRegisterVsmVpStatus,
    u64,
    HvRegisterVsmVpStatus::RESERVED_MASK,
    [
        (active_vtl, with_active_vtl),
        (active_mbec_enabled, with_active_mbec_enabled),
        (enabled_vtl_set, with_enabled_vtl_set),
    ]
);
bitfield_suite!(
    secure_vtl_config,
    HvRegisterVsmVpSecureVtlConfig,
    u64,
    HvRegisterVsmVpSecureVtlConfig::RESERVED_MASK,
    [
        (mbec_enabled, with_mbec_enabled),
        (tlb_locked, with_tlb_locked)
    ]
);
bitfield_suite!(
    code_page_offsets,
    HvRegisterVsmCodePageOffsets,
    u64,
    HvRegisterVsmCodePageOffsets::RESERVED_MASK,
    [
        (vtl_call_offset, with_vtl_call_offset),
        (vtl_return_offset, with_vtl_return_offset)
    ]
);
bitfield_suite!(
    vina,
    HvRegisterVsmVina,
    u64,
    HvRegisterVsmVina::RESERVED_MASK,
    [
        (vector, with_vector),
        (enabled, with_enabled),
        (auto_reset, with_auto_reset),
        (auto_eoi, with_auto_eoi),
    ]
);
bitfield_suite!(
    vina_status,
    HvVinaStatus,
    u8,
    HvVinaStatus::RESERVED_MASK,
    [(vina_asserted, with_vina_asserted)]
);
bitfield_suite!(
    vtl_return_control,
    HvVtlReturnControl,
    u64,
    HvVtlReturnControl::RESERVED_MASK,
    [(fast_return, with_fast_return)]
);
bitfield_suite!(
    enable_partition_vtl_flags,
    HvEnablePartitionVtlFlags,
    u8,
    HvEnablePartitionVtlFlags::RESERVED_MASK,
    [
        (enable_mbec, with_enable_mbec),
        (
            enable_supervisor_shadow_stack,
            with_enable_supervisor_shadow_stack
        ),
        (enable_hardware_hvpt, with_enable_hardware_hvpt),
    ]
);
bitfield_suite!(
    map_gpa_flags,
    HvMapGpaFlags,
    u32,
    HvMapGpaFlags::RESERVED_MASK,
    [
        (readable, with_readable),
        (writable, with_writable),
        (kernel_executable, with_kernel_executable),
        (user_executable, with_user_executable),
        (adjustable, with_adjustable),
        (no_access, with_no_access),
        (not_cached, with_not_cached),
        (large_page, with_large_page),
    ]
);
bitfield_suite!(
    cr_intercept_control,
    HvRegisterCrInterceptControl,
    u64,
    HvRegisterCrInterceptControl::RESERVED_MASK,
    [
        (cr0_write, with_cr0_write),
        (cr4_write, with_cr4_write),
        (xcr0_write, with_xcr0_write),
        (ia32_misc_enable_read, with_ia32_misc_enable_read),
        (ia32_misc_enable_write, with_ia32_misc_enable_write),
        (msr_lstar_read, with_msr_lstar_read),
        (msr_lstar_write, with_msr_lstar_write),
        (msr_star_read, with_msr_star_read),
        (msr_star_write, with_msr_star_write),
        (msr_cstar_read, with_msr_cstar_read),
        (msr_cstar_write, with_msr_cstar_write),
        (apic_base_msr_read, with_apic_base_msr_read),
        (apic_base_msr_write, with_apic_base_msr_write),
        (msr_efer_read, with_msr_efer_read),
        (msr_efer_write, with_msr_efer_write),
        (gdtr_write, with_gdtr_write),
        (idtr_write, with_idtr_write),
        (ldtr_write, with_ldtr_write),
        (tr_write, with_tr_write),
        (msr_sysenter_cs_write, with_msr_sysenter_cs_write),
        (msr_sysenter_eip_write, with_msr_sysenter_eip_write),
        (msr_sysenter_esp_write, with_msr_sysenter_esp_write),
        (msr_sfmask_write, with_msr_sfmask_write),
        (msr_tsc_aux_write, with_msr_tsc_aux_write),
        (
            msr_sgx_launch_control_write,
            with_msr_sgx_launch_control_write
        ),
    ]
);

wire_round_trip!(vp_vtl_control_round_trips, HvVpVtlControl);
wire_round_trip!(enable_partition_vtl_round_trips, HvEnablePartitionVtlInput);
wire_round_trip!(enable_vp_vtl_round_trips, HvEnableVpVtlInput);
wire_round_trip!(
    modify_vtl_protection_mask_round_trips,
    HvModifyVtlProtectionMaskInput
);

#[test]
fn vtl_constants() {
    assert_eq!((HV_VTL0, HV_VTL1, HV_VTL2, HV_MAX_VTL), (0, 1, 2, 15));
    assert_eq!(HV_NUM_VTLS, 2);
    assert_eq!(HV_INVALID_VTL, 0xFF);
    assert_eq!(HV_VTL_ALL, 0xF);
    assert_eq!(HV_VTL_CALL_CONTROL, 0);
}

#[test]
fn vsm_register_fields_sit_on_the_published_bits() {
    let caps = HvRegisterVsmCapabilities::new();
    assert_eq!(caps.with_dr6_shared(true).into_bits(), 1);
    assert_eq!(caps.with_mbec_vtl_mask(0xFFFF).into_bits(), 0x1_FFFE);
    assert_eq!(caps.with_deny_lower_vtl_startup(true).into_bits(), 1 << 17);
    assert_eq!(
        caps.with_intercept_system_reset_available(true).into_bits(),
        1 << 32
    );

    let config = HvRegisterVsmPartitionConfig::new();
    assert_eq!(config.with_enable_vtl_protection(true).into_bits(), 1);
    assert_eq!(
        config.with_default_vtl_protection_mask(0xF).into_bits(),
        0x1E
    );
    assert_eq!(config.with_zero_memory_on_reset(true).into_bits(), 1 << 5);
    assert_eq!(config.with_deny_lower_vtl_startup(true).into_bits(), 1 << 6);
    assert_eq!(config.with_intercept_acceptance(true).into_bits(), 1 << 7);
    assert_eq!(
        config
            .with_intercept_enable_vtl_protection(true)
            .into_bits(),
        1 << 8
    );
    assert_eq!(config.with_intercept_vp_startup(true).into_bits(), 1 << 9);
    assert_eq!(
        config.with_intercept_cpuid_unimplemented(true).into_bits(),
        1 << 10
    );
    assert_eq!(
        config
            .with_intercept_unrecoverable_exception(true)
            .into_bits(),
        1 << 11
    );
    assert_eq!(config.with_intercept_page(true).into_bits(), 1 << 12);

    let status = HvRegisterVsmPartitionStatus::new()
        .with_enabled_vtl_set(0b11)
        .with_maximum_vtl(2)
        .with_mbec_enabled_vtl_set(0b10);
    assert_eq!(status.into_bits(), 0x0000_0000_0022_0003);
    assert!(status.is_vtl_enabled(0) && status.is_vtl_enabled(1));
    assert!(!status.is_vtl_enabled(2));
    assert!(!status.is_vtl_enabled(200));

    let vp = HvRegisterVsmVpStatus::new()
        .with_active_vtl(1)
        .with_active_mbec_enabled(true)
        .with_enabled_vtl_set(0b11);
    assert_eq!(vp.into_bits(), 0x0003_0011);
    assert!(vp.is_vtl_enabled(1) && !vp.is_vtl_enabled(3) && !vp.is_vtl_enabled(16));

    let offsets = HvRegisterVsmCodePageOffsets::from_bits(0x0000_0000_0045_6123);
    assert_eq!(offsets.vtl_call_offset(), 0x123);
    assert_eq!(offsets.vtl_return_offset(), 0x456);

    assert_eq!(
        HvRegisterVsmVpSecureVtlConfig::new()
            .with_tlb_locked(true)
            .into_bits(),
        2
    );
    assert_eq!(
        HvVtlReturnControl::new().with_fast_return(true).into_bits(),
        1
    );
    assert_eq!(
        HvEnablePartitionVtlFlags::new()
            .with_enable_mbec(true)
            .into_bits(),
        1
    );
    let vina = HvRegisterVsmVina::new()
        .with_vector(0x30)
        .with_enabled(true)
        .with_auto_eoi(true);
    assert_eq!(vina.into_bits(), 0x530);
}

#[test]
fn map_gpa_flags_match_the_published_values() {
    let flags = HvMapGpaFlags::new();
    assert_eq!(flags.with_readable(true).into_bits(), 0x1);
    assert_eq!(flags.with_writable(true).into_bits(), 0x2);
    assert_eq!(flags.with_kernel_executable(true).into_bits(), 0x4);
    assert_eq!(flags.with_user_executable(true).into_bits(), 0x8);
    assert_eq!(flags.with_adjustable(true).into_bits(), 0x8000);
    assert_eq!(flags.with_no_access(true).into_bits(), 0x1_0000);
    assert_eq!(flags.with_not_cached(true).into_bits(), 0x20_0000);
    assert_eq!(flags.with_large_page(true).into_bits(), 0x8000_0000);
    assert_eq!(
        HvMapGpaFlags::FULL_ACCESS.into_bits(),
        HvMapGpaFlags::PERMISSIONS_MASK
    );
    assert_eq!(HvMapGpaFlags::NONE.into_bits(), 0);
}

#[test]
fn default_protection_uses_the_map_flag_encoding() {
    let config = HvRegisterVsmPartitionConfig::new().with_default_protection(
        HvMapGpaFlags::new()
            .with_readable(true)
            .with_large_page(true),
    );
    assert_eq!(config.into_bits(), 0b10);
    assert_eq!(
        config.default_protection(),
        HvMapGpaFlags::new().with_readable(true)
    );
    let full =
        HvRegisterVsmPartitionConfig::new().with_default_protection(HvMapGpaFlags::FULL_ACCESS);
    assert_eq!(full.default_protection(), HvMapGpaFlags::FULL_ACCESS);
}

#[test]
fn cr_intercept_control_bits_follow_the_tlfs_comments() {
    let control = HvRegisterCrInterceptControl::new();
    assert_eq!(control.with_cr0_write(true).into_bits(), 0x1);
    assert_eq!(control.with_xcr0_write(true).into_bits(), 0x4);
    assert_eq!(control.with_msr_lstar_read(true).into_bits(), 0x20);
    assert_eq!(control.with_apic_base_msr_read(true).into_bits(), 0x800);
    assert_eq!(control.with_msr_efer_write(true).into_bits(), 0x4000);
    assert_eq!(control.with_gdtr_write(true).into_bits(), 0x8000);
    assert_eq!(control.with_tr_write(true).into_bits(), 0x4_0000);
    assert_eq!(
        control.with_msr_sysenter_cs_write(true).into_bits(),
        0x8_0000
    );
    assert_eq!(control.with_msr_tsc_aux_write(true).into_bits(), 0x80_0000);
    assert_eq!(
        control.with_msr_sgx_launch_control_write(true).into_bits(),
        0x100_0000
    );
}

#[test]
fn vtl_entry_reasons() {
    assert_eq!(HvVtlEntryReason::HvVtlEntryReserved.get(), 0);
    assert_eq!(HvVtlEntryReason::HvVtlEntryVtlCall.get(), 1);
    assert_eq!(HvVtlEntryReason::HvVtlEntryInterrupt.get(), 2);
    assert_eq!(HvVtlEntryReason::HvVtlEntryIntercept.get(), 3);
}

#[test]
fn vtl_control_area_decodes() {
    let mut bytes = [0u8; 24];
    bytes[0..4].copy_from_slice(&2u32.to_le_bytes());
    bytes[4] = 1;
    bytes[8..16].copy_from_slice(&0x2222_2222_1111_1111u64.to_le_bytes());
    bytes[16..24].copy_from_slice(&0x0000_0000_3333_3333u64.to_le_bytes());
    let control = HvVpVtlControl::read_from_bytes(&bytes[..]).unwrap();
    assert_eq!(control.entry_reason, HvVtlEntryReason::HvVtlEntryInterrupt);
    assert!(control.vina_status.vina_asserted());
    assert_eq!(control.vtl_return_x64_rax, 0x2222_2222_1111_1111);
    assert_eq!(
        control.x86_return_registers(),
        [0x1111_1111, 0x2222_2222, 0x3333_3333]
    );
}

#[test]
fn enable_partition_vtl_input_layout() {
    let input = HvEnablePartitionVtlInput {
        target_partition_id: hv_defs::HV_PARTITION_ID_SELF,
        target_vtl: HV_VTL1,
        flags: HvEnablePartitionVtlFlags::new().with_enable_mbec(true),
        rsvd0: 0,
        rsvd1: 0,
    };
    let mut expected = [0u8; 16];
    expected[0..8].copy_from_slice(&[0xFF; 8]);
    expected[8] = 1;
    expected[9] = 1;
    assert_eq!(input.as_bytes(), &expected[..]);
}

#[test]
fn enable_vp_vtl_input_matches_the_tlfs_table() {
    let segment = |n: u16| HvX64SegmentRegister {
        base: u64::from(n) << 32,
        limit: 0xFFFF,
        selector: n,
        attributes: 0xA09B,
    };
    let table = |base: u64| HvX64TableRegister {
        pad: [0; 3],
        limit: 0xFFF,
        base,
    };
    let input = HvEnableVpVtlInput {
        target_partition_id: 0x1122_3344_5566_7788,
        vp_index: 5,
        target_vtl: HV_VTL1,
        rsvd: [0; 3],
        vp_vtl_context: HvInitialVpContext {
            rip: 0x1000,
            rsp: 0x2000,
            rflags: 0x2,
            cs: segment(0x08),
            ds: segment(0x10),
            es: segment(0x18),
            fs: segment(0x20),
            gs: segment(0x28),
            ss: segment(0x30),
            tr: segment(0x38),
            ldtr: segment(0x40),
            idtr: table(0xAAAA_0000),
            gdtr: table(0xBBBB_0000),
            efer: 0xD01,
            cr0: 0x8000_0011,
            cr3: 0x3000,
            cr4: 0x20,
            msr_cr_pat: 0x0007_0406_0007_0406,
        },
    };
    let bytes = input.as_bytes();
    let qword = |offset: usize| u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap());
    assert_eq!(qword(0), 0x1122_3344_5566_7788);
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 5);
    assert_eq!(bytes[12], 1);
    assert_eq!(&bytes[13..16], &[0; 3]);
    assert_eq!(qword(16), 0x1000); // Rip
    assert_eq!(qword(24), 0x2000); // Rsp
    assert_eq!(qword(32), 0x2); // Rflags
    assert_eq!(qword(40), 0x08 << 32); // Cs[0]
    assert_eq!(qword(56), 0x10 << 32); // Ds[0]
    assert_eq!(qword(136), 0x38 << 32); // Tr[0]
    assert_eq!(qword(152), 0x40 << 32); // Ldtr[0]
    assert_eq!(qword(176), 0xAAAA_0000); // Idtr[1]: the base
    assert_eq!(qword(192), 0xBBBB_0000); // Gdtr[1]
    assert_eq!(qword(200), 0xD01); // Efer
    assert_eq!(qword(208), 0x8000_0011); // Cr0
    assert_eq!(qword(216), 0x3000); // Cr3
    assert_eq!(qword(224), 0x20); // Cr4
    assert_eq!(qword(232), 0x0007_0406_0007_0406); // MsrCrPat
    assert_eq!(HvEnableVpVtlInput::read_from_bytes(bytes).unwrap(), input);
}

#[test]
fn modify_vtl_protection_mask_input_layout() {
    let input = HvModifyVtlProtectionMaskInput {
        target_partition_id: hv_defs::HV_PARTITION_ID_SELF,
        map_flags: HvMapGpaFlags::new()
            .with_readable(true)
            .with_kernel_executable(true),
        target_vtl: HvInputVtl::target(HV_VTL1),
        rsvd: [0; 3],
    };
    let mut expected = [0u8; 16];
    expected[0..8].copy_from_slice(&[0xFF; 8]);
    expected[8] = 0x5;
    expected[12] = 0x11;
    assert_eq!(input.as_bytes(), &expected[..]);
    assert_eq!(HV_MODIFY_VTL_PROTECTION_MASK_MAX_REPS, 510);
}

#[test]
fn msr_table_is_sorted_and_disjoint() {
    for range in HV_X64_VTL_MSRS {
        assert!(range.first <= range.last, "{range:?}");
    }
    for pair in HV_X64_VTL_MSRS.windows(2) {
        assert!(
            pair[0].last < pair[1].first,
            "{:?} overlaps {:?}",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn msr_scopes_follow_tlfs_15_11() {
    use HvVtlStateScope::{Private, Shared};
    let expected = [
        (0x174, Private),       // SYSENTER_CS
        (0x277, Private),       // PAT
        (0xC000_0080, Private), // EFER
        (0xC000_0082, Private), // LSTAR
        (0xC000_0102, Private), // KERNEL_GSBASE
        (0xC000_0103, Private), // TSC_AUX
        (0x4000_0000, Private), // GUEST_OS_ID
        (0x4000_0001, Private), // HYPERCALL
        (0x4000_0073, Private), // APIC assist page
        (0x4000_0083, Private), // SIMP
        (0x4000_0095, Private), // SINT5
        (0x4000_00B7, Private), // STIMER3_COUNT
        (0x0000_0808, Private), // x2APIC TPR
        (0x4000_0002, Shared),  // VP_INDEX
        (0x4000_0020, Shared),  // TIME_REF_COUNT
        (0x4000_0022, Shared),  // TSC_FREQUENCY
        (0x4000_00F0, Shared),  // GUEST_IDLE
        (0x0000_0205, Shared),  // MTRR PHYSMASK2
        (0x0000_02FF, Shared),  // MTRR_DEF_TYPE
        (0x0000_0179, Shared),  // MCG_CAP
        (0x0000_017A, Shared),  // MCG_STATUS
    ];
    for (msr, scope) in expected {
        assert_eq!(x64_msr_vtl_scope(msr), Some(scope), "MSR {msr:#x}");
    }
    for unnamed in [
        0x0000_0000,
        0x0000_0220,
        0x4000_0004,
        0x4000_00A0,
        0xC000_0104,
        u32::MAX,
    ] {
        assert_eq!(x64_msr_vtl_scope(unnamed), None, "MSR {unnamed:#x}");
    }
}

#[test]
fn register_scopes_follow_tlfs_15_11() {
    let private = [
        HvX64VtlRegister::Rip,
        HvX64VtlRegister::Rsp,
        HvX64VtlRegister::Rflags,
        HvX64VtlRegister::Cr0,
        HvX64VtlRegister::Cr3,
        HvX64VtlRegister::Cr4,
        HvX64VtlRegister::Dr7,
        HvX64VtlRegister::Idtr,
        HvX64VtlRegister::Gdtr,
        HvX64VtlRegister::Cs,
        HvX64VtlRegister::Tr,
        HvX64VtlRegister::Ldtr,
        HvX64VtlRegister::Tsc,
    ];
    let shared = [
        HvX64VtlRegister::Rax,
        HvX64VtlRegister::Rbp,
        HvX64VtlRegister::Cr2,
        HvX64VtlRegister::R8,
        HvX64VtlRegister::R15,
        HvX64VtlRegister::Dr0,
        HvX64VtlRegister::Dr3,
        HvX64VtlRegister::X87,
        HvX64VtlRegister::Xmm,
        HvX64VtlRegister::Avx,
        HvX64VtlRegister::Xcr0,
    ];
    for register in private {
        assert_eq!(register.scope(), HvVtlStateScope::Private, "{register:?}");
    }
    for register in shared {
        assert_eq!(register.scope(), HvVtlStateScope::Shared, "{register:?}");
    }
    assert_eq!(HvX64VtlRegister::ALL.len(), 44);
    let private_count = HvX64VtlRegister::ALL
        .iter()
        .filter(|r| r.scope() == HvVtlStateScope::Private)
        .count();
    assert_eq!(private_count, 19);
}

#[test]
fn dr6_scope_depends_on_the_capabilities_register() {
    let scope = HvX64VtlRegister::Dr6.scope();
    assert_eq!(scope, HvVtlStateScope::Dr6);
    let caps = HvRegisterVsmCapabilities::new();
    assert!(!scope.is_shared(caps));
    assert!(scope.is_shared(caps.with_dr6_shared(true)));
    assert!(HvVtlStateScope::Shared.is_shared(caps));
    assert!(!HvVtlStateScope::Private.is_shared(caps.with_dr6_shared(true)));
}
