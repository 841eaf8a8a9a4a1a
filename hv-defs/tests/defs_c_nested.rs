//! Tests of the nested virtualization definitions (TLFS 16): clean fields, enlightened VMCS
//! and VMCB layouts, nested controls, reenlightenment and the GPA flush inputs.

use core::mem::offset_of;

use hv_defs::nested::*;
use proptest::prelude::*;
use zerocopy::{FromBytes, FromZeros, IntoBytes};

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
    ($name:ident, $ty:ty, $cases:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases($cases))]
            #[test]
            fn $name(bytes in proptest::collection::vec(any::<u8>(), size_of::<$ty>())) {
                let value = <$ty>::read_from_bytes(&bytes).unwrap();
                prop_assert_eq!(value.as_bytes(), &bytes[..]);
            }
        }
    };
}

// Sizes and offsets (TLFS 7.8.7.2, 16.8.2, 16.11.2, 16.13; Linux `hvgdk.h` for the VMCB
// area).
const _: () = assert!(size_of::<HvVmxEnlightenedVmcs>() == 1024);
const _: () = assert!(size_of::<HvVmxEnlightenedVmcs>() <= HV_VMX_ENLIGHTENED_VMCS_PAGE_SIZE);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, clean_fields) == 824);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, enlightenments_control) == 836);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, partition_assist_page) == 856);
const _: () = assert!(size_of::<HvVmcbEnlightenments>() == 32);
const _: () = assert!(size_of::<HvPartitionAssistPage>() == 4096);
const _: () = assert!(size_of::<HvNestedEnlightenmentsControl>() == 8);
const _: () = assert!(size_of::<HvFlushGuestPhysicalAddressSpaceInput>() == 16);
const _: () = assert!(size_of::<HvFlushGuestPhysicalAddressListInput>() == 16);

bitfield_suite!(
    clean_fields,
    HvVmxEnlightenedCleanFields,
    u32,
    HvVmxEnlightenedCleanFields::RESERVED_MASK,
    [
        (io_bitmap, with_io_bitmap),
        (msr_bitmap, with_msr_bitmap),
        (control_grp2, with_control_grp2),
        (control_grp1, with_control_grp1),
        (control_proc, with_control_proc),
        (control_event, with_control_event),
        (control_entry, with_control_entry),
        (control_excpn, with_control_excpn),
        (crdr, with_crdr),
        (control_xlat, with_control_xlat),
        (guest_basic, with_guest_basic),
        (guest_grp1, with_guest_grp1),
        (guest_grp2, with_guest_grp2),
        (host_pointer, with_host_pointer),
        (host_grp1, with_host_grp1),
        (enlightenments_control, with_enlightenments_control),
    ]
);
bitfield_suite!(
    vmx_enlightenments_control,
    HvVmxEnlightenmentsControl,
    u32,
    HvVmxEnlightenmentsControl::RESERVED_MASK,
    [
        (
            nested_flush_virtual_hypercall,
            with_nested_flush_virtual_hypercall
        ),
        (msr_bitmap, with_msr_bitmap),
    ]
);
bitfield_suite!(
    svm_enlightenments_control,
    HvSvmEnlightenmentsControl,
    u32,
    HvSvmEnlightenmentsControl::RESERVED_MASK,
    [
        (
            nested_flush_virtual_hypercall,
            with_nested_flush_virtual_hypercall
        ),
        (msr_bitmap, with_msr_bitmap),
        (enlightened_npt_tlb, with_enlightened_npt_tlb),
    ]
);
bitfield_suite!(
    nested_features,
    HvNestedEnlightenmentsFeatures,
    u32,
    HvNestedEnlightenmentsFeatures::RESERVED_MASK,
    [
        (direct_hypercall, with_direct_hypercall),
        (virtualization_exception, with_virtualization_exception),
    ]
);
bitfield_suite!(
    nested_hypercall_controls,
    HvNestedHypercallControls,
    u32,
    HvNestedHypercallControls::RESERVED_MASK,
    [(
        inter_partition_communication,
        with_inter_partition_communication
    )]
);
bitfield_suite!(
    reenlightenment_control,
    HvReenlightenmentControl,
    u64,
    HvReenlightenmentControl::RESERVED_MASK,
    [
        (vector, with_vector),
        (enabled, with_enabled),
        (target_vp, with_target_vp)
    ]
);
bitfield_suite!(
    tsc_emulation_control,
    HvTscEmulationControl,
    u64,
    HvTscEmulationControl::RESERVED_MASK,
    [(enabled, with_enabled)]
);
bitfield_suite!(
    tsc_emulation_status,
    HvTscEmulationStatus,
    u64,
    HvTscEmulationStatus::RESERVED_MASK,
    [(in_progress, with_in_progress)]
);
bitfield_suite!(
    gpa_page_range,
    HvGpaPageRange,
    u64,
    0u64,
    [
        (additional_pages, with_additional_pages),
        (large_page, with_large_page),
        (base_pfn, with_base_pfn)
    ]
);
bitfield_suite!(
    gpa_large_page_range,
    HvGpaLargePageRange,
    u64,
    HvGpaLargePageRange::RESERVED_MASK,
    [
        (additional_pages, with_additional_pages),
        (large_page, with_large_page),
        (page_size, with_page_size),
        (base_large_pfn, with_base_large_pfn),
    ]
);

