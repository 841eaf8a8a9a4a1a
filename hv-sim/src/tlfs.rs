//! **Local TLFS definitions, pending `hv-defs`.**
//!
//! `hv-defs` is completed in parallel; when this model was written its `cpuid`, `msr`,
//! `partition`, `synic` and `timer` modules were still empty. Every TLFS constant this
//! crate needs that `hv-defs` does not have yet lives here, and only here, so that the
//! switch to `hv-defs` is one module. Everything else (status codes, call codes, the
//! control and result words, register names and values, `HV_INPUT_VTL`) already comes
//! from `hv-defs`.

/// Synthetic MSR numbers (TLFS appendix C).
pub(crate) mod msr {
    /// Guest OS identity (TLFS 2.6).
    pub(crate) const GUEST_OS_ID: u32 = 0x4000_0000;
    /// Hypercall page control (TLFS 3.13).
    pub(crate) const HYPERCALL: u32 = 0x4000_0001;
    /// VP index (TLFS 7.8.1).
    pub(crate) const VP_INDEX: u32 = 0x4000_0002;
    /// System reset (appendix C).
    pub(crate) const RESET: u32 = 0x4000_0003;
    /// VP run time in 100 ns units (TLFS 7.9.1).
    pub(crate) const VP_RUNTIME: u32 = 0x4000_0010;
    /// Partition reference counter (TLFS 12.4).
    pub(crate) const TIME_REF_COUNT: u32 = 0x4000_0020;
    /// Reference TSC page control (TLFS 12.7).
    pub(crate) const REFERENCE_TSC: u32 = 0x4000_0021;
    /// TSC frequency in Hz (appendix C).
    pub(crate) const TSC_FREQUENCY: u32 = 0x4000_0022;
    /// APIC timer frequency in Hz (appendix C).
    pub(crate) const APIC_FREQUENCY: u32 = 0x4000_0023;
    /// APIC EOI (TLFS 10.2.3).
    pub(crate) const EOI: u32 = 0x4000_0070;
    /// APIC ICR (TLFS 10.2.3).
    pub(crate) const ICR: u32 = 0x4000_0071;
    /// APIC TPR (TLFS 10.2.3).
    pub(crate) const TPR: u32 = 0x4000_0072;
    /// VP assist page control (TLFS 7.8.7).
    pub(crate) const VP_ASSIST_PAGE: u32 = 0x4000_0073;
    /// SynIC control (TLFS 11.8.1).
    pub(crate) const SCONTROL: u32 = 0x4000_0080;
    /// SynIC version (TLFS 11.8.2).
    pub(crate) const SVERSION: u32 = 0x4000_0081;
    /// SynIC event flags page (TLFS 11.8.3).
    pub(crate) const SIEFP: u32 = 0x4000_0082;
    /// SynIC message page (TLFS 11.8.4).
    pub(crate) const SIMP: u32 = 0x4000_0083;
    /// End of message (TLFS 11.8.6).
    pub(crate) const EOM: u32 = 0x4000_0084;
    /// SINT0; SINT15 is `SINT0 + 15` (TLFS 11.8.5).
    pub(crate) const SINT0: u32 = 0x4000_0090;
    /// STIMER0_CONFIG; timer `n` config is `+ 2n`, count `+ 2n + 1` (TLFS 12.5).
    pub(crate) const STIMER0_CONFIG: u32 = 0x4000_00B0;
    /// Guest idle (appendix C).
    pub(crate) const GUEST_IDLE: u32 = 0x4000_00F0;
    /// Crash parameter P0; P4 is `+ 4` (TLFS 4.2.3).
    pub(crate) const CRASH_P0: u32 = 0x4000_0100;
    /// Crash control (TLFS 4.2.3).
    pub(crate) const CRASH_CTL: u32 = 0x4000_0105;
    /// Reenlightenment control (TLFS 16.6).
    pub(crate) const REENLIGHTENMENT_CONTROL: u32 = 0x4000_0106;
    /// TSC emulation control (TLFS 16.6).
    pub(crate) const TSC_EMULATION_CONTROL: u32 = 0x4000_0107;
    /// TSC emulation status (TLFS 16.6).
    pub(crate) const TSC_EMULATION_STATUS: u32 = 0x4000_0108;
}

