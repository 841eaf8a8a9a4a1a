//! Hypercall status codes (TLFS 1.6, 3.12, appendix B) and the `HvError`/`HvResult` types.
//!
//! [`HvStatus`] is the raw 16-bit code found in bits 15:0 of the hypercall result value.
//! [`HvError`] is a status that is known not to be success, so `HvResult<T>` costs no more
//! than the code itself. Every code of TLFS appendix B has a name and a `Display` text; so
//! do the codes published after TLFS 6.0 (from Linux's `hvgdk_mini.h` and OpenVMM's `hvdef`).
//!
//! Corrections to the appendix B text of the TLFS 6.0 PDF extraction are listed, with
//! their reasons, next to the golden table in `tests/appendix_b.rs`.

use core::fmt;
use core::num::NonZeroU16;

/// Defines `HvStatus` constants, `HvError` constants and the descriptions from one table, so
/// the three can never disagree.
macro_rules! status_codes {
    ($( $(#[$doc:meta])* $name:ident = $value:literal, $text:literal; )*) => {
        open_enum! {
            /// A hypercall status code: bits 15:0 of the hypercall result value
            /// (TLFS 1.6 `HV_STATUS`, 3.12, appendix B).
            pub struct HvStatus(u16) {
                /// The operation succeeded (TLFS appendix B, 0x0000).
                SUCCESS = 0x0000,
                $( $(#[$doc])* $name = $value, )*
            }
        }

        #[allow(non_upper_case_globals)]
        impl HvError {
            $(
                $(#[$doc])*
                pub const $name: Self = Self(match NonZeroU16::new($value) {
                    Some(v) => v,
                    None => panic!("a failure status is never zero"),
                });
            )*

            /// Every named failure, in appendix order.
            pub const ALL: &'static [Self] = &[$(Self::$name),*];
        }

        impl HvStatus {
            /// The TLFS description of this status, or `None` for an unnamed value.
            #[must_use]
            pub const fn description(self) -> Option<&'static str> {
                if self.0 == 0 {
                    return Some("the operation succeeded");
                }
                $(
                    if self.0 == $value {
                        return Some($text);
                    }
                )*
                None
            }
        }
    };
}

status_codes! {
    /// The hypercall code is not supported (TLFS appendix B, 0x0002).
    INVALID_HYPERCALL_CODE = 0x0002, "the specified hypercall code is not supported";
    /// A rep count was wrong or a reserved bit of the control value was set
    /// (TLFS appendix B, 0x0003).
    INVALID_HYPERCALL_INPUT = 0x0003,
        "the rep count was incorrect or a reserved bit in the hypercall input value was set";
    /// The input/output GPAs were not 8-byte aligned, or a parameter list crossed a page
    /// boundary (TLFS appendix B, 0x0004).
    INVALID_ALIGNMENT = 0x0004,
        "the input or output parameters were not 8-byte aligned or spanned a page boundary";
    /// One or more input parameters were invalid (TLFS appendix B, 0x0005).
    INVALID_PARAMETER = 0x0005, "one or more input parameters were invalid";
    /// The caller lacks the access rights for the operation (TLFS appendix B, 0x0006).
    ACCESS_DENIED = 0x0006, "the caller did not possess sufficient access rights";
    /// The partition's state does not allow the operation (TLFS appendix B, 0x0007).
    INVALID_PARTITION_STATE = 0x0007,
        "the partition's state was not appropriate for the requested operation";
    /// The operation could not be performed (TLFS appendix B, 0x0008).
    OPERATION_DENIED = 0x0008, "the operation could not be performed";
    /// The partition property id is not recognised (TLFS appendix B, 0x0009).
    UNKNOWN_PROPERTY = 0x0009, "the specified partition property ID is not recognized";
    /// A partition property value is out of range (TLFS appendix B, 0x000A).
    PROPERTY_VALUE_OUT_OF_RANGE = 0x000A,
        "the partition property value is out of range or violates an invariant";
    /// Not enough memory for the call to succeed (TLFS appendix B, 0x000B).
    INSUFFICIENT_MEMORY = 0x000B, "insufficient memory exists for the call to succeed";
    /// The partition hierarchy is too deep (TLFS appendix B, 0x000C).
    PARTITION_TOO_DEEP = 0x000C, "the maximum partition depth has been exceeded";
    /// The partition id is invalid (TLFS appendix B, 0x000D).
    INVALID_PARTITION_ID = 0x000D, "the specified partition ID is invalid";
    /// The VP index is invalid (TLFS appendix B, 0x000E).
    INVALID_VP_INDEX = 0x000E, "the specified VP index is invalid";
    /// The requested object was not found (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x0010).
    NOT_FOUND = 0x0010, "the requested object was not found";
    /// The port id is not unique or does not exist (TLFS appendix B, 0x0011).
    INVALID_PORT_ID = 0x0011, "the specified port ID is not unique or does not exist";
    /// The connection id is not unique or does not exist (TLFS appendix B, 0x0012).
    INVALID_CONNECTION_ID = 0x0012,
        "the specified connection ID is not unique or does not exist";
    /// The target port has no buffer for the message (TLFS appendix B, 0x0013).
    INSUFFICIENT_BUFFERS = 0x0013,
        "the target port does not have sufficient buffers to post a message";
    /// Clearing an interrupt that was not asserted and acknowledged
    /// (TLFS appendix B, 0x0014).
    NOT_ACKNOWLEDGED = 0x0014,
        "the external interrupt was not asserted and acknowledged before clearing it";
    /// The virtual processor is not in the right state (TLFS appendix B, 0x0015).
    INVALID_VP_STATE = 0x0015,
        "the virtual processor is not in the correct state for the operation";
    /// An acknowledged interrupt has not been cleared yet (TLFS appendix B, 0x0016).
    ACKNOWLEDGED = 0x0016,
        "a previously asserted external interrupt was acknowledged and not yet cleared";
    /// Save/restore was not started with `HV_SAVE_RESTORE_STATE_START`
    /// (TLFS appendix B, 0x0017).
    INVALID_SAVE_RESTORE_STATE = 0x0017,
        "the save/restore process was not started with HV_SAVE_RESTORE_STATE_START";
    /// A required SynIC feature is disabled (TLFS appendix B, 0x0018).
    INVALID_SYNIC_STATE = 0x0018, "a required feature of the SynIC was disabled";
    /// The object or value is in use (TLFS appendix B, 0x0019).
    OBJECT_IN_USE = 0x0019, "the object or value is already in use";
    /// Invalid proximity domain information (TLFS appendix B, 0x001A).
    INVALID_PROXIMITY_DOMAIN_INFO = 0x001A, "the proximity domain information is invalid";
    /// No data was available (TLFS appendix B, 0x001B).
    NO_DATA = 0x001B, "no data was available";
    /// The debug connection has seen no receive activity (TLFS appendix B, 0x001C).
    INACTIVE = 0x001C, "the debug connection has recorded no receive activity";
    /// A resource is unavailable for allocation (TLFS appendix B, 0x001D).
    NO_RESOURCES = 0x001D, "a resource is unavailable for allocation";
    /// A hypervisor feature is not available to the caller (TLFS appendix B, 0x001E).
    FEATURE_UNAVAILABLE = 0x001E, "a hypervisor feature is not available to the caller";
    /// The debug packet is partial (TLFS appendix B, 0x001F).
    PARTIAL_PACKET = 0x001F, "the debug packet returned is only a partial packet";
    /// The restore state needs an unsupported processor feature (TLFS appendix B, 0x0020).
    PROCESSOR_FEATURE_NOT_SUPPORTED = 0x0020,
        "the restore state requires an unsupported processor feature";
    /// The processor's cache line flush size is not supported (TLFS appendix B, 0x0030).
    PROCESSOR_CACHE_LINE_FLUSH_SIZE_INCOMPATIBLE = 0x0030,
        "the processor's cache line flush size is not supported";
    /// The buffer is too small for the data (TLFS appendix B, 0x0033).
    INSUFFICIENT_BUFFER = 0x0033, "the specified buffer was too small for the data";
    /// The processor architecture is not supported (TLFS appendix B, 0x0037).
    INCOMPATIBLE_PROCESSOR = 0x0037, "the processor architecture is not supported";
    /// All I/O remapping domains are in use (TLFS appendix B, 0x0038).
    INSUFFICIENT_DEVICE_DOMAINS = 0x0038,
        "the maximum number of I/O remapping domains is in use";
    /// CPUID feature validation failed (TLFS appendix B, 0x003C).
    CPUID_FEATURE_VALIDATION_ERROR = 0x003C,
        "logical processor CPUID feature set validation error";
    /// CPUID XSAVE feature validation failed (TLFS appendix B, 0x003D).
    CPUID_XSAVE_FEATURE_VALIDATION_ERROR = 0x003D, "CPUID XSAVE feature validation error";
    /// A processor did not start in time (TLFS appendix B, 0x003E).
    PROCESSOR_STARTUP_TIMEOUT = 0x003E, "processor startup timed out";
    /// SMX is enabled by the firmware (TLFS appendix B, 0x003F).
    SMX_ENABLED = 0x003F, "SMX enabled by the BIOS";
    /// The LP index is invalid (TLFS appendix B, 0x0041).
    INVALID_LP_INDEX = 0x0041, "the specified LP index is invalid";
    /// The register value is invalid (TLFS appendix B, 0x0050).
    INVALID_REGISTER_VALUE = 0x0050, "the supplied register value is invalid";
    /// The VTL state conflicts with the operation (named by TLFS 7.10.3, 7.10.4 and 10.5.1
    /// but absent from appendix B; value from OpenVMM `hvdef`, 0x0051).
    INVALID_VTL_STATE = 0x0051,
        "the virtual trust level is not in the correct state for the operation";
    /// NX is not available (TLFS appendix B, 0x0055).
    NX_NOT_DETECTED = 0x0055, "NX not detected on the machine";
    /// The device id is invalid (TLFS appendix B, 0x0057).
    INVALID_DEVICE_ID = 0x0057, "the supplied device ID is invalid";
    /// The device state does not allow the operation (TLFS appendix B, 0x0058).
    INVALID_DEVICE_STATE = 0x0058, "the operation is not allowed in the current device state";
    /// Pending device page requests were discarded (TLFS appendix B, 0x0059).
    PENDING_PAGE_REQUESTS = 0x0059, "the device had pending page requests which were discarded";
    /// A page request is not permitted (TLFS appendix B, 0x0060).
    PAGE_REQUEST_INVALID = 0x0060,
        "the page request specifies an access the guest is not permitted to perform";
    /// The operation failed (TLFS appendix B, 0x0071).
    OPERATION_FAILED = 0x0071, "the requested operation failed";
    /// Not allowed while nested virtualisation is active (TLFS appendix B, 0x0072).
    NOT_ALLOWED_WITH_NESTED_VIRT_ACTIVE = 0x0072,
        "the operation is not allowed while nested virtualization is active";
    /// The operation timed out (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x0078).
    TIME_OUT = 0x0078, "the operation timed out";
    /// The call is pending and must be retried (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x0079).
    CALL_PENDING = 0x0079, "the call is pending";
    /// The VTL is already enabled (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x0086).
    VTL_ALREADY_ENABLED = 0x0086, "the virtual trust level is already enabled";
}

impl HvStatus {
    /// Whether this is [`HvStatus::SUCCESS`].
    #[must_use]
    pub const fn is_success(self) -> bool {
        self.0 == 0
    }

    /// Converts to a `Result`: `Ok(())` for success, the error otherwise.
    ///
    /// # Errors
    ///
    /// Returns the status as an [`HvError`] when it is not [`HvStatus::SUCCESS`].
    pub const fn result(self) -> HvResult<()> {
        match NonZeroU16::new(self.0) {
            None => Ok(()),
            Some(code) => Err(HvError(code)),
        }
    }
}

impl fmt::Display for HvStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self.description()) {
            (Some(name), Some(text)) => write!(f, "HV_STATUS_{name} ({text})"),
            _ => write!(f, "unknown hypervisor status {:#06x}", self.0),
        }
    }
}

/// A hypercall status that is not success (TLFS 3.12, appendix B).
///
/// The niche of `NonZeroU16` makes `HvResult<()>` two bytes.
#[repr(transparent)]
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HvError(pub NonZeroU16);

impl HvError {
    /// The raw status code.
    #[must_use]
    pub const fn status(self) -> HvStatus {
        HvStatus(self.0.get())
    }

    /// Builds an error from a raw code; `None` for `HV_STATUS_SUCCESS`.
    #[must_use]
    pub const fn from_code(code: u16) -> Option<Self> {
        match NonZeroU16::new(code) {
            Some(code) => Some(Self(code)),
            None => None,
        }
    }
}

impl From<HvError> for HvStatus {
    fn from(error: HvError) -> Self {
        error.status()
    }
}

impl fmt::Debug for HvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status().name() {
            Some(name) => f.write_str(name),
            None => write!(f, "HvError({:#x})", self.0),
        }
    }
}

