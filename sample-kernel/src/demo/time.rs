//! The steps of partition time: the reference counter and the reference TSC page (TLFS
//! 12.4, 12.7), and the synthetic timers in message and direct mode (TLFS 12.5, 12.2).
//!
//! # What counts as `ok`
//!
//! * **Reference counter**: two reads of `HV_X64_MSR_TIME_REF_COUNT` around a busy loop are
//!   strictly increasing (TLFS 12.1.2) and, when the frequency MSRs exist, the elapsed
//!   reference time agrees with the elapsed TSC at `HV_X64_MSR_TSC_FREQUENCY` within 1% and
//!   one unit.
//! * **Reference TSC page**: 100000 reads through [`ReferenceTime::read`] never go
//!   backwards, each comes from the page (none from the counter MSR: a page reading makes no
//!   exit), and the first and last agree with the counter read before and after. The kernel
//!   counts its TSC reads ([`CountingTsc`]): every one beyond the first of a reading is a
//!   retry of the sequence loop, so the line says how many sequence changes a read saw.
//!   Whether the reads made exits is for the host to say: `cargo xtask test` checks hv-sim's
//!   counters.
//! * **Synthetic timer (message)**: timer 0, periodic with a 1 ms period, sends its
//!   timer-expired messages to SINT 3; ten are taken and their expiration times must be
//!   whole periods apart, each delivered at or after its expiration (TLFS 12.1.3).
//! * **Synthetic timer (direct)**: timer 1, one-shot in direct mode 1 ms ahead; its vector
//!   must arrive, and not before the expiration time.

#![expect(
    clippy::result_large_err,
    reason = "no allocator to box into; the error is the step's report line, made once per step"
)]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use hv_defs::cpuid::HvFeaturesInfo;
use hv_defs::synic::HvSint;
use hv_guest::arch::x86_64::X64;
use hv_guest::gate::AccessError;
use hv_guest::overlay::OverlayErrorReason;
use hv_guest::reftime::{ReferenceTime, TimeSource, TscSource, frequencies};
use hv_guest::stimer::{
    SyntheticTimers, TimerConfig, TimerError, TimerExpired, TimerIndex, TimerMode, TimerSint,
};
use hv_guest::synic::SintConfig;
use kernel_rt::interrupts::{self, Eoi, Vector};
use kernel_rt::report::Outcome;

use super::{Context, static_page};

/// The TSC source of the demo's clock: RDTSC through `hv-guest`, counting the reads.
#[derive(Debug)]
pub(crate) struct CountingTsc {
    reads: AtomicU64,
}

