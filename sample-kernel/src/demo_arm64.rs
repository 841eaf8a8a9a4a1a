//! The demo on arm64: the same report, with the same list of enlightenments in the same
//! order as on x86_64 (the tests check that the transcripts name the same features), brought
//! up with `hv-guest`'s arm64 support.
//!
//! Discovery follows the arm64 order (`hv_guest::arm64`): the kernel must run at EL1 with
//! `HVC` taken by EL2 (the PSCI conduit the device tree or the ACPI FADT names is `hvc`);
//! then the SMCCC vendor hypervisor UID query; then the guest OS identity, the first
//! hypercall; then the feature registers. Steps that exist only on x86_64 (hypercall page, XMM fast hypercalls, APIC MSRs)
//! say so; steps this kernel does not exercise on arm64 yet say that instead.
//!
//! # What counts as `ok` in the time and interrupt steps
//!
//! * **Reference TSC page**: with `AccessPartitionReferenceTsc`, the page is enabled on a
//!   page of the allocator and read [`PAGE_READS`] times; every reading must come from the
//!   page (CNTVCT_EL0 scaled, no exit) and never go back.
//! * **SynIC**: the SynIC enables (SIM and SIEF pages, SCONTROL) and SINT [`TIMER_SINT`]
//!   takes GIC interrupt id [`SINT_INTID`] (a PPI), read back. The timer step tests delivery.
//! * **Synthetic timer (message)**: timer 0, one-shot in message mode on that SINT, due
//!   [`DUE`] reference-time units after arming: its interrupt must arrive once and the SINT's
//!   slot must hold a timer-expired message for timer 0 with the requested expiration time,
//!   delivered no earlier.
//! * **Synthetic timer (direct)**: with direct timers offered, timer 1 one-shot in direct
//!   mode with interrupt id [`DIRECT_INTID`], due [`DUE`] units after arming: exactly one
//!   interrupt, not before the expiration time.

#![expect(
    clippy::result_large_err,
    reason = "no allocator to box into; the error is the step's report line, made once per step"
)]

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use hv_guest::arch::aarch64::Arm64;
use hv_guest::arm64::{self, GuestOs, HvcConvention, Hyperv, IdentityError, NoHyperV};
use hv_guest::defs::HV_VP_INDEX_SELF;
use hv_guest::defs::arm64::SmcccUid;
use hv_guest::defs::guest_id::{HvGuestOsId, HvGuestOsIdOpenSource};
use hv_guest::defs::register::HvRegisterName;
use hv_guest::defs::synic::HvSint;
use hv_guest::defs::vp::HvInputVtl;
use hv_guest::page::{IoPages, PhysPage};
use hv_guest::platform::Platform;
use hv_guest::reftime::{ReferenceTime, TimeSource};
use hv_guest::stimer::{
    SyntheticTimers, TimerConfig, TimerExpired, TimerIndex, TimerMode, TimerSint,
};
use hv_guest::synic::{SintConfig, Synic};
use kernel_rt::arch::aarch64::cpu;
use kernel_rt::arch::aarch64::gic::{self, IntId};
use kernel_rt::arch::aarch64::start::machine;
use kernel_rt::fdt::PsciConduit;
use kernel_rt::frames;
use kernel_rt::report::{Outcome, Report};

use crate::identity::{OS_TYPE, OS_VERSION};

/// The identity the demo reports, the x86_64 demo's: open source, OS type 0, this crate's
/// version (`crate::identity`).
const GUEST_OS_ID: HvGuestOsId = match HvGuestOsIdOpenSource::build(OS_TYPE, 0, OS_VERSION, 0) {
    Ok(id) => HvGuestOsId::OpenSource(id),
    Err(_) => panic!("the demo's identity is valid"),
};

/// Reference TSC page readings the reference TSC page step takes.
const PAGE_READS: u32 = 1000;
/// The SINT the synthetic timer step uses.
const TIMER_SINT: u32 = 4;
/// The GIC interrupt id (PPI 4) SINT [`TIMER_SINT`] raises.
const SINT_INTID: u32 = 20;
/// The GIC interrupt id (PPI 5) the direct-mode timer raises.
const DIRECT_INTID: u32 = 21;
/// How far ahead the timers are armed, in reference-time units (1 ms).
const DUE: u64 = 10_000;
/// How many times a step waits for an interrupt before it gives up.
const WAIT_LIMIT: u32 = 100;

