//! A flattened device tree (DTB) reader: what the arm64 runtime learns from the device tree
//! the host passes in X0 (Linux `Documentation/arch/arm64/booting.rst`, the Devicetree
//! Specification 0.4 chapter 5 for the format).
//!
//! The blob is written by the host, so every offset and length is checked, nesting is
//! bounded, and bad data is an [`FdtError`], never a panic. [`Fdt`] walks the structure
//! block; [`DeviceTree::parse`] keeps what the runtime uses:
//!
//! * RAM: the `reg` of every node whose `device_type` is `"memory"`, and the memory
//!   reservation block;
//! * the command line: `/chosen/bootargs`;
//! * the PSCI conduit: `/psci` `method` (`"hvc"` or `"smc"`);
//! * the interrupt controller: the first two `reg` ranges of the node compatible with
//!   `"arm,gic-v3"` (distributor, redistributors), or the fact that the GIC is a GICv2;
//! * the virtual timer interrupt: the third entry of the `"arm,armv8-timer"` node's
//!   `interrupts` (a PPI);
//! * the console: the `reg` of the node compatible with `"arm,pl011"`.

use core::fmt;

use crate::bootinfo::{MAX_CMDLINE, MAX_REGIONS, MemoryRegion, RegionKind};

/// The magic number at the start of a DTB.
pub const FDT_MAGIC: u32 = 0xd00d_feed;

/// Size of the DTB header (version 17).
pub const FDT_HEADER_SIZE: usize = 40;

/// The largest DTB the runtime accepts (QEMU's are a few KiB; Linux limits DTBs to 2 MiB).
pub const MAX_DTB_SIZE: usize = 2 << 20;

/// The oldest version whose layout this reader knows (`last_comp_version` must not exceed
/// 17, the current version).
const FDT_VERSION: u32 = 17;

/// Deepest node nesting the reader follows.
const MAX_DEPTH: usize = 16;

/// At most this many memory reservation entries are read.
const MAX_RESERVATIONS: usize = 32;

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

/// Why a device tree could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    /// Fewer bytes than the header, or than the header's `totalsize`.
    Truncated,
    /// The magic number is wrong.
    BadMagic(u32),
    /// `totalsize` is larger than [`MAX_DTB_SIZE`].
    TooLarge(u32),
    /// `last_comp_version` is newer than this reader.
    Version(u32),
    /// A block or item lies outside the blob.
    OutOfBounds {
        /// What was out of bounds.
        what: &'static str,
        /// Its offset in the blob.
        offset: usize,
    },
    /// An unknown token in the structure block.
    BadToken {
        /// Its offset in the blob.
        offset: usize,
        /// The token.
        token: u32,
    },
    /// Nodes nest deeper than the reader follows, or end without beginning.
    BadNesting,
    /// The structure block ends without `FDT_END`.
    Unterminated,
    /// A `reg` or `interrupts` property has an unsupported cell count.
    Cells {
        /// Which property.
        what: &'static str,
    },
}

impl fmt::Display for FdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("device tree is truncated"),
            Self::BadMagic(m) => write!(f, "device tree magic is {m:#x}, expected {FDT_MAGIC:#x}"),
            Self::TooLarge(size) => write!(f, "device tree of {size} bytes is too large"),
            Self::Version(v) => write!(f, "device tree compatible version {v} is too new"),
            Self::OutOfBounds { what, offset } => {
                write!(
                    f,
                    "device tree {what} at offset {offset:#x} is out of bounds"
                )
            }
            Self::BadToken { offset, token } => {
                write!(
                    f,
                    "device tree token {token:#x} at offset {offset:#x} is unknown"
                )
            }
            Self::BadNesting => f.write_str("device tree nodes nest too deep or unbalanced"),
            Self::Unterminated => f.write_str("device tree structure block has no end"),
            Self::Cells { what } => write!(f, "device tree {what} has unsupported cell sizes"),
        }
    }
}

impl core::error::Error for FdtError {}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(be32(bytes, at)?) << 32 | u64::from(be32(bytes, at + 4)?))
}