wire_round_trip!(enlightened_vmcs_round_trips, HvVmxEnlightenedVmcs, 64);
wire_round_trip!(vmcb_enlightenments_round_trip, HvVmcbEnlightenments, 256);
wire_round_trip!(partition_assist_page_round_trips, HvPartitionAssistPage, 32);
wire_round_trip!(
    nested_control_round_trips,
    HvNestedEnlightenmentsControl,
    256
);
wire_round_trip!(
    flush_space_input_round_trips,
    HvFlushGuestPhysicalAddressSpaceInput,
    256
);

#[test]
fn clean_field_bits_match_the_tlfs_table() {
    let clean = HvVmxEnlightenedCleanFields::new();
    let expected = [
        (clean.with_io_bitmap(true), 1 << 0),
        (clean.with_msr_bitmap(true), 1 << 1),
        (clean.with_control_grp2(true), 1 << 2),
        (clean.with_control_grp1(true), 1 << 3),
        (clean.with_control_proc(true), 1 << 4),
        (clean.with_control_event(true), 1 << 5),
        (clean.with_control_entry(true), 1 << 6),
        (clean.with_control_excpn(true), 1 << 7),
        (clean.with_crdr(true), 1 << 8),
        (clean.with_control_xlat(true), 1 << 9),
        (clean.with_guest_basic(true), 1 << 10),
        (clean.with_guest_grp1(true), 1 << 11),
        (clean.with_guest_grp2(true), 1 << 12),
        (clean.with_host_pointer(true), 1 << 13),
        (clean.with_host_grp1(true), 1 << 14),
        (clean.with_enlightenments_control(true), 1 << 15),
    ];
    for (field, bit) in expected {
        assert_eq!(field.into_bits(), bit);
    }
    assert_eq!(HvVmxEnlightenedCleanFields::NONE.into_bits(), 0);
    assert_eq!(HvVmxEnlightenedCleanFields::ALL.into_bits(), 0xFFFF);
}

