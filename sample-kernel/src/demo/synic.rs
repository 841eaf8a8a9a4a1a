//! The steps of the interrupt enlightenments: the SynIC (TLFS 11), the VP assist page's EOI
//! assist (TLFS 10.3.5), the Hyper-V APIC MSRs (TLFS 10.2.3) and the crash MSRs (TLFS 4.3).
//!
//! # What counts as `ok`
//!
//! * **SynIC**: the SynIC enables (SIM and SIEF pages, SCONTROL) and SINT 4 takes vector
//!   0x50, with AutoEOI unless the hypervisor deprecates it. When the partition can post
//!   messages and signal events, the kernel uses the loopback connections a test host offers
//!   (hv-sim's [`ECHO_CONNECTION_ID`] and [`EVENT_CONNECTION_ID`], see its README): a posted
//!   message must come back on SINT 4 with its payload and an interrupt, a signalled event
//!   must set one flag and interrupt, and 1000 echoes posted as fast as the port takes them
//!   (`HV_STATUS_INSUFFICIENT_BUFFERS` means drain first) must all come back, in order. A
//!   host without those connections answers `HV_STATUS_INVALID_CONNECTION_ID`; the line then
//!   says that only the set-up was checked.
//! * **VP assist page**: with the page enabled, three self-IPIs are handled by a handler that
//!   skips its EOI whenever the hypervisor set "No EOI required"; every IPI must arrive and
//!   the vector must not stay in service (the hypervisor completed the skipped EOIs).
//! * **APIC MSRs**: a TPR written through `HV_X64_MSR_TPR` reads back there and in the x2APIC
//!   TPR; a self-IPI sent through `HV_X64_MSR_ICR` arrives, and its handler's EOI through
//!   `HV_X64_MSR_EOI` leaves the vector out of service.
//! * **Crash MSRs**: the capabilities read from `HV_X64_MSR_CRASH_CTL`. The demo never
//!   reports a crash (that would end the VM); the `hv-crash` kernel does.

#![expect(
    clippy::result_large_err,
    reason = "no allocator to box into; the error is the step's report line, made once per step"
)]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};

use hv_defs::cpuid::HvFeaturesInfo;
use hv_defs::interrupt::HvX64MsrIcr;
use hv_defs::status::HvError;
use hv_defs::synic::{HvConnectionId, HvMessageType, HvSint};
use hv_guest::apic::ApicMsrs;
use hv_guest::arch::x86_64::X64;
use hv_guest::assist::VpAssistPage;
use hv_guest::crash::CrashReporter;
use hv_guest::gate::AccessError;
use hv_guest::hypercall::CallError;
use hv_guest::synic::{SendError, SintConfig, Synic, SynicError, SynicSender};
use hv_guest::vsm::VsmError;
use kernel_rt::apic;
use kernel_rt::interrupts::{self, Eoi, Vector};
use kernel_rt::report::Outcome;

use super::{Context, static_page};

/// hv-sim's loopback message port (`hv_sim::ECHO_CONNECTION_ID`).
const ECHO_CONNECTION_ID: u32 = 0xE0;
/// hv-sim's loopback event port (`hv_sim::EVENT_CONNECTION_ID`).
const EVENT_CONNECTION_ID: u32 = 0xE1;
/// The SINT both loopback ports target (`hv_sim::LOOPBACK_SINT`), and its vector.
const SINT: u32 = 4;
const SINT_VECTOR: u8 = 0x50;
/// The vectors of the VP assist and APIC MSR steps.
const ASSIST_VECTOR: u8 = 0x53;
const ICR_VECTOR: u8 = 0x54;

/// Echoes the SynIC step drives through the loopback port.
const ECHOES: u32 = 1000;
/// Self-IPIs of the VP assist step.
const ASSIST_IPIS: u32 = 3;
/// How many times a step halts waiting for an interrupt before it gives up.
const MAX_WAITS: u32 = 100;

/// The platform of the handles that keep a reference to it.
static PLATFORM: X64 = X64;

/// A value set once by the boot CPU's main flow and then read by it and by its interrupt
/// handlers. The demo runs on the boot CPU only.
struct BootCpuCell<T>(UnsafeCell<Option<T>>);

// SAFETY: only the boot CPU runs; `set` writes the cell once, before the handlers that read
// it are registered and with interrupts disabled, and everything afterwards only reads, so
// no access ever overlaps a write.
unsafe impl<T> Sync for BootCpuCell<T> {}

impl<T> BootCpuCell<T> {
    const fn new() -> Self {
        Self(UnsafeCell::new(None))
    }

