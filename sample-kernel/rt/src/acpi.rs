//! The few ACPI tables the runtime reads: the RSDP, the RSDT/XSDT that list the other
//! tables, the SPCR (Serial Port Console Redirection table), which names the UART a
//! console should use, and the MADT, which lists the processors (x86_64) and describes
//! the GIC (arm64), with the FADT and GTDT on arm64 (PSCI conduit, generic timer
//! interrupts; [`ArmPlatform`]).
//!
//! Layouts (all little-endian, offsets in bytes):
//!
//! * RSDP (ACPI 6.5, 5.2.5.3): `"RSD PTR "` (8), checksum of the first 20 bytes (8),
//!   OEM ID (9..15), revision (15; 0 = ACPI 1.0, which has only the first 20 bytes),
//!   `RsdtAddress: u32` (16), `Length: u32` (20), `XsdtAddress: u64` (24), extended checksum
//!   over `Length` bytes (32).
//! * System description table header (ACPI 6.5, 5.2.6), 36 bytes: signature (0..4),
//!   `Length: u32` (4) of the whole table, revision (8), checksum over `Length` bytes (9),
//!   OEM fields. The RSDT (5.2.7) follows it with `u32` table addresses, the XSDT (5.2.8)
//!   with `u64` ones.
//! * Generic Address Structure (ACPI 6.5, 5.2.3.2), 12 bytes: address space ID (0 = system
//!   memory, 1 = system I/O), register bit width, bit offset, access size, `Address: u64`.
//! * SPCR (Microsoft "Serial Port Console Redirection Table", revisions 1-4): header,
//!   interface type (36; the DBG2 serial port subtypes), 3 reserved bytes, the UART's base
//!   address as a Generic Address Structure (40), interrupt type (52), PC-AT IRQ (53),
//!   global system interrupt (54), configured baud rate code (58), ...; 80 bytes in
//!   revision 2.
//! * MADT (ACPI 6.5, 5.2.12), signature `APIC`: header, `Local Interrupt Controller
//!   Address: u32` (36), `Flags: u32` (40), then interrupt controller structures from 44,
//!   each starting with `Type: u8` and `Length: u8`. x86_64: Processor Local APIC
//!   (type 0, 8 bytes): ACPI processor UID (2), APIC id (3), flags `u32` (4). Processor
//!   Local x2APIC (type 9, 16 bytes): reserved (2), x2APIC id `u32` (4), flags `u32` (8),
//!   ACPI processor UID `u32` (12). Flags bit 0 is "enabled", bit 1 "online capable"
//!   (5.2.12.2).
//!   arm64 (the ones read here):
//!   * GIC CPU interface, GICC (type 0x0B, 5.2.12.14; 76 bytes in ACPI 5.1, 80 in 6.0, 82
//!     in 6.5): `Flags: u32` (12; bit 0 enabled), `GICR Base Address: u64` (60), `MPIDR:
//!     u64` (68);
//!   * GIC distributor, GICD (type 0x0C, 5.2.12.15; 24 bytes): `Physical Base Address:
//!     u64` (8), `GIC version: u8` (20; 0 = not given, 1-4 = GICv1-v4);
//!   * GIC redistributor, GICR (type 0x0E, 5.2.12.17; 16 bytes): `Discovery Range Base
//!     Address: u64` (4), `Discovery Range Length: u32` (12).
//! * FADT (ACPI 6.5, 5.2.9), signature `FACP`: `ARM_BOOT_ARCH: u16` at 129 (table 5.11,
//!   from FADT revision 5, ACPI 5.1): bit 0 PSCI compliant, bit 1 PSCI uses HVC (not SMC).
//! * GTDT (ACPI 6.5, 5.2.25): header, `CntControlBase Physical Address: u64` (36), a
//!   reserved `u32` (44), then GSIV and flags (`u32` each) of the secure EL1 timer (48, 52),
//!   the non-secure EL1 timer (56, 60), the virtual EL1 timer (64, 68) and the EL2 timer
//!   (72, 76), ...
//!
//! Every byte here comes from the firmware, so it is read through [`PhysMemory`] (which
//! bounds-checks every access); table lengths and table counts are capped, checksums are
//! verified, and bad data is an [`AcpiError`], never a panic.

use core::fmt;

use crate::bootinfo::{PhysMemory, Unreadable};
use crate::fdt::{Gic, PsciConduit};

/// Size of the ACPI 1.0 part of the RSDP, which its first checksum covers.
const RSDP_V1_SIZE: usize = 20;

/// Size of the ACPI 2.0+ RSDP.
const RSDP_V2_SIZE: usize = 36;

/// Size of a system description table header.
const SDT_HEADER_SIZE: u32 = 36;

/// The longest table the parser reads (checksums are computed over the whole table).
pub const MAX_TABLE_LENGTH: u32 = 64 * 1024;

/// At most this many RSDT/XSDT entries are searched.
pub const MAX_TABLES: u32 = 256;

/// The smallest SPCR that holds the UART's address and baud rate (up to and including the
/// baud rate code at offset 58).
const SPCR_MIN_LENGTH: u32 = 59;

/// Why the ACPI tables could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// A structure lies outside readable memory.
    Unreadable {
        /// Which structure.
        what: &'static str,
        /// Its physical address.
        paddr: u64,
    },
    /// A structure does not start with its signature.
    BadSignature {
        /// Which structure.
        what: &'static str,
        /// Its physical address.
        paddr: u64,
    },
    /// The bytes of a structure do not sum to zero.
    BadChecksum {
        /// Which structure.
        what: &'static str,
        /// Its physical address.
        paddr: u64,
    },
    /// A length field is too small for the structure, or larger than [`MAX_TABLE_LENGTH`].
    BadLength {
        /// Which structure.
        what: &'static str,
        /// Its physical address.
        paddr: u64,
        /// The length it claims.
        length: u32,
    },
    /// A table lacks a structure the others make necessary (a GICv3 distributor without
    /// any redistributor for this processor).
    Missing {
        /// What is missing.
        what: &'static str,
        /// The table's physical address.
        paddr: u64,
    },
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Unreadable { what, paddr } => {
                write!(f, "{what} at {paddr:#x} is outside readable memory")
            }
            Self::BadSignature { what, paddr } => {
                write!(f, "{what} at {paddr:#x} has a wrong signature")
            }
            Self::BadChecksum { what, paddr } => {
                write!(f, "{what} at {paddr:#x} has a wrong checksum")
            }
            Self::BadLength {
                what,
                paddr,
                length,
            } => write!(f, "{what} at {paddr:#x} claims length {length}"),
            Self::Missing { what, paddr } => {
                write!(f, "the table at {paddr:#x} has no {what}")
            }
        }
    }
}

impl core::error::Error for AcpiError {}

