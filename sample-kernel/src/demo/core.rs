//! The steps of the `hv-guest` core: discovery report, guest OS identity, hypercall page,
//! the three hypercall conventions, the VP index, spinlock notification and the extended
//! hypercall capabilities (TLFS 2, 3, 7.8.1, 14.5.1).
//!
//! # What counts as `ok`
//!
//! * **Fast hypercall**: with the `SignalEvents` privilege, `HvCallSignalEvent` (fast, input
//!   in RDX) to a connection id no port uses, [`UNUSED_CONNECTION_ID`]: `ok` when the
//!   hypervisor answers `HV_STATUS_INVALID_CONNECTION_ID`, the status TLFS 11.10.2 gives for
//!   it; any other status FAILED. Without the privilege, `HvCallNotifyLongSpinWait` (fast,
//!   any caller, TLFS 14.5.1): `ok` on success.
//! * **Slow hypercall**: with `AccessVpRegisters`, `HvCallGetVpRegisters` of
//!   `HvRegisterVpIndex` through the parameter pages: `ok` when it succeeds and equals the VP
//!   index register (when `AccessVpIndex` lets the kernel read that). Without it, with
//!   `PostMessages`, `HvCallPostMessage` (memory input) to the unused connection id: `ok` on
//!   `HV_STATUS_INVALID_CONNECTION_ID` (TLFS 11.10.1).
//! * **XMM fast hypercall**: with XMM fast input and output and `AccessVpRegisters`, the
//!   same `HvCallGetVpRegisters` entirely in registers; `ok` when it equals the slow call's
//!   value. With XMM input only, `HvCallFlushVirtualAddressSpace` of every address space on
//!   every processor (24 bytes of input: RDX, R8 and XMM0) when the hypervisor recommends
//!   hypercalls for TLB flushes; `ok` on success.
//!
//! The kernel touches no MSR the partition does not grant: `hv-guest` checks the privilege
//! of every MSR it reads or writes.

use ::core::fmt;

use hv_defs::HV_VP_INDEX_SELF;
use hv_defs::guest_id::HvGuestOsIdOpenSource;
use hv_defs::hypercall::HvCallCode;
use hv_defs::mmu::{HvFlushFlags, HvFlushVirtualAddressSpaceInput};
use hv_defs::register::{HvRegisterName, HvRegisterValue};
use hv_defs::status::HvError;
use hv_defs::synic::{HvConnectionId, HvMessageType, HvPostMessageInput, HvSignalEventInput};
use hv_defs::vp::HvInputVtl;
use hv_guest::discovery::HvInfo;
use hv_guest::hypercall::CallError;
use hv_guest::hyperv::{EnableErrorReason, IdentityError};
use hv_guest::vp::{VpIndexError, read_vp_index};
use kernel_rt::report::{Outcome, Report};
use zerocopy::IntoBytes;

use super::{Context, Stage, static_page};
use crate::identity::{OS_TYPE, OS_VERSION};

/// A connection id no port is created with in any partition this kernel runs in: the
/// largest 24-bit id (TLFS 11.10.7). VMBus and QEMU's devices use small ids.
const UNUSED_CONNECTION_ID: u32 = 0x00FF_FFFF;

/// The `hypervisor` line: vendor, maximum leaf and interface, or why there is none.
pub(super) fn identity(cx: &Context) -> Outcome {
    match (&cx.stage, cx.info()) {
        (Some(Stage::Absent(why)), _) => Outcome::unavailable(format_args!("{why}")),
        (_, Ok(info)) => Outcome::ok(format_args!(
            "vendor \"{}\", max leaf {:#x}, interface \"Hv#1\"",
            info.vendor(),
            info.max_leaf()
        )),
        (_, Err(outcome)) => outcome,
    }
}

/// The `info` lines: every privilege, feature and recommendation flag that is set, one
/// line per leaf, and the numbers of the recommendation and limits leaves.
pub(super) fn describe<W: fmt::Write>(report: &mut Report<W>, info: &HvInfo) {
    report.note(format_args!("info: privileges {}", info.privilege_flags()));
    report.note(format_args!("info: features {}", info.feature_flags()));
    let retries = info.recommendations.long_spin_wait_count();
    report.note(format_args!(
        "info: recommendations {} (spinlock retries {retries:#x}, max VPs {}, max LPs {})",
        info.recommendation_flags(),
        info.limits.max_virtual_processors(),
        info.limits.max_logical_processors(),
    ));
}