/// Interrupts counted by the handlers.
static SINT_IRQS: AtomicU32 = AtomicU32::new(0);
static DIRECT_IRQS: AtomicU32 = AtomicU32::new(0);

/// What discovery found.
enum Discovery {
    /// No hypervisor can be asked: why.
    NoConduit(&'static str),
    /// A hypervisor (or firmware) answered, without the Hyper-V interface.
    NoHyperV(NoHyperV),
    /// The Microsoft hypervisor, and whether the identity was set.
    HyperV {
        uid: SmcccUid,
        guest: Result<GuestOs<Arm64>, IdentityError>,
    },
}

impl Discovery {
    fn probe() -> Self {
        let Some(machine) = machine() else {
            return Self::NoConduit("the runtime recorded no machine description");
        };
        if machine.entry_el == 2 {
            return Self::NoConduit("no hypervisor: the kernel was entered at EL2");
        }
        match machine.psci {
            Some(PsciConduit::Hvc) => {}
            Some(PsciConduit::Smc) => {
                return Self::NoConduit("no HVC conduit: the firmware's PSCI conduit is SMC");
            }
            None => {
                return Self::NoConduit(
                    "no HVC conduit: the firmware names no PSCI conduit (device tree or ACPI FADT)",
                );
            }
        }
        // SAFETY: the kernel runs at EL1 and the device tree names HVC as the PSCI conduit,
        // so EL2 takes `HVC`.
        let platform = unsafe { Arm64::new(HvcConvention::Smccc) };
        match Hyperv::detect(platform) {
            Err(e) => Self::NoHyperV(e),
            Ok(hv) => Self::HyperV {
                uid: hv.uid(),
                guest: hv.set_guest_os_id(GUEST_OS_ID).map_err(|(_, e)| e),
            },
        }
    }

    fn identity(&self) -> Outcome {
        match self {
            Self::NoConduit(why) => Outcome::unavailable(format_args!("{why}")),
            Self::NoHyperV(e) => {
                Outcome::unavailable(format_args!("hypervisor without Hyper-V interface ({e})"))
            }
            Self::HyperV {
                uid,
                guest: Ok(guest),
            } => {
                let v = guest.info().version;
                Outcome::ok(format_args!(
                    "SMCCC UID {uid}, version {}.{} build {}",
                    v.major_version(),
                    v.minor_version(),
                    v.build_number()
                ))
            }
            Self::HyperV { uid, guest: Err(_) } => {
                Outcome::ok(format_args!("SMCCC UID {uid}, identity not set"))
            }
        }
    }

