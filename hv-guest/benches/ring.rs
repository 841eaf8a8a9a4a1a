//! VMBus ring throughput: one packet written and read back through one ring (the payload
//! copied in by the writer and out by the reader), against a plain `memcpy` of the same
//! bytes, for 64 B, 1 KiB and 16 KiB payloads.
//!
//! Also prints how many signals a burst of packets costs the writer.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hv_guest::vmbus::{OutgoingPacket, Ring, RingReader, RingWriter};

const PAGE: usize = 4096;
/// Control page and 64 KiB of data: room for a few 16 KiB packets, so positions rotate and
/// some packets wrap around the end (and are copied to the scratch buffer).
const RING_BYTES: usize = PAGE + 64 * 1024;
const SIZES: [usize; 3] = [64, 1024, 16 * 1024];

/// Page-aligned zeroed memory, freed on drop.
struct Memory {
    base: NonNull<u8>,
    layout: Layout,
}

impl Memory {
    fn new(len: usize) -> Self {
        let layout = Layout::from_size_align(len, PAGE).expect("valid layout");
        // SAFETY: nonzero size.
        let base = NonNull::new(unsafe { alloc_zeroed(layout) }).expect("allocation failed");
        Self { base, layout }
    }

    /// A writer and a reader on the ring in this memory.
    fn ring_pair(&self) -> (RingWriter<'_>, RingReader<'_>) {
        // SAFETY: the memory outlives both rings (borrowed) and is accessed only through
        // them: one writer and one reader.
        let a = unsafe { Ring::new(self.base, self.layout.size()) }.expect("ring");
        // SAFETY: as above; this is the reading end.
        let b = unsafe { Ring::new(self.base, self.layout.size()) }.expect("ring");
        a.reset();
        (
            RingWriter::new(a).expect("writer"),
            RingReader::new(b).expect("reader"),
        )
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.base.as_ptr(), self.layout) };
    }
}

fn signals_per_packet() {
    let memory = Memory::new(RING_BYTES);
    let (mut writer, mut reader) = memory.ring_pair();
    let payload = vec![0xA5u8; 1024];
    let mut scratch = vec![0u8; 64 * 1024];
    let (mut packets, mut signals) = (0u32, 0u32);
    for _ in 0..100 {
        // A burst of 32 packets, then the reader drains the ring.
        for tid in 0..32 {
            let outcome = writer
                .write(&OutgoingPacket::in_band(&payload, tid, false))
                .expect("fits");
            packets += 1;
            signals += u32::from(outcome.signal);
        }
        let mut batch = reader.batch().expect("valid ring");
        while batch.next(&mut scratch).expect("valid packet").is_some() {}
        batch.finish().expect("valid ring");
    }
    println!(
        "bursts of 32 x 1 KiB packets: {signals} signals for {packets} packets ({:.4} per packet)",
        f64::from(signals) / f64::from(packets)
    );
}

fn round_trip(c: &mut Criterion) {
    signals_per_packet();
    let mut group = c.benchmark_group("ring");
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let payload = vec![0x5Au8; size];
        let mut out = vec![0u8; size];

        group.bench_with_input(BenchmarkId::new("write+read", size), &size, |b, _| {
            let memory = Memory::new(RING_BYTES);
            let (mut writer, mut reader) = memory.ring_pair();
            let mut scratch = vec![0u8; 64 * 1024];
            b.iter(|| {
                let _ = writer
                    .write(&OutgoingPacket::in_band(black_box(&payload), 1, false))
                    .expect("fits");
                let mut batch = reader.batch().expect("valid ring");
                let packet = batch.next(&mut scratch).expect("valid").expect("a packet");
                packet.payload().read(0, &mut out).expect("in bounds");
                batch.finish().expect("valid ring");
                black_box(&out);
            });
        });

        group.bench_with_input(BenchmarkId::new("memcpy", size), &size, |b, _| {
            b.iter(|| {
                out.copy_from_slice(black_box(&payload));
                black_box(&out);
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = round_trip
}
criterion_main!(benches);
