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
//!
//! # Per-call metadata
//!
//! [`HvCallCode::info`] gives, for every named code, the call class (simple or rep), whether
//! a fast form exists and may use XMM input, whether a variable header is accepted, and the
//! caller and privilege of appendix A ([`HvCallInfo`]). [`HvHypercallInput::validate`]
//! applies the TLFS 3.7 rules to an input value using that metadata.
//!
//! # Extended hypercalls (TLFS 3.14)
//!
//! Codes above [`HV_EXT_CALL_CODE_BASE`] use the same calling convention; which ones exist
//! is reported by `HvExtCallQueryCapabilities` ([`HvExtCallCapabilities`]).

use bitfield_struct::bitfield;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::status::{HvError, HvResult, HvStatus};

open_enum! {
    /// A hypercall code (TLFS 3.7 "Call Code", appendix A, 3.14 for extended hypercalls).
    ///
    /// Names follow the TLFS spelling, normalised to the `HvCall` prefix the later
    /// chapters use (appendix A mixes `HvFoo` and `HvCallFoo`).
    pub struct HvCallCode(u16) {
        /// Switch the virtual address space (TLFS 9.4.1, appendix A 0x0001).
        HvCallSwitchVirtualAddressSpace = 0x0001,
        /// Flush a whole virtual address space (TLFS 9.4.2, appendix A 0x0002).
        HvCallFlushVirtualAddressSpace = 0x0002,
        /// Flush a list of virtual addresses, rep (TLFS 9.4.4, appendix A 0x0003).
        HvCallFlushVirtualAddressList = 0x0003,
        /// Logical processor run time (TLFS appendix A 0x0004).
        HvCallGetLogicalProcessorRunTime = 0x0004,
        /// Notify the hypervisor of a long spin wait (TLFS 14.5.1, appendix A 0x0008).
        HvCallNotifyLongSpinWait = 0x0008,
        /// Parked virtual processors (TLFS appendix A 0x0009).
        HvCallParkedVirtualProcessors = 0x0009,
        /// Send a synthetic cluster IPI (TLFS 10.5.2, appendix A 0x000B).
        HvCallSendSyntheticClusterIpi = 0x000B,
        /// Modify VTL protections of GPA pages, rep (TLFS 15.15.2, appendix A 0x000C).
        HvCallModifyVtlProtectionMask = 0x000C,
        /// Enable a VTL for a partition (TLFS 15.15.3, appendix A 0x000D).
        HvCallEnablePartitionVtl = 0x000D,
        /// Disable a VTL for a partition (TLFS appendix A 0x000E).
        HvCallDisablePartitionVtl = 0x000E,
        /// Enable a VTL on a VP (TLFS 15.15.4, appendix A 0x000F).
        HvCallEnableVpVtl = 0x000F,
        /// Disable a VTL on a VP (TLFS appendix A 0x0010).
        HvCallDisableVpVtl = 0x0010,
        /// Call into the next higher VTL (TLFS 15.15.5, appendix A 0x0011).
        HvCallVtlCall = 0x0011,
        /// Return to the lower VTL (TLFS 15.15.6, appendix A 0x0012).
        HvCallVtlReturn = 0x0012,
        /// Flush a virtual address space on a VP set (TLFS 9.4.3, appendix A 0x0013).
        HvCallFlushVirtualAddressSpaceEx = 0x0013,
        /// Flush a GVA list on a VP set, rep (TLFS 9.4.5, appendix A 0x0014).
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
        /// Translate a GVA (TLFS 9.4.6, appendix A 0x0052).
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
        /// Post a message to a connection (TLFS 11.11.1, appendix A 0x005C).
        HvCallPostMessage = 0x005C,
        /// Signal an event on a connection (TLFS 11.11.2, appendix A 0x005D).
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
        /// Retarget a device interrupt (TLFS 10.5.4, appendix A 0x007E).
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
        /// Assert a virtual interrupt (TLFS 10.5.1, appendix A 0x0094).
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
        /// Flush a guest physical address space (TLFS 16.13.1, appendix A 0x00AF).
        HvCallFlushGuestPhysicalAddressSpace = 0x00AF,
        /// Flush a list of guest physical ranges, rep (TLFS 16.13.2, appendix A 0x00B0).
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
        /// Get memory the hypervisor zeroed at boot (TLFS 3.14, 9.4.7, 0x8002).
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

/// The lowest extended hypercall code is one above this value (TLFS 3.14: "call codes above
/// 0x8000").
pub const HV_EXT_CALL_CODE_BASE: u16 = 0x8000;

impl HvCallCode {
    /// Whether this is an extended hypercall (code above 0x8000, TLFS 3.14).
    #[must_use]
    pub const fn is_extended(self) -> bool {
        self.0 > HV_EXT_CALL_CODE_BASE
    }

    /// The calling-convention metadata of this call, or `None` for a code the crate does not
    /// describe (TLFS 3.2, 3.7, appendix A).
    ///
    /// Backed by one static table sorted by code, [`HV_CALL_INFO`].
    #[must_use]
    pub const fn info(self) -> Option<HvCallInfo> {
        let mut lo = 0;
        let mut hi = HV_CALL_INFO.len();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let entry = HV_CALL_INFO[mid];
            if entry.code.0 == self.0 {
                return Some(entry);
            }
            if entry.code.0 < self.0 {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        None
    }
}

/// The class of a hypercall (TLFS 3.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HvCallKind {
    /// A simple hypercall: one operation with fixed-size input and output; rep count and rep
    /// start index must be zero.
    Simple,
    /// A rep hypercall: a fixed header plus a list of input and/or output elements; the rep
    /// count must be non-zero and greater than the rep start index (TLFS 3.7).
    Rep,
}

/// Which partitions may make a hypercall (TLFS appendix A, column "Caller").
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HvCaller {
    /// Any partition ("Any").
    Any,
    /// The parent of the target partition ("Parent").
    Parent,
    /// The parent of the target partition or the root partition ("Parent / Root").
    ParentOrRoot,
    /// Only the root partition ("Root").
    Root,
}

/// The entry of appendix A's column "Partition Privilege Required (if any)".
///
/// Most entries name a partition privilege flag (TLFS 4.2.2). Three name an implementation
/// recommendation of CPUID leaf 0x40000004 instead (TLFS 2.4.5): a guest makes those calls
/// when the hypervisor recommends it, not because it holds a privilege. The variants keep the
/// appendix's wording, rejoined where the PDF line wrap split a name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HvCallPrivilege {
    /// Recommendation `UseHypercallForAddressSpaceSwitch` (TLFS 2.4.5).
    UseHypercallForAddressSpaceSwitch,
    /// Recommendations `UseHypercallForLocalFlush` / `UseHypercallForRemoteFlush`, printed
    /// as `UseHypercallFor[Local][Remote]Flush` (TLFS 2.4.5).
    UseHypercallForLocalOrRemoteFlush,
    /// `UseHypercallForLongSpinWait`: the long spin-wait recommendation (TLFS 2.4.5, 14.3.1).
    UseHypercallForLongSpinWait,
    /// Privilege `CpuManagement` (TLFS 4.2.2).
    CpuManagement,
    /// Privilege `CreatePartitions` (TLFS 4.2.2).
    CreatePartitions,
    /// Privilege `AccessPartitionId` (TLFS 4.2.2).
    AccessPartitionId,
    /// Privilege `AccessMemoryPool` (TLFS 4.2.2).
    AccessMemoryPool,
    /// Privilege `CreatePort` (TLFS 4.2.2).
    CreatePort,
    /// Privilege `ConnectPort` (TLFS 4.2.2).
    ConnectPort,
    /// Privilege `PostMessages` (TLFS 4.2.2).
    PostMessages,
    /// Privilege `SignalEvents` (TLFS 4.2.2).
    SignalEvents,
    /// Privilege `Debugging` (TLFS 4.2.2).
    Debugging,
    /// Privilege `AccessStats` (TLFS 4.2.2).
    AccessStats,
    /// Privilege `ConfigureProfiler` (TLFS 4.2.2).
    ConfigureProfiler,
}

/// Calling-convention metadata of one hypercall (TLFS 3.2, 3.7, 3.7.1, 3.7.2, appendix A).
///
/// For the calls of TLFS appendix A the fields transcribe the (corrected) appendix row; the
/// corrections and the evidence for each are listed beside the golden table in
/// `tests/appendix_a.rs`. For codes published after TLFS 6.0, `caller` and `privilege` are
/// `None` and the other fields follow the public sources listed, per code, in
/// `tests/appendix_a.rs`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HvCallInfo {
    /// The call code.
    pub code: HvCallCode,
    /// Simple or rep (TLFS 3.2; appendix A column "Rep Call").
    pub kind: HvCallKind,
    /// A register-based ("fast") form exists: the call accepts the Fast bit of the input
    /// value (TLFS 3.7; appendix A column "Fast Call"). `false` means no fast form is
    /// documented or used by a public Microsoft-compatible implementation.
    pub fast: bool,
    /// The fast form may carry more than the 16 bytes of RDX and R8 by using XMM fast input
    /// (TLFS 3.7.2; needs CPUID 0x40000003 EDX bit 4). Implies `fast`.
    pub xmm_fast_input: bool,
    /// The call accepts a non-zero variable header size (TLFS 3.7.1); every other call fails
    /// one with `HV_STATUS_INVALID_HYPERCALL_INPUT`.
    pub variable_header: bool,
    /// Who may make the call (appendix A column "Caller"); `None` when not given.
    pub caller: Option<HvCaller>,
    /// The privilege or recommendation appendix A names; `None` when not given.
    pub privilege: Option<HvCallPrivilege>,
}

