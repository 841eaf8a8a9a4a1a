//! Tests of the SynIC definitions (TLFS 11, 13): bit positions, reserved masks, wire
//! layouts, round trips and decoding of hand-built message bytes.

use core::mem::offset_of;

use hv_defs::synic::*;
use hv_defs::vp::HvX64SegmentRegister;
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
                let again = <$ty>::read_from_bytes(value.as_bytes()).unwrap();
                prop_assert_eq!(again.as_bytes(), &bytes[..]);
            }
        }
    };
}

// TLFS-given sizes (11.9, 11.10.4, 11.10.5, 11.10.9, 11.11, 13.2, 13.3.1).
const _: () = assert!(size_of::<HvMessageHeader>() == 16);
const _: () = assert!(size_of::<HvMessage>() == 256);
const _: () = assert!(size_of::<HvMessagePage>() == 4096);
const _: () = assert!(size_of::<HvSynicEventFlags>() == 256);
const _: () = assert!(size_of::<HvSynicEventFlagsPage>() == 4096);
const _: () = assert!(size_of::<HvMonitorPage>() == 4096);
const _: () = assert!(size_of::<HvPostMessageInput>() == 256);
const _: () = assert!(size_of::<HvSignalEventInput>() == 8);
const _: () = assert!(size_of::<HvTimerMessagePayload>() == 24);
const _: () = assert!(size_of::<HvX64InterceptMessageHeader>() == 40);
const _: () = assert!(size_of::<HvX64MemoryInterceptMessage>() == 80);
const _: () = assert!(offset_of!(HvMessage, payload) == 16);
const _: () = assert!(offset_of!(HvPostMessageInput, payload) == 16);
const _: () = assert!(offset_of!(HvMonitorPage, latency) == 576);
const _: () = assert!(offset_of!(HvMonitorPage, parameter) == 1088);
const _: () = assert!(HV_MESSAGE_MAX_PAYLOAD_QWORD_COUNT * 8 == HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT);
const _: () = assert!(HV_EVENT_FLAGS_BYTE_COUNT * 8 == HV_EVENT_FLAGS_COUNT);

bitfield_suite!(
    scontrol,
    HvSynicScontrol,
    u64,
    HvSynicScontrol::RESERVED_MASK,
    [(enable, with_enable)]
);
bitfield_suite!(
    sversion,
    HvSynicSversion,
    u64,
    HvSynicSversion::RESERVED_MASK,
    [(version, with_version)]
);
bitfield_suite!(
    simp,
    HvSynicSimp,
    u64,
    HvSynicSimp::RESERVED_MASK,
    [(enable, with_enable), (base_gpfn, with_base_gpfn)]
);
bitfield_suite!(
    siefp,
    HvSynicSiefp,
    u64,
    HvSynicSiefp::RESERVED_MASK,
    [(enable, with_enable), (base_gpfn, with_base_gpfn)]
);
bitfield_suite!(
    sint,
    HvSynicSint,
    u64,
    HvSynicSint::RESERVED_MASK,
    [
        (vector, with_vector),
        (masked, with_masked),
        (auto_eoi, with_auto_eoi),
        (polling, with_polling),
        (as_intercept, with_as_intercept),
        (proxy, with_proxy),
    ]
);
bitfield_suite!(
    message_flags,
    HvMessageFlags,
    u8,
    HvMessageFlags::RESERVED_MASK,
    [(message_pending, with_message_pending)]
);
bitfield_suite!(
    port_id,
    HvPortId,
    u32,
    HvPortId::RESERVED_MASK,
    [(id, with_id)]
);
bitfield_suite!(
    connection_id,
    HvConnectionId,
    u32,
    HvConnectionId::RESERVED_MASK,
    [(id, with_id)]
);
bitfield_suite!(
    monitor_trigger_state,
    HvMonitorTriggerState,
    u32,
    HvMonitorTriggerState::RESERVED_MASK,
    [(group_enable, with_group_enable)]
);
bitfield_suite!(
    execution_state,
    HvX64VpExecutionState,
    u16,
    HvX64VpExecutionState::RESERVED_MASK,
    [
        (cpl, with_cpl),
        (cr0_pe, with_cr0_pe),
        (cr0_am, with_cr0_am),
        (efer_lma, with_efer_lma),
        (debug_active, with_debug_active),
        (interruption_pending, with_interruption_pending),
        (vtl, with_vtl),
        (enclave_mode, with_enclave_mode),
        (interrupt_shadow, with_interrupt_shadow),
        (
            virtualization_fault_active,
            with_virtualization_fault_active
        ),
    ]
);
bitfield_suite!(
    instruction_info,
    HvX64InterceptInstructionInfo,
    u8,
    0u8,
    [
        (instruction_length, with_instruction_length),
        (cr8, with_cr8)
    ]
);
bitfield_suite!(
    memory_access_info,
    HvX64MemoryAccessInfo,
    u8,
    HvX64MemoryAccessInfo::RESERVED_MASK,
    [
        (gva_valid, with_gva_valid),
        (gva_gpa_valid, with_gva_gpa_valid),
        (hypercall_output_pending, with_hypercall_output_pending),
        (tlb_locked, with_tlb_locked),
        (supervisor_shadow_stack, with_supervisor_shadow_stack),
    ]
);
bitfield_suite!(
    io_port_access_info,
    HvX64IoPortAccessInfo,
    u8,
    HvX64IoPortAccessInfo::RESERVED_MASK,
    [
        (access_size, with_access_size),
        (string_op, with_string_op),
        (rep_prefix, with_rep_prefix)
    ]
);
bitfield_suite!(
    exception_info,
    HvX64ExceptionInfo,
    u8,
    HvX64ExceptionInfo::RESERVED_MASK,
    [
        (error_code_valid, with_error_code_valid),
        (software_exception, with_software_exception)
    ]
);

