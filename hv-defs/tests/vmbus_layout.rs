//! VMBus layouts against the public sources: sizes, offsets, wire codes, the 240-byte
//! message limit, the GPADL page-number arithmetic and the small helpers.

use core::mem::offset_of;
use hv_defs::vmbus::*;
use zerocopy::{FromBytes, FromZeros, IntoBytes};

// Compile-time sizes of every wire structure, as the sources give them (Linux `hyperv.h`
// packed structs; OpenVMM body size + 8-byte header).
const _: () = {
    assert!(size_of::<Guid>() == 16);
    assert!(size_of::<VmbusMessageHeader>() == 8);
    assert!(size_of::<VmbusOfferChannel>() == 196);
    assert!(size_of::<VmbusRescindChannelOffer>() == 12);
    assert!(size_of::<VmbusRequestOffers>() == 8);
    assert!(size_of::<VmbusAllOffersDelivered>() == 8);
    assert!(size_of::<VmbusOpenChannel>() == 148);
    assert!(size_of::<VmbusOpenChannel2>() == 156);
    assert!(size_of::<VmbusOpenResult>() == 20);
    assert!(size_of::<VmbusCloseChannel>() == 12);
    assert!(size_of::<VmbusGpadlHeader>() == 20);
    assert!(size_of::<VmbusGpadlBody>() == 16);
    assert!(size_of::<VmbusGpadlCreated>() == 20);
    assert!(size_of::<VmbusGpadlTeardown>() == 16);
    assert!(size_of::<VmbusGpadlTorndown>() == 12);
    assert!(size_of::<VmbusRelIdReleased>() == 12);
    assert!(size_of::<VmbusInitiateContact>() == 40);
    assert!(size_of::<VmbusInitiateContact2>() == 56);
    assert!(size_of::<VmbusVersionResponse>() == 16);
    assert!(size_of::<VmbusVersionResponse2>() == 20);
    assert!(size_of::<VmbusUnload>() == 8);
    assert!(size_of::<VmbusUnloadResponse>() == 8);
    assert!(size_of::<VmbusOpenReservedChannel>() == 28);
    assert!(size_of::<VmbusCloseReservedChannel>() == 20);
    assert!(size_of::<VmbusCloseReservedChannelResponse>() == 12);
    assert!(size_of::<VmbusTlConnectRequest>() == 40);
    assert!(size_of::<VmbusTlConnectRequest2>() == 56);
    assert!(size_of::<VmbusModifyChannel>() == 16);
    assert!(size_of::<VmbusTlConnectResult>() == 44);
    assert!(size_of::<VmbusModifyChannelResponse>() == 16);
    assert!(size_of::<VmbusModifyConnection>() == 24);
    assert!(size_of::<VmbusModifyConnectionResponse>() == 12);
    assert!(size_of::<VmbusPause>() == 8);
    assert!(size_of::<VmbusPauseResponse>() == 8);
    assert!(size_of::<VmbusResume>() == 8);
    assert!(size_of::<VmbusGpaRange>() == 8);
    assert!(size_of::<VmbusRingControl>() == 4096);
    assert!(size_of::<VmbusRingTrailer>() == 8);
    assert!(size_of::<VmbusPacketDescriptor>() == 16);
    assert!(size_of::<VmbusTransferPageRange>() == 8);
    assert!(size_of::<VmbusTransferPageHeader>() == 8);
    assert!(size_of::<VmbusGpaDirectHeader>() == 8);
    assert!(size_of::<VmbusGpadlPacketHeader>() == 8);
    assert!(size_of::<VmbusTransferPageSetHeader>() == 8);
    assert!(size_of::<VmbusAdditionalDataHeader>() == 16);
};

/// Checks one message structure: its type code, its header constant, that it fits in a
/// SynIC payload, and that its first bytes on the wire are the little-endian type code.
fn check_message<T: VmbusChannelMessage>(code: u32, size: usize) {
    assert_eq!(
        T::MESSAGE_TYPE.get(),
        code,
        "{}",
        core::any::type_name::<T>()
    );
    assert_eq!(T::HEADER, VmbusMessageHeader::new(T::MESSAGE_TYPE));
    assert_eq!(size_of::<T>(), size, "{}", core::any::type_name::<T>());
    assert!(size_of::<T>() <= VMBUS_MAX_MESSAGE_SIZE);
    let mut bytes = [0xAAu8; VMBUS_MAX_MESSAGE_SIZE];
    T::HEADER
        .write_to_prefix(&mut bytes[..])
        .expect("a header fits in 240 bytes");
    let Ok((message, _)) = T::read_from_prefix(&bytes[..]) else {
        panic!("{} does not fit in 240 bytes", core::any::type_name::<T>());
    };
    assert_eq!(&message.as_bytes()[..4], &code.to_le_bytes());
    assert_eq!(&message.as_bytes()[4..8], &[0, 0, 0, 0]);
}

