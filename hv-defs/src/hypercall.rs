//! Hypercall interface: call codes, the hypercall input (control) value and the hypercall
//! result value (TLFS 3, appendix A).
//!
//! # Calling convention (x64, TLFS 3.7, 3.8, 3.9)
//!
//! | register | memory-based call | fast call | XMM fast call |
//! | --- | --- | --- | --- |
//! | RCX | [`HvHypercallInput`] | same | same |
//! | RDX | input page GPA | input qword 0 | input block bytes 0..8 |
//! | R8 | output page GPA | input qword 1 | input block bytes 8..16 |
//! | XMM0–XMM5 | – | – | input block bytes 16..112 (output where supported) |
//! | RAX (out) | [`HvHypercallOutput`] | same | same |
//!
//! Rep calls update RCX with the new rep start index; fast output may overwrite RDX, R8 and
//! XMM0–XMM5. All other registers are preserved.

use bitfield_struct::bitfield;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::status::{HvResult, HvStatus};

open_enum! {
    /// A hypercall code (TLFS 3.7 "Call Code", appendix A, 3.14 for extended hypercalls).
    ///
    /// Names follow the TLFS spelling, normalised to the `HvCall` prefix the later
    /// chapters use (appendix A mixes `HvFoo` and `HvCallFoo`).
    pub struct HvCallCode(u16) {
        /// Switch the virtual address space (TLFS 9.1.3, appendix A 0x0001).
        HvCallSwitchVirtualAddressSpace = 0x0001,
        /// Flush a whole virtual address space (TLFS 9.5.2, appendix A 0x0002).
        HvCallFlushVirtualAddressSpace = 0x0002,
        /// Flush a list of virtual addresses, rep (TLFS 9.5.3, appendix A 0x0003).
        HvCallFlushVirtualAddressList = 0x0003,
        /// Logical processor run time (TLFS appendix A 0x0004).
        HvCallGetLogicalProcessorRunTime = 0x0004,
        /// Notify the hypervisor of a long spin wait (TLFS 14.5.1, appendix A 0x0008).
        HvCallNotifyLongSpinWait = 0x0008,
        /// Parked virtual processors (TLFS appendix A 0x0009).
        HvCallParkedVirtualProcessors = 0x0009,
        /// Send a synthetic cluster IPI (TLFS 10.5.2, appendix A 0x000B).
        HvCallSendSyntheticClusterIpi = 0x000B,
        /// Modify VTL protections of GPA pages, rep (TLFS 15.8.1, appendix A 0x000C).
        HvCallModifyVtlProtectionMask = 0x000C,
        /// Enable a VTL for a partition (TLFS 15.4.1, appendix A 0x000D).
        HvCallEnablePartitionVtl = 0x000D,
        /// Disable a VTL for a partition (TLFS appendix A 0x000E).
        HvCallDisablePartitionVtl = 0x000E,
        /// Enable a VTL on a VP (TLFS 15.5.1, appendix A 0x000F).
        HvCallEnableVpVtl = 0x000F,
        /// Disable a VTL on a VP (TLFS appendix A 0x0010).
        HvCallDisableVpVtl = 0x0010,
        /// Call into the next higher VTL (TLFS 15.6.2, appendix A 0x0011).
        HvCallVtlCall = 0x0011,
        /// Return to the lower VTL (TLFS 15.6.3, appendix A 0x0012).
        HvCallVtlReturn = 0x0012,
        /// Flush a virtual address space on a VP set (TLFS 9.5.4, appendix A 0x0013).
        HvCallFlushVirtualAddressSpaceEx = 0x0013,
        /// Flush a GVA list on a VP set, rep (TLFS 9.5.5, appendix A 0x0014).
        HvCallFlushVirtualAddressListEx = 0x0014,
        /// Send a synthetic IPI to a VP set (TLFS 10.5.3, appendix A 0x0015).
        HvCallSendSyntheticClusterIpiEx = 0x0015,
        /// Create a partition (TLFS appendix A 0x0040).
        HvCallCreatePartition = 0x0040,
        /// Initialize a partition (TLFS appendix A 0x0041).
        HvCallInitializePartition = 0x0041,
        /// Finalize a partition (TLFS appendix A 0x0042).
        HvCallFinalizePartition = 0x0042,
        /// Delete a partition (TLFS appendix A 0x0043).
        HvCallDeletePartition = 0x0043,
        /// Get a partition property (TLFS appendix A 0x0044).
        HvCallGetPartitionProperty = 0x0044,
        /// Set a partition property (TLFS appendix A 0x0045).
        HvCallSetPartitionProperty = 0x0045,
        /// Get the caller's partition id (TLFS appendix A 0x0046).
        HvCallGetPartitionId = 0x0046,
        /// Enumerate child partitions (TLFS appendix A 0x0047).
        HvCallGetNextChildPartition = 0x0047,
        /// Deposit memory into a partition's pool, rep (TLFS appendix A 0x0048).
        HvCallDepositMemory = 0x0048,
        /// Withdraw memory from a partition's pool, rep (TLFS appendix A 0x0049).
        HvCallWithdrawMemory = 0x0049,
        /// Get a partition's memory balance (TLFS appendix A 0x004A).
        HvCallGetMemoryBalance = 0x004A,
        /// Map GPA pages, rep (TLFS appendix A 0x004B).
        HvCallMapGpaPages = 0x004B,
        /// Unmap GPA pages, rep (TLFS appendix A 0x004C).
        HvCallUnmapGpaPages = 0x004C,
        /// Install an intercept (TLFS appendix A 0x004D).
        HvCallInstallIntercept = 0x004D,
        /// Create a VP (TLFS appendix A 0x004E).
        HvCallCreateVp = 0x004E,
        /// Delete a VP (TLFS appendix A 0x004F).
        HvCallDeleteVp = 0x004F,
        /// Read VP registers, rep (TLFS 7.10.2, appendix A 0x0050).
        HvCallGetVpRegisters = 0x0050,
        /// Write VP registers, rep (TLFS 7.10.1, appendix A 0x0051).
        HvCallSetVpRegisters = 0x0051,
        /// Translate a GVA (TLFS 9.6, appendix A 0x0052).
        HvCallTranslateVirtualAddress = 0x0052,
        /// Read guest physical memory (TLFS appendix A 0x0053).
        HvCallReadGpa = 0x0053,
        /// Write guest physical memory (TLFS appendix A 0x0054).
        HvCallWriteGpa = 0x0054,
        /// Clear a virtual interrupt (TLFS appendix A 0x0056).
        HvCallClearVirtualInterrupt = 0x0056,
        /// Delete a port (TLFS appendix A 0x0058).
        HvCallDeletePort = 0x0058,
        /// Connect a port, legacy form (TLFS appendix A 0x0059).
        HvCallConnectPortLegacy = 0x0059,
        /// Get a port property (TLFS appendix A 0x005A).
        HvCallGetPortProperty = 0x005A,
        /// Disconnect a port (TLFS appendix A 0x005B).
        HvCallDisconnectPort = 0x005B,
        /// Post a message to a connection (TLFS 11.10.1, appendix A 0x005C).
        HvCallPostMessage = 0x005C,
        /// Signal an event on a connection (TLFS 11.10.2, appendix A 0x005D).
        HvCallSignalEvent = 0x005D,
        /// Save partition state (TLFS appendix A 0x005E).
        HvCallSavePartitionState = 0x005E,
        /// Restore partition state (TLFS appendix A 0x005F).
        HvCallRestorePartitionState = 0x005F,
        /// Initialize an event log buffer group (TLFS appendix A 0x0060).
        HvCallInitializeEventLogBufferGroup = 0x0060,
        /// Finalize an event log buffer group (TLFS appendix A 0x0061).
        HvCallFinalizeEventLogBufferGroup = 0x0061,
        /// Create an event log buffer (TLFS appendix A 0x0062).
        HvCallCreateEventLogBuffer = 0x0062,
        /// Delete an event log buffer (TLFS appendix A 0x0063).
        HvCallDeleteEventLogBuffer = 0x0063,
        /// Map an event log buffer (TLFS appendix A 0x0064).
        HvCallMapEventLogBuffer = 0x0064,
        /// Unmap an event log buffer (TLFS appendix A 0x0065).
        HvCallUnmapEventLogBuffer = 0x0065,
        /// Set event log group sources (TLFS appendix A 0x0066).
        HvCallSetEventLogGroupSources = 0x0066,
        /// Release an event log buffer (TLFS appendix A 0x0067).
        HvCallReleaseEventLogBuffer = 0x0067,
        /// Flush an event log buffer (TLFS appendix A 0x0068).
        HvCallFlushEventLogBuffer = 0x0068,
        /// Post debug data (TLFS appendix A 0x0069).
        HvCallPostDebugData = 0x0069,
        /// Retrieve debug data (TLFS appendix A 0x006A).
        HvCallRetrieveDebugData = 0x006A,
        /// Reset the debug session (TLFS appendix A 0x006B).
        HvCallResetDebugSession = 0x006B,
        /// Map a statistics page (TLFS appendix A 0x006C).
        HvCallMapStatsPage = 0x006C,
        /// Unmap a statistics page (TLFS appendix A 0x006D).
        HvCallUnmapStatsPage = 0x006D,
        /// Map sparse GPA pages, rep (TLFS appendix A 0x006E).
        HvCallMapSparseGpaPages = 0x006E,
        /// Set a system property (TLFS appendix A 0x006F).
        HvCallSetSystemProperty = 0x006F,
        /// Set a port property (TLFS appendix A 0x0070).
        HvCallSetPortProperty = 0x0070,
        /// Write a character to the hypervisor debug output (post-TLFS 6.0; OpenVMM
        /// `hvdef`, 0x0071).
        HvCallOutputDebugCharacter = 0x0071,
        /// Add a logical processor (TLFS appendix A 0x0076).
        HvCallAddLogicalProcessor = 0x0076,
        /// Remove a logical processor (TLFS appendix A 0x0077).
        HvCallRemoveLogicalProcessor = 0x0077,
        /// Query NUMA distance (TLFS appendix A 0x0078).
        HvCallQueryNumaDistance = 0x0078,
        /// Set a logical processor property (TLFS appendix A 0x0079).
        HvCallSetLogicalProcessorProperty = 0x0079,
        /// Get a logical processor property (TLFS appendix A 0x007A).
        HvCallGetLogicalProcessorProperty = 0x007A,
        /// Get a system property (TLFS appendix A 0x007B).
        HvCallGetSystemProperty = 0x007B,
        /// Map a device interrupt (TLFS appendix A 0x007C).
        HvCallMapDeviceInterrupt = 0x007C,
        /// Unmap a device interrupt (TLFS appendix A 0x007D).
        HvCallUnmapDeviceInterrupt = 0x007D,
        /// Retarget a device interrupt (TLFS 10.7.1, appendix A 0x007E).
        HvCallRetargetDeviceInterrupt = 0x007E,
        /// Map device pages (TLFS appendix A 0x0080).
        HvCallMapDevicePages = 0x0080,
        /// Unmap device pages (TLFS appendix A 0x0081).
        HvCallUnmapDevicePages = 0x0081,
        /// Attach a device (TLFS appendix A 0x0082).
        HvCallAttachDevice = 0x0082,
        /// Detach a device (TLFS appendix A 0x0083).
        HvCallDetachDevice = 0x0083,
        /// Notify a standby transition (TLFS appendix A 0x0084).
        HvCallNotifyStandbyTransition = 0x0084,
        /// Prepare for sleep (TLFS appendix A 0x0085).
        HvCallPrepareForSleep = 0x0085,
        /// Prepare for hibernate (TLFS appendix A 0x0086).
        HvCallPrepareForHibernate = 0x0086,
        /// Notify a partition event (TLFS appendix A 0x0087).
        HvCallNotifyPartitionEvent = 0x0087,
        /// Get logical processor registers (TLFS appendix A 0x0088).
        HvCallGetLogicalProcessorRegisters = 0x0088,
        /// Set logical processor registers (TLFS appendix A 0x0089).
        HvCallSetLogicalProcessorRegisters = 0x0089,
        /// Query the LPs associated for MCA (TLFS appendix A 0x008A).
        HvCallQueryAssociatedLpsforMca = 0x008A,
        /// Notify that a port ring is empty (TLFS appendix A 0x008B).
        HvCallNotifyRingEmpty = 0x008B,
        /// Inject a synthetic machine check (TLFS appendix A 0x008C).
        HvCallInjectSyntheticMachineCheck = 0x008C,
        /// Scrub a partition (TLFS appendix A 0x008D).
        HvCallScrubPartition = 0x008D,
        /// Collect a live dump (TLFS appendix A 0x008E).
        HvCallCollectLivedump = 0x008E,
        /// Disable the hypervisor (TLFS appendix A 0x008F).
        HvCallDisableHypervisor = 0x008F,
        /// Modify sparse GPA pages (TLFS appendix A 0x0090).
        HvCallModifySparseGpaPages = 0x0090,
        /// Register an intercept result (TLFS appendix A 0x0091).
        HvCallRegisterInterceptResult = 0x0091,
        /// Unregister an intercept result (TLFS appendix A 0x0092).
        HvCallUnregisterInterceptResult = 0x0092,
        /// Assert a virtual interrupt (TLFS appendix A 0x0094).
        HvCallAssertVirtualInterrupt = 0x0094,
        /// Create a port (TLFS appendix A 0x0095).
        HvCallCreatePort = 0x0095,
        /// Connect a port (TLFS appendix A 0x0096).
        HvCallConnectPort = 0x0096,
        /// Get an SPA page list (TLFS appendix A 0x0097).
        HvCallGetSpaPageList = 0x0097,
        /// Start a virtual processor (TLFS 7.10.3, appendix A 0x0099).
        HvCallStartVirtualProcessor = 0x0099,
        /// Translate APIC ids to VP indices, rep (TLFS 7.10.4, appendix A 0x009A).
        HvCallGetVpIndexFromApicId = 0x009A,
        /// Translate a GVA, extended output (post-TLFS 6.0; OpenVMM `hvdef`, 0x00AC).
        HvCallTranslateVirtualAddressEx = 0x00AC,
        /// Check for an I/O intercept (post-TLFS 6.0; OpenVMM `hvdef`, 0x00AD).
        HvCallCheckForIoIntercept = 0x00AD,
        /// Flush a guest physical address space (TLFS 16.8.1, appendix A 0x00AF).
        HvCallFlushGuestPhysicalAddressSpace = 0x00AF,
        /// Flush a list of guest physical ranges, rep (TLFS 16.8.2, appendix A 0x00B0).
        HvCallFlushGuestPhysicalAddressList = 0x00B0,
        /// Signal an event directly on a VP (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00C0).
        HvCallSignalEventDirect = 0x00C0,
        /// Post a message directly to a VP (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00C1).
        HvCallPostMessageDirect = 0x00C1,
        /// Dispatch a VP (root scheduler; post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00C2).
        HvCallDispatchVp = 0x00C2,
        /// Get GPA page access states (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00C9).
        HvCallGetGpaPagesAccessStates = 0x00C9,
        /// Check VTL access of sparse GPA pages (post-TLFS 6.0; OpenVMM `hvdef`, 0x00D4).
        HvCallCheckSparseGpaPageVtlAccess = 0x00D4,
        /// Acquire host access to sparse SPA pages (post-TLFS 6.0; Linux, 0x00D7).
        HvCallAcquireSparseSpaPageHostAccess = 0x00D7,
        /// Release host access to sparse SPA pages (post-TLFS 6.0; Linux, 0x00D8).
        HvCallReleaseSparseSpaPageHostAccess = 0x00D8,
        /// Accept GPA pages in an isolated partition (post-TLFS 6.0; OpenVMM, 0x00D9).
        HvCallAcceptGpaPages = 0x00D9,
        /// Change host visibility of GPA pages in an isolated partition (post-TLFS 6.0;
        /// Linux `hvgdk_mini.h`, 0x00DB).
        HvCallModifySparseGpaPageHostVisibility = 0x00DB,
        /// Map a VP state page (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00E1).
        HvCallMapVpStatePage = 0x00E1,
        /// Unmap a VP state page (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00E2).
        HvCallUnmapVpStatePage = 0x00E2,
        /// Get VP state (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00E3).
        HvCallGetVpState = 0x00E3,
        /// Set VP state (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00E4).
        HvCallSetVpState = 0x00E4,
        /// Get a VP's CPUID values (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x00F4).
        HvCallGetVpCpuidValues = 0x00F4,
        /// Read MMIO through the hypervisor (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x0106).
        HvCallMemoryMappedIoRead = 0x0106,
        /// Write MMIO through the hypervisor (post-TLFS 6.0; Linux `hvgdk_mini.h`, 0x0107).
        HvCallMemoryMappedIoWrite = 0x0107,
        /// Pin GPA page ranges (post-TLFS 6.0; OpenVMM `hvdef`, 0x0112).
        HvCallPinGpaPageRanges = 0x0112,
        /// Unpin GPA page ranges (post-TLFS 6.0; OpenVMM `hvdef`, 0x0113).
        HvCallUnpinGpaPageRanges = 0x0113,
        /// Query host visibility of sparse GPA pages (post-TLFS 6.0; OpenVMM, 0x011C).
        HvCallQuerySparseGpaPageHostVisibility = 0x011C,
        /// Query the available extended hypercalls (TLFS 3.14.1, 0x8001).
        HvExtCallQueryCapabilities = 0x8001,
        /// Get memory the hypervisor zeroed at boot (TLFS 3.14, 0x8002).
        HvExtCallGetBootZeroedMemory = 0x8002,
        /// Memory heat hint (TLFS 3.14, 0x8003).
        HvExtCallMemoryHeatHint = 0x8003,
        /// EPF setup (TLFS 3.14, 0x8004).
        HvExtCallEpfSetup = 0x8004,
        /// Scheduler assist setup (TLFS 3.14, 0x8005).
        HvExtCallSchedulerAssistSetup = 0x8005,
        /// Asynchronous memory heat hint (TLFS 3.14, 0x8006).
        HvExtCallMemoryHeatHintAsync = 0x8006,
    }
}