    /// Runs `step` on the partition with its identity set, or says why it cannot run.
    fn run(&self, state: &mut State, step: Step) -> Outcome {
        match self {
            Self::HyperV {
                guest: Ok(guest), ..
            } => step(guest, state),
            Self::HyperV { guest: Err(e), .. } => {
                Outcome::failed(format_args!("guest OS identity not set: {e}"))
            }
            _ => Outcome::unavailable(format_args!("no Hyper-V interface")),
        }
    }
}

/// What the steps keep for later steps: the SynIC the timer step delivers through.
struct State {
    synic: Option<Synic<Arm64>>,
}

/// A step of the report.
type Step = fn(&GuestOs<Arm64>, &mut State) -> Outcome;

/// One enlightenment of the report.
struct Enlightenment {
    feature: &'static str,
    step: Step,
}

/// A step that needs no state.
macro_rules! stateless {
    ($step:expr) => {
        |guest: &GuestOs<Arm64>, _: &mut State| ($step)(guest)
    };
}

/// Every enlightenment, in the x86_64 demo's order.
const ENLIGHTENMENTS: &[Enlightenment] = &[
    Enlightenment {
        feature: "guest OS identity",
        step: stateless!(guest_os_identity),
    },
    Enlightenment {
        feature: "hypercall page",
        step: stateless!(|_| x64_only("hypercalls use HVC, there is no hypercall page")),
    },
    Enlightenment {
        feature: "fast hypercall",
        step: stateless!(fast_hypercall),
    },
    Enlightenment {
        feature: "slow hypercall",
        step: stateless!(slow_hypercall),
    },
    Enlightenment {
        feature: "XMM fast hypercall",
        step: stateless!(|_| x64_only("arm64 has no XMM fast hypercalls")),
    },
    Enlightenment {
        feature: "VP index",
        step: stateless!(vp_index),
    },
    Enlightenment {
        feature: "reference counter",
        step: stateless!(reference_counter),
    },
    Enlightenment {
        feature: "reference TSC page",
        step: stateless!(reference_tsc_page),
    },
    Enlightenment {
        feature: "SynIC",
        step: synic,
    },
    Enlightenment {
        feature: "synthetic timer (message)",
        step: timer_message,
    },
    Enlightenment {
        feature: "synthetic timer (direct)",
        step: stateless!(timer_direct),
    },
    Enlightenment {
        feature: "TLB flush hypercalls",
        step: stateless!(|_| x64_only(
            "hv-guest builds its flush hypercalls for x86_64; arm64 broadcasts TLBI"
        )),
    },
    Enlightenment {
        feature: "IPI hypercalls",
        step: stateless!(|_| x64_only(
            "hv-guest builds its IPI hypercalls for x86_64; arm64 sends GIC SGIs"
        )),
    },
    Enlightenment {
        feature: "VP assist page",
        step: stateless!(|_| x64_only("hv-guest builds the VP assist page for x86_64")),
    },
    Enlightenment {
        feature: "APIC MSRs",
        step: stateless!(|_| x64_only("arm64 has a GIC, not an APIC")),
    },
    Enlightenment {
        feature: "spinlock notification",
        step: stateless!(spinlock_notification),
    },
    Enlightenment {
        feature: "crash MSRs",
        step: stateless!(crash_registers),
    },
    Enlightenment {
        feature: "extended capabilities",
        step: stateless!(extended_capabilities),
    },
    Enlightenment {
        feature: "VMBus",
        step: stateless!(not_yet),
    },
    Enlightenment {
        feature: "VSM",
        step: stateless!(|_| x64_only(
            "hv-guest builds VSM for x86_64 (VTL switches go through the hypercall page)"
        )),
    },
];

fn x64_only(why: &str) -> Outcome {
    Outcome::unavailable(format_args!("x86_64 only: {why}"))
}

fn not_yet(_: &GuestOs<Arm64>) -> Outcome {
    Outcome::unavailable(format_args!(
        "Hyper-V interface present; this kernel has no arm64 step for it yet"
    ))
}

/// The identity line, in the x86_64 demo's words.
fn guest_os_identity(guest: &GuestOs<Arm64>) -> Outcome {
    Outcome::ok(format_args!(
        "open source, OS type {:#x}, version {OS_VERSION:#x} ({:#018x}), set with a fast \
         HvCallSetVpRegisters",
        OS_TYPE.get(),
        guest.id().into_bits()
    ))
}

/// The register-block fast call: a one-register `HvCallGetVpRegisters` of
/// `HvRegisterVpIndex` whose value comes back in registers.
fn fast_hypercall(guest: &GuestOs<Arm64>) -> Outcome {
    match arm64::get_vp_register(
        guest.platform(),
        HV_VP_INDEX_SELF,
        HvInputVtl::CURRENT,
        HvRegisterName::HvRegisterVpIndex,
    ) {
        Ok(value) => Outcome::ok(format_args!(
            "HvCallGetVpRegisters with register output: VP index {}",
            value.as_u64()
        )),
        Err(e) => Outcome::failed(format_args!("HvCallGetVpRegisters: {e}")),
    }
}

/// Hypercall parameter pages from the page allocator, kept for the run.
fn io_pages() -> Result<IoPages<'static>, frames::AllocError> {
    Ok(IoPages::new(static_page()?, static_page()?))
}