impl fmt::Display for HvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.status(), f)
    }
}

impl core::error::Error for HvError {}

#[cfg(feature = "defmt")]
impl defmt::Format for HvError {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::Format::format(&self.status(), f);
    }
}

/// The result of a hypercall or of an operation that issues one (TLFS 3.12).
pub type HvResult<T> = Result<T, HvError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_layout_uses_the_niche() {
        assert_eq!(size_of::<HvResult<()>>(), 2);
    }

    #[test]
    fn success_is_ok_and_failures_are_err() {
        assert_eq!(HvStatus::SUCCESS.result(), Ok(()));
        assert_eq!(HvStatus::new(0x0006).result(), Err(HvError::ACCESS_DENIED));
        assert_eq!(HvError::from_code(0), None);
    }

    #[test]
    fn error_and_status_tables_agree() {
        assert_eq!(HvError::ALL.len() + 1, HvStatus::ALL.len());
        for error in HvError::ALL {
            let status = error.status();
            assert!(HvStatus::ALL.contains(&status));
            assert!(status.description().is_some(), "{status:?} has no text");
        }
    }

    #[test]
    fn display_names_the_code_and_unknown_codes_print_their_number() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(
            HvError::INVALID_ALIGNMENT.to_string(),
            "HV_STATUS_INVALID_ALIGNMENT (the input or output parameters were not 8-byte \
             aligned or spanned a page boundary)"
        );
        assert_eq!(
            HvStatus::new(0x7777).to_string(),
            "unknown hypervisor status 0x7777"
        );
        assert_eq!(
            std::format!("{:?}", HvStatus::new(0x7777)),
            "HvStatus(0x7777)"
        );
        assert_eq!(std::format!("{:?}", HvError::TIME_OUT), "TIME_OUT");
    }
}
