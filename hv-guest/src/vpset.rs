//! Virtual processor sets for the `Ex` hypercalls (TLFS 7.8.7.3–7.8.7.5).
//!
//! [`VpSet`] builds a sparse 4K-bank set ([`HvGenericSetFormat::HV_GENERIC_SET_SPARSE_4K`]) in
//! caller storage, already in wire form: the valid-banks mask plus one 64-bit mask per
//! *non-empty* bank, in increasing bank order. It never allocates; the storage is a slice of
//! up to [`HV_VP_SET_MAX_BANKS`] quadwords the caller keeps (typically per CPU, next to its
//! hypercall pages). A set with `n` storage quadwords holds VPs from at most `n` distinct
//! banks.
//!
//! Only non-empty banks are kept, so the encoding always uses the fewest banks the TLFS
//! allows, and the variable header of an `Ex` call (one quadword per bank, TLFS 3.7.1) is as
//! short as it can be.
//!
//! [`VpTargets`] is what the flush and IPI wrappers take: a set, or every VP of the partition
//! ([`HvGenericSetFormat::HV_GENERIC_SET_ALL`]).
//!
//! ```
//! use hv_guest::vpset::VpSet;
//!
//! let mut storage = [0u64; 4];
//! let mut set = VpSet::new(&mut storage);
//! for vp in [0, 5, 130] {
//!     set.insert(vp)?;
//! }
//! // TLFS 7.8.7.5: banks 0 and 2 are valid; bank 1 is left out.
//! assert_eq!(set.header().valid_banks_mask, 0b101);
//! assert_eq!(set.banks(), &[0x21, 0x4]);
//! assert_eq!(set.low_mask(), None); // VP 130 needs the Ex form
//! # Ok::<(), hv_guest::vpset::VpSetError>(())
//! ```

use hv_defs::HvVpIndex;
use hv_defs::vp::{
    HV_VP_SET_BANK_SIZE, HV_VP_SET_MAX_BANKS, HV_VP_SET_MAX_VPS, HvGenericSetFormat, HvVpSetHeader,
    hv_vp_set_bank,
};

/// Why a VP could not be added to a [`VpSet`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VpSetError {
    /// The index is not below [`HV_VP_SET_MAX_VPS`] (4096), the most a sparse set can name
    /// (TLFS 7.8.7.4).
    IndexTooLarge {
        /// The index given.
        vp_index: HvVpIndex,
    },
    /// The VP lives in a new bank and the storage holds no more banks.
    OutOfBanks {
        /// Banks the storage holds.
        capacity: usize,
    },
}

impl core::fmt::Display for VpSetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::IndexTooLarge { vp_index } => write!(
                f,
                "VP index {vp_index} is beyond the {HV_VP_SET_MAX_VPS} a VP set can name"
            ),
            Self::OutOfBanks { capacity } => {
                write!(f, "the VP set storage holds only {capacity} banks")
            }
        }
    }
}

impl core::error::Error for VpSetError {}

/// A sparse VP set in wire form, built in caller storage (TLFS 7.8.7.3, 7.8.7.4).
///
/// Invariant: `banks[i]` is the non-zero mask of the `i`-th set bit of `valid_banks`.
#[derive(Debug)]
pub struct VpSet<'a> {
    valid_banks: u64,
    storage: &'a mut [u64],
}

impl<'a> VpSet<'a> {
    /// An empty set whose banks live in `storage`; it holds VPs of at most
    /// `min(storage.len(), 64)` distinct banks. The storage's previous contents are ignored.
    #[must_use]
    pub fn new(storage: &'a mut [u64]) -> Self {
        let len = storage.len().min(HV_VP_SET_MAX_BANKS);
        Self {
            valid_banks: 0,
            storage: &mut storage[..len],
        }
    }

