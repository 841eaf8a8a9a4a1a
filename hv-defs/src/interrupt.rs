//! Virtual interrupts: synthetic cluster IPIs, the APIC MSRs, virtual interrupt assertion and
//! device interrupt retargeting (TLFS 10).
//!
//! | TLFS | items |
//! | --- | --- |
//! | 10.2.3 | [`HvX64MsrEoi`], [`HvX64MsrIcr`], [`HvX64MsrTpr`] (MSRs 0x4000_0070–0x4000_0072) |
//! | 10.4.1–10.4.3 | [`HvInterruptType`], [`HvInterruptControl`], [`HvInterruptVector`] |
//! | 10.4.4–10.4.7 | [`HvMsiEntry`], [`HvInterruptSource`], [`HvInterruptEntry`], [`HvDeviceInterruptTarget`] |
//! | 10.5.1 | [`HvAssertVirtualInterruptInput`] |
//! | 10.5.2, 10.5.3 | [`HvSendSyntheticClusterIpiInput`], [`HvSendSyntheticClusterIpiExInput`] |
//! | 10.5.4 | [`HvRetargetDeviceInterruptInput`], [`HvRetargetDeviceInterruptVpSetInput`] |
//!
//! The EOI assist field of the VP assist page (TLFS 10.3.5) is
//! [`crate::vp::HvVirtualApicAssist`].

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::vp::{HvInputVtl, HvVpSetHeader};
use crate::{HvPartitionId, HvVtl};

/// An interrupt vector (TLFS 10.4.3 `HV_INTERRUPT_VECTOR`).
pub type HvInterruptVector = u32;

/// "No interrupt vector": deasserts a level-triggered virtual interrupt (TLFS 10.4.3
/// `HV_INTERRUPT_VECTOR_NONE`).
pub const HV_INTERRUPT_VECTOR_NONE: HvInterruptVector = 0xFFFF_FFFF;

/// Lowest vector a synthetic cluster IPI may carry (TLFS 10.5.2: "≥ 0x10").
pub const HV_SYNTHETIC_IPI_VECTOR_MIN: HvInterruptVector = 0x10;

/// Highest vector a synthetic cluster IPI may carry (TLFS 10.5.2: "≤ 0xFF").
pub const HV_SYNTHETIC_IPI_VECTOR_MAX: HvInterruptVector = 0xFF;

/// Whether `vector` is valid for `HvCallSendSyntheticClusterIpi(Ex)`: 0x10–0xFF
/// (TLFS 10.5.2, 10.5.3).
#[must_use]
pub const fn hv_is_valid_ipi_vector(vector: HvInterruptVector) -> bool {
    vector >= HV_SYNTHETIC_IPI_VECTOR_MIN && vector <= HV_SYNTHETIC_IPI_VECTOR_MAX
}

/// The input of `HvCallSendSyntheticClusterIpi` (TLFS 10.5.2): 16 bytes, passed in RDX and
/// R8 by the fast form.
///
/// Sends a fixed interrupt (never an NMI) to the VPs whose bit is set in the mask
/// (VP indices 0–63).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvSendSyntheticClusterIpiInput {
    /// The vector, 0x10–0xFF ([`hv_is_valid_ipi_vector`]), offset 0.
    pub vector: HvInterruptVector,
    /// The VTL to target, offset 4; [`HvInputVtl::CURRENT`] for the caller's. Linux
    /// treats these four bytes as reserved, which is the same encoding.
    pub target_vtl: HvInputVtl,
    /// RsvdZ, offset 5.
    pub rsvd: [u8; 3],
    /// The target VPs, bit `i` for VP index `i`, offset 8.
    pub processor_mask: u64,
}

const _: () = assert!(size_of::<HvSendSyntheticClusterIpiInput>() == 16);
const _: () = assert!(offset_of!(HvSendSyntheticClusterIpiInput, target_vtl) == 4);
const _: () = assert!(offset_of!(HvSendSyntheticClusterIpiInput, processor_mask) == 8);

/// The fixed input header of `HvCallSendSyntheticClusterIpiEx` (TLFS 10.5.3).
///
/// The VP set starts at offset 8; its bank masks follow as the variable header, whose size
/// (TLFS 3.7.1) is the bank count ([`HvVpSetHeader::bank_count`]).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
pub struct HvSendSyntheticClusterIpiExInput {
    /// The vector, 0x10–0xFF, offset 0.
    pub vector: HvInterruptVector,
    /// The VTL to target, offset 4.
    pub target_vtl: HvInputVtl,
    /// RsvdZ, offset 5.
    pub rsvd: [u8; 3],
    /// Format and valid-banks mask of the target VP set, offset 8.
    pub processor_set: HvVpSetHeader,
}

