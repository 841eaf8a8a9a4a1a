//! The UEFI memory map as the runtime uses it after ExitBootServices.
//!
//! A memory descriptor (UEFI 2.10, 7.2.3 `EFI_MEMORY_DESCRIPTOR`) has a type, a physical
//! start, a count of 4 KiB pages and attribute bits. After ExitBootServices the kernel owns
//! everything the firmware no longer needs (UEFI 2.10, 7.2.1, table "Memory Type Usage
//! after ExitBootServices()"), so the runtime turns the map into the E820-style
//! [`RegionKind`]s of [`BootInfo`]:
//!
//! | UEFI memory type | kind | why |
//! | --- | --- | --- |
//! | `EfiConventionalMemory` | RAM | free |
//! | `EfiBootServicesCode`, `EfiBootServicesData` | RAM | free after ExitBootServices |
//! | `EfiLoaderCode`, `EfiLoaderData` | RAM | the OS loader's: the kernel image itself is reserved separately by the runtime, the memory map buffer is copied before the allocator starts |
//! | `EfiACPIReclaimMemory` | ACPI | ACPI tables (kept: the kernel may read them) |
//! | `EfiACPIMemoryNVS` | NVS | must be preserved |
//! | `EfiUnusableMemory` | unusable | memory errors |
//! | `EfiPersistentMemory` | pmem | |
//! | `EfiRuntimeServicesCode`/`Data`, `EfiReservedMemoryType`, `EfiMemoryMappedIO`, `EfiMemoryMappedIOPortSpace`, `EfiPalCode`, `EfiUnacceptedMemoryType`, OEM and OS-vendor types, unknown types | reserved | the firmware's or a device's, or (unaccepted memory) unusable until accepted |
//!
//! A descriptor with the `EFI_MEMORY_RUNTIME` attribute is reserved whatever its type: the
//! firmware's runtime services need it.

use core::fmt;

use crate::bootinfo::{
    BootInfo, BootInfoError, EntryKind, MemoryMapSource, MemoryRegion, RegionKind,
};

/// The size of a UEFI page, the unit of `NumberOfPages`.
pub const EFI_PAGE_SIZE: u64 = 4096;

/// The `EFI_MEMORY_RUNTIME` attribute: the region must be kept for runtime services
/// (UEFI 2.10, 7.2.3).
pub const EFI_MEMORY_RUNTIME: u64 = 1 << 63;

/// A UEFI memory type (`EFI_MEMORY_TYPE`, UEFI 2.10, 7.2.1); an open set, since firmware
/// may use OEM (0x7000_0000-0x7FFF_FFFF) and OS-vendor (0x8000_0000-0xFFFF_FFFF) types.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EfiMemoryType(pub u32);

impl EfiMemoryType {
    /// `EfiReservedMemoryType`.
    pub const RESERVED: Self = Self(0);
    /// `EfiLoaderCode`.
    pub const LOADER_CODE: Self = Self(1);
    /// `EfiLoaderData`.
    pub const LOADER_DATA: Self = Self(2);
    /// `EfiBootServicesCode`.
    pub const BOOT_SERVICES_CODE: Self = Self(3);
    /// `EfiBootServicesData`.
    pub const BOOT_SERVICES_DATA: Self = Self(4);
    /// `EfiRuntimeServicesCode`.
    pub const RUNTIME_SERVICES_CODE: Self = Self(5);
    /// `EfiRuntimeServicesData`.
    pub const RUNTIME_SERVICES_DATA: Self = Self(6);
    /// `EfiConventionalMemory`.
    pub const CONVENTIONAL: Self = Self(7);
    /// `EfiUnusableMemory`.
    pub const UNUSABLE: Self = Self(8);
    /// `EfiACPIReclaimMemory`.
    pub const ACPI_RECLAIM: Self = Self(9);
    /// `EfiACPIMemoryNVS`.
    pub const ACPI_NVS: Self = Self(10);
    /// `EfiMemoryMappedIO`.
    pub const MMIO: Self = Self(11);
    /// `EfiMemoryMappedIOPortSpace`.
    pub const MMIO_PORT_SPACE: Self = Self(12);
    /// `EfiPalCode`.
    pub const PAL_CODE: Self = Self(13);
    /// `EfiPersistentMemory`.
    pub const PERSISTENT: Self = Self(14);
    /// `EfiUnacceptedMemoryType` (UEFI 2.9 and later).
    pub const UNACCEPTED: Self = Self(15);