impl HvCallInfo {
    const fn simple(code: HvCallCode) -> Self {
        Self {
            code,
            kind: HvCallKind::Simple,
            fast: false,
            xmm_fast_input: false,
            variable_header: false,
            caller: None,
            privilege: None,
        }
    }

    const fn rep(code: HvCallCode) -> Self {
        Self {
            kind: HvCallKind::Rep,
            ..Self::simple(code)
        }
    }

    const fn fast_form(self) -> Self {
        Self { fast: true, ..self }
    }

    const fn xmm_form(self) -> Self {
        Self {
            fast: true,
            xmm_fast_input: true,
            ..self
        }
    }

    const fn var_header(self) -> Self {
        Self {
            variable_header: true,
            ..self
        }
    }

    const fn by(self, caller: HvCaller) -> Self {
        Self {
            caller: Some(caller),
            ..self
        }
    }

    const fn needs(self, privilege: HvCallPrivilege) -> Self {
        Self {
            privilege: Some(privilege),
            ..self
        }
    }

    /// Whether this is a rep call (TLFS 3.2).
    #[must_use]
    pub const fn is_rep(self) -> bool {
        matches!(self.kind, HvCallKind::Rep)
    }
}

/// The metadata table behind [`HvCallCode::info`], sorted by call code: one entry for every
/// named [`HvCallCode`] (TLFS 3.2, 3.7, 3.14, appendix A).
pub static HV_CALL_INFO: &[HvCallInfo] = {
    use HvCallCode as C;
    use HvCallInfo as I;
    use HvCallPrivilege as P;
    use HvCaller::{Any, Parent, ParentOrRoot, Root};
    &[
        I::simple(C::HvCallSwitchVirtualAddressSpace)
            .fast_form()
            .by(Any)
            .needs(P::UseHypercallForAddressSpaceSwitch),
        I::simple(C::HvCallFlushVirtualAddressSpace)
            .xmm_form()
            .by(Any)
            .needs(P::UseHypercallForLocalOrRemoteFlush),
        I::rep(C::HvCallFlushVirtualAddressList)
            .xmm_form()
            .by(Any)
            .needs(P::UseHypercallForLocalOrRemoteFlush),
        I::simple(C::HvCallGetLogicalProcessorRunTime)
            .by(Any)
            .needs(P::CpuManagement),
        I::simple(C::HvCallNotifyLongSpinWait)
            .fast_form()
            .by(Any)
            .needs(P::UseHypercallForLongSpinWait),
        I::simple(C::HvCallParkedVirtualProcessors)
            .by(Any)
            .needs(P::CpuManagement),
        I::simple(C::HvCallSendSyntheticClusterIpi)
            .fast_form()
            .by(Any),
        I::rep(C::HvCallModifyVtlProtectionMask).by(Any),
        I::simple(C::HvCallEnablePartitionVtl).by(Any),
        I::simple(C::HvCallDisablePartitionVtl).by(Any),
        I::simple(C::HvCallEnableVpVtl).by(Any),
        I::simple(C::HvCallDisableVpVtl).by(Any),
        I::simple(C::HvCallVtlCall).by(Any),
        I::simple(C::HvCallVtlReturn).by(Any),
        I::simple(C::HvCallFlushVirtualAddressSpaceEx)
            .xmm_form()
            .var_header()
            .by(Any),
        I::rep(C::HvCallFlushVirtualAddressListEx)
            .xmm_form()
            .var_header()
            .by(Any),
        I::simple(C::HvCallSendSyntheticClusterIpiEx)
            .xmm_form()
            .var_header()
            .by(Any),
        I::simple(C::HvCallCreatePartition)
            .by(Any)
            .needs(P::CreatePartitions),
        I::simple(C::HvCallInitializePartition)
            .fast_form()
            .by(Parent),
        I::simple(C::HvCallFinalizePartition).fast_form().by(Parent),
        I::simple(C::HvCallDeletePartition).fast_form().by(Parent),
        I::simple(C::HvCallGetPartitionProperty).by(ParentOrRoot),
        I::simple(C::HvCallSetPartitionProperty).by(ParentOrRoot),
        I::simple(C::HvCallGetPartitionId)
            .by(Any)
            .needs(P::AccessPartitionId),
        I::simple(C::HvCallGetNextChildPartition).by(Parent),
        I::rep(C::HvCallDepositMemory)
            .by(ParentOrRoot)
            .needs(P::AccessMemoryPool),
        I::rep(C::HvCallWithdrawMemory)
            .by(ParentOrRoot)
            .needs(P::AccessMemoryPool),
        I::simple(C::HvCallGetMemoryBalance)
            .by(ParentOrRoot)
            .needs(P::AccessMemoryPool),
        I::rep(C::HvCallMapGpaPages).by(ParentOrRoot),
        I::rep(C::HvCallUnmapGpaPages).by(Parent),
        I::simple(C::HvCallInstallIntercept).by(Parent),
        I::simple(C::HvCallCreateVp).by(Parent),
        I::simple(C::HvCallDeleteVp).fast_form().by(Parent),
        I::rep(C::HvCallGetVpRegisters).xmm_form().by(Any),
        I::rep(C::HvCallSetVpRegisters).xmm_form().by(Any),
        I::simple(C::HvCallTranslateVirtualAddress).by(Any),
        I::simple(C::HvCallReadGpa).by(Parent),
        I::simple(C::HvCallWriteGpa).by(Parent),
        I::simple(C::HvCallClearVirtualInterrupt)
            .fast_form()
            .by(Parent),
        I::simple(C::HvCallDeletePort).fast_form().by(ParentOrRoot),
        I::simple(C::HvCallConnectPortLegacy)
            .by(ParentOrRoot)
            .needs(P::ConnectPort),
        I::simple(C::HvCallGetPortProperty).by(ParentOrRoot),
        I::simple(C::HvCallDisconnectPort)
            .fast_form()
            .by(ParentOrRoot),
        I::simple(C::HvCallPostMessage)
            .by(Any)
            .needs(P::PostMessages),
        I::simple(C::HvCallSignalEvent)
            .fast_form()
            .by(Any)
            .needs(P::SignalEvents),
        I::simple(C::HvCallSavePartitionState).by(Parent),
        I::simple(C::HvCallRestorePartitionState)
            .by(Parent)
            .needs(P::CreatePartitions),
        I::simple(C::HvCallInitializeEventLogBufferGroup).by(Root),
        I::simple(C::HvCallFinalizeEventLogBufferGroup)
            .fast_form()
            .by(Root),
        I::simple(C::HvCallCreateEventLogBuffer)
            .fast_form()
            .by(Root),
        I::simple(C::HvCallDeleteEventLogBuffer)
            .fast_form()
            .by(Root),
        I::simple(C::HvCallMapEventLogBuffer).by(Root),
        I::simple(C::HvCallUnmapEventLogBuffer).fast_form().by(Root),
        I::simple(C::HvCallSetEventLogGroupSources)
            .fast_form()
            .by(Root),
        I::simple(C::HvCallReleaseEventLogBuffer)
            .fast_form()
            .by(Root),
        I::simple(C::HvCallFlushEventLogBuffer).fast_form().by(Root),
        I::simple(C::HvCallPostDebugData)
            .by(Any)
            .needs(P::Debugging),
        I::simple(C::HvCallRetrieveDebugData)
            .by(Any)
            .needs(P::Debugging),
        I::simple(C::HvCallResetDebugSession)
            .fast_form()
            .by(Any)
            .needs(P::Debugging),
        I::simple(C::HvCallMapStatsPage)
            .by(Parent)
            .needs(P::AccessStats),
        I::simple(C::HvCallUnmapStatsPage)
            .by(Parent)
            .needs(P::AccessStats),
        I::rep(C::HvCallMapSparseGpaPages).by(ParentOrRoot),
        I::simple(C::HvCallSetSystemProperty)
            .by(Root)
            .needs(P::ConfigureProfiler),
        I::simple(C::HvCallSetPortProperty)
            .by(ParentOrRoot)
            .needs(P::CreatePort),
        I::simple(C::HvCallOutputDebugCharacter),
        I::simple(C::HvCallAddLogicalProcessor)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallRemoveLogicalProcessor)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallQueryNumaDistance)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallSetLogicalProcessorProperty)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallGetLogicalProcessorProperty)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallGetSystemProperty)
            .by(Any)
            .needs(P::CpuManagement),
        I::simple(C::HvCallMapDeviceInterrupt)
            .var_header()
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallUnmapDeviceInterrupt)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallRetargetDeviceInterrupt)
            .var_header()
            .by(Any)
            .needs(P::CpuManagement),
        I::simple(C::HvCallMapDevicePages)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallUnmapDevicePages)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallAttachDevice)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallDetachDevice)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallNotifyStandbyTransition)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallPrepareForSleep)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallPrepareForHibernate)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallNotifyPartitionEvent)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallGetLogicalProcessorRegisters)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallSetLogicalProcessorRegisters)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallQueryAssociatedLpsforMca)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallNotifyRingEmpty)
            .fast_form()
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallInjectSyntheticMachineCheck)
            .by(Root)
            .needs(P::CpuManagement),
        I::simple(C::HvCallScrubPartition).by(Root),
        I::simple(C::HvCallCollectLivedump)
            .by(Root)
            .needs(P::Debugging),
        I::simple(C::HvCallDisableHypervisor).by(Root),
        I::simple(C::HvCallModifySparseGpaPages).by(Root),
        I::simple(C::HvCallRegisterInterceptResult).by(Root),
        I::simple(C::HvCallUnregisterInterceptResult).by(Root),
        I::simple(C::HvCallAssertVirtualInterrupt).by(Any),
        I::simple(C::HvCallCreatePort).by(Root),
        I::simple(C::HvCallConnectPort).by(Root),
        I::simple(C::HvCallGetSpaPageList).by(Root),
        I::simple(C::HvCallStartVirtualProcessor).by(Any),
        I::rep(C::HvCallGetVpIndexFromApicId).by(Any),
        I::simple(C::HvCallTranslateVirtualAddressEx),
        I::simple(C::HvCallCheckForIoIntercept),
        I::simple(C::HvCallFlushGuestPhysicalAddressSpace).by(Any),
        I::rep(C::HvCallFlushGuestPhysicalAddressList).by(Any),
        I::simple(C::HvCallSignalEventDirect),
        I::simple(C::HvCallPostMessageDirect),
        I::simple(C::HvCallDispatchVp),
        I::rep(C::HvCallGetGpaPagesAccessStates),
        I::rep(C::HvCallCheckSparseGpaPageVtlAccess),
        I::rep(C::HvCallAcquireSparseSpaPageHostAccess),
        I::rep(C::HvCallReleaseSparseSpaPageHostAccess),
        I::rep(C::HvCallAcceptGpaPages),
        I::rep(C::HvCallModifySparseGpaPageHostVisibility),
        I::simple(C::HvCallMapVpStatePage),
        I::simple(C::HvCallUnmapVpStatePage),
        I::simple(C::HvCallGetVpState).var_header(),
        I::simple(C::HvCallSetVpState).var_header(),
        I::rep(C::HvCallGetVpCpuidValues),
        I::simple(C::HvCallMemoryMappedIoRead),
        I::simple(C::HvCallMemoryMappedIoWrite),
        I::rep(C::HvCallPinGpaPageRanges),
        I::rep(C::HvCallUnpinGpaPageRanges),
        I::rep(C::HvCallQuerySparseGpaPageHostVisibility),
        I::simple(C::HvExtCallQueryCapabilities),
        I::simple(C::HvExtCallGetBootZeroedMemory),
        I::rep(C::HvExtCallMemoryHeatHint),
        I::simple(C::HvExtCallEpfSetup),
        I::simple(C::HvExtCallSchedulerAssistSetup),
        I::simple(C::HvExtCallMemoryHeatHintAsync),
    ]
};

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