    /// Stores `value` unless a value is there already (then gives it back).
    fn set(&self, value: T) -> Result<&T, T> {
        // SAFETY: see the `Sync` impl: the cell is written only here, before any reader
        // exists, with interrupts disabled (the callers hold no handler for it yet).
        let slot = unsafe { &mut *self.0.get() };
        if slot.is_some() {
            return Err(value);
        }
        Ok(slot.insert(value))
    }

    fn get(&self) -> Option<&T> {
        // SAFETY: see the `Sync` impl: after `set`, the cell is only read.
        unsafe { (*self.0.get()).as_ref() }
    }
}

static ASSIST: BootCpuCell<VpAssistPage> = BootCpuCell::new();
static APIC_MSRS: BootCpuCell<ApicMsrs<'static, X64>> = BootCpuCell::new();

static SINT_IRQS: AtomicU32 = AtomicU32::new(0);
static ASSIST_IRQS: AtomicU32 = AtomicU32::new(0);
static ASSIST_SKIPPED: AtomicU32 = AtomicU32::new(0);
static ICR_IRQS: AtomicU32 = AtomicU32::new(0);

fn count_sint(_: Vector) {
    SINT_IRQS.fetch_add(1, Ordering::AcqRel);
}

/// Ends the interrupt through the x2APIC unless the assist page says no EOI is required.
fn assisted(_: Vector) {
    ASSIST_IRQS.fetch_add(1, Ordering::AcqRel);
    match ASSIST.get() {
        Some(assist) if assist.take_no_eoi_required() => {
            ASSIST_SKIPPED.fetch_add(1, Ordering::AcqRel);
        }
        // Registration checked that the x2APIC is on.
        _ => drop(apic::eoi()),
    }
}

/// Ends the interrupt through `HV_X64_MSR_EOI`.
fn hv_eoi(_: Vector) {
    ICR_IRQS.fetch_add(1, Ordering::AcqRel);
    if let Some(msrs) = APIC_MSRS.get() {
        msrs.eoi();
    }
}

fn failed(e: impl core::fmt::Display) -> Outcome {
    Outcome::failed(format_args!("{e}"))
}

fn vector(v: u8) -> Result<Vector, Outcome> {
    Vector::new(v).ok_or_else(|| Outcome::failed(format_args!("vector {v:#x} rejected")))
}

/// Halts until `counter` moves past `seen`, at most [`MAX_WAITS`] times.
fn wait_for(counter: &AtomicU32, seen: u32) -> bool {
    for _ in 0..MAX_WAITS {
        if counter.load(Ordering::Acquire) != seen {
            return true;
        }
        interrupts::wait();
    }
    counter.load(Ordering::Acquire) != seen
}