/// The `totalsize` a DTB header announces, checked against [`MAX_DTB_SIZE`]: how many bytes
/// to map before calling [`Fdt::new`].
///
/// # Errors
///
/// [`FdtError::BadMagic`], [`FdtError::TooLarge`] or [`FdtError::Truncated`] (a size smaller
/// than the header).
pub fn total_size(header: &[u8; FDT_HEADER_SIZE]) -> Result<usize, FdtError> {
    let magic = be32(header, 0).ok_or(FdtError::Truncated)?;
    if magic != FDT_MAGIC {
        return Err(FdtError::BadMagic(magic));
    }
    let size = be32(header, 4).ok_or(FdtError::Truncated)?;
    let len = usize::try_from(size).map_err(|_| FdtError::TooLarge(size))?;
    if len > MAX_DTB_SIZE {
        return Err(FdtError::TooLarge(size));
    }
    if len < FDT_HEADER_SIZE {
        return Err(FdtError::Truncated);
    }
    Ok(len)
}

/// One step of the walk through the structure block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A node begins; `depth` 0 is the root.
    Begin {
        /// The node's unit name (`memory@40000000`; empty for the root).
        name: &'a [u8],
        /// Its depth.
        depth: usize,
    },
    /// A property of the node at `depth`.
    Prop {
        /// The property name.
        name: &'a [u8],
        /// Its value.
        value: &'a [u8],
        /// The depth of the node it belongs to.
        depth: usize,
    },
    /// The node at `depth` ends.
    End {
        /// Its depth.
        depth: usize,
    },
}

/// A checked device tree blob.
#[derive(Clone, Copy, Debug)]
pub struct Fdt<'a> {
    bytes: &'a [u8],
    structure: &'a [u8],
    structure_offset: usize,
    strings: &'a [u8],
    reservations: usize,
}

impl<'a> Fdt<'a> {
    /// Checks the header of `bytes` (at least `totalsize` bytes) and the bounds of its
    /// blocks.
    ///
    /// # Errors
    ///
    /// [`FdtError`] when the header is wrong or a block lies outside the blob.
    pub fn new(bytes: &'a [u8]) -> Result<Self, FdtError> {
        let header: &[u8; FDT_HEADER_SIZE] = bytes
            .get(..FDT_HEADER_SIZE)
            .and_then(|h| h.try_into().ok())
            .ok_or(FdtError::Truncated)?;
        let total = total_size(header)?;
        let bytes = bytes.get(..total).ok_or(FdtError::Truncated)?;
        let field = |at| {
            be32(bytes, at)
                .map(|v| v as usize)
                .ok_or(FdtError::Truncated)
        };
        let last_comp = be32(bytes, 24).ok_or(FdtError::Truncated)?;
        if last_comp > FDT_VERSION {
            return Err(FdtError::Version(last_comp));
        }
        let block = |what, offset: usize, len: usize| {
            offset
                .checked_add(len)
                .and_then(|end| bytes.get(offset..end))
                .ok_or(FdtError::OutOfBounds { what, offset })
        };
        let structure_offset = field(8)?;
        let structure = block("structure block", structure_offset, field(36)?)?;
        let strings = block("strings block", field(12)?, field(32)?)?;
        let reservations = field(16)?;
        block("memory reservation block", reservations, 16)?;
        Ok(Self {
            bytes,
            structure,
            structure_offset,
            strings,
            reservations,
        })
    }

    /// The memory reservation block's entries (address, size), up to the terminating empty
    /// entry, at most 32.
    ///
    /// # Errors
    ///
    /// [`FdtError::OutOfBounds`] when the block runs past the blob.
    pub fn reservations(&self, mut each: impl FnMut(u64, u64)) -> Result<(), FdtError> {
        for i in 0..MAX_RESERVATIONS {
            let at = self.reservations + i * 16;
            let entry = (be64(self.bytes, at), be64(self.bytes, at + 8));
            let (Some(addr), Some(size)) = entry else {
                return Err(FdtError::OutOfBounds {
                    what: "memory reservation",
                    offset: at,
                });
            };
            if addr == 0 && size == 0 {
                break;
            }
            each(addr, size);
        }
        Ok(())
    }

