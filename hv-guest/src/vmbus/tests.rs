//! The client against scripted hosts: a QEMU-like host (up to 4.0, connection 1 only), a
//! Hyper-V-like host (5.3 on connection 4), older and newer hosts, and hostile ones.

extern crate std;

use std::collections::{BTreeMap, VecDeque};
use std::vec;
use std::vec::Vec;

use hv_defs::status::HvError;
use hv_defs::vmbus::*;
use proptest::prelude::*;
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::testutil::{Pages, proptest_config};
use super::*;

/// Guest page numbers of the test arena start here.
const ARENA_PFN: u64 = 0x8_0000;
const INTERRUPT_PAGE: usize = 0;
const MONITOR_1: usize = 1;
const MONITOR_2: usize = 2;
/// First arena page for ring buffers.
const RINGS: usize = 4;

fn gpa(page: usize) -> u64 {
    (ARENA_PFN + page as u64) << 12
}

fn pfns(first: usize, count: usize) -> Vec<u64> {
    (0..count as u64)
        .map(|i| ARENA_PFN + first as u64 + i)
        .collect()
}

fn offer(relid: u32, class: Guid, connection_id: u32, dedicated: bool) -> VmbusOfferChannel {
    let mut offer = VmbusOfferChannel::new_zeroed();
    offer.header = VmbusOfferChannel::HEADER;
    offer.interface_type = class;
    offer.interface_instance = Guid::new(relid, 0x1234, 0x5678, [relid as u8; 8]);
    offer.child_relid = relid;
    offer.connection_id = connection_id;
    offer.interrupt_flags = VmbusOfferInterruptFlags::new().with_dedicated_interrupt(dedicated);
    offer.monitor_id = relid as u8;
    offer.monitor_flags = VmbusOfferMonitorFlags::new().with_monitor_allocated(true);
    offer.mmio_megabytes = 4;
    offer.user_defined[0] = 0xAB;
    offer
}

/// Little-endian page numbers filling `bytes` exactly (they are not 8-byte aligned in a
/// GPADL header message).
fn pfn_list(bytes: &[u8]) -> Vec<u64> {
    assert_eq!(bytes.len() % 8, 0, "page numbers fill the message exactly");
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[derive(Debug)]
struct HostGpadl {
    relid: u32,
    total: usize,
    pfns: Vec<u64>,
}

/// The host side of a channel's rings.
#[derive(Debug)]
struct HostRings<'m> {
    to_guest: RingWriter<'m>,
    from_guest: RingReader<'m>,
}

/// A scripted VMBus host. It answers every message it receives synchronously (into
/// `outbox`), checks that the guest's messages are well formed, and can be told to
/// misbehave.
#[derive(Debug)]
struct Host<'m> {
    arena: &'m Pages,
    // Policy.
    max_version: VmbusVersion,
    min_version: VmbusVersion,
    connection_4: bool,
    response_connection_id: u32,
    qemu_version_response: bool,
    offers: Vec<VmbusOfferChannel>,
    gpadl_status: u32,
    open_status: u32,
    answer_opens: bool,
    fail_posts: VecDeque<HvError>,
    // Record.
    posts: Vec<(u32, Vec<u8>)>,
    refused_posts: usize,
    signals: Vec<u32>,
    outbox: VecDeque<Vec<u8>>,
    gpadls: BTreeMap<u32, HostGpadl>,
    rings: BTreeMap<u32, HostRings<'m>>,
    released: Vec<u32>,
}

impl<'m> Host<'m> {
    /// QEMU's VMBus: versions up to 4.0, connection 1 only, 12-byte version responses
    /// rounded up to 16, dedicated interrupts, connection id 16 + relid.
    fn qemu(arena: &'m Pages) -> Self {
        Self {
            arena,
            max_version: VmbusVersion::WIN10,
            min_version: VmbusVersion::WIN8,
            connection_4: false,
            response_connection_id: 0,
            qemu_version_response: true,
            offers: vec![
                offer(1, HV_NIC_GUID, 17, true),
                offer(2, HV_SCSI_GUID, 18, true),
            ],
            gpadl_status: 0,
            open_status: 0,
            answer_opens: true,
            fail_posts: VecDeque::new(),
            posts: Vec::new(),
            refused_posts: 0,
            signals: Vec::new(),
            outbox: VecDeque::new(),
            gpadls: BTreeMap::new(),
            rings: BTreeMap::new(),
            released: Vec::new(),
        }
    }

    /// Hyper-V on Windows Server 2022: 5.3 on connection 4, later messages to connection 4.
    fn hyperv(arena: &'m Pages) -> Self {
        Self {
            max_version: VmbusVersion::WIN10_V5_3,
            min_version: VmbusVersion::WS2008,
            connection_4: true,
            response_connection_id: VMBUS_MESSAGE_CONNECTION_ID_4,
            qemu_version_response: false,
            offers: vec![
                offer(1, HV_HEART_BEAT_GUID, 0x1_0001, false),
                offer(7, HV_SCSI_GUID, 0x1_0007, true),
            ],
            ..Self::qemu(arena)
        }
    }

    fn reply<T: IntoBytes + zerocopy::Immutable>(&mut self, message: &T) {
        self.outbox.push_back(message.as_bytes().to_vec());
    }

    fn last_post<T: FromBytes>(&self) -> (u32, T) {
        let (connection_id, bytes) = self.posts.last().expect("nothing posted");
        (*connection_id, T::read_from_prefix(bytes).unwrap().0)
    }

