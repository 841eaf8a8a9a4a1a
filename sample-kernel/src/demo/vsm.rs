//! The VSM step (TLFS 15): a VTL 1 of the kernel's own.
//!
//! # What the step does
//!
//! Where the partition may use VSM (`AccessVsm`, `AccessVpRegisters`, `AccessSynicRegs`,
//! TLFS 15.3.1) and may enable VTL 1 (`MaximumVtl` of `HvRegisterVsmPartitionStatus`), VTL 0
//! (the demo):
//!
//! 1. enables VTL 1 for the partition (15.4.1) and for the boot processor's VP (15.4.2),
//!    with an initial context captured from its own long-mode state (same page tables, GDT
//!    and IDT) that starts VTL 1 at [`vtl1_entry`] on a 16 KiB stack of its own;
//! 2. makes a first VTL call (15.6.1): VTL 1 starts at its entry and brings up its own
//!    private state (15.11.1.1): guest OS identity, hypercall page, VP assist page and a
//!    SynIC for intercept messages; it sets `EnableVtlProtection` (15.5.1.1) and returns
//!    the outcome in RSI;
//! 3. makes a VTL call with a request in the shared registers (RDI = compute, RDX and R8 the
//!    operands): VTL 1 answers `RDX * R8 + 1` in RSI, which VTL 0 checks;
//! 4. asks VTL 1 to make a page read-only for VTL 0 (`HvCallModifyVtlProtectionMask` made
//!    by VTL 1 for its own protections, 15.9), then writes to the page: the write must not
//!    land (the value stays) and VTL 1 must have received the memory intercept (15.9.2,
//!    15.13): entered with entry reason "intercept", it reads the `HvMessageTypeGpaIntercept`
//!    message from its SINT0, records it and moves VTL 0's RIP past the write
//!    (`HvCallSetVpRegisters` with target VTL 0, 15.13.3) before it returns.
//!
//! VTL 1 returns with a normal VTL return (15.7.1) that gives VTL 0 back every shared
//! register as it was at the entry (RAX and RCX through the VTL control area), so a VTL 0
//! interrupted by an intercept continues with its registers intact.
//!
//! Elsewhere (no `AccessVsm`: KVM, no hypervisor, QEMU TCG) the line is `unavailable` with
//! the reason.
//!
//! VTL 1 runs on the boot processor only while VTL 0 waits in a VTL call or is stopped by
//! an intercept, so the two never run at once; VTL 1 never enables interrupts.

#![expect(
    clippy::result_large_err,
    reason = "no allocator to box into; the error is the step's report line, made once per step"
)]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use hv_defs::cpuid::HvFeaturesInfo;
use hv_defs::guest_id::HvGuestOsIdOpenSource;
use hv_defs::register::{HvRegisterName, HvRegisterValue};
use hv_defs::synic::{HvMessageType, HvSint, HvX64MemoryInterceptMessage};
use hv_defs::vp::HvInputVtl;
use hv_defs::vsm::{HV_VTL0, HV_VTL1, HvEnablePartitionVtlFlags, HvMapGpaFlags, HvVtlEntryReason};
use hv_defs::{HV_VP_INDEX_SELF, HvGpa};
use hv_guest::arch::x86_64::X64;
use hv_guest::hypercall::CallError;
use hv_guest::hyperv::{HypercallPage, Hyperv};
use hv_guest::page::{IoPages, PhysPage};
use hv_guest::synic::Synic;
use hv_guest::vp::read_vp_index;
use hv_guest::vsm::{
    Enablement, InitialVpContextBuilder, VpAssistPage, Vsm, VsmError, VtlControl, VtlReturnGate,
    X64VtlRegisters, entry_stack_pointer,
};
use kernel_rt::frames::alloc_pages_forever;
use kernel_rt::report::Outcome;
use kernel_rt::sync::{SpinLock, StaticCell};
use kernel_rt::text::Text;

use super::{Context, static_page};
use crate::identity::{OS_TYPE, OS_VERSION};

/// VTL 1's stack: four pages.
const VTL1_STACK_PAGES: usize = 4;
/// Requests VTL 0 sends in RDI.
const REQUEST_COMPUTE: u64 = 1;
const REQUEST_PROTECT: u64 = 2;
/// The operands of the compute request.
const OPERANDS: (u64, u64) = (6, 7);
/// What VTL 0 writes into the page before VTL 1 protects it, and what it tries after.
const MARK: u64 = 0x5653_4D5F_4D41_524B;
const FORBIDDEN: u64 = 0xBAD0_BAD0;
/// VTL 1's answer to a request it cannot serve, and the set-up outcome "ok".
const REFUSED: u64 = u64::MAX;
const SETUP_OK: u64 = 0;

