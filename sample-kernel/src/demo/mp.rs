//! The steps that involve a second processor: TLB flushes by hypercall (TLFS 9.4.2–9.4.5)
//! and synthetic cluster IPIs (TLFS 10.5.2, 10.5.3). Both use the application processor
//! (AP, VP 1 on the hosts the tests use), which the first of them brings up.
//!
//! # Bringing up the AP
//!
//! 1. The ACPI MADT names it (`kernel_rt::smp::find_ap`). Without one (a one-processor VM,
//!    QEMU's default `-smp 1`) both steps work on the boot processor alone.
//! 2. Its VP index comes from `HvCallGetVpIndexFromApicId` (TLFS 7.10.4) when the partition
//!    has `AccessVpIndex`. KVM does not implement the call (it answers
//!    `HV_STATUS_INVALID_HYPERCALL_CODE`); the AP also reads its own `HV_X64_MSR_VP_INDEX`
//!    once it runs, and when both exist they must agree.
//! 3. It starts with `HvCallStartVirtualProcessor` (TLFS 7.10.3) when the partition has the
//!    `StartVirtualProcessor` privilege (Hyper-V): hv-guest's `InitialVpContextBuilder`
//!    captures the boot processor's long-mode state (this kernel's GDT, IDT and page
//!    tables) with RIP at the runtime's AP entry and RSP on a stack from the page
//!    allocator. Otherwise (KVM) it starts with INIT and start-up IPIs through the x2APIC
//!    and the runtime's real-mode trampoline.
//! 4. It gets its own hypercall parameter pages, reads its VP index, says it is ready and
//!    waits for interrupts with interrupts enabled.
//!
//! A line `info: application processor: ...` before the step's line says how it went.
//!
//! # What counts as ok
//!
//! * **TLB flush hypercalls** (when a flush hypercall is recommended, TLFS 2.4.5):
//!   [`FLUSH_PAGES`] pages from [`FLUSH_GVA`] in this kernel's address space on every
//!   processor (VPs {0, 1}) through hv-guest's `TlbFlush`, which must take exactly the one
//!   hypercall the TLFS allows as a minimum (counted by the platform's `HypercallCounter`);
//!   then every address space on every VP with `HV_FLUSH_ALL_PROCESSORS`; and, when the Ex
//!   processor masks are recommended, the `Ex` forms as raw calls: the same range with
//!   `HvCallFlushVirtualAddressListEx` on the sparse VP set of those VPs, and
//!   `HvCallFlushVirtualAddressSpaceEx` on the VP set "all". Every call must succeed.
//! * **IPI hypercalls** (when the cluster IPI is recommended): [`VECTOR_FAST`] to the AP
//!   through hv-guest's `SyntheticIpi` (`HvCallSendSyntheticClusterIpi`, fast); then, with
//!   the Ex masks recommended, [`VECTOR_EX`] through a raw `HvCallSendSyntheticClusterIpiEx`
//!   to the VP set {AP}, which the AP answers with [`VECTOR_REPLY`] to the boot processor,
//!   sent from its own parameter pages. Each interrupt must reach the handler of the right
//!   processor within [`POLLS`] polls. Without an AP the fast IPI goes to the boot
//!   processor itself.

#![expect(
    clippy::result_large_err,
    reason = "no allocator to box into; the error is the step's report line, made once per step"
)]

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use hv_defs::HvVpIndex;
use hv_defs::cpuid::HvFeaturesInfo;
use hv_defs::hypercall::HvCallCode;
use hv_defs::interrupt::HvSendSyntheticClusterIpiExInput;
use hv_defs::mmu::{HvFlushFlags, HvFlushVirtualAddressSpaceExInput};
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::status::{HvError, HvStatus};
use hv_defs::vp::{HvInputVtl, HvVpSetHeader};
use hv_guest::arch::x86_64::X64;
use hv_guest::hypercall::{CallError, Hypercalls};
use hv_guest::ipi::SyntheticIpi;
use hv_guest::page::IoPages;
use hv_guest::tlb::{AddressSpace, CallForm, FlushAdvice, GvaRange, RangeFormat, TlbFlush};
use hv_guest::vp::read_vp_index;
use hv_guest::vpset::{VpSet, VpTargets};
use hv_guest::vsm::{InitialVpContextBuilder, entry_stack_pointer};
use kernel_rt::arch::x86_64::paging;
use kernel_rt::interrupts::{self, Eoi, Vector};
use kernel_rt::report::Outcome;
use kernel_rt::smp;
use kernel_rt::sync::SpinLock;
use kernel_rt::text::Text;
use zerocopy::IntoBytes;