    /// Walks the structure block, calling `each` for every node and property.
    ///
    /// # Errors
    ///
    /// [`FdtError`] for a malformed structure block.
    pub fn walk(&self, mut each: impl FnMut(Event<'a>)) -> Result<(), FdtError> {
        let s = self.structure;
        let out = |what, at: usize| FdtError::OutOfBounds {
            what,
            offset: self.structure_offset + at,
        };
        let mut at = 0;
        let mut depth = 0_usize;
        loop {
            let token = be32(s, at).ok_or(FdtError::Unterminated)?;
            let token_at = at;
            at += 4;
            match token {
                FDT_BEGIN_NODE => {
                    let rest = s.get(at..).ok_or(out("node name", at))?;
                    let len = rest
                        .iter()
                        .position(|&b| b == 0)
                        .ok_or(out("node name", at))?;
                    if depth == MAX_DEPTH {
                        return Err(FdtError::BadNesting);
                    }
                    each(Event::Begin {
                        name: &rest[..len],
                        depth,
                    });
                    depth += 1;
                    at = (at + len + 1).next_multiple_of(4);
                }
                FDT_END_NODE => {
                    depth = depth.checked_sub(1).ok_or(FdtError::BadNesting)?;
                    each(Event::End { depth });
                }
                FDT_PROP => {
                    let len = be32(s, at).ok_or(out("property", at))? as usize;
                    let name_off = be32(s, at + 4).ok_or(out("property", at))? as usize;
                    let value = at
                        .checked_add(8 + len)
                        .and_then(|end| s.get(at + 8..end))
                        .ok_or(out("property value", at))?;
                    let name = self
                        .strings
                        .get(name_off..)
                        .and_then(|n| n.iter().position(|&b| b == 0).map(|l| &n[..l]))
                        .ok_or(out("property name", at))?;
                    let owner = depth.checked_sub(1).ok_or(FdtError::BadNesting)?;
                    each(Event::Prop {
                        name,
                        value,
                        depth: owner,
                    });
                    at = (at + 8 + len).next_multiple_of(4);
                }
                FDT_NOP => {}
                FDT_END if depth == 0 => return Ok(()),
                FDT_END => return Err(FdtError::BadNesting),
                token => {
                    return Err(FdtError::BadToken {
                        offset: self.structure_offset + token_at,
                        token,
                    });
                }
            }
        }
    }
}

/// The PSCI conduit the device tree names (`/psci` `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsciConduit {
    /// `"hvc"`: PSCI (and SMCCC) calls go to EL2, a hypervisor or firmware emulating one.
    Hvc,
    /// `"smc"`: PSCI calls go to EL3 firmware.
    Smc,
}

impl fmt::Display for PsciConduit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hvc => "hvc",
            Self::Smc => "smc",
        })
    }
}

/// The interrupt controller the device tree describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gic {
    /// A GICv3: distributor and redistributor region (base, size).
    V3 {
        /// Distributor base and size.
        distributor: (u64, u64),
        /// Redistributor region base and size.
        redistributors: (u64, u64),
    },
    /// A GICv2 (`arm,cortex-a15-gic`, `arm,gic-400`), which the runtime does not drive.
    V2,
}

/// What the runtime uses from the device tree.
#[derive(Clone, Copy, Debug)]
pub struct DeviceTree {
    regions: [MemoryRegion; MAX_REGIONS],
    region_count: usize,
    regions_dropped: u32,
    bootargs: [u8; MAX_CMDLINE + 1],
    bootargs_len: usize,
    /// `/psci` `method`, if present and known.
    pub psci: Option<PsciConduit>,
    /// The interrupt controller, if one is described.
    pub gic: Option<Gic>,
    /// The virtual timer's interrupt id (16 + its PPI number), if described.
    pub virtual_timer_intid: Option<u32>,
    /// The PL011 UART's base address, if described.
    pub pl011: Option<u64>,
}

/// Per-node state while walking.
#[derive(Clone, Copy, Default)]
struct Node<'a> {
    name: &'a [u8],
    /// `#address-cells`/`#size-cells` this node declares for its children (spec defaults 2
    /// and 1).
    cells: (u32, u32),
    reg: &'a [u8],
    compatible: &'a [u8],
    device_type: &'a [u8],
    method: &'a [u8],
    bootargs: &'a [u8],
    interrupts: &'a [u8],
}

fn has_compatible(list: &[u8], wanted: &[u8]) -> bool {
    list.split(|&b| b == 0).any(|c| c == wanted)
}

fn trim_nul(value: &[u8]) -> &[u8] {
    value.split(|&b| b == 0).next().unwrap_or(value)
}