/// The root pointer: where the table list is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rsdp {
    /// Physical address of the RSDP itself.
    pub paddr: u64,
    /// The RSDP revision (0 = ACPI 1.0, 2 = ACPI 2.0 and later).
    pub revision: u8,
    /// The RSDT's physical address (32-bit table addresses).
    pub rsdt: u32,
    /// The XSDT's physical address (64-bit table addresses), when the revision has one and
    /// it is not 0. Used in preference to the RSDT (ACPI 6.5, 5.2.5.3).
    pub xsdt: Option<u64>,
}

impl Rsdp {
    /// Reads and checks the RSDP at `paddr`: signature, the ACPI 1.0 checksum and, for
    /// revision 2 and later, the length and the extended checksum.
    ///
    /// # Errors
    ///
    /// [`AcpiError`] when the RSDP is unreadable, has a wrong signature, checksum or length.
    pub fn read(mem: &impl PhysMemory, paddr: u64) -> Result<Self, AcpiError> {
        const WHAT: &str = "RSDP";
        let mut raw = [0_u8; RSDP_V2_SIZE];
        read(mem, paddr, &mut raw[..RSDP_V1_SIZE], WHAT)?;
        if &raw[..8] != b"RSD PTR " {
            return Err(AcpiError::BadSignature { what: WHAT, paddr });
        }
        if !sums_to_zero(&raw[..RSDP_V1_SIZE]) {
            return Err(AcpiError::BadChecksum { what: WHAT, paddr });
        }
        let revision = raw[15];
        let rsdt = le_u32(&raw, 16);
        if revision < 2 {
            return Ok(Self {
                paddr,
                revision,
                rsdt,
                xsdt: None,
            });
        }
        read(mem, paddr, &mut raw, WHAT)?;
        let length = le_u32(&raw, 20);
        if length < RSDP_V2_SIZE as u32 || length > MAX_TABLE_LENGTH {
            return Err(AcpiError::BadLength {
                what: WHAT,
                paddr,
                length,
            });
        }
        if checksum(mem, paddr, length, WHAT)? != 0 {
            return Err(AcpiError::BadChecksum { what: WHAT, paddr });
        }
        let xsdt = le_u64(&raw, 24);
        Ok(Self {
            paddr,
            revision,
            rsdt,
            xsdt: (xsdt != 0).then_some(xsdt),
        })
    }

    /// Finds the first table with `signature` listed in the XSDT (or, without one, the
    /// RSDT) whose header and checksum are valid, and returns its physical address.
    /// Entries pointing at unreadable memory or at tables with a bad checksum are
    /// skipped, like an operating system skips them; only a broken XSDT/RSDT is an error.
    ///
    /// # Errors
    ///
    /// [`AcpiError`] when the XSDT/RSDT itself is unreadable, has a wrong signature,
    /// length or checksum.
    pub fn find_table(
        &self,
        mem: &impl PhysMemory,
        signature: &[u8; 4],
    ) -> Result<Option<u64>, AcpiError> {
        let (what, root, sig, entry_size): (_, _, &[u8; 4], u32) = match self.xsdt {
            Some(xsdt) => ("XSDT", xsdt, b"XSDT", 8),
            None => ("RSDT", u64::from(self.rsdt), b"RSDT", 4),
        };
        let length = table_header(mem, root, sig, what)?;
        let entries = ((length - SDT_HEADER_SIZE) / entry_size).min(MAX_TABLES);
        for i in 0..entries {
            let at = root
                .checked_add(u64::from(SDT_HEADER_SIZE + i * entry_size))
                .ok_or(AcpiError::Unreadable { what, paddr: root })?;
            let mut raw = [0_u8; 8];
            read(mem, at, &mut raw[..entry_size as usize], what)?;
            let table = le_u64(&raw, 0);
            if table == 0 {
                continue;
            }
            let mut head = [0_u8; 4];
            if mem.read(table, &mut head).is_err() || &head != signature {
                continue;
            }
            if table_header(mem, table, signature, "table").is_ok() {
                return Ok(Some(table));
            }
        }
        Ok(None)
    }
}

/// An ACPI Generic Address Structure (ACPI 6.5, 5.2.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenericAddress {
    /// The address space.
    pub space: AddressSpace,
    /// Register width in bits (0 = not given).
    pub bit_width: u8,
    /// Register offset in bits.
    pub bit_offset: u8,
    /// Access size: 0 undefined, 1 byte, 2 word, 3 dword, 4 qword.
    pub access_size: u8,
    /// The address in that space.
    pub address: u64,
}

/// A Generic Address Structure's address space ID (ACPI 6.5, table 5.25); an open set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressSpace(pub u8);

impl AddressSpace {
    /// System memory (MMIO).
    pub const SYSTEM_MEMORY: Self = Self(0);
    /// System I/O (x86 port space).
    pub const SYSTEM_IO: Self = Self(1);
}

/// The SPCR's interface type: the DBG2 serial port subtype (Microsoft "Debug Port Table 2",
/// table 3); an open set.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UartInterface(pub u8);

impl UartInterface {
    /// Fully 16550-compatible.
    pub const FULL_16550: Self = Self(0x00);
    /// The 16550 subset of the DBGP specification (a 16450 register set).
    pub const SUBSET_16550: Self = Self(0x01);
    /// ARM PL011.
    pub const ARM_PL011: Self = Self(0x03);
    /// ARM SBSA generic UART, 32-bit accesses only (deprecated subtype).
    pub const ARM_SBSA_32BIT: Self = Self(0x0d);
    /// ARM SBSA generic UART.
    pub const ARM_SBSA_GENERIC: Self = Self(0x0e);
    /// 16550-compatible with the register layout given by the Generic Address Structure.
    pub const COMPATIBLE_16550_WITH_GAS: Self = Self(0x12);

    /// Whether software drives it like a 16550 (full, subset, or laid out by the GAS).
    pub const fn is_16550(self) -> bool {
        matches!(self.0, 0x00 | 0x01 | 0x12)
    }

    /// The name of a known interface.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "16550",
            0x01 => "16550 subset",
            0x03 => "PL011",
            0x0d => "SBSA generic UART (32-bit)",
            0x0e => "SBSA generic UART",
            0x12 => "16550 (GAS layout)",
            _ => return None,
        })
    }
}

impl fmt::Debug for UartInterface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "interface type {:#x}", self.0),
        }
    }
}

impl fmt::Display for UartInterface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What the SPCR says about the console UART.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spcr {
    /// Physical address of the table.
    pub paddr: u64,
    /// The table's revision.
    pub revision: u8,
    /// The kind of UART.
    pub interface: UartInterface,
    /// Where its registers are.
    pub base: GenericAddress,
    /// The configured baud rate code: 0 = as the firmware left it, 3 = 9600, 4 = 19200,
    /// 6 = 57600, 7 = 115200.
    pub baud_rate: u8,
}

