//! Guest crash reporting (TLFS 4.3).
//!
//! A crashing kernel hands the hypervisor five parameters and, optionally, a text message,
//! which the hypervisor passes to the root partition for logging:
//!
//! 1. read the crash control register to learn what the host supports
//!    ([`CrashReporter::new`], [`CrashReporter::capabilities`]);
//! 2. write P0–P4; with a message, P3 is the message's GPA and P4 its length in bytes (at
//!    most 4096; TLFS 4.3.1.1, Linux `hv_kmsg_dump`);
//! 3. write the control register once, with `CrashNotify`, or `CrashNotify` and
//!    `CrashMessage` ([`hv_defs::partition::HvGuestCrashControl`]).
//!
//! The registers are synthetic registers (x64 MSRs 0x4000_0100–0x4000_0105), available when
//! the `GuestCrashMsrsAvailable` feature is reported; its bit differs between x64 and arm64,
//! so [`CrashReporter::new`] takes an [`HvFeaturesInfo`].
//!
//! Set the reporter and the message page up at boot, so the panic path only formats and
//! writes registers:
//!
//! ```no_run
//! # use core::fmt::Write;
//! # use hv_guest::platform::Platform;
//! # use hv_guest::page::PhysPage;
//! use hv_guest::crash::{CrashMessage, CrashReporter};
//!
//! # fn panic_path<P: Platform>(platform: &P, features: hv_defs::cpuid::HvFeaturesInfo,
//! #     page: PhysPage<'static>, info: &core::panic::PanicInfo<'_>) {
//! let reporter = CrashReporter::new(platform, features).ok(); // at boot
//! let mut message = CrashMessage::new(page);                  // at boot
//! // ... in the panic handler:
//! let _ = write!(message, "{info}");
//! if let Some(reporter) = &reporter {
//!     let result = if reporter.capabilities().crash_message() {
//!         reporter.notify_with_message([0xDEAD, 0, 0], &message)
//!     } else {
//!         reporter.notify([0xDEAD, 0, 0, 0, 0])
//!     };
//!     let _ = result;
//! }
//! # }
//! ```

use core::sync::atomic::{AtomicBool, Ordering};

use hv_defs::HvGpa;
use hv_defs::cpuid::HvFeaturesInfo;
use hv_defs::partition::{
    HV_GUEST_CRASH_MESSAGE_MAX_BYTES, HV_GUEST_CRASH_PARAMETER_COUNT, HvGuestCrashControl,
};
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;

use crate::gate::{AccessError, Unavailable};
use crate::page::PhysPage;
use crate::platform::Platform;

/// The crash parameter registers P0–P4, in order.
const PARAMETERS: [HvRegisterName; HV_GUEST_CRASH_PARAMETER_COUNT] = [
    HvRegisterName::HvRegisterGuestCrashP0,
    HvRegisterName::HvRegisterGuestCrashP1,
    HvRegisterName::HvRegisterGuestCrashP2,
    HvRegisterName::HvRegisterGuestCrashP3,
    HvRegisterName::HvRegisterGuestCrashP4,
];

/// Why a crash was not reported.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CrashError {
    /// The host does not offer `CrashNotify`; nothing was written.
    NotifyUnsupported,
    /// The host does not offer `CrashMessage`; nothing was written.
    MessageUnsupported,
    /// The control register was already written for this crash (TLFS 4.3.1.1: at most one
    /// write per crash); nothing was written.
    AlreadyNotified,
    /// The platform could not write a register.
    Register(HvError),
}

impl core::fmt::Display for CrashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotifyUnsupported => f.write_str("the host does not offer CrashNotify"),
            Self::MessageUnsupported => f.write_str("the host does not offer CrashMessage"),
            Self::AlreadyNotified => f.write_str("the crash was already reported"),
            Self::Register(error) => write!(f, "writing a crash register failed: {error}"),
        }
    }
}

impl core::error::Error for CrashError {}