use super::{Context, Platform, io_pages};

/// The first page the flush step flushes: 1 GiB, inside the runtime's identity map.
pub(super) const FLUSH_GVA: u64 = 0x4000_0000;
/// Pages the flush step flushes: three basic-format entries (4096 + 4096 + 1808 pages).
pub(super) const FLUSH_PAGES: u64 = 10_000;
/// The vector of the fast IPI.
const VECTOR_FAST: u8 = 0x40;
/// The vector of the `Ex` IPI, which the AP answers.
const VECTOR_EX: u8 = 0x41;
/// The vector of the AP's answer.
const VECTOR_REPLY: u8 = 0x42;
/// How often a processor polls for an event another one causes.
const POLLS: u64 = 10_000_000;
/// `AP_VP_INDEX` before the AP has read its register, or without `AccessVpIndex`.
const NO_INDEX: u32 = u32::MAX;

/// The AP, once it runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ApInfo {
    /// Its VP index.
    vp_index: HvVpIndex,
}

/// What the AP works with: its own parameter pages, a hypercall handle, and whom to answer.
struct ApWork {
    hc: Hypercalls<'static, Platform>,
    io: IoPages<'static>,
    privileges: HvPartitionPrivilegeMask,
    bsp: HvVpIndex,
}

/// The AP's per-CPU data, handed over when it starts.
static AP_WORK: SpinLock<Option<ApWork>> = SpinLock::new(None);
/// The AP's x2APIC id, for the interrupt handler to tell the processors apart.
static AP_APIC_ID: AtomicU32 = AtomicU32::new(u32::MAX);
/// The AP's VP index as its own register says ([`NO_INDEX`] without one).
static AP_VP_INDEX: AtomicU32 = AtomicU32::new(NO_INDEX);
/// Set by the AP once it waits for interrupts.
static AP_READY: AtomicBool = AtomicBool::new(false);
/// The IPI vectors each processor received (0: the boot processor, 1: the AP), one bit per
/// vector from [`VECTOR_FAST`].
static RECEIVED: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];
/// Set by the AP's handler of [`VECTOR_EX`]: the AP answers from its main loop.
static REPLY_REQUESTED: AtomicBool = AtomicBool::new(false);
/// The status of the AP's answer: 0 while none was sent, else 1 + the hypervisor's status.
static REPLY_STATUS: AtomicU32 = AtomicU32::new(0);

