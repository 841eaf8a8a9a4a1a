//! How an AArch64 guest calls the Microsoft hypervisor: the `HVC` conventions, the Arm SMC
//! Calling Convention (SMCCC) function ids and the hypervisor's SMCCC UID (post-TLFS 6.0).
//!
//! TLFS 6.0 documents only the x64 hypercall page. On arm64 there is no hypercall page, no
//! synthetic MSR and no XMM register: a guest executes `HVC` at EL1, and synthetic registers
//! are read and written with `HvCallGetVpRegisters`/`HvCallSetVpRegisters`. The facts below
//! come from public sources, cited on each item:
//!
//! * Linux `arch/arm64/hyperv/hv_core.c` (`hv_do_hypercall`, `hv_set_vpreg`,
//!   `hv_get_vpreg_128`), `arch/arm64/include/asm/mshyperv.h` (`HV_FUNC_ID`),
//!   `arch/arm64/hyperv/mshyperv.c` (`hyperv_detect_via_smccc`) and `include/linux/arm-smccc.h`
//!   (function id layout, `ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID`, return codes);
//! * OpenVMM's aarch64 hypercall module (the meaning of the `HVC` immediate, the register
//!   layout of the Hyper-V convention) and Microsoft's guest firmware `mu_msvm`
//!   (`MsvmPkg/Library/HvHypercallLib/AArch64/HypercallImpl.S`: `hvc #1` register use);
//! * Arm DEN 0028 (SMCCC) for the function id fields.
//!
//! # The two conventions
//!
//! The `HVC` immediate selects the convention ([`HvArm64HvcImmediate`]):
//!
//! | | SMCCC (`hvc #0`) | Hyper-V (`hvc #1`) |
//! | --- | --- | --- |
//! | X0 in | [`HV_FUNC_ID`] | hypercall input value (control) |
//! | X1 in | hypercall input value (control) | input GPA, or first fast input register |
//! | X2 in | input GPA, or first fast input register | output GPA, or second fast input register |
//! | X3 in | output GPA, or second fast input register | ... |
//! | fast input block | X2–X17 (SMCCC 1.2 registers) | X1–X16 |
//! | X0 out | hypercall result value | hypercall result value |
//!
//! Memory-based calls pass the input and output page GPAs in the first two registers of the
//! block; register-based (fast) calls fill the block with the input, 8 bytes a register, in
//! the order of the input structure. Output of a fast call with register output (a single
//! `HvCallGetVpRegisters`) comes back in registers: X6:X7 with SMCCC
//! ([`HV_ARM64_SMCCC_GET_VP_REGISTER_OUTPUT`], Linux `hv_get_vpreg_128`) and X15:X16 with
//! `hvc #1` ([`HV_ARM64_HVC_GET_VP_REGISTER_OUTPUT`], `mu_msvm` `AsmGetVpRegister`, OpenVMM
//! `get_register_fast`).
//!
//! # Discovery
//!
//! A guest finds the hypervisor with the SMCCC "Call UID query" of the vendor-specific
//! hypervisor service range ([`SMCCC_VENDOR_HYP_CALL_UID`], `hvc #0`), which returns the
//! 128-bit UID in W0–W3; the Microsoft hypervisor answers [`HV_ARM64_SMCCC_UID`] (Linux
//! `hyperv_detect_via_smccc`). The CPUID-equivalent values are then read as synthetic
//! registers (see [`crate::cpuid::cpuid_leaf_register`]).

use bitfield_struct::bitfield;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

open_enum! {
    /// The immediate of the `HVC` instruction, which selects the calling convention
    /// (post-TLFS 6.0; OpenVMM aarch64 hypercall module docs).
    pub struct HvArm64HvcImmediate(u16) {
        /// Arm SMCCC: X0 holds an SMCCC function id ([`HV_FUNC_ID`] for hypercalls).
        SMCCC = 0,
        /// The Hyper-V AArch64 hypercall convention: X0 holds the hypercall input value.
        HYPERCALL = 1,
        /// Hyper-V convention, VTL entry (VTL call).
        VTL_ENTRY = 2,
        /// Hyper-V convention, VTL exit (VTL return).
        VTL_EXIT = 3,
        /// Hyper-V convention, VP launch.
        VP_LAUNCH = 4,
    }
}

