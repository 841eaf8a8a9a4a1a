//! The synthetic interrupt controller, guest side (TLFS 11): per-CPU enable with caller-owned
//! message and event flag pages, SINT configuration, receiving messages, taking event flags,
//! and the two ways of reaching another partition (`HvCallPostMessage`, `HvCallSignalEvent`).
//!
//! Everything here goes through [`Platform`] (synthetic registers by TLFS name) and
//! [`Hypercalls`], so it runs unchanged on x64 (the registers are MSRs) and arm64 (VP
//! registers).
//!
//! # Per CPU
//!
//! Each virtual processor has its own SynIC registers and its own SIM and SIEF pages
//! (TLFS 11.8, 11.9). A [`Synic`] is the SynIC of the CPU that enabled it: every method writes
//! *that CPU's* registers and reads *that CPU's* pages, so it must only be used on that CPU
//! (another VP's SIM or SIEF page may even raise #MC, TLFS 11.9). It is neither `Send` nor
//! `Sync`; a kernel keeps one per CPU in its per-CPU data (whose accessor is what promises
//! "this CPU only"), enables it during CPU bring-up and disables it when the CPU goes down.
//!
//! * Setup and teardown take `&mut self` or `self`: [`Synic::enable`],
//!   [`Synic::configure_sint`], [`Synic::mask_sint`], [`Synic::disable`].
//! * Everything an interrupt handler does takes `&self` and touches no state but the
//!   hypervisor's: [`Synic::receive`] and [`Synic::take_events`]. Run them with the SINT's
//!   vector blocked (in its handler, or with interrupts off) so two readers of one slot never
//!   interleave.
//!
//! Sending needs no enabled SynIC, only the privileges and a hypercall page: [`SynicSender`]
//! wraps a [`Hypercalls`] handle; [`SynicTransport`] is the shape the VMBus client asks for.
//!
//! # Messages (TLFS 11.4, 11.10.3)
//!
//! [`Synic::receive`] follows the TLFS handling order exactly: copy the slot out, set its type
//! to `HvMessageTypeNone`, a full memory barrier, then test the message-pending flag and write
//! EOM only if it is set. The flag is tested *after* the slot is emptied because the
//! hypervisor may set it at any time after delivery (TLFS 11.10.3); the type is cleared with an
//! atomic AND on the slot's first quadword so a flag the hypervisor sets at the same moment is
//! not overwritten. EOM is never written without the flag, so draining N messages costs as
//! many EOM writes as there were pending flags, not N.
//!
//! The slot is written by the hypervisor (or, for posted messages, by another partition) while
//! the guest reads it, so the page is only accessed through atomics on raw pointers, never
//! through a Rust reference. Its contents are untrusted: a payload size above 240 bytes or a
//! hypervisor message type this crate does not know is a [`MessageError`]; the slot is released
//! either way so one bad message cannot block the SINT.
//!
//! # Event flags (TLFS 11.5)
//!
//! [`Synic::take_events`] scans the SINT's 2048 flags a 64-bit word at a time and takes each
//! non-zero word with an atomic swap, the locked operation TLFS 11.5.2 asks for: a flag the
//! hypervisor sets during the scan is either taken now or left for the next scan, never lost
//! and never reported twice. The iterator allocates nothing; if it is dropped early, the flags
//! it took but did not yield are set again.
//!
//! # Example: a kernel's per-CPU bring-up and SINT handler
//!
//! ```no_run
//! use hv_guest::defs::cpuid::HvFeaturesInfo;
//! use hv_guest::defs::synic::HvSint;
//! use hv_guest::page::PhysPage;
//! use hv_guest::platform::Platform;
//! use hv_guest::synic::{EnableError, SintConfig, Synic};
//!
//! const VMBUS_SINT: HvSint = match HvSint::new(2) {
//!     Ok(sint) => sint,
//!     Err(_) => panic!(),
//! };
//! const VMBUS_VECTOR: u8 = 0x30;
//!
//! /// CPU bring-up: the two pages come from the kernel's page allocator and stay the SynIC's
//! /// until `disable` hands them back.
//! fn bring_up<P: Platform>(
//!     platform: P,
//!     features: HvFeaturesInfo,
//!     sim: PhysPage<'static>,
//!     sief: PhysPage<'static>,
//! ) -> Result<Synic<P>, EnableError<P>> {
//!     let mut synic = Synic::enable(platform, features, sim, sief)?;
//!     // The vector's handler is installed before the SINT is unmasked.
//!     let config = SintConfig::new(VMBUS_VECTOR).expect("16..=255").with_auto_eoi(true);
//!     if let Err(error) = synic.configure_sint(VMBUS_SINT, config) {
//!         panic!("SINT setup failed: {error}");
//!     }
//!     Ok(synic)
//! }
//!
//! /// The handler of `VMBUS_VECTOR`, with `synic` taken from this CPU's per-CPU data.
//! fn on_vmbus_interrupt<P: Platform>(synic: &Synic<P>, mut deliver: impl FnMut(&[u8])) {
//!     // Event flags first: they need no EOM.
//!     for flag in synic.take_events(VMBUS_SINT) {
//!         let _ = flag; // wake the channel that owns `flag`
//!     }
//!     // Then the message slot; each EOM (only when the pending flag said so) makes the
//!     // hypervisor deliver the next queued message, so loop until the slot is empty.
//!     loop {
//!         match synic.receive(VMBUS_SINT) {
//!             Ok(Some(message)) => deliver(message.payload()),
//!             Ok(None) => break,
//!             Err(error) => {
//!                 // Malformed host data: log it and go on, the slot was released.
//!                 let _ = error;
//!             }
//!         }
//!     }
//!     // With auto-EOI there is no APIC EOI to write (TLFS 11.8.5).
//! }
//! ```