/// The guest OS identity (TLFS 2.6): open source, [`OS_TYPE`], [`OS_VERSION`]; then the
/// hypervisor version, which reads zero until the identity is set (TLFS 2.4.3).
pub(super) fn guest_os_identity(cx: &mut Context) -> Outcome {
    let hv = match cx.stage.take() {
        Some(Stage::Detected(hv)) => hv,
        other => {
            cx.stage = other;
            return cx
                .info()
                .err()
                .unwrap_or_else(|| Outcome::failed(format_args!("the identity step ran twice")));
        }
    };
    let id = match HvGuestOsIdOpenSource::build(OS_TYPE, 0, OS_VERSION, 0) {
        Ok(id) => id,
        Err(e) => {
            cx.stage = Some(Stage::Detected(hv));
            return Outcome::failed(format_args!("{e}"));
        }
    };
    match hv.set_guest_os_id(id.into()) {
        Ok(guest) => {
            let v = guest.info().version;
            let outcome = Outcome::ok(format_args!(
                "open source, OS type {:#x}, version {:#x} ({:#018x}); hypervisor {}.{} build {}, \
                 service pack {}, branch {}, number {}",
                OS_TYPE.get(),
                OS_VERSION,
                guest.id().into_bits(),
                v.major_version(),
                v.minor_version(),
                v.build_number(),
                v.service_pack(),
                v.service_branch(),
                v.service_number(),
            ));
            cx.stage = Some(Stage::Identified(guest));
            outcome
        }
        Err((hv, why)) => {
            cx.stage = Some(Stage::Detected(hv));
            match why {
                IdentityError::NoPrivilege => Outcome::unavailable(format_args!("{why}")),
                IdentityError::Zero | IdentityError::NotAccepted { .. } => {
                    Outcome::failed(format_args!("{why}"))
                }
            }
        }
    }
}

/// The hypercall page (TLFS 3.13) on a page from the runtime's allocator, leaked: the
/// overlay lives as long as the kernel.
pub(super) fn hypercall_page(cx: &mut Context) -> Outcome {
    let guest = match cx.stage.take() {
        Some(Stage::Identified(guest)) => guest,
        other => {
            cx.stage = other;
            return match cx.info() {
                Ok(_) => Outcome::unavailable(format_args!(
                    "no guest OS identity (see the guest OS identity line)"
                )),
                Err(outcome) => outcome,
            };
        }
    };
    let page = match static_page() {
        Ok(page) => page,
        Err(e) => {
            cx.stage = Some(Stage::Identified(guest));
            return Outcome::failed(format_args!("no page for it: {e}"));
        }
    };
    match guest.enable_hypercall_page(page) {
        Ok(page) => {
            let outcome = Outcome::ok(format_args!("at {:#x}", page.gpa()));
            // The page stays enabled for the rest of the run, so it can live in a static
            // (the step runs once, so the cell is empty).
            match super::HYPERCALL_PAGE.init(page) {
                Some(page) => {
                    cx.stage = Some(Stage::Ready(page));
                    outcome
                }
                None => Outcome::failed(format_args!("the hypercall page step ran twice")),
            }
        }
        Err(e) => {
            cx.stage = Some(Stage::Identified(e.guest));
            match e.reason {
                EnableErrorReason::Locked { .. } | EnableErrorReason::NotAccepted { .. } => {
                    Outcome::failed(format_args!("{}", e.reason))
                }
            }
        }
    }
}