const _: () = assert!(size_of::<HvSendSyntheticClusterIpiExInput>() == 24);
const _: () = assert!(offset_of!(HvSendSyntheticClusterIpiExInput, processor_set) == 8);

/// The contents of `HV_X64_MSR_EOI` (0x4000_0070): a write-only alias of the APIC EOI
/// register; reads fault with #GP (TLFS 10.2.3.1).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvX64MsrEoi {
    /// The value written to the APIC EOI register, bits 31:0.
    pub eoi_value: u32,
    /// RsvdZ, bits 63:32.
    _rsvd: u32,
}

impl HvX64MsrEoi {
    /// Mask of the RsvdZ bits 63:32 (TLFS 10.2.3.1).
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFF_0000_0000;
}

/// The contents of `HV_X64_MSR_ICR` (0x4000_0071): the APIC ICR low and high registers in
/// one MSR (TLFS 10.2.3.2).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvX64MsrIcr {
    /// APIC ICR low (vector, delivery mode, destination mode, level, trigger, shorthand),
    /// bits 31:0.
    pub icr_low: u32,
    /// APIC ICR high (destination field), bits 63:32.
    pub icr_high: u32,
}

/// The contents of `HV_X64_MSR_TPR` (0x4000_0072): the APIC task priority register
/// (TLFS 10.2.3.3). 64-bit guests should use CR8 instead.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvX64MsrTpr {
    /// The TPR value, bits 7:0.
    pub tpr: u8,
    /// RsvdZ, bits 63:8.
    #[bits(56)]
    _rsvd: u64,
}

impl HvX64MsrTpr {
    /// Mask of the RsvdZ bits 63:8 (TLFS 10.2.3.3).
    pub const RESERVED_MASK: u64 = !0xFF;
}

open_enum! {
    /// The type of a virtual interrupt on x64 (TLFS 10.3.2, 10.4.1 `HV_INTERRUPT_TYPE`).
    ///
    /// The TLFS 6.0 text lost the table of 10.4.1; the values are those of the TLFS web
    /// edition. On arm64 the only type is fixed, value 0.
    pub struct HvInterruptType(u32) {
        /// A fixed interrupt, edge or level triggered.
        HvX64InterruptTypeFixed = 0x0000,
        /// Like fixed, delivered to the lowest-priority destination.
        HvX64InterruptTypeLowestPriority = 0x0001,
        /// A system management interrupt.
        HvX64InterruptTypeSmi = 0x0002,
        /// A remote read IPI.
        HvX64InterruptTypeRemoteRead = 0x0003,
        /// A non-maskable interrupt.
        HvX64InterruptTypeNmi = 0x0004,
        /// An INIT.
        HvX64InterruptTypeInit = 0x0005,
        /// A start-up IPI.
        HvX64InterruptTypeSipi = 0x0006,
        /// An external (8259-style) interrupt, level triggered, always to the boot VP.
        HvX64InterruptTypeExtInt = 0x0007,
        /// Local APIC LINT0.
        HvX64InterruptTypeLocalInt0 = 0x0008,
        /// Local APIC LINT1.
        HvX64InterruptTypeLocalInt1 = 0x0009,
    }
}

/// The interrupt control of a virtual interrupt on x64: type, trigger and destination mode
/// (TLFS 10.4.2 `HV_INTERRUPT_CONTROL`; the layout lost from the TLFS 6.0 text is the TLFS
/// web edition's `HV_X64_INTERRUPT_CONTROL`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvInterruptControl {
    /// The interrupt type, bits 31:0.
    #[bits(32, from = HvInterruptType::new, into = HvInterruptType::get)]
    pub interrupt_type: HvInterruptType,
    /// Level triggered (else edge), bit 32.
    pub level_triggered: bool,
    /// Logical destination mode (else physical), bit 33.
    pub logical_destination_mode: bool,
    /// Reserved, bits 63:34.
    #[bits(30)]
    _rsvd: u32,
}

impl HvInterruptControl {
    /// Mask of the reserved bits 63:34.
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFC_0000_0000;
}

/// The input of `HvCallAssertVirtualInterrupt` (TLFS 10.5.1).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvAssertVirtualInterruptInput {
    /// The target partition, offset 0.
    pub destination_partition: HvPartitionId,
    /// Type, trigger and destination mode, offset 8.
    pub interrupt_control: HvInterruptControl,
    /// Physical or logical APIC id of the target, offset 16.
    pub destination_address: u64,
    /// The vector (0–255 or [`HV_INTERRUPT_VECTOR_NONE`]), offset 24.
    pub requested_vector: HvInterruptVector,
    /// The VTL to target, offset 28.
    pub target_vtl: HvVtl,
    /// Padding, offset 29.
    pub rsvd: [u8; 3],
}