/// Polls up to [`POLLS`] times for `done`.
fn poll(done: impl Fn() -> bool) -> bool {
    for _ in 0..POLLS {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

/// The bit of `vector` in [`RECEIVED`].
const fn bit(vector: u8) -> u32 {
    1 << (vector - VECTOR_FAST)
}

/// Whether processor `cpu` (0 boot, 1 AP) received `vector`.
fn received(cpu: usize, vector: u8) -> bool {
    RECEIVED[cpu].load(Ordering::Acquire) & bit(vector) != 0
}

/// The handler of the three IPI vectors, on either processor.
fn on_ipi(vector: Vector) {
    let on_ap = kernel_rt::apic::id().is_ok_and(|id| id == AP_APIC_ID.load(Ordering::Acquire));
    RECEIVED[usize::from(on_ap)].fetch_or(bit(vector.get()), Ordering::AcqRel);
    if on_ap && vector.get() == VECTOR_EX {
        REPLY_REQUESTED.store(true, Ordering::Release);
    }
}

/// `HvCallSendSyntheticClusterIpiEx` of `vector` to `set` through the parameter pages.
fn send_ex(
    hc: Hypercalls<'_, Platform>,
    io: &mut IoPages<'_>,
    vector: u8,
    set: &VpSet<'_>,
) -> Result<(), CallError> {
    let input = HvSendSyntheticClusterIpiExInput {
        vector: u32::from(vector),
        target_vtl: HvInputVtl::CURRENT,
        rsvd: [0; 3],
        processor_set: set.header(),
    };
    let code = HvCallCode::HvCallSendSyntheticClusterIpiEx;
    hc.call_with_variable_header::<_, ()>(io, code, &input, set.banks().as_bytes())
}

/// The AP's kernel function: publish its VP index, then wait for interrupts and answer
/// [`VECTOR_EX`].
fn ap_main() -> ! {
    let mut work = AP_WORK.lock().take();
    let index = work
        .as_ref()
        .and_then(|w| read_vp_index(&X64, w.privileges).ok())
        .unwrap_or(NO_INDEX);
    AP_VP_INDEX.store(index, Ordering::Release);
    AP_READY.store(true, Ordering::Release);
    loop {
        interrupts::wait();
        if !REPLY_REQUESTED.swap(false, Ordering::AcqRel) {
            continue;
        }
        let status = match work.as_mut() {
            Some(w) => {
                let mut storage = [0u64; 2];
                let mut set = VpSet::new(&mut storage);
                match set.insert(w.bsp) {
                    Ok(()) => match send_ex(w.hc, &mut w.io, VECTOR_REPLY, &set) {
                        Ok(()) => 0,
                        Err(CallError::Hv(e)) => u32::from(HvStatus::from(e).get()),
                        Err(_) => u32::from(HvStatus::INVALID_PARAMETER.get()),
                    },
                    Err(_) => u32::from(HvStatus::INVALID_VP_INDEX.get()),
                }
            }
            None => u32::from(HvStatus::ACCESS_DENIED.get()),
        };
        REPLY_STATUS.store(1 + status, Ordering::Release);
    }
}

/// The boot processor's VP index and the AP, brought up on first use (see the module docs).
fn processors(cx: &mut Context) -> Result<(HvVpIndex, Option<ApInfo>), Outcome> {
    let privileges = match cx.info() {
        Ok(info) => info.features.privileges(),
        Err(outcome) => return Err(outcome),
    };
    let bsp = read_vp_index(&X64, privileges)
        .map_err(|e| Outcome::unavailable(format_args!("the VP indices are unknown: {e}")))?;
    let ap = match cx.ap {
        Some(ap) => ap,
        None => {
            let ap = bring_up(cx, privileges, bsp);
            cx.ap = Some(ap);
            ap
        }
    };
    match ap {
        Ok(ap) => Ok((bsp, Some(ap))),
        Err(Outcome::Unavailable(_)) => Ok((bsp, None)),
        Err(failed) => Err(failed),
    }
}

/// Finds, starts and waits for the AP; leaves the `info:` line in `cx`.
fn bring_up(
    cx: &mut Context,
    privileges: HvPartitionPrivilegeMask,
    bsp: HvVpIndex,
) -> Result<ApInfo, Outcome> {
    let boot = cx.boot;
    let apic_id = match smp::find_ap(boot) {
        Ok(Some(id)) => id,
        Ok(None) => {
            return Err(Outcome::unavailable(format_args!(
                "the ACPI MADT lists no second processor"
            )));
        }
        Err(e) => return Err(Outcome::unavailable(format_args!("{e}"))),
    };
    let (hc, _, io) = cx.hypercalls_with_pages()?;
    let mut by_call = None;
    if privileges.access_vp_index() {
        let mut index = [0];
        match hc.get_vp_index_from_apic_id(io, HvInputVtl::CURRENT, &[apic_id], &mut index) {
            Ok(()) => by_call = Some(index[0]),
            Err(e) if e.error == CallError::Hv(HvError::INVALID_HYPERCALL_CODE) => {}
            Err(e) => {
                return Err(Outcome::failed(format_args!(
                    "HvCallGetVpIndexFromApicId({apic_id}): {}",
                    e.error
                )));
            }
        }
    }
    let failed = |what: &str, e: &dyn fmt::Display| {
        Outcome::failed(format_args!("application processor {apic_id}: {what}: {e}"))
    };
    let launch = smp::prepare(apic_id, ap_main).map_err(|e| failed("prepare", &e))?;
    let ap_io = io_pages().map_err(|e| failed("parameter pages", &e))?;
    AP_APIC_ID.store(apic_id, Ordering::Release);
    *AP_WORK.lock() = Some(ApWork {
        hc,
        io: ap_io,
        privileges,
        bsp,
    });
    let started_by = match by_call {
        Some(vp) if privileges.start_virtual_processor() => {
            let rsp = entry_stack_pointer(launch.stack_top())
                .ok_or_else(|| failed("stack", &"below 16"))?;
            let context = InitialVpContextBuilder::capture(&X64, launch.entry(), rsp)
                .map_err(|e| failed("context", &e))?
                .build();
            hc.start_virtual_processor(io, vp, 0, &context)
                .map_err(|e| failed("HvCallStartVirtualProcessor", &e))?;
            "HvCallStartVirtualProcessor"
        }
        _ => {
            launch
                .start_with_init_sipi(boot)
                .map_err(|e| failed("INIT-SIPI", &e))?;
            "INIT-SIPI"
        }
    };
    if !poll(|| AP_READY.load(Ordering::Acquire)) {
        return Err(failed(started_by, &"it never became ready"));
    }
    let by_msr = Some(AP_VP_INDEX.load(Ordering::Acquire)).filter(|&i| i != NO_INDEX);
    let (vp_index, source) = match (by_call, by_msr) {
        (Some(a), Some(b)) if a != b => {
            return Err(Outcome::failed(format_args!(
                "HvCallGetVpIndexFromApicId says VP {a}, its HV_X64_MSR_VP_INDEX {b}"
            )));
        }
        (Some(a), Some(_)) => (a, "HvCallGetVpIndexFromApicId, as its HV_X64_MSR_VP_INDEX"),
        (Some(a), None) => (a, "HvCallGetVpIndexFromApicId"),
        (None, Some(b)) => (b, "its HV_X64_MSR_VP_INDEX"),
        (None, None) => {
            return Err(Outcome::failed(format_args!(
                "application processor {apic_id}: no VP index"
            )));
        }
    };
    cx.note = Some(Text::format(format_args!(
        "application processor: VP {vp_index} (APIC id {apic_id}) started by {started_by}; \
         VP index from {source}"
    )));
    Ok(ApInfo { vp_index })
}

/// A VP set with the boot processor and the AP, if any.
fn vp_set<'s>(
    storage: &'s mut [u64; 2],
    bsp: HvVpIndex,
    ap: Option<ApInfo>,
) -> Result<VpSet<'s>, Outcome> {
    let mut set = VpSet::new(storage);
    for vp in [Some(bsp), ap.map(|ap| ap.vp_index)].into_iter().flatten() {
        set.insert(vp)
            .map_err(|e| Outcome::failed(format_args!("VP set: {e}")))?;
    }
    Ok(set)
}

