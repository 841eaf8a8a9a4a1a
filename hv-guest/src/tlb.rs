//! Virtual TLB flushes by hypercall (TLFS 9.4.2–9.4.5).
//!
//! [`TlbFlush`] offers the two requests a kernel makes — flush a whole address space
//! ([`TlbFlush::flush_address_space`]) or a list of GVA ranges ([`TlbFlush::flush_ranges`]) on
//! some VPs — and picks, for each request, the cheapest of the four calls and three calling
//! conventions the TLFS offers:
//!
//! | targets | call |
//! | --- | --- |
//! | every VP, or VPs all below 64 | `HvCallFlushVirtualAddressSpace` / `…List` (mask or `HV_FLUSH_ALL_PROCESSORS`) |
//! | some VP at 64 or above | `HvCallFlushVirtualAddressSpaceEx` / `…ListEx` (a [`VpSet`](crate::vpset::VpSet) as variable header) |
//!
//! | input bytes | convention |
//! | --- | --- |
//! | at most 16 and the call has a register form | register fast (never for flushes: their headers are 24+ bytes) |
//! | at most 112, the call has an XMM form and the partition offers XMM input | XMM fast |
//! | otherwise | memory, split into page-sized rep calls |
//!
//! # GVA ranges
//!
//! A [`GvaRange`] is `count` pages of one size from a GVA. The list calls take one 8-byte
//! entry per run of pages:
//!
//! * basic format (TLFS 9.4.4): up to 4096 4 KiB pages per entry. A GVA inside a large page
//!   flushes the whole large page (TLFS 9.4.4), so large-page ranges are also expressible:
//!   each entry then covers 16 MiB of them;
//! * extended format (CPUID 0x4000_0003 EDX bit 14; OpenVMM `HvGvaRangeExtended`): up to 2048
//!   4 KiB pages per small entry, or up to 2048 2 MiB / 1 GiB pages per large entry (4 GiB /
//!   2 TiB).
//!
//! All entries of a call share its format (the `HV_FLUSH_USE_EXTENDED_RANGE_FORMAT` flag), so
//! a request is encoded once in the basic format and, when the partition offers it, once in
//! the extended format, and the encoding that needs fewer hypercalls (then fewer entries)
//! wins; a tie goes to the basic format.
//!
//! # The minimum number of hypercalls
//!
//! A list request with `E` entries and a header of `H` bytes (24 for the mask form; 32 + 8 × B
//! for the `Ex` form with B banks) takes
//!
//! * one XMM fast call when `H + 8E ≤ 112` and XMM input is offered, else
//! * `⌈E / ⌊(4096 − H) / 8⌋⌉` memory calls (input and its list fit in one page, TLFS 3.6;
//!   the rep count's 12 bits allow 4095, more than a page holds),
//!
//! and the TLFS allows no fewer: every call carries at most one page (or 112 bytes) of input,
//! and a run of `n` pages needs at least `⌈n / 4096⌉` entries. `E` counts the ranges as
//! given: pass each contiguous run as one range (adjacent ranges are not merged). The
//! hypervisor may return a rep call early; re-issuing it from "reps completed" (TLFS 3.3) is
//! the only extra cost, and [`crate::counter::HypercallCounter`] counts those too. Whether a
//! list that needs several calls is better replaced by one address-space flush is the
//! kernel's policy; [`TlbFlush::plan_ranges`] gives it the numbers without making a call.
//!
//! Example, 10,000 4 KiB pages from a page-aligned GVA on VPs {0, 1}: all targets are below
//! 64, so the mask form (H = 24); the basic format needs ⌈10000 / 4096⌉ = 3 entries
//! (4096 + 4096 + 1808 pages), the extended one ⌈10000 / 2048⌉ = 5, so basic; 24 + 3 × 8 = 48
//! bytes is one XMM call, and without XMM input 3 ≤ 509 entries is one memory call. One
//! hypercall either way, which is the least any flush takes.
//!
//! # When to use it (TLFS 2.4.5)
//!
//! The hypervisor recommends hypercalls for local flushes (CPUID 0x4000_0004 EAX bit 1), for
//! remote flushes (bit 2), or neither; [`FlushAdvice`] carries them. A kernel flushing only
//! its own VP uses [`TlbFlush`] when [`FlushAdvice::local`] is set and INVLPG / MOV CR3
//! otherwise; a flush that involves other VPs uses it when [`FlushAdvice::remote`] is set and
//! IPIs otherwise. [`TlbFlush::new`] refuses when neither is recommended: hosts that follow
//! the recommendation (KVM, for one) reject the calls then.
//!
//! Targets at VP 64 or above need the `Ex` calls, recommended by EAX bit 11; without it the
//! request fails with [`Unavailable::UseExProcessorMasks`] and touches nothing (flushing
//! [`VpTargets::All`] instead is always allowed and always correct).
//!
//! ```no_run
//! # use hv_guest::hypercall::Hypercalls;
//! # use hv_guest::page::IoPages;
//! # use hv_guest::platform::Platform;
//! # use hv_defs::cpuid::{HvEnlightenmentInformation, HvFeaturesInfo};
//! use hv_guest::tlb::{AddressSpace, FlushAdvice, GvaRange, TlbFlush};
//! use hv_guest::vpset::{VpSet, VpTargets};
//!
//! # fn demo<P: Platform>(hc: Hypercalls<'_, P>, io: &mut IoPages<'_>,
//! #     features: HvFeaturesInfo, recommendations: HvEnlightenmentInformation, cr3: u64)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! let tlb = TlbFlush::new(hc, FlushAdvice::new(features, recommendations))?;
//! let mut banks = [0u64; 4]; // per-CPU storage: VPs of up to 4 banks (256 VPs)
//! let mut set = VpSet::new(&mut banks);
//! set.insert(0)?;
//! set.insert(1)?;
//! let range = GvaRange::pages(0x7F00_0000_0000, 10_000)?;
//! let plan = tlb.flush_ranges(io, VpTargets::from(&set), AddressSpace::Id(cr3), &[range])?;
//! assert_eq!(plan.map(|p| p.hypercalls), Some(1));
//! # Ok(()) }
//! ```

use hv_defs::cpuid::{HvEnlightenmentInformation, HvFeaturesInfo};
use hv_defs::hypercall::{
    HV_HYPERCALL_FAST_INPUT_BYTES, HV_HYPERCALL_REP_MAX, HV_HYPERCALL_XMM_BLOCK_BYTES, HvCallCode,
};
use hv_defs::mmu::{
    HV_FLUSH_VIRTUAL_ADDRESS_LIST_MAX_REPS_PER_PAGE, HV_GVA_RANGE_EXTENDED_MAX_PAGES,
    HV_GVA_RANGE_MAX_PAGES, HvAddressSpaceId, HvFlushFlags, HvFlushVirtualAddressSpaceExInput,
    HvFlushVirtualAddressSpaceInput, HvGvaRange, HvGvaRangeExtended, HvGvaRangeExtendedLargePage,
};
use hv_defs::{HV_PAGE_SHIFT, HV_PAGE_SIZE, HvGva};
use zerocopy::IntoBytes;