impl Spcr {
    /// Reads the SPCR at `paddr` (as [`Rsdp::find_table`] found it).
    ///
    /// # Errors
    ///
    /// [`AcpiError`] when the table is unreadable, is not an SPCR, is too short to name
    /// the UART, or has a wrong checksum.
    pub fn read(mem: &impl PhysMemory, paddr: u64) -> Result<Self, AcpiError> {
        const WHAT: &str = "SPCR";
        let length = table_header(mem, paddr, b"SPCR", WHAT)?;
        if length < SPCR_MIN_LENGTH {
            return Err(AcpiError::BadLength {
                what: WHAT,
                paddr,
                length,
            });
        }
        let mut raw = [0_u8; SPCR_MIN_LENGTH as usize];
        read(mem, paddr, &mut raw, WHAT)?;
        Ok(Self {
            paddr,
            revision: raw[8],
            interface: UartInterface(raw[36]),
            base: GenericAddress {
                space: AddressSpace(raw[40]),
                bit_width: raw[41],
                bit_offset: raw[42],
                access_size: raw[43],
                address: le_u64(&raw, 44),
            },
            baud_rate: raw[58],
        })
    }

    /// Finds and reads the SPCR through the root pointer at `rsdp`; `None` when the
    /// firmware has none.
    ///
    /// # Errors
    ///
    /// [`AcpiError`] when the RSDP, the XSDT/RSDT or the SPCR is broken.
    pub fn find(mem: &impl PhysMemory, rsdp: u64) -> Result<Option<Self>, AcpiError> {
        let rsdp = Rsdp::read(mem, rsdp)?;
        match rsdp.find_table(mem, b"SPCR")? {
            Some(paddr) => Self::read(mem, paddr).map(Some),
            None => Ok(None),
        }
    }
}

/// One processor the MADT lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MadtProcessor {
    /// Its local APIC id (x2APIC id for an x2APIC entry).
    pub apic_id: u32,
    /// Its ACPI processor UID.
    pub uid: u32,
    /// Flags bit 0: the processor is usable now.
    pub enabled: bool,
    /// Flags bit 1: a disabled processor that can be brought online.
    pub online_capable: bool,
}

/// The Multiple APIC Description Table (ACPI 6.5, 5.2.12): where the processors are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Madt {
    /// Physical address of the table.
    pub paddr: u64,
    /// Its length in bytes (checked against [`MAX_TABLE_LENGTH`]).
    length: u32,
}

/// Offset of the first MADT entry: header, local APIC address, flags.
const MADT_ENTRIES: u32 = SDT_HEADER_SIZE + 8;

impl Madt {
    /// Finds the MADT through the root pointer at `rsdp`; `None` when the firmware has
    /// none.
    ///
    /// # Errors
    ///
    /// [`AcpiError`] when the RSDP, the XSDT/RSDT or the MADT header is broken.
    pub fn find(mem: &impl PhysMemory, rsdp: u64) -> Result<Option<Self>, AcpiError> {
        let rsdp = Rsdp::read(mem, rsdp)?;
        let Some(paddr) = rsdp.find_table(mem, b"APIC")? else {
            return Ok(None);
        };
        let length = table_header(mem, paddr, b"APIC", "MADT")?;
        if length < MADT_ENTRIES {
            return Err(AcpiError::BadLength {
                what: "MADT",
                paddr,
                length,
            });
        }
        Ok(Some(Self { paddr, length }))
    }

    /// The processors the table lists, in table order (Processor Local APIC and Processor
    /// Local x2APIC entries; other entries are skipped).
    pub fn processors<'m, M: PhysMemory>(&self, mem: &'m M) -> MadtProcessors<'m, M> {
        MadtProcessors {
            mem,
            madt: *self,
            offset: MADT_ENTRIES,
        }
    }
}

/// The processors of a [`Madt`]; an entry that is cut short or claims a length below 2 ends
/// the walk with an error.
#[derive(Debug)]
pub struct MadtProcessors<'m, M> {
    mem: &'m M,
    madt: Madt,
    offset: u32,
}

impl<M: PhysMemory> Iterator for MadtProcessors<'_, M> {
    type Item = Result<MadtProcessor, AcpiError>;

    fn next(&mut self) -> Option<Self::Item> {
        const WHAT: &str = "MADT entry";
        while self.offset < self.madt.length {
            let paddr = self.madt.paddr + u64::from(self.offset);
            let mut head = [0_u8; 2];
            if let Err(e) = read(self.mem, paddr, &mut head, WHAT) {
                self.offset = self.madt.length;
                return Some(Err(e));
            }
            let length = u32::from(head[1]);
            let expected = match head[0] {
                0 => 8,
                9 => 16,
                _ => 2,
            };
            if length < expected || self.offset + length > self.madt.length {
                self.offset = self.madt.length;
                return Some(Err(AcpiError::BadLength {
                    what: WHAT,
                    paddr,
                    length,
                }));
            }
            self.offset += length;
            let mut entry = [0_u8; 16];
            let entry = &mut entry[..expected as usize];
            if let Err(e) = read(self.mem, paddr, entry, WHAT) {
                self.offset = self.madt.length;
                return Some(Err(e));
            }
            let (apic_id, uid, flags) = match head[0] {
                0 => (u32::from(entry[3]), u32::from(entry[2]), le_u32(entry, 4)),
                9 => (le_u32(entry, 4), le_u32(entry, 12), le_u32(entry, 8)),
                _ => continue,
            };
            return Some(Ok(MadtProcessor {
                apic_id,
                uid,
                enabled: flags & 1 != 0,
                online_capable: flags & 2 != 0,
            }));
        }
        None
    }
}

/// MADT structure types (ACPI 6.5, table 5.21).
const MADT_GICC: u8 = 0x0b;
const MADT_GICD: u8 = 0x0c;
const MADT_GICR: u8 = 0x0e;

/// The shortest GICC that holds the MPIDR (ACPI 5.1's layout).
const GICC_MIN_LENGTH: u8 = 76;
/// GICD and GICR lengths.
const GICD_LENGTH: u8 = 24;
const GICR_LENGTH: u8 = 16;

/// The GICC flag "enabled" (ACPI 6.5, table 5.38).
const GICC_ENABLED: u32 = 1 << 0;

/// The GICv3 distributor's register frame (64 KiB; Arm IHI 0069, 12.8).
const GICD_SIZE: u64 = 0x1_0000;
/// One redistributor of a GICv3 (RD_base and SGI_base frames), and of a GICv4 (two more
/// frames for virtual LPIs); Arm IHI 0069, 12.10.
const GICR_V3_SIZE: u64 = 0x2_0000;
const GICR_V4_SIZE: u64 = 0x4_0000;

/// The MPIDR affinity fields the MADT's GICC and the processor compare: Aff3 (39:32) and
/// Aff2-Aff0 (23:0).
pub const MPIDR_AFFINITY_MASK: u64 = 0xff_00ff_ffff;