/// `ok` when a call failed with exactly `expected`, as the TLFS requires for its input.
fn expect_status(call: &str, result: Result<(), CallError>, expected: HvError) -> Outcome {
    match result {
        Err(CallError::Hv(status)) if status == expected => Outcome::ok(format_args!(
            "{call} to unused connection {UNUSED_CONNECTION_ID:#x}: HV_STATUS_{expected:?}"
        )),
        Err(e) => Outcome::failed(format_args!("{call}: {e}, expected HV_STATUS_{expected:?}")),
        Ok(()) => Outcome::failed(format_args!(
            "{call} to an unused connection succeeded, expected HV_STATUS_{expected:?}"
        )),
    }
}

/// The unused connection id.
fn unused_connection() -> HvConnectionId {
    HvConnectionId::new().with_id(UNUSED_CONNECTION_ID)
}

/// A register-based fast hypercall (TLFS 3.7); see the module docs for the choice.
pub(super) fn fast_hypercall(cx: &mut Context) -> Outcome {
    let (hc, info) = match cx.hypercalls() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    if info.features.privileges().signal_events() {
        let input = HvSignalEventInput {
            connection_id: unused_connection(),
            flag_number: 0,
            rsvd: 0,
        };
        let result = hc.fast(HvCallCode::HvCallSignalEvent, &input);
        return expect_status("HvCallSignalEvent", result, HvError::INVALID_CONNECTION_ID);
    }
    match hc.notify_long_spin_wait(1) {
        Ok(()) => Outcome::ok(format_args!("HvCallNotifyLongSpinWait: success")),
        Err(e) => Outcome::failed(format_args!("HvCallNotifyLongSpinWait: {e}")),
    }
}

/// The VP index through the MSR, when the partition grants it.
fn vp_index_register(info: &HvInfo) -> Option<Result<u32, VpIndexError>> {
    let privileges = info.features.privileges();
    privileges
        .access_vp_index()
        .then(|| read_vp_index(&hv_guest::arch::x86_64::X64, privileges))
}

/// Compares a VP index read by hypercall with the VP index register.
fn compare_vp_index(call: &str, value: HvRegisterValue, info: &HvInfo) -> Outcome {
    let index = value.as_u64();
    match vp_index_register(info) {
        Some(Ok(msr)) if u64::from(msr) == index => Outcome::ok(format_args!(
            "{call}(HvRegisterVpIndex) = {index}, as HV_X64_MSR_VP_INDEX"
        )),
        Some(Ok(msr)) => Outcome::failed(format_args!(
            "{call}(HvRegisterVpIndex) = {index}, HV_X64_MSR_VP_INDEX = {msr}"
        )),
        Some(Err(e)) => Outcome::failed(format_args!("{call}: {e}")),
        None => Outcome::ok(format_args!(
            "{call}(HvRegisterVpIndex) = {index} (no AccessVpIndex to compare)"
        )),
    }
}

/// A memory-based hypercall through the parameter pages (TLFS 3.7); see the module docs.
pub(super) fn slow_hypercall(cx: &mut Context) -> Outcome {
    let (hc, info, io) = match cx.hypercalls_with_pages() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let privileges = info.features.privileges();
    if privileges.access_vp_registers() {
        let name = HvRegisterName::HvRegisterVpIndex;
        return match hc.get_vp_register(io, HV_VP_INDEX_SELF, HvInputVtl::CURRENT, name) {
            Ok(value) => compare_vp_index("HvCallGetVpRegisters", value, info),
            Err(e) => Outcome::failed(format_args!("HvCallGetVpRegisters: {e}")),
        };
    }
    if privileges.post_messages() {
        let input = match HvPostMessageInput::new(unused_connection(), HvMessageType::new(1), b"hv")
        {
            Ok(input) => input,
            Err(e) => return Outcome::failed(format_args!("{e}")),
        };
        let result = hc.call::<_, [u8; 0]>(io, HvCallCode::HvCallPostMessage, &input);
        return expect_status(
            "HvCallPostMessage",
            result.map(|_| ()),
            HvError::INVALID_CONNECTION_ID,
        );
    }
    Outcome::unavailable(format_args!(
        "neither AccessVpRegisters nor PostMessages is granted"
    ))
}