impl HvCallCode {
    /// Whether this is an extended hypercall (code above 0x8000, TLFS 3.14).
    #[must_use]
    pub const fn is_extended(self) -> bool {
        self.0 > 0x8000
    }
}

/// The largest rep count and rep start index the 12-bit fields can hold (TLFS 3.7).
pub const HV_HYPERCALL_REP_MAX: u16 = 0x0FFF;

/// The largest variable header size, in 8-byte units, the field can hold (TLFS 3.7.1; the
/// field is 10 bits wide, see [`HvHypercallInput`]).
pub const HV_HYPERCALL_VARIABLE_HEADER_MAX: u16 = 0x03FF;

/// Bytes of input a register-based fast call passes in RDX and R8 (TLFS 3.7).
pub const HV_HYPERCALL_FAST_INPUT_BYTES: usize = 16;

/// Number of XMM registers used by XMM fast hypercalls (TLFS 3.7.2.2).
pub const HV_HYPERCALL_XMM_REGISTERS: usize = 6;

/// Largest input (and input + output) block of an XMM fast hypercall: RDX, R8 and
/// XMM0–XMM5 (TLFS 3.7.2, 3.8.1.2).
pub const HV_HYPERCALL_XMM_BLOCK_BYTES: usize = 112;

/// The hypercall input value passed in RCX (TLFS 3.7).
///
/// Bits 30:27, 47:44 and 63:60 are RsvdZ; the hypervisor fails a call that sets them with
/// `HV_STATUS_INVALID_HYPERCALL_INPUT`.
///
/// # Correction to the TLFS 6.0 table
///
/// The TLFS 6.0 table in 3.7 shows a 9-bit variable header size at 25:17, "Is Nested" at
/// bit 26 and RsvdZ at 31:27. The hypervisor as shipped, and both public Microsoft-written
/// guests (Linux `HV_HYPERCALL_VARHEAD_MASK` = bits 26:17, `HV_HYPERCALL_NESTED` = bit 31;
/// OpenVMM `hvdef::hypercall::Control`), use a 10-bit variable header size at 26:17 and the
/// nested flag at bit 31, with 30:27 RsvdZ. This type follows the shipped layout.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvHypercallInput {
    /// Call code, bits 15:0 (TLFS 3.7).
    #[bits(16, from = HvCallCode::new, into = HvCallCode::get)]
    pub call_code: HvCallCode,
    /// Register-based (fast) calling convention, bit 16 (TLFS 3.7).
    pub fast: bool,
    /// Size of the variable header in 8-byte units, bits 26:17 (TLFS 3.7.1).
    #[bits(10)]
    pub variable_header_size: u16,
    /// RsvdZ, bits 30:27.
    #[bits(4)]
    _rsvd0: u8,
    /// Handle the call in the L0 hypervisor when running nested, bit 31 (TLFS 3.7
    /// "Is Nested").
    pub nested: bool,
    /// Total number of reps of a rep call, bits 43:32 (TLFS 3.7).
    #[bits(12)]
    pub rep_count: u16,
    /// RsvdZ, bits 47:44.
    #[bits(4)]
    _rsvd1: u8,
    /// Index of the first rep to process, bits 59:48 (TLFS 3.7).
    #[bits(12)]
    pub rep_start_index: u16,
    /// RsvdZ, bits 63:60.
    #[bits(4)]
    _rsvd2: u8,
}