wire_round_trip!(message_header_round_trips, HvMessageHeader, 256);
wire_round_trip!(message_round_trips, HvMessage, 256);
wire_round_trip!(message_page_round_trips, HvMessagePage, 32);
wire_round_trip!(event_flags_round_trip, HvSynicEventFlags, 256);
wire_round_trip!(event_flags_page_round_trips, HvSynicEventFlagsPage, 32);
wire_round_trip!(post_message_input_round_trips, HvPostMessageInput, 256);
wire_round_trip!(signal_event_input_round_trips, HvSignalEventInput, 256);
wire_round_trip!(timer_payload_round_trips, HvTimerMessagePayload, 256);
wire_round_trip!(
    monitor_trigger_group_round_trips,
    HvMonitorTriggerGroup,
    256
);
wire_round_trip!(monitor_parameter_round_trips, HvMonitorParameter, 256);
wire_round_trip!(monitor_page_round_trips, HvMonitorPage, 32);
wire_round_trip!(
    intercept_header_round_trips,
    HvX64InterceptMessageHeader,
    256
);
wire_round_trip!(
    memory_intercept_round_trips,
    HvX64MemoryInterceptMessage,
    256
);

#[test]
fn synic_register_fields_sit_on_the_tlfs_bits() {
    assert_eq!(HvSynicScontrol::new().with_enable(true).into_bits(), 1);
    assert_eq!(
        HvSynicSversion::new()
            .with_version(HV_SYNIC_VERSION_1)
            .into_bits(),
        1
    );
    let simp = HvSynicSimp::new()
        .with_enable(true)
        .with_base_gpfn(0xA_BCDE);
    assert_eq!(simp.into_bits(), 0xABCD_E001);
    let siefp = HvSynicSiefp::new().with_base_gpfn(HvSynicSiefp::MAX_GPFN);
    assert_eq!(siefp.into_bits(), 0xFFFF_FFFF_FFFF_F000);

    assert_eq!(HvSynicSint::new().with_vector(0xFF).into_bits(), 0xFF);
    assert_eq!(HvSynicSint::new().with_masked(true).into_bits(), 1 << 16);
    assert_eq!(HvSynicSint::new().with_auto_eoi(true).into_bits(), 1 << 17);
    assert_eq!(HvSynicSint::new().with_polling(true).into_bits(), 1 << 18);
    assert_eq!(
        HvSynicSint::new().with_as_intercept(true).into_bits(),
        1 << 19
    );
    assert_eq!(HvSynicSint::new().with_proxy(true).into_bits(), 1 << 20);

    assert_eq!(
        HvMessageFlags::new().with_message_pending(true).into_bits(),
        1
    );
    assert_eq!(HvPortId::new().with_id(0xFF_FFFF).into_bits(), 0x00FF_FFFF);
    assert_eq!(
        HvMonitorTriggerState::new()
            .with_group_enable(0xF)
            .into_bits(),
        0xF
    );
}