#[test]
fn every_channel_message_has_its_type_and_fits_in_a_synic_payload() {
    check_message::<VmbusOfferChannel>(1, 196);
    check_message::<VmbusRescindChannelOffer>(2, 12);
    check_message::<VmbusRequestOffers>(3, 8);
    check_message::<VmbusAllOffersDelivered>(4, 8);
    check_message::<VmbusOpenChannel>(5, 148);
    check_message::<VmbusOpenChannel2>(5, 156);
    check_message::<VmbusOpenResult>(6, 20);
    check_message::<VmbusCloseChannel>(7, 12);
    check_message::<VmbusGpadlHeader>(8, 20);
    check_message::<VmbusGpadlBody>(9, 16);
    check_message::<VmbusGpadlCreated>(10, 20);
    check_message::<VmbusGpadlTeardown>(11, 16);
    check_message::<VmbusGpadlTorndown>(12, 12);
    check_message::<VmbusRelIdReleased>(13, 12);
    check_message::<VmbusInitiateContact>(14, 40);
    check_message::<VmbusInitiateContact2>(14, 56);
    check_message::<VmbusVersionResponse>(15, 16);
    check_message::<VmbusVersionResponse2>(15, 20);
    check_message::<VmbusUnload>(16, 8);
    check_message::<VmbusUnloadResponse>(17, 8);
    check_message::<VmbusOpenReservedChannel>(18, 28);
    check_message::<VmbusCloseReservedChannel>(19, 20);
    check_message::<VmbusCloseReservedChannelResponse>(20, 12);
    check_message::<VmbusTlConnectRequest>(21, 40);
    check_message::<VmbusTlConnectRequest2>(21, 56);
    check_message::<VmbusModifyChannel>(22, 16);
    check_message::<VmbusTlConnectResult>(23, 44);
    check_message::<VmbusModifyChannelResponse>(24, 16);
    check_message::<VmbusModifyConnection>(25, 24);
    check_message::<VmbusModifyConnectionResponse>(26, 12);
    check_message::<VmbusPause>(27, 8);
    check_message::<VmbusPauseResponse>(28, 8);
    check_message::<VmbusResume>(29, 8);
}

#[test]
fn message_type_codes_match_linux_and_openvmm() {
    // Linux `enum vmbus_channel_message_type` 0..=24 (18-20 unnamed there), OpenVMM 18-20
    // and 25-29.
    let expected: &[(u32, &str)] = &[
        (0, "INVALID"),
        (1, "OFFER_CHANNEL"),
        (2, "RESCIND_CHANNEL_OFFER"),
        (3, "REQUEST_OFFERS"),
        (4, "ALL_OFFERS_DELIVERED"),
        (5, "OPEN_CHANNEL"),
        (6, "OPEN_CHANNEL_RESULT"),
        (7, "CLOSE_CHANNEL"),
        (8, "GPADL_HEADER"),
        (9, "GPADL_BODY"),
        (10, "GPADL_CREATED"),
        (11, "GPADL_TEARDOWN"),
        (12, "GPADL_TORNDOWN"),
        (13, "REL_ID_RELEASED"),
        (14, "INITIATE_CONTACT"),
        (15, "VERSION_RESPONSE"),
        (16, "UNLOAD"),
        (17, "UNLOAD_RESPONSE"),
        (18, "OPEN_RESERVED_CHANNEL"),
        (19, "CLOSE_RESERVED_CHANNEL"),
        (20, "CLOSE_RESERVED_RESPONSE"),
        (21, "TL_CONNECT_REQUEST"),
        (22, "MODIFY_CHANNEL"),
        (23, "TL_CONNECT_RESULT"),
        (24, "MODIFY_CHANNEL_RESPONSE"),
        (25, "MODIFY_CONNECTION"),
        (26, "MODIFY_CONNECTION_RESPONSE"),
        (27, "PAUSE"),
        (28, "PAUSE_RESPONSE"),
        (29, "RESUME"),
    ];
    assert_eq!(VmbusMessageType::ALL.len(), expected.len());
    for (value, (code, name)) in VmbusMessageType::ALL.iter().zip(expected) {
        assert_eq!(value.get(), *code);
        assert_eq!(value.name(), Some(*name));
    }
    assert_eq!(VmbusMessageType::new(30).name(), None);
    assert_eq!(
        format!("{:?}", VmbusMessageType::new(30)),
        "VmbusMessageType(0x1e)"
    );
}