/// The FADT's `ARM_BOOT_ARCH` and the length that holds it, the first FADT revision that
/// has it, and its flags (ACPI 6.5, 5.2.9 and table 5.11).
const FADT_ARM_BOOT_ARCH: usize = 129;
const FADT_ARM_MIN_LENGTH: u32 = 131;
const FADT_ARM_MIN_REVISION: u8 = 5;
const ARM_PSCI_COMPLIANT: u16 = 1 << 0;
const ARM_PSCI_USE_HVC: u16 = 1 << 1;

/// The GTDT's virtual EL1 timer GSIV, and the length up to its flags.
const GTDT_VIRTUAL_TIMER_GSIV: usize = 64;
const GTDT_MIN_LENGTH: u32 = 72;

/// What the ACPI tables say about an arm64 machine: the GIC (MADT), the PSCI conduit
/// (FADT) and the virtual timer's interrupt (GTDT). The arm64 UEFI entry takes these instead
/// of a device tree's (`docs/architecture.md`, "UEFI entry").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArmPlatform {
    /// The interrupt controller: a GICv3 (distributor and the redistributor region of this
    /// processor; a GICD of version 3 or 4, or of version 0, "not given", when
    /// redistributors are described), or [`Gic::V2`] for a GICv1/v2, version 0 without
    /// redistributors, or a version the runtime does not know; `None` when there is no MADT
    /// or it has no distributor.
    pub gic: Option<Gic>,
    /// The PSCI conduit, when the FADT says the machine is PSCI compliant.
    pub psci: Option<PsciConduit>,
    /// The virtual EL1 timer's interrupt id, when the GTDT gives a PPI (16-31).
    pub virtual_timer_intid: Option<u32>,
}

impl ArmPlatform {
    /// Reads the MADT, FADT and GTDT through the root pointer at `rsdp`. `affinity` is this
    /// processor's MPIDR_EL1 (the fields of [`MPIDR_AFFINITY_MASK`] are compared): when the
    /// MADT lists no redistributor ranges (GICR structures), the redistributor is the one
    /// this processor's GICC names.
    ///
    /// # Errors
    ///
    /// [`AcpiError`] when the RSDP or the XSDT/RSDT is broken, when a table is too short
    /// for what is read from it, when a MADT structure's length is wrong, or when a GICv3
    /// distributor has no redistributor for this processor.
    pub fn find(mem: &impl PhysMemory, rsdp: u64, affinity: u64) -> Result<Self, AcpiError> {
        let rsdp = Rsdp::read(mem, rsdp)?;
        let gic = match rsdp.find_table(mem, b"APIC")? {
            Some(madt) => madt_gic(mem, madt, affinity)?,
            None => None,
        };
        let psci = match rsdp.find_table(mem, b"FACP")? {
            Some(fadt) => fadt_psci(mem, fadt)?,
            None => None,
        };
        let virtual_timer_intid = match rsdp.find_table(mem, b"GTDT")? {
            Some(gtdt) => gtdt_virtual_timer(mem, gtdt)?,
            None => None,
        };
        Ok(Self {
            gic,
            psci,
            virtual_timer_intid,
        })
    }
}

/// The GIC the MADT at `madt` describes (see [`ArmPlatform::gic`]).
fn madt_gic(mem: &impl PhysMemory, madt: u64, affinity: u64) -> Result<Option<Gic>, AcpiError> {
    const WHAT: &str = "MADT structure";
    let length = table_header(mem, madt, b"APIC", "MADT")?;
    if length < MADT_ENTRIES {
        return Err(AcpiError::BadLength {
            what: "MADT",
            paddr: madt,
            length,
        });
    }
    let mut distributor = None;
    let mut gicr_range = None;
    let mut gicc_redistributor = None;
    let mut any_gicc_redistributor = false;
    let mut offset = MADT_ENTRIES;
    while offset < length {
        let at = madt + u64::from(offset);
        let mut head = [0_u8; 2];
        read(mem, at, &mut head, WHAT)?;
        let [kind, entry_length] = head;
        let minimum = match kind {
            MADT_GICC => GICC_MIN_LENGTH,
            MADT_GICD => GICD_LENGTH,
            MADT_GICR => GICR_LENGTH,
            _ => 2,
        };
        if entry_length < minimum || offset + u32::from(entry_length) > length {
            return Err(AcpiError::BadLength {
                what: WHAT,
                paddr: at,
                length: u32::from(entry_length),
            });
        }
        let mut raw = [0_u8; GICC_MIN_LENGTH as usize];
        let raw = &mut raw[..usize::from(minimum)];
        read(mem, at, raw, WHAT)?;
        match kind {
            MADT_GICD if distributor.is_none() => distributor = Some((le_u64(raw, 8), raw[20])),
            MADT_GICR if gicr_range.is_none() => {
                gicr_range = Some((le_u64(raw, 4), u64::from(le_u32(raw, 12))));
            }
            MADT_GICC => {
                let enabled = le_u32(raw, 12) & GICC_ENABLED != 0;
                let mpidr = le_u64(raw, 68);
                let gicr = le_u64(raw, 60);
                let ours = (mpidr ^ affinity) & MPIDR_AFFINITY_MASK == 0;
                any_gicc_redistributor |= gicr != 0;
                if enabled && ours && gicr != 0 && gicc_redistributor.is_none() {
                    gicc_redistributor = Some(gicr);
                }
            }
            _ => {}
        }
        offset += u32::from(entry_length);
    }
    let Some((base, version)) = distributor else {
        return Ok(None);
    };
    let redistributors = gicr_range.or_else(|| {
        let size = if version == 4 {
            GICR_V4_SIZE
        } else {
            GICR_V3_SIZE
        };
        gicc_redistributor.map(|gicr| (gicr, size))
    });
    let v3 = match version {
        3 | 4 => true,
        // Not given: a GICv3 when redistributors are described at all.
        0 => gicr_range.is_some() || any_gicc_redistributor,
        _ => false,
    };
    if !v3 {
        return Ok(Some(Gic::V2));
    }
    let redistributors = redistributors.ok_or(AcpiError::Missing {
        what: "GIC redistributor for this processor",
        paddr: madt,
    })?;
    Ok(Some(Gic::V3 {
        distributor: (base, GICD_SIZE),
        redistributors,
    }))
}

