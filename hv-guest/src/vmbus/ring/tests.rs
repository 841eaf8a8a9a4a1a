//! Ring tests: round trips, wrap-around, signalling decisions, a hostile other side, and a
//! producer and consumer on two threads sharing one ring.

extern crate std;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use std::vec;
use std::vec::Vec;

use core::ptr::NonNull;

use hv_defs::vmbus::{
    VmbusGpaRange, VmbusPacketDescriptor, VmbusPacketFlags, VmbusPacketType, VmbusTransferPageRange,
};
use proptest::prelude::*;
use zerocopy::IntoBytes;

use super::*;
use crate::vmbus::packet::{GpaDirectRange, OutgoingPacket, PacketKind, SendKind};
use crate::vmbus::testutil::{Pages, Rng, proptest_config};

const WRITE_INDEX: usize = 0;
const READ_INDEX: usize = 4;
const INTERRUPT_MASK: usize = 8;
const PENDING_SEND_SIZE: usize = 12;
const FEATURE_BITS: usize = 64;
const DATA: usize = VMBUS_RING_DATA_OFFSET;

/// A reset ring over `pages` pages (one control page), with its writer and reader.
fn ring_pair(mem: &Pages, pages: usize) -> (RingWriter<'_>, RingReader<'_>) {
    let writer_view = mem.ring(0, pages);
    writer_view.reset();
    let writer = RingWriter::new(writer_view).unwrap();
    let reader = RingReader::new(mem.ring(0, pages)).unwrap();
    (writer, reader)
}

fn payload(seq: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seq as usize * 31 + i * 7) as u8)
        .collect()
}

/// Reads one packet's payload (without the sender's padding) into a vector.
fn payload_bytes(packet: &Packet<'_>, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    packet.payload().read(0, &mut out).unwrap();
    out
}

#[test]
fn setup_rejects_bad_memory() {
    let mem = Pages::new(3);
    let unaligned = NonNull::new(mem.base().as_ptr().wrapping_add(8)).unwrap();
    // SAFETY: the ranges here lie inside `mem`, which outlives the rings and is otherwise
    // unused; a refused range is never touched.
    let misaligned = unsafe { Ring::new(unaligned, 2 * 4096) };
    assert_eq!(misaligned.unwrap_err(), RingSetupError::Misaligned);
    // SAFETY: as above.
    let one_page = unsafe { Ring::new(mem.base(), 4096) };
    assert_eq!(one_page.unwrap_err(), RingSetupError::BadLength(4096));
    // SAFETY: as above.
    let partial = unsafe { Ring::new(mem.base(), 2 * 4096 + 8) };
    assert_eq!(
        partial.unwrap_err(),
        RingSetupError::BadLength(2 * 4096 + 8)
    );
    // SAFETY: as above.
    let three = unsafe { Ring::new(mem.base(), 3 * 4096) };
    assert_eq!(three.unwrap().data_len(), 8192);
}

#[test]
fn reset_initialises_the_control_page() {
    let mem = Pages::new(2);
    for offset in [WRITE_INDEX, READ_INDEX, INTERRUPT_MASK, PENDING_SEND_SIZE] {
        mem.store_u32(offset, 0xFFFF_FFF8);
    }
    mem.ring(0, 2).reset();
    for offset in [WRITE_INDEX, READ_INDEX, INTERRUPT_MASK, PENDING_SEND_SIZE] {
        assert_eq!(mem.load_u32(offset), 0);
    }
    assert_eq!(mem.load_u32(FEATURE_BITS), 1);
}

#[test]
fn in_band_round_trip_with_wire_layout() {
    let mem = Pages::new(2);
    let (mut writer, mut reader) = ring_pair(&mem, 2);
    let data = payload(1, 13);
    let outcome = writer
        .write(&OutgoingPacket::in_band(&data, 0x1122_3344_5566_7788, true))
        .unwrap();
    assert!(outcome.signal, "first packet into an empty, unmasked ring");

    // Wire layout: descriptor, payload padded to 16, trailer naming offset 0.
    let mut raw = [0u8; 40];
    mem.read_bytes(DATA, &mut raw);
    let descriptor = VmbusPacketDescriptor {
        packet_type: VmbusPacketType::DATA_IN_BAND,
        data_offset8: 2,
        length8: 4,
        flags: VmbusPacketFlags::new().with_completion_requested(true),
        transaction_id: 0x1122_3344_5566_7788,
    };
    assert_eq!(&raw[..16], descriptor.as_bytes());
    assert_eq!(&raw[16..29], &data[..]);
    assert_eq!(&raw[29..32], &[0, 0, 0]);
    assert_eq!(&raw[32..40], &[0; 8], "trailer: start 0 in the upper half");
    assert_eq!(mem.load_u32(WRITE_INDEX), 40);

    let mut scratch = [0u8; 64];
    let mut batch = reader.batch().unwrap();
    let packet = batch.next(&mut scratch).unwrap().unwrap();
    assert_eq!(packet.packet_type(), VmbusPacketType::DATA_IN_BAND);
    assert_eq!(packet.transaction_id(), 0x1122_3344_5566_7788);
    assert!(packet.flags().completion_requested());
    assert!(matches!(packet.kind(), PacketKind::InBand));
    assert!(packet.payload().is_zero_copy());
    assert_eq!(packet.payload().len(), 16);
    assert_eq!(payload_bytes(&packet, 13), data);
    assert!(batch.next(&mut scratch).unwrap().is_none());
    assert!(!batch.finish().unwrap());
    assert_eq!(mem.load_u32(READ_INDEX), 40);
}