open_enum! {
    /// The service owner of an SMCCC function id, bits 29:24 (Arm DEN 0028; Linux
    /// `ARM_SMCCC_OWNER_*`).
    pub struct SmcccOwner(u8) {
        /// Arm architecture calls (SMCCC version, features, workarounds).
        ARCH = 0,
        /// CPU service calls.
        CPU = 1,
        /// SiP service calls.
        SIP = 2,
        /// OEM service calls.
        OEM = 3,
        /// Standard secure service calls (PSCI, TRNG).
        STANDARD = 4,
        /// Standard hypervisor service calls (paravirtualised time).
        STANDARD_HYP = 5,
        /// Vendor-specific hypervisor service calls: Hyper-V hypercalls and the hypervisor's
        /// UID query.
        VENDOR_HYP = 6,
        /// First trusted application call owner.
        TRUSTED_APP = 48,
        /// First trusted OS call owner.
        TRUSTED_OS = 50,
    }
}

/// An SMCCC function id, the value in W0 of an SMCCC call (Arm DEN 0028; Linux
/// `ARM_SMCCC_CALL_VAL`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct SmcccFunctionId {
    /// Function number within the owner's range, bits 15:0.
    pub function_number: u16,
    /// Bits 23:16: must be zero (SMCCC 1.3 lets a caller set bit 16 as a hint that SVE state
    /// is not live; this crate never does).
    #[bits(8)]
    _reserved: u8,
    /// Service owner, bits 29:24.
    #[bits(6, from = SmcccOwner::new, into = SmcccOwner::get)]
    pub owner: SmcccOwner,
    /// SMC64/HVC64 convention (64-bit registers), bit 30; clear for SMC32/HVC32.
    pub smc64: bool,
    /// Fast call (atomic, not preemptible), bit 31; clear for a yielding ("standard") call.
    pub fast_call: bool,
}

impl SmcccFunctionId {
    /// Mask of bits 23:16, which must be zero.
    pub const RESERVED_MASK: u32 = 0x00FF_0000;
}

/// `SMCCC_VERSION`: fast, SMC32, owner Arm, function 0 (Arm DEN 0028; Linux
/// `ARM_SMCCC_VERSION_FUNC_ID`). Returns the version as `major << 16 | minor`, or
/// [`SMCCC_RET_NOT_SUPPORTED`] on SMCCC 1.0.
pub const SMCCC_VERSION: u32 = 0x8000_0000;

/// `SMCCC_ARCH_FEATURES`: fast, SMC32, owner Arm, function 1 (Arm DEN 0028; Linux
/// `ARM_SMCCC_ARCH_FEATURES_FUNC_ID`).
pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;

/// The function number of the "Call UID query" in every owner's range (Arm DEN 0028; Linux
/// `ARM_SMCCC_FUNC_QUERY_CALL_UID`).
pub const SMCCC_FUNC_QUERY_CALL_UID: u16 = 0xFF01;

/// The vendor-specific hypervisor service "Call UID query": fast, SMC32, owner
/// [`SmcccOwner::VENDOR_HYP`], function 0xFF01 (Linux
/// `ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID`). Returns the hypervisor's UID in W0–W3, or
/// [`SMCCC_RET_NOT_SUPPORTED`] in W0.
pub const SMCCC_VENDOR_HYP_CALL_UID: u32 = 0x8600_FF01;