#[test]
fn enlightened_vmcs_fields_land_at_their_offsets() {
    let mut vmcs = HvVmxEnlightenedVmcs {
        version_number: HV_VMX_ENLIGHTENED_VMCS_VERSION,
        clean_fields: HvVmxEnlightenedCleanFields::ALL,
        vp_id: 7,
        vm_id: 0x1234,
        partition_assist_page: 0x5000,
        ..Default::default()
    };
    vmcs.enlightenments_control = HvVmxEnlightenmentsControl::new()
        .with_nested_flush_virtual_hypercall(true)
        .with_msr_bitmap(true);
    vmcs.guest_rip = 0xFFFF_FFFF_8000_0000;
    let bytes = vmcs.as_bytes();
    assert_eq!(&bytes[0..4], &1u32.to_le_bytes());
    assert_eq!(&bytes[816..824], &0xFFFF_FFFF_8000_0000u64.to_le_bytes());
    assert_eq!(&bytes[824..828], &0xFFFFu32.to_le_bytes());
    assert_eq!(&bytes[836..840], &3u32.to_le_bytes());
    assert_eq!(&bytes[840..844], &7u32.to_le_bytes());
    assert_eq!(&bytes[848..856], &0x1234u64.to_le_bytes());
    assert_eq!(&bytes[856..864], &0x5000u64.to_le_bytes());
    let nonzero: usize = bytes.iter().filter(|&&b| b != 0).count();
    assert_eq!(nonzero, 1 + 5 + 2 + 1 + 1 + 2 + 1);
    assert_eq!(HvVmxEnlightenedVmcs::read_from_bytes(bytes).unwrap(), vmcs);
}

#[test]
fn vmcb_enlightenments_layout() {
    let area = HvVmcbEnlightenments {
        enlightenments_control: HvSvmEnlightenmentsControl::new().with_enlightened_npt_tlb(true),
        vp_id: 3,
        vm_id: 9,
        partition_assist_page: 0x7000,
        rsvd: 0,
    };
    let mut expected = [0u8; 32];
    expected[0] = 0b100;
    expected[4] = 3;
    expected[8] = 9;
    expected[16..24].copy_from_slice(&0x7000u64.to_le_bytes());
    assert_eq!(area.as_bytes(), &expected[..]);
    assert_eq!(HV_VMCB_ENLIGHTENMENTS_OFFSET, 0x3E0);
    assert_eq!(HV_VMCB_NESTED_ENLIGHTENMENTS_CLEAN_BIT, 31);
}

#[test]
fn synthetic_exit_codes() {
    assert_eq!(HV_VMX_SYNTHETIC_EXIT_REASON_TRAP_AFTER_FLUSH, 0x1000_0031);
    assert_eq!(HV_SVM_EXITCODE_ENL, 0xF000_0000);
    assert_eq!(HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH, 1);
}