use crate::gate::Unavailable;
use crate::hypercall::{CallError, Hypercalls, RepError};
use crate::page::IoPages;
use crate::platform::Platform;
use crate::vpset::VpTargets;

/// Which address spaces a flush applies to (TLFS 9.3.1, 9.4.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AddressSpace {
    /// Every address space (`HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES`).
    All,
    /// The address space with this id: on x64 the CR3 value.
    Id(HvAddressSpaceId),
}

/// The page size of the mappings a [`GvaRange`] covers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PageSize {
    /// 4 KiB pages.
    Size4KiB,
    /// 2 MiB pages.
    Size2MiB,
    /// 1 GiB pages.
    Size1GiB,
}

impl PageSize {
    /// log2 of the size in bytes.
    #[must_use]
    pub const fn shift(self) -> u32 {
        match self {
            Self::Size4KiB => HV_PAGE_SHIFT,
            Self::Size2MiB => 21,
            Self::Size1GiB => 30,
        }
    }

    /// The size in bytes.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        1 << self.shift()
    }
}

/// Why a [`GvaRange`] could not be built.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GvaRangeError {
    /// Zero pages.
    Empty,
    /// The range runs past the end of the 64-bit address space.
    BeyondAddressSpace,
}

impl core::fmt::Display for GvaRangeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Empty => "a GVA range of zero pages",
            Self::BeyondAddressSpace => "a GVA range past the end of the address space",
        })
    }
}

impl core::error::Error for GvaRangeError {}

/// `count` pages of one size, starting with the page that holds a GVA.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct GvaRange {
    /// Page number of the first page, in units of `size`.
    first: u64,
    count: u64,
    size: PageSize,
}

/// The list element format of a flush call (TLFS 9.4.4; extended: post-TLFS 6.0, OpenVMM
/// `hvdef`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RangeFormat {
    /// [`HvGvaRange`]: 1–4096 4 KiB pages per entry.
    Basic,
    /// [`HvGvaRangeExtended`] / [`HvGvaRangeExtendedLargePage`]: 1–2048 pages of 4 KiB,
    /// 2 MiB or 1 GiB per entry.
    Extended,
}

impl GvaRange {
    /// The `count` pages of `size` from the one that holds `gva`.
    ///
    /// # Errors
    ///
    /// [`GvaRangeError::Empty`] for zero pages, [`GvaRangeError::BeyondAddressSpace`] when the
    /// last page would lie beyond 2^64.
    pub const fn new(gva: HvGva, count: u64, size: PageSize) -> Result<Self, GvaRangeError> {
        if count == 0 {
            return Err(GvaRangeError::Empty);
        }
        let first = gva >> size.shift();
        let limit = 1u64 << (64 - size.shift());
        match first.checked_add(count) {
            Some(end) if end <= limit => Ok(Self { first, count, size }),
            _ => Err(GvaRangeError::BeyondAddressSpace),
        }
    }

    /// `count` 4 KiB pages from the one that holds `gva`.
    ///
    /// # Errors
    ///
    /// As [`GvaRange::new`].
    pub const fn pages(gva: HvGva, count: u64) -> Result<Self, GvaRangeError> {
        Self::new(gva, count, PageSize::Size4KiB)
    }

    /// The GVA of the first page.
    #[must_use]
    pub const fn base(&self) -> HvGva {
        self.first << self.size.shift()
    }

    /// Number of pages.
    #[must_use]
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Size of the pages.
    #[must_use]
    pub const fn size(&self) -> PageSize {
        self.size
    }

    /// First 4 KiB page number and number of 4 KiB pages covered.
    const fn small_pages(&self) -> (u64, u64) {
        let ratio = self.size.shift() - HV_PAGE_SHIFT;
        (self.first << ratio, self.count << ratio)
    }

    /// The list entries that encode this range in `format`.
    #[must_use]
    pub const fn entries(&self, format: RangeFormat) -> RangeEntries {
        let (kind, next, remaining) = match (format, self.size) {
            (RangeFormat::Basic, _) => {
                let (first, count) = self.small_pages();
                (EntryKind::Basic, first, count)
            }
            (RangeFormat::Extended, PageSize::Size4KiB) => {
                (EntryKind::ExtendedSmall, self.first, self.count)
            }
            (RangeFormat::Extended, PageSize::Size2MiB) => {
                (EntryKind::Extended2MiB, self.first, self.count)
            }
            (RangeFormat::Extended, PageSize::Size1GiB) => {
                (EntryKind::Extended1GiB, self.first, self.count)
            }
        };
        RangeEntries {
            kind,
            next,
            remaining,
        }
    }

    /// Number of entries [`GvaRange::entries`] yields.
    #[must_use]
    pub const fn entry_count(&self, format: RangeFormat) -> u64 {
        let entries = self.entries(format);
        entries.remaining.div_ceil(entries.kind.max_pages())
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum EntryKind {
    Basic,
    ExtendedSmall,
    Extended2MiB,
    Extended1GiB,
}

impl EntryKind {
    const fn max_pages(self) -> u64 {
        match self {
            Self::Basic => HV_GVA_RANGE_MAX_PAGES,
            _ => HV_GVA_RANGE_EXTENDED_MAX_PAGES,
        }
    }
}

/// The list entries of one [`GvaRange`] (raw 64-bit values), from [`GvaRange::entries`].
#[derive(Clone, Debug)]
pub struct RangeEntries {
    kind: EntryKind,
    /// Page number of the next entry's first page, in units of the entry's page size.
    next: u64,
    remaining: u64,
}

impl Iterator for RangeEntries {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.remaining == 0 {
            return None;
        }
        let pages = self.remaining.min(self.kind.max_pages());
        // `pages - 1` fits the 12 (or 11) bits: at most 4095 (2047).
        let additional = (pages - 1) as u16;
        let entry = match self.kind {
            EntryKind::Basic => HvGvaRange::new()
                .with_additional_pages(additional)
                .with_gva_page_number(self.next)
                .into_bits(),
            EntryKind::ExtendedSmall => HvGvaRangeExtended::new()
                .with_additional_pages(additional)
                .with_gva_page_number(self.next)
                .into_bits(),
            EntryKind::Extended2MiB | EntryKind::Extended1GiB => {
                let one_gib = self.kind == EntryKind::Extended1GiB;
                // Bits 63:21 hold GVA bits 63:21 for either size.
                let number = if one_gib { self.next << 9 } else { self.next };
                HvGvaRangeExtendedLargePage::new()
                    .with_additional_pages(additional)
                    .with_large_page(true)
                    .with_page_size_1gb(one_gib)
                    .with_gva_large_page_number(number)
                    .into_bits()
            }
        };
        self.next += pages;
        self.remaining -= pages;
        Some(entry)
    }
}

/// How a hypercall passes its input (TLFS 3.7, 3.7.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CallForm {
    /// Register fast: RDX and R8, up to 16 bytes.
    Fast,
    /// XMM fast: RDX, R8 and XMM0–XMM5, up to 112 bytes.
    Xmm,
    /// Memory-based: the per-CPU input page.
    Memory,
}

