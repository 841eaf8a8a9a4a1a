//! Boot information: how the kernel was entered, the memory map and the command line, read
//! from the `hvm_start_info` the host hands over (PVH and 64-bit entries), or built by the
//! UEFI entry from the firmware's memory map ([`BootInfo::from_regions`]).
//!
//! The structure is the PVH boot ABI's (Xen `include/public/arch-x86/hvm/start_info.h`),
//! which the 64-bit entry of `docs/architecture.md` reuses:
//!
//! | offset | field | |
//! | --- | --- | --- |
//! | 0 | `magic: u32` | [`HVM_START_MAGIC`] |
//! | 4 | `version: u32` | 0, or 1 when the memory map fields exist |
//! | 8 | `flags: u32` | |
//! | 12 | `nr_modules: u32` | |
//! | 16 | `modlist_paddr: u64` | |
//! | 24 | `cmdline_paddr: u64` | NUL-terminated, 0 if none |
//! | 32 | `rsdp_paddr: u64` | |
//! | 40 | `memmap_paddr: u64` | version 1 |
//! | 48 | `memmap_entries: u32` | version 1 |
//! | 52 | `reserved: u32` | |
//!
//! A memory map entry is `{ addr: u64, size: u64, type: u32, reserved: u32 }` (24 bytes).
//!
//! Everything here is written by the host, so it is read through [`PhysMemory`] (which
//! bounds-checks every access), every length is capped, and bad data is a
//! [`BootInfoError`], never a panic.

use core::fmt;

/// `hvm_start_info.magic` (`XEN_HVM_START_MAGIC_VALUE`).
pub const HVM_START_MAGIC: u32 = 0x336e_c578;

/// Size of `hvm_start_info` up to and including the version 1 fields.
const START_INFO_SIZE: usize = 56;

/// Size of one `hvm_memmap_table_entry`.
const MEMMAP_ENTRY_SIZE: usize = 24;

/// At most this many memory map entries are kept; the rest are counted in
/// [`BootInfo::regions_dropped`].
pub const MAX_REGIONS: usize = 64;

/// At most this many bytes of the command line are kept.
pub const MAX_CMDLINE: usize = 256;

/// Where the contract says RAM ends when the host gives no memory map (64 MiB).
pub const ASSUMED_RAM_END: u64 = 64 << 20;

/// Reads guest-physical memory for the parser.
pub trait PhysMemory {
    /// Fills `buf` from physical address `paddr`, or fails if any byte of the range is not
    /// readable memory.
    ///
    /// # Errors
    ///
    /// [`Unreadable`] when the range is outside the memory the kernel can read.
    fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), Unreadable>;
}

/// A physical range the kernel cannot read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreadable;

/// How the kernel was entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// The PVH 32-bit entry (`XEN_ELFNOTE_PHYS32_ENTRY`), as QEMU's `-kernel` uses it.
    Pvh,
    /// The 64-bit entry at the ELF header's `e_entry`, as `hv-sim` uses it.
    Long64,
    /// The arm64 Linux `Image` entry: a device tree in X0 (see the arm64 boot contract in
    /// `docs/architecture.md`).
    Arm64Image,
    /// The UEFI application entry (`efi_main`), after ExitBootServices.
    Uefi,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pvh => "pvh",
            Self::Long64 => "64-bit",
            Self::Arm64Image => "arm64 Image",
            Self::Uefi => "uefi",
        })
    }
}

/// The type of a memory map entry (an open set: the host may send any value).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RegionKind(pub u32);

impl RegionKind {
    /// Usable RAM.
    pub const RAM: Self = Self(1);
    /// Reserved.
    pub const RESERVED: Self = Self(2);
    /// ACPI tables, reclaimable after reading them.
    pub const ACPI: Self = Self(3);
    /// ACPI non-volatile storage.
    pub const NVS: Self = Self(4);
    /// Unusable (memory errors).
    pub const UNUSABLE: Self = Self(5);
    /// Disabled.
    pub const DISABLED: Self = Self(6);
    /// Persistent memory.
    pub const PMEM: Self = Self(7);