use core::mem::offset_of;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering, fence};

use hv_defs::cpuid::HvFeaturesInfo;
use hv_defs::hypercall::HvCallCode;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;
use hv_defs::synic::{
    HV_EVENT_FLAGS_BYTE_COUNT, HV_EVENT_FLAGS_COUNT, HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT,
    HV_MESSAGE_SIZE, HV_SYNIC_EOM_VALUE, HV_SYNIC_SINT_COUNT, HvConnectionId, HvMessage,
    HvMessageFlags, HvMessageHeader, HvMessageType, HvPostMessageInput, HvSignalEventInput, HvSint,
    HvSynicError, HvSynicScontrol, HvSynicSiefp, HvSynicSimp, HvSynicSint, is_valid_sint_vector,
};
use hv_defs::{HV_PAGE_SIZE, HvGpa};
use zerocopy::FromBytes;

use crate::hypercall::{CallError, Hypercalls};
use crate::page::{HvPage, IoPages, PhysPage};
use crate::platform::Platform;

// The SIM and SIEF layouts are little-endian (TLFS 1.7); the quadword arithmetic below relies
// on it, as do x64 and arm64 (as Hyper-V runs it).
const _: () = assert!(cfg!(target_endian = "little"));

/// Quadwords in one message slot.
const SLOT_QWORDS: usize = HV_MESSAGE_SIZE / 8;

/// Quadwords of event flags per SINT.
const FLAG_WORDS: usize = HV_EVENT_FLAGS_BYTE_COUNT / 8;

/// Quadwords in a page.
const PAGE_QWORDS: usize = HV_PAGE_SIZE / 8;

/// The message type's bits in a slot's first quadword (TLFS 11.10.4: bytes 0–3).
const TYPE_MASK: u64 = 0xFFFF_FFFF;

/// Where the message flags byte sits in a slot's first quadword (TLFS 11.10.4; byte 5, see
/// the header layout correction on [`HvMessageHeader`]).
const FLAGS_SHIFT: usize = 8 * offset_of!(HvMessageHeader, message_flags);

const _: () = assert!(offset_of!(HvMessageHeader, message_type) == 0);
const _: () = assert!(SLOT_QWORDS * HV_SYNIC_SINT_COUNT == PAGE_QWORDS);
const _: () = assert!(FLAG_WORDS * HV_SYNIC_SINT_COUNT == PAGE_QWORDS);

/// Whether SINT polling mode may be used (TLFS 2.4.4 `SintPollingModeAvailable`, x64 CPUID
/// 0x4000_0003 EDX bit 17). The arm64 position of this flag is not published, so on arm64 it
/// reads as unavailable.
const fn sint_polling_available(features: HvFeaturesInfo) -> bool {
    match features {
        HvFeaturesInfo::X64(f) => f.sint_polling_mode_available(),
        HvFeaturesInfo::Arm64(_) => false,
    }
}

/// The register of `sint` (TLFS 11.8.5; x64 MSR 0x4000_0090 + index).
fn sint_register(sint: HvSint) -> HvRegisterName {
    HvRegisterName::new(HvRegisterName::HvRegisterSint0.get() + sint.get())
}

/// Why a SynIC register operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SynicError {
    /// The partition lacks the `AccessSynicRegs` privilege (TLFS 4.2.2), so the SynIC
    /// registers do not exist; no register was touched.
    NoPrivilege,
    /// A SINT vector below 16 (TLFS 11.8.5: 16–255 are valid; others raise #GP).
    InvalidVector(u8),
    /// Polling mode was asked for but the partition does not offer it (TLFS 2.4.4
    /// `SintPollingModeAvailable`, 11.8.5).
    PollingUnavailable,
    /// The register did not read back what was written (a host that ignores the write).
    NotAccepted {
        /// The register.
        register: HvRegisterName,
        /// The value written.
        written: u64,
        /// The value read back.
        readback: u64,
    },
    /// The platform could not reach the register (for example a failed
    /// `HvCallSetVpRegisters` on arm64).
    Register {
        /// The register.
        register: HvRegisterName,
        /// The status.
        error: HvError,
    },
}

impl core::fmt::Display for SynicError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoPrivilege => f.write_str("the partition lacks the AccessSynicRegs privilege"),
            Self::InvalidVector(vector) => {
                write!(f, "SINT vector {vector} is outside 16..=255")
            }
            Self::PollingUnavailable => f.write_str("SINT polling mode is not available"),
            Self::NotAccepted {
                register,
                written,
                readback,
            } => write!(
                f,
                "{register:?} read back {readback:#018x} after {written:#018x} was written"
            ),
            Self::Register { register, error } => write!(f, "{register:?}: {error}"),
        }
    }
}

impl core::error::Error for SynicError {}

/// How a SINT is programmed (TLFS 11.8.5). Built with a valid vector; the rest defaults to
/// unmasked, no auto-EOI, no polling.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SintConfig {
    vector: u8,
    masked: bool,
    auto_eoi: bool,
    polling: bool,
}

impl SintConfig {
    /// An unmasked SINT that raises `vector`.
    ///
    /// # Errors
    ///
    /// [`SynicError::InvalidVector`] below 16 (TLFS 11.8.5).
    pub const fn new(vector: u8) -> Result<Self, SynicError> {
        if !is_valid_sint_vector(vector) {
            return Err(SynicError::InvalidVector(vector));
        }
        Ok(Self {
            vector,
            masked: false,
            auto_eoi: false,
            polling: false,
        })
    }

