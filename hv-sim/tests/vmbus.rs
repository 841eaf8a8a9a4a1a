//! The VMBus server seen from a guest: messages through `HvCallPostMessage` and the SINT 2
//! slot, channel signals through `HvCallSignalEvent` and the SIEF flags, for both server
//! profiles and with the server off.

mod common;
use common::*;

use hv_defs::vmbus::{
    HV_ENLIGHTENMENTS_ECHO_GUID, VmbusChannelMessage, VmbusGpaRange, VmbusGpadlHeader,
    VmbusInitiateContact, VmbusMessageType, VmbusOpenChannel, VmbusPacketDescriptor,
    VmbusPacketFlags, VmbusPacketType, VmbusRequestOffers, VmbusTargetInfo, VmbusVersion,
};
use hv_sim::{VmbusChoice, VmbusServer};
use zerocopy::{FromBytes, IntoBytes};

const SCONTROL: u32 = 0x4000_0080;
const SIEFP: u32 = 0x4000_0082;
const SIMP: u32 = 0x4000_0083;
const EOM: u32 = 0x4000_0084;

const SIM: u64 = 0x20_0000;
const SIEF: u64 = 0x20_1000;
/// The channel's ring pages: upstream 0x30-0x31, downstream 0x32-0x33 (page numbers).
const RING_PFN: u64 = 0x300;

const POST: u64 = 0x5C;
const SIGNAL_FAST: u64 = 0x5D | 1 << 16;
/// SINT 2, the VMBus message SINT.
const VMBUS_SINT: u64 = 2;

/// A `HvCallPostMessage` input carrying `payload` to `connection`, type 1.
fn post_input(connection: u32, payload: &[u8]) -> Vec<u8> {
    let mut input = Vec::new();
    input.extend_from_slice(&connection.to_le_bytes());
    input.extend_from_slice(&[0; 4]);
    input.extend_from_slice(&1u32.to_le_bytes());
    input.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    input.extend_from_slice(payload);
    input.resize(256, 0);
    input
}

fn contact(version: VmbusVersion) -> Vec<u8> {
    VmbusInitiateContact {
        header: VmbusInitiateContact::HEADER,
        version_requested: version,
        target_vcpu: 0,
        interrupt_page_or_target_info: if version.uses_target_info() {
            VmbusTargetInfo::new().with_sint(2).into_bits()
        } else {
            0x40_0000
        },
        monitor_page1: 0x41_0000,
        monitor_page2: 0x42_0000,
    }
    .as_bytes()
    .to_vec()
}

/// A guest that enables the SynIC (SINT 2 stays masked: messages arrive without
/// interrupts) and posts the inputs at INPUT + 0x100 * i, storing each status at RESULTS +
/// 0x100 + 8 * i and emptying the SINT 2 slot (with EOM) before every post but the first;
/// then, with `signal`, signals that connection and runs long enough for the host's work.
fn guest(posts: usize, signal: Option<u32>) -> Guest {
    with_hypercalls(|g| {
        g.wrmsr(SIMP, SIM | 1);
        g.wrmsr(SIEFP, SIEF | 1);
        g.wrmsr(SCONTROL, 1);
        for i in 0..posts as u64 {
            if i > 0 {
                g.a.mov(rax, SIM + 256 * VMBUS_SINT).unwrap();
                g.a.mov(dword_ptr(rax), 0u32).unwrap();
                g.wrmsr(EOM, 0);
            }
            call(g, POST, INPUT + 0x100 * i, 0, 0x100 + 8 * i);
        }
        if let Some(connection) = signal {
            call(g, SIGNAL_FAST, u64::from(connection), 0, 0x200);
            let mut spin = g.a.create_label();
            g.a.mov(ecx, 100_000u32).unwrap();
            g.a.set_label(&mut spin).unwrap();
            g.a.dec(ecx).unwrap();
            g.a.jnz(spin).unwrap();
        }
    })
}

fn run(profile: Profile, vmbus: VmbusChoice, inputs: &[Vec<u8>], signal: Option<u32>) -> Run {
    let blobs: Vec<(u64, Vec<u8>)> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| (INPUT + 0x100 * i as u64, input.clone()))
        .collect();
    let config = Config {
        vmbus,
        ..config(profile)
    };
    let run = guest(inputs.len(), signal).run_with(&config, &blobs);
    run.assert_exit(0);
    run
}