/// The allocator's page as `hv-guest`'s page type (both are 4 KiB, 4 KiB aligned).
fn zerocopy_page(page: &'static mut frames::Page) -> &'static mut hv_guest::page::HvPage {
    let ptr = core::ptr::from_mut(page).cast::<hv_guest::page::HvPage>();
    // SAFETY: both types are `repr(C, align(4096))` wrappers of `[u8; 4096]`, and the unique
    // `'static` borrow moves from one to the other.
    unsafe { &mut *ptr }
}

/// A memory-based call: `HvCallGetVpRegisters` of `HvRegisterVpIndex` through the
/// parameter pages.
fn slow_hypercall(guest: &GuestOs<Arm64>) -> Outcome {
    let mut io = match io_pages() {
        Ok(io) => io,
        Err(e) => return Outcome::failed(format_args!("no parameter pages: {e}")),
    };
    match guest.hypercalls().get_vp_register(
        &mut io,
        HV_VP_INDEX_SELF,
        HvInputVtl::CURRENT,
        HvRegisterName::HvRegisterVpIndex,
    ) {
        Ok(value) => Outcome::ok(format_args!(
            "HvCallGetVpRegisters through the parameter pages: VP index {}",
            value.as_u64()
        )),
        Err(e) => Outcome::failed(format_args!("HvCallGetVpRegisters: {e}")),
    }
}

fn vp_index(guest: &GuestOs<Arm64>) -> Outcome {
    if !guest.info().features.privileges().access_vp_index() {
        return Outcome::unavailable(format_args!("the partition lacks AccessVpIndex"));
    }
    // SAFETY: the register exists with the AccessVpIndex privilege just checked.
    match unsafe {
        guest
            .platform()
            .read_register(HvRegisterName::HvRegisterVpIndex)
    } {
        Ok(index) => Outcome::ok(format_args!("HvRegisterVpIndex {index}")),
        Err(e) => Outcome::failed(format_args!("HvRegisterVpIndex: {e}")),
    }
}

fn reference_counter(guest: &GuestOs<Arm64>) -> Outcome {
    if !guest
        .info()
        .features
        .privileges()
        .access_partition_reference_counter()
    {
        return Outcome::unavailable(format_args!(
            "the partition lacks AccessPartitionReferenceCounter"
        ));
    }
    let read = || {
        // SAFETY: the register exists with the privilege just checked; reading it has no
        // effect.
        unsafe {
            guest
                .platform()
                .read_register(HvRegisterName::HvRegisterTimeRefCount)
        }
    };
    match (read(), read()) {
        (Ok(a), Ok(b)) if b >= a => {
            Outcome::ok(format_args!("HvRegisterTimeRefCount {a}, then {b}"))
        }
        (Ok(a), Ok(b)) => Outcome::failed(format_args!("the counter went back from {a} to {b}")),
        (Err(e), _) | (_, Err(e)) => Outcome::failed(format_args!("HvRegisterTimeRefCount: {e}")),
    }
}

fn spinlock_notification(guest: &GuestOs<Arm64>) -> Outcome {
    let Some(retries) = guest.info().spinlock_retries() else {
        return Outcome::unavailable(format_args!("the hypervisor asks never to be notified"));
    };
    match guest.hypercalls().notify_long_spin_wait(retries) {
        Ok(()) => Outcome::ok(format_args!(
            "HvCallNotifyLongSpinWait after {retries} retries"
        )),
        Err(e) => Outcome::failed(format_args!("HvCallNotifyLongSpinWait: {e}")),
    }
}

fn crash_registers(guest: &GuestOs<Arm64>) -> Outcome {
    if !guest.info().features_info().guest_crash_regs_available() {
        return Outcome::unavailable(format_args!("the crash registers are not offered"));
    }
    // SAFETY: the crash registers exist (the feature bit just checked); reading the control
    // register reports nothing.
    match unsafe {
        guest
            .platform()
            .read_register(HvRegisterName::HvRegisterGuestCrashCtl)
    } {
        Ok(ctl) => Outcome::ok(format_args!("HvRegisterGuestCrashCtl {ctl:#x}")),
        Err(e) => Outcome::failed(format_args!("HvRegisterGuestCrashCtl: {e}")),
    }
}

fn extended_capabilities(guest: &GuestOs<Arm64>) -> Outcome {
    if !guest
        .info()
        .features
        .privileges()
        .enable_extended_hypercalls()
    {
        return Outcome::unavailable(format_args!("the partition lacks EnableExtendedHypercalls"));
    }
    let mut io = match io_pages() {
        Ok(io) => io,
        Err(e) => return Outcome::failed(format_args!("no parameter pages: {e}")),
    };
    match guest.hypercalls().query_extended_capabilities(&mut io) {
        Ok(caps) => Outcome::ok(format_args!("capabilities {:#x}", caps.into_bits())),
        Err(e) => Outcome::failed(format_args!("HvExtCallQueryCapabilities: {e}")),
    }
}

/// A page from the allocator, leaked: what the hypervisor overlays lives as long as the
/// kernel.
fn static_page() -> Result<PhysPage<'static>, frames::AllocError> {
    let page = frames::alloc_page()?.leak();
    let gpa = page.phys_addr();
    let page = zerocopy_page(page);
    // SAFETY: the runtime identity-maps RAM, so the page's address is its GPA, and the page
    // is leaked (owned forever).
    Ok(unsafe { PhysPage::new(page, gpa) })
}