    /// Sets the mask bit (bit 16): messages and flags are still delivered to the pages but
    /// raise no interrupt; the guest polls (EOM drains a masked SINT's queue, TLFS 11.8.6).
    #[must_use]
    pub const fn with_masked(self, masked: bool) -> Self {
        Self { masked, ..self }
    }

    /// Sets AutoEOI (bit 17): the hypervisor performs the EOI on delivery and the handler
    /// must not write the APIC EOI (TLFS 11.8.5).
    #[must_use]
    pub const fn with_auto_eoi(self, auto_eoi: bool) -> Self {
        Self { auto_eoi, ..self }
    }

    /// Sets Polling (bit 18): unmasked for delivery but no interrupt is generated (TLFS
    /// 11.8.5). Needs `SintPollingModeAvailable` (TLFS 2.4.4), checked by
    /// [`Synic::configure_sint`].
    #[must_use]
    pub const fn with_polling(self, polling: bool) -> Self {
        Self { polling, ..self }
    }

    /// The vector.
    #[must_use]
    pub const fn vector(self) -> u8 {
        self.vector
    }

    /// `current` with this configuration applied: vector, mask, AutoEOI and polling set, every
    /// other bit (RsvdP, TLFS 11.8.5) kept as read.
    #[must_use]
    pub const fn apply(self, current: HvSynicSint) -> HvSynicSint {
        current
            .with_vector(self.vector)
            .with_masked(self.masked)
            .with_auto_eoi(self.auto_eoi)
            .with_polling(self.polling)
    }
}

/// A page the hypervisor overlays: a raw pointer and its GPA. No Rust reference to the page
/// exists while the overlay is enabled; [`Overlay::into_page`] makes one again after.
#[derive(Debug)]
struct Overlay {
    page: NonNull<HvPage>,
    gpa: HvGpa,
}

impl Overlay {
    /// Takes the page over: zeroes it (the SIM and SIEF pages start empty, TLFS 11.9, and a
    /// host that overlays the guest's own memory shows what is there), then keeps only a raw
    /// pointer, with its address exposed because the hypervisor reaches it by GPA.
    fn new(mut page: PhysPage<'static>) -> Self {
        page.bytes_mut().fill(0);
        let gpa = page.gpa();
        let page = NonNull::from(page.into_inner());
        let _ = page.as_ptr().expose_provenance();
        Self { page, gpa }
    }

    /// The guest page number (TLFS 11.8.3, 11.8.4 base address bits 63:12).
    const fn gpn(&self) -> u64 {
        self.gpa >> hv_defs::HV_PAGE_SHIFT
    }

    /// Quadword `index` of the page, for atomic access.
    ///
    /// # Panics
    ///
    /// If `index` is outside the page: a bug in this module (every index is derived from an
    /// [`HvSint`] and a bounded loop), never host data.
    fn qword(&self, index: usize) -> &AtomicU64 {
        assert!(index < PAGE_QWORDS, "quadword {index} outside the page");
        // SAFETY: `index` is inside the 4 KiB page, so the offset pointer stays in bounds.
        let qword = unsafe { self.page.as_ptr().cast::<u64>().add(index) };
        // SAFETY: the pointer is in bounds (above) and 8-byte aligned (the page is 4 KiB
        // aligned). The page is `'static` and owned by this overlay; Rust holds no reference
        // to it, and every access from this module is atomic. The hypervisor's writes happen
        // outside the Rust memory model, as with any shared-memory device.
        unsafe { AtomicU64::from_ptr(qword) }
    }

    /// Gives the page back.
    ///
    /// # Safety
    ///
    /// The overlay must be disabled (the hypervisor no longer writes the page) and no
    /// reference from [`Overlay::qword`] may be alive.
    unsafe fn into_page(self) -> PhysPage<'static> {
        // SAFETY: the pointer came from a `&'static mut HvPage` that was given up in `new`;
        // the caller guarantees nothing else uses the page any more.
        let page = unsafe { &mut *self.page.as_ptr() };
        // SAFETY: `gpa` is the GPA this page was paired with when it was handed in.
        unsafe { PhysPage::new(page, self.gpa) }
    }
}

/// The register values found at enable time, restored at teardown.
#[derive(Debug)]
struct Saved {
    scontrol: u64,
    simp: u64,
    siefp: u64,
    /// Original values of the SINTs this handle changed.
    sints: [Option<u64>; HV_SYNIC_SINT_COUNT],
}

/// The enabled SynIC of the current CPU (TLFS 11): the SIM and SIEF pages are overlaid and
/// SCONTROL is enabled. See the [module docs](self) for how to use it.
#[derive(Debug)]
pub struct Synic<P: Platform> {
    platform: P,
    polling_available: bool,
    messages: Overlay,
    events: Overlay,
    saved: Saved,
}

/// A failed [`Synic::enable`], with what it was given.
#[derive(Debug)]
pub struct EnableError<P> {
    /// The platform.
    pub platform: P,
    /// The message page and the event flags page, no longer in use. `None` only when the
    /// registers could not be put back after a failed enable, so the hypervisor may still
    /// write the pages: they are then never handed back.
    pub pages: Option<(PhysPage<'static>, PhysPage<'static>)>,
    /// Why.
    pub reason: SynicError,
}

