//! GUIDs: canonical text, parsing, wire bytes and the device-class table.

use hv_defs::vmbus::*;
use proptest::prelude::*;
use std::collections::HashSet;
use zerocopy::{FromBytes, IntoBytes};

/// Published text of some classes (Linux `hyperv.h` comments) and their constants.
const GOLDEN: &[(&str, Guid)] = &[
    ("f8615163-df3e-46c5-913f-f2d2f965ed0e", HV_NIC_GUID),
    ("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f", HV_SCSI_GUID),
    ("32412632-86cb-44a2-9b5c-50d1417354f5", HV_IDE_GUID),
    ("0e0b6031-5213-4934-818b-38d90ced39db", HV_SHUTDOWN_GUID),
    ("9527e630-d0ae-497b-adce-e80ab0175caf", HV_TS_GUID),
    ("57164f39-9115-4e78-ab55-382f3bd5422d", HV_HEART_BEAT_GUID),
    ("a9a0f4e7-5a45-4d96-b827-8a841e8c03e6", HV_KVP_GUID),
    ("525074dc-8985-46e2-8057-a307dc18a502", HV_DM_GUID),
    ("35fa2e29-ea23-4236-96ae-3a6ebacba440", HV_VSS_GUID),
    ("da0a7802-e377-4aac-8e77-0558eb1073f8", HV_SYNTHVID_GUID),
    ("44c4f61d-4444-4400-9d52-802e27ede19f", HV_PCIE_GUID),
    (
        "1c3ee94e-de83-469c-9340-4a04a28c28f9",
        HV_ENLIGHTENMENTS_ECHO_GUID,
    ),
];

#[test]
fn golden_text_of_well_known_classes() {
    for &(text, guid) in GOLDEN {
        assert_eq!(guid.to_string(), text);
        assert_eq!(format!("{guid:?}"), text);
        assert_eq!(text.parse::<Guid>(), Ok(guid));
    }
}

#[test]
fn network_class_fields_match_linux_guid_init() {
    // Linux: GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65,
    // 0xed, 0x0e).
    let linux = Guid::new(
        0xf861_5163,
        0xdf3e,
        0x46c5,
        [0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e],
    );
    assert_eq!(HV_NIC_GUID, linux);
    assert_eq!(
        HV_NIC_GUID.to_u128(),
        0xf861_5163_df3e_46c5_913f_f2d2_f965_ed0e
    );
    assert_eq!(Guid::from_u128(HV_NIC_GUID.to_u128()), HV_NIC_GUID);
}

#[test]
fn wire_bytes_are_mixed_endian() {
    let wire = [
        0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed,
        0x0e,
    ];
    assert_eq!(HV_NIC_GUID.to_le_bytes(), wire);
    assert_eq!(Guid::from_le_bytes(wire), HV_NIC_GUID);
    assert_eq!(HV_NIC_GUID.as_bytes(), &wire);
    assert_eq!(Guid::read_from_bytes(&wire[..]).ok(), Some(HV_NIC_GUID));
}

#[test]
fn parse_accepts_braces_and_upper_case() {
    assert_eq!(
        Guid::parse("{DA0A7802-E377-4AAC-8E77-0558EB1073F8}"),
        Ok(HV_SYNTHVID_GUID)
    );
    // Linux writes this one in mixed case: {9527E630-D0AE-497b-ADCE-E80AB0175CAF}.
    assert_eq!(
        Guid::parse("{9527E630-D0AE-497b-ADCE-E80AB0175CAF}"),
        Ok(HV_TS_GUID)
    );
}

#[test]
fn parse_errors_name_the_problem() {
    use GuidParseError::*;
    assert_eq!(Guid::parse(""), Err(InvalidLength));
    assert_eq!(
        Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0"),
        Err(InvalidLength)
    );
    assert_eq!(
        Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e0"),
        Err(InvalidLength)
    );
    assert_eq!(
        Guid::parse("f8615163_df3e-46c5-913f-f2d2f965ed0e"),
        Err(InvalidSeparator(8))
    );
    assert_eq!(
        Guid::parse("f8615163-df3e-46c5-913ff-2d2f965ed0e"),
        Err(InvalidSeparator(23))
    );
    assert_eq!(
        Guid::parse("(f8615163-df3e-46c5-913f-f2d2f965ed0e}"),
        Err(InvalidSeparator(0))
    );
    assert_eq!(
        Guid::parse("{f8615163-df3e-46c5-913f-f2d2f965ed0e)"),
        Err(InvalidSeparator(37))
    );
    assert_eq!(
        Guid::parse("g8615163-df3e-46c5-913f-f2d2f965ed0e"),
        Err(InvalidDigit(0))
    );
    assert_eq!(
        Guid::parse("{f8615163-df3e-46c5-913f-f2d2f965ed0x}"),
        Err(InvalidDigit(36))
    );
    // A multi-byte character is rejected, not split.
    assert_eq!(
        Guid::parse("f8615163-df3e-46c5-913f-f2d2f965edé"),
        Err(InvalidDigit(34))
    );
    assert_eq!(
        InvalidDigit(3).to_string(),
        "expected a hex digit at byte 3"
    );
}