    fn process(&mut self, connection_id: u32, bytes: &[u8]) {
        let header = VmbusMessageHeader::read_from_prefix(bytes).unwrap().0;
        assert_eq!(header.padding, 0);
        match header.message_type {
            VmbusMessageType::INITIATE_CONTACT => {
                assert_eq!(bytes.len(), size_of::<VmbusInitiateContact>());
                let m = VmbusInitiateContact::read_from_bytes(bytes).unwrap();
                let v = m.version_requested;
                assert_eq!(connection_id, v.initiate_contact_connection_id());
                let supported = v >= self.min_version && v <= self.max_version;
                if self.qemu_version_response {
                    let mut response = vec![0u8; 16];
                    response[..4]
                        .copy_from_slice(VmbusMessageType::VERSION_RESPONSE.get().as_bytes());
                    response[8] = u8::from(supported);
                    self.outbox.push_back(response);
                } else if supported && v >= VmbusVersion::V6_0 {
                    let response = VmbusVersionResponse2 {
                        header: VmbusVersionResponse2::HEADER,
                        version_supported: 1,
                        connection_state: VmbusConnectionState::SUCCESSFUL,
                        padding: 0,
                        message_connection_id: self.response_connection_id,
                        supported_features: VmbusFeatureFlags::new(),
                    };
                    self.reply(&response);
                } else {
                    let response = VmbusVersionResponse {
                        header: VmbusVersionResponse::HEADER,
                        version_supported: u8::from(supported),
                        connection_state: VmbusConnectionState::SUCCESSFUL,
                        padding: 0,
                        message_connection_id: self.response_connection_id,
                    };
                    self.reply(&response);
                }
            }
            VmbusMessageType::REQUEST_OFFERS => {
                assert_eq!(bytes.len(), 8);
                for offer in self.offers.clone() {
                    self.reply(&offer);
                }
                self.reply(&VmbusAllOffersDelivered {
                    header: VmbusAllOffersDelivered::HEADER,
                });
            }
            VmbusMessageType::GPADL_HEADER => {
                let (h, rest) = VmbusGpadlHeader::read_from_prefix(bytes).unwrap();
                let (range, pfns) = VmbusGpaRange::read_from_prefix(rest).unwrap();
                assert_eq!(h.range_count, 1);
                assert_eq!(range.byte_offset, 0);
                assert_eq!(range.byte_count % 4096, 0);
                let total = range.pfn_count().unwrap() as usize;
                assert_eq!(
                    h.range_buf_len as u64,
                    VmbusGpaRange::encoded_size(total as u32)
                );
                let sent = pfn_list(pfns);
                assert_eq!(sent.len(), total.min(VMBUS_GPADL_HEADER_MAX_PFNS));
                let old = self.gpadls.insert(
                    h.gpadl,
                    HostGpadl {
                        relid: h.child_relid,
                        total,
                        pfns: sent,
                    },
                );
                assert!(old.is_none(), "GPADL handle reused");
                self.maybe_created(h.gpadl);
            }
            VmbusMessageType::GPADL_BODY => {
                let (b, rest) = VmbusGpadlBody::read_from_prefix(bytes).unwrap();
                assert_eq!(b.message_number, 0);
                let sent = pfn_list(rest);
                let g = self
                    .gpadls
                    .get_mut(&b.gpadl)
                    .expect("body for unknown GPADL");
                assert!(!sent.is_empty() && sent.len() <= VMBUS_GPADL_BODY_MAX_PFNS);
                g.pfns.extend_from_slice(&sent);
                assert!(g.pfns.len() <= g.total, "more page numbers than announced");
                self.maybe_created(b.gpadl);
            }
            VmbusMessageType::GPADL_TEARDOWN => {
                let m = VmbusGpadlTeardown::read_from_bytes(bytes).unwrap();
                let g = self
                    .gpadls
                    .remove(&m.gpadl)
                    .expect("teardown of unknown GPADL");
                assert_eq!(g.relid, m.child_relid);
                self.reply(&VmbusGpadlTorndown {
                    header: VmbusGpadlTorndown::HEADER,
                    gpadl: m.gpadl,
                });
            }
            VmbusMessageType::OPEN_CHANNEL => {
                let m = VmbusOpenChannel::read_from_bytes(bytes).unwrap();
                let g = &self.gpadls[&m.ring_buffer_gpadl];
                assert_eq!(g.relid, m.child_relid);
                assert_eq!(g.pfns.len(), g.total);
                let first = (g.pfns[0] - ARENA_PFN) as usize;
                let split = m.downstream_ring_buffer_page_offset as usize;
                let total = g.pfns.len();
                assert_eq!(
                    g.pfns,
                    pfns(first, total),
                    "rings are contiguous in the arena"
                );
                if self.open_status == 0 {
                    let rings = HostRings {
                        from_guest: RingReader::new(self.arena.ring(first, split)).unwrap(),
                        to_guest: RingWriter::new(self.arena.ring(first + split, total - split))
                            .unwrap(),
                    };
                    self.rings.insert(m.child_relid, rings);
                }
                if self.answer_opens {
                    self.reply(&VmbusOpenResult {
                        header: VmbusOpenResult::HEADER,
                        child_relid: m.child_relid,
                        open_id: m.open_id,
                        status: self.open_status,
                    });
                }
            }
            VmbusMessageType::CLOSE_CHANNEL => {
                let m = VmbusCloseChannel::read_from_bytes(bytes).unwrap();
                self.rings.remove(&m.child_relid);
            }
            VmbusMessageType::REL_ID_RELEASED => {
                let m = VmbusRelIdReleased::read_from_bytes(bytes).unwrap();
                self.released.push(m.child_relid);
            }
            VmbusMessageType::UNLOAD => {
                assert_eq!(bytes.len(), 8);
                self.reply(&VmbusUnloadResponse {
                    header: VmbusUnloadResponse::HEADER,
                });
            }
            other => panic!("the host does not expect {other:?}"),
        }
    }

    fn maybe_created(&mut self, handle: u32) {
        let g = &self.gpadls[&handle];
        if g.pfns.len() == g.total {
            let created = VmbusGpadlCreated {
                header: VmbusGpadlCreated::HEADER,
                child_relid: g.relid,
                gpadl: handle,
                creation_status: self.gpadl_status,
            };
            if self.gpadl_status != 0 {
                self.gpadls.remove(&handle);
            }
            self.reply(&created);
        }
    }

    /// The host writes an in-band packet to the guest; returns whether it would signal.
    fn send_to_guest(&mut self, relid: u32, payload: &[u8], transaction_id: u64) -> bool {
        let rings = self.rings.get_mut(&relid).expect("channel not open");
        rings
            .to_guest
            .write(&OutgoingPacket::in_band(payload, transaction_id, false))
            .unwrap()
            .signal
    }

    /// The host reads every packet the guest sent: (type, transaction id, payload).
    fn receive_from_guest(&mut self, relid: u32) -> Vec<(VmbusPacketType, u64, Vec<u8>)> {
        let rings = self.rings.get_mut(&relid).expect("channel not open");
        let mut scratch = vec![0u8; 1 << 16];
        let mut batch = rings.from_guest.batch().unwrap();
        let mut out = Vec::new();
        while let Some(p) = batch.next(&mut scratch).unwrap() {
            let mut bytes = vec![0; p.payload().len()];
            p.payload().read(0, &mut bytes).unwrap();
            out.push((p.packet_type(), p.transaction_id(), bytes));
        }
        batch.finish().unwrap();
        out
    }
}

impl VmbusTransport for Host<'_> {
    fn post_message(
        &mut self,
        connection_id: u32,
        message_type: u32,
        payload: &[u8],
    ) -> Result<(), HvError> {
        assert_eq!(message_type, VMBUS_SYNIC_MESSAGE_TYPE);
        assert!(payload.len() <= VMBUS_MAX_MESSAGE_SIZE);
        if let Some(error) = self.fail_posts.pop_front() {
            self.refused_posts += 1;
            return Err(error);
        }
        if connection_id == VMBUS_MESSAGE_CONNECTION_ID_4 && !self.connection_4 {
            self.refused_posts += 1;
            return Err(HvError::INVALID_CONNECTION_ID);
        }
        self.posts.push((connection_id, payload.to_vec()));
        self.process(connection_id, payload);
        Ok(())
    }

    fn signal_event(&mut self, connection_id: u32) -> Result<(), HvError> {
        self.signals.push(connection_id);
        Ok(())
    }
}

/// Feeds every queued host message to the client.
fn pump(client: &mut VmbusClient<'_, '_>, host: &mut Host<'_>) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(message) = host.outbox.pop_front() {
        events.push(client.handle_message(&message).unwrap());
    }
    events
}

/// Negotiates: asks again after every rejection. Returns the events.
fn connect(client: &mut VmbusClient<'_, '_>, host: &mut Host<'_>) -> Vec<Event> {
    let mut events = Vec::new();
    client.initiate_contact(host).unwrap();
    loop {
        let got = pump(client, host);
        let again = matches!(
            got.last(),
            Some(Event::VersionRejected { next: Some(_), .. })
        );
        events.extend(got);
        if !again {
            return events;
        }
        client.initiate_contact(host).unwrap();
    }
}

fn config(arena: &Pages, interrupt_page: bool) -> ConnectConfig<'_> {
    // SAFETY: the arena pages are test memory used for nothing else.
    let monitor = unsafe { MonitorPages::new(gpa(MONITOR_1), gpa(MONITOR_2)).unwrap() };
    let page = interrupt_page.then(|| {
        // SAFETY: as above; the interrupt page is arena page 0.
        unsafe { InterruptPage::new(arena.page(INTERRUPT_PAGE), gpa(INTERRUPT_PAGE)).unwrap() }
    });
    ConnectConfig::new(3, monitor, page)
}

/// Ring memory of `pages` arena pages from `first`, half for each direction.
fn ring_memory<'a>(arena: &'a Pages, pfns: &'a [u64], first: usize) -> RingBufferMemory<'a> {
    // SAFETY: arena pages `first ..` are test memory used only as these rings, and `pfns`
    // are their page numbers in the arena's numbering.
    unsafe { RingBufferMemory::new(arena.page(first), pfns, pfns.len() / 2).unwrap() }
}