/// The reference TSC page (TLFS 12.7) read through hv-guest's clock, whose counter on arm64
/// is CNTVCT_EL0; see the module docs.
fn reference_tsc_page(guest: &GuestOs<Arm64>) -> Outcome {
    let privileges = guest.info().features.privileges();
    if !privileges.access_partition_reference_tsc() {
        return Outcome::unavailable(format_args!(
            "the partition lacks AccessPartitionReferenceTsc"
        ));
    }
    let mut clock = match ReferenceTime::new(guest.platform(), *guest.platform(), privileges) {
        Ok(clock) => clock,
        Err(e) => return Outcome::failed(format_args!("{e}")),
    };
    let page = match static_page() {
        Ok(page) => page,
        Err(e) => return Outcome::failed(format_args!("no page for it: {e}")),
    };
    if let Err(e) = clock.enable_tsc_page(page) {
        return Outcome::failed(format_args!("enabling the page: {e}"));
    }
    let gpa = clock.tsc_page_gpa().unwrap_or(0);
    let mut first = None;
    let mut last = 0;
    for _ in 0..PAGE_READS {
        match clock.read() {
            Ok(reading) if reading.source != TimeSource::TscPage => {
                return Outcome::failed(format_args!(
                    "a reading came from the counter register, not the page"
                ));
            }
            Ok(reading) if reading.time < last => {
                return Outcome::failed(format_args!(
                    "the page went back from {last} to {}",
                    reading.time
                ));
            }
            Ok(reading) => {
                first.get_or_insert(reading.time);
                last = reading.time;
            }
            Err(e) => return Outcome::failed(format_args!("reading the page: {e}")),
        }
    }
    Outcome::ok(format_args!(
        "at {gpa:#x}: {PAGE_READS} reads from the page (CNTVCT_EL0 scaled), {} then {last}, \
         monotonic",
        first.unwrap_or(0)
    ))
}