    /// The name of a known type.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "ram",
            2 => "reserved",
            3 => "acpi",
            4 => "nvs",
            5 => "unusable",
            6 => "disabled",
            7 => "pmem",
            _ => return None,
        })
    }
}

impl fmt::Debug for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "type {}", self.0),
        }
    }
}

/// The lowest address [`BootInfo::ap_start_page`] considers: the first 64 KiB are left to
/// firmware and hosts (Linux reserves them too, as some firmware writes there).
pub const AP_START_LOW: u64 = 0x1_0000;

/// One entry of the memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// First byte.
    pub start: u64,
    /// Length in bytes; `start + size` does not overflow.
    pub size: u64,
    /// What the memory is.
    pub kind: RegionKind,
}

impl MemoryRegion {
    /// One past the last byte.
    pub const fn end(&self) -> u64 {
        self.start + self.size
    }
}

/// Where the memory map came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryMapSource {
    /// The `hvm_start_info` memory map.
    StartInfo,
    /// No `hvm_start_info` (the 64-bit entry with `RDI` = 0): RAM is assumed to end at
    /// [`ASSUMED_RAM_END`].
    AssumedNoStartInfo,
    /// An `hvm_start_info` of version 0, which has no memory map: RAM is assumed to end at
    /// [`ASSUMED_RAM_END`].
    AssumedVersion0,
    /// The device tree's memory nodes and reservation block (arm64).
    DeviceTree,
    /// The UEFI memory map as ExitBootServices left it (see [`crate::efi`]).
    Uefi,
}

/// Why the boot information could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// A structure lies outside readable memory.
    Unreadable {
        /// Which structure.
        what: &'static str,
        /// Its physical address.
        paddr: u64,
    },
    /// `hvm_start_info.magic` is wrong.
    BadMagic(u32),
    /// A memory map entry's `addr + size` overflows.
    RegionOverflow {
        /// Index of the entry in the map.
        index: u32,
    },
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable { what, paddr } => {
                write!(f, "{what} at {paddr:#x} is outside readable memory")
            }
            Self::BadMagic(magic) => write!(
                f,
                "hvm_start_info magic is {magic:#x}, expected {HVM_START_MAGIC:#x}"
            ),
            Self::RegionOverflow { index } => {
                write!(f, "memory map entry {index}: addr + size overflows")
            }
        }
    }
}

impl core::error::Error for BootInfoError {}

/// What the kernel knows about how it was booted.
#[derive(Clone)]
pub struct BootInfo {
    entry: EntryKind,
    start_info: u64,
    source: MemoryMapSource,
    regions: [MemoryRegion; MAX_REGIONS],
    region_count: usize,
    regions_dropped: u32,
    cmdline: [u8; MAX_CMDLINE],
    cmdline_len: usize,
    cmdline_truncated: bool,
    rsdp: Option<u64>,
}