/// The cheapest convention for a simple call of `len` input bytes: register fast, XMM fast,
/// memory, as far as the call has those forms ([`HvCallCode::info`]) and the partition
/// offers XMM input.
pub(crate) fn simple_form(code: HvCallCode, len: usize, xmm_input: bool) -> CallForm {
    let (fast, xmm) = code
        .info()
        .map_or((false, false), |info| (info.fast, info.xmm_fast_input));
    if fast && len <= HV_HYPERCALL_FAST_INPUT_BYTES {
        CallForm::Fast
    } else if xmm && xmm_input && len <= HV_HYPERCALL_XMM_BLOCK_BYTES {
        CallForm::Xmm
    } else {
        CallForm::Memory
    }
}

/// What the hypervisor recommends and offers for flushes (TLFS 2.4.4, 2.4.5).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FlushAdvice {
    /// Use a hypercall to flush the caller's own VP (CPUID 0x4000_0004 EAX bit 1).
    pub local: bool,
    /// Use a hypercall to flush other VPs instead of IPIs (EAX bit 2).
    pub remote: bool,
    /// Use the `Ex` calls (VP sets) (EAX bit 11).
    pub ex_processor_masks: bool,
    /// Toggle CR4.PGE rather than call the hypervisor to flush the caller's whole TLB
    /// (EAX bit 17, x64).
    pub direct_local_flush_entire: bool,
    /// The extended GVA range format is offered (x64 CPUID 0x4000_0003 EDX bit 14; arm64
    /// publishes no such bit, so `false` there).
    pub extended_ranges: bool,
}

impl FlushAdvice {
    /// Reads the advice from the features and recommendations the partition reported.
    #[must_use]
    pub const fn new(
        features: HvFeaturesInfo,
        recommendations: HvEnlightenmentInformation,
    ) -> Self {
        let extended_ranges = match features {
            HvFeaturesInfo::X64(f) => {
                f.extended_gva_ranges_for_flush_virtual_address_list_available()
            }
            HvFeaturesInfo::Arm64(_) => false,
        };
        Self {
            local: recommendations.use_hypercall_for_local_flush(),
            remote: recommendations.use_hypercall_for_remote_flush(),
            ex_processor_masks: recommendations.use_ex_processor_masks(),
            direct_local_flush_entire: recommendations.use_direct_local_flush_entire(),
            extended_ranges,
        }
    }
}

/// How a flush request is (or was) carried out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FlushPlan {
    /// The call: one of the four flush calls.
    pub code: HvCallCode,
    /// The calling convention.
    pub form: CallForm,
    /// The list format, for the list calls.
    pub range_format: Option<RangeFormat>,
    /// List entries, 0 for the address-space calls.
    pub entries: u64,
    /// Banks of the VP set, for the `Ex` calls.
    pub banks: usize,
    /// The hypercalls the request takes when the hypervisor completes each one: the minimum
    /// the TLFS allows (see the module docs).
    pub hypercalls: u64,
}

/// Why a flush failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FlushError {
    /// The request needs something the partition lacks; no hypercall was made.
    Unavailable(Unavailable),
    /// An address-space flush failed.
    Call(CallError),
    /// A list flush stopped; the entries before `entries_completed` (in the order of
    /// [`GvaRange::entries`] over the ranges) were flushed.
    List {
        /// Why.
        error: CallError,
        /// Entries flushed.
        entries_completed: u64,
    },
}

impl From<Unavailable> for FlushError {
    fn from(missing: Unavailable) -> Self {
        Self::Unavailable(missing)
    }
}

impl core::fmt::Display for FlushError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unavailable(missing) => missing.fmt(f),
            Self::Call(error) => write!(f, "TLB flush failed: {error}"),
            Self::List {
                error,
                entries_completed,
            } => write!(
                f,
                "TLB flush failed after {entries_completed} range entries: {error}"
            ),
        }
    }
}

impl core::error::Error for FlushError {}

/// The VP part of a flush input: a mask (non-`Ex`) or a set (`Ex`).
enum Processors<'s> {
    Mask { mask: u64, all: bool },
    Set(VpTargets<'s>),
}

impl Processors<'_> {
    /// Input header bytes: the 24-byte mask header, or 32 bytes plus the banks.
    fn header_len(&self) -> usize {
        match self {
            Self::Mask { .. } => size_of::<HvFlushVirtualAddressSpaceInput>(),
            Self::Set(targets) => {
                size_of::<HvFlushVirtualAddressSpaceExInput>() + 8 * targets.banks().len()
            }
        }
    }

    fn banks(&self) -> &[u64] {
        match self {
            Self::Mask { .. } => &[],
            Self::Set(targets) => targets.banks(),
        }
    }
}

/// The most list entries one XMM call carries: 112 bytes after the 24-byte mask header.
const XMM_MAX_ENTRIES: usize =
    (HV_HYPERCALL_XMM_BLOCK_BYTES - size_of::<HvFlushVirtualAddressSpaceInput>()) / 8;

/// List entries one memory call carries after a header of `header_len` bytes.
fn entries_per_page(header_len: usize) -> u64 {
    (((HV_PAGE_SIZE - header_len) / 8) as u64).min(u64::from(HV_HYPERCALL_REP_MAX))
}

/// The TLB flush handle: hypercalls plus the flush advice.
#[derive(Debug)]
pub struct TlbFlush<'a, P: Platform> {
    hc: Hypercalls<'a, P>,
    advice: FlushAdvice,
}

impl<'a, P: Platform> TlbFlush<'a, P> {
    /// A flush handle, when the hypervisor recommends hypercalls for local or remote flushes.
    ///
    /// # Errors
    ///
    /// [`Unavailable::UseHypercallForFlush`] when it recommends neither.
    pub const fn new(hc: Hypercalls<'a, P>, advice: FlushAdvice) -> Result<Self, Unavailable> {
        match Unavailable::UseHypercallForFlush.require(advice.local || advice.remote) {
            Ok(()) => Ok(Self { hc, advice }),
            Err(missing) => Err(missing),
        }
    }

    /// The advice the handle was made with: whether to flush by hypercall locally and
    /// remotely (see the module docs).
    #[must_use]
    pub const fn advice(&self) -> FlushAdvice {
        self.advice
    }