/// The pages VTL 0 allocates for VTL 1, which VTL 1 takes at its first entry.
struct Vtl1Pages {
    hypercall: PhysPage<'static>,
    input: PhysPage<'static>,
    output: PhysPage<'static>,
    assist: PhysPage<'static>,
    sim: PhysPage<'static>,
    sief: PhysPage<'static>,
}

static VTL1_PAGES: SpinLock<Option<Vtl1Pages>> = SpinLock::new(None);
/// VTL 1's hypercall page (its `HV_X64_MSR_HYPERCALL` is private, TLFS 15.11.1.1).
static VTL1_HYPERCALL_PAGE: StaticCell<HypercallPage<X64>> = StaticCell::new();
/// What VTL 1 saw of intercepts: how many, the last GPA and access type.
static INTERCEPTS: AtomicU32 = AtomicU32::new(0);
static INTERCEPT_GPA: AtomicU64 = AtomicU64::new(0);
static INTERCEPT_ACCESS: AtomicU32 = AtomicU32::new(0);
/// Intercepts VTL 1 could not handle (no message, or RIP not moved).
static INTERCEPT_ERRORS: AtomicU32 = AtomicU32::new(0);

fn failed(what: &str, e: &dyn core::fmt::Display) -> Outcome {
    Outcome::failed(format_args!("{what}: {e}"))
}

/// The VSM step; see the module docs.
pub(super) fn vsm(cx: &mut Context) -> Outcome {
    match vsm_inner(cx) {
        Ok(outcome) | Err(outcome) => outcome,
    }
}

fn vsm_inner(cx: &mut Context) -> Result<Outcome, Outcome> {
    let (hc, info, io) = cx.hypercalls_with_pages()?;
    let privileges = info.features.privileges();
    let vsm = match Vsm::new(hc, privileges) {
        Ok(vsm) => vsm,
        Err(e) => return Ok(Outcome::unavailable(format_args!("{e}"))),
    };
    let status = vsm.status(io).map_err(|e| failed("VSM status", &e))?;
    let maximum = status.partition.maximum_vtl();
    if maximum < HV_VTL1 {
        return Ok(Outcome::unavailable(format_args!(
            "the partition may not enable VTL 1 (maximum VTL {maximum})"
        )));
    }
    let vp = read_vp_index(&X64, privileges).map_err(|e| failed("VP index", &e))?;
    let partition = vsm
        .enable_partition_vtl(io, HV_VTL1, HvEnablePartitionVtlFlags::new())
        .map_err(|e| failed("HvCallEnablePartitionVtl", &e))?;
    let pages = vtl1_pages().map_err(|e| failed("pages for VTL 1", &e))?;
    *VTL1_PAGES.lock() = Some(pages);
    let stack = alloc_pages_forever(VTL1_STACK_PAGES).map_err(|e| failed("VTL 1 stack", &e))?;
    let top = stack.as_ptr_range().end as u64;
    let rsp = entry_stack_pointer(top).ok_or_else(|| failed("VTL 1 stack", &"below 16"))?;
    let entry = vtl1_entry as extern "C" fn() -> ! as usize as u64;
    let context = InitialVpContextBuilder::capture(&X64, entry, rsp)
        .map_err(|e| failed("VTL 1 context", &e))?
        .build();
    let on_vp = vsm
        .enable_vp_vtl(io, vp, HV_VTL1, &context)
        .map_err(|e| failed("HvCallEnableVpVtl", &e))?;
    let gate = vsm.vtl_call_gate(io).map_err(|e| failed("VTL call", &e))?;

    // The first call: VTL 1 starts at its entry and sets itself up.
    let mut regs = X64VtlRegisters::default();
    gate.call(&mut regs);
    if regs.rsi != SETUP_OK {
        return Err(Outcome::failed(format_args!(
            "VTL 1 could not set itself up (stage {})",
            regs.rsi
        )));
    }

    let (a, b) = OPERANDS;
    let mut regs = X64VtlRegisters {
        rdi: REQUEST_COMPUTE,
        rdx: a,
        r8: b,
        ..X64VtlRegisters::default()
    };
    gate.call(&mut regs);
    let answer = regs.rsi;
    if answer != a * b + 1 {
        return Err(Outcome::failed(format_args!(
            "VTL 1 answered {a} * {b} + 1 with {answer}"
        )));
    }

    let mut page = static_page().map_err(|e| failed("protected page", &e))?;
    let gpa: HvGpa = page.gpa();
    let target = page.as_mut_ptr().cast::<u64>();
    // SAFETY: `target` is the start of a page leaked for ever, owned by this step and
    // 8-byte aligned; nothing else refers to it.
    unsafe { target.write_volatile(MARK) };
    let mut regs = X64VtlRegisters {
        rdi: REQUEST_PROTECT,
        rdx: page.gpn(),
        ..X64VtlRegisters::default()
    };
    gate.call(&mut regs);
    if regs.rsi != 0 {
        return Err(Outcome::failed(format_args!(
            "VTL 1 could not protect page {gpa:#x} (HV_STATUS {:#x})",
            regs.rsi
        )));
    }
    // SAFETY: as above. VTL 1 made the page read-only for VTL 0: the hypervisor stops the
    // write and VTL 1 moves RIP past it, so the write may or may not take effect, which the
    // volatile read below finds out.
    unsafe { target.write_volatile(FORBIDDEN) };
    // SAFETY: as above; reads are allowed.
    let after = unsafe { target.read_volatile() };
    let intercepts = INTERCEPTS.load(Ordering::Acquire);
    let errors = INTERCEPT_ERRORS.load(Ordering::Acquire);
    let seen_gpa = INTERCEPT_GPA.load(Ordering::Acquire);
    let access = INTERCEPT_ACCESS.load(Ordering::Acquire);
    if after != MARK || intercepts != 1 || errors != 0 || seen_gpa != gpa || access != 1 {
        return Err(Outcome::failed(format_args!(
            "VTL 0 write to the protected page {gpa:#x}: value {after:#x} (was {MARK:#x}), \
             {intercepts} intercepts in VTL 1 ({errors} unhandled; GPA {seen_gpa:#x}, \
             access {access})"
        )));
    }
    let state = |e: Enablement| match e {
        Enablement::Enabled => "enabled",
        Enablement::AlreadyEnabled => "already enabled",
    };
    cx.note = Some(Text::format(format_args!(
        "VSM: VTL 1 {} for the partition, {} on this VP (VP {vp}; VTL 1 entry at {entry:#x}, \
         own stack up to {top:#x})",
        state(partition),
        state(on_vp),
    )));
    Ok(Outcome::ok(format_args!(
        "VTL call: {a} * {b} + 1 = {answer} from VTL 1; VTL 0 write to read-only page {gpa:#x} \
         stopped (value kept), memory intercept in VTL 1 (write, GPA {seen_gpa:#x})"
    )))
}