impl<P: Platform> Synic<P> {
    /// Enables the SynIC of the current CPU with `message_page` as its SIM page and
    /// `event_flags_page` as its SIEF page (TLFS 11.8.1, 11.8.3, 11.8.4, 11.9). `features` is
    /// the partition's features value (on x64, `HvFeaturesInfo::X64(info.features)` from
    /// discovery).
    ///
    /// Checks the `AccessSynicRegs` privilege first. Then reads SIMP, SIEFP and SCONTROL
    /// (kept for [`Synic::disable`]), zeroes both pages, writes SIMP and SIEFP with the page
    /// numbers and enable set (RsvdP bits as read), writes SCONTROL with enable set (RsvdP bits
    /// as read), and reads the three back. The pages are ready before SCONTROL lets messages
    /// in; SINTs stay as they are until [`Synic::configure_sint`].
    ///
    /// The two pages must be distinct and must not overlap another overlay page (TLFS 11.9);
    /// [`PhysPage`] ownership makes both true (the hypercall page, for one, is owned by its
    /// `HypercallPage` and cannot be passed here).
    ///
    /// # Errors
    ///
    /// [`EnableError`] with the pages and the reason: [`SynicError::NoPrivilege`] (nothing
    /// touched), a register the platform cannot reach, or a host that did not accept a write
    /// (SCONTROL, SIEFP and SIMP are then put back as on [`Synic::disable`]).
    pub fn enable(
        platform: P,
        features: HvFeaturesInfo,
        message_page: PhysPage<'static>,
        event_flags_page: PhysPage<'static>,
    ) -> Result<Self, EnableError<P>> {
        if !features.privileges().access_synic_regs() {
            return Err(EnableError {
                platform,
                pages: Some((message_page, event_flags_page)),
                reason: SynicError::NoPrivilege,
            });
        }
        let saved = match read_originals(&platform) {
            Ok(saved) => saved,
            Err(reason) => {
                return Err(EnableError {
                    platform,
                    pages: Some((message_page, event_flags_page)),
                    reason,
                });
            }
        };
        let synic = Self {
            platform,
            polling_available: sint_polling_available(features),
            messages: Overlay::new(message_page),
            events: Overlay::new(event_flags_page),
            saved,
        };
        match synic.program() {
            Ok(()) => Ok(synic),
            Err(reason) => {
                // Put back what was there; the first error is the one reported.
                if synic.restore_pages().is_ok() {
                    let (platform, message_page, event_flags_page) = synic.into_parts();
                    Err(EnableError {
                        platform,
                        pages: Some((message_page, event_flags_page)),
                        reason,
                    })
                } else {
                    Err(EnableError {
                        platform: synic.platform,
                        pages: None,
                        reason,
                    })
                }
            }
        }
    }

    /// Writes SIMP, SIEFP and SCONTROL and checks the read-back.
    fn program(&self) -> Result<(), SynicError> {
        let simp = HvSynicSimp::from_bits(self.saved.simp & HvSynicSimp::RESERVED_MASK)
            .with_base_gpfn(self.messages.gpn())
            .with_enable(true)
            .into_bits();
        let siefp = HvSynicSiefp::from_bits(self.saved.siefp & HvSynicSiefp::RESERVED_MASK)
            .with_base_gpfn(self.events.gpn())
            .with_enable(true)
            .into_bits();
        let scontrol = HvSynicScontrol::from_bits(self.saved.scontrol)
            .with_enable(true)
            .into_bits();
        // SAFETY: each value keeps the RsvdP bits as read and sets only enable and the page
        // number; the page the overlay covers is owned by `self` (given up as a Rust
        // reference in `Overlay::new`) until `disable` turns the overlay off.
        unsafe { self.write(HvRegisterName::HvRegisterSipp, simp) }?;
        // SAFETY: as above, for the SIEF page.
        unsafe { self.write(HvRegisterName::HvRegisterSifp, siefp) }?;
        // SAFETY: RsvdP bits as read plus enable; SCONTROL itself overlays nothing.
        unsafe { self.write(HvRegisterName::HvRegisterScontrol, scontrol) }?;
        // Enable and the page numbers must stick; RsvdP bits are the host's.
        for (register, written, reserved) in [
            (
                HvRegisterName::HvRegisterSipp,
                simp,
                HvSynicSimp::RESERVED_MASK,
            ),
            (
                HvRegisterName::HvRegisterSifp,
                siefp,
                HvSynicSiefp::RESERVED_MASK,
            ),
            (
                HvRegisterName::HvRegisterScontrol,
                scontrol,
                HvSynicScontrol::RESERVED_MASK,
            ),
        ] {
            let readback = self.read(register)?;
            if readback & !reserved != written & !reserved {
                return Err(SynicError::NotAccepted {
                    register,
                    written,
                    readback,
                });
            }
        }
        Ok(())
    }

    /// Reads a SynIC register.
    fn read(&self, register: HvRegisterName) -> Result<u64, SynicError> {
        // SAFETY: only called for SynIC registers, which exist: `Synic` values exist only
        // after `enable` checked AccessSynicRegs (and `read_originals` is called after it).
        unsafe { self.platform.read_register(register) }
            .map_err(|error| SynicError::Register { register, error })
    }

    /// Writes a SynIC register.
    ///
    /// # Safety
    ///
    /// `value` must keep the register's RsvdP bits as read and set no RsvdZ bit, and an
    /// overlay it enables must cover a page `self` owns.
    unsafe fn write(&self, register: HvRegisterName, value: u64) -> Result<(), SynicError> {
        // SAFETY: the register exists (see `read`); the caller vouches for the value.
        unsafe { self.platform.write_register(register, value) }
            .map_err(|error| SynicError::Register { register, error })
    }