/// The message in SIM slot 2: its SynIC type and payload.
fn slot(run: &mut Run) -> (u32, Vec<u8>) {
    let mut bytes = [0u8; 256];
    run.machine
        .read_phys(SIM + 256 * VMBUS_SINT, &mut bytes)
        .unwrap();
    let size = usize::from(bytes[4]);
    (
        u32::from_le_bytes(bytes[..4].try_into().unwrap()),
        bytes[16..16 + size.min(240)].to_vec(),
    )
}

fn status(run: &mut Run, i: u64) -> u64 {
    run.result_u64(0x100 + 8 * i) & 0xFFFF
}

const SUCCESS: u64 = 0;
const INVALID_CONNECTION_ID: u64 = 0x12;

#[test]
fn each_server_takes_its_versions_on_its_connections() {
    // (profile, server, version, connection, post status, supported, message connection)
    let cases = [
        (
            VmbusServer::HyperV,
            VmbusVersion::WIN10_V5_3,
            4,
            SUCCESS,
            true,
            4,
        ),
        (
            VmbusServer::HyperV,
            VmbusVersion::V6_0,
            4,
            SUCCESS,
            false,
            0,
        ),
        (
            VmbusServer::HyperV,
            VmbusVersion::WIN10,
            1,
            SUCCESS,
            true,
            0,
        ),
        (VmbusServer::Qemu, VmbusVersion::WIN10, 1, SUCCESS, true, 0),
        (
            VmbusServer::Qemu,
            VmbusVersion::WIN10_V4_1,
            1,
            SUCCESS,
            false,
            0,
        ),
        (
            VmbusServer::Qemu,
            VmbusVersion::WIN10_V5_3,
            4,
            INVALID_CONNECTION_ID,
            false,
            0,
        ),
    ];
    for (server, version, connection, post, supported, message_connection) in cases {
        let mut run = run(
            Profile::hyperv(),
            VmbusChoice::Server(server),
            &[post_input(connection, &contact(version))],
            None,
        );
        assert_eq!(status(&mut run, 0), post, "{server} {version:?}");
        let (message_type, payload) = slot(&mut run);
        if post != SUCCESS {
            assert_eq!(message_type, 0, "nothing answers an unknown connection");
            continue;
        }
        assert_eq!(message_type, 1, "a VMBus message on SINT 2");
        assert_eq!(
            u32::from_le_bytes(payload[..4].try_into().unwrap()),
            VmbusMessageType::VERSION_RESPONSE.get()
        );
        assert_eq!(payload[8] != 0, supported, "{server} {version:?}");
        if payload.len() >= 16 {
            assert_eq!(
                u32::from_le_bytes(payload[12..16].try_into().unwrap()),
                message_connection
            );
        }
        let stats = run.machine.stats();
        assert_eq!(
            (
                stats.vmbus.messages_from_guest,
                stats.vmbus.messages_to_guest
            ),
            (1, 1)
        );
    }
}

#[test]
fn profiles_choose_their_server_and_off_means_no_vmbus() {
    let request = VmbusRequestOffers {
        header: VmbusRequestOffers::HEADER,
    };
    for (profile, vmbus, version, connection, answered) in [
        (
            Profile::hyperv(),
            VmbusChoice::Default,
            VmbusVersion::WIN10_V5_3,
            4,
            true,
        ),
        (
            Profile::kvm(),
            VmbusChoice::Default,
            VmbusVersion::WIN10,
            1,
            true,
        ),
        (
            Profile::kvm(),
            VmbusChoice::Default,
            VmbusVersion::WIN10_V5_3,
            4,
            false,
        ),
        (
            Profile::hyperv(),
            VmbusChoice::Off,
            VmbusVersion::WIN10,
            1,
            false,
        ),
    ] {
        let mut run = run(
            profile,
            vmbus,
            &[
                post_input(connection, &contact(version)),
                post_input(connection, request.as_bytes()),
            ],
            None,
        );
        let expected = if answered {
            SUCCESS
        } else {
            INVALID_CONNECTION_ID
        };
        assert_eq!(status(&mut run, 0), expected);
        if answered {
            // The first offer is in the slot, the rest queue behind it.
            let (_, payload) = slot(&mut run);
            assert_eq!(
                u32::from_le_bytes(payload[..4].try_into().unwrap()),
                VmbusMessageType::OFFER_CHANNEL.get()
            );
            assert_eq!(payload[8..24], HV_ENLIGHTENMENTS_ECHO_GUID.to_le_bytes());
            assert_eq!(run.machine.stats().vmbus.messages_to_guest, 5);
        }
    }
}