/// Lends `pfns` and waits for the GPADL to be created.
fn create_gpadl<'a>(
    client: &mut VmbusClient<'_, 'a>,
    host: &mut Host<'_>,
    relid: u32,
    pfns: &'a [u64],
) -> u32 {
    // SAFETY: the pages are arena test memory.
    let handle = unsafe { client.create_gpadl(host, relid, pfns).unwrap() };
    assert_eq!(
        pump(client, host),
        [Event::GpadlCreated {
            relid,
            gpadl: handle
        }]
    );
    handle
}

fn open<'a>(
    client: &mut VmbusClient<'_, 'a>,
    host: &mut Host<'_>,
    arena: &'a Pages,
    relid: u32,
    pfns: &'a [u64],
) -> u32 {
    let gpadl = create_gpadl(client, host, relid, pfns);
    let first = (pfns[0] - ARENA_PFN) as usize;
    let memory = ring_memory(arena, pfns, first);
    client
        .open_channel(host, relid, memory, gpadl, 0, b"user")
        .unwrap();
    assert_eq!(pump(client, host), [Event::Opened { relid }]);
    gpadl
}

fn interrupt_send_bit(arena: &Pages, relid: u32) -> bool {
    let mut byte = [0u8];
    arena.read_bytes(2048 + relid as usize / 8, &mut byte);
    byte[0] & (1 << (relid % 8)) != 0
}

#[test]
fn qemu_like_host_speaks_4_0_on_connection_1() {
    let arena = Pages::new(64);
    let mut host = Host::qemu(&arena);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY, GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
    assert_eq!(client.state(), ConnectionState::Disconnected);

    let events = connect(&mut client, &mut host);
    // 6.0 and 5.3 .. 5.0 went to connection 4, which QEMU refuses; 4.1 was answered
    // "unsupported"; 4.0 accepted.
    assert_eq!(host.refused_posts, 5);
    assert_eq!(
        events,
        [
            Event::VersionRejected {
                version: VmbusVersion::WIN10_V4_1,
                next: Some(VmbusVersion::WIN10)
            },
            Event::Connected {
                version: VmbusVersion::WIN10,
                message_connection_id: VMBUS_MESSAGE_CONNECTION_ID
            }
        ]
    );
    let (connection_id, contact) = host.last_post::<VmbusInitiateContact>();
    assert_eq!(connection_id, VMBUS_MESSAGE_CONNECTION_ID);
    assert_eq!(contact.version_requested, VmbusVersion::WIN10);
    assert_eq!(contact.target_vcpu, 3);
    assert_eq!(contact.interrupt_page_or_target_info, gpa(INTERRUPT_PAGE));
    assert_eq!(contact.monitor_page1, gpa(MONITOR_1));
    assert_eq!(contact.monitor_page2, gpa(MONITOR_2));
    assert_eq!(
        client.state(),
        ConnectionState::Connected(VmbusVersion::WIN10)
    );

    client.request_offers(&mut host).unwrap();
    assert_eq!(
        pump(&mut client, &mut host),
        [
            Event::Offer { relid: 1 },
            Event::Offer { relid: 2 },
            Event::AllOffersDelivered
        ]
    );
    assert!(client.all_offers_delivered());
    let nic = client.channel(1).unwrap();
    assert_eq!(nic.class_name(), Some("network"));
    assert_eq!(nic.signal_connection_id(), 17);
    assert!(nic.dedicated_interrupt());
    assert_eq!(nic.monitor_id(), Some(1));
    assert_eq!(nic.offer().mmio_megabytes, 4);
    assert_eq!(nic.status(), ChannelStatus::Closed);
    assert_eq!(client.channels().count(), 2);

    // 40 ring pages: the GPADL needs a header (26 page numbers) and a body (14).
    let ring_pfns = pfns(RINGS, 40);
    let gpadl = open(&mut client, &mut host, &arena, 1, &ring_pfns);
    let sizes: Vec<usize> = host.posts.iter().map(|(_, m)| m.len()).collect();
    assert!(
        sizes.ends_with(&[20 + 8 + 26 * 8, 16 + 14 * 8, 148]),
        "{sizes:?}"
    );
    let (_, open_message) = host.last_post::<VmbusOpenChannel>();
    assert_eq!(open_message.downstream_ring_buffer_page_offset, 20);
    assert_eq!(open_message.ring_buffer_gpadl, gpadl);
    assert_eq!(&open_message.user_data[..5], b"user\0");
    assert_eq!(client.channel(1).unwrap().status(), ChannelStatus::Open);

    // Guest to host: a burst of three packets costs one signal, on the offer's connection.
    for tid in 0..3 {
        client
            .send(
                &mut host,
                1,
                &OutgoingPacket::in_band(&[tid as u8; 5], tid, true),
            )
            .unwrap();
    }
    assert_eq!(host.signals, [17]);
    assert!(
        !interrupt_send_bit(&arena, 1),
        "dedicated interrupt: no page bit"
    );
    let got = host.receive_from_guest(1);
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].1, 2);
    assert_eq!(&got[2].2[..5], &[2; 5]);

    // Host to guest.
    assert!(host.send_to_guest(1, b"hello", 77));
    let mut scratch = [0u8; 128];
    let mut receiver = client.receive(1).unwrap();
    let packet = receiver.next(&mut scratch).unwrap().unwrap();
    assert_eq!(packet.transaction_id(), 77);
    let mut text = [0u8; 5];
    packet.payload().read(0, &mut text).unwrap();
    assert_eq!(&text, b"hello");
    assert!(receiver.next(&mut scratch).unwrap().is_none());
    receiver.finish(&mut host).unwrap();
    assert_eq!(
        host.signals,
        [17],
        "no pending send size: no signal after reading"
    );

    // Close, tear the ring GPADL down, unload.
    assert_eq!(
        client.teardown_gpadl(&mut host, gpadl).unwrap_err(),
        Error::GpadlState {
            gpadl,
            state: GpadlState::Created
        },
        "the open channel still uses the GPADL"
    );
    client.close_channel(&mut host, 1).unwrap();
    client.teardown_gpadl(&mut host, gpadl).unwrap();
    assert_eq!(client.gpadl_state(gpadl), Some(GpadlState::TearingDown));
    assert_eq!(
        pump(&mut client, &mut host),
        [Event::GpadlTornDown { gpadl }]
    );
    assert_eq!(client.gpadl_state(gpadl), None);
    client.unload(&mut host).unwrap();
    assert_eq!(
        client.state(),
        ConnectionState::Unloading(VmbusVersion::WIN10)
    );
    assert_eq!(pump(&mut client, &mut host), [Event::Unloaded]);
    assert_eq!(client.state(), ConnectionState::Disconnected);
    assert!(client.channel(1).is_none());
}

