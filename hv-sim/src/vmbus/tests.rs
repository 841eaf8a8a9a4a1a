//! The server's protocol rules and the echo device's ring rules, on plain memory.

use hv_defs::vmbus::{
    VmbusCloseChannel, VmbusGpadlBody, VmbusRelIdReleased, VmbusRequestOffers, VmbusUnload,
};

use super::*;
use crate::mem::TestRam;

const VPS: u32 = 2;
const RAM: u64 = 64 * HV_PAGE_SIZE as u64;

fn contact(version: VmbusVersion, vp: u32) -> Vec<u8> {
    let target = if version.uses_target_info() {
        VmbusTargetInfo::new().with_sint(2).into_bits()
    } else {
        0x3000
    };
    VmbusInitiateContact {
        header: VmbusInitiateContact::HEADER,
        version_requested: version,
        target_vcpu: vp,
        interrupt_page_or_target_info: target,
        monitor_page1: 0x4000,
        monitor_page2: 0x5000,
    }
    .as_bytes()
    .to_vec()
}

/// The outbox's messages, taken.
fn replies(s: &mut Server) -> Vec<Outgoing> {
    std::mem::take(&mut s.outbox)
}

fn types(out: &[Outgoing]) -> Vec<VmbusMessageType> {
    out.iter()
        .map(|o| message_type(&o.bytes).unwrap())
        .collect()
}

fn version_response(out: &Outgoing) -> (bool, u32) {
    let mut bytes = out.bytes.clone();
    bytes.resize(16, 0);
    let r = VmbusVersionResponse::read_from_bytes(&bytes).unwrap();
    (r.version_supported != 0, r.message_connection_id)
}

fn connected(kind: VmbusServer, misbehaviour: Option<Misbehaviour>) -> Server {
    let mut s = Server::new(kind, misbehaviour);
    let version = kind.top_version();
    let id = version.initiate_contact_connection_id();
    assert_eq!(s.handle(id, &contact(version, 1), VPS, RAM), Handled::Ok);
    let out = replies(&mut s);
    assert!(version_response(&out[0]).0);
    s
}

#[test]
fn versions_up_to_the_top_on_their_connection_are_accepted() {
    for kind in [VmbusServer::Qemu, VmbusServer::HyperV] {
        for version in KNOWN_VERSIONS.into_iter().chain([VmbusVersion::V6_0]) {
            let mut s = Server::new(kind, None);
            let right = version.initiate_contact_connection_id();
            s.handle(right, &contact(version, 1), VPS, RAM);
            let out = replies(&mut s);
            assert_eq!(out.len(), 1);
            assert_eq!((out[0].vp, out[0].sint), (1, 2), "to the VP and SINT named");
            let (supported, connection) = version_response(&out[0]);
            let expected = version <= kind.top_version();
            assert_eq!(supported, expected, "{kind} {version:?}");
            assert_eq!(s.connected.is_some(), expected);
            let want = if expected && version.uses_target_info() {
                4
            } else {
                0
            };
            assert_eq!(connection, want);
            // The same version on the other connection is refused.
            let wrong = if right == 1 { 4 } else { 1 };
            let mut s = Server::new(kind, None);
            s.handle(wrong, &contact(version, 1), VPS, RAM);
            assert!(!version_response(&replies(&mut s)[0]).0);
        }
    }
    assert_eq!(VmbusServer::Qemu.message_connections(), [1]);
    assert_eq!(VmbusServer::HyperV.message_connections(), [1, 4]);
}

#[test]
fn qemu_answers_the_short_version_response() {
    let mut s = Server::new(VmbusServer::Qemu, None);
    s.handle(1, &contact(VmbusVersion::WIN10, 0), VPS, RAM);
    assert_eq!(replies(&mut s)[0].bytes.len(), 12);
    let mut s = Server::new(VmbusServer::HyperV, None);
    s.handle(4, &contact(VmbusVersion::WIN10_V5_3, 0), VPS, RAM);
    assert_eq!(replies(&mut s)[0].bytes.len(), 16);
}

