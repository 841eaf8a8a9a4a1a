//! Encoding tests for the hypercall, VP, MMU and interrupt definitions (TLFS 3, 7, 9, 10,
//! 14): byte and bit round trips, reserved-bit masks, and golden hypercall control words and
//! input blocks.

use core::mem::size_of;

use hv_defs::HV_PARTITION_ID_SELF;
use hv_defs::hypercall::{
    HvCallCode, HvExtCallCapabilities, HvHypercallInput, HvHypercallOutput,
    HvOutputExtCallQueryCapabilities, hv_variable_header_size,
};
use hv_defs::interrupt::*;
use hv_defs::mmu::*;
use hv_defs::nested::HvNestedEnlightenmentsControl;
use hv_defs::vp::*;
use hv_defs::vsm::{HvVinaStatus, HvVtlEntryReason};
use proptest::collection::vec;
use proptest::prelude::*;
use zerocopy::{FromBytes, FromZeros, IntoBytes};

/// bytes -> struct -> bytes is the identity for every wire structure: no padding, no
/// invalid bit patterns.
macro_rules! wire_round_trip {
    ($($test:ident: $ty:ty,)*) => {
        proptest! {
            $(
                #[test]
                fn $test(bytes in vec(any::<u8>(), size_of::<$ty>())) {
                    let value = <$ty>::read_from_bytes(&bytes).expect("exact size");
                    prop_assert_eq!(value.as_bytes(), &bytes[..]);
                }
            )*
        }
    };
}

wire_round_trip! {
    bytes_ext_capabilities_output: HvOutputExtCallQueryCapabilities,
    bytes_vp_registers_header: HvVpRegistersInputHeader,
    bytes_set_vp_registers_element: HvSetVpRegistersElement,
    bytes_apic_id_header: HvGetVpIndexFromApicIdInputHeader,
    bytes_start_vp_input: HvStartVirtualProcessorInput,
    bytes_initial_vp_context: HvInitialVpContext,
    bytes_segment_register: HvX64SegmentRegister,
    bytes_table_register: HvX64TableRegister,
    bytes_vp_set_header: HvVpSetHeader,
    bytes_nested_control: HvNestedEnlightenmentsControl,
    bytes_fault_information: HvVirtualizationFaultInformation,
    bytes_vp_assist_page: HvVpAssistPage,
    bytes_long_spin_wait: HvNotifyLongSpinWaitInput,
    bytes_switch_address_space: HvSwitchVirtualAddressSpaceInput,
    bytes_flush_input: HvFlushVirtualAddressSpaceInput,
    bytes_flush_ex_input: HvFlushVirtualAddressSpaceExInput,
    bytes_translate_input: HvTranslateVirtualAddressInput,
    bytes_translate_output: HvTranslateVirtualAddressOutput,
    bytes_boot_zeroed_output: HvExtGetBootZeroedMemoryOutput,
    bytes_ipi_input: HvSendSyntheticClusterIpiInput,
    bytes_ipi_ex_input: HvSendSyntheticClusterIpiExInput,
    bytes_assert_interrupt_input: HvAssertVirtualInterruptInput,
    bytes_interrupt_entry: HvInterruptEntry,
    bytes_device_target: HvDeviceInterruptTarget,
    bytes_device_target_vp_set: HvDeviceInterruptTargetVpSet,
    bytes_retarget_input: HvRetargetDeviceInterruptInput,
    bytes_retarget_vp_set_input: HvRetargetDeviceInterruptVpSetInput,
}

/// For every bitfield: bits -> bitfield -> bits is the identity, and rebuilding the value
/// from its public fields gives back exactly the non-reserved bits, so the fields neither
/// overlap nor leave a non-reserved bit uncovered.
macro_rules! bits_round_trip {
    ($($test:ident: $ty:ty, $raw:ty, $reserved:expr, [$($get:ident => $with:ident),* $(,)?];)*) => {
        proptest! {
            $(
                #[test]
                fn $test(bits in any::<$raw>()) {
                    let value = <$ty>::from_bits(bits);
                    prop_assert_eq!(value.into_bits(), bits);
                    let rebuilt = <$ty>::new()$(.$with(value.$get()))*;
                    prop_assert_eq!(rebuilt.into_bits(), bits & !$reserved);
                }
            )*
        }
    };
}