#[test]
fn qemu_10_byte_version_response_is_enough_before_5_0() {
    let arena = Pages::new(8);
    let mut host = Host::qemu(&arena);
    let mut channels = [ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
    connect(&mut client, &mut host);
    client.unload(&mut host).unwrap();
    pump(&mut client, &mut host);
    host.max_version = VmbusVersion::WIN8_1;
    client.initiate_contact(&mut host).unwrap();
    let mut response = host.outbox.pop_back().unwrap();
    response.truncate(10);
    assert_eq!(
        client.handle_message(&response[..9]).unwrap_err(),
        Error::Message(MessageError::TooShort {
            message_type: Some(VmbusMessageType::VERSION_RESPONSE),
            len: 9,
            min: 10
        })
    );
    // After the unload the client starts from the newest version again; 4.1 is the first
    // QEMU answers (refusing it), as before.
    assert_eq!(
        client.state(),
        ConnectionState::Contacting(VmbusVersion::WIN10_V4_1)
    );
    assert!(matches!(
        client.handle_message(&response).unwrap(),
        Event::VersionRejected { .. }
    ));
}

#[test]
fn hyperv_like_host_speaks_5_3_on_connection_4() {
    let arena = Pages::new(64);
    let mut host = Host::hyperv(&arena);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY, GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);

    let events = connect(&mut client, &mut host);
    assert_eq!(host.refused_posts, 0);
    assert_eq!(
        events,
        [
            Event::VersionRejected {
                version: VmbusVersion::V6_0,
                next: Some(VmbusVersion::WIN10_V5_3)
            },
            Event::Connected {
                version: VmbusVersion::WIN10_V5_3,
                message_connection_id: 4
            }
        ]
    );
    let (connection_id, contact) = host.last_post::<VmbusInitiateContact>();
    assert_eq!(connection_id, VMBUS_MESSAGE_CONNECTION_ID_4);
    let target = VmbusTargetInfo::from_bits(contact.interrupt_page_or_target_info);
    assert_eq!(target.sint(), VMBUS_MESSAGE_SINT);
    assert_eq!(target.vtl(), 0);
    assert_eq!(target.feature_flags(), VmbusFeatureFlags::new());

    client.request_offers(&mut host).unwrap();
    assert_eq!(host.posts.last().unwrap().0, 4);
    pump(&mut client, &mut host);
    let heartbeat = client.channel(1).unwrap();
    assert_eq!(heartbeat.class_name(), Some("heartbeat"));
    assert!(!heartbeat.dedicated_interrupt());

    let ring_pfns = pfns(RINGS, 4);
    open(&mut client, &mut host, &arena, 1, &ring_pfns);
    client
        .send(&mut host, 1, &OutgoingPacket::in_band(b"beat", 1, false))
        .unwrap();
    assert_eq!(host.signals, [0x1_0001]);
    assert!(
        !interrupt_send_bit(&arena, 1),
        "from 5.0 the interrupt page is not used"
    );
    assert!(host.posts.iter().all(|(c, _)| *c == 4));
}

#[test]
fn later_messages_go_to_the_connection_id_the_host_names() {
    let arena = Pages::new(8);
    let mut host = Host::hyperv(&arena);
    host.response_connection_id = 0x2A;
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
    connect(&mut client, &mut host);
    assert_eq!(client.message_connection_id(), Some(0x2A));
    client.request_offers(&mut host).unwrap();
    assert_eq!(host.posts.last().unwrap().0, 0x2A);
}

#[test]
fn version_6_0_host_answers_with_feature_flags() {
    let arena = Pages::new(8);
    let mut host = Host::hyperv(&arena);
    host.max_version = VmbusVersion::V6_0;
    let mut channels = [ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, false), &mut channels, &mut gpadls);
    assert_eq!(
        connect(&mut client, &mut host),
        [Event::Connected {
            version: VmbusVersion::V6_0,
            message_connection_id: 4
        }]
    );
}

#[test]
fn ws2008_host_signals_through_the_interrupt_page_and_connection_2() {
    let arena = Pages::new(16);
    let mut host = Host::hyperv(&arena);
    host.max_version = VmbusVersion::WS2008;
    host.connection_4 = false;
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
    let events = connect(&mut client, &mut host);
    assert_eq!(
        events.last(),
        Some(&Event::Connected {
            version: VmbusVersion::WS2008,
            message_connection_id: 1
        })
    );
    // 6.0 .. 5.0 refused on connection 4; 4.1 .. 1.1 answered "unsupported".
    assert_eq!(host.refused_posts, 5);
    assert_eq!(events.len(), 6);
    client.request_offers(&mut host).unwrap();
    pump(&mut client, &mut host);
    // 0.13 has no per-channel connection ids or dedicated interrupts.
    let scsi = client.channel(7).unwrap();
    assert_eq!(scsi.signal_connection_id(), VMBUS_EVENT_CONNECTION_ID);
    assert!(!scsi.dedicated_interrupt());
    assert_eq!(scsi.sub_channel_index(), 0);

    let ring_pfns = pfns(RINGS, 4);
    open(&mut client, &mut host, &arena, 7, &ring_pfns);
    client
        .send(&mut host, 7, &OutgoingPacket::in_band(&[1; 8], 1, false))
        .unwrap();
    assert_eq!(host.signals, [VMBUS_EVENT_CONNECTION_ID]);
    assert!(interrupt_send_bit(&arena, 7));
    assert!(!interrupt_send_bit(&arena, 1));

    // Before 2.4 the host signals through the first half of the page.
    arena.write_bytes(
        0,
        &[
            0b1000_0010,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0x80,
        ],
    );
    let page = client.interrupt_page().unwrap();
    assert_eq!(page.take_signalled().collect::<Vec<_>>(), [1, 7, 135]);
    assert_eq!(page.take_signalled().count(), 0, "taking clears the bits");

    assert_eq!(
        client.unload(&mut host).unwrap_err(),
        Error::NotSupported(VmbusVersion::WS2008)
    );
}

#[test]
fn interrupt_page_from_a_phys_page() {
    use crate::page::{HvPage, PhysPage};
    let raw = std::boxed::Box::into_raw(std::boxed::Box::new(HvPage([0xFF; 4096])));
    {
        // SAFETY: a fresh allocation, lent to the interrupt page for this block only.
        let page = unsafe { &mut *raw };
        // SAFETY: the "GPA" is made up; nothing uses it but the assertion below.
        let phys = unsafe { PhysPage::new(page, 0x5000) };
        let interrupt_page = InterruptPage::from_phys_page(phys);
        assert_eq!(interrupt_page.gpa(), 0x5000);
        interrupt_page.clear();
        interrupt_page.set_send_bit(42);
        assert_eq!(interrupt_page.take_signalled().count(), 0);
    }
    // SAFETY: the interrupt page is gone; `raw` is the allocation's only pointer.
    let page = unsafe { std::boxed::Box::from_raw(raw) };
    assert_eq!(page.0[2048 + 5], 1 << 2, "bit 42 of the guest-to-host half");
    assert_eq!(page.0.iter().filter(|&&b| b != 0).count(), 1);
}

#[test]
fn versions_before_5_0_need_an_interrupt_page() {
    let arena = Pages::new(8);
    let mut host = Host::qemu(&arena);
    let mut channels = [ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, false), &mut channels, &mut gpadls);
    assert_eq!(
        client.initiate_contact(&mut host).unwrap_err(),
        Error::NoCommonVersion
    );
    assert_eq!(
        host.refused_posts, 5,
        "only the 5.0-and-later versions were tried"
    );
    assert!(host.posts.is_empty());
    assert_eq!(
        client.initiate_contact(&mut host).unwrap_err(),
        Error::NoCommonVersion
    );
}