/// Reads cell-sized numbers from a `reg`: (address, size) pairs.
fn reg_entries(
    reg: &[u8],
    (address_cells, size_cells): (u32, u32),
) -> Result<impl Iterator<Item = (u64, u64)> + '_, FdtError> {
    if !(1..=2).contains(&address_cells) || size_cells > 2 {
        return Err(FdtError::Cells { what: "reg" });
    }
    let (a, s) = (address_cells as usize * 4, size_cells as usize * 4);
    let read = |bytes: &[u8], len: usize| -> u64 {
        bytes[..len].chunks_exact(4).fold(0, |v, c| {
            v << 32 | u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        })
    };
    Ok(reg
        .chunks_exact(a + s)
        .map(move |entry| (read(entry, a), read(&entry[a..], s))))
}

impl DeviceTree {
    /// Reads `fdt`.
    ///
    /// # Errors
    ///
    /// [`FdtError`] for a malformed blob or unsupported cell sizes.
    pub fn parse(fdt: &Fdt<'_>) -> Result<Self, FdtError> {
        let mut dt = Self {
            regions: [MemoryRegion {
                start: 0,
                size: 0,
                kind: RegionKind(0),
            }; MAX_REGIONS],
            region_count: 0,
            regions_dropped: 0,
            bootargs: [0; MAX_CMDLINE + 1],
            bootargs_len: 0,
            psci: None,
            gic: None,
            virtual_timer_intid: None,
            pl011: None,
        };
        let mut stack = [Node::default(); MAX_DEPTH];
        let mut error = None;
        fdt.walk(|event| {
            if error.is_some() {
                return;
            }
            match event {
                Event::Begin { name, depth } => {
                    stack[depth] = Node {
                        name,
                        cells: (2, 1),
                        ..Node::default()
                    };
                }
                Event::Prop { name, value, depth } => {
                    let node = &mut stack[depth];
                    match name {
                        b"#address-cells" => node.cells.0 = be32(value, 0).unwrap_or(2),
                        b"#size-cells" => node.cells.1 = be32(value, 0).unwrap_or(1),
                        b"reg" => node.reg = value,
                        b"compatible" => node.compatible = value,
                        b"device_type" => node.device_type = trim_nul(value),
                        b"method" => node.method = trim_nul(value),
                        b"bootargs" => node.bootargs = trim_nul(value),
                        b"interrupts" => node.interrupts = value,
                        _ => {}
                    }
                }
                Event::End { depth } => {
                    let parent_cells = match depth {
                        0 => (2, 1),
                        d => stack[d - 1].cells,
                    };
                    if let Err(e) = dt.take(&stack[depth], depth, parent_cells) {
                        error = Some(e);
                    }
                }
            }
        })?;
        if let Some(e) = error {
            return Err(e);
        }
        fdt.reservations(|start, size| {
            dt.push_region(start, size, RegionKind::RESERVED);
        })?;
        Ok(dt)
    }

    /// Keeps what the runtime uses from a finished node.
    fn take(&mut self, node: &Node<'_>, depth: usize, cells: (u32, u32)) -> Result<(), FdtError> {
        if node.device_type == b"memory" {
            for (start, size) in reg_entries(node.reg, cells)? {
                self.push_region(start, size, RegionKind::RAM);
            }
        }
        if depth == 1 && node.name == b"chosen" {
            let len = node.bootargs.len().min(self.bootargs.len());
            self.bootargs[..len].copy_from_slice(&node.bootargs[..len]);
            self.bootargs_len = len;
        }
        if depth == 1 && node.name == b"psci" {
            self.psci = match node.method {
                b"hvc" => Some(PsciConduit::Hvc),
                b"smc" => Some(PsciConduit::Smc),
                _ => None,
            };
        }
        if has_compatible(node.compatible, b"arm,gic-v3") {
            let mut reg = reg_entries(node.reg, cells)?;
            if let (Some(distributor), Some(redistributors)) = (reg.next(), reg.next()) {
                self.gic = Some(Gic::V3 {
                    distributor,
                    redistributors,
                });
            }
        } else if has_compatible(node.compatible, b"arm,cortex-a15-gic")
            || has_compatible(node.compatible, b"arm,gic-400")
        {
            self.gic = Some(Gic::V2);
        }
        if has_compatible(node.compatible, b"arm,armv8-timer") {
            // Three cells an interrupt (type, number, flags): secure physical, non-secure
            // physical, virtual, hypervisor. Type 1 is a PPI, whose id is 16 + number.
            let virt = node.interrupts.get(24..36);
            if let Some(v) = virt {
                match (be32(v, 0), be32(v, 4)) {
                    (Some(1), Some(n)) if n < 16 => self.virtual_timer_intid = Some(16 + n),
                    _ => {
                        return Err(FdtError::Cells {
                            what: "timer interrupts",
                        });
                    }
                }
            }
        }
        if has_compatible(node.compatible, b"arm,pl011") && self.pl011.is_none() {
            self.pl011 = reg_entries(node.reg, cells)?.next().map(|(base, _)| base);
        }
        Ok(())
    }