bits_round_trip! {
    bits_hypercall_input: HvHypercallInput, u64, HvHypercallInput::RESERVED_MASK, [
        call_code => with_call_code, fast => with_fast,
        variable_header_size => with_variable_header_size, nested => with_nested,
        rep_count => with_rep_count, rep_start_index => with_rep_start_index,
    ];
    bits_hypercall_output: HvHypercallOutput, u64, 0xFFFF_F000_FFFF_0000_u64, [
        status => with_status, reps_completed => with_reps_completed,
    ];
    bits_ext_capabilities: HvExtCallCapabilities, u64, HvExtCallCapabilities::RESERVED_MASK, [
        get_boot_zeroed_memory => with_get_boot_zeroed_memory,
        memory_heat_hint => with_memory_heat_hint, epf_setup => with_epf_setup,
        scheduler_assist_setup => with_scheduler_assist_setup,
        memory_heat_hint_async => with_memory_heat_hint_async,
    ];
    bits_input_vtl: HvInputVtl, u8, HvInputVtl::RESERVED_MASK, [
        target_vtl => with_target_vtl, use_target_vtl => with_use_target_vtl,
    ];
    bits_vp_assist_msr: HvVpAssistPageMsr, u64, HvVpAssistPageMsr::RESERVED_MASK, [
        enable => with_enable, gpa_page_number => with_gpa_page_number,
    ];
    bits_apic_assist: HvVirtualApicAssist, u32, HvVirtualApicAssist::RESERVED_MASK, [
        no_eoi_required => with_no_eoi_required,
    ];
    bits_vp_runtime: HvVpRuntime, u64, 0_u64, [time_100ns => with_time_100ns];
    bits_flush_flags: HvFlushFlags, u64, HvFlushFlags::RESERVED_MASK, [
        all_processors => with_all_processors,
        all_virtual_address_spaces => with_all_virtual_address_spaces,
        non_global_mappings_only => with_non_global_mappings_only,
        use_extended_range_format => with_use_extended_range_format,
    ];
    bits_gva_range: HvGvaRange, u64, 0_u64, [
        additional_pages => with_additional_pages, gva_page_number => with_gva_page_number,
    ];
    bits_gva_range_extended: HvGvaRangeExtended, u64, 0_u64, [
        additional_pages => with_additional_pages, large_page => with_large_page,
        gva_page_number => with_gva_page_number,
    ];
    bits_gva_range_large: HvGvaRangeExtendedLargePage, u64,
        HvGvaRangeExtendedLargePage::RESERVED_MASK, [
        additional_pages => with_additional_pages, large_page => with_large_page,
        page_size_1gb => with_page_size_1gb, gva_large_page_number => with_gva_large_page_number,
    ];
    bits_translate_control: HvTranslateGvaControlFlags, u64,
        HvTranslateGvaControlFlags::RESERVED_MASK & !(0xE0_u64 << 56), [
        validate_read => with_validate_read, validate_write => with_validate_write,
        validate_execute => with_validate_execute, privilege_exempt => with_privilege_exempt,
        set_page_table_bits => with_set_page_table_bits, tlb_flush_inhibit => with_tlb_flush_inhibit,
        input_vtl => with_input_vtl,
    ];
    bits_translate_result: HvTranslateGvaResult, u64, HvTranslateGvaResult::RESERVED_MASK, [
        result_code => with_result_code, cache_type => with_cache_type,
        overlay_page => with_overlay_page,
    ];
    bits_msr_eoi: HvX64MsrEoi, u64, HvX64MsrEoi::RESERVED_MASK, [eoi_value => with_eoi_value];
    bits_msr_icr: HvX64MsrIcr, u64, 0_u64, [icr_low => with_icr_low, icr_high => with_icr_high];
    bits_msr_tpr: HvX64MsrTpr, u64, HvX64MsrTpr::RESERVED_MASK, [tpr => with_tpr];
    bits_interrupt_control: HvInterruptControl, u64, HvInterruptControl::RESERVED_MASK, [
        interrupt_type => with_interrupt_type, level_triggered => with_level_triggered,
        logical_destination_mode => with_logical_destination_mode,
    ];
    bits_msi_entry: HvMsiEntry, u64, 0_u64, [address => with_address, data => with_data];
    bits_device_target_flags: HvDeviceInterruptTargetFlags, u32,
        HvDeviceInterruptTargetFlags::RESERVED_MASK, [
        multicast => with_multicast, processor_set => with_processor_set,
    ];
}