#[test]
fn rejecting_every_version_ends_negotiation() {
    let arena = Pages::new(8);
    let mut host = Host::hyperv(&arena);
    host.max_version = VmbusVersion::new(1);
    let mut channels = [ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
    let events = connect(&mut client, &mut host);
    assert_eq!(events.len(), DEFAULT_VERSIONS.len());
    assert_eq!(
        events.last(),
        Some(&Event::VersionRejected {
            version: VmbusVersion::WS2008,
            next: None
        })
    );
    assert_eq!(
        client.initiate_contact(&mut host).unwrap_err(),
        Error::NoCommonVersion
    );
}

#[test]
fn busy_host_is_retried_without_losing_state() {
    let arena = Pages::new(64);
    let mut host = Host::hyperv(&arena);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY, GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);

    host.fail_posts.push_back(HvError::INSUFFICIENT_BUFFERS);
    let error = client.initiate_contact(&mut host).unwrap_err();
    assert_eq!(error, Error::Transport(HvError::INSUFFICIENT_BUFFERS));
    assert!(error.is_retryable());
    assert_eq!(client.state(), ConnectionState::Disconnected);
    assert_eq!(
        client.initiate_contact(&mut host).unwrap(),
        VmbusVersion::V6_0
    );
    pump(&mut client, &mut host);
    assert_eq!(
        client.initiate_contact(&mut host).unwrap(),
        VmbusVersion::WIN10_V5_3
    );
    pump(&mut client, &mut host);

    host.fail_posts.push_back(HvError::INSUFFICIENT_BUFFERS);
    assert!(client.request_offers(&mut host).unwrap_err().is_retryable());
    client.request_offers(&mut host).unwrap();
    pump(&mut client, &mut host);

    // A GPADL of 60 pages takes a header and two bodies; the second body is refused.
    let big: Vec<u64> = pfns(RINGS, 60);
    let mut script = vec![None, None, Some(HvError::INSUFFICIENT_BUFFERS)];
    let mut failing = FailAfter::new(&mut host, &mut script);
    // SAFETY: arena test memory.
    let first = unsafe { client.create_gpadl(&mut failing, 1, &big) };
    let Err(Error::GpadlIncomplete { gpadl, error }) = first else {
        panic!("expected an incomplete GPADL, got {first:?}");
    };
    assert_eq!(error, HvError::INSUFFICIENT_BUFFERS);
    assert_eq!(
        client.gpadl_state(gpadl),
        Some(GpadlState::Sending { pfns_sent: 26 + 28 })
    );
    assert!(host.outbox.is_empty(), "host has not seen the whole GPADL");
    client.continue_gpadl(&mut host, gpadl).unwrap();
    assert_eq!(
        pump(&mut client, &mut host),
        [Event::GpadlCreated { relid: 1, gpadl }]
    );
    assert_eq!(host.gpadls[&gpadl].pfns, big);
    assert_eq!(
        client.continue_gpadl(&mut host, gpadl).unwrap_err(),
        Error::GpadlState {
            gpadl,
            state: GpadlState::Created
        }
    );

    // A refused first message leaves nothing behind.
    host.fail_posts.push_back(HvError::INSUFFICIENT_BUFFERS);
    // SAFETY: arena test memory.
    let refused = unsafe { client.create_gpadl(&mut host, 1, &big[..3]) };
    assert_eq!(
        refused.unwrap_err(),
        Error::Transport(HvError::INSUFFICIENT_BUFFERS)
    );
    // The slot was not kept: with the 60-page GPADL in the other slot, this one fits.
    // SAFETY: arena test memory.
    let retried = unsafe { client.create_gpadl(&mut host, 1, &big[..3]) };
    assert!(retried.is_ok());
}

/// Runs `f` with a transport that passes posts through to `host` or fails them, following
/// `script` (one entry per post; `None` passes).
struct FailAfter<'h, 'm, 's> {
    host: &'h mut Host<'m>,
    script: &'s mut Vec<Option<HvError>>,
}

impl<'h, 'm, 's> FailAfter<'h, 'm, 's> {
    fn new(host: &'h mut Host<'m>, script: &'s mut Vec<Option<HvError>>) -> Self {
        script.reverse();
        Self { host, script }
    }
}

impl VmbusTransport for FailAfter<'_, '_, '_> {
    fn post_message(
        &mut self,
        connection_id: u32,
        message_type: u32,
        payload: &[u8],
    ) -> Result<(), HvError> {
        match self.script.pop().flatten() {
            Some(error) => Err(error),
            None => self.host.post_message(connection_id, message_type, payload),
        }
    }

    fn signal_event(&mut self, connection_id: u32) -> Result<(), HvError> {
        self.host.signal_event(connection_id)
    }
}

/// A connected client with the Hyper-V-like host's offers.
fn connected<'s, 'a>(
    arena: &'a Pages,
    channels: &'s mut [ChannelSlot<'a>],
    gpadls: &'s mut [GpadlSlot<'a>],
) -> (VmbusClient<'s, 'a>, Host<'a>) {
    let mut host = Host::hyperv(arena);
    let mut client = VmbusClient::new(config(arena, true), channels, gpadls);
    connect(&mut client, &mut host);
    client.request_offers(&mut host).unwrap();
    pump(&mut client, &mut host);
    (client, host)
}

fn message<T: IntoBytes + zerocopy::Immutable>(m: &T) -> Vec<u8> {
    m.as_bytes().to_vec()
}

#[test]
fn malformed_messages_are_refused() {
    let arena = Pages::new(8);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let (mut client, _host) = connected(&arena, &mut channels, &mut gpadls);
    let rescind = message(&VmbusRescindChannelOffer {
        header: VmbusRescindChannelOffer::HEADER,
        child_relid: 1,
    });
    let mut oversize = rescind.clone();
    oversize.resize(241, 0);
    assert_eq!(
        client.handle_message(&oversize).unwrap_err(),
        Error::Message(MessageError::TooLong(241))
    );
    assert_eq!(
        client.handle_message(&rescind[..11]).unwrap_err(),
        Error::Message(MessageError::TooShort {
            message_type: Some(VmbusMessageType::RESCIND_CHANNEL_OFFER),
            len: 11,
            min: 12
        })
    );
    assert_eq!(
        client.handle_message(&rescind[..7]).unwrap_err(),
        Error::Message(MessageError::TooShort {
            message_type: None,
            len: 7,
            min: 8
        })
    );
    let mut unknown = rescind.clone();
    unknown[0] = 99;
    assert_eq!(
        client.handle_message(&unknown).unwrap_err(),
        Error::Message(MessageError::UnknownType(VmbusMessageType::new(99)))
    );
    let contact = message(&VmbusRequestOffers {
        header: VmbusRequestOffers::HEADER,
    });
    assert_eq!(
        client.handle_message(&contact).unwrap_err(),
        Error::Message(MessageError::GuestMessage(VmbusMessageType::REQUEST_OFFERS))
    );
    // A short offer.
    let offer = message(&offer(9, HV_KVP_GUID, 9, true));
    assert!(matches!(
        client.handle_message(&offer[..195]).unwrap_err(),
        Error::Message(MessageError::TooShort { min: 196, .. })
    ));
    // Padding after a message (QEMU rounds to 8 bytes) is accepted.
    let mut padded = rescind.clone();
    padded.resize(16, 0);
    assert_eq!(
        client.handle_message(&padded).unwrap(),
        Event::Rescinded {
            relid: 1,
            open_cancelled: false
        }
    );
    // Nothing else changed.
    assert!(client.channel(9).is_none());
    assert_eq!(
        client.state(),
        ConnectionState::Connected(VmbusVersion::WIN10_V5_3)
    );
}

#[test]
fn responses_in_the_wrong_state_are_refused() {
    let arena = Pages::new(8);
    let mut host = Host::hyperv(&arena);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
    let version = message(&VmbusVersionResponse {
        header: VmbusVersionResponse::HEADER,
        version_supported: 1,
        connection_state: VmbusConnectionState::SUCCESSFUL,
        padding: 0,
        message_connection_id: 4,
    });
    // A version response nobody asked for.
    assert_eq!(
        client.handle_message(&version).unwrap_err(),
        Error::Unexpected {
            message_type: VmbusMessageType::VERSION_RESPONSE,
            state: ConnectionState::Disconnected
        }
    );
    // An offer before connecting.
    let offer_3 = message(&offer(3, HV_NIC_GUID, 3, true));
    assert!(matches!(
        client.handle_message(&offer_3).unwrap_err(),
        Error::Unexpected { .. }
    ));

    // Accepted 5.0+ without a connection id: refused, still contacting.
    client.initiate_contact(&mut host).unwrap();
    host.outbox.clear();
    assert!(matches!(
        client.handle_message(&version[..12]).unwrap_err(),
        Error::Message(MessageError::TooShort { .. })
    ));
    assert_eq!(
        client.state(),
        ConnectionState::Contacting(VmbusVersion::V6_0)
    );
    // An offer while contacting.
    assert!(matches!(
        client.handle_message(&offer_3).unwrap_err(),
        Error::Unexpected { .. }
    ));
    client.handle_message(&version).unwrap();

    // Offers before REQUEST_OFFERS.
    assert!(matches!(
        client.handle_message(&offer_3).unwrap_err(),
        Error::Unexpected { .. }
    ));
    let all = message(&VmbusAllOffersDelivered {
        header: VmbusAllOffersDelivered::HEADER,
    });
    assert!(matches!(
        client.handle_message(&all).unwrap_err(),
        Error::Unexpected { .. }
    ));
    client.request_offers(&mut host).unwrap();
    pump(&mut client, &mut host);
    assert_eq!(
        client.request_offers(&mut host).unwrap_err(),
        Error::InvalidState(ConnectionState::Connected(VmbusVersion::V6_0))
    );
    // A second ALL_OFFERS_DELIVERED, a second version response, an unload response.
    assert!(matches!(
        client.handle_message(&all).unwrap_err(),
        Error::Unexpected { .. }
    ));
    assert!(matches!(
        client.handle_message(&version).unwrap_err(),
        Error::Unexpected { .. }
    ));
    let unload = message(&VmbusUnloadResponse {
        header: VmbusUnloadResponse::HEADER,
    });
    assert!(matches!(
        client.handle_message(&unload).unwrap_err(),
        Error::Unexpected { .. }
    ));
    // Host messages for operations this client never starts.
    let modify = message(&VmbusModifyChannelResponse {
        header: VmbusModifyChannelResponse::HEADER,
        child_relid: 1,
        status: 0,
    });
    assert!(matches!(
        client.handle_message(&modify).unwrap_err(),
        Error::Unexpected { .. }
    ));
    assert_eq!(client.channels().count(), 2);
}

