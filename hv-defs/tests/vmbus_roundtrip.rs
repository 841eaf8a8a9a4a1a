//! Property tests: every VMBus wire structure reads any byte string of its size and writes
//! the same bytes back, and the helpers never panic on host-written values.

use hv_defs::vmbus::*;
use proptest::prelude::*;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Reads `bytes` as `T`, writes it back and compares; also checks a one-byte-short input
/// is refused rather than read.
fn round_trip<T: FromBytes + IntoBytes + Immutable + KnownLayout>(bytes: &[u8]) {
    assert_eq!(bytes.len(), size_of::<T>());
    let Ok(value) = T::read_from_bytes(bytes) else {
        panic!(
            "{} refused {} bytes",
            core::any::type_name::<T>(),
            bytes.len()
        );
    };
    assert_eq!(value.as_bytes(), bytes, "{}", core::any::type_name::<T>());
    assert!(T::read_from_bytes(&bytes[1..]).is_err());
}

macro_rules! round_trip_tests {
    ($($name:ident: $type:ty,)*) => {
        proptest! {
            $(
                #[test]
                fn $name(bytes in proptest::collection::vec(any::<u8>(), size_of::<$type>())) {
                    round_trip::<$type>(&bytes);
                }
            )*
        }
    };
}

round_trip_tests! {
    guid: Guid,
    message_header: VmbusMessageHeader,
    offer_channel: VmbusOfferChannel,
    rescind_channel_offer: VmbusRescindChannelOffer,
    request_offers: VmbusRequestOffers,
    all_offers_delivered: VmbusAllOffersDelivered,
    open_channel: VmbusOpenChannel,
    open_channel2: VmbusOpenChannel2,
    open_result: VmbusOpenResult,
    close_channel: VmbusCloseChannel,
    gpadl_header: VmbusGpadlHeader,
    gpadl_body: VmbusGpadlBody,
    gpadl_created: VmbusGpadlCreated,
    gpadl_teardown: VmbusGpadlTeardown,
    gpadl_torndown: VmbusGpadlTorndown,
    rel_id_released: VmbusRelIdReleased,
    initiate_contact: VmbusInitiateContact,
    initiate_contact2: VmbusInitiateContact2,
    version_response: VmbusVersionResponse,
    version_response2: VmbusVersionResponse2,
    unload: VmbusUnload,
    unload_response: VmbusUnloadResponse,
    open_reserved_channel: VmbusOpenReservedChannel,
    close_reserved_channel: VmbusCloseReservedChannel,
    close_reserved_channel_response: VmbusCloseReservedChannelResponse,
    tl_connect_request: VmbusTlConnectRequest,
    tl_connect_request2: VmbusTlConnectRequest2,
    modify_channel: VmbusModifyChannel,
    tl_connect_result: VmbusTlConnectResult,
    modify_channel_response: VmbusModifyChannelResponse,
    modify_connection: VmbusModifyConnection,
    modify_connection_response: VmbusModifyConnectionResponse,
    pause: VmbusPause,
    pause_response: VmbusPauseResponse,
    resume: VmbusResume,
    gpa_range: VmbusGpaRange,
    ring_control: VmbusRingControl,
    ring_trailer: VmbusRingTrailer,
    packet_descriptor: VmbusPacketDescriptor,
    transfer_page_range: VmbusTransferPageRange,
    transfer_page_header: VmbusTransferPageHeader,
    gpa_direct_header: VmbusGpaDirectHeader,
    gpadl_packet_header: VmbusGpadlPacketHeader,
    transfer_page_set_header: VmbusTransferPageSetHeader,
    additional_data_header: VmbusAdditionalDataHeader,
    offer_flags: VmbusOfferFlags,
    feature_flags: VmbusFeatureFlags,
    target_info: VmbusTargetInfo,
    ring_feature_bits: VmbusRingFeatureBits,
    packet_flags: VmbusPacketFlags,
}