#[test]
fn rsvdp_bits_survive_a_read_modify_write() {
    // A SINT as read back with preserved bits set; unmasking must keep them (TLFS 11.8.5).
    let read = HvSynicSint::from_bits(0xDEAD_0000_0001_AB30);
    let written = read.with_masked(false);
    assert_eq!(written.into_bits(), 0xDEAD_0000_0000_AB30);
    let simp = HvSynicSimp::from_bits(0x0000_1234_5000_0FFE).with_enable(true);
    assert_eq!(simp.into_bits(), 0x0000_1234_5000_0FFF);
}

#[test]
fn sint_vectors_below_16_are_rejected() {
    assert_eq!(
        HvSynicSint::for_vector(15),
        Err(HvSynicError::InvalidVector(15))
    );
    assert_eq!(
        HvSynicSint::for_vector(0),
        Err(HvSynicError::InvalidVector(0))
    );
    let sint = HvSynicSint::for_vector(16).unwrap();
    assert_eq!(sint.into_bits(), 0x10);
    assert!(!sint.masked());
    assert!(HvSynicSint::for_vector(255).unwrap().has_valid_vector());
    assert!(!HvSynicSint::new().has_valid_vector());
    assert!((16..=255u8).all(is_valid_sint_vector));
    assert!(!(0..16u8).any(is_valid_sint_vector));
}

#[test]
fn sint_indices_are_bounded() {
    assert_eq!(HvSint::new(16), Err(HvSynicError::SintOutOfRange(16)));
    assert_eq!(
        HvSint::new(u32::MAX),
        Err(HvSynicError::SintOutOfRange(u32::MAX))
    );
    assert_eq!(HvSint::new(15).unwrap().index(), 15);
    assert_eq!(
        HvSint::new(HV_SYNIC_INTERCEPTION_SINT_INDEX),
        Ok(HvSint::SINT0)
    );
    let all: Vec<u32> = HvSint::all().map(HvSint::get).collect();
    assert_eq!(all, (0..16).collect::<Vec<_>>());
}

#[test]
fn message_types_carry_the_tlfs_values() {
    let expected = [
        (HvMessageType::HvMessageTypeNone, 0x0000_0000),
        (HvMessageType::HvMessageTypeUnmappedGpa, 0x8000_0000),
        (HvMessageType::HvMessageTypeGpaIntercept, 0x8000_0001),
        (HvMessageType::HvMessageTypeTimerExpired, 0x8000_0010),
        (
            HvMessageType::HvMessageTypeInvalidVpRegisterValue,
            0x8000_0020,
        ),
        (
            HvMessageType::HvMessageTypeUnrecoverableException,
            0x8000_0021,
        ),
        (HvMessageType::HvMessageTypeUnsupportedFeature, 0x8000_0022),
        (HvMessageType::HvMessageTypeTlbPageSizeMismatch, 0x8000_0023),
        (
            HvMessageType::HvMessageTypeEventLogBuffersComplete,
            0x8000_0040,
        ),
        (HvMessageType::HvMessageTypeHypercallIntercept, 0x8000_0050),
        (HvMessageType::HvMessageTypeX64IoPortIntercept, 0x8001_0000),
        (HvMessageType::HvMessageTypeMsrIntercept, 0x8001_0001),
        (HvMessageType::HvMessageTypeX64CpuidIntercept, 0x8001_0002),
        (HvMessageType::HvMessageTypeExceptionIntercept, 0x8001_0003),
        (HvMessageType::HvMessageTypeX64ApicEoi, 0x8001_0004),
        (HvMessageType::HvMessageTypeX64LegacyFpError, 0x8001_0005),
        (HvMessageType::HvMessageTypeRegisterIntercept, 0x8001_0006),
    ];
    for (message_type, value) in expected {
        assert_eq!(message_type.get(), value, "{message_type:?}");
    }
    let mut values: Vec<u32> = HvMessageType::ALL.iter().map(|t| t.get()).collect();
    values.sort_unstable();
    values.dedup();
    assert_eq!(
        values.len(),
        HvMessageType::ALL.len(),
        "message type values are unique"
    );
    assert!(HvMessageType::ALL.iter().skip(1).all(|t| t.is_hypervisor()));
    assert_eq!(
        format!("{:?}", HvMessageType::new(0x1234)),
        "HvMessageType(0x1234)"
    );
}