/// `HV_PARTITION_PRIVILEGE_MASK` bits (TLFS 4.2.2); bit `32 + n` is EBX bit `n` of
/// CPUID 0x40000003.
pub(crate) mod privilege {
    /// AccessVpRunTimeReg.
    pub(crate) const VP_RUNTIME: u64 = 1 << 0;
    /// AccessPartitionReferenceCounter.
    pub(crate) const PARTITION_REFERENCE_COUNTER: u64 = 1 << 1;
    /// AccessSynicRegs.
    pub(crate) const SYNIC_REGS: u64 = 1 << 2;
    /// AccessSyntheticTimerRegs.
    pub(crate) const SYNTHETIC_TIMER_REGS: u64 = 1 << 3;
    /// AccessIntrCtrlRegs (the APIC MSRs).
    pub(crate) const INTR_CTRL_REGS: u64 = 1 << 4;
    /// AccessHypercallMsrs.
    pub(crate) const HYPERCALL_MSRS: u64 = 1 << 5;
    /// AccessVpIndex.
    pub(crate) const VP_INDEX: u64 = 1 << 6;
    /// AccessResetReg.
    pub(crate) const RESET_REG: u64 = 1 << 7;
    /// AccessPartitionReferenceTsc.
    pub(crate) const PARTITION_REFERENCE_TSC: u64 = 1 << 9;
    /// AccessGuestIdleReg.
    pub(crate) const GUEST_IDLE_REG: u64 = 1 << 10;
    /// AccessFrequencyRegs.
    pub(crate) const FREQUENCY_REGS: u64 = 1 << 11;
    /// AccessReenlightenmentControls.
    pub(crate) const REENLIGHTENMENT_CONTROLS: u64 = 1 << 13;
    /// PostMessages.
    pub(crate) const POST_MESSAGES: u64 = 1 << 36;
    /// SignalEvents.
    pub(crate) const SIGNAL_EVENTS: u64 = 1 << 37;
    /// AccessVpRegisters.
    pub(crate) const ACCESS_VP_REGISTERS: u64 = 1 << 49;
    /// EnableExtendedHypercalls.
    pub(crate) const ENABLE_EXTENDED_HYPERCALLS: u64 = 1 << 52;
}

/// CPUID 0x40000003 EDX feature bits (TLFS 2.4.4).
pub(crate) mod features_edx {
    /// Physical CPU dynamic partitioning events, bit 3.
    pub(crate) const CPU_DYNAMIC_PARTITIONING: u32 = 1 << 3;
    /// XMM fast hypercall input, bit 4.
    pub(crate) const XMM_INPUT: u32 = 1 << 4;
    /// Guest idle state, bit 5.
    pub(crate) const GUEST_IDLE: u32 = 1 << 5;
    /// Timer frequency MSRs, bit 8.
    pub(crate) const FREQUENCY_MSRS: u32 = 1 << 8;
    /// Guest crash MSRs, bit 10.
    pub(crate) const CRASH_MSRS: u32 = 1 << 10;
    /// Extended GVA ranges for flush hypercalls, bit 14.
    pub(crate) const EXT_GVA_RANGES_FLUSH: u32 = 1 << 14;
    /// XMM fast hypercall output, bit 15.
    pub(crate) const XMM_OUTPUT: u32 = 1 << 15;
    /// SINT polling mode, bit 17.
    pub(crate) const SINT_POLLING: u32 = 1 << 17;
    /// Direct synthetic timers, bit 19.
    pub(crate) const STIMER_DIRECT: u32 = 1 << 19;
}

/// CPUID 0x40000004 EAX recommendation bits (TLFS 2.4.5).
pub(crate) mod recommend {
    /// Hypercall for remote TLB flushes, bit 2.
    pub(crate) const REMOTE_TLB_FLUSH: u32 = 1 << 2;
    /// APIC MSRs for EOI/ICR/TPR, bit 3.
    pub(crate) const APIC_MSRS: u32 = 1 << 3;
    /// Relaxed timing, bit 5.
    pub(crate) const RELAXED_TIMING: u32 = 1 << 5;
    /// Deprecate AutoEOI, bit 9.
    pub(crate) const DEPRECATE_AUTO_EOI: u32 = 1 << 9;
    /// SyntheticClusterIpi hypercall, bit 10.
    pub(crate) const CLUSTER_IPI: u32 = 1 << 10;
    /// ExProcessorMasks interface, bit 11.
    pub(crate) const EX_PROCESSOR_MASKS: u32 = 1 << 11;
    /// No non-architectural core sharing, bit 18.
    pub(crate) const NO_NONARCH_CORE_SHARING: u32 = 1 << 18;
}