/// The largest value of an input VTL that a builder can produce: every public field at its
/// maximum.
fn max_input_vtl() -> HvInputVtl {
    HvInputVtl::new()
        .with_target_vtl(0xF)
        .with_use_target_vtl(true)
}

#[test]
fn public_fields_at_their_maximum_never_touch_reserved_bits() {
    let cases: [(&str, u64, u64); 12] = [
        (
            "HvExtCallCapabilities",
            HvExtCallCapabilities::new()
                .with_get_boot_zeroed_memory(true)
                .with_memory_heat_hint(true)
                .with_epf_setup(true)
                .with_scheduler_assist_setup(true)
                .with_memory_heat_hint_async(true)
                .into_bits(),
            HvExtCallCapabilities::RESERVED_MASK,
        ),
        (
            "HvInputVtl",
            max_input_vtl().into_bits().into(),
            HvInputVtl::RESERVED_MASK.into(),
        ),
        (
            "HvVpAssistPageMsr",
            HvVpAssistPageMsr::new()
                .with_enable(true)
                .with_gpa_page_number((1 << 52) - 1)
                .into_bits(),
            HvVpAssistPageMsr::RESERVED_MASK,
        ),
        (
            "HvVirtualApicAssist",
            HvVirtualApicAssist::new()
                .with_no_eoi_required(true)
                .into_bits()
                .into(),
            HvVirtualApicAssist::RESERVED_MASK.into(),
        ),
        (
            "HvFlushFlags",
            HvFlushFlags::new()
                .with_all_processors(true)
                .with_all_virtual_address_spaces(true)
                .with_non_global_mappings_only(true)
                .with_use_extended_range_format(true)
                .into_bits(),
            HvFlushFlags::RESERVED_MASK,
        ),
        (
            "HvGvaRangeExtendedLargePage",
            HvGvaRangeExtendedLargePage::new()
                .with_additional_pages(0x7FF)
                .with_large_page(true)
                .with_page_size_1gb(true)
                .with_gva_large_page_number((1 << 43) - 1)
                .into_bits(),
            HvGvaRangeExtendedLargePage::RESERVED_MASK,
        ),
        (
            "HvTranslateGvaControlFlags",
            HvTranslateGvaControlFlags::new()
                .with_validate_read(true)
                .with_validate_write(true)
                .with_validate_execute(true)
                .with_privilege_exempt(true)
                .with_set_page_table_bits(true)
                .with_tlb_flush_inhibit(true)
                .with_input_vtl(max_input_vtl())
                .into_bits(),
            HvTranslateGvaControlFlags::RESERVED_MASK,
        ),
        (
            "HvTranslateGvaResult",
            HvTranslateGvaResult::new()
                .with_result_code(HvTranslateGvaResultCode::new(u32::MAX))
                .with_cache_type(HvCacheType::new(u8::MAX))
                .with_overlay_page(true)
                .into_bits(),
            HvTranslateGvaResult::RESERVED_MASK,
        ),
        (
            "HvX64MsrEoi",
            HvX64MsrEoi::new().with_eoi_value(u32::MAX).into_bits(),
            HvX64MsrEoi::RESERVED_MASK,
        ),
        (
            "HvX64MsrTpr",
            HvX64MsrTpr::new().with_tpr(u8::MAX).into_bits(),
            HvX64MsrTpr::RESERVED_MASK,
        ),
        (
            "HvInterruptControl",
            HvInterruptControl::new()
                .with_interrupt_type(HvInterruptType::new(u32::MAX))
                .with_level_triggered(true)
                .with_logical_destination_mode(true)
                .into_bits(),
            HvInterruptControl::RESERVED_MASK,
        ),
        (
            "HvDeviceInterruptTargetFlags",
            HvDeviceInterruptTargetFlags::new()
                .with_multicast(true)
                .with_processor_set(true)
                .into_bits()
                .into(),
            HvDeviceInterruptTargetFlags::RESERVED_MASK.into(),
        ),
    ];
    for (name, bits, reserved) in cases {
        let width_mask = match name {
            "HvInputVtl" => 0xFF,
            "HvVirtualApicAssist" | "HvDeviceInterruptTargetFlags" => 0xFFFF_FFFF,
            _ => u64::MAX,
        };
        assert_eq!(bits & reserved, 0, "{name} sets a reserved bit");
        assert_eq!(
            bits,
            !reserved & width_mask,
            "{name} leaves a public bit unset"
        );
    }
}