#[test]
fn only_nonzero_guest_types_can_be_posted() {
    assert!(!HvMessageType::HvMessageTypeNone.is_guest_postable());
    assert!(!HvMessageType::HvMessageTypeTimerExpired.is_guest_postable());
    assert!(HvMessageType::new(1).is_guest_postable());
    assert!(HvMessageType::new(0x7FFF_FFFF).is_guest_postable());
    assert!(!HvMessageType::new(HV_MESSAGE_TYPE_HYPERVISOR_MASK).is_guest_postable());
}

/// A hand-built timer-expired message as the hypervisor writes it into SINT slot.
fn timer_message_bytes(payload_size: u8) -> [u8; 256] {
    let mut bytes = [0u8; 256];
    bytes[0..4].copy_from_slice(&0x8000_0010u32.to_le_bytes());
    bytes[4] = payload_size;
    bytes[5] = 0x01; // message pending
    // bytes 6..16: reserved and a zero origination id (TLFS 11.10.4).
    bytes[16..20].copy_from_slice(&3u32.to_le_bytes());
    bytes[24..32].copy_from_slice(&0x0123_4567_89AB_CDEFu64.to_le_bytes());
    bytes[32..40].copy_from_slice(&0x0123_4567_89AB_D000u64.to_le_bytes());
    bytes
}

#[test]
fn a_timer_expired_message_decodes() {
    let bytes = timer_message_bytes(24);
    let message = HvMessage::read_from_bytes(&bytes[..]).unwrap();
    assert_eq!(
        message.header.message_type,
        HvMessageType::HvMessageTypeTimerExpired
    );
    assert_eq!(message.header.payload_size, 24);
    assert!(message.header.message_flags.message_pending());
    assert_eq!(message.header.origination_id, 0);
    assert!(!message.is_empty());
    let payload: HvTimerMessagePayload = message.read_payload().unwrap();
    assert_eq!(
        payload,
        HvTimerMessagePayload {
            timer_index: 3,
            rsvd: 0,
            expiration_time: 0x0123_4567_89AB_CDEF,
            delivery_time: 0x0123_4567_89AB_D000,
        }
    );
    assert_eq!(message.payload().unwrap().len(), 24);
}

#[test]
fn short_or_oversized_payloads_are_errors_not_panics() {
    let short = HvMessage::read_from_bytes(&timer_message_bytes(23)[..]).unwrap();
    assert_eq!(
        short.read_payload::<HvTimerMessagePayload>(),
        Err(HvSynicError::PayloadTooSmall {
            needed: 24,
            size: 23
        })
    );
    for size in 241..=255u8 {
        let bogus = HvMessage::read_from_bytes(&timer_message_bytes(size)[..]).unwrap();
        assert_eq!(
            bogus.payload(),
            Err(HvSynicError::PayloadTooLarge(usize::from(size)))
        );
        assert_eq!(
            bogus.read_payload::<HvTimerMessagePayload>(),
            Err(HvSynicError::PayloadTooLarge(usize::from(size)))
        );
    }
    let full = HvMessage::read_from_bytes(&timer_message_bytes(240)[..]).unwrap();
    assert_eq!(full.payload().unwrap().len(), 240);
}