proptest! {
    /// A GPADL header message as Linux builds it: fixed part, one range, page numbers at
    /// byte 28 (unaligned). Every field lands at its byte offset and parses back.
    #[test]
    fn gpadl_header_message_with_one_range(
        relid in any::<u32>(),
        gpadl in any::<u32>(),
        offset in 0u32..4096,
        pfns in proptest::collection::vec(any::<u64>(), 1..=VMBUS_GPADL_HEADER_MAX_PFNS),
    ) {
        let count = pfns.len() as u32 * 4096 - offset;
        let range = VmbusGpaRange::new(count, offset);
        prop_assert_eq!(range.pfn_count(), Some(pfns.len() as u64));
        let range_len = VmbusGpaRange::encoded_size(pfns.len() as u32);
        let header = VmbusGpadlHeader {
            header: VmbusGpadlHeader::HEADER,
            child_relid: relid,
            gpadl,
            range_buf_len: range_len as u16,
            range_count: 1,
        };
        let mut message = Vec::new();
        message.extend_from_slice(header.as_bytes());
        message.extend_from_slice(range.as_bytes());
        for pfn in &pfns {
            message.extend_from_slice(&pfn.to_le_bytes());
        }
        prop_assert!(message.len() <= VMBUS_MAX_MESSAGE_SIZE);
        prop_assert_eq!(message.len() as u64, 20 + range_len);
        prop_assert_eq!(&message[8..12], &relid.to_le_bytes());
        prop_assert_eq!(&message[12..16], &gpadl.to_le_bytes());
        prop_assert_eq!(&message[20..24], &count.to_le_bytes());
        prop_assert_eq!(&message[24..28], &offset.to_le_bytes());
        prop_assert_eq!(&message[28..36], &pfns[0].to_le_bytes());

        let (parsed, rest) = VmbusGpadlHeader::read_from_prefix(&message).expect("20 bytes");
        prop_assert_eq!(parsed, header);
        let (parsed_range, pfn_bytes) = VmbusGpaRange::read_from_prefix(rest).expect("8 bytes");
        prop_assert_eq!(parsed_range, range);
        let parsed_pfns: Vec<u64> = pfn_bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        prop_assert_eq!(parsed_pfns, pfns);
    }

    /// An open message built from arbitrary fields has each at its Linux offset.
    #[test]
    fn open_channel_fields(
        relid in any::<u32>(),
        open_id in any::<u32>(),
        gpadl in any::<u32>(),
        vp in any::<u32>(),
        downstream in any::<u32>(),
        user in proptest::array::uniform32(any::<u8>()),
    ) {
        let mut user_data = [0u8; VMBUS_MAX_USER_DEFINED_BYTES];
        user_data[..32].copy_from_slice(&user);
        let open = VmbusOpenChannel {
            header: VmbusOpenChannel::HEADER,
            child_relid: relid,
            open_id,
            ring_buffer_gpadl: gpadl,
            target_vp: vp,
            downstream_ring_buffer_page_offset: downstream,
            user_data,
        };
        let b = open.as_bytes();
        prop_assert_eq!(&b[0..4], &5u32.to_le_bytes());
        prop_assert_eq!(&b[8..12], &relid.to_le_bytes());
        prop_assert_eq!(&b[12..16], &open_id.to_le_bytes());
        prop_assert_eq!(&b[16..20], &gpadl.to_le_bytes());
        prop_assert_eq!(&b[20..24], &vp.to_le_bytes());
        prop_assert_eq!(&b[24..28], &downstream.to_le_bytes());
        prop_assert_eq!(&b[28..60], &user[..]);
        prop_assert_eq!(VmbusOpenChannel::read_from_bytes(b).expect("148 bytes"), open);
    }

    /// A packet descriptor built from arbitrary fields encodes little-endian at its offsets,
    /// and the length helpers never panic and agree with the byte arithmetic.
    #[test]
    fn packet_descriptor_fields(
        packet_type in any::<u16>(),
        offset8 in any::<u16>(),
        length8 in any::<u16>(),
        flags in any::<u16>(),
        transaction_id in any::<u64>(),
    ) {
        let descriptor = VmbusPacketDescriptor {
            packet_type: VmbusPacketType::new(packet_type),
            data_offset8: offset8,
            length8,
            flags: VmbusPacketFlags::from_bits(flags),
            transaction_id,
        };
        let b = descriptor.as_bytes();
        prop_assert_eq!(&b[0..2], &packet_type.to_le_bytes());
        prop_assert_eq!(&b[2..4], &offset8.to_le_bytes());
        prop_assert_eq!(&b[4..6], &length8.to_le_bytes());
        prop_assert_eq!(&b[6..8], &flags.to_le_bytes());
        prop_assert_eq!(&b[8..16], &transaction_id.to_le_bytes());
        prop_assert_eq!(descriptor.length(), u32::from(length8) * 8);
        prop_assert_eq!(descriptor.ring_size(), u32::from(length8) * 8 + 8);
        let valid = offset8 >= 2 && length8 >= offset8;
        prop_assert_eq!(
            descriptor.payload_length(),
            valid.then(|| (u32::from(length8) - u32::from(offset8)) * 8)
        );
    }

    /// Page counts of arbitrary ranges agree with a direct count of the pages touched.
    #[test]
    fn gpa_range_page_count_matches_pages_touched(
        count in 0u32..=(64 * 4096),
        offset in 0u32..8192,
    ) {
        let expected = if offset >= 4096 {
            None
        } else if count == 0 {
            Some(0)
        } else {
            let first = u64::from(offset) / 4096;
            let last = (u64::from(offset) + u64::from(count) - 1) / 4096;
            Some(last - first + 1)
        };
        prop_assert_eq!(VmbusGpaRange::new(count, offset).pfn_count(), expected);
    }

    /// Version helpers split and rebuild any raw value.
    #[test]
    fn version_parts(raw in any::<u32>()) {
        let version = VmbusVersion::new(raw);
        prop_assert_eq!(VmbusVersion::from_parts(version.major(), version.minor()), version);
        prop_assert_eq!(
            version.initiate_contact_connection_id(),
            if raw >= 0x0005_0000 { 4 } else { 1 }
        );
    }

    /// The trailer's bytes are the little-endian `start << 32`.
    #[test]
    fn ring_trailer_bytes(start in any::<u32>()) {
        let trailer = VmbusRingTrailer::new(start);
        prop_assert_eq!(trailer.to_u64(), u64::from(start) << 32);
        prop_assert_eq!(trailer.as_bytes(), &(u64::from(start) << 32).to_le_bytes());
    }
}