    /// The specification's name of a type from the table, `None` for others.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "EfiReservedMemoryType",
            1 => "EfiLoaderCode",
            2 => "EfiLoaderData",
            3 => "EfiBootServicesCode",
            4 => "EfiBootServicesData",
            5 => "EfiRuntimeServicesCode",
            6 => "EfiRuntimeServicesData",
            7 => "EfiConventionalMemory",
            8 => "EfiUnusableMemory",
            9 => "EfiACPIReclaimMemory",
            10 => "EfiACPIMemoryNVS",
            11 => "EfiMemoryMappedIO",
            12 => "EfiMemoryMappedIOPortSpace",
            13 => "EfiPalCode",
            14 => "EfiPersistentMemory",
            15 => "EfiUnacceptedMemoryType",
            _ => return None,
        })
    }
}

impl fmt::Debug for EfiMemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "EfiMemoryType({:#x})", self.0),
        }
    }
}

/// One UEFI memory descriptor, as the firmware reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EfiDescriptor {
    /// The memory type.
    pub ty: EfiMemoryType,
    /// Physical address of the first byte (4 KiB aligned).
    pub phys_start: u64,
    /// Number of 4 KiB pages.
    pub page_count: u64,
    /// Attribute bits (`EFI_MEMORY_UC`, ..., [`EFI_MEMORY_RUNTIME`]).
    pub attribute: u64,
}

impl EfiDescriptor {
    /// What the memory is to the kernel after ExitBootServices (the table in the module
    /// documentation).
    pub const fn kind(&self) -> RegionKind {
        if self.attribute & EFI_MEMORY_RUNTIME != 0 {
            return RegionKind::RESERVED;
        }
        match self.ty {
            EfiMemoryType::LOADER_CODE
            | EfiMemoryType::LOADER_DATA
            | EfiMemoryType::BOOT_SERVICES_CODE
            | EfiMemoryType::BOOT_SERVICES_DATA
            | EfiMemoryType::CONVENTIONAL => RegionKind::RAM,
            EfiMemoryType::ACPI_RECLAIM => RegionKind::ACPI,
            EfiMemoryType::ACPI_NVS => RegionKind::NVS,
            EfiMemoryType::UNUSABLE => RegionKind::UNUSABLE,
            EfiMemoryType::PERSISTENT => RegionKind::PMEM,
            _ => RegionKind::RESERVED,
        }
    }

    /// The descriptor as a memory region, or `None` when its end does not fit in 64 bits.
    pub fn region(&self) -> Option<MemoryRegion> {
        let size = self.page_count.checked_mul(EFI_PAGE_SIZE)?;
        self.phys_start.checked_add(size)?;
        Some(MemoryRegion {
            start: self.phys_start,
            size,
            kind: self.kind(),
        })
    }
}