    /// Programs `sint` (TLFS 11.8.5): reads the register, applies `config` (vector, mask,
    /// AutoEOI, polling) keeping every other bit as read, and writes it. The first change of a
    /// SINT remembers its original value for [`Synic::disable`].
    ///
    /// Install the vector's handler before unmasking. The TLFS recommends not changing an
    /// unmasked SINT's settings (an in-flight interrupt may or may not need an EOI).
    ///
    /// # Errors
    ///
    /// [`SynicError::PollingUnavailable`] (nothing touched) or a register failure.
    pub fn configure_sint(&mut self, sint: HvSint, config: SintConfig) -> Result<(), SynicError> {
        if config.polling && !self.polling_available {
            return Err(SynicError::PollingUnavailable);
        }
        self.update_sint(sint, |current| config.apply(current))
    }

    /// Masks `sint` (TLFS 11.8.5 bit 16), keeping its other bits.
    ///
    /// # Errors
    ///
    /// A register failure.
    pub fn mask_sint(&mut self, sint: HvSint) -> Result<(), SynicError> {
        self.update_sint(sint, |current| current.with_masked(true))
    }

    fn update_sint(
        &mut self,
        sint: HvSint,
        change: impl FnOnce(HvSynicSint) -> HvSynicSint,
    ) -> Result<(), SynicError> {
        let register = sint_register(sint);
        let current = self.read(register)?;
        let new = change(HvSynicSint::from_bits(current));
        // SAFETY: `change` sets only the vector (valid: `SintConfig` checked it), mask,
        // AutoEOI and polling bits and keeps the RsvdP bits as read; a SINT makes the
        // hypervisor touch no memory.
        unsafe { self.write(register, new.into_bits()) }?;
        self.saved.sints[sint.index()].get_or_insert(current);
        Ok(())
    }

    /// The current value of `sint`'s register (TLFS 11.8.5).
    ///
    /// # Errors
    ///
    /// A register failure.
    pub fn read_sint(&self, sint: HvSint) -> Result<HvSynicSint, SynicError> {
        self.read(sint_register(sint)).map(HvSynicSint::from_bits)
    }

    /// The guest physical address of the SIM page.
    #[must_use]
    pub const fn message_page_gpa(&self) -> HvGpa {
        self.messages.gpa
    }

    /// The guest physical address of the SIEF page.
    #[must_use]
    pub const fn event_flags_page_gpa(&self) -> HvGpa {
        self.events.gpa
    }

    /// The platform.
    #[must_use]
    pub const fn platform(&self) -> &P {
        &self.platform
    }

    /// Takes the message in `sint`'s SIM slot, if any (TLFS 11.4.1, 11.10.3): copies it out
    /// with atomic loads, sets the slot's type to `HvMessageTypeNone`, issues a full memory
    /// barrier, then writes EOM only if the message-pending flag is set.
    ///
    /// Returns `Ok(None)` for an empty slot without touching anything. Call it again after a
    /// message: the EOM (when one was written) makes the hypervisor deliver the next queued
    /// message into the slot.
    ///
    /// # Errors
    ///
    /// [`MessageError::PayloadTooLarge`] or [`MessageError::UnknownType`] for a malformed
    /// message, [`MessageError::EndOfMessage`] if the EOM write failed. In every case the slot
    /// was released.
    #[expect(
        clippy::result_large_err,
        reason = "the Ok variant is as large (a 256-byte message); no allocator to box into"
    )]
    pub fn receive(&self, sint: HvSint) -> Result<Option<SynicMessage>, MessageError> {
        let base = sint.index() * SLOT_QWORDS;
        let first = self.messages.qword(base).load(Ordering::Acquire);
        if first & TYPE_MASK == 0 {
            return Ok(None);
        }
        // The slot is the guest's until its type is cleared: the hypervisor changes only the
        // pending flag meanwhile (TLFS 11.10.3), so this copy is consistent.
        let mut raw = [0u64; SLOT_QWORDS];
        raw[0] = first;
        for (i, qword) in raw.iter_mut().enumerate().skip(1) {
            *qword = self.messages.qword(base + i).load(Ordering::Relaxed);
        }
        let message: HvMessage = zerocopy::transmute!(raw);
        let checked = SynicMessage::check(message);
        match self.release(base) {
            Ok(()) => checked.map(Some),
            Err(error) => Err(MessageError::EndOfMessage {
                error,
                message: checked.ok(),
            }),
        }
    }

    /// Empties the slot whose first quadword is `base` and writes EOM if a message is pending
    /// (TLFS 11.10.3).
    fn release(&self, base: usize) -> Result<(), HvError> {
        let header = self.messages.qword(base);
        // Clear only the type: the hypervisor may be setting the pending flag in the same
        // quadword right now.
        header.fetch_and(!TYPE_MASK, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let after = header.load(Ordering::SeqCst);
        // Byte 5 of the header, isolated by the shift and truncation.
        let flags = HvMessageFlags::from_bits((after >> FLAGS_SHIFT) as u8);
        if flags.message_pending() {
            // SAFETY: EOM exists with the SynIC (see `read`); zero is its only valid value
            // (TLFS 11.8.6) and the write overlays nothing.
            unsafe {
                self.platform
                    .write_register(HvRegisterName::HvRegisterEom, HV_SYNIC_EOM_VALUE)
            }?;
        }
        Ok(())
    }

    /// Takes every event flag set in `sint`'s SIEF area (TLFS 11.5.2), lowest first, clearing
    /// each atomically as it is taken. See the [module docs](self).
    #[must_use]
    pub fn take_events(&self, sint: HvSint) -> EventFlags<'_> {
        EventFlags {
            page: &self.events,
            base: sint.index() * FLAG_WORDS,
            next_word: 0,
            word: 0,
            bits: 0,
        }
    }

    /// Atomically clears event flag `flag` of `sint` and says whether it was set (TLFS
    /// 11.5.2: a locked AND).
    ///
    /// # Errors
    ///
    /// [`HvSynicError::EventFlagOutOfRange`] for a flag of 2048 or more.
    pub fn test_and_clear_event(&self, sint: HvSint, flag: u32) -> Result<bool, HvSynicError> {
        let index = usize::try_from(flag)
            .ok()
            .filter(|&f| f < HV_EVENT_FLAGS_COUNT)
            .ok_or(HvSynicError::EventFlagOutOfRange(flag))?;
        let mask = 1u64 << (index % 64);
        let word = self.events.qword(sint.index() * FLAG_WORDS + index / 64);
        Ok(word.fetch_and(!mask, Ordering::AcqRel) & mask != 0)
    }

    /// Turns the SynIC of this CPU off and gives the pages back (TLFS 11.8): every SINT this
    /// handle changed gets its original value back (in SINT order), then SCONTROL, SIEFP and
    /// SIMP are written with the values found by [`Synic::enable`], except that the two
    /// overlay enables are always cleared (an overlay is never re-armed on memory this code
    /// does not own). Messages still queued stay queued in the hypervisor (TLFS 11.3.6).
    ///
    /// # Errors
    ///
    /// A register failure, with the still-enabled `Synic` so the caller can retry: the pages
    /// are only returned once the hypervisor has stopped writing them.
    #[expect(
        clippy::result_large_err,
        reason = "no allocator to box into; the error hands the SynIC back by value"
    )]
    pub fn disable(self) -> Result<(P, PhysPage<'static>, PhysPage<'static>), (Self, SynicError)> {
        for sint in HvSint::all() {
            if let Some(original) = self.saved.sints[sint.index()] {
                // SAFETY: the value the register held before this handle changed it.
                if let Err(error) = unsafe { self.write(sint_register(sint), original) } {
                    return Err((self, error));
                }
            }
        }
        match self.restore_pages() {
            Ok(()) => Ok(self.into_parts()),
            Err(error) => Err((self, error)),
        }
    }

    /// Writes SCONTROL, SIEFP and SIMP back (overlay enables cleared).
    fn restore_pages(&self) -> Result<(), SynicError> {
        let siefp = HvSynicSiefp::from_bits(self.saved.siefp).with_enable(false);
        let simp = HvSynicSimp::from_bits(self.saved.simp).with_enable(false);
        // SAFETY: the value found at enable time.
        unsafe { self.write(HvRegisterName::HvRegisterScontrol, self.saved.scontrol) }?;
        // SAFETY: the value found at enable time with the overlay disabled.
        unsafe { self.write(HvRegisterName::HvRegisterSifp, siefp.into_bits()) }?;
        // SAFETY: as above.
        unsafe { self.write(HvRegisterName::HvRegisterSipp, simp.into_bits()) }
    }

    /// Splits a `Synic` whose overlays are disabled.
    fn into_parts(self) -> (P, PhysPage<'static>, PhysPage<'static>) {
        // SAFETY: callers get here only after `restore_pages` wrote both overlay registers
        // with enable clear (or before they were ever enabled), so the hypervisor no longer
        // writes the pages; `self` is consumed, so no `qword` reference is alive.
        let messages = unsafe { self.messages.into_page() };
        // SAFETY: as above.
        let events = unsafe { self.events.into_page() };
        (self.platform, messages, events)
    }
}