/// The SynIC (TLFS 11) with SINT [`TIMER_SINT`] on interrupt id [`SINT_INTID`]; kept in
/// `state` for the timer step. See the module docs.
fn synic(guest: &GuestOs<Arm64>, state: &mut State) -> Outcome {
    let features = guest.info().features_info();
    if !features.privileges().access_synic_regs() {
        return Outcome::unavailable(format_args!("the partition lacks AccessSynicRegs"));
    }
    let (sim, sief) = match (static_page(), static_page()) {
        (Ok(sim), Ok(sief)) => (sim, sief),
        (Err(e), _) | (_, Err(e)) => {
            return Outcome::failed(format_args!("no pages for it: {e}"));
        }
    };
    let (sim_gpa, sief_gpa) = (sim.gpa(), sief.gpa());
    let mut synic = match Synic::enable(*guest.platform(), features, sim, sief) {
        Ok(synic) => synic,
        Err(e) => return Outcome::failed(format_args!("enabling: {}", e.reason)),
    };
    let config = match (HvSint::new(TIMER_SINT), SintConfig::new(SINT_INTID as u8)) {
        (Ok(sint), Ok(config)) => (sint, config),
        _ => return Outcome::failed(format_args!("SINT {TIMER_SINT} or id {SINT_INTID} invalid")),
    };
    if let Err(e) = synic.configure_sint(config.0, config.1) {
        return Outcome::failed(format_args!("SINT{TIMER_SINT}: {e}"));
    }
    let value = match synic.read_sint(config.0) {
        Ok(value) => value,
        Err(e) => return Outcome::failed(format_args!("SINT{TIMER_SINT}: {e}")),
    };
    state.synic = Some(synic);
    Outcome::ok(format_args!(
        "enabled (SIM at {sim_gpa:#x}, SIEF at {sief_gpa:#x}), SINT{TIMER_SINT} = {:#x}: \
         interrupt id {SINT_INTID}, unmasked; delivery checked by the timer step",
        value.into_bits()
    ))
}

fn count_sint(_: IntId) {
    SINT_IRQS.fetch_add(1, Ordering::AcqRel);
}

fn count_direct(_: IntId) {
    DIRECT_IRQS.fetch_add(1, Ordering::AcqRel);
}

/// Waits, with IRQs unmasked between checks, until `count` reaches 1 or [`WAIT_LIMIT`]
/// waits passed. `WFI` with IRQs masked still wakes on a pending interrupt, which is taken
/// once they are unmasked, so none is lost between the check and the wait.
fn wait_for(count: &AtomicU32) -> bool {
    for _ in 0..WAIT_LIMIT {
        cpu::disable_interrupts();
        if count.load(Ordering::Acquire) > 0 {
            return true;
        }
        cpu::wait_for_interrupt();
        cpu::enable_interrupts();
    }
    cpu::disable_interrupts();
    count.load(Ordering::Acquire) > 0
}

/// The partition reference time, for arming timers (which count in it).
fn reference_now(guest: &GuestOs<Arm64>) -> Result<u64, Outcome> {
    let privileges = guest.info().features.privileges();
    if !privileges.access_partition_reference_counter() {
        return Err(Outcome::unavailable(format_args!(
            "the partition lacks AccessPartitionReferenceCounter to arm timers with"
        )));
    }
    // SAFETY: the register exists with the privilege just checked; reading it has no
    // effect.
    unsafe {
        guest
            .platform()
            .read_register(HvRegisterName::HvRegisterTimeRefCount)
    }
    .map_err(|e| Outcome::failed(format_args!("HvRegisterTimeRefCount: {e}")))
}

/// A one-shot message-mode timer through the SynIC of the previous step; see the module
/// docs.
fn timer_message(guest: &GuestOs<Arm64>, state: &mut State) -> Outcome {
    let features = guest.info().features_info();
    let Some(synic) = state.synic.as_ref() else {
        return Outcome::unavailable(format_args!("no SynIC (see the SynIC line)"));
    };
    let timers = match SyntheticTimers::new(*guest.platform(), features) {
        Ok(timers) => timers,
        Err(e) => return Outcome::unavailable(format_args!("{e}")),
    };
    let sint = match HvSint::new(TIMER_SINT).map(|sint| TimerSint::new(synic, sint)) {
        Ok(Ok(sint)) => sint,
        Ok(Err(e)) => return Outcome::failed(format_args!("{e}")),
        Err(_) => return Outcome::failed(format_args!("SINT {TIMER_SINT} invalid")),
    };
    let Some(id) = IntId::new(SINT_INTID) else {
        return Outcome::failed(format_args!("interrupt id {SINT_INTID} is not private"));
    };
    if let Err(e) = gic::register(id, count_sint) {
        return Outcome::failed(format_args!("{e}"));
    }
    let outcome = one_timer_message(guest, synic, &timers, sint);
    gic::unregister(id);
    let _ = timers.clear(TimerIndex::TIMER0);
    outcome
}