/// Builds the boot information of the UEFI entry from the memory map ExitBootServices
/// returned (best in address order: neighbouring regions of the same kind are merged, see
/// [`BootInfo::from_regions`]) and the ACPI root pointer of the configuration table.
///
/// # Errors
///
/// [`BootInfoError::RegionOverflow`] when a descriptor's end does not fit in 64 bits.
pub fn boot_info(
    descriptors: impl IntoIterator<Item = EfiDescriptor>,
    rsdp: Option<u64>,
) -> Result<BootInfo, BootInfoError> {
    let mut overflow = None;
    let regions = descriptors.into_iter().enumerate().map_while(|(index, d)| {
        let region = d.region();
        if region.is_none() {
            overflow = Some(u32::try_from(index).unwrap_or(u32::MAX));
        }
        region
    });
    let info = BootInfo::from_regions(EntryKind::Uefi, MemoryMapSource::Uefi, regions, rsdp);
    match overflow {
        Some(index) => Err(BootInfoError::RegionOverflow { index }),
        None => Ok(info),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    fn desc(ty: EfiMemoryType, phys_start: u64, page_count: u64) -> EfiDescriptor {
        EfiDescriptor {
            ty,
            phys_start,
            page_count,
            attribute: 0xf,
        }
    }

    #[test]
    fn every_specified_type_has_the_documented_kind() {
        let expect = [
            (EfiMemoryType::RESERVED, RegionKind::RESERVED),
            (EfiMemoryType::LOADER_CODE, RegionKind::RAM),
            (EfiMemoryType::LOADER_DATA, RegionKind::RAM),
            (EfiMemoryType::BOOT_SERVICES_CODE, RegionKind::RAM),
            (EfiMemoryType::BOOT_SERVICES_DATA, RegionKind::RAM),
            (EfiMemoryType::RUNTIME_SERVICES_CODE, RegionKind::RESERVED),
            (EfiMemoryType::RUNTIME_SERVICES_DATA, RegionKind::RESERVED),
            (EfiMemoryType::CONVENTIONAL, RegionKind::RAM),
            (EfiMemoryType::UNUSABLE, RegionKind::UNUSABLE),
            (EfiMemoryType::ACPI_RECLAIM, RegionKind::ACPI),
            (EfiMemoryType::ACPI_NVS, RegionKind::NVS),
            (EfiMemoryType::MMIO, RegionKind::RESERVED),
            (EfiMemoryType::MMIO_PORT_SPACE, RegionKind::RESERVED),
            (EfiMemoryType::PAL_CODE, RegionKind::RESERVED),
            (EfiMemoryType::PERSISTENT, RegionKind::PMEM),
            (EfiMemoryType::UNACCEPTED, RegionKind::RESERVED),
            (EfiMemoryType(0x7000_0000), RegionKind::RESERVED),
            (EfiMemoryType(0x8000_0001), RegionKind::RESERVED),
            (EfiMemoryType(16), RegionKind::RESERVED),
        ];
        for (ty, kind) in expect {
            assert_eq!(desc(ty, 0, 1).kind(), kind, "{ty:?}");
        }
        for ty in 0..16 {
            assert!(EfiMemoryType(ty).name().is_some());
        }
        assert_eq!(
            std::format!("{:?}", EfiMemoryType(16)),
            "EfiMemoryType(0x10)"
        );
    }

    #[test]
    fn runtime_attribute_reserves_any_type() {
        let mut d = desc(EfiMemoryType::CONVENTIONAL, 0x10_0000, 4);
        d.attribute |= EFI_MEMORY_RUNTIME;
        assert_eq!(d.kind(), RegionKind::RESERVED);
    }

    #[test]
    fn an_ovmf_like_map_becomes_a_few_regions() {
        // Shaped like OVMF's map with 128 MiB (QEMU q35): low RAM, boot services pieces
        // between conventional memory, the loader's image, ACPI tables, NVS, runtime data
        // and the flash MMIO at the top of 4 GiB.
        let map = [
            desc(EfiMemoryType::BOOT_SERVICES_CODE, 0, 1),
            desc(EfiMemoryType::CONVENTIONAL, 0x1000, 0x9f),
            desc(EfiMemoryType::CONVENTIONAL, 0x10_0000, 0x700),
            desc(EfiMemoryType::ACPI_NVS, 0x80_0000, 8),
            desc(EfiMemoryType::CONVENTIONAL, 0x80_8000, 3),
            desc(EfiMemoryType::ACPI_NVS, 0x80_b000, 1),
            desc(EfiMemoryType::CONVENTIONAL, 0x80_c000, 0x10),
            desc(EfiMemoryType::LOADER_CODE, 0x81_c000, 0x40),
            desc(EfiMemoryType::BOOT_SERVICES_DATA, 0x85_c000, 0x700),
            desc(EfiMemoryType::LOADER_DATA, 0xf5_c000, 2),
            desc(EfiMemoryType::BOOT_SERVICES_CODE, 0xf5_e000, 0x7000 - 0xf5e),
            desc(EfiMemoryType::ACPI_RECLAIM, 0x700_0000, 4),
            desc(EfiMemoryType::ACPI_NVS, 0x700_4000, 0x80),
            desc(EfiMemoryType::RUNTIME_SERVICES_DATA, 0x708_4000, 0x100),
            desc(EfiMemoryType::BOOT_SERVICES_DATA, 0x718_4000, 0xe7c),
            desc(EfiMemoryType::MMIO, 0xffc0_0000, 0x400),
        ];
        let info = boot_info(map, Some(0x700_0014)).expect("valid map");
        let kinds: Vec<_> = info.regions().iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                RegionKind::RAM,
                RegionKind::RAM,
                RegionKind::NVS,
                RegionKind::RAM,
                RegionKind::NVS,
                RegionKind::RAM,
                RegionKind::ACPI,
                RegionKind::NVS,
                RegionKind::RESERVED,
                RegionKind::RAM,
                RegionKind::RESERVED,
            ]
        );
        // Everything below 0xa0000 merged; the hole at 0xa0000-0x100000 kept them apart.
        assert_eq!(info.regions()[0].size, 0xa_0000);
        assert_eq!(info.regions()[5].start, 0x80_c000);
        assert_eq!(info.regions()[5].end(), 0x700_0000);
        assert_eq!(info.rsdp(), Some(0x700_0014));
        assert_eq!(info.regions_dropped(), 0);
    }

    #[test]
    fn an_overflowing_descriptor_is_an_error() {
        let map = [
            desc(EfiMemoryType::CONVENTIONAL, 0, 16),
            desc(EfiMemoryType::CONVENTIONAL, u64::MAX - 0xfff, 2),
        ];
        assert_eq!(
            boot_info(map, None).map(|_| ()),
            Err(BootInfoError::RegionOverflow { index: 1 })
        );
        let map = [desc(EfiMemoryType::CONVENTIONAL, 0, u64::MAX / 2)];
        assert_eq!(
            boot_info(map, None).map(|_| ()),
            Err(BootInfoError::RegionOverflow { index: 0 })
        );
    }

    proptest::proptest! {
        /// Any descriptor list (in any order, of any type) converts without panicking, and
        /// when it converts, the RAM of the result is exactly the RAM-kind pages that fit.
        #[test]
        fn arbitrary_maps_convert_consistently(
            map in proptest::collection::vec(
                (0_u32..20, 0_u64..0x1_0000, 0_u64..0x100, proptest::bool::ANY), 0..80),
        ) {
            let descs: Vec<_> = map
                .iter()
                .map(|&(ty, page, pages, runtime)| EfiDescriptor {
                    ty: EfiMemoryType(ty),
                    phys_start: page * EFI_PAGE_SIZE,
                    page_count: pages,
                    attribute: if runtime { EFI_MEMORY_RUNTIME } else { 0 },
                })
                .collect();
            let info = boot_info(descs.iter().copied(), None).expect("no overflow possible");
            if info.regions_dropped() == 0 {
                let ram: u64 = descs
                    .iter()
                    .filter(|d| d.kind() == RegionKind::RAM)
                    .map(|d| d.page_count * EFI_PAGE_SIZE)
                    .sum();
                proptest::prop_assert_eq!(info.ram_bytes(), ram);
            }
        }
    }
}