/// Prints a VP set as `{0,1}`.
struct Members<'a>(&'a VpSet<'a>);

impl fmt::Display for Members<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, vp) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{vp}")?;
        }
        f.write_str("}")
    }
}

/// The calling convention's name.
const fn form_name(form: CallForm) -> &'static str {
    match form {
        CallForm::Fast => "register fast",
        CallForm::Xmm => "XMM fast",
        CallForm::Memory => "memory",
    }
}

/// The TLB flush step (see the module docs).
pub(super) fn tlb_flush(cx: &mut Context) -> Outcome {
    let advice = match cx.info() {
        Ok(info) => FlushAdvice::new(HvFeaturesInfo::X64(info.features), info.recommendations),
        Err(outcome) => return outcome,
    };
    if !(advice.local || advice.remote) {
        return Outcome::unavailable(format_args!(
            "neither UseHypercallForLocalFlush nor UseHypercallForRemoteFlush is recommended: \
             CPUID 0x40000004 EAX bits 1 and 2 are clear"
        ));
    }
    let (bsp, ap) = match processors(cx) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let (hc, _, io) = match cx.hypercalls_with_pages() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let tlb = match TlbFlush::new(hc, advice) {
        Ok(tlb) => tlb,
        Err(missing) => return Outcome::unavailable(format_args!("{missing}")),
    };
    let mut storage = [0u64; 2];
    let set = match vp_set(&mut storage, bsp, ap) {
        Ok(set) => set,
        Err(outcome) => return outcome,
    };
    let range = match GvaRange::pages(FLUSH_GVA, FLUSH_PAGES) {
        Ok(range) => range,
        Err(e) => return Outcome::failed(format_args!("{e}")),
    };
    let cr3 = paging::cr3();
    let counter = hc.platform();
    counter.reset();
    let plan = match tlb.flush_ranges(io, VpTargets::from(&set), AddressSpace::Id(cr3), &[range]) {
        Ok(Some(plan)) => plan,
        Ok(None) => return Outcome::failed(format_args!("nothing was flushed")),
        Err(e) => return Outcome::failed(format_args!("{e}")),
    };
    let calls = counter.count();
    if plan.hypercalls != 1 || calls != 1 {
        return Outcome::failed(format_args!(
            "{FLUSH_PAGES} pages took {calls} hypercalls (planned {}), the TLFS minimum is 1",
            plan.hypercalls
        ));
    }
    if let Err(e) = tlb.flush_address_space(io, VpTargets::All, AddressSpace::All, false) {
        return Outcome::failed(format_args!("every space on every VP: {e}"));
    }
    let flushed = Text::<96>::format(format_args!(
        "flushed {FLUSH_PAGES} pages on VPs {} in {calls} hypercall ({}, {} entries)",
        Members(&set),
        form_name(plan.form),
        plan.entries
    ));
    if !advice.ex_processor_masks {
        return Outcome::ok(format_args!(
            "{flushed}; also Space on HV_FLUSH_ALL_PROCESSORS; no Ex forms (UseExProcessorMasks \
             not recommended)"
        ));
    }
    let mut list = [0u64; 3];
    for (slot, entry) in list.iter_mut().zip(range.entries(RangeFormat::Basic)) {
        *slot = entry;
    }
    let list_ex = HvFlushVirtualAddressSpaceExInput {
        address_space: cr3,
        flags: HvFlushFlags::new(),
        processor_set: set.header(),
    };
    let code = HvCallCode::HvCallFlushVirtualAddressListEx;
    let banks = set.banks().as_bytes();
    if let Err(e) =
        hc.rep_call_with_variable_header::<_, u64, u64>(io, code, &list_ex, banks, &list, &mut [])
    {
        return Outcome::failed(format_args!("HvCallFlushVirtualAddressListEx: {}", e.error));
    }
    let space_ex = HvFlushVirtualAddressSpaceExInput {
        address_space: 0,
        flags: HvFlushFlags::new().with_all_virtual_address_spaces(true),
        processor_set: HvVpSetHeader::ALL,
    };
    let code = HvCallCode::HvCallFlushVirtualAddressSpaceEx;
    if let Err(e) = hc.call_with_variable_header::<_, ()>(io, code, &space_ex, &[]) {
        return Outcome::failed(format_args!("HvCallFlushVirtualAddressSpaceEx: {e}"));
    }
    Outcome::ok(format_args!(
        "{flushed}; also Space on HV_FLUSH_ALL_PROCESSORS, ListEx on VP set {}, SpaceEx on all \
         VPs",
        Members(&set)
    ))
}