    fn push_region(&mut self, start: u64, size: u64, kind: RegionKind) {
        if start.checked_add(size).is_none() {
            self.regions_dropped += 1;
            return;
        }
        if self.region_count == MAX_REGIONS {
            self.regions_dropped += 1;
            return;
        }
        self.regions[self.region_count] = MemoryRegion { start, size, kind };
        self.region_count += 1;
    }

    /// RAM (from the memory nodes) and reserved ranges (from the reservation block).
    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.region_count]
    }

    /// How many ranges did not fit in [`MAX_REGIONS`] or overflowed.
    pub const fn regions_dropped(&self) -> u32 {
        self.regions_dropped
    }

    /// `/chosen/bootargs`, at most [`MAX_CMDLINE`] + 1 bytes (so a caller can tell it was
    /// cut).
    pub fn bootargs(&self) -> &[u8] {
        &self.bootargs[..self.bootargs_len]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    extern crate std;

    use std::format;
    use std::string::ToString;
    use std::vec::Vec;

    use super::*;

    /// Builds DTBs for tests.
    #[derive(Default)]
    pub(crate) struct Builder {
        structure: Vec<u8>,
        strings: Vec<u8>,
        reservations: Vec<(u64, u64)>,
    }

    impl Builder {
        pub(crate) fn begin(&mut self, name: &str) -> &mut Self {
            self.token(FDT_BEGIN_NODE);
            self.structure.extend_from_slice(name.as_bytes());
            self.structure.push(0);
            self.pad();
            self
        }

        pub(crate) fn end(&mut self) -> &mut Self {
            self.token(FDT_END_NODE);
            self
        }

        pub(crate) fn prop(&mut self, name: &str, value: &[u8]) -> &mut Self {
            let off = self.strings.len() as u32;
            self.strings.extend_from_slice(name.as_bytes());
            self.strings.push(0);
            self.token(FDT_PROP);
            self.structure
                .extend_from_slice(&(value.len() as u32).to_be_bytes());
            self.structure.extend_from_slice(&off.to_be_bytes());
            self.structure.extend_from_slice(value);
            self.pad();
            self
        }

        pub(crate) fn cells(&mut self, name: &str, cells: &[u32]) -> &mut Self {
            let bytes: Vec<u8> = cells.iter().flat_map(|c| c.to_be_bytes()).collect();
            self.prop(name, &bytes)
        }

        pub(crate) fn reserve(&mut self, addr: u64, size: u64) -> &mut Self {
            self.reservations.push((addr, size));
            self
        }

        fn token(&mut self, token: u32) {
            self.structure.extend_from_slice(&token.to_be_bytes());
        }

        fn pad(&mut self) {
            while !self.structure.len().is_multiple_of(4) {
                self.structure.push(0);
            }
        }

        pub(crate) fn finish(&mut self) -> Vec<u8> {
            self.token(FDT_END);
            let rsv_off = FDT_HEADER_SIZE;
            let rsv_len = (self.reservations.len() + 1) * 16;
            let struct_off = rsv_off + rsv_len;
            let strings_off = struct_off + self.structure.len();
            let total = strings_off + self.strings.len();
            let mut out = Vec::new();
            for v in [
                FDT_MAGIC,
                total as u32,
                struct_off as u32,
                strings_off as u32,
                rsv_off as u32,
                17,
                16,
                0,
                self.strings.len() as u32,
                self.structure.len() as u32,
            ] {
                out.extend_from_slice(&v.to_be_bytes());
            }
            for &(a, s) in self.reservations.iter().chain([(0, 0)].iter()) {
                out.extend_from_slice(&a.to_be_bytes());
                out.extend_from_slice(&s.to_be_bytes());
            }
            out.extend_from_slice(&self.structure);
            out.extend_from_slice(&self.strings);
            out
        }
    }

    /// The shape of QEMU `virt`'s device tree (QEMU 10, `-machine virt,gic-version=3`).
    pub(crate) fn qemu_virt(bootargs: &str, psci: &str) -> Vec<u8> {
        let mut b = Builder::default();
        b.begin("")
            .cells("#address-cells", &[2])
            .cells("#size-cells", &[2])
            .prop("compatible", b"linux,dummy-virt\0")
            .begin("psci")
            .prop("compatible", b"arm,psci-1.0\0arm,psci-0.2\0arm,psci\0")
            .prop("method", format!("{psci}\0").as_bytes())
            .end()
            .begin("memory@40000000")
            .cells("reg", &[0, 0x4000_0000, 0, 0x0800_0000])
            .prop("device_type", b"memory\0")
            .end()
            .begin("pl011@9000000")
            .cells("reg", &[0, 0x0900_0000, 0, 0x1000])
            .prop("compatible", b"arm,pl011\0arm,primecell\0")
            .end()
            .begin("intc@8000000")
            .cells(
                "reg",
                &[0, 0x0800_0000, 0, 0x1_0000, 0, 0x080A_0000, 0, 0x00F6_0000],
            )
            .prop("compatible", b"arm,gic-v3\0")
            .end()
            .begin("timer")
            .cells(
                "interrupts",
                &[1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104],
            )
            .prop("compatible", b"arm,armv8-timer\0arm,armv7-timer\0")
            .end()
            .begin("chosen")
            .prop("bootargs", format!("{bootargs}\0").as_bytes())
            .prop("stdout-path", b"/pl011@9000000\0")
            .end()
            .end()
            .reserve(0x4800_0000, 0x1000)
            .finish()
    }

    #[test]
    fn reads_what_qemu_virt_describes() {
        let blob = qemu_virt("selftest", "hvc");
        let dt = DeviceTree::parse(&Fdt::new(&blob).unwrap()).unwrap();
        assert_eq!(
            dt.regions(),
            [
                MemoryRegion {
                    start: 0x4000_0000,
                    size: 0x0800_0000,
                    kind: RegionKind::RAM
                },
                MemoryRegion {
                    start: 0x4800_0000,
                    size: 0x1000,
                    kind: RegionKind::RESERVED
                },
            ]
        );
        assert_eq!(dt.bootargs(), b"selftest");
        assert_eq!(dt.psci, Some(PsciConduit::Hvc));
        assert_eq!(
            dt.gic,
            Some(Gic::V3 {
                distributor: (0x0800_0000, 0x1_0000),
                redistributors: (0x080A_0000, 0xF6_0000)
            })
        );
        assert_eq!(dt.virtual_timer_intid, Some(27));
        assert_eq!(dt.pl011, Some(0x0900_0000));
    }

    #[test]
    fn smc_conduit_gicv2_and_one_cell_sizes() {
        let mut b = Builder::default();
        let blob = b
            .begin("")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1])
            .begin("psci")
            .prop("method", b"smc\0")
            .end()
            .begin("memory")
            .prop("device_type", b"memory\0")
            .cells("reg", &[0x8000_0000, 0x100_0000, 0x9000_0000, 0x10_0000])
            .end()
            .begin("intc")
            .prop("compatible", b"arm,cortex-a15-gic\0")
            .end()
            .end()
            .finish();
        let dt = DeviceTree::parse(&Fdt::new(&blob).unwrap()).unwrap();
        assert_eq!(dt.psci, Some(PsciConduit::Smc));
        assert_eq!(dt.gic, Some(Gic::V2));
        assert_eq!(dt.regions().len(), 2);
        assert_eq!(dt.regions()[1].start, 0x9000_0000);
        assert_eq!(dt.bootargs(), b"");
        assert_eq!(dt.virtual_timer_intid, None);
    }

    #[test]
    fn header_errors_are_typed() {
        let blob = qemu_virt("", "hvc");
        assert_eq!(Fdt::new(&blob[..20]).unwrap_err(), FdtError::Truncated);
        assert_eq!(
            Fdt::new(&blob[..blob.len() - 1]).unwrap_err(),
            FdtError::Truncated
        );
        let mut bad = blob.clone();
        bad[0] = 0;
        assert_eq!(Fdt::new(&bad).unwrap_err(), FdtError::BadMagic(0x000d_feed));
        let mut big = blob.clone();
        big[4..8].copy_from_slice(&(3_u32 << 20).to_be_bytes());
        assert_eq!(Fdt::new(&big).unwrap_err(), FdtError::TooLarge(3 << 20));
        let mut new = blob.clone();
        new[24..28].copy_from_slice(&18_u32.to_be_bytes());
        assert_eq!(Fdt::new(&new).unwrap_err(), FdtError::Version(18));
        let mut strings = blob;
        strings[32..36].copy_from_slice(&0x10_0000_u32.to_be_bytes());
        assert!(matches!(
            Fdt::new(&strings).unwrap_err(),
            FdtError::OutOfBounds {
                what: "strings block",
                ..
            }
        ));
    }

    #[test]
    fn structure_errors_are_typed() {
        let mut b = Builder::default();
        let unbalanced = b.begin("").end().end().finish();
        let fdt = Fdt::new(&unbalanced).unwrap();
        assert_eq!(DeviceTree::parse(&fdt).unwrap_err(), FdtError::BadNesting);
        let mut b = Builder::default();
        let open = b.begin("").finish();
        let fdt = Fdt::new(&open).unwrap();
        assert_eq!(DeviceTree::parse(&fdt).unwrap_err(), FdtError::BadNesting);
        let mut b = Builder::default();
        let mut cells = b
            .begin("")
            .cells("#address-cells", &[3])
            .begin("memory")
            .prop("device_type", b"memory\0")
            .cells("reg", &[0, 0, 0, 0])
            .end()
            .end()
            .finish();
        let fdt = Fdt::new(&cells).unwrap();
        assert_eq!(
            DeviceTree::parse(&fdt).unwrap_err(),
            FdtError::Cells { what: "reg" }
        );
        // An unknown token where the root should begin.
        cells[FDT_HEADER_SIZE + 16 + 3] = 7;
        let fdt = Fdt::new(&cells).unwrap();
        assert!(matches!(
            DeviceTree::parse(&fdt).unwrap_err(),
            FdtError::BadToken { token: 7, .. }
        ));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut b = Builder::default();
        for _ in 0..=MAX_DEPTH {
            b.begin("n");
        }
        for _ in 0..=MAX_DEPTH {
            b.end();
        }
        let blob = b.finish();
        assert_eq!(
            DeviceTree::parse(&Fdt::new(&blob).unwrap()).unwrap_err(),
            FdtError::BadNesting
        );
    }

    #[test]
    fn boot_info_from_the_device_tree_caps_the_command_line() {
        use crate::bootinfo::{BootInfo, EntryKind, MemoryMapSource};
        let long = "x".repeat(MAX_CMDLINE + 40);
        let blob = qemu_virt(&long, "hvc");
        let dt = DeviceTree::parse(&Fdt::new(&blob).unwrap()).unwrap();
        let boot = BootInfo::from_parts(
            EntryKind::Arm64Image,
            0x4400_0000,
            MemoryMapSource::DeviceTree,
            dt.regions(),
            dt.regions_dropped(),
            dt.bootargs(),
        );
        assert_eq!(boot.cmdline_bytes().len(), MAX_CMDLINE);
        assert!(boot.cmdline_truncated());
        assert_eq!(boot.ram_bytes(), 128 << 20);
        assert_eq!(boot.start_info(), 0x4400_0000);
        assert_eq!(boot.entry().to_string(), "arm64 Image");
        let short = BootInfo::from_parts(
            EntryKind::Arm64Image,
            0,
            MemoryMapSource::DeviceTree,
            dt.regions(),
            0,
            b"selftest",
        );
        assert_eq!(short.cmdline(), Some("selftest"));
        assert!(!short.cmdline_truncated());
    }

    proptest::proptest! {
        /// Any corruption of a valid blob is read or refused, never a panic.
        #[test]
        fn corrupted_blobs_never_panic(
            edits in proptest::collection::vec((0_usize..600, proptest::num::u8::ANY), 1..8),
            cut in 0_usize..600,
        ) {
            let mut blob = qemu_virt("console=ttyAMA0", "hvc");
            for (at, byte) in edits {
                if let Some(b) = blob.get_mut(at) {
                    *b = byte;
                }
            }
            let _ = Fdt::new(&blob).and_then(|fdt| DeviceTree::parse(&fdt));
            let _ = Fdt::new(&blob[..cut.min(blob.len())]).and_then(|fdt| DeviceTree::parse(&fdt));
        }
    }
}