#[test]
fn message_constructor_bounds_the_payload() {
    let message = HvMessage::new(HvMessageType::new(7), 0x42, &[0xAA; 240]).unwrap();
    assert_eq!(message.header.payload_size, 240);
    assert_eq!(message.header.port().id(), 0x42);
    assert_eq!(message.header.sender(), 0x42);
    assert_eq!(
        HvMessage::new(HvMessageType::new(7), 0, &[0; 241]),
        Err(HvSynicError::PayloadTooLarge(241))
    );
    assert!(HvMessage::default().is_empty());
    assert_eq!(HvMessage::EMPTY.as_bytes(), &[0u8; 256][..]);
}

#[test]
fn a_post_message_input_at_the_240_byte_limit_has_the_tlfs_layout() {
    let payload: Vec<u8> = (0..240u32).map(|i| i as u8).collect();
    let connection = HvConnectionId::new().with_id(0x00AB_CDEF);
    let input = HvPostMessageInput::new(connection, HvMessageType::new(1), &payload).unwrap();
    let bytes = input.as_bytes();
    assert_eq!(bytes.len(), 256);
    assert_eq!(&bytes[0..4], &0x00AB_CDEFu32.to_le_bytes());
    assert_eq!(&bytes[4..8], &[0; 4]);
    assert_eq!(&bytes[8..12], &1u32.to_le_bytes());
    assert_eq!(&bytes[12..16], &240u32.to_le_bytes());
    assert_eq!(&bytes[16..256], &payload[..]);

    // The host side reads the same bytes back.
    let read = HvPostMessageInput::read_from_bytes(bytes).unwrap();
    assert_eq!(read.payload().unwrap(), &payload[..]);
}

#[test]
fn post_message_inputs_outside_the_tlfs_rules_are_rejected() {
    let connection = HvConnectionId::new().with_id(1);
    assert_eq!(
        HvPostMessageInput::new(connection, HvMessageType::new(1), &[0; 241]),
        Err(HvSynicError::PayloadTooLarge(241))
    );
    assert_eq!(
        HvPostMessageInput::new(connection, HvMessageType::HvMessageTypeNone, &[]),
        Err(HvSynicError::InvalidPostedMessageType(
            HvMessageType::HvMessageTypeNone
        ))
    );
    assert_eq!(
        HvPostMessageInput::new(connection, HvMessageType::HvMessageTypeTimerExpired, &[]),
        Err(HvSynicError::InvalidPostedMessageType(
            HvMessageType::HvMessageTypeTimerExpired
        ))
    );
    let mut bytes = [0u8; 256];
    bytes[12..16].copy_from_slice(&241u32.to_le_bytes());
    let hostile = HvPostMessageInput::read_from_bytes(&bytes[..]).unwrap();
    assert_eq!(hostile.payload(), Err(HvSynicError::PayloadTooLarge(241)));
    bytes[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    let hostile = HvPostMessageInput::read_from_bytes(&bytes[..]).unwrap();
    assert!(hostile.payload().is_err());
}

#[test]
fn signal_event_fast_form_packs_into_rdx() {
    let input = HvSignalEventInput {
        connection_id: HvConnectionId::new().with_id(0x12_3456),
        flag_number: 0xBEEF,
        rsvd: 0,
    };
    assert_eq!(input.to_fast(), 0x0000_BEEF_0012_3456);
    assert_eq!(input.to_fast().to_le_bytes(), input.as_bytes());
    assert_eq!(HvSignalEventInput::from_fast(0x0000_BEEF_0012_3456), input);
}

proptest! {
    #[test]
    fn signal_event_fast_form_round_trips(rdx in any::<u64>()) {
        let input = HvSignalEventInput::from_fast(rdx);
        prop_assert_eq!(input.to_fast(), rdx);
        prop_assert_eq!(input.as_bytes(), &rdx.to_le_bytes()[..]);
    }

    #[test]
    fn post_message_payloads_up_to_240_bytes_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 0..=240),
        id in 0u32..0x0100_0000,
        message_type in 1u32..0x8000_0000,
    ) {
        let input = HvPostMessageInput::new(
            HvConnectionId::new().with_id(id),
            HvMessageType::new(message_type),
            &payload,
        ).unwrap();
        prop_assert_eq!(input.payload_size as usize, payload.len());
        let read = HvPostMessageInput::read_from_bytes(input.as_bytes()).unwrap();
        prop_assert_eq!(read.payload().unwrap(), &payload[..]);
        prop_assert!(read.payload[payload.len()..].iter().all(|&b| b == 0));
    }

    #[test]
    fn event_flags_set_and_clear_the_tlfs_bit(flag in 0u32..2048) {
        let mut flags = HvSynicEventFlags::default();
        prop_assert_eq!(flags.set(flag), Ok(false));
        prop_assert_eq!(flags.set(flag), Ok(true));
        prop_assert_eq!(flags.flags[(flag / 8) as usize], 1 << (flag % 8));
        prop_assert_eq!(flags.flags.iter().filter(|&&b| b != 0).count(), 1);
        prop_assert_eq!(flags.is_set(flag), Ok(true));
        prop_assert_eq!(flags.clear(flag), Ok(true));
        prop_assert_eq!(flags.is_set(flag), Ok(false));
        prop_assert_eq!(flags, HvSynicEventFlags::default());
    }

    #[test]
    fn event_flags_beyond_2047_are_errors(flag in 2048u32..) {
        let mut flags = HvSynicEventFlags::default();
        prop_assert_eq!(flags.is_set(flag), Err(HvSynicError::EventFlagOutOfRange(flag)));
        prop_assert_eq!(flags.set(flag), Err(HvSynicError::EventFlagOutOfRange(flag)));
        prop_assert_eq!(flags.clear(flag), Err(HvSynicError::EventFlagOutOfRange(flag)));
    }
}