#[test]
fn nested_control_and_partition_assist_page_layout() {
    let control = HvNestedEnlightenmentsControl {
        features: HvNestedEnlightenmentsFeatures::new().with_direct_hypercall(true),
        hypercall_controls: HvNestedHypercallControls::new()
            .with_inter_partition_communication(true),
    };
    assert_eq!(control.as_bytes(), &[1, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        HvNestedEnlightenmentsFeatures::new()
            .with_virtualization_exception(true)
            .into_bits(),
        2
    );

    let mut page = HvPartitionAssistPage::new_zeroed();
    page.tlb_lock_count = 2;
    assert_eq!(&page.as_bytes()[0..4], &2u32.to_le_bytes());
}

#[test]
fn reenlightenment_and_tsc_emulation_bits() {
    let control = HvReenlightenmentControl::new()
        .with_vector(0xEC)
        .with_enabled(true)
        .with_target_vp(5);
    assert_eq!(control.into_bits(), 0x0000_0005_0001_00EC);
    assert_eq!(
        HvTscEmulationControl::new().with_enabled(true).into_bits(),
        1
    );
    let status = HvTscEmulationStatus::from_bits(0xFFFF_FFFF_FFFF_FFFF).with_in_progress(false);
    assert_eq!(
        status.into_bits(),
        0xFFFF_FFFF_FFFF_FFFE,
        "RsvdP bits are preserved"
    );
}

#[test]
fn flush_inputs_have_the_tlfs_layout() {
    let input = HvFlushGuestPhysicalAddressSpaceInput {
        address_space: 0x0000_0001_2345_6000,
        flags: 0,
    };
    let mut expected = [0u8; 16];
    expected[0..8].copy_from_slice(&0x0000_0001_2345_6000u64.to_le_bytes());
    assert_eq!(input.as_bytes(), &expected[..]);
    assert_eq!(HV_FLUSH_GUEST_PHYSICAL_ADDRESS_LIST_MAX_REPS, 510);
    assert_eq!(HV_MAX_FLUSH_PAGES, 2048);
}

#[test]
fn gpa_page_ranges_encode_count_minus_one() {
    let range = HvGpaPageRange::pages(0x12345, 2048).unwrap();
    assert_eq!(range.into_bits(), 0x1234_57FF);
    assert_eq!(range.page_count(), 2048);
    assert_eq!(HvGpaPageRange::pages(0, 1).unwrap().into_bits(), 0);
    assert_eq!(
        HvGpaPageRange::pages(0x10, 3).unwrap().into_bits(),
        0x1_0002
    );
    assert_eq!(
        HvGpaPageRange::pages(0, 0),
        Err(HvGpaRangeError::PageCountOutOfRange(0))
    );
    assert_eq!(
        HvGpaPageRange::pages(0, 2049),
        Err(HvGpaRangeError::PageCountOutOfRange(2049))
    );
    assert_eq!(
        HvGpaPageRange::pages(1 << 52, 1),
        Err(HvGpaRangeError::PageNumberOutOfRange(1 << 52))
    );
    assert!(HvGpaPageRange::pages(HvGpaPageRange::MAX_PFN, 1).is_ok());
    assert_eq!(range.as_large(), None);
}

#[test]
fn large_gpa_page_ranges() {
    let one_gb = HvGpaPageRangePageSize::HvGpaPageRangePageSize1Gb;
    let range = HvGpaLargePageRange::pages(0x200, one_gb, 4).unwrap();
    assert_eq!(range.into_bits(), (0x200 << 21) | (1 << 12) | (1 << 11) | 3);
    assert_eq!(range.page_count(), 4);
    assert_eq!(range.page_size(), one_gb);
    let entry = HvGpaPageRange::from(range);
    assert!(entry.large_page());
    assert_eq!(entry.as_large(), Some(range));
    assert_eq!(
        HvGpaLargePageRange::pages(1 << 43, one_gb, 1),
        Err(HvGpaRangeError::PageNumberOutOfRange(1 << 43))
    );
    assert_eq!(
        HvGpaLargePageRange::pages(0, HvGpaPageRangePageSize::new(2), 1),
        Err(HvGpaRangeError::InvalidPageSize(2))
    );
    assert_eq!(
        HvGpaLargePageRange::pages(0, one_gb, 0),
        Err(HvGpaRangeError::PageCountOutOfRange(0))
    );
}

proptest! {
    #[test]
    fn gpa_page_range_constructor_round_trips(base in 0u64..(1 << 52), count in 1u64..=2048) {
        let range = HvGpaPageRange::pages(base, count).unwrap();
        prop_assert_eq!(range.base_pfn(), base);
        prop_assert_eq!(range.page_count(), count);
        prop_assert!(!range.large_page());
    }

    #[test]
    fn large_gpa_page_range_constructor_round_trips(
        base in 0u64..(1 << 43),
        count in 1u64..=2048,
        size in 0u8..=1,
    ) {
        let page_size = HvGpaPageRangePageSize::new(size);
        let range = HvGpaLargePageRange::pages(base, page_size, count).unwrap();
        prop_assert_eq!(range.base_large_pfn(), base);
        prop_assert_eq!(range.page_count(), count);
        prop_assert_eq!(range.page_size(), page_size);
        prop_assert_eq!(range.into_bits() & HvGpaLargePageRange::RESERVED_MASK, 0);
    }
}