/// SMCCC return code: success (Arm DEN 0028; Linux `SMCCC_RET_SUCCESS`).
pub const SMCCC_RET_SUCCESS: i32 = 0;
/// SMCCC return code: the function is not implemented (Arm DEN 0028; Linux
/// `SMCCC_RET_NOT_SUPPORTED`). W0 reads 0xFFFF_FFFF.
pub const SMCCC_RET_NOT_SUPPORTED: i32 = -1;
/// SMCCC return code: the call is not required (Arm DEN 0028; Linux `SMCCC_RET_NOT_REQUIRED`).
pub const SMCCC_RET_NOT_REQUIRED: i32 = -2;
/// SMCCC return code: a parameter is invalid (Arm DEN 0028; Linux
/// `SMCCC_RET_INVALID_PARAMETER`).
pub const SMCCC_RET_INVALID_PARAMETER: i32 = -3;

/// The SMCCC function number of Hyper-V hypercalls in the vendor-specific hypervisor range
/// (post-TLFS 6.0; Linux `arch/arm64/include/asm/mshyperv.h` `HV_SMCCC_FUNC_NUMBER`).
pub const HV_SMCCC_FUNC_NUMBER: u16 = 1;

/// The SMCCC function id of every Hyper-V hypercall made with `hvc #0`: a yielding (standard)
/// call, SMC64, owner [`SmcccOwner::VENDOR_HYP`], function [`HV_SMCCC_FUNC_NUMBER`]
/// (post-TLFS 6.0; Linux `arch/arm64/include/asm/mshyperv.h` `HV_FUNC_ID`).
pub const HV_FUNC_ID: u32 = 0x4600_0001;

const _: () = assert!(
    SmcccFunctionId::new()
        .with_function_number(HV_SMCCC_FUNC_NUMBER)
        .with_owner(SmcccOwner::VENDOR_HYP)
        .with_smc64(true)
        .into_bits()
        == HV_FUNC_ID
);
const _: () = assert!(
    SmcccFunctionId::new()
        .with_function_number(SMCCC_FUNC_QUERY_CALL_UID)
        .with_owner(SmcccOwner::VENDOR_HYP)
        .with_fast_call(true)
        .into_bits()
        == SMCCC_VENDOR_HYP_CALL_UID
);

/// A 128-bit SMCCC UID as the "Call UID query" returns it: W0–W3, each register holding four
/// bytes of the UUID in little-endian order (Arm DEN 0028; Linux `smccc_res_to_uuid`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SmcccUid(pub [u32; 4]);

impl SmcccUid {
    /// The UID from the low 32 bits of X0–X3 (the upper halves are not part of an SMC32
    /// result).
    #[must_use]
    pub const fn from_regs(regs: [u64; 4]) -> Self {
        Self([
            regs[0] as u32,
            regs[1] as u32,
            regs[2] as u32,
            regs[3] as u32,
        ])
    }

    /// The 16 bytes of the UUID, in the order of its text form.
    #[must_use]
    pub const fn bytes(self) -> [u8; 16] {
        let mut out = [0; 16];
        let mut i = 0;
        while i < 16 {
            out[i] = (self.0[i / 4] >> (8 * (i % 4))) as u8;
            i += 1;
        }
        out
    }
}