#[test]
fn pages_index_by_sint() {
    let mut page = HvMessagePage::new_zeroed();
    let sint5 = HvSint::new(5).unwrap();
    page.slot_mut(sint5).header.message_type = HvMessageType::HvMessageTypeTimerExpired;
    assert_eq!(
        page.as_bytes()[5 * 256..5 * 256 + 4],
        0x8000_0010u32.to_le_bytes()
    );
    assert!(page.slot(HvSint::SINT0).is_empty());

    let mut flags = HvSynicEventFlagsPage::new_zeroed();
    flags.flags_mut(HvSint::new(2).unwrap()).set(9).unwrap();
    assert_eq!(flags.as_bytes()[2 * 256 + 1], 0b10);
    assert_eq!(flags.flags(HvSint::new(2).unwrap()).is_set(9), Ok(true));
}

#[test]
fn monitor_page_accessors_are_bounded() {
    let mut bytes = [0u8; 4096];
    // Group 1, trigger 2: latency at 576 + (1 * 32 + 2) * 2, parameter at 1088 + 34 * 8.
    bytes[576 + 68..576 + 70].copy_from_slice(&500u16.to_le_bytes());
    bytes[1088 + 272..1088 + 276].copy_from_slice(&0x0000_0042u32.to_le_bytes());
    bytes[1088 + 276..1088 + 278].copy_from_slice(&7u16.to_le_bytes());
    bytes[0] = 0b0010;
    let page = HvMonitorPage::read_from_bytes(&bytes[..]).unwrap();
    assert_eq!(page.trigger_state.group_enable(), 0b0010);
    assert_eq!(page.latency(1, 2), Ok(500));
    let parameter = page.parameter(1, 2).unwrap();
    assert_eq!(parameter.connection_id.id(), 0x42);
    assert_eq!(parameter.flag_number, 7);
    assert_eq!(
        page.latency(4, 0),
        Err(HvSynicError::MonitorTriggerOutOfRange {
            group: 4,
            trigger: 0
        })
    );
    assert_eq!(
        page.parameter(0, 32),
        Err(HvSynicError::MonitorTriggerOutOfRange {
            group: 0,
            trigger: 32
        })
    );
}