#[test]
fn packet_type_codes_match_linux() {
    let expected: &[(u16, &str)] = &[
        (0x0, "INVALID"),
        (0x1, "SYNCH"),
        (0x2, "ADD_TRANSFER_PAGE_SET"),
        (0x3, "REMOVE_TRANSFER_PAGE_SET"),
        (0x4, "ESTABLISH_GPADL"),
        (0x5, "TEARDOWN_GPADL"),
        (0x6, "DATA_IN_BAND"),
        (0x7, "DATA_USING_TRANSFER_PAGES"),
        (0x8, "DATA_USING_GPADL"),
        (0x9, "DATA_USING_GPA_DIRECT"),
        (0xA, "CANCEL_REQUEST"),
        (0xB, "COMPLETION"),
        (0xC, "DATA_USING_ADDITIONAL_PACKETS"),
        (0xD, "ADDITIONAL_DATA"),
    ];
    assert_eq!(VmbusPacketType::ALL.len(), expected.len());
    for (value, (code, name)) in VmbusPacketType::ALL.iter().zip(expected) {
        assert_eq!(value.get(), *code);
        assert_eq!(value.name(), Some(*name));
    }
}

#[test]
fn versions_match_linux_and_split_into_major_minor() {
    let expected: &[(u16, u16, &str)] = &[
        (0, 13, "WS2008"),
        (1, 1, "WIN7"),
        (2, 4, "WIN8"),
        (3, 0, "WIN8_1"),
        (4, 0, "WIN10"),
        (4, 1, "WIN10_V4_1"),
        (5, 0, "WIN10_V5"),
        (5, 1, "WIN10_V5_1"),
        (5, 2, "WIN10_V5_2"),
        (5, 3, "WIN10_V5_3"),
        (6, 0, "V6_0"),
    ];
    assert_eq!(VmbusVersion::ALL.len(), expected.len());
    for (version, (major, minor, name)) in VmbusVersion::ALL.iter().zip(expected) {
        assert_eq!(version.major(), *major, "{name}");
        assert_eq!(version.minor(), *minor, "{name}");
        assert_eq!(version.name(), Some(*name));
        assert_eq!(VmbusVersion::from_parts(*major, *minor), *version);
        assert_eq!(version.get(), (u32::from(*major) << 16) | u32::from(*minor));
    }
    // Oldest first: the numeric order is the protocol order.
    assert!(VmbusVersion::ALL.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(VmbusVersion::WIN8.get(), 0x0002_0004);
}

#[test]
fn version_dependent_connection_conventions() {
    for &version in VmbusVersion::ALL {
        let v5 = version >= VmbusVersion::WIN10_V5;
        assert_eq!(
            version.initiate_contact_connection_id(),
            if v5 { 4 } else { 1 },
            "{version:?}"
        );
        assert_eq!(version.uses_target_info(), v5, "{version:?}");
        assert_eq!(
            version.has_channel_connection_id(),
            version != VmbusVersion::WS2008
        );
        assert_eq!(
            version.has_per_channel_event_flags(),
            version >= VmbusVersion::WIN8
        );
    }
    assert_eq!(VMBUS_MESSAGE_CONNECTION_ID, 1);
    assert_eq!(VMBUS_MESSAGE_CONNECTION_ID_4, 4);
    assert_eq!(VMBUS_MESSAGE_PORT_ID, 1);
    assert_eq!(VMBUS_EVENT_CONNECTION_ID, 2);
    assert_eq!(VMBUS_EVENT_PORT_ID, 2);
    assert_eq!(VMBUS_MONITOR_CONNECTION_ID, 3);
    assert_eq!(VMBUS_MONITOR_PORT_ID, 3);
    assert_eq!(VMBUS_MESSAGE_SINT, 2);
    assert_eq!(VMBUS_SYNIC_MESSAGE_TYPE, 1);
}

/// The largest number of 8-byte page numbers that fit after `fixed` bytes of a 240-byte
/// SynIC payload, found by counting rather than dividing.
fn most_pfns_that_fit(fixed: usize) -> usize {
    (0usize..).take_while(|n| fixed + n * 8 <= 240).count() - 1
}

#[test]
fn gpadl_page_number_limits_match_the_byte_math() {
    assert_eq!(VMBUS_MAX_MESSAGE_SIZE, 240);
    // Header message: 8 header + 4 relid + 4 gpadl + 2 buflen + 2 count = 20, one 8-byte
    // range header, then 8 bytes per page number.
    assert_eq!(
        VMBUS_GPADL_HEADER_MAX_PFNS,
        most_pfns_that_fit(8 + 4 + 4 + 2 + 2 + 8)
    );
    assert_eq!(VMBUS_GPADL_HEADER_MAX_PFNS, 26);
    // Body message: 8 header + 4 message number + 4 gpadl = 16, then page numbers.
    assert_eq!(VMBUS_GPADL_BODY_MAX_PFNS, most_pfns_that_fit(8 + 4 + 4));
    assert_eq!(VMBUS_GPADL_BODY_MAX_PFNS, 28);
    assert_eq!(VMBUS_PFN_SIZE, 8);
    // A full header message: range buffer length 8 + 26 * 8, message 20 + 216 bytes.
    let full = VmbusGpaRange::encoded_size(VMBUS_GPADL_HEADER_MAX_PFNS as u32);
    assert_eq!(full, 216);
    assert_eq!(full as usize + size_of::<VmbusGpadlHeader>(), 236);
}

#[test]
fn gpa_range_page_count() {
    let cases: &[(u32, u32, Option<u64>)] = &[
        (0, 0, Some(0)),
        (0, 4095, Some(0)),
        (1, 0, Some(1)),
        (4096, 0, Some(1)),
        (4097, 0, Some(2)),
        (1, 4095, Some(1)),
        (2, 4095, Some(2)),
        (8192, 1, Some(3)),
        (u32::MAX, 0, Some(0x10_0000)),
        (u32::MAX, 4095, Some(0x10_0001)),
        (1, 4096, None),
        (0, u32::MAX, None),
    ];
    for &(count, offset, pages) in cases {
        assert_eq!(
            VmbusGpaRange::new(count, offset).pfn_count(),
            pages,
            "count {count} offset {offset}"
        );
    }
    assert_eq!(VmbusGpaRange::encoded_size(0), 8);
    assert_eq!(VmbusGpaRange::encoded_size(3), 32);
    assert_eq!(
        VmbusGpaRange::encoded_size(u32::MAX),
        8 + 8 * u64::from(u32::MAX)
    );
}

#[test]
fn offer_fields_sit_where_linux_puts_them() {
    let mut offer = VmbusOfferChannel::new_zeroed();
    offer.header = VmbusOfferChannel::HEADER;
    offer.interface_type = HV_NIC_GUID;
    offer.interface_instance =
        Guid::new(0x0102_0304, 0x0506, 0x0708, [9, 10, 11, 12, 13, 14, 15, 16]);
    offer.flags = VmbusOfferFlags::new()
        .with_enumerate_device_interface(true)
        .with_tlnpi_provider_offer(true);
    offer.mmio_megabytes = 0x1234;
    offer.user_defined[..4].copy_from_slice(&VmbusPipeMode::MESSAGE.get().to_le_bytes());
    offer.user_defined[119] = 0x77;
    offer.sub_channel_index = 3;
    offer.child_relid = 0xDEAD_BEEF;
    offer.monitor_id = 37;
    offer.monitor_flags = VmbusOfferMonitorFlags::new().with_monitor_allocated(true);
    offer.interrupt_flags = VmbusOfferInterruptFlags::new().with_dedicated_interrupt(true);
    offer.connection_id = 0x0011_2233;

    let b = offer.as_bytes();
    assert_eq!(&b[0..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&b[8..24], &HV_NIC_GUID.to_le_bytes());
    assert_eq!(&b[24..28], &[4, 3, 2, 1]);
    assert_eq!(&b[40..56], &[0; 16]);
    assert_eq!(&b[56..58], &0x2001u16.to_le_bytes());
    assert_eq!(&b[58..60], &[0x34, 0x12]);
    assert_eq!(&b[60..64], &[4, 0, 0, 0]);
    assert_eq!(b[179], 0x77);
    assert_eq!(&b[180..182], &[3, 0]);
    assert_eq!(&b[184..188], &[0xEF, 0xBE, 0xAD, 0xDE]);
    assert_eq!(b[188], 37);
    assert_eq!(b[189], 1);
    assert_eq!(&b[190..192], &[1, 0]);
    assert_eq!(&b[192..196], &[0x33, 0x22, 0x11, 0]);
    assert_eq!(offer.pipe_mode(), VmbusPipeMode::MESSAGE);

    let back = VmbusOfferChannel::read_from_bytes(b).expect("196 bytes");
    assert_eq!(back, offer);
    assert!(back.flags.tlnpi_provider_offer() && !back.flags.named_pipe_mode());
}

#[test]
fn initiate_contact_and_version_response_layouts() {
    assert_eq!(offset_of!(VmbusInitiateContact, version_requested), 8);
    assert_eq!(offset_of!(VmbusInitiateContact, target_vcpu), 12);
    assert_eq!(
        offset_of!(VmbusInitiateContact, interrupt_page_or_target_info),
        16
    );
    assert_eq!(offset_of!(VmbusInitiateContact, monitor_page1), 24);
    assert_eq!(offset_of!(VmbusInitiateContact, monitor_page2), 32);
    assert_eq!(offset_of!(VmbusInitiateContact2, client_id), 40);

    // A 5.0 guest on SINT 2, VTL 0 asking for the client-id feature.
    let info = VmbusTargetInfo::new()
        .with_sint(VMBUS_MESSAGE_SINT)
        .with_feature_flags(VmbusFeatureFlags::new().with_client_id(true));
    let contact = VmbusInitiateContact {
        header: VmbusInitiateContact::HEADER,
        version_requested: VmbusVersion::WIN10_V5_3,
        target_vcpu: 0,
        interrupt_page_or_target_info: info.into_bits(),
        monitor_page1: 0x1000,
        monitor_page2: 0x2000,
    };
    let b = contact.as_bytes();
    assert_eq!(&b[8..12], &[3, 0, 5, 0]);
    assert_eq!(&b[16..24], &[2, 0, 0, 0, 8, 0, 0, 0]);
    assert_eq!(&b[24..32], &0x1000u64.to_le_bytes());

    assert_eq!(offset_of!(VmbusVersionResponse, version_supported), 8);
    assert_eq!(offset_of!(VmbusVersionResponse, connection_state), 9);
    assert_eq!(offset_of!(VmbusVersionResponse, message_connection_id), 12);
    assert_eq!(offset_of!(VmbusVersionResponse2, supported_features), 16);
    let response =
        VmbusVersionResponse::read_from_bytes(&[15, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0])
            .expect("16 bytes");
    assert_eq!(
        response.header.message_type,
        VmbusMessageType::VERSION_RESPONSE
    );
    assert_eq!(response.version_supported, 1);
    assert_eq!(response.connection_state, VmbusConnectionState::SUCCESSFUL);
    assert_eq!(
        response.message_connection_id,
        VMBUS_MESSAGE_CONNECTION_ID_4
    );
}

#[test]
fn open_and_gpadl_message_layouts() {
    assert_eq!(offset_of!(VmbusOpenChannel, child_relid), 8);
    assert_eq!(offset_of!(VmbusOpenChannel, open_id), 12);
    assert_eq!(offset_of!(VmbusOpenChannel, ring_buffer_gpadl), 16);
    assert_eq!(offset_of!(VmbusOpenChannel, target_vp), 20);
    assert_eq!(
        offset_of!(VmbusOpenChannel, downstream_ring_buffer_page_offset),
        24
    );
    assert_eq!(offset_of!(VmbusOpenChannel, user_data), 28);
    assert_eq!(offset_of!(VmbusOpenChannel2, event_flag), 152);
    assert_eq!(offset_of!(VmbusOpenChannel2, flags), 154);
    assert_eq!(offset_of!(VmbusGpadlHeader, child_relid), 8);
    assert_eq!(offset_of!(VmbusGpadlHeader, gpadl), 12);
    assert_eq!(offset_of!(VmbusGpadlHeader, range_buf_len), 16);
    assert_eq!(offset_of!(VmbusGpadlHeader, range_count), 18);
    assert_eq!(offset_of!(VmbusGpadlBody, message_number), 8);
    assert_eq!(offset_of!(VmbusGpadlBody, gpadl), 12);
    assert_eq!(offset_of!(VmbusGpadlCreated, creation_status), 16);
    assert_eq!(offset_of!(VmbusTlConnectResult, status), 40);
    assert_eq!(offset_of!(VmbusModifyChannel, target_vp), 12);
    assert_eq!(
        offset_of!(VmbusModifyConnectionResponse, connection_state),
        8
    );
}

#[test]
fn ring_control_page_layout() {
    assert_eq!(VMBUS_RING_DATA_OFFSET, 4096);
    assert_eq!(VMBUS_PACKET_ALIGNMENT, 8);
    assert_eq!(VMBUS_RING_TRAILER_SIZE, 8);
    let mut control = VmbusRingControl::new_zeroed();
    control.write_index = 0x11;
    control.read_index = 0x22;
    control.interrupt_mask = 1;
    control.pending_send_size = 0x44;
    control.feature_bits = VmbusRingFeatureBits::new().with_pending_send_size(true);
    let b = control.as_bytes();
    assert_eq!(b.len(), 4096);
    assert_eq!(b[0], 0x11);
    assert_eq!(b[4], 0x22);
    assert_eq!(b[8], 1);
    assert_eq!(b[12], 0x44);
    assert_eq!(&b[64..68], &[1, 0, 0, 0]);
    assert!(b[16..64].iter().chain(&b[68..]).all(|&x| x == 0));
}

#[test]
fn ring_trailer_is_the_start_offset_shifted_up() {
    let trailer = VmbusRingTrailer::new(0x0000_1238);
    assert_eq!(trailer.to_u64(), 0x0000_1238_0000_0000);
    assert_eq!(trailer.as_bytes(), &trailer.to_u64().to_le_bytes());
}

#[test]
fn packet_descriptor_lengths() {
    assert_eq!(VMBUS_PACKET_DESCRIPTOR_SIZE8, 2);
    let descriptor = VmbusPacketDescriptor {
        packet_type: VmbusPacketType::DATA_IN_BAND,
        data_offset8: 2,
        length8: 5,
        flags: VmbusPacketFlags::new().with_completion_requested(true),
        transaction_id: 0x0102_0304_0506_0708,
    };
    assert_eq!(descriptor.data_offset(), 16);
    assert_eq!(descriptor.length(), 40);
    assert_eq!(descriptor.payload_length(), Some(24));
    assert_eq!(descriptor.ring_size(), 48);
    assert_eq!(
        descriptor.as_bytes(),
        &[6, 0, 2, 0, 5, 0, 1, 0, 8, 7, 6, 5, 4, 3, 2, 1]
    );

    let inside_descriptor = VmbusPacketDescriptor {
        data_offset8: 1,
        length8: 5,
        ..descriptor
    };
    assert_eq!(inside_descriptor.payload_length(), None);
    let beyond_end = VmbusPacketDescriptor {
        data_offset8: 6,
        length8: 5,
        ..descriptor
    };
    assert_eq!(beyond_end.payload_length(), None);
    let largest = VmbusPacketDescriptor {
        data_offset8: 2,
        length8: u16::MAX,
        ..descriptor
    };
    assert_eq!(largest.payload_length(), Some(u32::from(u16::MAX) * 8 - 16));
    assert_eq!(largest.ring_size(), u32::from(u16::MAX) * 8 + 8);
}

#[test]
fn packet_extra_header_layouts() {
    let transfer = VmbusTransferPageHeader {
        transfer_page_set_id: 0x1234,
        sender_owns_set: 1,
        rsvd: 0,
        range_count: 3,
    };
    assert_eq!(transfer.as_bytes(), &[0x34, 0x12, 1, 0, 3, 0, 0, 0]);
    let direct = VmbusGpaDirectHeader {
        rsvd: 0,
        range_count: 2,
    };
    assert_eq!(direct.as_bytes(), &[0, 0, 0, 0, 2, 0, 0, 0]);
    assert_eq!(
        offset_of!(VmbusTransferPageSetHeader, transfer_page_set_id),
        4
    );
    assert_eq!(offset_of!(VmbusAdditionalDataHeader, offset), 8);
    assert_eq!(offset_of!(VmbusAdditionalDataHeader, byte_count), 12);
}

/// Sets every public field of a bitfield and checks exactly the non-reserved bits end up
/// set, so a builder cannot set a reserved bit.
#[test]
fn bitfield_reserved_masks() {
    let offer = VmbusOfferFlags::new()
        .with_enumerate_device_interface(true)
        .with_server_supports_transfer_pages(true)
        .with_server_supports_gpadls(true)
        .with_named_pipe_mode(true)
        .with_loopback_offer(true)
        .with_parent_offer(true)
        .with_request_monitored_notification(true)
        .with_tlnpi_provider_offer(true);
    assert_eq!(offer.into_bits(), !VmbusOfferFlags::RESERVED_MASK);
    assert_eq!(offer.into_bits(), 0x2717);
    let confidential = VmbusOfferFlags::new()
        .with_confidential_ring_buffer(true)
        .with_confidential_external_memory(true);
    assert_eq!(confidential.into_bits(), 0x0006);
    assert!(confidential.confidential_ring_buffer() && confidential.confidential_external_memory());

    let monitor = VmbusOfferMonitorFlags::new().with_monitor_allocated(true);
    assert_eq!(monitor.into_bits(), !VmbusOfferMonitorFlags::RESERVED_MASK);
    let interrupt = VmbusOfferInterruptFlags::new().with_dedicated_interrupt(true);
    assert_eq!(
        interrupt.into_bits(),
        !VmbusOfferInterruptFlags::RESERVED_MASK
    );
    let open = VmbusOpenChannelFlags::new().with_redirect_interrupt(true);
    assert_eq!(open.into_bits(), !VmbusOpenChannelFlags::RESERVED_MASK);
    let packet = VmbusPacketFlags::new().with_completion_requested(true);
    assert_eq!(packet.into_bits(), !VmbusPacketFlags::RESERVED_MASK);
    let ring = VmbusRingFeatureBits::new().with_pending_send_size(true);
    assert_eq!(ring.into_bits(), !VmbusRingFeatureBits::RESERVED_MASK);
    let features = VmbusFeatureFlags::new()
        .with_guest_specified_signal_parameters(true)
        .with_channel_interrupt_redirection(true)
        .with_modify_connection(true)
        .with_client_id(true)
        .with_confidential_channels(true)
        .with_pause_resume(true);
    assert_eq!(features.into_bits(), !VmbusFeatureFlags::RESERVED_MASK);
    // Linux 6.0 patches: VMBUS_FEATURE_FLAG_CONFIDENTIAL_CHANNELS = 0x10.
    assert_eq!(
        VmbusFeatureFlags::new()
            .with_confidential_channels(true)
            .into_bits(),
        0x10
    );
    let target = VmbusTargetInfo::new()
        .with_sint(0xFF)
        .with_vtl(0xFF)
        .with_feature_flags(VmbusFeatureFlags::from_bits(u32::MAX));
    assert_eq!(target.into_bits(), !VmbusTargetInfo::RESERVED_MASK);
}

#[test]
fn pipe_modes_and_connection_states() {
    assert_eq!(VmbusPipeMode::BYTE.get(), 0);
    assert_eq!(VmbusPipeMode::MESSAGE.get(), 4);
    assert_eq!(VMBUS_MAX_USER_DEFINED_BYTES, 120);
    assert_eq!(VMBUS_MAX_PIPE_USER_DEFINED_BYTES, 116);
    assert_eq!(VmbusConnectionState::SUCCESSFUL.get(), 0);
    assert_eq!(VmbusConnectionState::FAILED_LOW_RESOURCES.get(), 1);
    assert_eq!(VmbusConnectionState::FAILED_UNKNOWN_FAILURE.get(), 2);
    assert_eq!(VMBUS_INVALID_RELID, u32::MAX);
    // Relids 1..=2047 name the 2048 event flags of one SINT (TLFS 11.10.5).
    assert_eq!(VMBUS_MAX_CHILD_RELID, 2047);
}
