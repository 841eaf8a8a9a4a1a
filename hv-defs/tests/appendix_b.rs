//! Golden test: TLFS 6.0 appendix B ("Hypercall Status Code Reference"), every row, checked
//! against `HvStatus` and `HvError` in both directions; plus the status codes the crate
//! defines from outside the appendix.
//!
//! # Corrections to the appendix B text of the TLFS 6.0 PDF extraction
//!
//! 1. `0x0033 HV_STATUS_INSUFFICIENT_BUFFERS` is code 0x0013. The row sits between 0x0012
//!    and 0x0014 where 0x0013 is otherwise missing, and 0x0033 is
//!    `HV_STATUS_INSUFFICIENT_BUFFER` further down; Linux (`HV_STATUS_INSUFFICIENT_BUFFERS
//!    19`), OpenVMM `hvdef` and the UEFI firmware headers all give 0x0013.
//! 2. Names split by the PDF line wrap are rejoined:
//!    `HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTE D`,
//!    `HV_STATUS_PROCESSOR_CACHE_LINE_FLUSH_SIZE_I NCOMPATIBLE`,
//!    `HV_STATUS_CPUID_XSAVE_FEATURE_VALIDATION_E RROR`,
//!    `HV_STATUS_NOT_ALLOWED_WITH_NESTED_VIRT_A CTIVE`.
//! 3. The meaning of 0x001A spans two printed lines (an invalid Flags mask, or an invalid
//!    ACPI node Id, in the proximity domain information); they are one row.
//!
//! The `Reserved` rows 0x0001, 0x000F and 0x0010 are transcribed as rows without a name.
//!
//! # Codes outside appendix B
//!
//! `OUTSIDE_APPENDIX` lists the codes `status.rs` defines that the appendix does not, with
//! the source of each value.

use hv_defs::status::{HvError, HvStatus};

/// One row of appendix B: code, name (`None` for "Reserved"), and a phrase of the meaning
/// that the crate's description must contain (lower case).
type Row = (u16, Option<&'static str>, &'static str);