#[test]
fn bad_contacts_and_messages_before_contact_are_dropped() {
    let mut s = Server::new(VmbusServer::HyperV, None);
    assert_eq!(
        s.handle(4, &contact(VmbusVersion::WIN10_V5_3, VPS), VPS, RAM),
        Handled::Bad,
        "no such VP"
    );
    assert_eq!(s.handle(4, &[1, 2, 3], VPS, RAM), Handled::Bad);
    let offers = VmbusRequestOffers {
        header: VmbusRequestOffers::HEADER,
    };
    assert_eq!(s.handle(4, offers.as_bytes(), VPS, RAM), Handled::Bad);
    assert!(replies(&mut s).is_empty());
    // A second contact while connected is refused; the connection stays.
    let mut s = connected(VmbusServer::HyperV, None);
    s.handle(4, &contact(VmbusVersion::WIN10_V5_2, 0), VPS, RAM);
    let out = replies(&mut s);
    assert!(!version_response(&out[0]).0);
    assert_eq!(out[0].vp, 0, "answered where the new contact asked");
    assert_eq!(s.connected.unwrap().version, VmbusVersion::WIN10_V5_3);
}

#[test]
fn offers_then_all_offers_delivered() {
    for kind in [VmbusServer::Qemu, VmbusServer::HyperV] {
        let mut s = connected(kind, None);
        let request = VmbusRequestOffers {
            header: VmbusRequestOffers::HEADER,
        };
        s.handle(1, request.as_bytes(), VPS, RAM);
        let out = replies(&mut s);
        assert_eq!(
            types(&out),
            [
                VmbusMessageType::OFFER_CHANNEL,
                VmbusMessageType::OFFER_CHANNEL,
                VmbusMessageType::OFFER_CHANNEL,
                VmbusMessageType::ALL_OFFERS_DELIVERED
            ]
        );
        let echo = VmbusOfferChannel::read_from_bytes(&out[0].bytes).unwrap();
        assert_eq!(echo.interface_type, HV_ENLIGHTENMENTS_ECHO_GUID);
        assert_eq!(echo.child_relid, ECHO_RELID);
        let expected = match kind {
            VmbusServer::Qemu => 17,
            VmbusServer::HyperV => 0x2001,
        };
        assert_eq!(echo.connection_id, expected);
        assert!(!echo.monitor_flags.monitor_allocated());
        let classes: Vec<_> = out[..3]
            .iter()
            .map(|o| {
                VmbusOfferChannel::read_from_bytes(&o.bytes)
                    .unwrap()
                    .interface_type
            })
            .collect();
        assert_eq!(classes[1..], [HV_NIC_GUID, HV_SCSI_GUID]);
        assert!(out.iter().all(|o| !o.oversize));
    }
}

/// A GPADL header for `relid` lending `pfns` as one range; page numbers that do not fit go
/// into body messages, as Linux splits them.
fn gpadl_messages(relid: u32, id: u32, pfns: &[u64]) -> Vec<Vec<u8>> {
    let mut words = vec![u64::from_le_bytes(
        VmbusGpaRange::new((pfns.len() * HV_PAGE_SIZE) as u32, 0)
            .as_bytes()
            .try_into()
            .unwrap(),
    )];
    words.extend_from_slice(pfns);
    let header = VmbusGpadlHeader {
        header: VmbusGpadlHeader::HEADER,
        child_relid: relid,
        gpadl: id,
        range_buf_len: (words.len() * 8) as u16,
        range_count: 1,
    };
    let first = words.len().min(27);
    let mut message = header.as_bytes().to_vec();
    for w in &words[..first] {
        message.extend_from_slice(&w.to_le_bytes());
    }
    let mut messages = vec![message];
    for (n, chunk) in words[first..].chunks(28).enumerate() {
        let body = VmbusGpadlBody {
            header: VmbusGpadlBody::HEADER,
            message_number: n as u32 + 1,
            gpadl: id,
        };
        let mut message = body.as_bytes().to_vec();
        for w in chunk {
            message.extend_from_slice(&w.to_le_bytes());
        }
        messages.push(message);
    }
    messages
}