const _: () = assert!(size_of::<HvAssertVirtualInterruptInput>() == 32);
const _: () = assert!(offset_of!(HvAssertVirtualInterruptInput, interrupt_control) == 8);
const _: () = assert!(offset_of!(HvAssertVirtualInterruptInput, destination_address) == 16);
const _: () = assert!(offset_of!(HvAssertVirtualInterruptInput, requested_vector) == 24);
const _: () = assert!(offset_of!(HvAssertVirtualInterruptInput, target_vtl) == 28);

/// An MSI address/data pair (TLFS 10.4.4 `HV_MSI_ENTRY`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvMsiEntry {
    /// The MSI address (low 32 bits), bits 31:0.
    pub address: u32,
    /// The MSI data the device sends for this vector, bits 63:32.
    pub data: u32,
}

open_enum! {
    /// The source of a device interrupt (TLFS 10.4.5 `HV_INTERRUPT_SOURCE`).
    pub struct HvInterruptSource(u32) {
        /// An MSI; the entry holds an [`HvMsiEntry`] (TLFS 10.4.5).
        HvInterruptSourceMsi = 1,
        /// An I/O APIC pin; the entry holds the redirection entry (post-TLFS 6.0; Linux
        /// `HV_INTERRUPT_SOURCE_IOAPIC`).
        HvInterruptSourceIoApic = 2,
    }
}

/// A device interrupt: its source and the source-specific data (TLFS 10.4.6
/// `HV_INTERRUPT_ENTRY`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvInterruptEntry {
    /// The source, offset 0.
    pub source: HvInterruptSource,
    /// Reserved, offset 4.
    pub rsvd: u32,
    /// The MSI entry, offset 8; for another source, the 64-bit `Data` of the union
    /// (`msi_entry.into_bits()`).
    pub msi_entry: HvMsiEntry,
}

const _: () = assert!(size_of::<HvInterruptEntry>() == 16);
const _: () = assert!(offset_of!(HvInterruptEntry, msi_entry) == 8);

/// `HV_DEVICE_INTERRUPT_TARGET_MULTICAST` (TLFS 10.4.7).
pub const HV_DEVICE_INTERRUPT_TARGET_MULTICAST: u32 = 1;
/// `HV_DEVICE_INTERRUPT_TARGET_PROCESSOR_SET` (TLFS 10.4.7).
pub const HV_DEVICE_INTERRUPT_TARGET_PROCESSOR_SET: u32 = 2;

/// The flags of a device interrupt target (TLFS 10.4.7).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvDeviceInterruptTargetFlags {
    /// Send to every processor of the target set (else to one of them), bit 0.
    pub multicast: bool,
    /// The target is a VP set instead of a 64-bit processor mask, bit 1.
    pub processor_set: bool,
    /// Reserved, bits 31:2.
    #[bits(30)]
    _rsvd: u32,
}

impl HvDeviceInterruptTargetFlags {
    /// Mask of the reserved bits 31:2.
    pub const RESERVED_MASK: u32 = !0b11;
}

/// A device interrupt target with a processor mask (TLFS 10.4.7
/// `HV_DEVICE_INTERRUPT_TARGET`, `ProcessorSet` flag clear).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvDeviceInterruptTarget {
    /// The vector, offset 0.
    pub vector: HvInterruptVector,
    /// Flags, offset 4.
    pub flags: HvDeviceInterruptTargetFlags,
    /// Target VPs, bit `i` for VP index `i`, offset 8.
    pub processor_mask: u64,
}

const _: () = assert!(size_of::<HvDeviceInterruptTarget>() == 16);
const _: () = assert!(offset_of!(HvDeviceInterruptTarget, processor_mask) == 8);

/// A device interrupt target with a VP set (TLFS 10.4.7 `HV_DEVICE_INTERRUPT_TARGET`,
/// `ProcessorSet` flag set): the set replaces the mask at offset 8 and its bank masks follow.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
pub struct HvDeviceInterruptTargetVpSet {
    /// The vector, offset 0.
    pub vector: HvInterruptVector,
    /// Flags, offset 4; `processor_set` must be set.
    pub flags: HvDeviceInterruptTargetFlags,
    /// Format and valid-banks mask of the target set, offset 8.
    pub processor_set: HvVpSetHeader,
}

const _: () = assert!(size_of::<HvDeviceInterruptTargetVpSet>() == 24);
const _: () = assert!(offset_of!(HvDeviceInterruptTargetVpSet, processor_set) == 8);

