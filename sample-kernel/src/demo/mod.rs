//! The demo: the list of enlightenments the project supports and the order they run in.
//!
//! Discovery and the bring-up of the hypercall interface go through `hv-guest`
//! ([`hv_guest::hyperv`]); every step is a function from the shared [`Context`] to one
//! [`Outcome`], so each produces exactly one report line. Steps whose `hv-guest` module has
//! not landed yet report `unavailable` with that reason; their issue replaces the step
//! function in [`ENLIGHTENMENTS`], one by one.

mod core;
mod mp;
mod synic;
mod time;
mod vmbus;
mod vsm;

use ::core::fmt;

use hv_guest::arch::x86_64::X64;
use hv_guest::counter::HypercallCounter;
use hv_guest::discovery::{HvInfo, NoHyperV};
use hv_guest::hypercall::Hypercalls;
use hv_guest::hyperv::{GuestOs, HypercallPage, Hyperv};
use hv_guest::page::{HvPage, IoPages, PhysPage};
use hv_guest::synic::Synic;
use kernel_rt::bootinfo::BootInfo;
use kernel_rt::frames::{AllocError, alloc_page};
use kernel_rt::report::{Detail, Outcome, Report};
use kernel_rt::sync::StaticCell;
use zerocopy::FromBytes;

/// The platform every `hv-guest` handle of the demo uses: the processor, with a count of
/// the hypercalls made through it (the TLB flush step reports how many a flush took).
type Platform = HypercallCounter<X64>;

/// The hypercall page, once enabled: it lives as long as the kernel, so the application
/// processor can make hypercalls through it too.
static HYPERCALL_PAGE: StaticCell<HypercallPage<Platform>> = StaticCell::new();

/// How far the bring-up of the hypercall interface got (TLFS 3.13); each stage owns the
/// `hv-guest` value of that stage.
#[derive(Debug)]
enum Stage {
    /// No Hyper-V interface: what was found instead.
    Absent(NoHyperV),
    /// Discovered; no guest OS identity yet.
    Detected(Hyperv<Platform>),
    /// The guest OS identity is set; no hypercall page yet.
    Identified(GuestOs<Platform>),
    /// The hypercall page is enabled: hypercalls can be made.
    Ready(&'static HypercallPage<Platform>),
}

/// What the steps share: the bring-up stage, the hypercall parameter pages, the reference
/// clock, this CPU's SynIC, the boot information and the application processor.
pub(crate) struct Context {
    /// `None` only while a step moves the stage on.
    stage: Option<Stage>,
    /// Input and output pages of memory-based hypercalls, allocated on first use.
    io: Option<IoPages<'static>>,
    /// The partition reference clock, made by the first step that needs it.
    clock: Option<time::Clock>,
    /// The SynIC, once the SynIC step enabled it.
    synic: Option<Synic<X64>>,
    /// What the runtime learnt at boot (the ACPI tables, the memory map).
    boot: &'static BootInfo,
    /// The application processor, once a step tried to bring it up.
    ap: Option<Result<mp::ApInfo, Outcome>>,
    /// An `info:` line to print before the next step's line.
    note: Option<Detail>,
}

#[expect(
    clippy::result_large_err,
    reason = "no allocator to box into; the error is the step's report line, made once per step"
)]
impl Context {
    /// Discovers the hypervisor (CPUID only).
    fn detect(boot: &'static BootInfo) -> Self {
        let stage = match Hyperv::detect(HypercallCounter::new(X64)) {
            Ok(hv) => Stage::Detected(hv),
            Err(why) => Stage::Absent(why),
        };
        Self {
            stage: Some(stage),
            io: None,
            clock: None,
            synic: None,
            boot,
            ap: None,
            note: None,
        }
    }

    /// What discovery found, or the `unavailable` outcome without the Hyper-V interface.
    fn info(&self) -> Result<&HvInfo, Outcome> {
        match &self.stage {
            Some(Stage::Detected(hv)) => Ok(hv.info()),
            Some(Stage::Identified(guest)) => Ok(guest.info()),
            Some(Stage::Ready(page)) => Ok(page.info()),
            Some(Stage::Absent(_)) | None => Err(no_interface()),
        }
    }

    /// The hypercall handle and what discovery found, or why there is none.
    fn hypercalls(&self) -> Result<(Hypercalls<'static, Platform>, &HvInfo), Outcome> {
        match &self.stage {
            Some(Stage::Ready(page)) => Ok((page.hypercalls(), page.info())),
            Some(Stage::Detected(_) | Stage::Identified(_)) => Err(Outcome::unavailable(
                format_args!("no hypercall page (see the hypercall page line)"),
            )),
            Some(Stage::Absent(_)) | None => Err(no_interface()),
        }
    }