fn created_status(out: &[Outgoing]) -> u32 {
    assert_eq!(types(out), [VmbusMessageType::GPADL_CREATED]);
    VmbusGpadlCreated::read_from_bytes(&out[0].bytes)
        .unwrap()
        .creation_status
}

#[test]
fn gpadls_complete_after_their_body_messages_and_bad_ones_fail() {
    let mut s = connected(VmbusServer::HyperV, None);
    let pfns: Vec<u64> = (8..48).collect();
    let messages = gpadl_messages(1, 7, &pfns);
    assert_eq!(messages.len(), 2, "40 pages need a body message");
    s.handle(4, &messages[0], VPS, RAM);
    assert!(replies(&mut s).is_empty(), "no answer before the body");
    s.handle(4, &messages[1], VPS, RAM);
    assert_eq!(created_status(&replies(&mut s)), 0);
    assert_eq!(s.gpadls[0].pfns.as_deref(), Some(&pfns[..]));
    // The same id again, an unknown channel, a page outside RAM: refused.
    for (relid, id, pfns) in [(1, 7, vec![9]), (9, 8, vec![9]), (1, 9, vec![RAM >> 12])] {
        s.handle(4, &gpadl_messages(relid, id, &pfns)[0], VPS, RAM);
        assert_eq!(created_status(&replies(&mut s)), STATUS_UNSUCCESSFUL);
    }
    // A range list longer than the header announced.
    let mut message = gpadl_messages(1, 10, &[9, 10])[0].clone();
    message[16..18].copy_from_slice(&16u16.to_le_bytes());
    s.handle(4, &message, VPS, RAM);
    assert_eq!(created_status(&replies(&mut s)), STATUS_UNSUCCESSFUL);
    assert_eq!(s.gpadls.len(), 1);
    // Teardown answers and forgets.
    let teardown = VmbusGpadlTeardown {
        header: VmbusGpadlTeardown::HEADER,
        child_relid: 1,
        gpadl: 7,
    };
    s.handle(4, teardown.as_bytes(), VPS, RAM);
    assert_eq!(types(&replies(&mut s)), [VmbusMessageType::GPADL_TORNDOWN]);
    assert!(s.gpadls.is_empty());
    assert_eq!(s.handle(4, teardown.as_bytes(), VPS, RAM), Handled::Bad);
}

fn open_message(relid: u32, gpadl: u32, split: u32, vp: u32) -> Vec<u8> {
    VmbusOpenChannel {
        header: VmbusOpenChannel::HEADER,
        child_relid: relid,
        open_id: 0x55,
        ring_buffer_gpadl: gpadl,
        target_vp: vp,
        downstream_ring_buffer_page_offset: split,
        user_data: [0; 120],
    }
    .as_bytes()
    .to_vec()
}

fn open_status(out: &[Outgoing]) -> u32 {
    assert_eq!(types(out), [VmbusMessageType::OPEN_CHANNEL_RESULT]);
    let r = VmbusOpenResult::read_from_bytes(&out[0].bytes).unwrap();
    assert_eq!(r.open_id, 0x55);
    r.status
}

/// Ring pages: upstream 8..12, downstream 12..16.
const UP: u64 = 8;
const DOWN: u64 = 12;

fn opened(kind: VmbusServer, misbehaviour: Option<Misbehaviour>) -> Server {
    let mut s = connected(kind, misbehaviour);
    let id = kind.message_connections()[kind.message_connections().len() - 1];
    s.handle(
        id,
        &gpadl_messages(1, 3, &(UP..DOWN + 4).collect::<Vec<_>>())[0],
        VPS,
        RAM,
    );
    assert_eq!(created_status(&replies(&mut s)), 0);
    s.handle(id, &open_message(1, 3, 4, 1), VPS, RAM);
    assert_eq!(open_status(&replies(&mut s)), 0);
    s
}