/// Reads SIMP, SIEFP and SCONTROL.
fn read_originals<P: Platform>(platform: &P) -> Result<Saved, SynicError> {
    let read = |register| {
        // SAFETY: the caller checked AccessSynicRegs, so the SynIC registers exist.
        unsafe { platform.read_register(register) }
            .map_err(|error| SynicError::Register { register, error })
    };
    Ok(Saved {
        simp: read(HvRegisterName::HvRegisterSipp)?,
        siefp: read(HvRegisterName::HvRegisterSifp)?,
        scontrol: read(HvRegisterName::HvRegisterScontrol)?,
        sints: [None; HV_SYNIC_SINT_COUNT],
    })
}

/// A message copied out of a SIM slot and checked: its type is not `HvMessageTypeNone`, its
/// payload size is at most 240 bytes, and its type is either a guest type (high bit clear,
/// TLFS 11.10.2) or a hypervisor type this crate names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynicMessage(HvMessage);

impl SynicMessage {
    #[expect(
        clippy::result_large_err,
        reason = "the Ok variant is as large (a 256-byte message); no allocator to box into"
    )]
    fn check(message: HvMessage) -> Result<Self, MessageError> {
        let header = message.header;
        if usize::from(header.payload_size) > HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT {
            return Err(MessageError::PayloadTooLarge { header });
        }
        let message_type = header.message_type;
        if message_type.is_hypervisor() && message_type.name().is_none() {
            return Err(MessageError::UnknownType { header });
        }
        Ok(Self(message))
    }

    /// The message type.
    #[must_use]
    pub const fn message_type(&self) -> HvMessageType {
        self.0.header.message_type
    }

    /// The header as the slot held it (TLFS 11.10.4).
    #[must_use]
    pub const fn header(&self) -> &HvMessageHeader {
        &self.0.header
    }

    /// The payload: exactly `payload_size` bytes.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        let size = usize::from(self.0.header.payload_size);
        // `check` bounded the size by the 240-byte payload area.
        self.0.payload.get(..size).unwrap_or(&[])
    }

    /// Reads a payload structure `T` (for example a timer-expired payload) from the start of
    /// the payload.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::PayloadTooSmall`] when the payload is shorter than `T`.
    pub fn read_payload<T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable>(
        &self,
    ) -> Result<T, HvSynicError> {
        self.0.read_payload()
    }

    /// The whole 256-byte message.
    #[must_use]
    pub const fn as_raw(&self) -> &HvMessage {
        &self.0
    }
}