    /// The hypercall handle, what discovery found and the parameter pages.
    fn hypercalls_with_pages(
        &mut self,
    ) -> Result<
        (
            Hypercalls<'static, Platform>,
            &HvInfo,
            &mut IoPages<'static>,
        ),
        Outcome,
    > {
        if self.io.is_none() {
            // Before the pages, so that a partition without hypercalls allocates nothing.
            self.hypercalls()?;
            let pages = io_pages()
                .map_err(|e| Outcome::failed(format_args!("no hypercall parameter pages: {e}")))?;
            self.io = Some(pages);
        }
        match (&self.stage, &mut self.io) {
            (Some(Stage::Ready(page)), Some(io)) => Ok((page.hypercalls(), page.info(), io)),
            _ => Err(no_interface()),
        }
    }
}

/// The outcome of every step on a partition without the Hyper-V interface.
fn no_interface() -> Outcome {
    Outcome::unavailable(format_args!("no Hyper-V interface"))
}

/// A page from the runtime's allocator that is never freed, as an `hv-guest` page with its
/// guest physical address. Overlays and per-CPU parameter pages live as long as the kernel.
fn static_page() -> Result<PhysPage<'static>, AllocError> {
    let page = alloc_page()?.leak();
    let gpa = page.phys_addr();
    let page = HvPage::mut_from_bytes(&mut page.0)
        .expect("the runtime's pages are 4 KiB, 4 KiB-aligned: an HvPage");
    // SAFETY: the runtime identity-maps the first 4 GiB (virtual = physical, executable:
    // it sets no NX bit) and its allocator hands out pages only from there, so `gpa` is the
    // page's guest physical address, for ever since the page is leaked.
    Ok(unsafe { PhysPage::new(page, gpa) })
}

/// The pair of parameter pages of memory-based hypercalls.
fn io_pages() -> Result<IoPages<'static>, AllocError> {
    Ok(IoPages::new(static_page()?, static_page()?))
}

/// One enlightenment of the report.
struct Enlightenment {
    /// The feature name printed in its report line.
    feature: &'static str,
    /// The step that exercises it.
    step: fn(&mut Context) -> Outcome,
}

/// Every enlightenment the project supports, in report order. This is the only list:
/// later work replaces a `pending` entry here with the real step.
const ENLIGHTENMENTS: &[Enlightenment] = &[
    step("guest OS identity", core::guest_os_identity),
    step("hypercall page", core::hypercall_page),
    step("fast hypercall", core::fast_hypercall),
    step("slow hypercall", core::slow_hypercall),
    step("XMM fast hypercall", core::xmm_fast_hypercall),
    step("VP index", core::vp_index),
    step("reference counter", time::reference_counter),
    step("reference TSC page", time::reference_tsc_page),
    step("SynIC", synic::synic),
    step("synthetic timer (message)", time::stimer_message),
    step("synthetic timer (direct)", time::stimer_direct),
    step("TLB flush hypercalls", mp::tlb_flush),
    step("IPI hypercalls", mp::ipi),
    step("VP assist page", synic::vp_assist_page),
    step("APIC MSRs", synic::apic_msrs),
    step("spinlock notification", core::spinlock_notification),
    step("crash MSRs", synic::crash_msrs),
    step("extended capabilities", core::extended_capabilities),
    step("VMBus", vmbus::vmbus),
    step("VSM", vsm::vsm),
];

/// An enlightenment exercised by `step`.
const fn step(feature: &'static str, step: fn(&mut Context) -> Outcome) -> Enlightenment {
    Enlightenment { feature, step }
}

/// Runs discovery and every step, recording each outcome (after the `info:` line a step
/// may leave).
pub(crate) fn run<W: fmt::Write>(report: &mut Report<W>, boot: &'static BootInfo) {
    let mut cx = Context::detect(boot);
    report.record("hypervisor", &core::identity(&cx));
    if let Ok(info) = cx.info() {
        core::describe(report, info);
    }
    for e in ENLIGHTENMENTS {
        let outcome = (e.step)(&mut cx);
        if let Some(note) = cx.note.take() {
            report.note(format_args!("info: {note}"));
        }
        report.record(e.feature, &outcome);
    }
}