#[test]
fn trailer_names_the_packet_start() {
    let mem = Pages::new(2);
    let (mut writer, _reader) = ring_pair(&mem, 2);
    let _ = writer
        .write(&OutgoingPacket::in_band(&[1; 8], 1, false))
        .unwrap();
    let _ = writer
        .write(&OutgoingPacket::completion(&[2; 8], 1))
        .unwrap();
    // Second packet starts at 32 (16 + 8 + 8 trailer); its trailer is at 32 + 24.
    let mut trailer = [0u8; 8];
    mem.read_bytes(DATA + 56, &mut trailer);
    assert_eq!(u64::from_le_bytes(trailer), 32 << 32);
}

#[test]
fn wrapped_packets_are_copied_and_others_are_not() {
    let mem = Pages::new(2);
    let (mut writer, mut reader) = ring_pair(&mem, 2);
    let mut scratch = vec![0u8; 4096];
    // Advance both indices to 4096 - 40 by writing and reading a filler packet.
    let filler = vec![0xEE; 4096 - 40 - 24];
    let _ = writer
        .write(&OutgoingPacket::in_band(&filler, 0, false))
        .unwrap();
    let mut batch = reader.batch().unwrap();
    assert!(
        batch
            .next(&mut scratch)
            .unwrap()
            .unwrap()
            .payload()
            .is_zero_copy()
    );
    batch.finish().unwrap();
    assert_eq!(mem.load_u32(READ_INDEX), 4096 - 40);

    // 100 payload bytes: 16 + 104 + 8 = 128 bytes from 4056: wraps.
    let data = payload(7, 100);
    let _ = writer
        .write(&OutgoingPacket::in_band(&data, 7, false))
        .unwrap();
    assert_eq!(mem.load_u32(WRITE_INDEX), 128 - 40);
    let mut batch = reader.batch().unwrap();
    let packet = batch.next(&mut scratch).unwrap().unwrap();
    assert!(!packet.payload().is_zero_copy());
    assert_eq!(packet.transaction_id(), 7);
    assert_eq!(payload_bytes(&packet, 100), data);
    assert!(batch.next(&mut scratch).unwrap().is_none());
    batch.finish().unwrap();
}

#[test]
fn scratch_too_small_consumes_nothing() {
    let mem = Pages::new(2);
    let (mut writer, mut reader) = ring_pair(&mem, 2);
    let mut scratch = vec![0u8; 4096];
    let filler = vec![0; 4096 - 16 - 24];
    let _ = writer
        .write(&OutgoingPacket::in_band(&filler, 0, false))
        .unwrap();
    let mut batch = reader.batch().unwrap();
    batch.next(&mut scratch).unwrap().unwrap();
    batch.finish().unwrap();
    let _ = writer
        .write(&OutgoingPacket::in_band(&[9; 64], 3, false))
        .unwrap();

    let mut batch = reader.batch().unwrap();
    assert_eq!(
        batch.next(&mut [0u8; 79]).unwrap_err(),
        RingError::ScratchTooSmall { needed: 80 }
    );
    let packet = batch.next(&mut scratch).unwrap().unwrap();
    assert_eq!(packet.transaction_id(), 3);
}

#[test]
fn full_ring_is_never_filled_completely() {
    let mem = Pages::new(2);
    let (mut writer, mut reader) = ring_pair(&mem, 2);
    // A packet as large as the data area can never be written (the ring is never filled
    // completely), nor one too long for a descriptor.
    for len in [4096 - 24, 8192, 0x8_0000] {
        let data = vec![0; len];
        assert_eq!(
            writer
                .write(&OutgoingPacket::in_band(&data, 0, false))
                .unwrap_err(),
            RingError::InvalidPacket
        );
    }
    // 16 + 4064 + 8 = 4088 bytes fit an empty 4096-byte ring and leave 8.
    let almost = vec![0; 4064];
    let _ = writer
        .write(&OutgoingPacket::in_band(&almost, 0, false))
        .unwrap();
    assert_eq!(writer.free_space().unwrap(), 8);
    assert_eq!(
        writer
            .write(&OutgoingPacket::in_band(&[], 1, false))
            .unwrap_err(),
        RingError::Full {
            needed: 24,
            free: 8
        }
    );
    assert_eq!(reader.available().unwrap(), 4088);
}