fn one_timer_message(
    guest: &GuestOs<Arm64>,
    synic: &Synic<Arm64>,
    timers: &SyntheticTimers<Arm64>,
    sint: TimerSint,
) -> Outcome {
    let now = match reference_now(guest) {
        Ok(now) => now,
        Err(outcome) => return outcome,
    };
    let due = now + DUE;
    let config = TimerConfig::one_shot(TimerMode::Message(sint));
    if let Err(e) = timers.start(TimerIndex::TIMER0, config, due) {
        return Outcome::failed(format_args!("arming stimer0: {e}"));
    }
    if !wait_for(&SINT_IRQS) {
        return Outcome::failed(format_args!(
            "no interrupt {SINT_INTID} after {WAIT_LIMIT} waits"
        ));
    }
    let message = match synic.receive(sint.sint()) {
        Ok(Some(message)) => message,
        Ok(None) => return Outcome::failed(format_args!("interrupt, but the slot is empty")),
        Err(e) => return Outcome::failed(format_args!("{e}")),
    };
    let expired = match TimerExpired::decode(&message) {
        Ok(expired) => expired,
        Err(e) => return Outcome::failed(format_args!("{e}")),
    };
    if expired.timer != TimerIndex::TIMER0
        || expired.expiration_time != due
        || expired.delivery_time < due
    {
        return Outcome::failed(format_args!(
            "message for timer {}, expiration {} (armed for {due}), delivered at {}",
            expired.timer.get(),
            expired.expiration_time,
            expired.delivery_time
        ));
    }
    Outcome::ok(format_args!(
        "stimer0 one-shot on SINT{TIMER_SINT}: 1 interrupt ({SINT_INTID}), timer-expired \
         message for {due}, delivered {} units later",
        expired.delivery_time - due
    ))
}

/// A one-shot direct-mode timer; see the module docs.
fn timer_direct(guest: &GuestOs<Arm64>) -> Outcome {
    let features = guest.info().features_info();
    if !features.direct_synthetic_timers() {
        return Outcome::unavailable(format_args!("direct synthetic timers are not offered"));
    }
    let timers = match SyntheticTimers::new(*guest.platform(), features) {
        Ok(timers) => timers,
        Err(e) => return Outcome::unavailable(format_args!("{e}")),
    };
    let Some(id) = IntId::new(DIRECT_INTID) else {
        return Outcome::failed(format_args!("interrupt id {DIRECT_INTID} is not private"));
    };
    if let Err(e) = gic::register(id, count_direct) {
        return Outcome::failed(format_args!("{e}"));
    }
    let outcome = (|| {
        let now = reference_now(guest)?;
        let due = now + DUE;
        let config = TimerConfig::one_shot(TimerMode::Direct {
            vector: DIRECT_INTID as u8,
        });
        timers
            .start(TimerIndex::TIMER1, config, due)
            .map_err(|e| Outcome::failed(format_args!("arming stimer1: {e}")))?;
        if !wait_for(&DIRECT_IRQS) {
            return Err(Outcome::failed(format_args!(
                "no interrupt {DIRECT_INTID} after {WAIT_LIMIT} waits"
            )));
        }
        let at = reference_now(guest)?;
        if at < due {
            return Err(Outcome::failed(format_args!(
                "interrupt at {at}, before the expiration {due}"
            )));
        }
        Ok(Outcome::ok(format_args!(
            "stimer1 one-shot, interrupt id {DIRECT_INTID}, due in {DUE} units: {} interrupt, \
             {} units after arming",
            DIRECT_IRQS.load(Ordering::Acquire),
            at - now
        )))
    })()
    .unwrap_or_else(|outcome| outcome);
    gic::unregister(id);
    let _ = timers.clear(TimerIndex::TIMER1);
    outcome
}

/// Runs discovery and every step, recording each outcome.
pub(crate) fn run<W: fmt::Write>(report: &mut Report<W>) {
    let hv = Discovery::probe();
    report.record("hypervisor", &hv.identity());
    let mut state = State { synic: None };
    for e in ENLIGHTENMENTS {
        report.record(e.feature, &hv.run(&mut state, e.step));
    }
}