    /// Banks the storage holds.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.storage.len()
    }

    /// The position in the bank list of `bank`: the valid banks below it.
    const fn position(&self, bank: usize) -> usize {
        (self.valid_banks & ((1u64 << bank) - 1)).count_ones() as usize
    }

    /// Adds `vp_index`; adding a member again changes nothing.
    ///
    /// # Errors
    ///
    /// [`VpSetError::IndexTooLarge`] for an index of 4096 or more,
    /// [`VpSetError::OutOfBanks`] when the VP needs a bank the storage cannot hold. The set is
    /// unchanged on error.
    pub fn insert(&mut self, vp_index: HvVpIndex) -> Result<(), VpSetError> {
        let (bank, bit) = hv_vp_set_bank(vp_index).ok_or(VpSetError::IndexTooLarge { vp_index })?;
        let pos = self.position(bank);
        if self.valid_banks & (1 << bank) != 0 {
            self.storage[pos] |= bit;
            return Ok(());
        }
        let count = self.bank_count();
        if count == self.capacity() {
            return Err(VpSetError::OutOfBanks {
                capacity: self.capacity(),
            });
        }
        self.storage.copy_within(pos..count, pos + 1);
        self.storage[pos] = bit;
        self.valid_banks |= 1 << bank;
        Ok(())
    }

    /// Removes `vp_index`; returns whether it was a member. A bank left empty is dropped, so
    /// the set keeps using the fewest banks.
    pub fn remove(&mut self, vp_index: HvVpIndex) -> bool {
        let Some((bank, bit)) = hv_vp_set_bank(vp_index) else {
            return false;
        };
        let pos = self.position(bank);
        if self.valid_banks & (1 << bank) == 0 || self.storage[pos] & bit == 0 {
            return false;
        }
        self.storage[pos] &= !bit;
        if self.storage[pos] == 0 {
            let count = self.bank_count();
            self.storage.copy_within(pos + 1..count, pos);
            self.valid_banks &= !(1 << bank);
        }
        true
    }

    /// Whether `vp_index` is a member.
    #[must_use]
    pub fn contains(&self, vp_index: HvVpIndex) -> bool {
        match hv_vp_set_bank(vp_index) {
            Some((bank, bit)) if self.valid_banks & (1 << bank) != 0 => {
                self.storage[self.position(bank)] & bit != 0
            }
            _ => false,
        }
    }

    /// Removes every member.
    pub fn clear(&mut self) {
        self.valid_banks = 0;
    }

    /// Whether the set has no member.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.valid_banks == 0
    }

    /// Number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.banks().iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Number of banks in the encoding: the distinct values of `vp / 64` among the members.
    #[must_use]
    pub const fn bank_count(&self) -> usize {
        self.valid_banks.count_ones() as usize
    }

    /// The fixed part of the wire form: format sparse and the valid-banks mask
    /// (TLFS 7.8.7.3).
    #[must_use]
    pub const fn header(&self) -> HvVpSetHeader {
        HvVpSetHeader::sparse(self.valid_banks)
    }

    /// The bank masks of the wire form, in increasing bank order; each is non-zero.
    #[must_use]
    pub fn banks(&self) -> &[u64] {
        &self.storage[..self.bank_count()]
    }

    /// The 64-bit processor mask of the non-`Ex` hypercalls (bit `i` = VP `i`), when every
    /// member is below 64; `None` when a member is 64 or above (TLFS 9.4.2, 10.5.2).
    #[must_use]
    pub fn low_mask(&self) -> Option<u64> {
        match self.valid_banks {
            0 => Some(0),
            1 => Some(self.storage[0]),
            _ => None,
        }
    }

    /// The members in increasing order.
    #[must_use]
    pub fn iter(&self) -> VpSetIter<'_> {
        VpSetIter {
            valid_banks: self.valid_banks,
            banks: self.banks(),
            current: 0,
            base: 0,
        }
    }
}

/// The members of a [`VpSet`], in increasing order.
#[derive(Clone, Debug)]
pub struct VpSetIter<'s> {
    valid_banks: u64,
    banks: &'s [u64],
    current: u64,
    base: HvVpIndex,
}

impl Iterator for VpSetIter<'_> {
    type Item = HvVpIndex;

    fn next(&mut self) -> Option<HvVpIndex> {
        while self.current == 0 {
            let (&next, rest) = self.banks.split_first()?;
            let bank = self.valid_banks.trailing_zeros();
            self.valid_banks &= self.valid_banks - 1;
            self.banks = rest;
            self.current = next;
            self.base = bank * HV_VP_SET_BANK_SIZE;
        }
        let bit = self.current.trailing_zeros();
        self.current &= self.current - 1;
        Some(self.base + bit)
    }
}

/// The VPs a flush or IPI is for.
#[derive(Copy, Clone, Debug)]
pub enum VpTargets<'s> {
    /// Every VP of the partition (format [`HvGenericSetFormat::HV_GENERIC_SET_ALL`], or the
    /// `HV_FLUSH_ALL_PROCESSORS` flag).
    All,
    /// The members of a set.
    Set(&'s VpSet<'s>),
}

impl<'s> From<&'s VpSet<'s>> for VpTargets<'s> {
    fn from(set: &'s VpSet<'s>) -> Self {
        Self::Set(set)
    }
}

impl VpTargets<'_> {
    /// Whether the request names no VP (an empty set).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        match self {
            Self::All => false,
            Self::Set(set) => set.is_empty(),
        }
    }

    /// The `HV_VP_SET` header for an `Ex` call (TLFS 7.8.7.3).
    #[must_use]
    pub const fn header(&self) -> HvVpSetHeader {
        match self {
            Self::All => HvVpSetHeader::ALL,
            Self::Set(set) => set.header(),
        }
    }

    /// The bank masks that follow the header in an `Ex` call: none for every VP.
    #[must_use]
    pub fn banks(&self) -> &[u64] {
        match self {
            Self::All => &[],
            Self::Set(set) => set.banks(),
        }
    }

    /// The format of the `Ex` encoding.
    #[must_use]
    pub const fn format(&self) -> HvGenericSetFormat {
        self.header().format
    }
}