#[test]
fn gpa_direct_and_transfer_page_packets_round_trip() {
    let mem = Pages::new(3);
    let (mut writer, mut reader) = ring_pair(&mem, 3);
    let pfns_a = [0x1000, 0x1001];
    let pfns_b = [0x2000];
    let ranges = [
        GpaDirectRange {
            range: VmbusGpaRange::new(4096 + 100, 50),
            pfns: &pfns_a,
        },
        GpaDirectRange {
            range: VmbusGpaRange::new(10, 4000),
            pfns: &pfns_b,
        },
    ];
    let data = payload(3, 21);
    let gpa = OutgoingPacket {
        kind: SendKind::GpaDirect(&ranges),
        flags: VmbusPacketFlags::new().with_completion_requested(true),
        transaction_id: 42,
        payload: &data,
    };
    let _ = writer.write(&gpa).unwrap();
    let tp_ranges = [
        VmbusTransferPageRange {
            byte_count: 1500,
            byte_offset: 0,
        },
        VmbusTransferPageRange {
            byte_count: 60,
            byte_offset: 4096,
        },
    ];
    let tp = OutgoingPacket {
        kind: SendKind::TransferPages {
            set_id: 0xCAFE,
            sender_owns_set: true,
            ranges: &tp_ranges,
        },
        flags: VmbusPacketFlags::new(),
        transaction_id: 43,
        payload: &data[..5],
    };
    let _ = writer.write(&tp).unwrap();

    let mut scratch = vec![0u8; 8192];
    let mut batch = reader.batch().unwrap();
    {
        let packet = batch.next(&mut scratch).unwrap().unwrap();
        assert_eq!(packet.packet_type(), VmbusPacketType::DATA_USING_GPA_DIRECT);
        // 16 descriptor + 8 header + (8 + 16) + (8 + 8) = 64 bytes before the payload.
        assert_eq!(packet.descriptor().data_offset8, 8);
        assert_eq!(payload_bytes(&packet, 21), data);
        let PacketKind::GpaDirect(got) = packet.kind() else {
            panic!("expected GPA direct, got {:?}", packet.kind());
        };
        assert_eq!(got.len(), 2);
        let got: Vec<_> = got.iter().map(Result::unwrap).collect();
        assert_eq!(got[0].range, ranges[0].range);
        assert_eq!(got[0].pfn_count(), 2);
        assert_eq!(got[0].pfn(1), Ok(0x1001));
        assert!(got[0].pfn(2).is_err());
        assert_eq!(got[1].range, ranges[1].range);
        assert_eq!(got[1].pfn(0), Ok(0x2000));
    }
    {
        let packet = batch.next(&mut scratch).unwrap().unwrap();
        let PacketKind::TransferPages(got) = packet.kind() else {
            panic!("expected transfer pages, got {:?}", packet.kind());
        };
        assert_eq!(got.header.transfer_page_set_id, 0xCAFE);
        assert_eq!(got.header.sender_owns_set, 1);
        assert_eq!(got.len(), 2);
        assert_eq!(got.range(1), Ok(tp_ranges[1]));
        assert!(got.range(2).is_err());
        assert_eq!(payload_bytes(&packet, 5), &data[..5]);
    }
    batch.finish().unwrap();
}

#[test]
fn packets_that_cannot_be_encoded_are_refused() {
    let mem = Pages::new(2);
    let (mut writer, _reader) = ring_pair(&mem, 2);
    // Two page numbers for a range that spans one page.
    let pfns = [1, 2];
    let ranges = [GpaDirectRange {
        range: VmbusGpaRange::new(100, 0),
        pfns: &pfns,
    }];
    let bad = OutgoingPacket {
        kind: SendKind::GpaDirect(&ranges),
        flags: VmbusPacketFlags::new(),
        transaction_id: 0,
        payload: &[],
    };
    assert_eq!(writer.write(&bad).unwrap_err(), RingError::InvalidPacket);
    // Offset outside the first page.
    let ranges = [GpaDirectRange {
        range: VmbusGpaRange::new(1, 4096),
        pfns: &pfns[..1],
    }];
    let bad = OutgoingPacket {
        kind: SendKind::GpaDirect(&ranges),
        ..bad
    };
    assert_eq!(writer.write(&bad).unwrap_err(), RingError::InvalidPacket);
    assert_eq!(mem.load_u32(WRITE_INDEX), 0, "nothing written");
}