/// An XMM fast hypercall (TLFS 3.7.2, 3.8.1); see the module docs.
pub(super) fn xmm_fast_hypercall(cx: &mut Context) -> Outcome {
    let (hc, info) = match cx.hypercalls() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    if !hc.xmm_input_available() {
        return Outcome::unavailable(format_args!(
            "no XMM fast input (CPUID 0x40000003 EDX bit 4 clear)"
        ));
    }
    if hc.xmm_output_available() && info.features.privileges().access_vp_registers() {
        let mut value = [HvRegisterValue::default()];
        let names = [HvRegisterName::HvRegisterVpIndex];
        return match hc.get_vp_registers_xmm(
            HV_VP_INDEX_SELF,
            HvInputVtl::CURRENT,
            &names,
            &mut value,
        ) {
            Ok(()) => compare_vp_index("XMM HvCallGetVpRegisters", value[0], info),
            Err(e) => Outcome::failed(format_args!("XMM HvCallGetVpRegisters: {e}")),
        };
    }
    let rec = info.recommendations;
    if rec.use_hypercall_for_remote_flush() || rec.use_hypercall_for_local_flush() {
        let input = HvFlushVirtualAddressSpaceInput {
            address_space: 0,
            flags: HvFlushFlags::new()
                .with_all_processors(true)
                .with_all_virtual_address_spaces(true),
            processor_mask: 0,
        };
        let code = HvCallCode::HvCallFlushVirtualAddressSpace;
        return match hc.xmm(code, input.as_bytes(), 0) {
            Ok(_) => Outcome::ok(format_args!(
                "HvCallFlushVirtualAddressSpace (all processors, all address spaces), input \
                 in RDX, R8, XMM0: success"
            )),
            Err(e) => Outcome::failed(format_args!("HvCallFlushVirtualAddressSpace: {e}")),
        };
    }
    Outcome::unavailable(format_args!(
        "XMM fast input without output or AccessVpRegisters, and no flush recommendation"
    ))
}

/// The VP index register (TLFS 7.8.1), read only when `AccessVpIndex` is granted.
pub(super) fn vp_index(cx: &mut Context) -> Outcome {
    let info = match cx.info() {
        Ok(info) => info,
        Err(outcome) => return outcome,
    };
    match read_vp_index(&hv_guest::arch::x86_64::X64, info.features.privileges()) {
        Ok(index) => Outcome::ok(format_args!("HV_X64_MSR_VP_INDEX = {index}")),
        Err(VpIndexError::NotGranted) => {
            Outcome::unavailable(format_args!("{}", VpIndexError::NotGranted))
        }
        Err(e) => Outcome::failed(format_args!("{e}")),
    }
}

/// Long spin-wait notification (TLFS 14.5.1): when the hypervisor recommends it, notify
/// once with the recommended count.
pub(super) fn spinlock_notification(cx: &mut Context) -> Outcome {
    let (hc, info) = match cx.hypercalls() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let Some(retries) = info.spinlock_retries() else {
        return Outcome::unavailable(format_args!(
            "the hypervisor recommends never notifying (spinlock retries 0xffffffff)"
        ));
    };
    match hc.notify_long_spin_wait(retries) {
        Ok(()) => Outcome::ok(format_args!(
            "HvCallNotifyLongSpinWait after {retries:#x} retries: success"
        )),
        Err(e) => Outcome::failed(format_args!("HvCallNotifyLongSpinWait: {e}")),
    }
}

/// `HvExtCallQueryCapabilities` (TLFS 3.14.1), when `EnableExtendedHypercalls` is granted.
pub(super) fn extended_capabilities(cx: &mut Context) -> Outcome {
    let granted = match cx.info() {
        Ok(info) => info.features.privileges().enable_extended_hypercalls(),
        Err(outcome) => return outcome,
    };
    if !granted {
        return Outcome::unavailable(format_args!("no EnableExtendedHypercalls privilege"));
    }
    let (hc, _, io) = match cx.hypercalls_with_pages() {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    match hc.query_extended_capabilities(io) {
        Ok(caps) => Outcome::ok(format_args!(
            "HvExtCallQueryCapabilities: {:#x}",
            caps.into_bits()
        )),
        Err(e) => Outcome::failed(format_args!("HvExtCallQueryCapabilities: {e}")),
    }
}