/// The pages VTL 1 needs, from the runtime's allocator (never freed).
fn vtl1_pages() -> Result<Vtl1Pages, kernel_rt::frames::AllocError> {
    Ok(Vtl1Pages {
        hypercall: static_page()?,
        input: static_page()?,
        output: static_page()?,
        assist: static_page()?,
        sim: static_page()?,
        sief: static_page()?,
    })
}

/// Where VTL 1 starts, on its own stack, at the first VTL call (the initial context of
/// `HvCallEnableVpVtl`).
extern "C" fn vtl1_entry() -> ! {
    vtl1_main()
}

/// VTL 1's life: set up, then serve (see the module docs). If it cannot even reach its VTL
/// return sequence it cannot give the VP back: it halts with interrupts masked, which ends
/// the run as a hang the host reports.
fn vtl1_main() -> ! {
    match vtl1_setup() {
        Ok((gate, assist, vsm, io, synic, stage)) => {
            serve(&gate, &assist.vtl_control(), &vsm, io, &synic, stage)
        }
        Err(()) => kernel_rt::arch::x86_64::exit::halt_forever(),
    }
}

/// What VTL 1 keeps while it serves.
type Vtl1 = (
    VtlReturnGate<'static, X64>,
    VpAssistPage,
    Vsm<'static, X64>,
    IoPages<'static>,
    Synic<X64>,
    u64,
);

/// VTL 1's set-up. `Err` when it cannot reach its VTL return sequence; otherwise the last
/// value is the set-up outcome: [`SETUP_OK`] or the number of the stage that failed.
fn vtl1_setup() -> Result<Vtl1, ()> {
    let pages = VTL1_PAGES.lock().take().ok_or(())?;
    let hv = Hyperv::detect(X64).map_err(|_| ())?;
    let id = HvGuestOsIdOpenSource::build(OS_TYPE, 0, OS_VERSION, 0).map_err(|_| ())?;
    let guest = hv.set_guest_os_id(id.into()).map_err(|_| ())?;
    let page = guest
        .enable_hypercall_page(pages.hypercall)
        .map_err(|_| ())?;
    let page: &'static HypercallPage<X64> = VTL1_HYPERCALL_PAGE.init(page).ok_or(())?;
    let info = page.info();
    let privileges = info.features.privileges();
    let vsm = Vsm::new(page.hypercalls(), privileges).map_err(|_| ())?;
    let mut io = IoPages::new(pages.input, pages.output);
    let gate = vsm.vtl_return_gate(&mut io).map_err(|_| ())?;
    let assist = VpAssistPage::enable(&X64, privileges, pages.assist).map_err(|_| ())?;
    let features = HvFeaturesInfo::X64(info.features);
    let synic = Synic::enable(X64, features, pages.sim, pages.sief).map_err(|_| ())?;
    let config = vsm
        .partition_config(&mut io, HvInputVtl::CURRENT)
        .map(|c| c.with_enable_vtl_protection(true));
    let stage = match config.and_then(|c| vsm.set_partition_config(&mut io, HvInputVtl::CURRENT, c))
    {
        Ok(()) => SETUP_OK,
        Err(_) => 1,
    };
    Ok((gate, assist, vsm, io, synic, stage))
}