/// Writes `count` packets of `len` payload bytes, counting signals.
fn burst(writer: &mut RingWriter<'_>, count: usize, len: usize) -> usize {
    let data = vec![0x5A; len];
    (0..count)
        .filter(|&i| {
            writer
                .write(&OutgoingPacket::in_band(&data, i as u64, false))
                .unwrap()
                .signal
        })
        .count()
}

fn drain(reader: &mut RingReader<'_>) -> (usize, bool) {
    let mut scratch = vec![0u8; 8192];
    let mut batch = reader.batch().unwrap();
    let mut n = 0;
    while batch.next(&mut scratch).unwrap().is_some() {
        n += 1;
    }
    (n, batch.finish().unwrap())
}

#[test]
fn writer_signals_only_on_empty_to_non_empty() {
    let mem = Pages::new(5);
    let (mut writer, mut reader) = ring_pair(&mem, 5);
    let signals = burst(&mut writer, 100, 64);
    std::println!(
        "burst of 100 packets of 64 bytes: {signals} signal(s), {:.3} signals per packet",
        signals as f64 / 100.0
    );
    assert_eq!(signals, 1, "one signal for a burst into an empty ring");
    assert_eq!(drain(&mut reader), (100, false));
    // Empty again: the next packet signals, the ones after it do not.
    assert_eq!(burst(&mut writer, 3, 8), 1);
    // Reader consumed only part: ring not empty, so no signal.
    let mut scratch = vec![0u8; 256];
    let mut batch = reader.batch().unwrap();
    batch.next(&mut scratch).unwrap().unwrap();
    batch.finish().unwrap();
    assert_eq!(burst(&mut writer, 1, 8), 0);
    assert_eq!(drain(&mut reader).0, 3);
    // Masked: no signal even into an empty ring; unmasking reports the data.
    reader.mask_interrupts();
    assert_eq!(mem.load_u32(INTERRUPT_MASK), 1);
    assert_eq!(burst(&mut writer, 5, 8), 0);
    assert!(reader.unmask_interrupts().unwrap());
    assert_eq!(mem.load_u32(INTERRUPT_MASK), 0);
    assert_eq!(drain(&mut reader).0, 5);
    assert!(!reader.unmask_interrupts().unwrap());
    assert_eq!(burst(&mut writer, 1, 8), 1);
}

#[test]
fn reader_signals_only_when_freed_space_crosses_pending_send_size() {
    let mem = Pages::new(2);
    let (mut writer, mut reader) = ring_pair(&mem, 2);
    // 40 packets of 96 bytes (16 + 72 + 8) fill 3840 of 4096 bytes.
    assert_eq!(burst(&mut writer, 40, 72), 1);
    assert_eq!(writer.free_space().unwrap(), 256);
    // The writer needs 1000 bytes: more than 1000 free must be reached.
    assert!(!writer.request_space(1000).unwrap());
    assert_eq!(mem.load_u32(PENDING_SEND_SIZE), 1000);

    let mut scratch = vec![0u8; 256];
    let mut signals = Vec::new();
    for step in 0..20 {
        // Two packets (192 bytes) per batch: free goes 448, 640, 832, 1024 (crossing), ...
        let mut batch = reader.batch().unwrap();
        batch.next(&mut scratch).unwrap().unwrap();
        batch.next(&mut scratch).unwrap().unwrap();
        if batch.finish().unwrap() {
            signals.push(step);
        }
    }
    assert_eq!(
        signals,
        [3],
        "exactly one signal, on the batch that crosses 1000"
    );

    // The next write clears the request; no more signals while draining.
    let _ = writer
        .write(&OutgoingPacket::in_band(&[0; 8], 0, false))
        .unwrap();
    assert_eq!(mem.load_u32(PENDING_SEND_SIZE), 0);
    assert_eq!(drain(&mut reader), (1, false));
}

#[test]
fn reader_does_not_signal_without_the_feature_bit() {
    let mem = Pages::new(2);
    let (mut writer, mut reader) = ring_pair(&mem, 2);
    assert_eq!(burst(&mut writer, 40, 72), 1);
    assert!(!writer.request_space(1000).unwrap());
    mem.store_u32(FEATURE_BITS, 0);
    assert_eq!(drain(&mut reader), (40, false));
}

#[test]
fn request_space_reports_space_already_free() {
    let mem = Pages::new(2);
    let (mut writer, _reader) = ring_pair(&mem, 2);
    assert!(writer.request_space(4000).unwrap());
    assert!(!writer.request_space(4096).unwrap());
}