/// The IPI step (see the module docs).
pub(super) fn ipi(cx: &mut Context) -> Outcome {
    let (recommendations, ex) = match cx.info() {
        Ok(info) => (
            info.recommendations,
            info.recommendations.use_ex_processor_masks(),
        ),
        Err(outcome) => return outcome,
    };
    if !recommendations.use_synthetic_cluster_ipi() {
        return Outcome::unavailable(format_args!(
            "UseSyntheticClusterIpi is not recommended: CPUID 0x40000004 EAX bit 10 is clear"
        ));
    }
    let (bsp, ap) = match processors(cx) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    for vector in [VECTOR_FAST, VECTOR_EX, VECTOR_REPLY] {
        let registered = Vector::new(vector)
            .ok_or(interrupts::RegisterError::NoX2Apic)
            .and_then(|v| interrupts::register(v, on_ipi, Eoi::Apic));
        if let Err(e) = registered {
            return Outcome::failed(format_args!("vector {vector:#x}: {e}"));
        }
    }
    let (hc, _, io) = match cx.hypercalls_with_pages() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let ipi = match SyntheticIpi::new(hc, recommendations) {
        Ok(ipi) => ipi,
        Err(missing) => return Outcome::unavailable(format_args!("{missing}")),
    };
    interrupts::enable();
    let outcome = exchange(hc, io, &ipi, bsp, ap, ex);
    interrupts::disable();
    outcome
}