#[test]
fn opens_are_checked_and_close_and_unload_reset() {
    let mut s = connected(VmbusServer::HyperV, None);
    s.handle(4, &gpadl_messages(1, 3, &[8, 9, 10, 11])[0], VPS, RAM);
    replies(&mut s);
    // Split leaving a ring without data, a GPADL of another channel, no such VP.
    for message in [
        open_message(1, 3, 1, 0),
        open_message(1, 3, 3, 0),
        open_message(2, 3, 2, 0),
        open_message(1, 3, 2, VPS),
        open_message(1, 4, 2, 0),
    ] {
        s.handle(4, &message, VPS, RAM);
        assert_eq!(open_status(&replies(&mut s)), STATUS_UNSUCCESSFUL);
    }
    s.handle(4, &open_message(1, 3, 2, 0), VPS, RAM);
    assert_eq!(open_status(&replies(&mut s)), 0);
    s.handle(4, &open_message(1, 3, 2, 0), VPS, RAM);
    assert_eq!(
        open_status(&replies(&mut s)),
        STATUS_UNSUCCESSFUL,
        "open twice"
    );
    let close = VmbusCloseChannel {
        header: VmbusCloseChannel::HEADER,
        child_relid: 1,
    };
    assert_eq!(s.handle(4, close.as_bytes(), VPS, RAM), Handled::Ok);
    assert!(replies(&mut s).is_empty(), "close has no answer");
    assert_eq!(s.handle(4, close.as_bytes(), VPS, RAM), Handled::Bad);
    let unload = VmbusUnload {
        header: VmbusUnload::HEADER,
    };
    s.handle(4, unload.as_bytes(), VPS, RAM);
    assert_eq!(types(&replies(&mut s)), [VmbusMessageType::UNLOAD_RESPONSE]);
    assert!(s.connected.is_none() && s.gpadls.is_empty());
}

#[test]
fn misbehaving_offers_and_opens() {
    let mut s = connected(VmbusServer::HyperV, Some(Misbehaviour::OversizeMessage));
    let request = VmbusRequestOffers {
        header: VmbusRequestOffers::HEADER,
    };
    s.handle(4, request.as_bytes(), VPS, RAM);
    let out = replies(&mut s);
    assert_eq!(
        out.iter().map(|o| o.oversize).collect::<Vec<_>>(),
        [true, false, false, false]
    );
    let mut s = connected(VmbusServer::Qemu, Some(Misbehaviour::RescindOnOpen));
    s.handle(1, &gpadl_messages(1, 3, &[8, 9, 10, 11])[0], VPS, RAM);
    replies(&mut s);
    s.handle(1, &open_message(1, 3, 2, 0), VPS, RAM);
    assert_eq!(
        types(&replies(&mut s)),
        [VmbusMessageType::RESCIND_CHANNEL_OFFER]
    );
    // The rescinded channel is gone once released, with its GPADLs.
    let release = VmbusRelIdReleased {
        header: VmbusRelIdReleased::HEADER,
        child_relid: 1,
    };
    assert_eq!(s.handle(1, release.as_bytes(), VPS, RAM), Handled::Ok);
    assert!(s.channels.iter().all(|c| c.offer.child_relid != 1));
    assert!(s.gpadls.is_empty());
    assert_eq!(s.handle(1, release.as_bytes(), VPS, RAM), Handled::Bad);
}

/// Writes an in-band packet with `payload` at `at` of the upstream ring; returns the next
/// write index.
fn put_in_band(ram: &mut TestRam, open: &Open, at: u32, id: u64, payload: &[u8]) -> u32 {
    let padded = payload.len().next_multiple_of(8);
    let d = VmbusPacketDescriptor {
        packet_type: VmbusPacketType::DATA_IN_BAND,
        data_offset8: 2,
        length8: 2 + (padded / 8) as u16,
        flags: VmbusPacketFlags::new(),
        transaction_id: id,
    };
    let mut bytes = d.as_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes.resize(16 + padded, 0);
    open.upstream.put_packet(ram, at, &bytes).unwrap()
}