#[test]
fn connection_refused_by_the_host() {
    let arena = Pages::new(8);
    let mut host = Host::hyperv(&arena);
    let mut channels = [ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
    client.initiate_contact(&mut host).unwrap();
    host.outbox.clear();
    let refused = message(&VmbusVersionResponse {
        header: VmbusVersionResponse::HEADER,
        version_supported: 1,
        connection_state: VmbusConnectionState::FAILED_LOW_RESOURCES,
        padding: 0,
        message_connection_id: 4,
    });
    assert_eq!(
        client.handle_message(&refused).unwrap(),
        Event::ConnectionRefused {
            version: VmbusVersion::V6_0,
            state: VmbusConnectionState::FAILED_LOW_RESOURCES
        }
    );
    assert_eq!(client.state(), ConnectionState::Disconnected);
    assert_eq!(
        client.initiate_contact(&mut host).unwrap(),
        VmbusVersion::V6_0
    );
}

#[test]
fn hostile_offers_are_refused() {
    let arena = Pages::new(8);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let (mut client, _host) = connected(&arena, &mut channels, &mut gpadls);
    for relid in [0, VMBUS_MAX_CHILD_RELID + 1, VMBUS_INVALID_RELID] {
        assert_eq!(
            client
                .handle_message(&message(&offer(relid, HV_NIC_GUID, 1, true)))
                .unwrap_err(),
            Error::InvalidRelid(relid)
        );
    }
    assert_eq!(
        client
            .handle_message(&message(&offer(7, HV_NIC_GUID, 1, true)))
            .unwrap_err(),
        Error::DuplicateRelid(7)
    );
    assert_eq!(
        client
            .handle_message(&message(&offer(
                VMBUS_MAX_CHILD_RELID,
                HV_NIC_GUID,
                1,
                true
            )))
            .unwrap(),
        Event::Offer {
            relid: VMBUS_MAX_CHILD_RELID
        }
    );
    assert_eq!(
        client
            .handle_message(&message(&offer(100, HV_NIC_GUID, 1, true)))
            .unwrap_err(),
        Error::ChannelTableFull { relid: 100 }
    );
    let rescind = |relid| {
        message(&VmbusRescindChannelOffer {
            header: VmbusRescindChannelOffer::HEADER,
            child_relid: relid,
        })
    };
    assert_eq!(
        client.handle_message(&rescind(100)).unwrap_err(),
        Error::UnknownRelid(100)
    );
    client.handle_message(&rescind(7)).unwrap();
    assert_eq!(
        client.handle_message(&rescind(7)).unwrap_err(),
        Error::ChannelRescinded(7)
    );
    // A rescinded relid is still taken until the guest releases it.
    assert_eq!(
        client
            .handle_message(&message(&offer(7, HV_NIC_GUID, 1, true)))
            .unwrap_err(),
        Error::DuplicateRelid(7)
    );
}

#[test]
fn hostile_gpadl_and_open_responses_are_refused() {
    let arena = Pages::new(16);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY, GpadlSlot::EMPTY];
    let ring_pfns = pfns(RINGS, 4);
    let (mut client, mut host) = connected(&arena, &mut channels, &mut gpadls);
    let created = |relid, gpadl, status| {
        message(&VmbusGpadlCreated {
            header: VmbusGpadlCreated::HEADER,
            child_relid: relid,
            gpadl,
            creation_status: status,
        })
    };
    // GPADL_CREATED for a handle never sent.
    assert_eq!(
        client.handle_message(&created(1, 0x777, 0)).unwrap_err(),
        Error::UnknownGpadl(0x777)
    );
    // SAFETY: arena test memory.
    let gpadl = unsafe { client.create_gpadl(&mut host, 1, &ring_pfns).unwrap() };
    let genuine = host.outbox.pop_front().unwrap();
    // For the wrong channel.
    assert!(matches!(
        client.handle_message(&created(7, gpadl, 0)).unwrap_err(),
        Error::UnexpectedGpadlCreated(_)
    ));
    assert_eq!(client.gpadl_state(gpadl), Some(GpadlState::Creating));
    client.handle_message(&genuine).unwrap();
    // Twice.
    assert!(matches!(
        client.handle_message(&genuine).unwrap_err(),
        Error::UnexpectedGpadlCreated(_)
    ));
    // Torn down without a teardown.
    let torndown = message(&VmbusGpadlTorndown {
        header: VmbusGpadlTorndown::HEADER,
        gpadl,
    });
    assert_eq!(
        client.handle_message(&torndown).unwrap_err(),
        Error::GpadlState {
            gpadl,
            state: GpadlState::Created
        }
    );

    // Open results: unknown channel, not opening, wrong open id.
    let result = |relid, open_id, status| {
        message(&VmbusOpenResult {
            header: VmbusOpenResult::HEADER,
            child_relid: relid,
            open_id,
            status,
        })
    };
    assert_eq!(
        client.handle_message(&result(5, 1, 0)).unwrap_err(),
        Error::UnknownRelid(5)
    );
    assert!(matches!(
        client.handle_message(&result(1, 1, 0)).unwrap_err(),
        Error::UnexpectedOpenResult(_)
    ));
    host.answer_opens = false;
    let memory = ring_memory(&arena, &ring_pfns, RINGS);
    let open_id = client
        .open_channel(&mut host, 1, memory, gpadl, 0, &[])
        .unwrap();
    assert!(matches!(
        client
            .handle_message(&result(1, open_id + 1, 0))
            .unwrap_err(),
        Error::UnexpectedOpenResult(_)
    ));
    assert_eq!(client.channel(1).unwrap().status(), ChannelStatus::Opening);
    // I/O before the open completes.
    assert_eq!(
        client
            .send(&mut host, 1, &OutgoingPacket::in_band(&[], 0, false))
            .unwrap_err(),
        Error::ChannelState {
            relid: 1,
            status: ChannelStatus::Opening
        }
    );
    // The host refuses the open.
    assert_eq!(
        client
            .handle_message(&result(1, open_id, 0xC000_0001))
            .unwrap(),
        Event::OpenFailed {
            relid: 1,
            status: 0xC000_0001
        }
    );
    assert_eq!(client.channel(1).unwrap().status(), ChannelStatus::Closed);

    // The host refuses a GPADL: it is forgotten.
    host.gpadl_status = 0xC000_009A;
    // SAFETY: arena test memory.
    let refused = unsafe { client.create_gpadl(&mut host, 7, &ring_pfns[..1]).unwrap() };
    assert_eq!(
        pump(&mut client, &mut host),
        [Event::GpadlFailed {
            relid: 7,
            gpadl: refused,
            status: 0xC000_009A
        }]
    );
    assert_eq!(client.gpadl_state(refused), None);
}