impl core::fmt::Display for SmcccUid {
    /// The UUID text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, byte) in self.bytes().iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// The UID the Microsoft hypervisor returns for [`SMCCC_VENDOR_HYP_CALL_UID`]: UUID
/// 58ba324d-6447-24cd-756c-ef8e24705916 (post-TLFS 6.0; Linux `arch/arm64/hyperv/mshyperv.c`
/// `hyperv_detect_via_smccc`, `include/linux/arm-smccc.h`
/// `ARM_SMCCC_VENDOR_HYP_UID_HYPERV_REG_0..3`).
pub const HV_ARM64_SMCCC_UID: SmcccUid =
    SmcccUid([0x4D32_BA58, 0xCD24_4764, 0x8EEF_6C75, 0x1659_7024]);

/// The UID KVM returns for [`SMCCC_VENDOR_HYP_CALL_UID`]: UUID
/// 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 (Linux `include/linux/arm-smccc.h`
/// `ARM_SMCCC_VENDOR_HYP_UID_KVM_REG_0..3`). KVM on arm64 has no Hyper-V interface; the
/// constant lets a report name the hypervisor it found instead.
pub const KVM_ARM64_SMCCC_UID: SmcccUid =
    SmcccUid([0xB66F_B428, 0xE911_C52E, 0x564B_CAA9, 0x743A_004D]);

/// The first register of the fast input block with `hvc #0` (SMCCC): X2 (post-TLFS 6.0;
/// Linux `hv_set_vpreg`, OpenVMM aarch64 hypercall module docs).
pub const HV_ARM64_SMCCC_FAST_FIRST: usize = 2;

/// The first register of the fast input block with `hvc #1`: X1 (post-TLFS 6.0; `mu_msvm`
/// `HypercallImpl.S`, OpenVMM aarch64 hypercall module docs).
pub const HV_ARM64_HVC_FAST_FIRST: usize = 1;

/// Registers of the fast input block: 16, X2–X17 with SMCCC 1.2 and X1–X16 with `hvc #1`
/// (post-TLFS 6.0; OpenVMM aarch64 hypercall module docs, Arm DEN 0028 1.2 "X1–X17 are
/// arguments").
pub const HV_ARM64_FAST_BLOCK_REGISTERS: usize = 16;

/// The first of the two registers (low, high) holding the value of a fast
/// `HvCallGetVpRegisters` of one register made with `hvc #0`: X6 (post-TLFS 6.0; Linux
/// `hv_get_vpreg_128`, which reads `res.a6` and `res.a7`).
pub const HV_ARM64_SMCCC_GET_VP_REGISTER_OUTPUT: usize = 6;

/// The first of the two registers (low, high) holding the value of a fast
/// `HvCallGetVpRegisters` of one register made with `hvc #1`: X15 (post-TLFS 6.0; `mu_msvm`
/// `AsmGetVpRegister` stores X15 and X16; OpenVMM `get_register_fast` reads X15 and X16).
pub const HV_ARM64_HVC_GET_VP_REGISTER_OUTPUT: usize = 15;

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::ToString;

    use super::*;

    #[test]
    fn uids_print_as_their_uuids() {
        assert_eq!(
            HV_ARM64_SMCCC_UID.to_string(),
            "58ba324d-6447-24cd-756c-ef8e24705916"
        );
        assert_eq!(
            KVM_ARM64_SMCCC_UID.to_string(),
            "28b46fb6-2ec5-11e9-a9ca-4b564d003a74"
        );
    }

    #[test]
    fn uid_from_regs_keeps_the_low_words() {
        let uid = SmcccUid::from_regs([
            0xFFFF_FFFF_4D32_BA58,
            0xCD24_4764,
            0x1_8EEF_6C75,
            0x1659_7024,
        ]);
        assert_eq!(uid, HV_ARM64_SMCCC_UID);
    }

    #[test]
    fn function_id_fields_decode() {
        let id = SmcccFunctionId::from_bits(HV_FUNC_ID);
        assert_eq!(id.owner(), SmcccOwner::VENDOR_HYP);
        assert_eq!(id.function_number(), 1);
        assert!(id.smc64());
        assert!(!id.fast_call());
        let version = SmcccFunctionId::from_bits(SMCCC_VERSION);
        assert_eq!(version.owner(), SmcccOwner::ARCH);
        assert!(version.fast_call() && !version.smc64());
        let all_ones = SmcccFunctionId::new()
            .with_function_number(u16::MAX)
            .with_owner(SmcccOwner::new(0x3F))
            .with_smc64(true)
            .with_fast_call(true);
        assert_eq!(all_ones.into_bits(), !SmcccFunctionId::RESERVED_MASK);
    }
}