/// The IPIs of the IPI step, with interrupts enabled.
fn exchange(
    hc: Hypercalls<'_, Platform>,
    io: &mut IoPages<'_>,
    ipi: &SyntheticIpi<'_, Platform>,
    bsp: HvVpIndex,
    ap: Option<ApInfo>,
    ex: bool,
) -> Outcome {
    let (target, cpu) = match ap {
        Some(ap) => (ap.vp_index, 1),
        None => (bsp, 0),
    };
    let mut storage = [0u64; 2];
    let mut set = VpSet::new(&mut storage);
    if let Err(e) = set.insert(target) {
        return Outcome::failed(format_args!("VP set: {e}"));
    }
    if let Err(e) = ipi.send(io, u32::from(VECTOR_FAST), VpTargets::from(&set)) {
        return Outcome::failed(format_args!("{e}"));
    }
    if !poll(|| received(cpu, VECTOR_FAST)) {
        return Outcome::failed(format_args!(
            "VP {target} did not get vector {VECTOR_FAST:#x}"
        ));
    }
    let sent = Text::<96>::format(format_args!(
        "vector {VECTOR_FAST:#x} delivered to VP {target} via HvCallSendSyntheticClusterIpi"
    ));
    if ap.is_none() {
        return Outcome::ok(format_args!("{sent} (no second processor)"));
    }
    if !ex {
        return Outcome::ok(format_args!(
            "{sent}; no Ex form (UseExProcessorMasks not recommended)"
        ));
    }
    if let Err(e) = send_ex(hc, io, VECTOR_EX, &set) {
        return Outcome::failed(format_args!("HvCallSendSyntheticClusterIpiEx: {e}"));
    }
    if !poll(|| received(1, VECTOR_EX)) {
        return Outcome::failed(format_args!(
            "VP {target} did not get vector {VECTOR_EX:#x}"
        ));
    }
    if !poll(|| received(0, VECTOR_REPLY)) {
        let status = REPLY_STATUS.load(Ordering::Acquire);
        return Outcome::failed(format_args!(
            "no answer {VECTOR_REPLY:#x} from VP {target} (its call: {})",
            match status {
                0 => "not made",
                1 => "success",
                _ => "failed",
            }
        ));
    }
    Outcome::ok(format_args!(
        "{sent}; {VECTOR_EX:#x} via HvCallSendSyntheticClusterIpiEx to VP set {}; VP {target} \
         replied {VECTOR_REPLY:#x} from its own pages",
        Members(&set)
    ))
}