#[test]
fn open_checks_its_arguments_and_returns_the_memory() {
    let arena = Pages::new(24);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY, GpadlSlot::EMPTY, GpadlSlot::EMPTY];
    let ring_pfns = pfns(RINGS, 4);
    let other_pfns = pfns(RINGS + 8, 4);
    let (mut client, mut host) = connected(&arena, &mut channels, &mut gpadls);
    let for_other_channel = create_gpadl(&mut client, &mut host, 7, &ring_pfns);
    let other_pages = create_gpadl(&mut client, &mut host, 1, &other_pfns);
    let mut memory = ring_memory(&arena, &ring_pfns, RINGS);
    let cases = [
        (99, for_other_channel, &[][..], Error::UnknownRelid(99)),
        (1, 0x999, &[], Error::UnknownGpadl(0x999)),
        (
            1,
            for_other_channel,
            &[],
            Error::GpadlState {
                gpadl: for_other_channel,
                state: GpadlState::Created,
            },
        ),
        (
            1,
            other_pages,
            &[],
            Error::GpadlState {
                gpadl: other_pages,
                state: GpadlState::Created,
            },
        ),
        (
            1,
            other_pages,
            &[0; 121],
            Error::InvalidArgument("open user data exceeds 120 bytes"),
        ),
    ];
    for (relid, gpadl, user_data, error) in cases {
        let e = client
            .open_channel(&mut host, relid, memory, gpadl, 0, user_data)
            .unwrap_err();
        assert_eq!(e.error, error);
        memory = e.memory;
    }
    assert_eq!(memory.pfns(), &ring_pfns[..]);
    // SAFETY: refused before anything is lent.
    let empty = unsafe { client.create_gpadl(&mut host, 1, &[]) };
    assert_eq!(empty.unwrap_err(), Error::GpadlSize(0));
    let too_many: &'static [u64] = vec![0u64; GPADL_MAX_PAGES + 1].leak();
    // SAFETY: refused before anything is lent.
    let too_many = unsafe { client.create_gpadl(&mut host, 1, too_many) };
    assert_eq!(too_many.unwrap_err(), Error::GpadlSize(8191));
    // SAFETY: arena test memory.
    let last = unsafe { client.create_gpadl(&mut host, 1, &ring_pfns[..1]) };
    assert!(last.is_ok());
    // SAFETY: refused before anything is lent.
    let full = unsafe { client.create_gpadl(&mut host, 1, &ring_pfns[..1]) };
    assert_eq!(full.unwrap_err(), Error::GpadlTableFull);
}

#[test]
fn rescind_during_open_cancels_it() {
    let arena = Pages::new(16);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let ring_pfns = pfns(RINGS, 4);
    let (mut client, mut host) = connected(&arena, &mut channels, &mut gpadls);
    let gpadl = create_gpadl(&mut client, &mut host, 1, &ring_pfns);
    let memory = ring_memory(&arena, &ring_pfns, RINGS);
    client
        .open_channel(&mut host, 1, memory, gpadl, 0, &[])
        .unwrap();
    let open_result = host.outbox.pop_front().unwrap();
    let rescind = message(&VmbusRescindChannelOffer {
        header: VmbusRescindChannelOffer::HEADER,
        child_relid: 1,
    });
    assert_eq!(
        client.handle_message(&rescind).unwrap(),
        Event::Rescinded {
            relid: 1,
            open_cancelled: true
        }
    );
    // The late open result no longer matters.
    assert_eq!(
        client.handle_message(&open_result).unwrap(),
        Event::Discarded(VmbusMessageType::OPEN_CHANNEL_RESULT)
    );
    let info = client.channel(1).unwrap();
    assert!(info.rescinded());
    assert_eq!(info.status(), ChannelStatus::Closed);
    assert_eq!(
        client
            .send(&mut host, 1, &OutgoingPacket::in_band(&[], 0, false))
            .unwrap_err(),
        Error::ChannelRescinded(1)
    );
    assert_eq!(
        client.release_channel(&mut host, 7).unwrap_err(),
        Error::NotRescinded(7)
    );
    // SAFETY: arena test memory.
    let refused = unsafe { client.create_gpadl(&mut host, 1, &ring_pfns) };
    assert_eq!(refused.unwrap_err(), Error::ChannelRescinded(1));
    // Releasing forgets the channel and its GPADL.
    client.release_channel(&mut host, 1).unwrap();
    assert_eq!(host.released, [1]);
    assert!(client.channel(1).is_none());
    assert_eq!(client.gpadl_state(gpadl), None);
    // The host may offer the relid again.
    assert_eq!(
        client
            .handle_message(&message(&offer(1, HV_NIC_GUID, 1, true)))
            .unwrap(),
        Event::Offer { relid: 1 }
    );
}

#[test]
fn rescind_of_an_open_channel_stops_io_until_closed_and_released() {
    let arena = Pages::new(16);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let ring_pfns = pfns(RINGS, 4);
    let (mut client, mut host) = connected(&arena, &mut channels, &mut gpadls);
    let gpadl = open(&mut client, &mut host, &arena, 7, &ring_pfns);
    host.send_to_guest(7, b"late", 1);
    let rescind = message(&VmbusRescindChannelOffer {
        header: VmbusRescindChannelOffer::HEADER,
        child_relid: 7,
    });
    assert_eq!(
        client.handle_message(&rescind).unwrap(),
        Event::Rescinded {
            relid: 7,
            open_cancelled: false
        }
    );
    assert_eq!(client.receive(7).unwrap_err(), Error::ChannelRescinded(7));
    assert_eq!(
        client.release_channel(&mut host, 7).unwrap_err(),
        Error::ChannelState {
            relid: 7,
            status: ChannelStatus::Open
        }
    );
    client.close_channel(&mut host, 7).unwrap();
    assert!(host.rings.is_empty());
    client.teardown_gpadl(&mut host, gpadl).unwrap();
    client.release_channel(&mut host, 7).unwrap();
    assert_eq!(client.gpadl_state(gpadl), None);
    // The torndown that follows refers to a forgotten GPADL.
    assert_eq!(
        client
            .handle_message(&host.outbox.pop_front().unwrap())
            .unwrap_err(),
        Error::UnknownGpadl(gpadl)
    );
}

#[test]
fn corrupt_rings_stop_the_channel() {
    let arena = Pages::new(16);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY, GpadlSlot::EMPTY];
    let ring_pfns = pfns(RINGS, 4);
    let (mut client, mut host) = connected(&arena, &mut channels, &mut gpadls);
    let gpadl = open(&mut client, &mut host, &arena, 1, &ring_pfns);
    // The host-to-guest ring starts at arena page RINGS + 2; its write index is word 0.
    let inbound = (RINGS + 2) * 4096;
    arena.store_u32(inbound, 4100);
    let corrupt = Error::Ring(RingError::Corrupt(RingCorruption::BadWriteIndex(4100)));
    assert_eq!(client.receive(1).unwrap_err(), corrupt);
    assert_eq!(
        client.channel(1).unwrap().status(),
        ChannelStatus::Failed(RingCorruption::BadWriteIndex(4100))
    );
    // Both directions refuse I/O, even after the index is repaired.
    arena.store_u32(inbound, 0);
    assert_eq!(client.receive(1).unwrap_err(), corrupt);
    assert_eq!(
        client
            .send(&mut host, 1, &OutgoingPacket::in_band(&[1], 0, false))
            .unwrap_err(),
        corrupt
    );
    assert_eq!(client.signal_channel(&mut host, 1).unwrap_err(), corrupt);
    assert!(host.signals.is_empty());
    // Closing and tearing down still work.
    client.close_channel(&mut host, 1).unwrap();
    client.teardown_gpadl(&mut host, gpadl).unwrap();
    assert_eq!(
        pump(&mut client, &mut host),
        [Event::GpadlTornDown { gpadl }]
    );

    // A garbage packet (length beyond the published bytes) on a fresh open.
    let gpadl = open(&mut client, &mut host, &arena, 1, &ring_pfns);
    let descriptor = VmbusPacketDescriptor {
        packet_type: VmbusPacketType::DATA_IN_BAND,
        data_offset8: 2,
        length8: 100,
        flags: VmbusPacketFlags::new(),
        transaction_id: 0,
    };
    arena.write_bytes(inbound + 4096, descriptor.as_bytes());
    arena.store_u32(inbound, 24);
    let mut scratch = [0u8; 64];
    let mut receiver = client.receive(1).unwrap();
    assert!(matches!(
        receiver.next(&mut scratch).unwrap_err(),
        Error::Ring(RingError::Corrupt(RingCorruption::BadDescriptor { .. }))
    ));
    assert!(matches!(
        receiver.finish(&mut host).unwrap_err(),
        Error::Ring(RingError::Corrupt(_))
    ));
    // The guest-to-host ring: a bad read index stops the channel too.
    client.close_channel(&mut host, 1).unwrap();
    client.teardown_gpadl(&mut host, gpadl).unwrap();
    pump(&mut client, &mut host);
    open(&mut client, &mut host, &arena, 1, &ring_pfns);
    arena.store_u32(RINGS * 4096 + 4, 12);
    assert_eq!(
        client
            .send(&mut host, 1, &OutgoingPacket::in_band(&[1], 0, false))
            .unwrap_err(),
        Error::Ring(RingError::Corrupt(RingCorruption::BadReadIndex(12)))
    );
    assert!(client.receive(1).is_err());
}