/// A crash message in a caller page: up to 4096 bytes of text (TLFS 4.3.1.1).
///
/// Writing past the end drops the rest ([`CrashMessage::truncated`] tells), cutting at a
/// character boundary, so a panic message never fails to format.
#[derive(Debug)]
pub struct CrashMessage {
    page: PhysPage<'static>,
    len: usize,
    truncated: bool,
}

impl CrashMessage {
    /// An empty message in `page`.
    #[must_use]
    pub const fn new(page: PhysPage<'static>) -> Self {
        Self {
            page,
            len: 0,
            truncated: false,
        }
    }

    /// The most bytes a message holds.
    pub const CAPACITY: usize = HV_GUEST_CRASH_MESSAGE_MAX_BYTES as usize;

    /// Appends as much of `bytes` as fits; returns how many were taken.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let taken = bytes.len().min(Self::CAPACITY - self.len);
        self.page.bytes_mut()[self.len..self.len + taken].copy_from_slice(&bytes[..taken]);
        self.len += taken;
        self.truncated |= taken < bytes.len();
        taken
    }

    /// The message so far.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.page.bytes()[..self.len]
    }

    /// Its length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether something written was dropped for lack of room.
    #[must_use]
    pub const fn truncated(&self) -> bool {
        self.truncated
    }

    /// Empties the message.
    pub fn clear(&mut self) {
        self.len = 0;
        self.truncated = false;
    }

    /// The guest physical address the host reads the message from (P3).
    #[must_use]
    pub const fn gpa(&self) -> HvGpa {
        self.page.gpa()
    }

    /// Gives the page back.
    #[must_use]
    pub fn into_page(self) -> PhysPage<'static> {
        self.page
    }
}

impl core::fmt::Write for CrashMessage {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = Self::CAPACITY - self.len;
        let mut cut = s.len().min(room);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.push(&s.as_bytes()[..cut]);
        self.truncated |= cut < s.len();
        Ok(())
    }
}

/// The crash reporting interface of the partition.
#[derive(Debug)]
pub struct CrashReporter<'p, P: Platform> {
    platform: &'p P,
    capabilities: HvGuestCrashControl,
    notified: AtomicBool,
}

impl<'p, P: Platform> CrashReporter<'p, P> {
    /// Checks the `GuestCrashMsrsAvailable` feature and reads the crash control register
    /// for the host's capabilities (TLFS 4.3, 4.3.1.1).
    ///
    /// # Errors
    ///
    /// [`AccessError::Unavailable`] without the feature (nothing touched),
    /// [`AccessError::Hv`] when the register cannot be read.
    pub fn new(platform: &'p P, features: HvFeaturesInfo) -> Result<Self, AccessError> {
        Unavailable::GuestCrashRegsAvailable.require(features.guest_crash_regs_available())?;
        // SAFETY: the crash registers exist with the feature just checked (TLFS 4.3);
        // reading the control register has no effect.
        let value = unsafe { platform.read_register(HvRegisterName::HvRegisterGuestCrashCtl) }?;
        Ok(Self {
            platform,
            capabilities: HvGuestCrashControl::from_bits(value),
            notified: AtomicBool::new(false),
        })
    }

    /// What the host supports, as read from the control register: `crash_notify`,
    /// `crash_message` (TLFS 4.3.1.1).
    #[must_use]
    pub const fn capabilities(&self) -> HvGuestCrashControl {
        self.capabilities
    }

    /// Reports a crash with parameters P0–P4: writes them in order, then `CrashNotify` to
    /// the control register.
    ///
    /// # Errors
    ///
    /// [`CrashError`]; nothing is written when the host lacks `CrashNotify` or the crash was
    /// already reported.
    pub fn notify(&self, parameters: [u64; 5]) -> Result<(), CrashError> {
        if !self.capabilities.crash_notify() {
            return Err(CrashError::NotifyUnsupported);
        }
        self.report(parameters, HvGuestCrashControl::NOTIFY)
    }