impl BootInfo {
    /// Reads the boot information the host handed over at `start_info` (a physical address,
    /// 0 for none).
    ///
    /// # Errors
    ///
    /// [`BootInfoError`] when the `hvm_start_info`, its memory map or its command line is
    /// unreadable, the magic is wrong or a memory map entry overflows.
    pub fn parse(
        mem: &impl PhysMemory,
        entry: EntryKind,
        start_info: u64,
    ) -> Result<Self, BootInfoError> {
        let mut info = Self {
            entry,
            start_info,
            source: MemoryMapSource::AssumedNoStartInfo,
            regions: [MemoryRegion {
                start: 0,
                size: 0,
                kind: RegionKind(0),
            }; MAX_REGIONS],
            region_count: 0,
            regions_dropped: 0,
            cmdline: [0; MAX_CMDLINE],
            cmdline_len: 0,
            cmdline_truncated: false,
            rsdp: None,
        };
        if start_info == 0 {
            info.assume_ram();
            return Ok(info);
        }
        let mut raw = [0_u8; START_INFO_SIZE];
        mem.read(start_info, &mut raw)
            .map_err(|Unreadable| BootInfoError::Unreadable {
                what: "hvm_start_info",
                paddr: start_info,
            })?;
        let magic = le_u32(&raw, 0);
        if magic != HVM_START_MAGIC {
            return Err(BootInfoError::BadMagic(magic));
        }
        let version = le_u32(&raw, 4);
        let cmdline_paddr = le_u64(&raw, 24);
        let rsdp = le_u64(&raw, 32);
        info.rsdp = (rsdp != 0).then_some(rsdp);
        if cmdline_paddr != 0 {
            info.read_cmdline(mem, cmdline_paddr)?;
        }
        if version == 0 {
            info.source = MemoryMapSource::AssumedVersion0;
            info.assume_ram();
            return Ok(info);
        }
        info.source = MemoryMapSource::StartInfo;
        let memmap_paddr = le_u64(&raw, 40);
        let entries = le_u32(&raw, 48);
        for index in 0..entries {
            let offset = u64::from(index) * MEMMAP_ENTRY_SIZE as u64;
            let paddr = memmap_paddr
                .checked_add(offset)
                .ok_or(BootInfoError::Unreadable {
                    what: "memory map",
                    paddr: memmap_paddr,
                })?;
            if info.region_count == MAX_REGIONS {
                info.regions_dropped = entries - index;
                break;
            }
            let mut raw_entry = [0_u8; MEMMAP_ENTRY_SIZE];
            mem.read(paddr, &mut raw_entry)
                .map_err(|Unreadable| BootInfoError::Unreadable {
                    what: "memory map",
                    paddr,
                })?;
            let start = le_u64(&raw_entry, 0);
            let size = le_u64(&raw_entry, 8);
            if start.checked_add(size).is_none() {
                return Err(BootInfoError::RegionOverflow { index });
            }
            info.regions[info.region_count] = MemoryRegion {
                start,
                size,
                kind: RegionKind(le_u32(&raw_entry, 16)),
            };
            info.region_count += 1;
        }
        Ok(info)
    }

    /// Boot information from a memory map the kernel's entry read itself (the UEFI entry:
    /// the firmware's map after ExitBootServices), with no command line.
    ///
    /// Zero-sized regions are left out, and a region that starts where the previous one
    /// ends and is of the same kind is merged into it, so a map in address order (UEFI's
    /// has many small neighbouring regions that are all RAM after ExitBootServices) fits
    /// in [`MAX_REGIONS`]; regions beyond that, and regions whose end overflows, are
    /// counted in [`regions_dropped`](Self::regions_dropped).
    pub fn from_regions(
        entry: EntryKind,
        source: MemoryMapSource,
        regions: impl IntoIterator<Item = MemoryRegion>,
        rsdp: Option<u64>,
    ) -> Self {
        let mut info = Self {
            entry,
            start_info: 0,
            source,
            regions: [MemoryRegion {
                start: 0,
                size: 0,
                kind: RegionKind(0),
            }; MAX_REGIONS],
            region_count: 0,
            regions_dropped: 0,
            cmdline: [0; MAX_CMDLINE],
            cmdline_len: 0,
            cmdline_truncated: false,
            rsdp,
        };
        for region in regions.into_iter().filter(|r| r.size != 0) {
            if region.start.checked_add(region.size).is_none() {
                info.regions_dropped = info.regions_dropped.saturating_add(1);
                continue;
            }
            if let Some(last) = info.regions[..info.region_count].last_mut() {
                // Both ends are representable, so the merged size is too.
                if last.kind == region.kind && last.end() == region.start {
                    last.size += region.size;
                    continue;
                }
            }
            if info.region_count == MAX_REGIONS {
                info.regions_dropped = info.regions_dropped.saturating_add(1);
                continue;
            }
            info.regions[info.region_count] = region;
            info.region_count += 1;
        }
        info
    }