#[test]
fn hostile_write_index_stops_the_reader() {
    for bad in [4, 4096, 0xFFFF_FFF8, 13] {
        let mem = Pages::new(2);
        let (_writer, mut reader) = ring_pair(&mem, 2);
        mem.store_u32(WRITE_INDEX, bad);
        let expected = RingError::Corrupt(RingCorruption::BadWriteIndex(bad));
        assert_eq!(reader.batch().unwrap_err(), expected);
        // Even with the index repaired, the ring stays stopped.
        mem.store_u32(WRITE_INDEX, 0);
        assert_eq!(reader.batch().unwrap_err(), expected);
        assert_eq!(reader.unmask_interrupts().unwrap_err(), expected);
        assert_eq!(reader.failure(), Some(RingCorruption::BadWriteIndex(bad)));
    }
}

#[test]
fn hostile_read_index_stops_the_writer() {
    let mem = Pages::new(2);
    let (mut writer, _reader) = ring_pair(&mem, 2);
    mem.store_u32(READ_INDEX, 4100);
    let expected = RingError::Corrupt(RingCorruption::BadReadIndex(4100));
    assert_eq!(
        writer
            .write(&OutgoingPacket::in_band(&[1], 0, false))
            .unwrap_err(),
        expected
    );
    mem.store_u32(READ_INDEX, 0);
    assert_eq!(writer.free_space().unwrap_err(), expected);
    assert_eq!(writer.request_space(8).unwrap_err(), expected);
    assert_eq!(mem.load_u32(WRITE_INDEX), 0, "nothing published");
}

/// Publishes `bytes` at the start of the data area as if a host wrote them.
fn host_publishes(mem: &Pages, bytes: &[u8]) {
    mem.write_bytes(DATA, bytes);
    mem.store_u32(WRITE_INDEX, bytes.len() as u32);
}

fn descriptor(packet_type: VmbusPacketType, data_offset8: u16, length8: u16) -> [u8; 16] {
    let d = VmbusPacketDescriptor {
        packet_type,
        data_offset8,
        length8,
        flags: VmbusPacketFlags::new(),
        transaction_id: 0,
    };
    let mut out = [0; 16];
    out.copy_from_slice(d.as_bytes());
    out
}

fn read_one(mem: &Pages) -> Result<(), RingError> {
    let mut reader = RingReader::new(mem.ring(0, 2)).unwrap();
    let mut scratch = vec![0u8; 4096];
    let mut batch = reader.batch()?;
    while batch.next(&mut scratch)?.is_some() {}
    Ok(())
}

#[test]
fn hostile_descriptors_stop_the_reader() {
    let dp = VmbusPacketType::DATA_IN_BAND;
    type Check = fn(RingCorruption) -> bool;
    let cases: [(Vec<u8>, Check); 5] = [
        // Only 16 bytes published: less than descriptor and trailer.
        (descriptor(dp, 2, 2).to_vec(), |c| {
            c == RingCorruption::Truncated { available: 16 }
        }),
        // Payload offset inside the descriptor.
        ([&descriptor(dp, 1, 2)[..], &[0; 8]].concat(), |c| {
            matches!(c, RingCorruption::BadDescriptor { .. })
        }),
        // Length shorter than the payload offset.
        ([&descriptor(dp, 3, 2)[..], &[0; 8]].concat(), |c| {
            matches!(c, RingCorruption::BadDescriptor { .. })
        }),
        // Length beyond the published bytes (and beyond the ring).
        ([&descriptor(dp, 2, 0xFFFF)[..], &[0; 8]].concat(), |c| {
            matches!(c, RingCorruption::BadDescriptor { .. })
        }),
        // Length fits the data but leaves no room for the trailer.
        ([&descriptor(dp, 2, 3)[..], &[0; 8]].concat(), |c| {
            matches!(c, RingCorruption::BadDescriptor { .. })
        }),
    ];
    for (bytes, check) in cases {
        let mem = Pages::new(2);
        mem.ring(0, 2).reset();
        host_publishes(&mem, &bytes);
        match read_one(&mem) {
            Err(RingError::Corrupt(c)) => assert!(check(c), "unexpected corruption {c:?}"),
            other => panic!("expected corruption, got {other:?}"),
        }
    }
}