/// Why [`Synic::receive`] returned no message. The slot was released in every case.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "the message taken before a failed EOM is handed back by value; no allocator"
)]
pub enum MessageError {
    /// The header claims more than 240 payload bytes (TLFS 11.10.4).
    PayloadTooLarge {
        /// The header as found.
        header: HvMessageHeader,
    },
    /// A type with the hypervisor bit set that this crate does not know (TLFS 11.10.2).
    UnknownType {
        /// The header as found.
        header: HvMessageHeader,
    },
    /// The EOM write failed (only possible where registers are reached by hypercall), so
    /// the hypervisor may not deliver the next message until another EOM or EOI.
    EndOfMessage {
        /// The status of the register write.
        error: HvError,
        /// The message that was taken, if it was well formed.
        message: Option<SynicMessage>,
    },
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::PayloadTooLarge { header } => write!(
                f,
                "message of type {:#x} claims {} payload bytes (at most {HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT})",
                header.message_type.get(),
                header.payload_size
            ),
            Self::UnknownType { header } => write!(
                f,
                "unknown hypervisor message type {:#x}",
                header.message_type.get()
            ),
            Self::EndOfMessage { error, .. } => write!(f, "EOM write failed: {error}"),
        }
    }
}

impl core::error::Error for MessageError {}

/// The event flags taken from one SINT, lowest first (from [`Synic::take_events`]).
///
/// Each 64-flag word is taken with one atomic swap when the scan reaches it; dropping the
/// iterator early sets the flags it took but did not yield again.
#[derive(Debug)]
pub struct EventFlags<'a> {
    page: &'a Overlay,
    /// First quadword of the SINT's flags.
    base: usize,
    /// The next word to take.
    next_word: usize,
    /// The word `bits` came from.
    word: usize,
    /// Taken flags not yet yielded.
    bits: u64,
}

impl Iterator for EventFlags<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.bits == 0 {
            if self.next_word == FLAG_WORDS {
                return None;
            }
            let word = self.page.qword(self.base + self.next_word);
            // A plain load first, so words without flags are not written.
            if word.load(Ordering::Relaxed) != 0 {
                self.bits = word.swap(0, Ordering::AcqRel);
            }
            self.word = self.next_word;
            self.next_word += 1;
        }
        let bit = self.bits.trailing_zeros();
        self.bits &= self.bits - 1;
        // `word` < 32 and `bit` < 64: the flag number is below 2048.
        Some(self.word as u32 * 64 + bit)
    }
}

impl Drop for EventFlags<'_> {
    fn drop(&mut self) {
        if self.bits != 0 {
            self.page
                .qword(self.base + self.word)
                .fetch_or(self.bits, Ordering::AcqRel);
        }
    }
}

/// Why a message was not posted or an event not signalled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The partition lacks the `PostMessages` or `SignalEvents` privilege (TLFS 4.2.2); no
    /// hypercall was made.
    NoPrivilege,
    /// The connection id has reserved bits 31:24 set (TLFS 11.10.7); no hypercall was made.
    InvalidConnectionId(HvConnectionId),
    /// A message type or payload size the hypervisor would refuse, or a flag number outside
    /// the 2048 flags of a SINT (TLFS 11.11.1, 11.10.5); no hypercall was made.
    Invalid(HvSynicError),
    /// The port has no free message buffer (`HV_STATUS_INSUFFICIENT_BUFFERS`, TLFS 11.11.1):
    /// try again later, after the receiver has drained some messages.
    Retry,
    /// The hypercall failed otherwise.
    Call(CallError),
}

impl SendError {
    /// The status the hypervisor returns for the same request (TLFS 11.11.1, 11.11.2), for
    /// interfaces that speak in status codes.
    #[must_use]
    pub const fn status(self) -> HvError {
        match self {
            Self::NoPrivilege => HvError::ACCESS_DENIED,
            Self::InvalidConnectionId(_) => HvError::INVALID_CONNECTION_ID,
            Self::Invalid(_) => HvError::INVALID_PARAMETER,
            Self::Retry => HvError::INSUFFICIENT_BUFFERS,
            Self::Call(CallError::Hv(error)) => error,
            // The 256-byte input always fits a page and the 8-byte one the fast registers,
            // so no other call error can occur; the nearest status is the generic one.
            Self::Call(_) => HvError::INVALID_PARAMETER,
        }
    }
}

impl From<CallError> for SendError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Hv(HvError::INSUFFICIENT_BUFFERS) => Self::Retry,
            other => Self::Call(other),
        }
    }
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoPrivilege => {
                f.write_str("the partition lacks the PostMessages or SignalEvents privilege")
            }
            Self::InvalidConnectionId(id) => {
                write!(
                    f,
                    "connection id {:#x} has reserved bits set",
                    id.into_bits()
                )
            }
            Self::Invalid(error) => error.fmt(f),
            Self::Retry => f.write_str("the port has no free message buffer; retry later"),
            Self::Call(error) => error.fmt(f),
        }
    }
}

impl core::error::Error for SendError {}

/// Checks the reserved bits of a connection id (TLFS 11.10.7).
const fn check_connection(connection_id: HvConnectionId) -> Result<(), SendError> {
    if connection_id.into_bits() & HvConnectionId::RESERVED_MASK == 0 {
        Ok(())
    } else {
        Err(SendError::InvalidConnectionId(connection_id))
    }
}

/// Posts messages and signals events to other partitions' ports (TLFS 11.11). Cheap to copy.
#[derive(Debug)]
pub struct SynicSender<'a, P: Platform> {
    hypercalls: Hypercalls<'a, P>,
    post_messages: bool,
    signal_events: bool,
}