/// VTL 1's loop: return to VTL 0 (normal return, so VTL 0 gets all its shared registers
/// back), then serve the entry that brought the VP back.
fn serve(
    gate: &VtlReturnGate<'static, X64>,
    control: &VtlControl<'_>,
    vsm: &Vsm<'static, X64>,
    mut io: IoPages<'static>,
    synic: &Synic<X64>,
    setup: u64,
) -> ! {
    let mut regs = X64VtlRegisters {
        rsi: setup,
        ..X64VtlRegisters::default()
    };
    loop {
        gate.normal_return(control, regs.rax, regs.rcx, &mut regs);
        match control.entry_reason() {
            HvVtlEntryReason::HvVtlEntryVtlCall => {
                regs.rsi = match regs.rdi {
                    _ if setup != SETUP_OK => REFUSED,
                    REQUEST_COMPUTE => regs.rdx.wrapping_mul(regs.r8).wrapping_add(1),
                    REQUEST_PROTECT => protect(vsm, &mut io, regs.rdx),
                    _ => REFUSED,
                };
            }
            HvVtlEntryReason::HvVtlEntryIntercept => intercepted(vsm, &mut io, synic),
            _ => {}
        }
    }
}

/// Makes page `gpn` read-only (and executable) for VTL 0; the hypervisor status.
fn protect(vsm: &Vsm<'static, X64>, io: &mut IoPages<'static>, gpn: u64) -> u64 {
    let read_only = HvMapGpaFlags::new()
        .with_readable(true)
        .with_kernel_executable(true);
    match vsm.modify_vtl_protection_mask(io, HvInputVtl::CURRENT, read_only, &[gpn]) {
        Ok(()) => 0,
        Err(e) => match e.error {
            VsmError::Call(CallError::Hv(status)) => u64::from(status.status().get()),
            VsmError::AccessDenied => 0x06,
            VsmError::InvalidVtlState => 0x51,
            _ => REFUSED,
        },
    }
}

/// A memory intercept: records it and moves VTL 0 past the access (TLFS 15.13.3).
fn intercepted(vsm: &Vsm<'static, X64>, io: &mut IoPages<'static>, synic: &Synic<X64>) {
    let message = match synic.receive(HvSint::SINT0) {
        Ok(Some(message)) if message.message_type() == HvMessageType::HvMessageTypeGpaIntercept => {
            message
        }
        _ => {
            INTERCEPT_ERRORS.fetch_add(1, Ordering::Release);
            return;
        }
    };
    let Ok(intercept) = message.read_payload::<HvX64MemoryInterceptMessage>() else {
        INTERCEPT_ERRORS.fetch_add(1, Ordering::Release);
        return;
    };
    INTERCEPT_GPA.store(intercept.guest_physical_address, Ordering::Release);
    INTERCEPT_ACCESS.store(
        u32::from(intercept.header.intercept_access_type.get()),
        Ordering::Release,
    );
    INTERCEPTS.fetch_add(1, Ordering::Release);
    let length = u64::from(intercept.header.instruction_info.instruction_length());
    let rip = HvRegisterValue::from_u64(intercept.header.rip + length);
    let moved = length != 0
        && vsm
            .set_vtl_registers(
                io,
                HV_VP_INDEX_SELF,
                HV_VTL0,
                &[(HvRegisterName::HvX64RegisterRip, rip)],
            )
            .is_ok();
    if !moved {
        // VTL 0 would repeat the write for ever: lift the protection so that it can go on.
        INTERCEPT_ERRORS.fetch_add(1, Ordering::Release);
        let gpn = intercept.guest_physical_address >> 12;
        let _ = vsm.modify_vtl_protection_mask(
            io,
            HvInputVtl::CURRENT,
            HvMapGpaFlags::FULL_ACCESS,
            &[gpn],
        );
    }
}