    /// Boot information from a device tree (the arm64 entry): the regions as
    /// [`from_regions`](Self::from_regions) keeps them, plus `regions_dropped` the reader
    /// already dropped, the device tree's address as [`start_info`](Self::start_info) and its
    /// command line, cut at [`MAX_CMDLINE`] bytes.
    pub fn from_parts(
        entry: EntryKind,
        start_info: u64,
        source: MemoryMapSource,
        regions: &[MemoryRegion],
        regions_dropped: u32,
        cmdline: &[u8],
    ) -> Self {
        let mut info = Self::from_regions(entry, source, regions.iter().copied(), None);
        info.start_info = start_info;
        info.regions_dropped = info.regions_dropped.saturating_add(regions_dropped);
        info.cmdline_len = cmdline.len().min(MAX_CMDLINE);
        info.cmdline[..info.cmdline_len].copy_from_slice(&cmdline[..info.cmdline_len]);
        info.cmdline_truncated = cmdline.len() > MAX_CMDLINE;
        info
    }

    fn assume_ram(&mut self) {
        self.regions[0] = MemoryRegion {
            start: 0,
            size: ASSUMED_RAM_END,
            kind: RegionKind::RAM,
        };
        self.region_count = 1;
    }

    fn read_cmdline(&mut self, mem: &impl PhysMemory, paddr: u64) -> Result<(), BootInfoError> {
        // Byte by byte: the string may end right before unreadable memory.
        for i in 0..=MAX_CMDLINE {
            let at = paddr
                .checked_add(i as u64)
                .ok_or(BootInfoError::Unreadable {
                    what: "command line",
                    paddr,
                })?;
            let mut byte = [0_u8];
            mem.read(at, &mut byte)
                .map_err(|Unreadable| BootInfoError::Unreadable {
                    what: "command line",
                    paddr: at,
                })?;
            if byte[0] == 0 {
                return Ok(());
            }
            if i == MAX_CMDLINE {
                self.cmdline_truncated = true;
                return Ok(());
            }
            self.cmdline[i] = byte[0];
            self.cmdline_len = i + 1;
        }
        Ok(())
    }

    /// How the kernel was entered.
    pub const fn entry(&self) -> EntryKind {
        self.entry
    }

    /// Physical address of the `hvm_start_info` (x86_64) or of the device tree (arm64), 0 if
    /// none.
    pub const fn start_info(&self) -> u64 {
        self.start_info
    }

    /// Where the memory map came from.
    pub const fn memory_map_source(&self) -> MemoryMapSource {
        self.source
    }

    /// The memory map, in the host's order.
    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.region_count]
    }

    /// How many memory map entries did not fit in [`MAX_REGIONS`].
    pub const fn regions_dropped(&self) -> u32 {
        self.regions_dropped
    }

    /// Bytes of RAM in the memory map.
    pub fn ram_bytes(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == RegionKind::RAM)
            .fold(0_u64, |sum, r| sum.saturating_add(r.size))
    }

    /// The page an application processor's real-mode start-up code can use
    /// ([`AP_START_LOW`] .. 1 MiB, a start-up IPI can only name a page below 1 MiB): the
    /// lowest 4 KiB page that lies inside a RAM region and touches no other region.
    /// `None` when the map has none.
    pub fn ap_start_page(&self) -> Option<u64> {
        let regions = self.regions();
        let free = |page: u64| {
            let end = page + 0x1000;
            regions
                .iter()
                .any(|r| r.kind == RegionKind::RAM && r.start <= page && end <= r.end())
                && !regions
                    .iter()
                    .any(|r| r.kind != RegionKind::RAM && r.start < end && page < r.end())
        };
        (AP_START_LOW / 0x1000..0x100)
            .map(|page| page * 0x1000)
            .find(|&page| free(page))
    }

    /// The command line as bytes (at most [`MAX_CMDLINE`]).
    pub fn cmdline_bytes(&self) -> &[u8] {
        &self.cmdline[..self.cmdline_len]
    }

    /// The command line, if it is UTF-8.
    pub fn cmdline(&self) -> Option<&str> {
        core::str::from_utf8(self.cmdline_bytes()).ok()
    }

    /// Whether the command line was longer than [`MAX_CMDLINE`] and was cut.
    pub const fn cmdline_truncated(&self) -> bool {
        self.cmdline_truncated
    }

    /// Physical address of the ACPI root pointer (RSDP), when the host gave one
    /// (`hvm_start_info.rsdp_paddr`, or the UEFI configuration table).
    pub const fn rsdp(&self) -> Option<u64> {
        self.rsdp
    }
}