/// Alignment, in bytes, of the input and output parameter GPAs of a memory-based call and
/// of the start of every rep list; input and output blocks are padded to a multiple of it
/// (TLFS 3.1, 3.6, 3.7.1).
pub const HV_HYPERCALL_PARAMETER_ALIGNMENT: usize = 8;

/// The time, in microseconds, the hypervisor aims to spend in one hypercall before it
/// returns to the caller to continue later (TLFS 3.3 "Hypercall Continuation").
pub const HV_HYPERCALL_CONTINUATION_TARGET_US: u32 = 50;

/// The variable header size field value for `variable_bytes` bytes of header beyond the
/// fixed header: the byte count rounded up to 8 and counted in 8-byte units (TLFS 3.7.1).
///
/// Returns `None` when the size does not fit the 10-bit field
/// ([`HV_HYPERCALL_VARIABLE_HEADER_MAX`] units).
#[must_use]
pub const fn hv_variable_header_size(variable_bytes: usize) -> Option<u16> {
    let units = variable_bytes.div_ceil(HV_HYPERCALL_PARAMETER_ALIGNMENT);
    if units > HV_HYPERCALL_VARIABLE_HEADER_MAX as usize {
        None
    } else {
        Some(units as u16)
    }
}

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

    /// Checks the input value against the rules of TLFS 3.7 and 3.7.1 that the hypervisor
    /// enforces before it runs a call, and returns the call's metadata.
    ///
    /// Checked: RsvdZ bits; that the code is one this crate describes; for a simple call a
    /// zero rep count and rep start index; for a rep call a rep count greater than the rep
    /// start index (so non-zero); a non-zero variable header size only for calls that accept
    /// one. Whether the fast form is accepted is per call ([`HvCallInfo::fast`]); the TLFS
    /// names no status for a fast call to a call without one, so it is not checked here.
    ///
    /// # Errors
    ///
    /// `HV_STATUS_INVALID_HYPERCALL_CODE` for a code without metadata
    /// ([`HvCallCode::info`]), `HV_STATUS_INVALID_HYPERCALL_INPUT` for any other violation
    /// (TLFS 3.12.3).
    pub const fn validate(self) -> HvResult<HvCallInfo> {
        if self.has_reserved_bits() {
            return Err(HvError::INVALID_HYPERCALL_INPUT);
        }
        let Some(info) = self.call_code().info() else {
            return Err(HvError::INVALID_HYPERCALL_CODE);
        };
        let reps_ok = if info.is_rep() {
            self.rep_start_index() < self.rep_count()
        } else {
            self.rep_count() == 0 && self.rep_start_index() == 0
        };
        if !reps_ok || (self.variable_header_size() != 0 && !info.variable_header) {
            return Err(HvError::INVALID_HYPERCALL_INPUT);
        }
        Ok(info)
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

/// The output of `HvExtCallQueryCapabilities`: which extended hypercalls the hypervisor
/// implements, one bit per call; 1 means available (TLFS 3.14.1).
///
/// The call itself is available when the partition holds the `EnableExtendedHypercalls`
/// privilege (TLFS 3.14, 4.2.2).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvExtCallCapabilities {
    /// `HvExtCallGetBootZeroedMemory` (0x8002) is available, bit 0.
    pub get_boot_zeroed_memory: bool,
    /// `HvExtCallMemoryHeatHint` (0x8003) is available, bit 1.
    pub memory_heat_hint: bool,
    /// `HvExtCallEpfSetup` (0x8004) is available, bit 2.
    pub epf_setup: bool,
    /// `HvExtCallSchedulerAssistSetup` (0x8005) is available, bit 3.
    pub scheduler_assist_setup: bool,
    /// `HvExtCallMemoryHeatHintAsync` (0x8006) is available, bit 4.
    pub memory_heat_hint_async: bool,
    /// Reserved, bits 63:5.
    #[bits(59)]
    _rsvd: u64,
}