#[cfg(test)]
pub(crate) mod tests {
    extern crate std;

    use std::collections::BTreeSet;
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;

    /// Proptest settings for this crate: the usual case count natively; a handful of cases
    /// and no failure files under Miri, which is slow and isolated from the file system.
    pub(crate) fn proptest_config() -> ProptestConfig {
        if cfg!(miri) {
            ProptestConfig {
                cases: 4,
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        } else {
            ProptestConfig::default()
        }
    }

    #[test]
    fn tlfs_example_encodes_as_in_7_8_7_5() {
        let mut storage = [0u64; 64];
        let mut set = VpSet::new(&mut storage);
        for vp in [130, 5, 0] {
            set.insert(vp).unwrap();
        }
        assert_eq!(set.header(), HvVpSetHeader::sparse(0x5));
        assert_eq!(set.banks(), [0x21, 0x4]);
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 5, 130]);
        assert_eq!(set.len(), 3);
        assert_eq!(set.low_mask(), None);
    }

    #[test]
    fn low_mask_exists_only_below_64() {
        let mut storage = [0u64; 2];
        let mut set = VpSet::new(&mut storage);
        assert_eq!(set.low_mask(), Some(0));
        set.insert(0).unwrap();
        set.insert(63).unwrap();
        assert_eq!(set.low_mask(), Some(0x8000_0000_0000_0001));
        set.insert(64).unwrap();
        assert_eq!(set.low_mask(), None);
        assert!(set.remove(64));
        assert_eq!(set.low_mask(), Some(0x8000_0000_0000_0001));
        assert_eq!(set.bank_count(), 1);
        // A set holding only VP 64 has a bank 1 and no low mask.
        set.clear();
        set.insert(64).unwrap();
        assert_eq!(set.low_mask(), None);
    }

    #[test]
    fn bad_indices_and_full_storage_are_typed_errors_that_change_nothing() {
        let mut storage = [0u64; 1];
        let mut set = VpSet::new(&mut storage);
        assert_eq!(
            set.insert(4096),
            Err(VpSetError::IndexTooLarge { vp_index: 4096 })
        );
        set.insert(70).unwrap();
        assert_eq!(set.insert(3), Err(VpSetError::OutOfBanks { capacity: 1 }));
        set.insert(127).unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), [70, 127]);
        assert!(!set.remove(3));
        assert!(!set.remove(u32::MAX));
        assert!(!set.contains(u32::MAX));
        // Storage beyond 64 quadwords is not used.
        let mut big = [0u64; 80];
        assert_eq!(VpSet::new(&mut big).capacity(), 64);
    }

    #[test]
    fn targets_all_has_no_banks() {
        let all = VpTargets::All;
        assert_eq!(all.header(), HvVpSetHeader::ALL);
        assert!(all.banks().is_empty());
        assert!(!all.is_empty());
        let mut storage = [0u64; 1];
        let set = VpSet::new(&mut storage);
        let targets = VpTargets::from(&set);
        assert!(targets.is_empty());
        assert_eq!(
            targets.format(),
            HvGenericSetFormat::HV_GENERIC_SET_SPARSE_4K
        );
    }

    /// The wire form computed independently: one mask per distinct bank.
    fn reference(vps: &BTreeSet<u32>) -> (u64, Vec<u64>) {
        let mut masks = [0u64; 64];
        for &vp in vps {
            masks[(vp / 64) as usize] |= 1 << (vp % 64);
        }
        let valid = (0..64)
            .filter(|&b| masks[b] != 0)
            .fold(0, |m, b| m | 1 << b);
        (valid, masks.into_iter().filter(|&m| m != 0).collect())
    }

    proptest! {
        #![proptest_config(proptest_config())]

        #[test]
        fn any_set_round_trips_through_the_fewest_banks(
            vps in proptest::collection::btree_set(0u32..4096, 0..200),
            removed in proptest::collection::vec(0u32..4096, 0..50),
        ) {
            let mut storage = [0u64; 64];
            let mut set = VpSet::new(&mut storage);
            for &vp in &vps {
                set.insert(vp).unwrap();
            }
            let mut expected = vps.clone();
            for &vp in &removed {
                prop_assert_eq!(set.remove(vp), expected.remove(&vp));
            }
            let (valid, banks) = reference(&expected);
            prop_assert_eq!(set.header(), HvVpSetHeader::sparse(valid));
            prop_assert_eq!(set.banks(), &banks[..]);
            prop_assert_eq!(set.bank_count(), banks.len());
            prop_assert_eq!(set.iter().collect::<BTreeSet<_>>(), expected.clone());
            prop_assert_eq!(set.len(), expected.len());
            for vp in 0..4096 {
                prop_assert_eq!(set.contains(vp), expected.contains(&vp));
            }
        }
    }
}