    /// The VP part of the input for `targets`, or `None` when there is none to flush.
    fn processors<'s>(
        &self,
        targets: VpTargets<'s>,
    ) -> Result<Option<Processors<'s>>, Unavailable> {
        Ok(Some(match targets {
            VpTargets::All => Processors::Mask { mask: 0, all: true },
            VpTargets::Set(set) if set.is_empty() => return Ok(None),
            VpTargets::Set(set) => match set.low_mask() {
                Some(mask) => Processors::Mask { mask, all: false },
                None => {
                    Unavailable::UseExProcessorMasks.require(self.advice.ex_processor_masks)?;
                    Processors::Set(targets)
                }
            },
        }))
    }

    /// The flags and address space field of a request.
    fn flags(space: AddressSpace) -> (HvAddressSpaceId, HvFlushFlags) {
        let (id, all_spaces) = match space {
            AddressSpace::All => (0, true),
            AddressSpace::Id(id) => (id, false),
        };
        (
            id,
            HvFlushFlags::new().with_all_virtual_address_spaces(all_spaces),
        )
    }

    /// Writes the input header into `buf`; returns its length.
    fn header(
        processors: &Processors<'_>,
        address_space: HvAddressSpaceId,
        flags: HvFlushFlags,
        buf: &mut [u8; HV_HYPERCALL_XMM_BLOCK_BYTES],
    ) -> usize {
        match processors {
            Processors::Mask { mask, all } => {
                let input = HvFlushVirtualAddressSpaceInput {
                    address_space,
                    flags: flags.with_all_processors(*all),
                    processor_mask: *mask,
                };
                buf[..24].copy_from_slice(input.as_bytes());
                24
            }
            Processors::Set(targets) => {
                let input = HvFlushVirtualAddressSpaceExInput {
                    address_space,
                    flags,
                    processor_set: targets.header(),
                };
                buf[..32].copy_from_slice(input.as_bytes());
                let banks = targets.banks().as_bytes();
                buf[32..32 + banks.len()].copy_from_slice(banks);
                32 + banks.len()
            }
        }
    }

    /// How [`TlbFlush::flush_address_space`] would carry out a request; `None` when there is
    /// nothing to flush (an empty set). Makes no hypercall.
    ///
    /// # Errors
    ///
    /// [`FlushError::Unavailable`] when targets at 64 or above need the `Ex` call and it is
    /// not recommended.
    pub fn plan_address_space(
        &self,
        targets: VpTargets<'_>,
    ) -> Result<Option<FlushPlan>, FlushError> {
        let Some(processors) = self.processors(targets)? else {
            return Ok(None);
        };
        Ok(Some(self.space_plan(&processors)))
    }

    fn space_plan(&self, processors: &Processors<'_>) -> FlushPlan {
        let code = match processors {
            Processors::Mask { .. } => HvCallCode::HvCallFlushVirtualAddressSpace,
            Processors::Set(_) => HvCallCode::HvCallFlushVirtualAddressSpaceEx,
        };
        let len = processors.header_len();
        FlushPlan {
            code,
            form: simple_form(code, len, self.hc.xmm_input_available()),
            range_format: None,
            entries: 0,
            banks: processors.banks().len(),
            hypercalls: 1,
        }
    }

    /// Flushes every mapping of `space` (or of all spaces) on `targets`
    /// (`HvCallFlushVirtualAddressSpace(Ex)`, TLFS 9.4.2, 9.4.3). `non_global_only` lets the
    /// hypervisor keep global mappings (`HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY`).
    ///
    /// Returns how it was done, or `None` when `targets` is an empty set (no call: the TLFS
    /// rejects an empty mask).
    ///
    /// # Errors
    ///
    /// [`FlushError::Unavailable`] before any call, [`FlushError::Call`] when the hypervisor
    /// fails it.
    pub fn flush_address_space(
        &self,
        io: &mut IoPages<'_>,
        targets: VpTargets<'_>,
        space: AddressSpace,
        non_global_only: bool,
    ) -> Result<Option<FlushPlan>, FlushError> {
        let Some(processors) = self.processors(targets)? else {
            return Ok(None);
        };
        let plan = self.space_plan(&processors);
        let (id, flags) = Self::flags(space);
        let flags = flags.with_non_global_mappings_only(non_global_only);
        let mut buf = [0u8; HV_HYPERCALL_XMM_BLOCK_BYTES];
        let banks = processors.banks().as_bytes();
        let result = match plan.form {
            CallForm::Xmm => {
                let len = Self::header(&processors, id, flags, &mut buf);
                self.hc.xmm(plan.code, &buf[..len], banks.len()).map(|_| ())
            }
            _ => match &processors {
                Processors::Mask { mask, all } => {
                    let input = HvFlushVirtualAddressSpaceInput {
                        address_space: id,
                        flags: flags.with_all_processors(*all),
                        processor_mask: *mask,
                    };
                    self.hc.call(io, plan.code, &input)
                }
                Processors::Set(targets) => {
                    let input = HvFlushVirtualAddressSpaceExInput {
                        address_space: id,
                        flags,
                        processor_set: targets.header(),
                    };
                    self.hc
                        .call_with_variable_header(io, plan.code, &input, banks)
                }
            },
        };
        result.map_err(FlushError::Call)?;
        Ok(Some(plan))
    }

    /// How [`TlbFlush::flush_ranges`] would carry out a request; `None` when there is nothing
    /// to flush (an empty set or no range). Makes no hypercall.
    ///
    /// # Errors
    ///
    /// As [`TlbFlush::plan_address_space`].
    pub fn plan_ranges(
        &self,
        targets: VpTargets<'_>,
        ranges: &[GvaRange],
    ) -> Result<Option<FlushPlan>, FlushError> {
        let Some(processors) = self.processors(targets)? else {
            return Ok(None);
        };
        Ok(self.list_plan(&processors, ranges))
    }

    fn list_plan(&self, processors: &Processors<'_>, ranges: &[GvaRange]) -> Option<FlushPlan> {
        let code = match processors {
            Processors::Mask { .. } => HvCallCode::HvCallFlushVirtualAddressList,
            Processors::Set(_) => HvCallCode::HvCallFlushVirtualAddressListEx,
        };
        let header_len = processors.header_len();
        let xmm =
            self.hc.xmm_input_available() && code.info().is_some_and(|info| info.xmm_fast_input);
        let plan_for = |format| {
            let entries = ranges
                .iter()
                .fold(0u64, |n, r| n.saturating_add(r.entry_count(format)));
            let fits_xmm = entries <= XMM_MAX_ENTRIES as u64
                && header_len + 8 * entries as usize <= HV_HYPERCALL_XMM_BLOCK_BYTES;
            let (form, hypercalls) = if xmm && fits_xmm {
                (CallForm::Xmm, 1)
            } else {
                (
                    CallForm::Memory,
                    entries.div_ceil(entries_per_page(header_len)),
                )
            };
            FlushPlan {
                code,
                form,
                range_format: Some(format),
                entries,
                banks: processors.banks().len(),
                hypercalls,
            }
        };
        let basic = plan_for(RangeFormat::Basic);
        if basic.entries == 0 {
            return None;
        }
        if !self.advice.extended_ranges {
            return Some(basic);
        }
        let extended = plan_for(RangeFormat::Extended);
        let cost = |p: &FlushPlan| (p.hypercalls, p.entries);
        Some(if cost(&extended) < cost(&basic) {
            extended
        } else {
            basic
        })
    }

    /// Flushes the pages of `ranges` in `space` (or in all spaces) on `targets`
    /// (`HvCallFlushVirtualAddressList(Ex)`, TLFS 9.4.4, 9.4.5), with the fewest hypercalls
    /// (see the module docs).
    ///
    /// Returns how it was done, or `None` when there was nothing to flush. Building the
    /// entries of a memory call uses one page of stack (509 entries).
    ///
    /// # Errors
    ///
    /// [`FlushError::Unavailable`] before any call, [`FlushError::List`] with the number of
    /// entries flushed when the hypervisor fails a call.
    pub fn flush_ranges(
        &self,
        io: &mut IoPages<'_>,
        targets: VpTargets<'_>,
        space: AddressSpace,
        ranges: &[GvaRange],
    ) -> Result<Option<FlushPlan>, FlushError> {
        let Some(processors) = self.processors(targets)? else {
            return Ok(None);
        };
        let Some(plan) = self.list_plan(&processors, ranges) else {
            return Ok(None);
        };
        let format = plan.range_format.unwrap_or(RangeFormat::Basic);
        let (id, flags) = Self::flags(space);
        let flags = flags.with_use_extended_range_format(format == RangeFormat::Extended);
        let mut entries = ranges.iter().flat_map(|r| r.entries(format));
        let list_error = |e: RepError, done: u64| FlushError::List {
            error: e.error,
            entries_completed: done + e.completed as u64,
        };
        if plan.form == CallForm::Xmm {
            let mut header = [0u8; HV_HYPERCALL_XMM_BLOCK_BYTES];
            let len = Self::header(&processors, id, flags, &mut header);
            let mut list = [0u64; XMM_MAX_ENTRIES];
            let n = fill(&mut list, &mut entries);
            let variable = processors.banks().as_bytes().len();
            self.hc
                .xmm_rep(plan.code, &header[..len], variable, &list[..n])
                .map_err(|e| list_error(e, 0))?;
            return Ok(Some(plan));
        }
        let per_call = usize::try_from(entries_per_page(processors.header_len()))
            .unwrap_or(HV_FLUSH_VIRTUAL_ADDRESS_LIST_MAX_REPS_PER_PAGE)
            .min(HV_FLUSH_VIRTUAL_ADDRESS_LIST_MAX_REPS_PER_PAGE);
        let mut list = [0u64; HV_FLUSH_VIRTUAL_ADDRESS_LIST_MAX_REPS_PER_PAGE];
        let mut done = 0u64;
        loop {
            let n = fill(&mut list[..per_call], &mut entries);
            if n == 0 {
                return Ok(Some(plan));
            }
            let result = match &processors {
                Processors::Mask { mask, all } => {
                    let header = HvFlushVirtualAddressSpaceInput {
                        address_space: id,
                        flags: flags.with_all_processors(*all),
                        processor_mask: *mask,
                    };
                    self.hc
                        .rep_call::<_, _, u64>(io, plan.code, &header, &list[..n], &mut [])
                }
                Processors::Set(targets) => {
                    let header = HvFlushVirtualAddressSpaceExInput {
                        address_space: id,
                        flags,
                        processor_set: targets.header(),
                    };
                    self.hc.rep_call_with_variable_header::<_, _, u64>(
                        io,
                        plan.code,
                        &header,
                        targets.banks().as_bytes(),
                        &list[..n],
                        &mut [],
                    )
                }
            };
            result.map_err(|e| list_error(e, done))?;
            done += n as u64;
        }
    }
}