/// The PSCI conduit the FADT at `fadt` names: `None` before FADT revision 5 or when the
/// machine is not PSCI compliant.
fn fadt_psci(mem: &impl PhysMemory, fadt: u64) -> Result<Option<PsciConduit>, AcpiError> {
    let length = table_header(mem, fadt, b"FACP", "FADT")?;
    let mut revision = [0_u8; 1];
    read(mem, fadt + 8, &mut revision, "FADT")?;
    if revision[0] < FADT_ARM_MIN_REVISION || length < FADT_ARM_MIN_LENGTH {
        return Ok(None);
    }
    let mut flags = [0_u8; 2];
    read(mem, fadt + FADT_ARM_BOOT_ARCH as u64, &mut flags, "FADT")?;
    let flags = u16::from_le_bytes(flags);
    Ok(
        (flags & ARM_PSCI_COMPLIANT != 0).then_some(if flags & ARM_PSCI_USE_HVC != 0 {
            PsciConduit::Hvc
        } else {
            PsciConduit::Smc
        }),
    )
}

/// The virtual EL1 timer's interrupt id the GTDT at `gtdt` gives, when it is a PPI.
fn gtdt_virtual_timer(mem: &impl PhysMemory, gtdt: u64) -> Result<Option<u32>, AcpiError> {
    let length = table_header(mem, gtdt, b"GTDT", "GTDT")?;
    if length < GTDT_MIN_LENGTH {
        return Err(AcpiError::BadLength {
            what: "GTDT",
            paddr: gtdt,
            length,
        });
    }
    let mut gsiv = [0_u8; 4];
    read(
        mem,
        gtdt + GTDT_VIRTUAL_TIMER_GSIV as u64,
        &mut gsiv,
        "GTDT",
    )?;
    let gsiv = u32::from_le_bytes(gsiv);
    Ok((16..32).contains(&gsiv).then_some(gsiv))
}

/// Checks the header of the table at `paddr`: signature, a length between the header
/// size and [`MAX_TABLE_LENGTH`], and the checksum. Returns the length.
fn table_header(
    mem: &impl PhysMemory,
    paddr: u64,
    signature: &[u8; 4],
    what: &'static str,
) -> Result<u32, AcpiError> {
    let mut head = [0_u8; SDT_HEADER_SIZE as usize];
    read(mem, paddr, &mut head, what)?;
    if &head[..4] != signature {
        return Err(AcpiError::BadSignature { what, paddr });
    }
    let length = le_u32(&head, 4);
    if !(SDT_HEADER_SIZE..=MAX_TABLE_LENGTH).contains(&length) {
        return Err(AcpiError::BadLength {
            what,
            paddr,
            length,
        });
    }
    if checksum(mem, paddr, length, what)? != 0 {
        return Err(AcpiError::BadChecksum { what, paddr });
    }
    Ok(length)
}

/// The 8-bit sum of `length` bytes at `paddr`, read in chunks.
fn checksum(
    mem: &impl PhysMemory,
    paddr: u64,
    length: u32,
    what: &'static str,
) -> Result<u8, AcpiError> {
    let mut sum = 0_u8;
    let mut chunk = [0_u8; 64];
    let mut done = 0_u32;
    while done < length {
        let n = (length - done).min(chunk.len() as u32) as usize;
        let at = paddr
            .checked_add(u64::from(done))
            .ok_or(AcpiError::Unreadable { what, paddr })?;
        read(mem, at, &mut chunk[..n], what)?;
        sum = chunk[..n].iter().fold(sum, |s, &b| s.wrapping_add(b));
        done += n as u32;
    }
    Ok(sum)
}

fn sums_to_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0_u8, |s, &b| s.wrapping_add(b)) == 0
}