/// Writes one in-band packet with `payload` at the start of the upstream ring and publishes
/// it.
fn upstream_packet(payload: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let descriptor = VmbusPacketDescriptor {
        packet_type: VmbusPacketType::DATA_IN_BAND,
        data_offset8: 2,
        length8: 2 + (payload.len().div_ceil(8)) as u16,
        flags: VmbusPacketFlags::new().with_completion_requested(true),
        transaction_id: 0x77,
    };
    let mut packet = descriptor.as_bytes().to_vec();
    packet.extend_from_slice(payload);
    packet.resize(16 + payload.len().next_multiple_of(8), 0);
    let write_index = packet.len() as u32 + 8;
    packet.extend_from_slice(&0u64.to_le_bytes());
    vec![
        ((RING_PFN + 1) << 12, packet),
        (RING_PFN << 12, write_index.to_le_bytes().to_vec()),
    ]
}

#[test]
fn a_signalled_echo_channel_answers_in_the_host_ring_and_sets_the_relid_flag() {
    for (server, version, connection) in [
        (VmbusServer::HyperV, VmbusVersion::WIN10_V5_3, 4),
        (VmbusServer::Qemu, VmbusVersion::WIN10, 1),
    ] {
        let mut gpadl = VmbusGpadlHeader {
            header: VmbusGpadlHeader::HEADER,
            child_relid: 1,
            gpadl: 9,
            range_buf_len: 8 + 4 * 8,
            range_count: 1,
        }
        .as_bytes()
        .to_vec();
        gpadl.extend_from_slice(VmbusGpaRange::new(4 * 4096, 0).as_bytes());
        for pfn in RING_PFN..RING_PFN + 4 {
            gpadl.extend_from_slice(&pfn.to_le_bytes());
        }
        let open = VmbusOpenChannel {
            header: VmbusOpenChannel::HEADER,
            child_relid: 1,
            open_id: 5,
            ring_buffer_gpadl: 9,
            target_vp: 0,
            downstream_ring_buffer_page_offset: 2,
            user_data: [0; 120],
        };
        let inputs = [
            post_input(connection, &contact(version)),
            post_input(connection, &gpadl),
            post_input(connection, open.as_bytes()),
        ];
        let channel_connection = server.channel_connection_id(1);
        let blobs: Vec<(u64, Vec<u8>)> = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| (INPUT + 0x100 * i as u64, input.clone()))
            .chain(upstream_packet(b"hello, host"))
            .collect();
        let config = Config {
            vmbus: VmbusChoice::Server(server),
            ..config(Profile::hyperv())
        };
        let mut run = guest(3, Some(channel_connection)).run_with(&config, &blobs);
        run.assert_exit(0);
        for i in 0..3 {
            assert_eq!(status(&mut run, i), SUCCESS);
        }
        assert_eq!(run.result_u64(0x200) & 0xFFFF, SUCCESS, "signal");
        let (_, payload) = slot(&mut run);
        assert_eq!(
            u32::from_le_bytes(payload[..4].try_into().unwrap()),
            VmbusMessageType::OPEN_CHANNEL_RESULT.get()
        );
        assert_eq!(payload[16..20], [0; 4], "opened");
        let mut completion = [0u8; 40];
        run.machine
            .read_phys((RING_PFN + 3) << 12, &mut completion)
            .unwrap();
        let d = VmbusPacketDescriptor::read_from_bytes(&completion[..16]).unwrap();
        assert_eq!(d.packet_type, VmbusPacketType::COMPLETION);
        assert_eq!(d.transaction_id, 0x77);
        assert_eq!(&completion[16..27], b"hello, host");
        let mut index = [0u8; 8];
        run.machine
            .read_phys((RING_PFN + 2) << 12, &mut index)
            .unwrap();
        assert_eq!(u32::from_le_bytes(index[..4].try_into().unwrap()), 40);
        run.machine.read_phys(RING_PFN << 12, &mut index).unwrap();
        assert_eq!(
            u32::from_le_bytes(index[4..].try_into().unwrap()),
            40,
            "the host consumed the packet and its trailer"
        );
        let mut flags = [0u8; 1];
        run.machine
            .read_phys(SIEF + 256 * VMBUS_SINT, &mut flags)
            .unwrap();
        assert_eq!(flags[0], 0b10, "flag relid 1 of SINT 2");
        let stats = run.machine.stats().vmbus;
        assert_eq!(
            (
                stats.packets_echoed,
                stats.guest_signals,
                stats.host_signals,
                stats.bad_messages
            ),
            (1, 1, 1, 0)
        );
    }
}