    /// Reports a crash with parameters P0–P2 and `message`: P3 is the message's GPA, P4 its
    /// length; then `CrashNotify | CrashMessage` (TLFS 4.3.1.1).
    ///
    /// # Errors
    ///
    /// [`CrashError`]; nothing is written when the host lacks `CrashNotify` or
    /// `CrashMessage` or the crash was already reported.
    pub fn notify_with_message(
        &self,
        parameters: [u64; 3],
        message: &CrashMessage,
    ) -> Result<(), CrashError> {
        if !self.capabilities.crash_notify() {
            return Err(CrashError::NotifyUnsupported);
        }
        if !self.capabilities.crash_message() {
            return Err(CrashError::MessageUnsupported);
        }
        // The host reads the message through its GPA.
        let _ = core::ptr::from_ref(message.page.bytes()).expose_provenance();
        let [p0, p1, p2] = parameters;
        let all = [p0, p1, p2, message.gpa(), message.len() as u64];
        self.report(all, HvGuestCrashControl::NOTIFY_WITH_MESSAGE)
    }

    fn report(&self, parameters: [u64; 5], control: HvGuestCrashControl) -> Result<(), CrashError> {
        if self.notified.load(Ordering::Acquire) {
            return Err(CrashError::AlreadyNotified);
        }
        for (name, value) in PARAMETERS.into_iter().zip(parameters) {
            // SAFETY: the crash registers exist (feature checked in `new`); parameters are
            // free-form 64-bit values and make the host touch no memory, except P3 with the
            // message form, which names the caller's `'static` message page.
            unsafe { self.platform.write_register(name, value) }.map_err(CrashError::Register)?;
        }
        if self.notified.swap(true, Ordering::AcqRel) {
            return Err(CrashError::AlreadyNotified);
        }
        // SAFETY: as above; the value sets only the action bits the host reported.
        unsafe {
            self.platform
                .write_register(HvRegisterName::HvRegisterGuestCrashCtl, control.into_bits())
        }
        .map_err(CrashError::Register)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::fmt::Write;
    use std::vec::Vec;

    use hv_defs::cpuid::{HvArm64Features, HvFeatures};
    use hv_defs::msr::{
        HV_X64_MSR_CRASH_CTL, HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_P1, HV_X64_MSR_CRASH_P2,
        HV_X64_MSR_CRASH_P3, HV_X64_MSR_CRASH_P4,
    };

    use super::*;
    use crate::testing::{Event, FakePlatform, MsrAccess};

    const NOTIFY: u64 = 1 << 63;
    const MESSAGE: u64 = 1 << 62;

    fn partition(capabilities: u64) -> FakePlatform {
        let fake = FakePlatform::new();
        for msr in HV_X64_MSR_CRASH_P0..=HV_X64_MSR_CRASH_P4 {
            fake.define_msr(msr, 0, MsrAccess::ReadWrite);
        }
        fake.define_msr(HV_X64_MSR_CRASH_CTL, capabilities, MsrAccess::ReadWrite);
        fake
    }

    fn features() -> HvFeaturesInfo {
        HvFeaturesInfo::X64(HvFeatures::new().with_guest_crash_regs_available(true))
    }

    fn writes(fake: &FakePlatform) -> Vec<(u32, u64)> {
        fake.log()
            .into_iter()
            .filter_map(|e| match e {
                Event::WriteMsr(msr, value) => Some((msr, value)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn notify_writes_p0_to_p4_then_the_control_register_once() {
        let fake = partition(NOTIFY | MESSAGE);
        let reporter = CrashReporter::new(&fake, features()).unwrap();
        assert_eq!(
            fake.log(),
            [Event::ReadMsr(HV_X64_MSR_CRASH_CTL, NOTIFY | MESSAGE)]
        );
        assert!(reporter.capabilities().crash_message());
        fake.clear_log();
        reporter.notify([10, 11, 12, 13, 14]).unwrap();
        assert_eq!(
            writes(&fake),
            [
                (HV_X64_MSR_CRASH_P0, 10),
                (HV_X64_MSR_CRASH_P1, 11),
                (HV_X64_MSR_CRASH_P2, 12),
                (HV_X64_MSR_CRASH_P3, 13),
                (HV_X64_MSR_CRASH_P4, 14),
                (HV_X64_MSR_CRASH_CTL, NOTIFY),
            ]
        );
        fake.clear_log();
        assert_eq!(reporter.notify([0; 5]), Err(CrashError::AlreadyNotified));
        assert!(fake.log().is_empty());
    }

    #[test]
    fn the_message_form_puts_gpa_and_length_in_p3_and_p4() {
        let fake = partition(NOTIFY | MESSAGE);
        let mut message = CrashMessage::new(fake.page());
        let (file, line) = ("main.rs", 42);
        write!(message, "panic at {file}:{line}").unwrap();
        assert_eq!(message.as_bytes(), b"panic at main.rs:42");
        let reporter = CrashReporter::new(&fake, features()).unwrap();
        fake.clear_log();
        reporter.notify_with_message([1, 2, 3], &message).unwrap();
        assert_eq!(
            writes(&fake),
            [
                (HV_X64_MSR_CRASH_P0, 1),
                (HV_X64_MSR_CRASH_P1, 2),
                (HV_X64_MSR_CRASH_P2, 3),
                (HV_X64_MSR_CRASH_P3, message.gpa()),
                (HV_X64_MSR_CRASH_P4, 19),
                (HV_X64_MSR_CRASH_CTL, NOTIFY | MESSAGE),
            ]
        );
    }

    #[test]
    fn unsupported_actions_write_nothing() {
        let fake = partition(NOTIFY);
        let message = CrashMessage::new(fake.page());
        let reporter = CrashReporter::new(&fake, features()).unwrap();
        fake.clear_log();
        assert_eq!(
            reporter.notify_with_message([0; 3], &message),
            Err(CrashError::MessageUnsupported)
        );
        let none = partition(0);
        let reporter = CrashReporter::new(&none, features()).unwrap();
        assert_eq!(reporter.notify([0; 5]), Err(CrashError::NotifyUnsupported));
        assert_eq!(
            reporter.notify_with_message([0; 3], &message),
            Err(CrashError::NotifyUnsupported)
        );
        assert!(writes(&fake).is_empty());
        assert!(writes(&none).is_empty());
    }

    #[test]
    fn without_the_feature_nothing_is_touched_on_either_architecture() {
        let fake = partition(NOTIFY);
        // The x64 bit 10 of word 3 means nothing on arm64, whose flag is word 2 bit 8.
        let arm64_without = HvFeaturesInfo::new(hv_defs::cpuid::HvArch::Arm64, 1 << 106);
        for features in [HvFeaturesInfo::X64(HvFeatures::new()), arm64_without] {
            assert_eq!(
                CrashReporter::new(&fake, features).map(|_| ()),
                Err(AccessError::Unavailable(
                    Unavailable::GuestCrashRegsAvailable
                ))
            );
        }
        assert!(fake.log().is_empty());
        let arm64 =
            HvFeaturesInfo::Arm64(HvArm64Features::new().with_guest_crash_regs_available(true));
        assert!(CrashReporter::new(&fake, arm64).is_ok());
    }

    #[test]
    fn messages_truncate_at_4096_bytes_on_a_character_boundary() {
        let fake = FakePlatform::new();
        let mut message = CrashMessage::new(fake.page());
        assert_eq!(message.push(&[b'a'; 4094]), 4094);
        write!(message, "é!").unwrap(); // 2 + 1 bytes: "é" fits, "!" does not
        assert_eq!(message.len(), 4096);
        assert!(message.truncated());
        write!(message, "é").unwrap(); // nothing fits
        assert_eq!(&message.as_bytes()[4094..], "é".as_bytes());
        message.clear();
        write!(message, "{}", "a".repeat(4095)).unwrap();
        write!(message, "é").unwrap(); // one byte left: the character is dropped whole
        assert_eq!(message.len(), 4095);
        assert!(message.truncated());
        assert!(!message.is_empty());
        let _page = message.into_page();
    }
}