fn echo_open(s: &mut Server) -> &mut Open {
    s.channels[0].open.as_mut().unwrap()
}

fn ram() -> TestRam {
    TestRam(vec![0; RAM as usize])
}

#[test]
fn echo_writes_completions_and_signals_only_an_empty_ring() {
    let mut s = opened(VmbusServer::HyperV, None);
    let mut ram = ram();
    let open = echo_open(&mut s);
    let mut w = 0;
    for id in 0..3 {
        w = put_in_band(&mut ram, open, w, id, &[id as u8; 13]);
    }
    open.upstream.set_control(&mut ram, WRITE_INDEX, w).unwrap();
    let round = open.echo(&mut ram, false);
    assert_eq!((round.packets, round.signal), (3, true));
    assert_eq!(open.upstream.control(&mut ram, READ_INDEX), Ok(w));
    let down_w = open.downstream.control(&mut ram, WRITE_INDEX).unwrap();
    assert_eq!(down_w, 3 * (16 + 16 + 8));
    let mut packet = [0u8; 32];
    open.downstream.read(&mut ram, 40, &mut packet).unwrap();
    let d = VmbusPacketDescriptor::read_from_bytes(&packet[..16]).unwrap();
    assert_eq!(d.packet_type, VmbusPacketType::COMPLETION);
    assert_eq!((d.transaction_id, d.length8), (1, 4));
    assert_eq!(packet[16..29], [1; 13]);
    // The guest has not read: a new batch does not signal.
    let w2 = put_in_band(&mut ram, open, w, 9, b"x");
    open.upstream
        .set_control(&mut ram, WRITE_INDEX, w2)
        .unwrap();
    let round = open.echo(&mut ram, false);
    assert_eq!((round.packets, round.signal), (1, false));
    // The guest read everything but masked interrupts: no signal either.
    let all = open.downstream.control(&mut ram, WRITE_INDEX).unwrap();
    open.downstream
        .set_control(&mut ram, READ_INDEX, all)
        .unwrap();
    open.downstream
        .set_control(&mut ram, INTERRUPT_MASK, 1)
        .unwrap();
    let w3 = put_in_band(&mut ram, open, w2, 10, b"y");
    open.upstream
        .set_control(&mut ram, WRITE_INDEX, w3)
        .unwrap();
    let round = open.echo(&mut ram, false);
    assert_eq!((round.packets, round.signal), (1, false));
}

#[test]
fn a_full_host_ring_waits_with_pending_send_size() {
    let mut s = opened(VmbusServer::Qemu, None);
    let mut ram = ram();
    let open = echo_open(&mut s);
    // Downstream data area: 3 pages. Each echo of 1000 bytes takes 16 + 1000 + 8 bytes.
    let mut w = 0;
    for id in 0..11 {
        w = put_in_band(&mut ram, open, w, id, &[7; 1000]);
    }
    open.upstream.set_control(&mut ram, WRITE_INDEX, w).unwrap();
    let round = open.echo(&mut ram, false);
    assert_eq!(round.packets, 11);
    let mut more = w;
    for id in 11..13 {
        more = put_in_band(&mut ram, open, more, id, &[7; 1000]);
    }
    open.upstream
        .set_control(&mut ram, WRITE_INDEX, more)
        .unwrap();
    let round = open.echo(&mut ram, false);
    assert_eq!(round.packets, 0, "12 echoes would fill the ring");
    assert_eq!(
        open.downstream.control(&mut ram, PENDING_SEND_SIZE),
        Ok(1024)
    );
    assert_eq!(open.upstream.control(&mut ram, READ_INDEX), Ok(w));
    // The guest reads everything; the next round goes on and clears the request.
    let all = open.downstream.control(&mut ram, WRITE_INDEX).unwrap();
    open.downstream
        .set_control(&mut ram, READ_INDEX, all)
        .unwrap();
    let round = open.echo(&mut ram, false);
    assert_eq!((round.packets, round.signal), (2, true));
    assert_eq!(open.downstream.control(&mut ram, PENDING_SEND_SIZE), Ok(0));
}