impl CountingTsc {
    /// Reads so far.
    fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

impl TscSource for CountingTsc {
    fn read_tsc(&self) -> u64 {
        self.reads.fetch_add(1, Ordering::Relaxed);
        X64.read_tsc()
    }
}

/// The platform the clock reads registers through.
static PLATFORM: X64 = X64;
/// The clock's TSC.
static TSC: CountingTsc = CountingTsc {
    reads: AtomicU64::new(0),
};

/// The demo's partition reference clock.
pub(crate) type Clock = ReferenceTime<'static, X64, &'static CountingTsc>;

/// Reads of the TSC page in the reference TSC page step.
const PAGE_READS: u32 = 100_000;

/// Iterations of the busy loop between the two counter reads.
const SPIN: u32 = 100_000;

/// Reference time units (100 ns) per millisecond.
const MS: u64 = 10_000;

/// Timer expirations the message-mode step takes.
const EXPIRATIONS: usize = 10;

/// The SINT of the message-mode timer, and its vector.
const TIMER_SINT: u32 = 3;
const TIMER_VECTOR: u8 = 0x51;
/// The vector of the direct-mode timer.
const DIRECT_VECTOR: u8 = 0x52;

/// How many times a step halts waiting for an interrupt before it gives up.
const MAX_WAITS: u32 = 1000;

/// The clock, made on first use; `Err` when the partition has no reference time at all.
fn clock(cx: &mut Context) -> Result<&Clock, Outcome> {
    if cx.clock.is_none() {
        let privileges = cx.info()?.features.privileges();
        let clock = ReferenceTime::new(&PLATFORM, &TSC, privileges)
            .map_err(|e| Outcome::unavailable(format_args!("{e}")))?;
        cx.clock = Some(clock);
    }
    cx.clock.as_ref().ok_or_else(super::no_interface)
}

/// The reference counter register (TLFS 12.4); see the module docs.
pub(super) fn reference_counter(cx: &mut Context) -> Outcome {
    let features = match cx.info() {
        Ok(info) => info.features,
        Err(outcome) => return outcome,
    };
    let clock = match clock(cx) {
        Ok(clock) => clock,
        Err(outcome) => return outcome,
    };
    let read = || match clock.counter() {
        Ok(value) => Ok((value, TSC.read_tsc())),
        Err(AccessError::Unavailable(why)) => Err(Outcome::unavailable(format_args!("{why}"))),
        Err(e) => Err(Outcome::failed(format_args!("{e}"))),
    };
    let (t0, tsc0) = match read() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    for _ in 0..SPIN {
        core::hint::spin_loop();
    }
    let (t1, tsc1) = match read() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    if t1 <= t0 {
        return Outcome::failed(format_args!("read {t0} then {t1}: not increasing"));
    }
    let Ok(freq) = frequencies(&PLATFORM, features) else {
        return Outcome::ok(format_args!(
            "{t0} then {t1}, strictly increasing; no frequency MSRs to compare with the TSC"
        ));
    };
    // Elapsed TSC ticks the elapsed reference time stands for: units × Hz / 10^7.
    let expected = u128::from(t1 - t0) * u128::from(freq.tsc_hz) / 10_000_000;
    let measured = u128::from(tsc1.wrapping_sub(tsc0));
    let slack = measured / 100 + u128::from(freq.tsc_hz / 10_000_000) * 2;
    if expected.abs_diff(measured) > slack {
        return Outcome::failed(format_args!(
            "{} units of 100 ns, but the TSC counted {measured} ticks at {} Hz",
            t1 - t0,
            freq.tsc_hz
        ));
    }
    Outcome::ok(format_args!(
        "{t0} then {t1}, strictly increasing, as the TSC at {} Hz counted",
        freq.tsc_hz
    ))
}

/// The reference TSC page (TLFS 12.7); see the module docs.
pub(super) fn reference_tsc_page(cx: &mut Context) -> Outcome {
    if let Err(outcome) = clock(cx) {
        return outcome;
    }
    let page = match static_page() {
        Ok(page) => page,
        Err(e) => return Outcome::failed(format_args!("no page for it: {e}")),
    };
    let Some(clock) = cx.clock.as_mut() else {
        return super::no_interface();
    };
    if let Err(e) = clock.enable_tsc_page(page) {
        return match e.reason {
            OverlayErrorReason::Unavailable(why) => Outcome::unavailable(format_args!("{why}")),
            reason => Outcome::failed(format_args!("enabling it: {reason}")),
        };
    }
    let before = clock.counter().ok();
    let tsc_reads = TSC.reads();
    let (mut first, mut last, mut from_page) = (None, 0, 0u32);
    for i in 0..PAGE_READS {
        let reading = match clock.read() {
            Ok(reading) => reading,
            Err(e) => return Outcome::failed(format_args!("read {i}: {e}")),
        };
        if reading.time < last {
            return Outcome::failed(format_args!(
                "read {i} went back from {last} to {}",
                reading.time
            ));
        }
        first.get_or_insert(reading.time);
        last = reading.time;
        if reading.source == TimeSource::TscPage {
            from_page += 1;
        }
    }
    let after = clock.counter().ok();
    let retries = (TSC.reads() - tsc_reads).saturating_sub(u64::from(from_page));
    let first = first.unwrap_or(0);
    // The page may read one unit ahead of the counter (TSC rounding).
    if before.is_some_and(|b| first + 1 < b) || after.is_some_and(|a| last > a + 1) {
        return Outcome::failed(format_args!(
            "page readings {first}..{last} outside the counter's {before:?}..{after:?}"
        ));
    }
    Outcome::ok(format_args!(
        "{PAGE_READS} reads, {from_page} from the page, {} from the counter MSR, monotonic, \
         {retries} retries across sequence changes",
        PAGE_READS - from_page
    ))
}

/// Interrupts on [`TIMER_VECTOR`] and [`DIRECT_VECTOR`].
static TIMER_IRQS: AtomicU32 = AtomicU32::new(0);
static DIRECT_IRQS: AtomicU32 = AtomicU32::new(0);

fn count_timer(_: Vector) {
    TIMER_IRQS.fetch_add(1, Ordering::AcqRel);
}

fn count_direct(_: Vector) {
    DIRECT_IRQS.fetch_add(1, Ordering::AcqRel);
}

/// The synthetic timers, or why there are none.
fn timers(cx: &Context) -> Result<SyntheticTimers<X64>, Outcome> {
    let features = cx.info()?.features;
    SyntheticTimers::new(X64, HvFeaturesInfo::X64(features)).map_err(|e| match e {
        TimerError::NoPrivilege => Outcome::unavailable(format_args!("{e}")),
        e => Outcome::failed(format_args!("{e}")),
    })
}

/// A vector the runtime accepts.
fn vector(v: u8) -> Result<Vector, Outcome> {
    Vector::new(v).ok_or_else(|| Outcome::failed(format_args!("vector {v:#x} rejected")))
}

/// Timer 0 in message mode, periodic; see the module docs.
pub(super) fn stimer_message(cx: &mut Context) -> Outcome {
    match stimer_message_inner(cx) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn stimer_message_inner(cx: &mut Context) -> Result<Outcome, Outcome> {
    let timers = timers(cx)?;
    let auto_eoi = !cx.info()?.recommendations.deprecate_auto_eoi();
    let Some(synic) = cx.synic.as_mut() else {
        return Err(Outcome::unavailable(format_args!(
            "no SynIC (see the SynIC line)"
        )));
    };
    let sint = HvSint::new(TIMER_SINT).map_err(|e| Outcome::failed(format_args!("{e}")))?;
    let v = vector(TIMER_VECTOR)?;
    let eoi = if auto_eoi { Eoi::None } else { Eoi::Apic };
    interrupts::register(v, count_timer, eoi).map_err(|e| Outcome::failed(format_args!("{e}")))?;
    let config = SintConfig::new(TIMER_VECTOR)
        .map_err(|e| Outcome::failed(format_args!("{e}")))?
        .with_auto_eoi(auto_eoi);
    synic
        .configure_sint(sint, config)
        .map_err(|e| Outcome::failed(format_args!("SINT{TIMER_SINT}: {e}")))?;
    let target = TimerSint::new(synic, sint).map_err(|e| Outcome::failed(format_args!("{e}")))?;
    let periodic = TimerConfig::periodic(TimerMode::Message(target));
    timers
        .start(TimerIndex::TIMER0, periodic, MS)
        .map_err(|e| Outcome::failed(format_args!("starting stimer0: {e}")))?;
    let mut expirations = [0u64; EXPIRATIONS];
    let mut taken = 0;
    let mut waits = 0;
    let mut problem = None;
    while taken < EXPIRATIONS && waits < MAX_WAITS {
        match synic.receive(sint) {
            Ok(Some(message)) => match TimerExpired::decode(&message) {
                Ok(expired) if expired.timer == TimerIndex::TIMER0 => {
                    if expired.delivery_time < expired.expiration_time {
                        problem.get_or_insert(Outcome::failed(format_args!(
                            "expiration {} delivered before it was due, at {}",
                            expired.expiration_time, expired.delivery_time
                        )));
                    }
                    expirations[taken] = expired.expiration_time;
                    taken += 1;
                }
                Ok(other) => {
                    problem.get_or_insert(Outcome::failed(format_args!(
                        "message from timer {}",
                        other.timer.get()
                    )));
                }
                Err(e) => {
                    problem.get_or_insert(Outcome::failed(format_args!("{e}")));
                }
            },
            Ok(None) => {
                interrupts::wait();
                waits += 1;
            }
            Err(e) => {
                problem.get_or_insert(Outcome::failed(format_args!("{e}")));
            }
        }
    }
    let stopped = timers.clear(TimerIndex::TIMER0);
    // Whatever arrived after the tenth is taken out of the slot.
    while let Ok(Some(_)) = synic.receive(sint) {}
    let masked = synic.mask_sint(sint);
    interrupts::enable();
    interrupts::disable();
    interrupts::unregister(v);
    if let Some(problem) = problem {
        return Err(problem);
    }
    stopped.map_err(|e| Outcome::failed(format_args!("stopping stimer0: {e}")))?;
    masked.map_err(|e| Outcome::failed(format_args!("masking SINT{TIMER_SINT}: {e}")))?;
    if taken < EXPIRATIONS {
        return Err(Outcome::failed(format_args!(
            "{taken} of {EXPIRATIONS} expirations after {MAX_WAITS} waits"
        )));
    }
    let mut periods = 0;
    for pair in expirations.windows(2) {
        let gap = pair[1].wrapping_sub(pair[0]);
        if gap == 0 || gap % MS != 0 {
            return Err(Outcome::failed(format_args!(
                "expirations {} and {} are not whole periods apart",
                pair[0], pair[1]
            )));
        }
        periods += gap / MS;
    }
    let missed = periods - (EXPIRATIONS as u64 - 1);
    Ok(Outcome::ok(format_args!(
        "stimer0 periodic on SINT{TIMER_SINT}: {EXPIRATIONS} expirations, 1 ms apart in \
         reference time, {missed} missed, interrupts {}",
        TIMER_IRQS.load(Ordering::Acquire)
    )))
}

/// Timer 1 in direct mode, one-shot; see the module docs.
pub(super) fn stimer_direct(cx: &mut Context) -> Outcome {
    match stimer_direct_inner(cx) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn stimer_direct_inner(cx: &mut Context) -> Result<Outcome, Outcome> {
    let timers = timers(cx)?;
    if !timers.direct_mode_available() {
        return Err(Outcome::unavailable(format_args!(
            "no direct synthetic timers (CPUID 0x40000003 EDX bit 19 clear)"
        )));
    }
    if !kernel_rt::apic::enabled() {
        return Err(Outcome::unavailable(format_args!(
            "no x2APIC for its vector"
        )));
    }
    let clock = clock(cx)?;
    let now = clock
        .now()
        .map_err(|e| Outcome::failed(format_args!("{e}")))?;
    let due = now + MS;
    let v = vector(DIRECT_VECTOR)?;
    interrupts::register(v, count_direct, Eoi::Apic)
        .map_err(|e| Outcome::failed(format_args!("{e}")))?;
    let config = TimerConfig::one_shot(TimerMode::Direct {
        vector: DIRECT_VECTOR,
    });
    let started = timers.start(TimerIndex::TIMER1, config, due);
    let mut waits = 0;
    while started.is_ok() && DIRECT_IRQS.load(Ordering::Acquire) == 0 && waits < MAX_WAITS {
        interrupts::wait();
        waits += 1;
    }
    let at = clock.now();
    let cleared = timers.clear(TimerIndex::TIMER1);
    interrupts::unregister(v);
    started.map_err(|e| Outcome::failed(format_args!("starting stimer1: {e}")))?;
    cleared.map_err(|e| Outcome::failed(format_args!("stopping stimer1: {e}")))?;
    let at = at.map_err(|e| Outcome::failed(format_args!("{e}")))?;
    match DIRECT_IRQS.load(Ordering::Acquire) {
        0 => Err(Outcome::failed(format_args!(
            "no interrupt after {MAX_WAITS} waits"
        ))),
        _ if at < due => Err(Outcome::failed(format_args!(
            "interrupt at {at}, before the expiration {due}"
        ))),
        n => Ok(Outcome::ok(format_args!(
            "stimer1 one-shot, vector {DIRECT_VECTOR:#x}, due in 1 ms: {n} interrupt, \
             {} units after arming, none early",
            at - now
        ))),
    }
}