impl fmt::Debug for BootInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootInfo")
            .field("entry", &self.entry)
            .field("start_info", &self.start_info)
            .field("source", &self.source)
            .field("regions", &self.regions())
            .field("regions_dropped", &self.regions_dropped)
            .field("cmdline", &self.cmdline_bytes())
            .field("cmdline_truncated", &self.cmdline_truncated)
            .field("rsdp", &self.rsdp)
            .finish()
    }
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    /// Guest memory for tests: `bytes` at physical address `base`, nothing else readable.
    struct FakeMemory {
        base: u64,
        bytes: Vec<u8>,
    }

    impl PhysMemory for FakeMemory {
        fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), Unreadable> {
            let start = paddr.checked_sub(self.base).ok_or(Unreadable)?;
            let start = usize::try_from(start).map_err(|_| Unreadable)?;
            let end = start.checked_add(buf.len()).ok_or(Unreadable)?;
            buf.copy_from_slice(self.bytes.get(start..end).ok_or(Unreadable)?);
            Ok(())
        }
    }

    const BASE: u64 = 0x7000;
    const MEMMAP_AT: u64 = BASE + 0x100;
    const CMDLINE_AT: u64 = BASE + 0x800;

    /// An `hvm_start_info` at `BASE` with `regions` at `MEMMAP_AT` and `cmdline` at
    /// `CMDLINE_AT`.
    fn image(version: u32, regions: &[(u64, u64, u32)], cmdline: Option<&[u8]>) -> FakeMemory {
        let mut bytes = std::vec![0_u8; 0x1000];
        bytes[0..4].copy_from_slice(&HVM_START_MAGIC.to_le_bytes());
        bytes[4..8].copy_from_slice(&version.to_le_bytes());
        if let Some(cmdline) = cmdline {
            bytes[24..32].copy_from_slice(&CMDLINE_AT.to_le_bytes());
            let at = (CMDLINE_AT - BASE) as usize;
            bytes[at..at + cmdline.len()].copy_from_slice(cmdline);
        }
        bytes[40..48].copy_from_slice(&MEMMAP_AT.to_le_bytes());
        bytes[48..52].copy_from_slice(&(regions.len() as u32).to_le_bytes());
        for (i, &(addr, size, kind)) in regions.iter().enumerate() {
            let at = (MEMMAP_AT - BASE) as usize + i * MEMMAP_ENTRY_SIZE;
            bytes[at..at + 8].copy_from_slice(&addr.to_le_bytes());
            bytes[at + 8..at + 16].copy_from_slice(&size.to_le_bytes());
            bytes[at + 16..at + 20].copy_from_slice(&kind.to_le_bytes());
        }
        FakeMemory { base: BASE, bytes }
    }

    #[test]
    fn reads_the_memory_map_and_command_line_of_a_qemu_like_start_info() {
        let mem = image(
            1,
            &[
                (0, 0x9_fc00, 1),
                (0xf_0000, 0x1_0000, 2),
                (0x10_0000, 0x7ee_0000, 1),
            ],
            Some(b"fault=ud\0"),
        );
        let info = BootInfo::parse(&mem, EntryKind::Pvh, BASE).expect("valid start info");
        assert_eq!(info.entry(), EntryKind::Pvh);
        assert_eq!(info.start_info(), BASE);
        assert_eq!(info.memory_map_source(), MemoryMapSource::StartInfo);
        assert_eq!(info.regions().len(), 3);
        assert_eq!(info.regions()[1].kind, RegionKind::RESERVED);
        assert_eq!(info.regions()[2].end(), 0x7ee_0000 + 0x10_0000);
        assert_eq!(info.ram_bytes(), 0x9_fc00 + 0x7ee_0000);
        assert_eq!(info.cmdline(), Some("fault=ud"));
        assert!(!info.cmdline_truncated());
    }

    #[test]
    fn reads_the_rsdp_address() {
        let mut mem = image(1, &[(0, 0x1000, 1)], None);
        mem.bytes[32..40].copy_from_slice(&0xe_0000_u64.to_le_bytes());
        let info = BootInfo::parse(&mem, EntryKind::Pvh, BASE).expect("valid start info");
        assert_eq!(info.rsdp(), Some(0xe_0000));
        let mem = image(1, &[(0, 0x1000, 1)], None);
        let info = BootInfo::parse(&mem, EntryKind::Pvh, BASE).expect("valid start info");
        assert_eq!(info.rsdp(), None);
    }

    fn region(start: u64, size: u64, kind: RegionKind) -> MemoryRegion {
        MemoryRegion { start, size, kind }
    }

    #[test]
    fn ap_start_page_is_low_whole_ram_touching_nothing_else() {
        let map = |regions: &[MemoryRegion]| {
            let mut all = [region(0, 0, RegionKind::RESERVED); 4];
            all[..regions.len()].copy_from_slice(regions);
            BootInfo::from_regions(EntryKind::Uefi, MemoryMapSource::Uefi, all, None)
        };
        // QEMU-like: RAM from 0 to the EBDA, which is reserved.
        let qemu = map(&[
            region(0, 0x9_fc00, RegionKind::RAM),
            region(0x9_fc00, 0x400, RegionKind::RESERVED),
        ]);
        assert_eq!(qemu.ap_start_page(), Some(0x1_0000));
        // hv-sim-like: the first 64 KiB reserved, RAM up to 640 KiB.
        let sim = map(&[
            region(0, 0x1_0000, RegionKind::RESERVED),
            region(0x1_0000, 0x9_0000, RegionKind::RAM),
            region(0x1_0000, 0x800, RegionKind::ACPI),
        ]);
        assert_eq!(
            sim.ap_start_page(),
            Some(0x1_1000),
            "the ACPI region overlaps page 0x10"
        );
        let none = map(&[region(0x10_0000, 0x100_0000, RegionKind::RAM)]);
        assert_eq!(none.ap_start_page(), None, "no RAM below 1 MiB");
        let partial = map(&[region(0x1_0800, 0x1000, RegionKind::RAM)]);
        assert_eq!(partial.ap_start_page(), None, "no whole page");
    }

    #[test]
    fn from_regions_merges_neighbours_of_the_same_kind() {
        let info = BootInfo::from_regions(
            EntryKind::Uefi,
            MemoryMapSource::Uefi,
            [
                region(0, 0x1000, RegionKind::RAM),
                region(0x1000, 0x2000, RegionKind::RAM),
                region(0x3000, 0, RegionKind::RESERVED),
                region(0x3000, 0x1000, RegionKind::ACPI),
                region(0x4000, 0x1000, RegionKind::RAM),
                region(0x6000, 0x1000, RegionKind::RAM),
                region(u64::MAX - 5, 6, RegionKind::RAM),
            ],
            Some(0x3000),
        );
        assert_eq!(
            info.regions(),
            &[
                region(0, 0x3000, RegionKind::RAM),
                region(0x3000, 0x1000, RegionKind::ACPI),
                region(0x4000, 0x1000, RegionKind::RAM),
                region(0x6000, 0x1000, RegionKind::RAM),
            ]
        );
        assert_eq!(info.regions_dropped(), 1, "the overflowing region");
        assert_eq!(info.entry(), EntryKind::Uefi);
        assert_eq!(info.memory_map_source(), MemoryMapSource::Uefi);
        assert_eq!(info.start_info(), 0);
        assert_eq!(info.cmdline(), Some(""));
        assert_eq!(info.rsdp(), Some(0x3000));
        assert_eq!(info.ram_bytes(), 0x5000);
    }

    #[test]
    fn from_regions_counts_what_does_not_fit() {
        let kinds = [RegionKind::RAM, RegionKind::RESERVED];
        let info = BootInfo::from_regions(
            EntryKind::Uefi,
            MemoryMapSource::Uefi,
            (0..MAX_REGIONS as u64 + 5).map(|i| region(i << 12, 0x1000, kinds[i as usize % 2])),
            None,
        );
        assert_eq!(info.regions().len(), MAX_REGIONS);
        assert_eq!(info.regions_dropped(), 5);
    }

    #[test]
    fn no_start_info_assumes_64_mib() {
        let mem = FakeMemory {
            base: 0,
            bytes: Vec::new(),
        };
        let info = BootInfo::parse(&mem, EntryKind::Long64, 0).expect("no start info is valid");
        assert_eq!(
            info.memory_map_source(),
            MemoryMapSource::AssumedNoStartInfo
        );
        assert_eq!(info.ram_bytes(), ASSUMED_RAM_END);
        assert_eq!(info.cmdline(), Some(""));
    }

    #[test]
    fn version_0_has_no_memory_map() {
        let mem = image(0, &[(0, 0x1000, 1)], None);
        let info = BootInfo::parse(&mem, EntryKind::Pvh, BASE).expect("valid start info");
        assert_eq!(info.memory_map_source(), MemoryMapSource::AssumedVersion0);
        assert_eq!(
            info.regions(),
            &[MemoryRegion {
                start: 0,
                size: ASSUMED_RAM_END,
                kind: RegionKind::RAM
            }]
        );
    }

    #[test]
    fn wrong_magic_is_an_error() {
        let mut mem = image(1, &[], None);
        mem.bytes[0] ^= 1;
        assert_eq!(
            BootInfo::parse(&mem, EntryKind::Pvh, BASE).map(|_| ()),
            Err(BootInfoError::BadMagic(HVM_START_MAGIC ^ 1))
        );
    }

    #[test]
    fn start_info_outside_memory_is_an_error() {
        let mem = image(1, &[], None);
        assert_eq!(
            BootInfo::parse(&mem, EntryKind::Pvh, 0x10).map(|_| ()),
            Err(BootInfoError::Unreadable {
                what: "hvm_start_info",
                paddr: 0x10
            })
        );
    }

    #[test]
    fn memory_map_running_off_memory_is_an_error() {
        let mut mem = image(1, &[(0, 0x1000, 1)], None);
        // Move the map to the last 16 bytes of readable memory: its first entry runs off.
        mem.bytes[40..48].copy_from_slice(&(BASE + 0xff0).to_le_bytes());
        let err = BootInfo::parse(&mem, EntryKind::Pvh, BASE)
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(
                err,
                BootInfoError::Unreadable {
                    what: "memory map",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn overflowing_region_is_an_error() {
        let mem = image(1, &[(0, 0x1000, 1), (u64::MAX - 5, 6, 1)], None);
        assert_eq!(
            BootInfo::parse(&mem, EntryKind::Pvh, BASE).map(|_| ()),
            Err(BootInfoError::RegionOverflow { index: 1 })
        );
    }

    #[test]
    fn extra_regions_are_counted_not_kept() {
        let regions: Vec<_> = (0..MAX_REGIONS as u64 + 3)
            .map(|i| (i << 12, 0x1000, 1))
            .collect();
        let mem = image(1, &regions, None);
        let info = BootInfo::parse(&mem, EntryKind::Pvh, BASE).expect("valid start info");
        assert_eq!(info.regions().len(), MAX_REGIONS);
        assert_eq!(info.regions_dropped(), 3);
    }

    #[test]
    fn long_command_line_is_cut() {
        let mut long = std::vec![b'x'; MAX_CMDLINE + 10];
        long.push(0);
        let mem = image(1, &[], Some(&long));
        let info = BootInfo::parse(&mem, EntryKind::Pvh, BASE).expect("valid start info");
        assert_eq!(info.cmdline_bytes().len(), MAX_CMDLINE);
        assert!(info.cmdline_truncated());
    }

    #[test]
    fn command_line_without_terminator_before_unreadable_memory_is_an_error() {
        let mut mem = image(1, &[], Some(b"abc\0"));
        // Fill the rest of the page so the string runs off the end of readable memory.
        let at = (CMDLINE_AT - BASE) as usize;
        for b in &mut mem.bytes[at..] {
            *b = b'y';
        }
        mem.bytes.truncate(at + 10);
        let err = BootInfo::parse(&mem, EntryKind::Pvh, BASE)
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(
                err,
                BootInfoError::Unreadable {
                    what: "command line",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn non_utf8_command_line_is_kept_as_bytes() {
        let mem = image(1, &[], Some(b"a\xffb\0"));
        let info = BootInfo::parse(&mem, EntryKind::Pvh, BASE).expect("valid start info");
        assert_eq!(info.cmdline_bytes(), b"a\xffb");
        assert_eq!(info.cmdline(), None);
    }

    proptest::proptest! {
        /// Whatever the host writes, the parser returns (no panic), and what it returns is
        /// consistent: regions fit and never overflow, the command line is capped.
        #[test]
        fn arbitrary_host_data_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..0x1200),
            at in 0_u64..0x1400,
            magic_ok in proptest::bool::ANY,
        ) {
            let mut mem = FakeMemory { base: BASE, bytes };
            let at_index = at as usize;
            if magic_ok && mem.bytes.len() >= at_index + 4 {
                mem.bytes[at_index..at_index + 4].copy_from_slice(&HVM_START_MAGIC.to_le_bytes());
            }
            if let Ok(info) = BootInfo::parse(&mem, EntryKind::Pvh, BASE + at) {
                proptest::prop_assert!(info.regions().len() <= MAX_REGIONS);
                for r in info.regions() {
                    proptest::prop_assert!(r.start.checked_add(r.size).is_some());
                }
                proptest::prop_assert!(info.cmdline_bytes().len() <= MAX_CMDLINE);
            }
        }

        /// Whatever regions a firmware map gives, every byte of RAM in them (that fits)
        /// stays RAM, no region overflows, and merged neighbours never cross a kind.
        #[test]
        fn from_regions_keeps_every_byte_and_kind(
            sizes in proptest::collection::vec((0_u64..0x10_000, 1_u32..4), 0..40),
        ) {
            let mut start = 0_u64;
            let mut regions = std::vec::Vec::new();
            for &(size, kind) in &sizes {
                regions.push(region(start, size, RegionKind(kind)));
                start += size;
            }
            let info = BootInfo::from_regions(
                EntryKind::Uefi, MemoryMapSource::Uefi, regions.iter().copied(), None);
            proptest::prop_assert_eq!(info.regions_dropped(), 0);
            let ram: u64 = regions.iter().filter(|r| r.kind == RegionKind::RAM).map(|r| r.size).sum();
            proptest::prop_assert_eq!(info.ram_bytes(), ram);
            for pair in info.regions().windows(2) {
                proptest::prop_assert!(pair[0].end() <= pair[1].start);
                proptest::prop_assert!(pair[0].kind != pair[1].kind || pair[0].end() != pair[1].start);
            }
            for r in &regions {
                for byte in [r.start, r.end().saturating_sub(1)] {
                    if r.size == 0 { continue; }
                    let found = info.regions().iter().find(|m| m.start <= byte && byte < m.end());
                    proptest::prop_assert_eq!(found.map(|m| m.kind), Some(r.kind));
                }
            }
        }
    }
}