impl HvHypercallInput {
    /// Mask of the RsvdZ bits: 30:27, 47:44, 63:60 (TLFS 3.7).
    pub const RESERVED_MASK: u64 = 0xF000_F000_7800_0000;

    /// Whether any RsvdZ bit is set.
    #[must_use]
    pub const fn has_reserved_bits(self) -> bool {
        self.into_bits() & Self::RESERVED_MASK != 0
    }
}

/// The hypercall result value returned in RAX (TLFS 3.8).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvHypercallOutput {
    /// Status of the call, bits 15:0 (TLFS 3.8 "Result").
    #[bits(16, from = HvStatus::new, into = HvStatus::get)]
    pub status: HvStatus,
    /// Ignored by callers, bits 31:16.
    #[bits(16)]
    _rsvd0: u16,
    /// Total number of reps completed, counted from zero, not from the rep start index;
    /// bits 43:32 (TLFS 3.8 "Reps completed").
    #[bits(12)]
    pub reps_completed: u16,
    /// Ignored by callers, bits 63:44.
    #[bits(20)]
    _rsvd1: u32,
}

impl HvHypercallOutput {
    /// The status as a `Result`.
    ///
    /// # Errors
    ///
    /// Returns the status as an error when it is not `HV_STATUS_SUCCESS`.
    pub const fn result(self) -> HvResult<()> {
        self.status().result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_word_fields_land_on_the_tlfs_bits() {
        let input = HvHypercallInput::new()
            .with_call_code(HvCallCode::HvCallFlushVirtualAddressListEx)
            .with_fast(true)
            .with_variable_header_size(HV_HYPERCALL_VARIABLE_HEADER_MAX)
            .with_nested(true)
            .with_rep_count(0xFFF)
            .with_rep_start_index(0xABC);
        assert_eq!(input.into_bits(), 0x0ABC_0FFF_87FF_0014);
        assert!(!input.has_reserved_bits());
    }

    #[test]
    fn output_fields_decode_from_the_tlfs_bits() {
        let output = HvHypercallOutput::from_bits(0xFFFF_F123_FFFF_0006);
        assert_eq!(output.status(), HvStatus::ACCESS_DENIED);
        assert_eq!(output.reps_completed(), 0x123);
        assert!(output.result().is_err());
    }

    #[test]
    fn extended_codes_are_above_0x8000() {
        assert!(HvCallCode::HvExtCallQueryCapabilities.is_extended());
        assert!(!HvCallCode::HvCallPostMessage.is_extended());
    }
}
