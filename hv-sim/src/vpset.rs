//! Processor masks and VP sets of the flush and IPI hypercalls (TLFS 7.8.7.3–7.8.7.5,
//! 9.4.2–9.4.5, 10.5.2, 10.5.3).
//!
//! A VP set is the 16-byte [`HvVpSetHeader`] (format, valid-banks mask) followed by one
//! 64-bit mask per valid bank; in the `Ex` hypercalls the bank masks are the variable
//! header (TLFS 3.7.1). The rules the model applies where the TLFS leaves them open:
//!
//! * a sparse set's variable header must hold exactly one mask per set bit of the
//!   valid-banks mask, and a set of format "all" none: anything else is
//!   `HV_STATUS_INVALID_HYPERCALL_INPUT`, since the control word then misstates the input
//!   size (KVM answers the same; OpenVMM reads missing masks as `HV_STATUS_INVALID_PARAMETER`);
//! * a format other than sparse (0) or all (1) is `HV_STATUS_INVALID_PARAMETER` (KVM treats
//!   every non-sparse format as "all");
//! * a valid bank whose mask is zero is allowed (TLFS 7.8.7.4 says so explicitly).
//!
//! The non-`Ex` calls' 64-bit processor mask is the sparse set with bank 0 only.

use hv_defs::status::HvStatus;
use hv_defs::vp::{HvGenericSetFormat, HvVpSetHeader};

/// The VPs a flush or IPI names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Targets {
    /// Every VP of the partition.
    All,
    /// These VP indices, in increasing order (possibly none).
    Set(Vec<u32>),
}

/// Decodes a VP set whose bank masks are `banks` (the variable header bytes).
pub(crate) fn parse_vp_set(header: HvVpSetHeader, banks: &[u8]) -> Result<Targets, HvStatus> {
    match header.format {
        HvGenericSetFormat::HV_GENERIC_SET_ALL if banks.is_empty() => Ok(Targets::All),
        HvGenericSetFormat::HV_GENERIC_SET_ALL => Err(HvStatus::INVALID_HYPERCALL_INPUT),
        HvGenericSetFormat::HV_GENERIC_SET_SPARSE_4K => {
            let valid = header.valid_banks_mask;
            if banks.len() != 8 * valid.count_ones() as usize {
                return Err(HvStatus::INVALID_HYPERCALL_INPUT);
            }
            let mut members = Vec::new();
            let masks = banks.chunks_exact(8).map(|b| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(b);
                u64::from_le_bytes(bytes)
            });
            let bank_numbers = (0..64u32).filter(|bank| valid & (1 << bank) != 0);
            for (bank, mask) in bank_numbers.zip(masks) {
                members.extend(
                    (0..64u32)
                        .filter(|bit| mask & (1 << bit) != 0)
                        .map(|bit| bank * 64 + bit),
                );
            }
            Ok(Targets::Set(members))
        }
        _ => Err(HvStatus::INVALID_PARAMETER),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banks(masks: &[u64]) -> Vec<u8> {
        masks.iter().flat_map(|m| m.to_le_bytes()).collect()
    }

    #[test]
    fn the_tlfs_example_decodes_to_vps_0_5_130() {
        // TLFS 7.8.7.5: banks 0 and 2, masks 0x21 and 0x4.
        let set = parse_vp_set(HvVpSetHeader::sparse(0b101), &banks(&[0x21, 0x4]));
        assert_eq!(set, Ok(Targets::Set(vec![0, 5, 130])));
    }

    #[test]
    fn bank_masks_must_match_the_variable_header() {
        let header = HvVpSetHeader::sparse(0b11);
        assert_eq!(
            parse_vp_set(header, &banks(&[1])),
            Err(HvStatus::INVALID_HYPERCALL_INPUT),
            "one mask for two banks"
        );
        assert_eq!(
            parse_vp_set(header, &banks(&[1, 2, 3])),
            Err(HvStatus::INVALID_HYPERCALL_INPUT),
            "three masks for two banks"
        );
        assert_eq!(
            parse_vp_set(HvVpSetHeader::ALL, &banks(&[1])),
            Err(HvStatus::INVALID_HYPERCALL_INPUT),
            "masks after format all"
        );
        assert_eq!(parse_vp_set(HvVpSetHeader::ALL, &[]), Ok(Targets::All));
    }

    #[test]
    fn empty_banks_and_sets_are_valid_unknown_formats_are_not() {
        assert_eq!(
            parse_vp_set(HvVpSetHeader::sparse(0b1), &banks(&[0])),
            Ok(Targets::Set(vec![]))
        );
        assert_eq!(
            parse_vp_set(HvVpSetHeader::sparse(0), &[]),
            Ok(Targets::Set(vec![]))
        );
        let bad = HvVpSetHeader {
            format: HvGenericSetFormat::new(2),
            valid_banks_mask: 0,
        };
        assert_eq!(parse_vp_set(bad, &[]), Err(HvStatus::INVALID_PARAMETER));
        let top = parse_vp_set(HvVpSetHeader::sparse(1 << 63), &banks(&[1 << 63]));
        assert_eq!(top, Ok(Targets::Set(vec![4095])));
    }
}