/// The SynIC; see the module docs.
pub(super) fn synic(cx: &mut Context) -> Outcome {
    match synic_inner(cx) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn synic_inner(cx: &mut Context) -> Result<Outcome, Outcome> {
    let info = cx.info()?;
    let features = HvFeaturesInfo::X64(info.features);
    let auto_eoi = !info.recommendations.deprecate_auto_eoi();
    if !info.features.privileges().access_synic_regs() {
        return Err(Outcome::unavailable(format_args!(
            "{}",
            SynicError::NoPrivilege
        )));
    }
    if !apic::enabled() {
        return Err(Outcome::unavailable(format_args!(
            "no x2APIC for SINT vectors"
        )));
    }
    let (sim, sief) = match (static_page(), static_page()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(Outcome::failed(format_args!("pages: {e}"))),
    };
    let mut synic = Synic::enable(X64, features, sim, sief).map_err(|e| failed(e.reason))?;
    let sint = HvSint::new(SINT).map_err(failed)?;
    let v = vector(SINT_VECTOR)?;
    let eoi = if auto_eoi { Eoi::None } else { Eoi::Apic };
    interrupts::register(v, count_sint, eoi).map_err(failed)?;
    let config = SintConfig::new(SINT_VECTOR)
        .map_err(failed)?
        .with_auto_eoi(auto_eoi);
    synic.configure_sint(sint, config).map_err(failed)?;
    let setup = if auto_eoi { "auto-EOI" } else { "APIC EOI" };
    let outcome = loopback(cx, &synic, sint, setup);
    cx.synic = Some(synic);
    outcome
}

/// The loopback checks of the SynIC step, on an enabled SynIC with `sint` configured.
fn loopback(
    cx: &mut Context,
    synic: &Synic<X64>,
    sint: HvSint,
    setup: &str,
) -> Result<Outcome, Outcome> {
    let privileges = cx.info()?.features.privileges();
    if !privileges.post_messages() || !privileges.signal_events() {
        return Ok(Outcome::ok(format_args!(
            "enabled, SINT{SINT} vector {SINT_VECTOR:#x}, {setup}; no PostMessages and \
             SignalEvents to test delivery"
        )));
    }
    let (hc, info, io) = cx.hypercalls_with_pages()?;
    let sender = SynicSender::new(hc, HvFeaturesInfo::X64(info.features));
    let echo = HvConnectionId::new().with_id(ECHO_CONNECTION_ID);
    let message_type = HvMessageType::new(1);
    let seen = SINT_IRQS.load(Ordering::Acquire);
    match sender.post_message(io, echo, message_type, b"hv echo") {
        Ok(()) => {}
        Err(SendError::Call(CallError::Hv(HvError::INVALID_CONNECTION_ID))) => {
            return Ok(Outcome::ok(format_args!(
                "enabled, SINT{SINT} vector {SINT_VECTOR:#x}, {setup}; no loopback port \
                 (HV_STATUS_INVALID_CONNECTION_ID): delivery not tested"
            )));
        }
        Err(e) => return Err(Outcome::failed(format_args!("posting: {e}"))),
    }
    if !wait_for(&SINT_IRQS, seen) {
        return Err(Outcome::failed(format_args!(
            "no SINT{SINT} interrupt for the echo"
        )));
    }
    match synic.receive(sint).map_err(failed)? {
        Some(m) if m.message_type() == message_type && m.payload() == b"hv echo" => {}
        Some(m) => {
            return Err(Outcome::failed(format_args!(
                "echo came back as type {:#x}, {} bytes",
                m.message_type().get(),
                m.payload().len()
            )));
        }
        None => return Err(Outcome::failed(format_args!("interrupt, but no message"))),
    }
    let seen = SINT_IRQS.load(Ordering::Acquire);
    let event = HvConnectionId::new().with_id(EVENT_CONNECTION_ID);
    sender
        .signal_event(event, 0)
        .map_err(|e| Outcome::failed(format_args!("signalling: {e}")))?;
    if !wait_for(&SINT_IRQS, seen) {
        return Err(Outcome::failed(format_args!(
            "no SINT{SINT} interrupt for the event"
        )));
    }
    let mut flags = synic.take_events(sint);
    let (Some(flag), None) = (flags.next(), flags.next()) else {
        return Err(Outcome::failed(format_args!(
            "not exactly one event flag set"
        )));
    };
    drop(flags);
    let drained = echoes(&sender, io, synic, sint)?;
    Ok(Outcome::ok(format_args!(
        "message echoed on SINT{SINT}, event flag {flag}, {drained} echoes back in order; \
         vector {SINT_VECTOR:#x}, {setup}"
    )))
}

/// Posts [`ECHOES`] numbered messages to the echo port, draining the SINT slot whenever the
/// port's buffers are full, with interrupts off; returns how many came back in order.
fn echoes(
    sender: &SynicSender<'_, super::Platform>,
    io: &mut hv_guest::page::IoPages<'static>,
    synic: &Synic<X64>,
    sint: HvSint,
) -> Result<u32, Outcome> {
    let echo = HvConnectionId::new().with_id(ECHO_CONNECTION_ID);
    let (mut sent, mut received) = (0u32, 0u32);
    while received < ECHOES {
        let before = (sent, received);
        while sent < ECHOES {
            match sender.post_message(io, echo, HvMessageType::new(2), &sent.to_le_bytes()) {
                Ok(()) => sent += 1,
                Err(SendError::Retry) => break,
                Err(e) => return Err(Outcome::failed(format_args!("echo {sent}: {e}"))),
            }
        }
        while let Some(message) = synic.receive(sint).map_err(failed)? {
            if message.payload() != received.to_le_bytes() {
                return Err(Outcome::failed(format_args!(
                    "echo {received} out of order"
                )));
            }
            received += 1;
        }
        if (sent, received) == before {
            return Err(Outcome::failed(format_args!(
                "stuck after {sent} posted, {received} received"
            )));
        }
    }
    // The interrupts the echoes raised while interrupts were off.
    interrupts::enable();
    interrupts::disable();
    Ok(received)
}

/// The VP assist page's EOI assist; see the module docs.
pub(super) fn vp_assist_page(cx: &mut Context) -> Outcome {
    match vp_assist_inner(cx) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn vp_assist_inner(cx: &mut Context) -> Result<Outcome, Outcome> {
    let privileges = cx.info()?.features.privileges();
    let page = static_page().map_err(|e| Outcome::failed(format_args!("no page: {e}")))?;
    let assist = match VpAssistPage::enable(&PLATFORM, privileges, page) {
        Ok(assist) => assist,
        Err((_, e @ VsmError::Unavailable(_))) => {
            return Err(Outcome::unavailable(format_args!("{e}")));
        }
        Err((_, e)) => return Err(failed(e)),
    };
    let gpa = assist.gpa();
    if ASSIST.set(assist).is_err() {
        return Err(Outcome::failed(format_args!(
            "the assist page was enabled twice"
        )));
    }
    if !apic::enabled() {
        return Err(Outcome::unavailable(format_args!(
            "no x2APIC to send self-IPIs"
        )));
    }
    let v = vector(ASSIST_VECTOR)?;
    interrupts::register(v, assisted, Eoi::None).map_err(failed)?;
    for _ in 0..ASSIST_IPIS {
        let seen = ASSIST_IRQS.load(Ordering::Acquire);
        apic::self_ipi(v).map_err(failed)?;
        if !wait_for(&ASSIST_IRQS, seen) {
            interrupts::unregister(v);
            return Err(Outcome::failed(format_args!("a self-IPI did not arrive")));
        }
    }
    interrupts::unregister(v);
    if apic::is_in_service(ASSIST_VECTOR).map_err(failed)? {
        return Err(Outcome::failed(format_args!(
            "vector {ASSIST_VECTOR:#x} still in service: a skipped EOI was not completed"
        )));
    }
    let skipped = ASSIST_SKIPPED.load(Ordering::Acquire);
    Ok(Outcome::ok(format_args!(
        "at {gpa:#x}; EOI assist: {skipped} of {ASSIST_IPIS} self-IPIs needed no EOI, none \
         left in service"
    )))
}

/// The Hyper-V APIC MSRs; see the module docs.
pub(super) fn apic_msrs(cx: &mut Context) -> Outcome {
    match apic_msrs_inner(cx) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn apic_msrs_inner(cx: &mut Context) -> Result<Outcome, Outcome> {
    let info = cx.info()?;
    let msrs = ApicMsrs::new(&PLATFORM, info.features.privileges(), info.recommendations)
        .map_err(|e| Outcome::unavailable(format_args!("{e}")))?;
    if !apic::enabled() {
        return Err(Outcome::unavailable(format_args!(
            "no x2APIC to compare with"
        )));
    }
    let msrs = APIC_MSRS
        .set(msrs)
        .map_err(|_| Outcome::failed(format_args!("APIC MSRs set up twice")))?;
    msrs.set_tpr(0x20);
    let (hv_tpr, x2apic_tpr) = (msrs.tpr(), apic::task_priority().map_err(failed)?);
    msrs.set_tpr(0);
    if (hv_tpr, x2apic_tpr) != (0x20, 0x20) {
        return Err(Outcome::failed(format_args!(
            "TPR 0x20 written, HV_X64_MSR_TPR reads {hv_tpr:#x}, x2APIC TPR {x2apic_tpr:#x}"
        )));
    }
    let v = vector(ICR_VECTOR)?;
    interrupts::register(v, hv_eoi, Eoi::None).map_err(failed)?;
    let seen = ICR_IRQS.load(Ordering::Acquire);
    // Fixed delivery to self (destination shorthand 01, bits 19:18).
    msrs.set_icr(HvX64MsrIcr::new().with_icr_low(u32::from(ICR_VECTOR) | 1 << 18));
    let arrived = wait_for(&ICR_IRQS, seen);
    interrupts::unregister(v);
    if !arrived {
        return Err(Outcome::failed(format_args!(
            "the ICR self-IPI did not arrive"
        )));
    }
    if apic::is_in_service(ICR_VECTOR).map_err(failed)? {
        return Err(Outcome::failed(format_args!(
            "HV_X64_MSR_EOI left vector {ICR_VECTOR:#x} in service"
        )));
    }
    let recommended = if msrs.recommended() {
        "recommended"
    } else {
        "not recommended"
    };
    Ok(Outcome::ok(format_args!(
        "TPR via HV_X64_MSR_TPR = x2APIC TPR, self-IPI via HV_X64_MSR_ICR, EOI via \
         HV_X64_MSR_EOI; {recommended}"
    )))
}

/// The crash MSRs' capabilities; see the module docs.
pub(super) fn crash_msrs(cx: &mut Context) -> Outcome {
    let features = match cx.info() {
        Ok(info) => HvFeaturesInfo::X64(info.features),
        Err(outcome) => return outcome,
    };
    match CrashReporter::new(&PLATFORM, features) {
        Ok(reporter) => {
            let caps = reporter.capabilities();
            let name = |on: bool, what: &'static str| if on { what } else { "" };
            Outcome::ok(format_args!(
                "capabilities {:#x}{}{}; not invoked (the hv-crash kernel reports one)",
                caps.into_bits(),
                name(caps.crash_notify(), " CrashNotify"),
                name(caps.crash_message(), " CrashMessage"),
            ))
        }
        Err(AccessError::Unavailable(why)) => Outcome::unavailable(format_args!("{why}")),
        Err(e) => failed(e),
    }
}