#[test]
fn control_word_rep_get_vp_registers_with_start_index() {
    let input = HvHypercallInput::new()
        .with_call_code(HvCallCode::HvCallGetVpRegisters)
        .with_rep_count(5)
        .with_rep_start_index(2);
    assert_eq!(input.into_bits(), 0x0002_0005_0000_0050);
    assert!(input.validate().expect("valid").is_rep());
}

#[test]
fn control_word_fast_signal_event() {
    let input = HvHypercallInput::new()
        .with_call_code(HvCallCode::HvCallSignalEvent)
        .with_fast(true);
    assert_eq!(input.into_bits(), 0x0000_0000_0001_005D);
    let info = input.validate().expect("valid");
    assert!(info.fast && !info.xmm_fast_input);
}

#[test]
fn control_word_and_input_of_an_ex_flush_list_with_a_variable_header() {
    // TLFS 7.8.7.5: VPs 0, 5 and 130 are banks 0 and 2, masks 0x21 and 0x4.
    let mut banks = [0_u64; HV_VP_SET_MAX_BANKS];
    let mut valid = 0_u64;
    for vp in [0, 5, 130] {
        let (bank, bit) = hv_vp_set_bank(vp).expect("in range");
        banks[bank] |= bit;
        valid |= 1 << bank;
    }
    let set = HvVpSetHeader::sparse(valid);
    assert_eq!(set.valid_banks_mask, 0x5);
    let contents: Vec<u64> = (0..HV_VP_SET_MAX_BANKS)
        .filter(|bank| valid & (1 << bank) != 0)
        .map(|bank| banks[bank])
        .collect();
    assert_eq!(contents, [0x21, 0x4]);
    assert_eq!(set.bank_count(), contents.len());

    let header = HvFlushVirtualAddressSpaceExInput {
        address_space: 0x1234_5000,
        flags: HvFlushFlags::new().with_all_virtual_address_spaces(true),
        processor_set: set,
    };
    let variable_bytes = contents.as_bytes();
    let ranges = [
        HvGvaRange::pages(0x7000_0000, 1).expect("range"),
        HvGvaRange::pages(0x7000_8000, 16).expect("range"),
        HvGvaRange::pages(0xFFFF_8000_0000_0000, 4096).expect("range"),
    ];
    let mut block = Vec::new();
    block.extend_from_slice(header.as_bytes());
    block.extend_from_slice(variable_bytes);
    block.extend_from_slice(ranges.as_bytes());
    let qwords: Vec<u64> = block
        .chunks_exact(8)
        .map(|chunk| u64::from_le_bytes(chunk.try_into().expect("8 bytes")))
        .collect();
    assert_eq!(
        qwords,
        [
            0x1234_5000,
            HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES,
            0, // HV_GENERIC_SET_SPARSE_4K
            0x5,
            0x21,
            0x4,
            0x7000_0000,
            0x7000_800F,
            0xFFFF_8000_0000_0FFF,
        ]
    );

    let input = HvHypercallInput::new()
        .with_call_code(HvCallCode::HvCallFlushVirtualAddressListEx)
        .with_variable_header_size(hv_variable_header_size(variable_bytes.len()).expect("fits"))
        .with_rep_count(ranges.len() as u16);
    assert_eq!(input.into_bits(), 0x0000_0003_0004_0014);
    assert!(input.validate().is_ok());
}

