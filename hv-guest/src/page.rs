//! Pages the caller gives the hypervisor: hypercall input/output pages and overlay pages.
//!
//! The hypervisor addresses memory by guest physical address, Rust by reference. A
//! [`PhysPage`] ties the two together; building one is `unsafe` because a wrong GPA would let
//! the hypervisor read or write memory the caller does not own.

use hv_defs::{HV_PAGE_SIZE, HvGpa};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// One 4 KiB, 4 KiB-aligned page of memory (TLFS 1.7 page size).
///
/// A kernel whose allocator has its own page type borrows one of its pages as an `HvPage`
/// without `unsafe` through zerocopy, which checks size and alignment:
/// `HvPage::mut_from_bytes(&mut page.0)`.
#[repr(C, align(4096))]
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvPage(pub [u8; HV_PAGE_SIZE]);

impl HvPage {
    /// A zero-filled page.
    pub const ZERO: Self = Self([0; HV_PAGE_SIZE]);
}

impl Default for HvPage {
    fn default() -> Self {
        Self::ZERO
    }
}

/// A page together with its guest physical address.
#[derive(Debug)]
pub struct PhysPage<'a> {
    page: &'a mut HvPage,
    gpa: HvGpa,
}

impl<'a> PhysPage<'a> {
    /// Pairs a page with its guest physical address.
    ///
    /// # Safety
    ///
    /// `gpa` must be the guest physical address of `page` for as long as the returned value
    /// (or anything the hypervisor is told about it) is in use: the hypervisor reads and
    /// writes `gpa`, and Rust reads and writes `page`.
    ///
    /// # Panics
    ///
    /// Panics if `gpa` is not page-aligned: a caller bug, not host data.
    pub unsafe fn new(page: &'a mut HvPage, gpa: HvGpa) -> Self {
        assert_eq!(
            gpa % HV_PAGE_SIZE as u64,
            0,
            "GPA {gpa:#x} is not page-aligned"
        );
        Self { page, gpa }
    }

    /// The guest physical address.
    #[must_use]
    pub const fn gpa(&self) -> HvGpa {
        self.gpa
    }

    /// The guest page number (GPA >> 12, TLFS 1.7 `HV_GPA_PAGE_NUMBER`).
    #[must_use]
    pub const fn gpn(&self) -> u64 {
        self.gpa >> hv_defs::HV_PAGE_SHIFT
    }

    /// The page's bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8; HV_PAGE_SIZE] {
        &self.page.0
    }

    /// The page's bytes, mutably.
    #[must_use]
    pub fn bytes_mut(&mut self) -> &mut [u8; HV_PAGE_SIZE] {
        &mut self.page.0
    }

    /// A raw pointer to the page, for overlays that the hypervisor writes while Rust holds
    /// no reference (read them with volatile or atomic accesses).
    #[must_use]
    pub fn as_mut_ptr(&mut self) -> *mut HvPage {
        core::ptr::from_mut(self.page)
    }

    /// Gives the page back.
    #[must_use]
    pub fn into_inner(self) -> &'a mut HvPage {
        self.page
    }
}

/// The per-CPU pair of pages memory-based hypercalls use for their input and output
/// (TLFS 3.6: input and output may not overlap or cross a page).
///
/// A hobby OS keeps one `IoPages` in each CPU's per-CPU data and lends it to each call; the
/// borrow checker then keeps two calls on one CPU from sharing the pages.
#[derive(Debug)]
pub struct IoPages<'a> {
    pub(crate) input: PhysPage<'a>,
    pub(crate) output: PhysPage<'a>,
}

impl<'a> IoPages<'a> {
    /// Uses `input` and `output` as hypercall parameter pages.
    #[must_use]
    pub fn new(input: PhysPage<'a>, output: PhysPage<'a>) -> Self {
        Self { input, output }
    }

    /// Hands both pages to the hypervisor for one call: exposes their addresses (the
    /// hypervisor reaches them through their GPAs, which Rust cannot see) and returns the
    /// input and output GPAs.
    pub(crate) fn expose(&mut self) -> (u64, u64) {
        let _ = self.input.as_mut_ptr().expose_provenance();
        let _ = self.output.as_mut_ptr().expose_provenance();
        (self.input.gpa(), self.output.gpa())
    }

    /// Gives the pages back.
    #[must_use]
    pub fn into_inner(self) -> (PhysPage<'a>, PhysPage<'a>) {
        (self.input, self.output)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::boxed::Box;
    use std::vec;

    use zerocopy::FromBytes;

    use super::HvPage;

    #[test]
    fn a_foreign_page_is_borrowed_only_when_aligned() {
        let mut page = Box::new(HvPage::ZERO);
        page.0[5] = 7;
        let borrowed = HvPage::mut_from_bytes(&mut page.0).unwrap();
        assert_eq!(borrowed.0[5], 7);
        // One byte off a page boundary (or short) is refused.
        let mut bytes = vec![0u8; 2 * 4096];
        let start = bytes.as_ptr().align_offset(4096) + 1;
        assert!(HvPage::mut_from_bytes(&mut bytes[start..start + 4096]).is_err());
        assert!(HvPage::mut_from_bytes(&mut page.0[..4095]).is_err());
    }
}