impl HvExtCallCapabilities {
    /// Mask of the reserved bits 63:5 (TLFS 3.14.1).
    pub const RESERVED_MASK: u64 = !0x1F;

    /// Whether the output reports `code` as available; `None` for a code that has no bit
    /// (any code other than 0x8002–0x8006, TLFS 3.14.1).
    #[must_use]
    pub const fn reports(self, code: HvCallCode) -> Option<bool> {
        match code.get() {
            0x8002..=0x8006 => Some(self.into_bits() & (1 << (code.get() - 0x8002)) != 0),
            _ => None,
        }
    }
}

/// The output parameter block of `HvExtCallQueryCapabilities` (TLFS 3.14.1).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvOutputExtCallQueryCapabilities {
    /// The capability bits, offset 0.
    pub capabilities: HvExtCallCapabilities,
}

const _: () = assert!(size_of::<HvOutputExtCallQueryCapabilities>() == 8);

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
    fn metadata_table_is_sorted_and_covers_every_named_code() {
        for pair in HV_CALL_INFO.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{:?} out of order",
                pair[1].code
            );
        }
        for entry in HV_CALL_INFO {
            assert!(entry.code.name().is_some(), "{:?} has no name", entry.code);
            assert!(!entry.xmm_fast_input || entry.fast, "{:?}", entry.code);
        }
        for code in HvCallCode::ALL {
            assert_eq!(code.info().map(|i| i.code), Some(*code));
        }
        assert_eq!(HV_CALL_INFO.len(), HvCallCode::ALL.len());
        assert_eq!(HvCallCode::new(0x0005).info(), None);
        assert_eq!(HvCallCode::new(0xFFFF).info(), None);
    }

    #[test]
    fn validate_applies_the_rep_and_variable_header_rules() {
        let rep = HvHypercallInput::new().with_call_code(HvCallCode::HvCallGetVpRegisters);
        assert_eq!(
            rep.validate(),
            Err(HvError::INVALID_HYPERCALL_INPUT),
            "zero rep count"
        );
        assert!(
            rep.with_rep_count(3)
                .with_rep_start_index(2)
                .validate()
                .is_ok()
        );
        assert_eq!(
            rep.with_rep_count(3).with_rep_start_index(3).validate(),
            Err(HvError::INVALID_HYPERCALL_INPUT)
        );
        let simple = HvHypercallInput::new().with_call_code(HvCallCode::HvCallPostMessage);
        assert!(simple.validate().is_ok());
        assert_eq!(
            simple.with_rep_count(1).validate(),
            Err(HvError::INVALID_HYPERCALL_INPUT)
        );
        assert_eq!(
            simple.with_variable_header_size(1).validate(),
            Err(HvError::INVALID_HYPERCALL_INPUT)
        );
        let ex = HvHypercallInput::new()
            .with_call_code(HvCallCode::HvCallFlushVirtualAddressSpaceEx)
            .with_variable_header_size(2);
        assert!(ex.validate().is_ok());
        assert_eq!(
            HvHypercallInput::from_bits(ex.into_bits() | 1 << 27).validate(),
            Err(HvError::INVALID_HYPERCALL_INPUT)
        );
        assert_eq!(
            HvHypercallInput::new()
                .with_call_code(HvCallCode::new(0x0005))
                .validate(),
            Err(HvError::INVALID_HYPERCALL_CODE)
        );
    }

    #[test]
    fn variable_header_size_rounds_up_to_qwords() {
        assert_eq!(hv_variable_header_size(0), Some(0));
        assert_eq!(hv_variable_header_size(1), Some(1));
        assert_eq!(hv_variable_header_size(16), Some(2));
        assert_eq!(hv_variable_header_size(17), Some(3));
        assert_eq!(hv_variable_header_size(0x3FF * 8), Some(0x3FF));
        assert_eq!(hv_variable_header_size(0x3FF * 8 + 1), None);
    }

    #[test]
    fn ext_capabilities_map_bits_to_codes() {
        let caps = HvExtCallCapabilities::from_bits(0b1_0010);
        assert_eq!(
            caps.reports(HvCallCode::HvExtCallMemoryHeatHint),
            Some(true)
        );
        assert_eq!(
            caps.reports(HvCallCode::HvExtCallMemoryHeatHintAsync),
            Some(true)
        );
        assert_eq!(caps.reports(HvCallCode::HvExtCallEpfSetup), Some(false));
        assert_eq!(caps.reports(HvCallCode::HvExtCallQueryCapabilities), None);
        assert_eq!(caps.reports(HvCallCode::HvCallPostMessage), None);
        assert!(caps.memory_heat_hint() && caps.memory_heat_hint_async());
    }

    #[test]
    fn extended_codes_are_above_0x8000() {
        assert!(HvCallCode::HvExtCallQueryCapabilities.is_extended());
        assert!(!HvCallCode::HvCallPostMessage.is_extended());
    }
}