#[test]
fn freeing_space_a_guest_waits_for_signals_it() {
    let mut s = opened(VmbusServer::HyperV, None);
    let mut ram = ram();
    let open = echo_open(&mut s);
    open.upstream
        .set_control(&mut ram, FEATURE_BITS, 1)
        .unwrap();
    // The guest filled most of the ring and asks for 4 KiB; the guest's own ring reader
    // has not read the earlier echoes (no empty-ring signal).
    open.downstream
        .set_control(&mut ram, READ_INDEX, 0)
        .unwrap();
    open.write = 8;
    let mut w = 0;
    for id in 0..9 {
        w = put_in_band(&mut ram, open, w, id, &[1; 1000]);
    }
    open.upstream.set_control(&mut ram, WRITE_INDEX, w).unwrap();
    open.upstream
        .set_control(&mut ram, PENDING_SEND_SIZE, 4096)
        .unwrap();
    let round = open.echo(&mut ram, false);
    assert_eq!((round.packets, round.signal), (9, true));
}

#[test]
fn guest_garbage_stops_the_channel_without_panicking() {
    let mut seed = 0x1234_5678_9ABC_DEF1u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..500 {
        let mut s = opened(VmbusServer::HyperV, None);
        let mut ram = ram();
        let open = echo_open(&mut s);
        // Random bytes in the upstream ring's data and a random (aligned or not) index.
        for page in UP + 1..DOWN {
            let bytes: Vec<u8> = (0..HV_PAGE_SIZE).map(|_| next() as u8).collect();
            ram.0[(page as usize) << 12..((page as usize) + 1) << 12].copy_from_slice(&bytes);
        }
        let index = (next() % 0x4000) as u32 & !(next() as u32 & 4);
        open.upstream
            .set_control(&mut ram, WRITE_INDEX, index)
            .unwrap();
        open.downstream
            .set_control(&mut ram, READ_INDEX, (next() % 0x3000) as u32 & !7)
            .unwrap();
        let round = open.echo(&mut ram, false);
        if round.fault.is_some() {
            assert!(open.failed);
        }
    }
}

#[test]
fn bad_indices_misbehaviour_publishes_an_index_outside_the_ring() {
    let mut s = opened(VmbusServer::HyperV, Some(Misbehaviour::BadIndices));
    let mut ram = ram();
    let open = echo_open(&mut s);
    let w = put_in_band(&mut ram, open, 0, 1, b"abc");
    open.upstream.set_control(&mut ram, WRITE_INDEX, w).unwrap();
    let round = open.echo(&mut ram, true);
    assert_eq!(round.packets, 1);
    assert_eq!(
        open.downstream.control(&mut ram, WRITE_INDEX),
        Ok(3 * HV_PAGE_SIZE as u32 + 8)
    );
    assert!(open.failed, "the broken host does nothing more");
}

#[test]
fn profiles_pick_their_default_server() {
    assert_eq!(
        VmbusChoice::Default.resolve(&Profile::hyperv()),
        Some(VmbusServer::HyperV)
    );
    assert_eq!(
        VmbusChoice::Default.resolve(&Profile::kvm()),
        Some(VmbusServer::Qemu)
    );
    assert_eq!(VmbusChoice::Default.resolve(&Profile::none()), None);
    assert_eq!(VmbusChoice::Off.resolve(&Profile::hyperv()), None);
    assert_eq!(
        VmbusChoice::parse("qemu")
            .unwrap()
            .resolve(&Profile::hyperv()),
        Some(VmbusServer::Qemu)
    );
    let no_synic = Profile::parse(None, Some("relaxed,vpindex")).unwrap();
    assert_eq!(
        VmbusChoice::Server(VmbusServer::HyperV).resolve(&no_synic),
        None,
        "no SynIC, no VMBus"
    );
    assert!(VmbusChoice::parse("vmbus").is_err());
}