#[test]
fn reader_signals_a_host_waiting_for_space() {
    let arena = Pages::new(16);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let ring_pfns = pfns(RINGS, 4);
    let (mut client, mut host) = connected(&arena, &mut channels, &mut gpadls);
    open(&mut client, &mut host, &arena, 7, &ring_pfns);
    // The host fills the guest's ring, then asks for 2000 bytes.
    let mut sent = 0;
    while host
        .rings
        .get_mut(&7)
        .unwrap()
        .to_guest
        .free_space()
        .unwrap()
        > 120
    {
        host.send_to_guest(7, &[0x33; 96], sent);
        sent += 1;
    }
    assert!(
        !host
            .rings
            .get_mut(&7)
            .unwrap()
            .to_guest
            .request_space(2000)
            .unwrap()
    );
    let mut scratch = [0u8; 256];
    let mut read = 0;
    let mut signalled_at = Vec::new();
    while read < sent {
        let mut receiver = client.receive(7).unwrap();
        for _ in 0..5 {
            if receiver.next(&mut scratch).unwrap().is_some() {
                read += 1;
            }
        }
        let before = host.signals.len();
        receiver.finish(&mut host).unwrap();
        if host.signals.len() > before {
            signalled_at.push(read);
        }
    }
    // 34 packets of 120 bytes left 16 bytes free; more than 2000 are free after 17 reads
    // (16 + 17 * 120 = 2056). Reads come in fives: the batch ending at 20 crosses, once.
    assert_eq!(sent, 34);
    assert_eq!(signalled_at, [20]);
    assert_eq!(host.signals, [0x1_0007]);
}

#[test]
fn unload_discards_late_messages_and_forgets_everything() {
    let arena = Pages::new(16);
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let ring_pfns = pfns(RINGS, 4);
    let (mut client, mut host) = connected(&arena, &mut channels, &mut gpadls);
    let gpadl = open(&mut client, &mut host, &arena, 1, &ring_pfns);
    client.unload(&mut host).unwrap();
    let response = host.outbox.pop_front().unwrap();
    let late_offer = message(&offer(5, HV_NIC_GUID, 5, true));
    assert_eq!(
        client.handle_message(&late_offer).unwrap(),
        Event::Discarded(VmbusMessageType::OFFER_CHANNEL)
    );
    assert_eq!(
        client.create_gpadl_for_test(&mut host).unwrap_err(),
        Error::InvalidState(ConnectionState::Unloading(VmbusVersion::WIN10_V5_3))
    );
    assert_eq!(client.handle_message(&response).unwrap(), Event::Unloaded);
    assert_eq!(client.gpadl_state(gpadl), None);
    assert_eq!(client.channels().count(), 0);
    assert!(client.version().is_none());
    // Connecting again starts from the newest version.
    host.outbox.clear();
    assert_eq!(
        client.initiate_contact(&mut host).unwrap(),
        VmbusVersion::V6_0
    );
}

impl VmbusClient<'_, '_> {
    /// Test helper: a GPADL request that needs no memory.
    fn create_gpadl_for_test(&mut self, host: &mut Host<'_>) -> Result<u32, Error> {
        // SAFETY: the call fails before lending anything (not connected).
        unsafe { self.create_gpadl(host, 1, &[ARENA_PFN]) }
    }
}

#[test]
fn operations_check_the_connection_state() {
    let arena = Pages::new(8);
    let mut host = Host::hyperv(&arena);
    let mut channels = [ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
    let disconnected = Error::InvalidState(ConnectionState::Disconnected);
    assert_eq!(client.request_offers(&mut host).unwrap_err(), disconnected);
    assert_eq!(client.unload(&mut host).unwrap_err(), disconnected);
    assert_eq!(
        client.create_gpadl_for_test(&mut host).unwrap_err(),
        disconnected
    );
    assert_eq!(
        client.teardown_gpadl(&mut host, 1).unwrap_err(),
        disconnected
    );
    assert_eq!(
        client.close_channel(&mut host, 1).unwrap_err(),
        disconnected
    );
    assert_eq!(
        client.release_channel(&mut host, 1).unwrap_err(),
        disconnected
    );
    assert_eq!(client.receive(1).unwrap_err(), disconnected);
    client.initiate_contact(&mut host).unwrap();
    assert_eq!(
        client.initiate_contact(&mut host).unwrap_err(),
        Error::InvalidState(ConnectionState::Contacting(VmbusVersion::V6_0))
    );
    assert!(host.posts.len() == 1);
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Arbitrary bytes never make the parser panic, and what it accepts has a known type
    /// and fits in a SynIC message.
    #[test]
    fn parser_accepts_only_sane_messages(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = parse_message(&bytes) {
            prop_assert!(bytes.len() >= 8 && bytes.len() <= VMBUS_MAX_MESSAGE_SIZE);
            if let HostMessage::OfferChannel(o) = m {
                prop_assert_eq!(o.as_bytes(), &bytes[..196]);
            }
        }
    }

    /// Arbitrary host messages (typed headers, random bodies) in any state never make the
    /// client panic; a refused message leaves the state unchanged.
    #[test]
    fn client_survives_arbitrary_messages(
        messages in proptest::collection::vec(
            (1u32..30, proptest::collection::vec(any::<u8>(), 0..232)),
            1..if cfg!(miri) { 6 } else { 40 },
        ),
        connect_first in any::<bool>(),
    ) {
        let arena = Pages::new(16);
        let ring_pfns = pfns(RINGS, 4);
        let mut host = Host::hyperv(&arena);
        let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY, ChannelSlot::EMPTY];
        let mut gpadls = [GpadlSlot::EMPTY, GpadlSlot::EMPTY];
        let mut client = VmbusClient::new(config(&arena, true), &mut channels, &mut gpadls);
        if connect_first {
            connect(&mut client, &mut host);
            client.request_offers(&mut host).unwrap();
            pump(&mut client, &mut host);
            open(&mut client, &mut host, &arena, 1, &ring_pfns);
        } else {
            client.initiate_contact(&mut host).unwrap();
            host.outbox.clear();
        }
        for (message_type, body) in messages {
            let mut bytes = message_type.to_le_bytes().to_vec();
            bytes.extend_from_slice(&[0; 4]);
            bytes.extend_from_slice(&body);
            let before = client.state();
            let channels_before = client.channels().count();
            if client.handle_message(&bytes).is_err() {
                prop_assert_eq!(client.state(), before);
                prop_assert_eq!(client.channels().count(), channels_before);
            }
            // Channel I/O keeps working or fails with a typed error.
            let mut scratch = [0u8; 64];
            if let Ok(mut receiver) = client.receive(1) {
                while let Ok(Some(_)) = receiver.next(&mut scratch) {}
                let _ = receiver.finish(&mut host);
            }
        }
    }
}