#[test]
fn class_names() {
    assert_eq!(class_name(HV_NIC_GUID), Some("network"));
    assert_eq!(class_name(HV_SCSI_GUID), Some("storage (SCSI)"));
    assert_eq!(class_name(HV_DM_GUID), Some("dynamic memory"));
    assert_eq!(
        class_name(HV_ENLIGHTENMENTS_ECHO_GUID),
        Some("hv-enlightenments echo device")
    );
    assert_eq!(class_name(Guid::ZERO), None);
    assert_eq!(class_name(Guid::from_u128(HV_NIC_GUID.to_u128() ^ 1)), None);
}

#[test]
fn class_table_has_no_duplicates_and_covers_every_constant() {
    let guids: HashSet<Guid> = VMBUS_DEVICE_CLASSES.iter().map(|&(g, _)| g).collect();
    let names: HashSet<&str> = VMBUS_DEVICE_CLASSES.iter().map(|&(_, n)| n).collect();
    assert_eq!(guids.len(), VMBUS_DEVICE_CLASSES.len());
    assert_eq!(names.len(), VMBUS_DEVICE_CLASSES.len());
    let constants = [
        HV_NIC_GUID,
        HV_IDE_GUID,
        HV_SCSI_GUID,
        HV_SHUTDOWN_GUID,
        HV_TS_GUID,
        HV_HEART_BEAT_GUID,
        HV_KVP_GUID,
        HV_DM_GUID,
        HV_MOUSE_GUID,
        HV_KBD_GUID,
        HV_VSS_GUID,
        HV_SYNTHVID_GUID,
        HV_SYNTHFC_GUID,
        HV_FCOPY_GUID,
        HV_ND_GUID,
        HV_PCIE_GUID,
        HV_AVMA1_GUID,
        HV_AVMA2_GUID,
        HV_RDV_GUID,
        HV_IMC_GUID,
        HV_ENLIGHTENMENTS_ECHO_GUID,
    ];
    assert_eq!(constants.len(), VMBUS_DEVICE_CLASSES.len());
    for guid in constants {
        assert!(guids.contains(&guid), "{guid}");
        assert!(class_name(guid).is_some());
    }
}

#[test]
fn echo_class_is_a_random_rfc_4122_guid() {
    // Version 4 in the high nibble of data3, variant 10xx in the top bits of data4[0].
    assert_eq!(HV_ENLIGHTENMENTS_ECHO_GUID.data3 >> 12, 4);
    assert_eq!(HV_ENLIGHTENMENTS_ECHO_GUID.data4[0] >> 6, 0b10);
}

proptest! {
    #[test]
    fn display_parse_round_trip(value in any::<u128>()) {
        let guid = Guid::from_u128(value);
        let text = guid.to_string();
        prop_assert_eq!(text.len(), 36);
        prop_assert_eq!(text.to_lowercase(), text.clone());
        prop_assert_eq!(Guid::parse(&text), Ok(guid));
        prop_assert_eq!(Guid::parse(&text.to_uppercase()), Ok(guid));
        prop_assert_eq!(Guid::parse(&format!("{{{text}}}")), Ok(guid));
        prop_assert_eq!(guid.to_u128(), value);
    }

    #[test]
    fn wire_bytes_round_trip(bytes in proptest::array::uniform16(any::<u8>())) {
        let guid = Guid::from_le_bytes(bytes);
        prop_assert_eq!(guid.to_le_bytes(), bytes);
        prop_assert_eq!(guid.as_bytes(), &bytes);
    }

    /// Arbitrary text never panics the parser; whatever it accepts prints back the same
    /// GUID.
    #[test]
    fn parse_never_panics(text in ".{0,40}") {
        if let Ok(guid) = Guid::parse(&text) {
            prop_assert_eq!(Guid::parse(&guid.to_string()), Ok(guid));
        }
    }

    /// Text shaped like a GUID but with one character replaced is accepted only when the
    /// replacement is itself a hex digit at a digit position.
    #[test]
    fn one_wrong_character(value in any::<u128>(), at in 0usize..36, c in any::<char>()) {
        let text = Guid::from_u128(value).to_string();
        let mut chars: Vec<char> = text.chars().collect();
        chars[at] = c;
        let mutated: String = chars.into_iter().collect();
        let is_hyphen_position = [8, 13, 18, 23].contains(&at);
        let should_parse = c.is_ascii() && mutated.len() == 36 && if is_hyphen_position {
            c == '-'
        } else {
            c.is_ascii_hexdigit()
        };
        prop_assert_eq!(Guid::parse(&mutated).is_ok(), should_parse);
    }
}