#[test]
fn control_word_xmm_fast_ipi_ex_to_one_bank() {
    let input = HvHypercallInput::new()
        .with_call_code(HvCallCode::HvCallSendSyntheticClusterIpiEx)
        .with_fast(true)
        .with_variable_header_size(1);
    assert_eq!(input.into_bits(), 0x0000_0000_0003_0015);
    assert!(input.validate().expect("valid").xmm_fast_input);
}

#[test]
fn control_word_retarget_interrupt_to_a_vp_set() {
    let size = hv_retarget_vp_set_variable_header_size(2);
    let input = HvHypercallInput::new()
        .with_call_code(HvCallCode::HvCallRetargetDeviceInterrupt)
        .with_variable_header_size(size as u16);
    assert_eq!(input.into_bits(), 0x0000_0000_0006_007E);
    assert!(input.validate().is_ok());
}

#[test]
fn fast_ipi_input_fills_rdx_and_r8() {
    let input = HvSendSyntheticClusterIpiInput {
        vector: 0x30,
        target_vtl: HvInputVtl::CURRENT,
        rsvd: [0; 3],
        processor_mask: 0b1010,
    };
    let bytes = input.as_bytes();
    let rdx = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let r8 = u64::from_le_bytes(bytes[8..].try_into().expect("8 bytes"));
    assert_eq!((rdx, r8), (0x30, 0b1010));
}

#[test]
fn retarget_input_matches_the_tlfs_offsets() {
    let input = HvRetargetDeviceInterruptInput {
        partition_id: HV_PARTITION_ID_SELF,
        device_id: 0xDEAD_BEEF,
        interrupt_entry: HvInterruptEntry {
            source: HvInterruptSource::HvInterruptSourceMsi,
            rsvd: 0,
            msi_entry: HvMsiEntry::new()
                .with_address(0xFEE0_0000)
                .with_data(0x4041),
        },
        rsvd: 0,
        interrupt_target: HvDeviceInterruptTarget {
            vector: 0x41,
            flags: HvDeviceInterruptTargetFlags::new().with_multicast(true),
            processor_mask: 0xF,
        },
    };
    let qwords: Vec<u64> = input
        .as_bytes()
        .chunks_exact(8)
        .map(|chunk| u64::from_le_bytes(chunk.try_into().expect("8 bytes")))
        .collect();
    assert_eq!(
        qwords,
        [
            u64::MAX,
            0xDEAD_BEEF,
            1,
            0x0000_4041_FEE0_0000,
            0,
            0x0000_0001_0000_0041,
            0xF,
        ]
    );
}

#[test]
fn vp_set_bank_rejects_indices_beyond_64_banks() {
    assert_eq!(hv_vp_set_bank(0), Some((0, 1)));
    assert_eq!(hv_vp_set_bank(64), Some((1, 1)));
    assert_eq!(hv_vp_set_bank(HV_VP_SET_MAX_VPS - 1), Some((63, 1 << 63)));
    assert_eq!(hv_vp_set_bank(HV_VP_SET_MAX_VPS), None);
    assert_eq!(hv_vp_set_bank(u32::MAX), None);
    assert_eq!(HvVpSetHeader::ALL.bank_count(), 0);
    assert_eq!(HvVpSetHeader::sparse(u64::MAX).bank_count(), 64);
    assert_eq!(HV_VP_SET_MAX_BYTES, 528);
}