/// Fills `buf` from `entries`; returns how many were written.
fn fill(buf: &mut [u64], entries: &mut impl Iterator<Item = u64>) -> usize {
    let mut n = 0;
    for (slot, entry) in buf.iter_mut().zip(entries) {
        *slot = entry;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::cell::RefCell;
    use std::rc::Rc;
    use std::vec;
    use std::vec::Vec;

    use hv_defs::hypercall::{HvHypercallInput, HvHypercallOutput};
    use hv_defs::status::{HvError, HvStatus};
    use proptest::prelude::*;

    use super::*;
    use crate::counter::HypercallCounter;
    use crate::testing::FakePlatform;
    use crate::vpset::VpSet;
    use crate::vpset::tests::proptest_config;

    /// A flush call as the host saw it: control word, header and list quadwords.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Seen {
        control: u64,
        xmm: bool,
        header: Vec<u64>,
        list: Vec<u64>,
    }

    type Log = Rc<RefCell<Vec<Seen>>>;

    /// Header quadwords of a flush call: 3 for the mask forms, 4 plus the banks for `Ex`.
    fn header_qwords(control: HvHypercallInput) -> usize {
        match control.call_code() {
            HvCallCode::HvCallFlushVirtualAddressSpace
            | HvCallCode::HvCallFlushVirtualAddressList => 3,
            _ => 4 + usize::from(control.variable_header_size()),
        }
    }

    /// A host that completes up to `per_call` reps per call (all of a simple call) and
    /// records what it was given; `fail_at` makes the call with that index fail after the
    /// reps it completed.
    fn host(fake: &FakePlatform, per_call: u16, fail_at: Option<usize>) -> Log {
        let log: Log = Rc::default();
        let seen = log.clone();
        fake.on_hypercall(move |fake, ctx| {
            let control = HvHypercallInput::from_bits(ctx.control);
            let words = header_qwords(control);
            let (start, count) = (control.rep_start_index(), control.rep_count());
            let qwords: Vec<u64> = match ctx.xmm.as_deref() {
                Some(block) => block.qwords.to_vec(),
                None => ctx
                    .read(fake, ctx.rdx, 8 * (words + usize::from(count)))
                    .chunks(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            };
            let list = qwords[words + usize::from(start)..words + usize::from(count)].to_vec();
            seen.borrow_mut().push(Seen {
                control: ctx.control,
                xmm: ctx.xmm.is_some(),
                header: qwords[..words].to_vec(),
                list,
            });
            let end = count.min(start.saturating_add(per_call));
            let failing = fail_at == Some(seen.borrow().len() - 1);
            HvHypercallOutput::new()
                .with_status(if failing {
                    HvStatus::INVALID_PARAMETER
                } else {
                    HvStatus::SUCCESS
                })
                .with_reps_completed(end)
                .into_bits()
        });
        log
    }

    const ADVICE: FlushAdvice = FlushAdvice {
        local: true,
        remote: true,
        ex_processor_masks: true,
        direct_local_flush_entire: false,
        extended_ranges: false,
    };

    fn flush<P: Platform>(platform: &P, xmm: bool, advice: FlushAdvice) -> TlbFlush<'_, P> {
        // SAFETY: the fake never executes the entry and accepts XMM calls when told to.
        let hc = unsafe { Hypercalls::new(platform, FakePlatform::entry(), xmm, false) };
        TlbFlush::new(hc, advice).unwrap()
    }

    fn set<'s>(storage: &'s mut [u64], vps: &[u32]) -> VpSet<'s> {
        let mut set = VpSet::new(storage);
        for &vp in vps {
            set.insert(vp).unwrap();
        }
        set
    }

    const CR3: u64 = 0x0012_3000;

    #[test]
    fn space_flush_of_vps_0_and_1_is_the_mask_call_in_xmm_registers() {
        let fake = FakePlatform::new();
        let log = host(&fake, 0, None);
        let mut io = fake.io_pages();
        let mut storage = [0u64; 2];
        let vps = set(&mut storage, &[0, 1]);
        let plan = flush(&fake, true, ADVICE)
            .flush_address_space(&mut io, VpTargets::from(&vps), AddressSpace::Id(CR3), false)
            .unwrap()
            .unwrap();
        assert_eq!(plan.code, HvCallCode::HvCallFlushVirtualAddressSpace);
        assert_eq!(plan.form, CallForm::Xmm);
        // Golden: code 0x0002, fast bit 16; RDX = CR3, R8 = flags, XMM0 low = mask.
        assert_eq!(
            *log.borrow(),
            [Seen {
                control: 0x0001_0002,
                xmm: true,
                header: vec![CR3, 0, 0b11],
                list: vec![]
            }]
        );
    }

    #[test]
    fn space_flush_without_xmm_is_a_memory_call_and_all_sets_the_flags() {
        let fake = FakePlatform::new();
        let log = host(&fake, 0, None);
        let mut io = fake.io_pages();
        let tlb = flush(&fake, false, ADVICE);
        let plan = tlb
            .flush_address_space(&mut io, VpTargets::All, AddressSpace::All, true)
            .unwrap()
            .unwrap();
        assert_eq!(plan.form, CallForm::Memory);
        // All processors (bit 0), all spaces (bit 1), non-global only (bit 2); mask 0.
        assert_eq!(
            *log.borrow(),
            [Seen {
                control: 0x0002,
                xmm: false,
                header: vec![0, 0b111, 0],
                list: vec![]
            }]
        );
        assert_eq!(
            fake.log(),
            [crate::testing::Event::Hypercall(
                0x0002,
                io.input.gpa(),
                io.output.gpa()
            )]
        );
    }

    #[test]
    fn vp_70_needs_the_ex_call_with_one_bank() {
        for xmm in [false, true] {
            let fake = FakePlatform::new();
            let log = host(&fake, 0, None);
            let mut io = fake.io_pages();
            let mut storage = [0u64; 2];
            let vps = set(&mut storage, &[70]);
            let plan = flush(&fake, xmm, ADVICE)
                .flush_address_space(&mut io, VpTargets::from(&vps), AddressSpace::Id(CR3), false)
                .unwrap()
                .unwrap();
            assert_eq!(plan.code, HvCallCode::HvCallFlushVirtualAddressSpaceEx);
            assert_eq!(plan.banks, 1);
            // Code 0x13, variable header of one quadword (bit 17), fast bit 16 for XMM.
            let control = if xmm { 0x0003_0013 } else { 0x0002_0013 };
            assert_eq!(
                *log.borrow(),
                [Seen {
                    control,
                    xmm,
                    // CR3, flags, format sparse, valid banks {1}, bank 1 = VP 70 (bit 6).
                    header: vec![CR3, 0, 0, 0b10, 1 << 6],
                    list: vec![]
                }]
            );
        }
    }

    #[test]
    fn ex_targets_without_the_recommendation_touch_nothing() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let mut storage = [0u64; 2];
        let vps = set(&mut storage, &[70]);
        let advice = FlushAdvice {
            ex_processor_masks: false,
            ..ADVICE
        };
        let tlb = flush(&fake, true, advice);
        let range = [GvaRange::pages(0, 1).unwrap()];
        assert_eq!(
            tlb.flush_ranges(&mut io, VpTargets::from(&vps), AddressSpace::All, &range),
            Err(FlushError::Unavailable(Unavailable::UseExProcessorMasks))
        );
        assert_eq!(
            tlb.flush_address_space(&mut io, VpTargets::from(&vps), AddressSpace::All, false),
            Err(FlushError::Unavailable(Unavailable::UseExProcessorMasks))
        );
        // Every VP needs no VP set: the mask call with HV_FLUSH_ALL_PROCESSORS.
        assert!(tlb.plan_ranges(VpTargets::All, &range).unwrap().is_some());
        assert!(fake.log().is_empty());
    }

    #[test]
    fn without_a_flush_recommendation_there_is_no_handle() {
        let fake = FakePlatform::new();
        // SAFETY: the fake never executes the entry.
        let hc = unsafe { Hypercalls::new(&fake, FakePlatform::entry(), false, false) };
        let advice = FlushAdvice {
            local: false,
            remote: false,
            ..ADVICE
        };
        assert_eq!(
            TlbFlush::new(hc, advice).map(|_| ()),
            Err(Unavailable::UseHypercallForFlush)
        );
        let local_only = FlushAdvice {
            remote: false,
            ..ADVICE
        };
        assert!(!TlbFlush::new(hc, local_only).unwrap().advice().remote);
    }

    #[test]
    fn three_ranges_are_one_memory_rep_call() {
        let fake = FakePlatform::new();
        let log = host(&fake, 4095, None);
        let mut io = fake.io_pages();
        let mut storage = [0u64; 1];
        let vps = set(&mut storage, &[0, 1]);
        let ranges = [
            GvaRange::pages(0x1000, 1).unwrap(),
            GvaRange::pages(0x10_0234, 3).unwrap(),
            GvaRange::new(0x4020_0000, 1, PageSize::Size2MiB).unwrap(),
        ];
        let plan = flush(&fake, false, ADVICE)
            .flush_ranges(
                &mut io,
                VpTargets::from(&vps),
                AddressSpace::Id(CR3),
                &ranges,
            )
            .unwrap()
            .unwrap();
        assert_eq!(plan.range_format, Some(RangeFormat::Basic));
        assert_eq!((plan.entries, plan.hypercalls), (3, 1));
        // Code 0x0003, rep count 3; a 2 MiB page is 512 small pages, one basic entry.
        assert_eq!(
            *log.borrow(),
            [Seen {
                control: 0x0000_0003_0000_0003,
                xmm: false,
                header: vec![CR3, 0, 0b11],
                list: vec![0x1000, 0x10_0002, 0x4020_01FF]
            }]
        );
    }

    #[test]
    fn ten_thousand_pages_on_two_vps_take_one_call_with_three_entries() {
        for xmm in [true, false] {
            let counter = HypercallCounter::new(FakePlatform::new());
            let fake = counter.inner();
            let log = host(fake, 4095, None);
            let mut io = fake.io_pages();
            let mut storage = [0u64; 1];
            let vps = set(&mut storage, &[0, 1]);
            let base = 0x7F00_0000_0000;
            let ranges = [GvaRange::pages(base, 10_000).unwrap()];
            let tlb = flush(&counter, xmm, ADVICE);
            let planned = tlb.plan_ranges(VpTargets::from(&vps), &ranges).unwrap();
            let plan = tlb
                .flush_ranges(
                    &mut io,
                    VpTargets::from(&vps),
                    AddressSpace::Id(CR3),
                    &ranges,
                )
                .unwrap();
            assert_eq!(plan, planned);
            let plan = plan.unwrap();
            assert_eq!((plan.entries, plan.hypercalls), (3, 1));
            assert_eq!(counter.count(), 1);
            let seen = log.borrow();
            // 4096 + 4096 + 1808 pages.
            assert_eq!(
                seen[0].list,
                [
                    base | 0xFFF,
                    (base + (4096 << 12)) | 0xFFF,
                    (base + (8192 << 12)) | 1807
                ]
            );
            let control = if xmm {
                0x0000_0003_0001_0003
            } else {
                0x0000_0003_0000_0003
            };
            assert_eq!((seen[0].control, seen[0].xmm), (control, xmm));
        }
    }

    #[test]
    fn lists_beyond_a_page_split_into_the_fewest_calls() {
        let counter = HypercallCounter::new(FakePlatform::new());
        let fake = counter.inner();
        let log = host(fake, 4095, None);
        let mut io = fake.io_pages();
        // 600 separate pages: 600 entries, 509 per page after the 24-byte header.
        let ranges: Vec<GvaRange> = (0..600)
            .map(|i| GvaRange::pages(i << 13, 1).unwrap())
            .collect();
        let plan = flush(&counter, true, ADVICE)
            .flush_ranges(&mut io, VpTargets::All, AddressSpace::Id(CR3), &ranges)
            .unwrap()
            .unwrap();
        assert_eq!(
            (plan.form, plan.entries, plan.hypercalls),
            (CallForm::Memory, 600, 2)
        );
        assert_eq!(counter.count(), 2);
        let seen = log.borrow();
        assert_eq!(seen[0].control, 509 << 32 | 0x0003);
        assert_eq!(seen[1].control, 91 << 32 | 0x0003);
        let all: Vec<u64> = seen.iter().flat_map(|s| s.list.clone()).collect();
        assert_eq!(all, (0..600).map(|i| i << 13).collect::<Vec<_>>());
    }

    #[test]
    fn ex_list_carries_the_banks_as_variable_header_before_the_list() {
        for xmm in [false, true] {
            let fake = FakePlatform::new();
            let log = host(&fake, 4095, None);
            let mut io = fake.io_pages();
            let mut storage = [0u64; 2];
            let vps = set(&mut storage, &[1, 70]);
            let ranges = [GvaRange::pages(0x5000, 2).unwrap()];
            let plan = flush(&fake, xmm, ADVICE)
                .flush_ranges(&mut io, VpTargets::from(&vps), AddressSpace::All, &ranges)
                .unwrap()
                .unwrap();
            assert_eq!(plan.code, HvCallCode::HvCallFlushVirtualAddressListEx);
            // 32 + 2 × 8 + 8 = 56 bytes: XMM when offered.
            assert_eq!(
                plan.form,
                if xmm { CallForm::Xmm } else { CallForm::Memory }
            );
            assert_eq!(
                *log.borrow(),
                [Seen {
                    // Code 0x14, two banks of variable header, rep count 1, fast for XMM.
                    control: if xmm {
                        0x0000_0001_0005_0014
                    } else {
                        0x0000_0001_0004_0014
                    },
                    xmm,
                    header: vec![0, 0b10, 0, 0b11, 0b10, 1 << 6],
                    list: vec![0x5001]
                }]
            );
        }
    }

    #[test]
    fn large_pages_use_the_extended_format_when_it_is_cheaper() {
        let fake = FakePlatform::new();
        let log = host(&fake, 4095, None);
        let mut io = fake.io_pages();
        let advice = FlushAdvice {
            extended_ranges: true,
            ..ADVICE
        };
        let tlb = flush(&fake, true, advice);
        // Four 1 GiB pages: 256 basic entries (16 MiB each) or one extended entry.
        let huge = [GvaRange::new(0x4000_0000, 4, PageSize::Size1GiB).unwrap()];
        let plan = tlb
            .flush_ranges(&mut io, VpTargets::All, AddressSpace::Id(CR3), &huge)
            .unwrap()
            .unwrap();
        assert_eq!(plan.range_format, Some(RangeFormat::Extended));
        assert_eq!((plan.entries, plan.form), (1, CallForm::Xmm));
        // Flags: all processors, extended format (bit 3).
        assert_eq!(log.borrow()[0].header, [CR3, 0b1001, 0]);
        assert_eq!(log.borrow()[0].list, [0x4000_0000 | 1 << 12 | 1 << 11 | 3]);
        // Small pages stay basic: 3 entries against 5.
        let small = [GvaRange::pages(0, 10_000).unwrap()];
        let plan = tlb.plan_ranges(VpTargets::All, &small).unwrap().unwrap();
        assert_eq!(
            (plan.range_format, plan.entries),
            (Some(RangeFormat::Basic), 3)
        );
    }

    #[test]
    fn nothing_to_flush_makes_no_call() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let tlb = flush(&fake, false, ADVICE);
        let mut storage = [0u64; 1];
        let empty = VpSet::new(&mut storage);
        let range = [GvaRange::pages(0, 1).unwrap()];
        assert_eq!(
            tlb.flush_ranges(&mut io, VpTargets::from(&empty), AddressSpace::All, &range),
            Ok(None)
        );
        assert_eq!(
            tlb.flush_address_space(&mut io, VpTargets::from(&empty), AddressSpace::All, false),
            Ok(None)
        );
        assert_eq!(
            tlb.flush_ranges(&mut io, VpTargets::All, AddressSpace::All, &[]),
            Ok(None)
        );
        assert!(fake.log().is_empty());
    }

    #[test]
    fn a_failing_host_is_reported_with_the_entries_flushed() {
        let fake = FakePlatform::new();
        // Ten reps per call; the call with index 51 fails after its ten.
        let log = host(&fake, 10, Some(51));
        let mut io = fake.io_pages();
        let ranges: Vec<GvaRange> = (0..600)
            .map(|i| GvaRange::pages(i << 13, 1).unwrap())
            .collect();
        let err = flush(&fake, false, ADVICE)
            .flush_ranges(&mut io, VpTargets::All, AddressSpace::All, &ranges)
            .unwrap_err();
        // 51 calls of up to 10 reps carry the first chunk of 509 (the 51st completes it);
        // the 52nd is the second chunk's first and fails after 10.
        assert_eq!(
            err,
            FlushError::List {
                error: CallError::Hv(HvError::INVALID_PARAMETER),
                entries_completed: 519
            }
        );
        assert_eq!(log.borrow().len(), 52);
    }

    #[test]
    fn range_constructor_rejects_empty_and_overflowing_ranges() {
        assert_eq!(GvaRange::pages(0, 0), Err(GvaRangeError::Empty));
        assert_eq!(
            GvaRange::pages(u64::MAX, 2),
            Err(GvaRangeError::BeyondAddressSpace)
        );
        let last = GvaRange::pages(u64::MAX, 1).unwrap();
        assert_eq!(last.base(), 0xFFFF_FFFF_FFFF_F000);
        assert_eq!(
            last.entries(RangeFormat::Basic).collect::<Vec<_>>(),
            [0xFFFF_FFFF_FFFF_F000]
        );
        let gib = GvaRange::new(0x3FFF_FFFF, 1, PageSize::Size1GiB).unwrap();
        assert_eq!(
            (gib.base(), gib.count(), gib.size()),
            (0, 1, PageSize::Size1GiB)
        );
        assert_eq!(PageSize::Size2MiB.bytes(), 2 << 20);
    }

    /// Decodes a basic entry into (first 4 KiB page, pages).
    fn decode_basic(entry: u64) -> (u64, u64) {
        (entry >> 12, (entry & 0xFFF) + 1)
    }

    /// Decodes an extended entry into (first page in units of its size, pages, size).
    fn decode_extended(entry: u64) -> (u64, u64, PageSize) {
        let pages = (entry & 0x7FF) + 1;
        if entry & 1 << 11 == 0 {
            return (entry >> 12, pages, PageSize::Size4KiB);
        }
        assert_eq!(entry & HvGvaRangeExtendedLargePage::RESERVED_MASK, 0);
        let number = entry >> 21;
        if entry & 1 << 12 == 0 {
            (number, pages, PageSize::Size2MiB)
        } else {
            assert_eq!(number & 0x1FF, 0, "1 GiB entries are 1 GiB aligned");
            (number >> 9, pages, PageSize::Size1GiB)
        }
    }

    fn size_strategy() -> impl Strategy<Value = PageSize> {
        prop_oneof![
            Just(PageSize::Size4KiB),
            Just(PageSize::Size2MiB),
            Just(PageSize::Size1GiB)
        ]
    }

    proptest! {
        #![proptest_config(proptest_config())]

        #[test]
        fn both_formats_cover_exactly_the_range(
            gva in any::<u64>(),
            count in 1u64..20_000,
            size in size_strategy(),
        ) {
            let count = if size == PageSize::Size1GiB { count % 64 + 1 } else { count };
            let Ok(range) = GvaRange::new(gva, count, size) else {
                let first = gva >> size.shift();
                prop_assert!(first + count > 1 << (64 - size.shift()));
                return Ok(());
            };
            prop_assert_eq!(range.base(), gva >> size.shift() << size.shift());
            // Basic: contiguous runs of 4 KiB pages, each full but the last.
            let ratio = size.shift() - 12;
            let mut next = range.base() >> 12;
            let basic: Vec<u64> = range.entries(RangeFormat::Basic).collect();
            prop_assert_eq!(basic.len() as u64, range.entry_count(RangeFormat::Basic));
            for (i, &entry) in basic.iter().enumerate() {
                let (first, pages) = decode_basic(entry);
                prop_assert_eq!(first, next);
                prop_assert!(pages == 4096 || i == basic.len() - 1);
                next += pages;
            }
            prop_assert_eq!(next, (range.base() >> 12) + (count << ratio));
            // Extended: runs of pages of the range's own size, up to 2048 each.
            let mut next = gva >> size.shift();
            let extended: Vec<u64> = range.entries(RangeFormat::Extended).collect();
            prop_assert_eq!(extended.len() as u64, range.entry_count(RangeFormat::Extended));
            for (i, &entry) in extended.iter().enumerate() {
                let (first, pages, entry_size) = decode_extended(entry);
                prop_assert_eq!(entry_size, size);
                prop_assert_eq!(first, next);
                prop_assert!(pages == 2048 || i == extended.len() - 1);
                next += pages;
            }
            prop_assert_eq!(next, (gva >> size.shift()) + count);
        }

        #[test]
        fn the_host_sees_every_entry_in_the_planned_number_of_calls(
            pages in proptest::collection::vec(1u64..9000, 1..300),
            xmm in any::<bool>(),
            high_vp in any::<bool>(),
        ) {
            let counter = HypercallCounter::new(FakePlatform::new());
            let fake = counter.inner();
            let log = host(fake, 4095, None);
            let mut io = fake.io_pages();
            let mut storage = [0u64; 2];
            let vps = set(&mut storage, if high_vp { &[3, 100] } else { &[3] });
            let ranges: Vec<GvaRange> = pages
                .iter()
                .enumerate()
                .map(|(i, &n)| GvaRange::pages((i as u64) << 30, n).unwrap())
                .collect();
            let plan = flush(&counter, xmm, ADVICE)
                .flush_ranges(&mut io, VpTargets::from(&vps), AddressSpace::Id(CR3), &ranges)
                .unwrap()
                .unwrap();
            let expected: Vec<u64> = ranges.iter().flat_map(|r| r.entries(RangeFormat::Basic)).collect();
            prop_assert_eq!(plan.entries, expected.len() as u64);
            // The Ex header: address space, flags, VP set format and bank mask (32 bytes), and
            // one bank per 64 VPs touched ({3, 100}: banks 0 and 1).
            let header = if high_vp { 48 } else { 24 };
            let minimum = if xmm && header + 8 * expected.len() <= 112 {
                1
            } else {
                expected.len().div_ceil((4096 - header) / 8)
            };
            prop_assert_eq!(plan.hypercalls, minimum as u64);
            prop_assert_eq!(counter.count(), minimum as u64);
            let seen: Vec<u64> = log.borrow().iter().flat_map(|s| s.list.clone()).collect();
            prop_assert_eq!(seen, expected);
        }
    }
}
