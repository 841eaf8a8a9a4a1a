//! The demo: the list of enlightenments the project supports and the order they run in.
//!
//! Every step is a function from what discovery found to one [`Outcome`], so each
//! produces exactly one report line. Discovery lives in [`discovery`] and uses raw CPUID
//! until `hv-guest` lands; then the steps below switch to `hv-guest` calls, one by one.

mod discovery;

use core::fmt;

use kernel_rt::report::{Outcome, Report};

pub(crate) use discovery::Discovery;

/// One enlightenment of the report.
struct Enlightenment {
    /// The feature name printed in its report line.
    feature: &'static str,
    /// The step that exercises it.
    step: fn(&Discovery) -> Outcome,
}

/// Every enlightenment the project supports, in report order. This is the only list:
/// later work replaces a step function here with the real one.
const ENLIGHTENMENTS: &[Enlightenment] = &[
    pending("guest OS identity"),
    pending("hypercall page"),
    pending("fast hypercall"),
    pending("slow hypercall"),
    pending("XMM fast hypercall"),
    pending("VP index"),
    pending("reference counter"),
    pending("reference TSC page"),
    pending("SynIC"),
    pending("synthetic timer (message)"),
    pending("synthetic timer (direct)"),
    pending("TLB flush hypercalls"),
    pending("IPI hypercalls"),
    pending("VP assist page"),
    pending("APIC MSRs"),
    pending("spinlock notification"),
    pending("crash MSRs"),
    pending("extended capabilities"),
    pending("VMBus"),
    pending("VSM"),
];

/// An enlightenment whose step is not written yet: it needs `hv-guest`.
const fn pending(feature: &'static str) -> Enlightenment {
    Enlightenment {
        feature,
        step: not_exercised_yet,
    }
}

/// The step of every enlightenment until `hv-guest` lands: without the Hyper-V interface
/// the enlightenment is unavailable; with it, the kernel cannot exercise it yet and says so
/// (as unavailable, since nothing was tried that could fail).
fn not_exercised_yet(hv: &Discovery) -> Outcome {
    if hv.has_hyperv_interface() {
        Outcome::unavailable(format_args!(
            "Hyper-V interface present; this kernel has no step for it until hv-guest lands"
        ))
    } else {
        Outcome::unavailable(format_args!("no Hyper-V interface"))
    }
}

/// Runs discovery and every step, recording each outcome.
pub(crate) fn run<W: fmt::Write>(report: &mut Report<W>) {
    let hv = Discovery::probe();
    report.record("hypervisor", &hv.identity());
    for e in ENLIGHTENMENTS {
        report.record(e.feature, &(e.step)(&hv));
    }
}