/// The input of `HvCallRetargetDeviceInterrupt` with a processor mask (TLFS 10.5.4).
///
/// | offset | field |
/// | --- | --- |
/// | 0 | PartitionId (must be [`crate::HV_PARTITION_ID_SELF`]) |
/// | 8 | DeviceId |
/// | 16 | InterruptEntry (16 bytes) |
/// | 32 | Reserved |
/// | 40 | InterruptTarget (16 bytes) |
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvRetargetDeviceInterruptInput {
    /// The partition: must be the caller's own.
    pub partition_id: HvPartitionId,
    /// The host-assigned logical device id.
    pub device_id: u64,
    /// The interrupt, identified by its MSI address and data.
    pub interrupt_entry: HvInterruptEntry,
    /// Reserved, must be zero.
    pub rsvd: u64,
    /// The new target.
    pub interrupt_target: HvDeviceInterruptTarget,
}

const _: () = assert!(size_of::<HvRetargetDeviceInterruptInput>() == 56);
const _: () = assert!(offset_of!(HvRetargetDeviceInterruptInput, device_id) == 8);
const _: () = assert!(offset_of!(HvRetargetDeviceInterruptInput, interrupt_entry) == 16);
const _: () = assert!(offset_of!(HvRetargetDeviceInterruptInput, rsvd) == 32);
const _: () = assert!(offset_of!(HvRetargetDeviceInterruptInput, interrupt_target) == 40);

/// The fixed part of the input of `HvCallRetargetDeviceInterrupt` with a VP set
/// (TLFS 10.5.4, 10.4.7): as [`HvRetargetDeviceInterruptInput`] with the target's mask
/// replaced by a VP set whose bank masks follow at offset 64.
///
/// The fixed header of the call is the 56-byte mask form, so with a VP set the variable
/// header (TLFS 3.7.1) is the valid-banks mask plus the bank masks:
/// [`hv_retarget_vp_set_variable_header_size`] (as Linux `pci-hyperv` computes it).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
pub struct HvRetargetDeviceInterruptVpSetInput {
    /// The partition: must be the caller's own.
    pub partition_id: HvPartitionId,
    /// The host-assigned logical device id.
    pub device_id: u64,
    /// The interrupt.
    pub interrupt_entry: HvInterruptEntry,
    /// Reserved, must be zero.
    pub rsvd: u64,
    /// The new target.
    pub interrupt_target: HvDeviceInterruptTargetVpSet,
}

const _: () = assert!(size_of::<HvRetargetDeviceInterruptVpSetInput>() == 64);
const _: () = assert!(offset_of!(HvRetargetDeviceInterruptVpSetInput, interrupt_target) == 40);
const _: () = assert!(
    offset_of!(HvRetargetDeviceInterruptVpSetInput, interrupt_target)
        + offset_of!(HvDeviceInterruptTargetVpSet, processor_set)
        == 48
);

/// The variable header size, in 8-byte units, of `HvCallRetargetDeviceInterrupt` with a VP
/// set of `bank_count` banks: the valid-banks mask and the banks (TLFS 3.7.1, 10.5.4).
#[must_use]
pub const fn hv_retarget_vp_set_variable_header_size(bank_count: usize) -> usize {
    1 + bank_count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipi_vector_range_is_0x10_to_0xff() {
        assert!(!hv_is_valid_ipi_vector(0x0F));
        assert!(hv_is_valid_ipi_vector(0x10));
        assert!(hv_is_valid_ipi_vector(0xFF));
        assert!(!hv_is_valid_ipi_vector(0x100));
        assert!(!hv_is_valid_ipi_vector(HV_INTERRUPT_VECTOR_NONE));
    }

    #[test]
    fn interrupt_control_places_type_trigger_and_mode() {
        let control = HvInterruptControl::new()
            .with_interrupt_type(HvInterruptType::HvX64InterruptTypeExtInt)
            .with_level_triggered(true)
            .with_logical_destination_mode(true);
        assert_eq!(control.into_bits(), 0x0000_0003_0000_0007);
    }

    #[test]
    fn target_flag_constants_match_the_bitfield() {
        let flags = HvDeviceInterruptTargetFlags::new()
            .with_multicast(true)
            .with_processor_set(true);
        assert_eq!(
            flags.into_bits(),
            HV_DEVICE_INTERRUPT_TARGET_MULTICAST | HV_DEVICE_INTERRUPT_TARGET_PROCESSOR_SET
        );
    }

    #[test]
    fn icr_msr_joins_low_and_high() {
        let icr = HvX64MsrIcr::new()
            .with_icr_low(0x0000_40F0)
            .with_icr_high(0x0300_0000);
        assert_eq!(icr.into_bits(), 0x0300_0000_0000_40F0);
    }
}