#[test]
fn hostile_extra_headers_stop_the_reader() {
    let gpa = VmbusPacketType::DATA_USING_GPA_DIRECT;
    let tp = VmbusPacketType::DATA_USING_TRANSFER_PAGES;
    let range = |count: u32, offset: u32| VmbusGpaRange::new(count, offset).as_bytes().to_vec();
    let cases: [(Vec<u8>, PacketError); 5] = [
        // GPA direct with no room for its fixed header.
        (
            [&descriptor(gpa, 2, 2)[..], &[0; 8]].concat(),
            PacketError::HeaderTooShort {
                packet_type: gpa,
                header_len: 0,
            },
        ),
        // 2 ranges announced, room for one range header only.
        (
            [
                &descriptor(gpa, 4, 4)[..],
                &[0, 0, 0, 0, 2, 0, 0, 0],
                &range(0, 0),
                &[0; 8],
            ]
            .concat(),
            PacketError::RangesOverflow {
                packet_type: gpa,
                range_count: 2,
            },
        ),
        // One range whose page numbers (2 pages) do not fit.
        (
            [
                &descriptor(gpa, 5, 5)[..],
                &[0, 0, 0, 0, 1, 0, 0, 0],
                &range(4097, 0),
                &[0; 8],
                &[0; 8],
            ]
            .concat(),
            PacketError::RangesOverflow {
                packet_type: gpa,
                range_count: 1,
            },
        ),
        // A range whose offset is outside its first page.
        (
            [
                &descriptor(gpa, 4, 4)[..],
                &[0, 0, 0, 0, 1, 0, 0, 0],
                &range(1, 4096),
                &[0; 8],
            ]
            .concat(),
            PacketError::BadGpaRange(VmbusGpaRange::new(1, 4096)),
        ),
        // Transfer pages announcing u32::MAX ranges.
        (
            [
                &descriptor(tp, 3, 3)[..],
                &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF],
                &[0; 8],
            ]
            .concat(),
            PacketError::RangesOverflow {
                packet_type: tp,
                range_count: u32::MAX,
            },
        ),
    ];
    for (bytes, error) in cases {
        let mem = Pages::new(2);
        mem.ring(0, 2).reset();
        host_publishes(&mem, &bytes);
        assert_eq!(
            read_one(&mem),
            Err(RingError::Corrupt(RingCorruption::BadPacket(error)))
        );
    }
}

#[test]
fn unknown_packet_types_are_passed_through() {
    let mem = Pages::new(2);
    mem.ring(0, 2).reset();
    let bytes = [
        &descriptor(VmbusPacketType::new(0x77), 3, 4)[..],
        &[0xAB; 16],
        &[0; 8],
    ]
    .concat();
    host_publishes(&mem, &bytes);
    let mut reader = RingReader::new(mem.ring(0, 2)).unwrap();
    let mut scratch = [0u8; 64];
    let mut batch = reader.batch().unwrap();
    let packet = batch.next(&mut scratch).unwrap().unwrap();
    assert!(matches!(packet.kind(), PacketKind::Other));
    assert_eq!(packet.extra_header().len(), 8);
    assert_eq!(
        packet.extra_header().read_obj::<u64>(0),
        Ok(0xABAB_ABAB_ABAB_ABAB)
    );
    assert_eq!(packet.payload().len(), 8);
}

#[test]
fn a_batch_ends_at_the_index_it_started_with() {
    let mem = Pages::new(2);
    let (mut writer, mut reader) = ring_pair(&mem, 2);
    let _ = burst(&mut writer, 2, 8);
    let mut scratch = [0u8; 64];
    let mut batch = reader.batch().unwrap();
    batch.next(&mut scratch).unwrap().unwrap();
    // Packets published during the batch belong to the next one.
    let _ = burst(&mut writer, 3, 8);
    batch.next(&mut scratch).unwrap().unwrap();
    assert!(batch.next(&mut scratch).unwrap().is_none());
    batch.finish().unwrap();
    assert_eq!(drain(&mut reader).0, 3);
}

#[test]
fn dropping_a_batch_releases_nothing() {
    let mem = Pages::new(2);
    let (mut writer, mut reader) = ring_pair(&mem, 2);
    let _ = burst(&mut writer, 2, 8);
    let mut scratch = [0u8; 64];
    {
        let mut batch = reader.batch().unwrap();
        batch.next(&mut scratch).unwrap().unwrap();
    }
    assert_eq!(mem.load_u32(READ_INDEX), 0);
    assert_eq!(drain(&mut reader).0, 2);
}

/// A wake-up channel: a counter bumped by `notify`, waited on for a change.
#[derive(Default)]
struct Event {
    count: Mutex<u64>,
    changed: Condvar,
}

impl Event {
    fn current(&self) -> u64 {
        *self.count.lock().unwrap()
    }

    fn notify(&self) {
        *self.count.lock().unwrap() += 1;
        self.changed.notify_all();
    }

    /// Waits until the counter differs from `seen`; a missed wake-up fails the test.
    fn wait_change(&self, seen: u64) {
        let guard = self.count.lock().unwrap();
        let (_guard, timeout) = self
            .changed
            .wait_timeout_while(guard, Duration::from_secs(20), |c| *c == seen)
            .unwrap();
        assert!(!timeout.timed_out(), "lost wake-up: nobody signalled");
    }
}

#[derive(Debug, Default)]
struct ProducerStats {
    signals: usize,
    space_requests: usize,
}