fn read(
    mem: &impl PhysMemory,
    paddr: u64,
    buf: &mut [u8],
    what: &'static str,
) -> Result<(), AcpiError> {
    mem.read(paddr, buf)
        .map_err(|Unreadable| AcpiError::Unreadable { what, paddr })
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
pub(crate) mod tests {
    extern crate std;

    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    /// Guest memory for tests: `bytes` at physical address `base`, nothing else readable.
    pub(crate) struct FakeMemory {
        pub(crate) base: u64,
        pub(crate) bytes: Vec<u8>,
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

    pub(crate) const BASE: u64 = 0x7f00_0000;
    pub(crate) const RSDP_AT: u64 = BASE;
    const XSDT_AT: u64 = BASE + 0x100;
    const RSDT_AT: u64 = BASE + 0x200;
    const FACP_AT: u64 = BASE + 0x300;
    const SPCR_AT: u64 = BASE + 0x400;

    fn put(mem: &mut FakeMemory, at: u64, bytes: &[u8]) {
        let i = (at - mem.base) as usize;
        mem.bytes[i..i + bytes.len()].copy_from_slice(bytes);
    }

    /// Sets the byte at `checksum_at` so that `len` bytes from `start` sum to zero.
    fn fix_checksum(mem: &mut FakeMemory, start: u64, len: usize, checksum_at: u64) {
        let s = (start - mem.base) as usize;
        let c = (checksum_at - mem.base) as usize;
        mem.bytes[c] = 0;
        let sum = mem.bytes[s..s + len]
            .iter()
            .fold(0_u8, |a, &b| a.wrapping_add(b));
        mem.bytes[c] = sum.wrapping_neg();
    }

    fn table(mem: &mut FakeMemory, at: u64, signature: &[u8; 4], body: &[u8]) {
        let len = SDT_HEADER_SIZE as usize + body.len();
        let mut t = std::vec![0_u8; len];
        t[..4].copy_from_slice(signature);
        t[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        t[8] = 2;
        t[10..16].copy_from_slice(b"HVENLT");
        t[36..].copy_from_slice(body);
        put(mem, at, &t);
        fix_checksum(mem, at, len, at + 9);
    }

    /// The SPCR body (after the header) of a 16550 at I/O port `port`, 80-byte revision 2.
    pub(crate) fn spcr_body(interface: u8, space: u8, address: u64) -> Vec<u8> {
        let mut b = std::vec![0_u8; 80 - 36];
        b[0] = interface;
        b[4] = space;
        b[5] = 8;
        b[7] = 1;
        b[8..16].copy_from_slice(&address.to_le_bytes());
        b[22] = 7; // 115200 baud
        b
    }

    /// Firmware-like tables: RSDP revision 2, an XSDT and an RSDT listing a FACP and,
    /// with `spcr`, an SPCR.
    pub(crate) fn firmware(spcr: Option<Vec<u8>>) -> FakeMemory {
        let mut mem = FakeMemory {
            base: BASE,
            bytes: std::vec![0; 0x1000],
        };
        let mut rsdp = [0_u8; RSDP_V2_SIZE];
        rsdp[..8].copy_from_slice(b"RSD PTR ");
        rsdp[9..15].copy_from_slice(b"HVENLT");
        rsdp[15] = 2;
        rsdp[16..20].copy_from_slice(&(RSDT_AT as u32).to_le_bytes());
        rsdp[20..24].copy_from_slice(&(RSDP_V2_SIZE as u32).to_le_bytes());
        rsdp[24..32].copy_from_slice(&XSDT_AT.to_le_bytes());
        put(&mut mem, RSDP_AT, &rsdp);
        fix_checksum(&mut mem, RSDP_AT, RSDP_V1_SIZE, RSDP_AT + 8);
        fix_checksum(&mut mem, RSDP_AT, RSDP_V2_SIZE, RSDP_AT + 32);

        let mut tables = std::vec![FACP_AT];
        if let Some(body) = spcr {
            table(&mut mem, SPCR_AT, b"SPCR", &body);
            tables.push(SPCR_AT);
        }
        table(&mut mem, FACP_AT, b"FACP", &[0; 8]);
        let xsdt: Vec<u8> = tables.iter().flat_map(|t| t.to_le_bytes()).collect();
        table(&mut mem, XSDT_AT, b"XSDT", &xsdt);
        let rsdt: Vec<u8> = tables
            .iter()
            .flat_map(|&t| (t as u32).to_le_bytes())
            .collect();
        table(&mut mem, RSDT_AT, b"RSDT", &rsdt);
        mem
    }

    const MADT_AT: u64 = BASE + 0x500;

    /// `firmware(None)` plus a MADT with `entries` (raw entry bytes) listed in the XSDT.
    fn with_madt(entries: &[&[u8]]) -> FakeMemory {
        let mut mem = firmware(None);
        let mut body = std::vec![0_u8; 8];
        body[..4].copy_from_slice(&0xfee0_0000_u32.to_le_bytes());
        for entry in entries {
            body.extend_from_slice(entry);
        }
        table(&mut mem, MADT_AT, b"APIC", &body);
        let xsdt: Vec<u8> = [FACP_AT, MADT_AT]
            .iter()
            .flat_map(|t| t.to_le_bytes())
            .collect();
        table(&mut mem, XSDT_AT, b"XSDT", &xsdt);
        mem
    }

    #[test]
    fn madt_lists_local_apic_and_x2apic_processors() {
        let mem = with_madt(&[
            &[0, 8, 0, 0, 1, 0, 0, 0],              // UID 0, APIC 0, enabled
            &[1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // an I/O APIC: skipped
            &[0, 8, 1, 2, 2, 0, 0, 0],              // UID 1, APIC 2, online capable
            &[9, 16, 0, 0, 0x2c, 1, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0], // x2APIC 0x12c, UID 7
        ]);
        let madt = Madt::find(&mem, RSDP_AT).unwrap().unwrap();
        assert_eq!(madt.paddr, MADT_AT);
        let cpus: Vec<MadtProcessor> = madt.processors(&mem).map(Result::unwrap).collect();
        let ids: Vec<(u32, u32, bool, bool)> = cpus
            .iter()
            .map(|p| (p.apic_id, p.uid, p.enabled, p.online_capable))
            .collect();
        assert_eq!(
            ids,
            [
                (0, 0, true, false),
                (2, 1, false, true),
                (0x12c, 7, true, false)
            ]
        );
        assert_eq!(Madt::find(&firmware(None), RSDP_AT), Ok(None));
    }

    #[test]
    fn madt_entries_that_lie_are_errors_not_loops() {
        for bad in [&[0_u8, 0][..], &[0, 4, 0, 0], &[9, 8, 0, 0, 0, 0, 0, 0]] {
            let mem = with_madt(&[&[0, 8, 0, 0, 1, 0, 0, 0], bad]);
            let madt = Madt::find(&mem, RSDP_AT).unwrap().unwrap();
            let mut cpus = madt.processors(&mem);
            assert!(cpus.next().unwrap().is_ok());
            assert!(
                matches!(cpus.next(), Some(Err(AcpiError::BadLength { .. }))),
                "{bad:?}"
            );
            assert_eq!(cpus.next(), None);
        }
        // An entry running past the end of the table.
        let mem = with_madt(&[&[0, 8, 0, 0, 1, 0, 0, 0], &[0, 8, 1, 1]]);
        let madt = Madt::find(&mem, RSDP_AT).unwrap().unwrap();
        assert_eq!(madt.processors(&mem).filter(Result::is_err).count(), 1);
    }

    #[test]
    fn finds_a_16550_in_io_space_through_the_xsdt() {
        let mem = firmware(Some(spcr_body(0, 1, 0x3f8)));
        let rsdp = Rsdp::read(&mem, RSDP_AT).expect("valid RSDP");
        assert_eq!(rsdp.revision, 2);
        assert_eq!(rsdp.xsdt, Some(XSDT_AT));
        let spcr = Spcr::find(&mem, RSDP_AT)
            .expect("valid tables")
            .expect("an SPCR");
        assert_eq!(spcr.paddr, SPCR_AT);
        assert_eq!(spcr.interface, UartInterface::FULL_16550);
        assert!(spcr.interface.is_16550());
        assert_eq!(spcr.base.space, AddressSpace::SYSTEM_IO);
        assert_eq!(spcr.base.address, 0x3f8);
        assert_eq!(spcr.baud_rate, 7);
    }

    #[test]
    fn acpi_1_rsdp_uses_the_rsdt() {
        let mut mem = firmware(Some(spcr_body(3, 0, 0x900_0000)));
        mem.bytes[15] = 0;
        fix_checksum(&mut mem, RSDP_AT, RSDP_V1_SIZE, RSDP_AT + 8);
        let rsdp = Rsdp::read(&mem, RSDP_AT).expect("valid RSDP");
        assert_eq!(rsdp.xsdt, None);
        let spcr = Spcr::find(&mem, RSDP_AT)
            .expect("valid tables")
            .expect("an SPCR");
        assert_eq!(spcr.interface, UartInterface::ARM_PL011);
        assert_eq!(spcr.base.space, AddressSpace::SYSTEM_MEMORY);
        assert_eq!(spcr.base.address, 0x900_0000);
    }

    #[test]
    fn no_spcr_is_none() {
        let mem = firmware(None);
        assert_eq!(Spcr::find(&mem, RSDP_AT), Ok(None));
    }

    #[test]
    fn broken_rsdp_is_an_error() {
        let mut mem = firmware(None);
        mem.bytes[0] = b'X';
        assert_eq!(
            Rsdp::read(&mem, RSDP_AT),
            Err(AcpiError::BadSignature {
                what: "RSDP",
                paddr: RSDP_AT
            })
        );
        let mut mem = firmware(None);
        mem.bytes[10] ^= 1;
        assert_eq!(
            Rsdp::read(&mem, RSDP_AT),
            Err(AcpiError::BadChecksum {
                what: "RSDP",
                paddr: RSDP_AT
            })
        );
        assert_eq!(
            Rsdp::read(&mem, 0x10),
            Err(AcpiError::Unreadable {
                what: "RSDP",
                paddr: 0x10
            })
        );
    }

    #[test]
    fn a_table_with_a_bad_checksum_is_skipped() {
        let mut mem = firmware(Some(spcr_body(0, 1, 0x3f8)));
        let i = (SPCR_AT - BASE) as usize + 40;
        mem.bytes[i] ^= 0x80;
        assert_eq!(Spcr::find(&mem, RSDP_AT), Ok(None));
    }

    #[test]
    fn a_broken_xsdt_is_an_error() {
        let mut mem = firmware(None);
        let i = (XSDT_AT - BASE) as usize + 4;
        mem.bytes[i..i + 4].copy_from_slice(&0x10_0000_u32.to_le_bytes());
        assert_eq!(
            Spcr::find(&mem, RSDP_AT),
            Err(AcpiError::BadLength {
                what: "XSDT",
                paddr: XSDT_AT,
                length: 0x10_0000
            })
        );
    }

    #[test]
    fn a_short_spcr_is_an_error() {
        let mut mem = firmware(None);
        table(&mut mem, SPCR_AT, b"SPCR", &[0; 8]);
        assert_eq!(
            Spcr::read(&mem, SPCR_AT),
            Err(AcpiError::BadLength {
                what: "SPCR",
                paddr: SPCR_AT,
                length: 44
            })
        );
    }

    /// Where [`arm_firmware`] puts its tables.
    const ARM_TABLES_AT: u64 = BASE + 0x400;
    const ARM_TABLE_STRIDE: u64 = 0x400;

    /// Firmware-like tables of an arm64 machine: the RSDP and an XSDT listing each of
    /// `tables` (signature, revision, body).
    fn arm_firmware(tables: &[(&[u8; 4], u8, Vec<u8>)]) -> FakeMemory {
        let mut mem = firmware(None);
        mem.bytes
            .resize(0x400 + tables.len() * ARM_TABLE_STRIDE as usize, 0);
        let mut list = Vec::new();
        for (i, (signature, revision, body)) in tables.iter().enumerate() {
            let at = ARM_TABLES_AT + i as u64 * ARM_TABLE_STRIDE;
            table(&mut mem, at, signature, body);
            let r = (at - BASE) as usize + 8;
            mem.bytes[r] = *revision;
            fix_checksum(&mut mem, at, SDT_HEADER_SIZE as usize + body.len(), at + 9);
            list.push(at);
        }
        let xsdt: Vec<u8> = list.iter().flat_map(|t| t.to_le_bytes()).collect();
        table(&mut mem, XSDT_AT, b"XSDT", &xsdt);
        mem
    }

    /// A GICC structure (ACPI 6.0 layout, 80 bytes).
    fn gicc(enabled: bool, mpidr: u64, gicr: u64) -> Vec<u8> {
        let mut e = std::vec![0_u8; 80];
        e[0] = MADT_GICC;
        e[1] = 80;
        e[12..16].copy_from_slice(&u32::from(enabled).to_le_bytes());
        e[60..68].copy_from_slice(&gicr.to_le_bytes());
        e[68..76].copy_from_slice(&mpidr.to_le_bytes());
        e
    }

    fn gicd(base: u64, version: u8) -> Vec<u8> {
        let mut e = std::vec![0_u8; 24];
        e[0] = MADT_GICD;
        e[1] = 24;
        e[8..16].copy_from_slice(&base.to_le_bytes());
        e[20] = version;
        e
    }

    fn gicr(base: u64, length: u32) -> Vec<u8> {
        let mut e = std::vec![0_u8; 16];
        e[0] = MADT_GICR;
        e[1] = 16;
        e[4..12].copy_from_slice(&base.to_le_bytes());
        e[12..16].copy_from_slice(&length.to_le_bytes());
        e
    }

    /// A MADT body: local interrupt controller address and flags, then `entries`.
    fn madt(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut b = std::vec![0_u8; 8];
        for e in entries {
            b.extend_from_slice(e);
        }
        b
    }

    /// A FADT body of `length` bytes with `ARM_BOOT_ARCH` = `flags`.
    fn fadt(length: usize, flags: u16) -> Vec<u8> {
        let mut b = std::vec![0_u8; length - SDT_HEADER_SIZE as usize];
        let at = FADT_ARM_BOOT_ARCH - SDT_HEADER_SIZE as usize;
        if b.len() >= at + 2 {
            b[at..at + 2].copy_from_slice(&flags.to_le_bytes());
        }
        b
    }

    /// A GTDT body (revision 2, 96 bytes) with the virtual timer's GSIV.
    fn gtdt(virtual_gsiv: u32) -> Vec<u8> {
        let mut b = std::vec![0_u8; 96 - SDT_HEADER_SIZE as usize];
        for (gsiv_at, gsiv) in [(48, 29_u32), (56, 30), (64, virtual_gsiv), (72, 26)] {
            let at = gsiv_at - SDT_HEADER_SIZE as usize;
            b[at..at + 4].copy_from_slice(&gsiv.to_le_bytes());
        }
        b
    }

    /// An ITS structure (type 0x0F), which the parser skips.
    fn its() -> Vec<u8> {
        let mut e = std::vec![0_u8; 20];
        e[0] = 0x0f;
        e[1] = 20;
        e
    }

    #[test]
    fn reads_the_tables_of_qemu_virt() {
        // As QEMU `virt` (gic-version=3) publishes them for AAVMF: GICC without a GICR
        // base, GICD version 3, one GICR range, an ITS; FADT 6.x with PSCI over HVC; the
        // virtual timer on PPI 11 (interrupt id 27).
        let mem = arm_firmware(&[
            (b"FACP", 6, fadt(276, ARM_PSCI_COMPLIANT | ARM_PSCI_USE_HVC)),
            (
                b"APIC",
                4,
                madt(&[
                    gicc(true, 0, 0),
                    gicd(0x800_0000, 3),
                    gicr(0x80a_0000, 0xf6_0000),
                    its(),
                ]),
            ),
            (b"GTDT", 2, gtdt(27)),
        ]);
        assert_eq!(
            ArmPlatform::find(&mem, RSDP_AT, 0x8000_0000),
            Ok(ArmPlatform {
                gic: Some(Gic::V3 {
                    distributor: (0x800_0000, 0x1_0000),
                    redistributors: (0x80a_0000, 0xf6_0000),
                }),
                psci: Some(PsciConduit::Hvc),
                virtual_timer_intid: Some(27),
            })
        );
    }

    #[test]
    fn without_gicr_ranges_the_processors_gicc_names_its_redistributor() {
        let mem = arm_firmware(&[
            (
                b"APIC",
                5,
                madt(&[
                    gicd(0xffff_0000, 0),
                    gicc(true, 0x8000_0000, 0xeffe_e000),
                    gicc(false, 0x8000_0001, 0xeffe_0000),
                    gicc(true, 0x1_0000_0001, 0xeffc_0000),
                    gicc(true, 0x8000_0001, 0xeff0_0000),
                ]),
            ),
            (b"FACP", 6, fadt(276, ARM_PSCI_COMPLIANT)),
            (b"GTDT", 3, gtdt(0)),
        ]);
        let platform = ArmPlatform::find(&mem, RSDP_AT, 0x8000_0001).expect("valid tables");
        assert_eq!(
            platform.gic,
            Some(Gic::V3 {
                distributor: (0xffff_0000, 0x1_0000),
                redistributors: (0xeff0_0000, 0x2_0000),
            })
        );
        assert_eq!(platform.psci, Some(PsciConduit::Smc));
        assert_eq!(platform.virtual_timer_intid, None);
        let v4 = arm_firmware(&[(
            b"APIC",
            5,
            madt(&[gicd(0x800_0000, 4), gicc(true, 0, 0x80a_0000)]),
        )]);
        assert_eq!(
            ArmPlatform::find(&v4, RSDP_AT, 0).map(|p| p.gic),
            Ok(Some(Gic::V3 {
                distributor: (0x800_0000, 0x1_0000),
                redistributors: (0x80a_0000, 0x4_0000),
            }))
        );
        // No redistributor for this processor: an error, not a guess.
        assert_eq!(
            ArmPlatform::find(&mem, RSDP_AT, 0x2),
            Err(AcpiError::Missing {
                what: "GIC redistributor for this processor",
                paddr: ARM_TABLES_AT,
            })
        );
    }

    #[test]
    fn gic_versions() {
        let version = |entries: &[Vec<u8>]| {
            let mem = arm_firmware(&[(b"APIC", 5, madt(entries))]);
            ArmPlatform::find(&mem, RSDP_AT, 0).map(|p| p.gic)
        };
        assert_eq!(version(&[gicd(0x800_0000, 2)]), Ok(Some(Gic::V2)));
        assert_eq!(version(&[gicd(0x800_0000, 0)]), Ok(Some(Gic::V2)));
        assert_eq!(version(&[gicd(0x800_0000, 7)]), Ok(Some(Gic::V2)));
        assert_eq!(
            version(&[gicr(0x80a_0000, 0x2_0000), gicd(0x800_0000, 0)]),
            Ok(Some(Gic::V3 {
                distributor: (0x800_0000, 0x1_0000),
                redistributors: (0x80a_0000, 0x2_0000),
            }))
        );
        assert_eq!(version(&[gicc(true, 0, 0x80a_0000)]), Ok(None));
    }

    #[test]
    fn missing_or_old_tables_give_nothing() {
        let none = ArmPlatform {
            gic: None,
            psci: None,
            virtual_timer_intid: None,
        };
        assert_eq!(ArmPlatform::find(&arm_firmware(&[]), RSDP_AT, 0), Ok(none));
        // FADT revision 4 (ACPI 5.0) has no ARM_BOOT_ARCH, nor a table cut before it.
        let old = arm_firmware(&[(b"FACP", 4, fadt(244, ARM_PSCI_COMPLIANT))]);
        assert_eq!(ArmPlatform::find(&old, RSDP_AT, 0), Ok(none));
        let short = arm_firmware(&[(b"FACP", 6, fadt(130, ARM_PSCI_COMPLIANT))]);
        assert_eq!(ArmPlatform::find(&short, RSDP_AT, 0), Ok(none));
        let not_psci = arm_firmware(&[(b"FACP", 6, fadt(276, ARM_PSCI_USE_HVC))]);
        assert_eq!(ArmPlatform::find(&not_psci, RSDP_AT, 0), Ok(none));
        // A virtual timer GSIV that is no PPI cannot be the processor's timer.
        let spi = arm_firmware(&[(b"GTDT", 2, gtdt(40))]);
        assert_eq!(ArmPlatform::find(&spi, RSDP_AT, 0), Ok(none));
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut zero = gicd(0x800_0000, 3);
        zero[1] = 0;
        let mem = arm_firmware(&[(b"APIC", 5, madt(&[zero]))]);
        assert_eq!(
            ArmPlatform::find(&mem, RSDP_AT, 0),
            Err(AcpiError::BadLength {
                what: "MADT structure",
                paddr: ARM_TABLES_AT + 44,
                length: 0,
            })
        );
        let mut short_gicc = gicc(true, 0, 0x80a_0000);
        short_gicc[1] = 72;
        short_gicc.truncate(72);
        let mem = arm_firmware(&[(b"APIC", 5, madt(&[short_gicc]))]);
        assert!(matches!(
            ArmPlatform::find(&mem, RSDP_AT, 0),
            Err(AcpiError::BadLength { length: 72, .. })
        ));
        let mut past_end = gicr(0x80a_0000, 0x2_0000);
        past_end[1] = 40;
        let mem = arm_firmware(&[(b"APIC", 5, madt(&[past_end]))]);
        assert!(matches!(
            ArmPlatform::find(&mem, RSDP_AT, 0),
            Err(AcpiError::BadLength { length: 40, .. })
        ));
        let mem = arm_firmware(&[(b"GTDT", 2, std::vec![0; 30])]);
        assert_eq!(
            ArmPlatform::find(&mem, RSDP_AT, 0),
            Err(AcpiError::BadLength {
                what: "GTDT",
                paddr: ARM_TABLES_AT,
                length: 66,
            })
        );
        assert_eq!(
            AcpiError::Missing {
                what: "GIC redistributor for this processor",
                paddr: 0x1000,
            }
            .to_string(),
            "the table at 0x1000 has no GIC redistributor for this processor"
        );
    }

    proptest::proptest! {
        /// Any MADT body (structures of any type and length) parses or fails without
        /// panicking, and the walk ends.
        #[test]
        fn arbitrary_madt_never_panics(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..0x3c0),
            affinity in proptest::num::u64::ANY,
        ) {
            let mem = arm_firmware(&[(b"APIC", 5, body)]);
            let _ = ArmPlatform::find(&mem, RSDP_AT, affinity);
        }

        /// Whatever the firmware wrote, the parser returns (no panic).
        #[test]
        fn arbitrary_firmware_data_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..0x600),
            at in 0_u64..0x600,
            signature_ok in proptest::bool::ANY,
        ) {
            let mut mem = FakeMemory { base: BASE, bytes };
            let i = at as usize;
            if signature_ok && mem.bytes.len() >= i + 8 {
                mem.bytes[i..i + 8].copy_from_slice(b"RSD PTR ");
            }
            let _ = Spcr::find(&mem, BASE + at);
        }

        /// Corrupting one byte of valid tables gives an error, no SPCR, or an SPCR still
        /// read from the checked table: never a panic.
        #[test]
        fn one_corrupt_byte_never_panics(at in 0_usize..0x1000, flip in 1_u8..=255) {
            let mut mem = firmware(Some(spcr_body(0, 1, 0x3f8)));
            mem.bytes[at] ^= flip;
            let _ = Spcr::find(&mem, RSDP_AT);
        }
    }
}