#[test]
fn vp_assist_page_fields_sit_at_their_offsets() {
    let mut page = HvVpAssistPage::new_zeroed();
    page.apic_assist = HvVirtualApicAssist::new().with_no_eoi_required(true);
    page.vtl_control.entry_reason = HvVtlEntryReason::HvVtlEntryInterrupt;
    page.vtl_control.vina_status = HvVinaStatus::new().with_vina_asserted(true);
    page.vtl_control.vtl_return_x64_rax = 0x1111;
    page.vtl_control.vtl_return_x64_rcx = 0x2222;
    page.enlighten_vm_entry = 1;
    page.current_nested_vmcs = 0x3000;
    page.virtualization_fault_information.code = 0x44;
    page.intercept_message[0] = 0x55;
    page.vtl_return_actions[0] = 0x66;
    let bytes = page.as_bytes();
    assert_eq!(bytes.len(), 4096);
    assert_eq!(bytes[0], 1);
    assert_eq!(bytes[8], 2);
    assert_eq!(bytes[12], 1);
    assert_eq!(bytes[16..24], 0x1111_u64.to_le_bytes());
    assert_eq!(bytes[24..32], 0x2222_u64.to_le_bytes());
    assert_eq!(bytes[40], 1);
    assert_eq!(bytes[48..56], 0x3000_u64.to_le_bytes());
    assert_eq!(bytes[68..72], 0x44_u32.to_le_bytes());
    assert_eq!(bytes[112], 0x55);
    assert_eq!(bytes[368], 0x66);
}

#[test]
fn vp_assist_msr_keeps_reserved_bits_when_asked() {
    let current = HvVpAssistPageMsr::from_bits(0x0000_0000_0000_0A50);
    let wanted = HvVpAssistPageMsr::new()
        .with_enable(true)
        .with_gpa_page_number(0x1_2345);
    assert_eq!(wanted.into_bits(), 0x1234_5001);
    assert_eq!(wanted.preserving_reserved(current).into_bits(), 0x1234_5A51);
}

#[test]
fn vp_runtime_converts_to_nanoseconds_without_overflow() {
    assert_eq!(HvVpRuntime::new().with_time_100ns(7).as_nanos(), 700);
    assert_eq!(HvVpRuntime::from_bits(u64::MAX).as_nanos(), u64::MAX);
}

#[test]
fn start_vp_input_places_the_context_per_tlfs_7_10_3() {
    let mut input = HvStartVirtualProcessorInput::new_zeroed();
    input.partition_id = HV_PARTITION_ID_SELF;
    input.vp_index = 3;
    input.target_vtl = 1;
    input.vp_context.rip = 0x10_0000;
    input.vp_context.cs.selector = 0x8;
    input.vp_context.efer = 0xD01;
    input.vp_context.msr_cr_pat = 0x0007_0406_0007_0406;
    let bytes = input.as_bytes();
    assert_eq!(bytes.len(), 240);
    assert_eq!(bytes[8..12], 3_u32.to_le_bytes());
    assert_eq!(bytes[12], 1);
    assert_eq!(bytes[16..24], 0x10_0000_u64.to_le_bytes());
    assert_eq!(bytes[40 + 12..40 + 14], 0x8_u16.to_le_bytes());
    assert_eq!(bytes[200..208], 0xD01_u64.to_le_bytes());
    assert_eq!(bytes[232..240], 0x0007_0406_0007_0406_u64.to_le_bytes());
}

#[test]
fn rep_limits_per_page_follow_from_the_layouts() {
    assert_eq!(HV_SET_VP_REGISTERS_MAX_REPS_PER_PAGE, 127);
    assert_eq!(HV_GET_VP_REGISTERS_MAX_REPS_PER_PAGE, 256);
    assert_eq!(HV_GET_VP_INDEX_FROM_APIC_ID_MAX_REPS_PER_PAGE, 1020);
    assert_eq!(HV_FLUSH_VIRTUAL_ADDRESS_LIST_MAX_REPS_PER_PAGE, 509);
}