/// TLFS 6.0 appendix B, every row, corrected as listed in the module documentation.
#[rustfmt::skip]
const APPENDIX_B: &[Row] = &[
    (0x0000, Some("HV_STATUS_SUCCESS"), "succeeded"),
    (0x0001, None, ""),
    (0x0002, Some("HV_STATUS_INVALID_HYPERCALL_CODE"), "hypercall code is not supported"),
    (0x0003, Some("HV_STATUS_INVALID_HYPERCALL_INPUT"), "rep count was incorrect"),
    (0x0004, Some("HV_STATUS_INVALID_ALIGNMENT"), "8-byte aligned"),
    (0x0005, Some("HV_STATUS_INVALID_PARAMETER"), "input parameters were invalid"),
    (0x0006, Some("HV_STATUS_ACCESS_DENIED"), "access rights"),
    (0x0007, Some("HV_STATUS_INVALID_PARTITION_STATE"), "partition's state"),
    (0x0008, Some("HV_STATUS_OPERATION_DENIED"), "could not be performed"),
    (0x0009, Some("HV_STATUS_UNKNOWN_PROPERTY"), "property id is not recognized"),
    (0x000A, Some("HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE"), "out of range"),
    (0x000B, Some("HV_STATUS_INSUFFICIENT_MEMORY"), "insufficient memory"),
    (0x000C, Some("HV_STATUS_PARTITION_TOO_DEEP"), "partition depth"),
    (0x000D, Some("HV_STATUS_INVALID_PARTITION_ID"), "partition id is invalid"),
    (0x000E, Some("HV_STATUS_INVALID_VP_INDEX"), "vp index is invalid"),
    (0x000F, None, ""),
    (0x0010, None, ""),
    (0x0011, Some("HV_STATUS_INVALID_PORT_ID"), "port id"),
    (0x0012, Some("HV_STATUS_INVALID_CONNECTION_ID"), "connection id"),
    (0x0013, Some("HV_STATUS_INSUFFICIENT_BUFFERS"), "sufficient buffers to post a message"),
    (0x0014, Some("HV_STATUS_NOT_ACKNOWLEDGED"), "not asserted and acknowledged"),
    (0x0015, Some("HV_STATUS_INVALID_VP_STATE"), "virtual processor is not in the correct state"),
    (0x0016, Some("HV_STATUS_ACKNOWLEDGED"), "acknowledged and not yet cleared"),
    (0x0017, Some("HV_STATUS_INVALID_SAVE_RESTORE_STATE"), "hv_save_restore_state_start"),
    (0x0018, Some("HV_STATUS_INVALID_SYNIC_STATE"), "synic"),
    (0x0019, Some("HV_STATUS_OBJECT_IN_USE"), "in use"),
    (0x001A, Some("HV_STATUS_INVALID_PROXIMITY_DOMAIN_INFO"), "proximity domain"),
    (0x001B, Some("HV_STATUS_NO_DATA"), "no data"),
    (0x001C, Some("HV_STATUS_INACTIVE"), "no receive activity"),
    (0x001D, Some("HV_STATUS_NO_RESOURCES"), "resource is unavailable"),
    (0x001E, Some("HV_STATUS_FEATURE_UNAVAILABLE"), "feature is not available"),
    (0x001F, Some("HV_STATUS_PARTIAL_PACKET"), "partial packet"),
    (0x0020, Some("HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTED"), "unsupported processor feature"),
    (0x0030, Some("HV_STATUS_PROCESSOR_CACHE_LINE_FLUSH_SIZE_INCOMPATIBLE"), "cache line flush size"),
    (0x0033, Some("HV_STATUS_INSUFFICIENT_BUFFER"), "buffer was too small"),
    (0x0037, Some("HV_STATUS_INCOMPATIBLE_PROCESSOR"), "processor architecture is not supported"),
    (0x0038, Some("HV_STATUS_INSUFFICIENT_DEVICE_DOMAINS"), "remapping domains"),
    (0x003C, Some("HV_STATUS_CPUID_FEATURE_VALIDATION_ERROR"), "cpuid feature set validation"),
    (0x003D, Some("HV_STATUS_CPUID_XSAVE_FEATURE_VALIDATION_ERROR"), "xsave feature validation"),
    (0x003E, Some("HV_STATUS_PROCESSOR_STARTUP_TIMEOUT"), "startup timed out"),
    (0x003F, Some("HV_STATUS_SMX_ENABLED"), "smx enabled"),
    (0x0041, Some("HV_STATUS_INVALID_LP_INDEX"), "lp index is invalid"),
    (0x0050, Some("HV_STATUS_INVALID_REGISTER_VALUE"), "register value is invalid"),
    (0x0055, Some("HV_STATUS_NX_NOT_DETECTED"), "nx not detected"),
    (0x0057, Some("HV_STATUS_INVALID_DEVICE_ID"), "device id is invalid"),
    (0x0058, Some("HV_STATUS_INVALID_DEVICE_STATE"), "device state"),
    (0x0059, Some("HV_STATUS_PENDING_PAGE_REQUESTS"), "pending page requests"),
    (0x0060, Some("HV_STATUS_PAGE_REQUEST_INVALID"), "not permitted"),
    (0x0071, Some("HV_STATUS_OPERATION_FAILED"), "operation failed"),
    (0x0072, Some("HV_STATUS_NOT_ALLOWED_WITH_NESTED_VIRT_ACTIVE"), "nested virtualization"),
];

