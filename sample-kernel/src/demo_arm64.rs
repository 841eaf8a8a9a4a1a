//! The demo on arm64: the same report, with the same list of enlightenments in the same
//! order as on x86_64 (the tests check that the transcripts name the same features), brought
//! up with `hv-guest`'s arm64 support.
//!
//! Discovery follows the arm64 order (`hv_guest::arm64`): the kernel must run at EL1 with
//! `HVC` taken by EL2 (the PSCI conduit the device tree or the ACPI FADT names is `hvc`);
//! then the SMCCC vendor hypervisor UID query; then the guest OS identity, the first
//! hypercall; then the feature registers. Steps that exist only on x86_64 (hypercall page, XMM fast hypercalls, APIC MSRs)
//! say so; steps this kernel does not exercise on arm64 yet say that instead.

use core::fmt;

use hv_guest::arch::aarch64::Arm64;
use hv_guest::arm64::{self, GuestOs, HvcConvention, Hyperv, IdentityError, NoHyperV};
use hv_guest::defs::HV_VP_INDEX_SELF;
use hv_guest::defs::arm64::SmcccUid;
use hv_guest::defs::guest_id::{HvGuestOsId, HvGuestOsIdOpenSource, HvGuestOsType};
use hv_guest::defs::register::HvRegisterName;
use hv_guest::defs::vp::HvInputVtl;
use hv_guest::page::{IoPages, PhysPage};
use hv_guest::platform::Platform;
use kernel_rt::arch::aarch64::start::machine;
use kernel_rt::fdt::PsciConduit;
use kernel_rt::frames;
use kernel_rt::report::{Outcome, Report};

/// The identity the demo reports: an open source OS (TLFS 2.6.2) of type Linux, version
/// 0.1.0 of this project in the version field.
const GUEST_OS_ID: HvGuestOsId =
    match HvGuestOsIdOpenSource::build(HvGuestOsType::LINUX, 0, 0x0000_0100, 0) {
        Ok(id) => HvGuestOsId::OpenSource(id),
        Err(_) => panic!("the demo's identity is valid"),
    };

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
    fn run(&self, step: fn(&GuestOs<Arm64>) -> Outcome) -> Outcome {
        match self {
            Self::HyperV {
                guest: Ok(guest), ..
            } => step(guest),
            Self::HyperV { guest: Err(e), .. } => {
                Outcome::failed(format_args!("guest OS identity not set: {e}"))
            }
            _ => Outcome::unavailable(format_args!("no Hyper-V interface")),
        }
    }
}

/// One enlightenment of the report.
struct Enlightenment {
    feature: &'static str,
    step: fn(&GuestOs<Arm64>) -> Outcome,
}

const fn step(feature: &'static str, step: fn(&GuestOs<Arm64>) -> Outcome) -> Enlightenment {
    Enlightenment { feature, step }
}

/// Every enlightenment, in the x86_64 demo's order.
const ENLIGHTENMENTS: &[Enlightenment] = &[
    step("guest OS identity", guest_os_identity),
    step("hypercall page", |_| {
        x64_only("hypercalls use HVC, there is no hypercall page")
    }),
    step("fast hypercall", fast_hypercall),
    step("slow hypercall", slow_hypercall),
    step("XMM fast hypercall", |_| {
        x64_only("arm64 has no XMM fast hypercalls")
    }),
    step("VP index", vp_index),
    step("reference counter", reference_counter),
    step("reference TSC page", not_yet),
    step("SynIC", not_yet),
    step("synthetic timer (message)", not_yet),
    step("synthetic timer (direct)", not_yet),
    step("TLB flush hypercalls", not_yet),
    step("IPI hypercalls", not_yet),
    step("VP assist page", not_yet),
    step("APIC MSRs", |_| x64_only("arm64 has a GIC, not an APIC")),
    step("spinlock notification", spinlock_notification),
    step("crash MSRs", crash_registers),
    step("extended capabilities", extended_capabilities),
    step("VMBus", not_yet),
    step("VSM", not_yet),
];

fn x64_only(why: &str) -> Outcome {
    Outcome::unavailable(format_args!("x86_64 only: {why}"))
}

fn not_yet(_: &GuestOs<Arm64>) -> Outcome {
    Outcome::unavailable(format_args!(
        "Hyper-V interface present; this kernel has no arm64 step for it yet"
    ))
}

fn guest_os_identity(guest: &GuestOs<Arm64>) -> Outcome {
    Outcome::ok(format_args!(
        "HvRegisterGuestOsId {:#018x}, set with a fast HvCallSetVpRegisters",
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
    let page = || {
        let page = frames::alloc_page()?.leak();
        let gpa = page.phys_addr();
        let page: &'static mut hv_guest::page::HvPage = zerocopy_page(page);
        // SAFETY: the runtime identity-maps RAM, so the page's address is its GPA, and the
        // page is leaked (owned forever).
        Ok(unsafe { PhysPage::new(page, gpa) })
    };
    Ok(IoPages::new(page()?, page()?))
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

/// Runs discovery and every step, recording each outcome.
pub(crate) fn run<W: fmt::Write>(report: &mut Report<W>) {
    let hv = Discovery::probe();
    report.record("hypervisor", &hv.identity());
    for e in ENLIGHTENMENTS {
        report.record(e.feature, &hv.run(e.step));
    }
}