#[derive(Debug, Default)]
struct ConsumerStats {
    packets: usize,
    signals: usize,
    unmasks: usize,
    copied: usize,
}

/// One producer and one consumer thread share one ring. Each sleeps when it cannot
/// progress and is woken only by the other side's signals, so a signal the rules fail to
/// send shows up as a lost wake-up; the counts show signals are not sent per packet.
#[test]
fn producer_and_consumer_on_two_threads() {
    let packets: u64 = if cfg!(miri) { 60 } else { 20_000 };
    let mem = Arc::new(Pages::new(2));
    mem.ring(0, 2).reset();
    // The consumer starts masked (it drains before it first sleeps).
    mem.store_u32(INTERRUPT_MASK, 1);
    let to_consumer = Arc::new(Event::default());
    let to_producer = Arc::new(Event::default());

    let producer = {
        let (mem, to_consumer, to_producer) = (
            Arc::clone(&mem),
            Arc::clone(&to_consumer),
            Arc::clone(&to_producer),
        );
        std::thread::spawn(move || {
            let mut writer = RingWriter::new(mem.ring(0, 2)).unwrap();
            let mut rng = Rng::new(0x5EED);
            let mut stats = ProducerStats::default();
            for seq in 0..packets {
                // Up to 1000 bytes in a 4 KiB ring: wrap-around is frequent.
                let data = payload(seq, rng.below(1000) as usize);
                loop {
                    let seen = to_producer.current();
                    match writer.write(&OutgoingPacket::in_band(&data, seq, false)) {
                        Ok(outcome) => {
                            if outcome.signal {
                                stats.signals += 1;
                                to_consumer.notify();
                            }
                            break;
                        }
                        Err(RingError::Full { needed, .. }) => {
                            stats.space_requests += 1;
                            if !writer.request_space(needed).unwrap() {
                                to_producer.wait_change(seen);
                            }
                        }
                        Err(e) => panic!("producer: {e}"),
                    }
                }
            }
            stats
        })
    };

    let consumer = {
        let (mem, to_consumer, to_producer) = (
            Arc::clone(&mem),
            Arc::clone(&to_consumer),
            Arc::clone(&to_producer),
        );
        std::thread::spawn(move || {
            let mut reader = RingReader::new(mem.ring(0, 2)).unwrap();
            let mut rng = Rng::new(0x5EED);
            let mut scratch = vec![0u8; 4096];
            let mut stats = ConsumerStats::default();
            while (stats.packets as u64) < packets {
                let mut batch = reader.batch().unwrap();
                let mut got = 0;
                while let Some(packet) = batch.next(&mut scratch).unwrap() {
                    let seq = stats.packets as u64;
                    let expected = payload(seq, rng.below(1000) as usize);
                    assert_eq!(packet.transaction_id(), seq);
                    assert_eq!(payload_bytes(&packet, expected.len()), expected);
                    stats.copied += usize::from(!packet.payload().is_zero_copy());
                    stats.packets += 1;
                    got += 1;
                }
                if batch.finish().unwrap() {
                    stats.signals += 1;
                    to_producer.notify();
                }
                if got == 0 {
                    let seen = to_consumer.current();
                    stats.unmasks += 1;
                    if !reader.unmask_interrupts().unwrap() {
                        to_consumer.wait_change(seen);
                    }
                    reader.mask_interrupts();
                }
            }
            stats
        })
    };

    let p = producer.join().unwrap();
    let c = consumer.join().unwrap();
    std::println!("{packets} packets: producer {p:?}, consumer {c:?}");
    assert_eq!(c.packets as u64, packets);
    assert!(c.copied > 0, "some packets wrapped");
    // The writer signals only into an unmasked, empty ring: at most once per unmask (the
    // consumer starts masked).
    assert!(
        p.signals <= c.unmasks,
        "{} signals, {} unmasks",
        p.signals,
        c.unmasks
    );
    // The reader signals only a writer that asked for space, once per request at most.
    assert!(c.signals <= p.space_requests);
    assert!((p.signals as u64) < packets);
}