/// Status codes in `status.rs` that appendix B does not list: code, name, source.
const OUTSIDE_APPENDIX: &[(u16, &str, &str)] = &[
    (
        0x0010,
        "HV_STATUS_NOT_FOUND",
        "post-TLFS 6.0; Linux hvgdk_mini.h (appendix B: reserved)",
    ),
    (
        0x0051,
        "HV_STATUS_INVALID_VTL_STATE",
        "named by TLFS 6.0 7.10.3, 7.10.4 and 10.5.1 but missing from appendix B; value from \
         OpenVMM hvdef",
    ),
    (
        0x0078,
        "HV_STATUS_TIME_OUT",
        "post-TLFS 6.0; Linux hvgdk_mini.h",
    ),
    (
        0x0079,
        "HV_STATUS_CALL_PENDING",
        "post-TLFS 6.0; Linux hvgdk_mini.h",
    ),
    (
        0x0086,
        "HV_STATUS_VTL_ALREADY_ENABLED",
        "post-TLFS 6.0; Linux hvgdk_mini.h",
    ),
];

fn crate_name(status: HvStatus) -> Option<String> {
    status.name().map(|name| format!("HV_STATUS_{name}"))
}

#[test]
fn appendix_rows_are_strictly_increasing() {
    for pair in APPENDIX_B.windows(2) {
        assert!(pair[0].0 < pair[1].0, "{:#06x} out of order", pair[1].0);
    }
    assert_eq!(APPENDIX_B.len(), 50, "rows of appendix B");
    assert_eq!(
        APPENDIX_B.iter().filter(|row| row.1.is_some()).count(),
        47,
        "named codes of appendix B"
    );
}

#[test]
fn every_appendix_code_has_its_name_value_and_text() {
    for &(code, name, phrase) in APPENDIX_B {
        let status = HvStatus::new(code);
        let Some(name) = name else {
            continue;
        };
        assert_eq!(crate_name(status).as_deref(), Some(name), "{code:#06x}");
        let text = status.description().expect("description");
        assert!(
            text.to_lowercase().contains(phrase),
            "{name}: {text:?} lacks {phrase:?}"
        );
        if code == 0 {
            assert!(status.is_success());
            assert_eq!(HvError::from_code(code), None);
        } else {
            let error = HvError::from_code(code).expect("non-zero");
            assert!(HvError::ALL.contains(&error), "{name} not in HvError::ALL");
            assert_eq!(error.status(), status);
        }
    }
}

#[test]
fn reserved_rows_are_unnamed_unless_defined_later() {
    for &(code, name, _) in APPENDIX_B {
        if name.is_some() {
            continue;
        }
        let status = HvStatus::new(code);
        match OUTSIDE_APPENDIX.iter().find(|entry| entry.0 == code) {
            Some(entry) => assert_eq!(crate_name(status).as_deref(), Some(entry.1)),
            None => assert_eq!(status.name(), None, "reserved {code:#06x} is named"),
        }
    }
}

#[test]
fn every_crate_status_comes_from_the_appendix_or_a_listed_source() {
    for &status in HvStatus::ALL {
        let code = status.get();
        let in_appendix = APPENDIX_B
            .iter()
            .any(|row| row.0 == code && row.1.is_some());
        let outside = OUTSIDE_APPENDIX.iter().find(|entry| entry.0 == code);
        assert!(
            in_appendix != outside.is_some(),
            "{status:?} must come from exactly one list"
        );
        if let Some(&(_, name, source)) = outside {
            assert_eq!(crate_name(status).as_deref(), Some(name));
            assert!(!source.is_empty());
            assert!(status.description().is_some());
        }
    }
    assert_eq!(HvStatus::ALL.len(), 47 + OUTSIDE_APPENDIX.len());
    assert_eq!(HvError::ALL.len(), HvStatus::ALL.len() - 1);
}

#[test]
fn display_prints_the_appendix_name() {
    let text = HvError::INSUFFICIENT_BUFFERS.to_string();
    assert!(
        text.starts_with("HV_STATUS_INSUFFICIENT_BUFFERS ("),
        "{text}"
    );
    assert_eq!(HvError::INSUFFICIENT_BUFFERS.status().get(), 0x0013);
    assert_eq!(HvError::INSUFFICIENT_BUFFER.status().get(), 0x0033);
}