/// A VTL0 write to a page VTL1 protected, as the intercept message VTL1 receives.
#[test]
fn a_vtl0_write_violation_decodes() {
    let mut payload = [0u8; 80];
    payload[0..4].copy_from_slice(&2u32.to_le_bytes()); // VP 2
    payload[4] = 0x03; // instruction length 3, CR8 0
    payload[5] = 1; // write
    payload[6..8].copy_from_slice(&0b0000_0000_0001_0100u16.to_le_bytes()); // CR0.PE, EFER.LMA
    payload[8..16].copy_from_slice(&0u64.to_le_bytes()); // CS base
    payload[16..20].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes()); // CS limit
    payload[20..22].copy_from_slice(&0x0010u16.to_le_bytes()); // CS selector
    payload[22..24].copy_from_slice(&0xA09Bu16.to_le_bytes()); // CS attributes
    payload[24..32].copy_from_slice(&0xFFFF_8000_0010_0000u64.to_le_bytes()); // RIP
    payload[32..40].copy_from_slice(&0x0000_0000_0000_0202u64.to_le_bytes()); // RFLAGS
    payload[40..44].copy_from_slice(&6u32.to_le_bytes()); // write-back
    payload[44] = 3; // instruction bytes
    payload[45] = 0b11; // GVA valid, GVA and GPA valid
    payload[48..56].copy_from_slice(&0xFFFF_8000_0020_0010u64.to_le_bytes());
    payload[56..64].copy_from_slice(&0x0000_0000_0020_0010u64.to_le_bytes());
    payload[64..67].copy_from_slice(&[0x89, 0x07, 0xC3]);

    let message = HvMessage::new(HvMessageType::HvMessageTypeGpaIntercept, 0, &payload).unwrap();
    let bytes = message.as_bytes();
    let slot = HvMessage::read_from_bytes(bytes).unwrap();
    let intercept: HvX64MemoryInterceptMessage = slot.read_payload().unwrap();

    assert_eq!(intercept.header.vp_index, 2);
    assert_eq!(intercept.header.instruction_info.instruction_length(), 3);
    assert_eq!(
        intercept.header.intercept_access_type,
        HvInterceptAccessType::HvInterceptAccessWrite
    );
    let state = intercept.header.execution_state;
    assert!(state.cr0_pe() && state.efer_lma());
    assert_eq!(state.cpl(), 0);
    assert_eq!(state.vtl(), 0);
    assert_eq!(
        intercept.header.cs_segment,
        HvX64SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: 0x10,
            attributes: 0xA09B,
        }
    );
    assert_eq!(intercept.header.rip, 0xFFFF_8000_0010_0000);
    assert_eq!(intercept.header.rflags, 0x202);
    assert_eq!(intercept.cache_type, HvCacheType::HvCacheTypeWriteBack);
    assert!(intercept.memory_access_info.gva_valid());
    assert!(intercept.memory_access_info.gva_gpa_valid());
    assert_eq!(intercept.guest_virtual_address, 0xFFFF_8000_0020_0010);
    assert_eq!(intercept.guest_physical_address, 0x0020_0010);
    assert_eq!(intercept.instruction(), &[0x89, 0x07, 0xC3]);
}

#[test]
fn instruction_bytes_are_bounded_whatever_the_count() {
    let mut message = HvX64MemoryInterceptMessage::new_zeroed();
    message.instruction_byte_count = 200;
    assert_eq!(message.instruction().len(), 16);
}

#[test]
fn errors_display_their_cause() {
    assert_eq!(
        HvSynicError::PayloadTooLarge(241).to_string(),
        "message payload of 241 bytes exceeds 240 bytes"
    );
    assert_eq!(
        HvSynicError::InvalidVector(3).to_string(),
        "SINT vector 3 is below the first valid vector 16"
    );
}