proptest! {
    #![proptest_config(proptest_config())]

    /// A hostile writer controls the whole ring: the reader never panics, never reads
    /// outside the ring, and every batch ends. The data is random bytes with a few planted
    /// descriptors (of the types the reader interprets, with small random offsets, lengths
    /// and range counts) so that many packets get past the descriptor checks.
    #[test]
    fn reader_survives_arbitrary_rings(
        write_index in any::<u32>(),
        read_index in any::<u32>(),
        aligned in any::<bool>(),
        seed in any::<u64>(),
        planted in proptest::collection::vec(
            (0usize..4, 2u16..8, 0u16..16, 0u32..4),
            0..6,
        ),
        scratch_len in 0usize..5000,
    ) {
        let mem = Pages::new(2);
        let mut rng = Rng::new(seed);
        let data: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
        mem.write_bytes(DATA, &data);
        let mask = if aligned { 0xFF8 } else { u32::MAX };
        let start = (read_index & 0xFF8) as usize;
        let mut at = start;
        for (kind, offset8, extra8, count) in planted {
            let packet_type = [
                VmbusPacketType::DATA_IN_BAND,
                VmbusPacketType::COMPLETION,
                VmbusPacketType::DATA_USING_GPA_DIRECT,
                VmbusPacketType::DATA_USING_TRANSFER_PAGES,
            ][kind];
            let length8 = offset8 + extra8;
            let mut head = descriptor(packet_type, offset8, length8).to_vec();
            head.extend_from_slice(&[0, 0, 0, 0]);
            head.extend_from_slice(&count.to_le_bytes());
            for (i, byte) in head.into_iter().enumerate() {
                mem.write_bytes(DATA + (at + i) % 4096, &[byte]);
            }
            at = (at + usize::from(length8) * 8 + 8) % 4096;
        }
        let write = if aligned && at != start { at as u32 } else { write_index & mask };
        mem.store_u32(WRITE_INDEX, write);
        mem.store_u32(READ_INDEX, read_index & mask);
        mem.store_u32(PENDING_SEND_SIZE, (seed >> 52) as u32);
        mem.store_u32(FEATURE_BITS, 1);
        let Ok(mut reader) = RingReader::new(mem.ring(0, 2)) else {
            prop_assert!(!aligned);
            return Ok(());
        };
        let mut scratch = vec![0u8; scratch_len];
        for _ in 0..3 {
            let Ok(mut batch) = reader.batch() else { break };
            let mut count = 0;
            loop {
                match batch.next(&mut scratch) {
                    Ok(Some(packet)) => {
                        count += 1;
                        prop_assert!(count <= 4096 / 24);
                        let mut out = vec![0; packet.payload().len()];
                        packet.payload().read(0, &mut out).unwrap();
                        match packet.kind() {
                            PacketKind::GpaDirect(ranges) => {
                                for r in ranges.iter().flatten() {
                                    for i in 0..r.pfn_count() {
                                        r.pfn(i).unwrap();
                                    }
                                }
                            }
                            PacketKind::TransferPages(pages) => {
                                for i in 0..pages.len() as usize {
                                    pages.range(i).unwrap();
                                }
                            }
                            _ => {}
                        }
                    }
                    Ok(None) | Err(RingError::ScratchTooSmall { .. }) => break,
                    Err(RingError::Corrupt(_)) => return Ok(()),
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            let _ = batch.finish();
        }
    }

    /// A hostile reader controls the read index and flags: the writer never panics and
    /// never publishes an invalid index.
    #[test]
    fn writer_survives_arbitrary_control_pages(
        read_index in any::<u32>(),
        mask in any::<u32>(),
        sizes in proptest::collection::vec(0usize..2000, 1..8),
    ) {
        let mem = Pages::new(2);
        mem.ring(0, 2).reset();
        mem.store_u32(READ_INDEX, read_index);
        mem.store_u32(INTERRUPT_MASK, mask);
        let mut writer = RingWriter::new(mem.ring(0, 2)).unwrap();
        for size in sizes {
            let data = vec![0x11; size];
            match writer.write(&OutgoingPacket::in_band(&data, 0, false)) {
                Ok(_) | Err(RingError::Full { .. }) => {}
                Err(RingError::Corrupt(RingCorruption::BadReadIndex(i))) => {
                    prop_assert_eq!(i, read_index);
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
            let w = mem.load_u32(WRITE_INDEX);
            prop_assert!(w < 4096 && w % 8 == 0);
        }
    }

    /// Whatever sequence of sizes a producer writes, the reader gets exactly those packets
    /// back, across wrap-around.
    #[test]
    fn round_trips_any_sizes(
        sizes in proptest::collection::vec(0usize..3000, 1..if cfg!(miri) { 8 } else { 40 }),
    ) {
        let mem = Pages::new(2);
        let (mut writer, mut reader) = ring_pair(&mem, 2);
        let mut scratch = vec![0u8; 4096];
        for (seq, &size) in sizes.iter().enumerate() {
            let data = payload(seq as u64, size);
            let _ = writer
                .write(&OutgoingPacket::in_band(&data, seq as u64, false))
                .unwrap();
            let mut batch = reader.batch().unwrap();
            let packet = batch.next(&mut scratch).unwrap().unwrap();
            prop_assert_eq!(packet.transaction_id(), seq as u64);
            prop_assert_eq!(payload_bytes(&packet, size), data);
            prop_assert!(batch.next(&mut scratch).unwrap().is_none());
            batch.finish().unwrap();
        }
    }
}