impl<P: Platform> Clone for SynicSender<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Platform> Copy for SynicSender<'_, P> {}

impl<'a, P: Platform> SynicSender<'a, P> {
    /// A sender that calls through `hypercalls`, with the `PostMessages` and `SignalEvents`
    /// privileges `features` reports (TLFS 4.2.2).
    #[must_use]
    pub const fn new(hypercalls: Hypercalls<'a, P>, features: HvFeaturesInfo) -> Self {
        let privileges = features.privileges();
        Self {
            hypercalls,
            post_messages: privileges.post_messages(),
            signal_events: privileges.signal_events(),
        }
    }

    /// Posts `payload` as a message of `message_type` to `connection_id`
    /// (`HvCallPostMessage`, TLFS 11.11.1). The 256-byte input goes at the start of
    /// `io`'s input page, so it is 8-byte aligned and inside one page (TLFS 3.7); the payload
    /// bytes after `payload.len()` are zero.
    ///
    /// # Errors
    ///
    /// [`SendError::NoPrivilege`], [`SendError::InvalidConnectionId`] or
    /// [`SendError::Invalid`] (type zero or with the hypervisor bit, payload above 240 bytes)
    /// before any call; [`SendError::Retry`] when the port's buffers are full;
    /// [`SendError::Call`] for any other failure.
    pub fn post_message(
        &self,
        io: &mut IoPages<'_>,
        connection_id: HvConnectionId,
        message_type: HvMessageType,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if !self.post_messages {
            return Err(SendError::NoPrivilege);
        }
        check_connection(connection_id)?;
        let input = HvPostMessageInput::new(connection_id, message_type, payload)
            .map_err(SendError::Invalid)?;
        let () = self
            .hypercalls
            .call(io, HvCallCode::HvCallPostMessage, &input)?;
        Ok(())
    }

    /// Signals flag `flag_number` (relative to the port's base flag) of `connection_id`
    /// (`HvCallSignalEvent`, fast form, TLFS 11.11.2): control word 0x0001_005D, RDX =
    /// connection id | flag number << 32.
    ///
    /// # Errors
    ///
    /// [`SendError::NoPrivilege`], [`SendError::InvalidConnectionId`] or
    /// [`SendError::Invalid`] (a flag number of 2048 or more can name no SIEF flag) before
    /// any call; otherwise the hypercall's failure.
    pub fn signal_event(
        &self,
        connection_id: HvConnectionId,
        flag_number: u16,
    ) -> Result<(), SendError> {
        if !self.signal_events {
            return Err(SendError::NoPrivilege);
        }
        check_connection(connection_id)?;
        if usize::from(flag_number) >= HV_EVENT_FLAGS_COUNT {
            return Err(SendError::Invalid(HvSynicError::EventFlagOutOfRange(
                u32::from(flag_number),
            )));
        }
        let input = HvSignalEventInput {
            connection_id,
            flag_number,
            rsvd: 0,
        };
        self.hypercalls
            .fast(HvCallCode::HvCallSignalEvent, &input)?;
        Ok(())
    }
}

/// A [`SynicSender`] with the hypercall pages it posts through, in the shape of the VMBus
/// client's transport: `post_message(connection, type, payload)` and
/// `signal_event(connection)` (flag 0, as Linux `vmbus_set_event` does), failing with the
/// status code the hypervisor would return ([`SendError::status`]).
///
/// It implements [`VmbusTransport`](crate::vmbus::VmbusTransport) by forwarding to the two
/// inherent methods below, so a [`VmbusClient`](crate::vmbus::VmbusClient) posts and signals
/// through it directly.
#[derive(Debug)]
pub struct SynicTransport<'a, 'io, P: Platform> {
    sender: SynicSender<'a, P>,
    io: &'a mut IoPages<'io>,
}

impl<'a, 'io, P: Platform> SynicTransport<'a, 'io, P> {
    /// Sends through `sender`, posting messages through `io`.
    #[must_use]
    pub fn new(sender: SynicSender<'a, P>, io: &'a mut IoPages<'io>) -> Self {
        Self { sender, io }
    }

    /// Posts a message (see [`SynicSender::post_message`]).
    ///
    /// # Errors
    ///
    /// The hypervisor's status for the failure; `INSUFFICIENT_BUFFERS` means retry later.
    pub fn post_message(
        &mut self,
        connection_id: u32,
        message_type: u32,
        payload: &[u8],
    ) -> Result<(), HvError> {
        self.sender
            .post_message(
                self.io,
                HvConnectionId::from_bits(connection_id),
                HvMessageType::new(message_type),
                payload,
            )
            .map_err(SendError::status)
    }

    /// Signals flag 0 of `connection_id` (see [`SynicSender::signal_event`]).
    ///
    /// # Errors
    ///
    /// The hypervisor's status for the failure.
    pub fn signal_event(&mut self, connection_id: u32) -> Result<(), HvError> {
        self.sender
            .signal_event(HvConnectionId::from_bits(connection_id), 0)
            .map_err(SendError::status)
    }
}

impl<P: Platform> crate::vmbus::VmbusTransport for SynicTransport<'_, '_, P> {
    fn post_message(
        &mut self,
        connection_id: u32,
        message_type: u32,
        payload: &[u8],
    ) -> Result<(), HvError> {
        Self::post_message(self, connection_id, message_type, payload)
    }

    fn signal_event(&mut self, connection_id: u32) -> Result<(), HvError> {
        Self::signal_event(self, connection_id)
    }
}

#[cfg(test)]
mod tests;
