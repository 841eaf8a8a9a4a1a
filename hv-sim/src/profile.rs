//! Partition profiles: which enlightenments the modelled hypervisor exposes.
//!
//! A [`Profile`] decides the hypervisor CPUID leaves 0x40000000–0x4000000C, the partition
//! privilege mask (which synthetic MSRs and hypercalls are allowed) and the feature bits
//! (XMM fast input/output, direct synthetic timers, crash MSRs, ...). Three named
//! profiles exist, and QEMU's `hv-*` flags build KVM-style profiles with QEMU's meaning.
//!
//! # Sources
//!
//! * `kvm` and the `--hv` flags: QEMU `target/i386/kvm/kvm.c` (`kvm_hyperv_properties[]`,
//!   `hyperv_fill_cpuids`): each flag sets the CPUID bits listed in [`HvFlag::apply`];
//!   every Hyper-V-enabled QEMU guest also gets AccessHypercallMsrs and CPUID.0x40000003
//!   EDX bit 3; `hv-synic` adds PostMessages and SignalEvents. Vendor "Microsoft Hv",
//!   interface "Hv#1", version 10.0 build 14393 (QEMU's default since 7.0), maximum leaf
//!   0x40000005. Flag dependencies are QEMU's (`stimer` needs `synic` and `time`, ...).
//!   KVM serves only some hypercalls ([`Profile::implements`], Linux
//!   `arch/x86/kvm/hyperv.c` `kvm_hv_hypercall`); with `hv-enforce-cpuid` it also refuses
//!   calls the CPUID leaves do not offer ([`Profile::allows_by_cpuid`]), as KVM does with
//!   `KVM_CAP_HYPERV_ENFORCE_CPUID`.
//! * `hyperv`: what a Hyper-V generation 2 guest sees. The privilege mask
//!   0x003B_8030_0000_AE7F is the value Linux prints ("privilege flags low 0xae7f, high
//!   0x3b8030") in Hyper-V guests; its bit names follow TLFS 4.2.2 and, for bits newer
//!   than TLFS 6.0 (AccessTscInvariantControls, EnableExtendedGvaRangesFlushVaList,
//!   FastHypercallOutput), OpenVMM `hvdef` `HvPartitionPrivilege`. CPUID.0x40000003 EDX
//!   is the subset of the EDX Linux prints for such guests ("misc 0xe0bed7b2") that this
//!   model implements: XMM input (4), guest idle (5), frequency MSRs (8), crash MSRs (10),
//!   extended GVA ranges (14), XMM output (15), direct synthetic timers (19).
//!   Recommendations (0x40000004 EAX) are bits 2, 5, 9, 10, 11, 17 of the hints Linux
//!   prints ("hints 0xa0e24"); the spinlock retry count is 0xFFF. Version 10.0 build 20348
//!   (Windows Server 2022), shown only once a guest OS id is set (TLFS 2.4.3). Limits:
//!   240 VPs (the Hyper-V generation 2 maximum), no other limit reported. Leaves 0x40000006
//!   to 0x4000000B are zero (no hardware features reported, not nested), 0x4000000C
//!   reports no isolation; maximum leaf 0x4000000C.
//! * Crash capabilities: KVM's `HV_X64_MSR_CRASH_CTL` reads `CrashNotify` only (Linux
//!   `arch/x86/kvm/hyperv.c`); Hyper-V also offers `CrashMessage`, which Linux uses there.
//! * Loopback connections ([`Connection`]): none exist on Hyper-V or with QEMU's `hv-synic`
//!   alone; they are test fixtures of this model. `hyperv` gets
//!   [`Connection::hyperv_loopback`] (TLFS port rules); `kvm` (and `--profile kvm --hv ...`)
//!   gets [`Connection::qemu_testdev`], what QEMU offers once its `hyperv-testdev` device
//!   has created its echo and event connections; `--hv` flags alone get none, like QEMU
//!   without the device.

use core::fmt;

use hv_defs::cpuid::{
    HV_CPUID_ENLIGHTENMENT_INFO, HV_CPUID_FEATURES, HV_CPUID_IMPLEMENTATION_LIMITS,
    HV_CPUID_INTERFACE, HV_CPUID_INTERFACE_SIGNATURE_HV1, HV_CPUID_ISOLATION_CONFIGURATION,
    HV_CPUID_VENDOR_AND_MAX_FUNCTION, HV_CPUID_VENDOR_MICROSOFT, HV_CPUID_VERSION,
    HvCpuidInterface, HvCpuidVendorAndMax, HvEnlightenmentInformation, HvFeatures,
    HvHypervisorVersion, HvImplementationLimits,
};
use hv_defs::hypercall::HvCallCode;
use hv_defs::partition::{HvGuestCrashControl, HvPartitionPrivilegeMask};

use crate::synic::Connection;

/// The hypervisor interface a profile exposes (absent for [`Profile::none`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HvInterface {
    /// Vendor signature in CPUID 0x40000000 EBX:ECX:EDX.
    pub vendor: [u8; 12],
    /// Maximum hypervisor leaf (CPUID 0x40000000 EAX).
    pub max_leaf: u32,
    /// CPUID 0x40000003: the partition privilege mask (EAX:EBX, TLFS 4.2.2) and the
    /// feature flags (ECX, EDX, TLFS 2.4.4).
    pub features: HvFeatures,
    /// CPUID 0x40000004: recommendations and the spinlock retry count (TLFS 2.4.5).
    pub recommendations: HvEnlightenmentInformation,
    /// CPUID 0x40000002 (TLFS 2.4.3).
    pub version: HvHypervisorVersion,
    /// Whether CPUID 0x40000002 reads as zero until a guest OS id is set (TLFS 2.4.3).
    pub version_after_guest_id: bool,
    /// CPUID 0x40000005 (TLFS 2.4.6).
    pub limits: HvImplementationLimits,
    /// What `HV_X64_MSR_CRASH_CTL` reads (TLFS 4.3.1.1), when the crash MSRs exist.
    pub crash_control: HvGuestCrashControl,
    /// Connections to ports the partition can post messages or signal events to.
    pub connections: Vec<Connection>,
    /// Which hypervisor's hypercall set the partition sees.
    pub implementation: HvImplementation,
    /// Refuse hypercalls the CPUID leaves do not offer, with `HV_STATUS_ACCESS_DENIED`
    /// (QEMU `hv-enforce-cpuid`; KVM `hv_check_hypercall_access`).
    pub enforce_cpuid: bool,
}

/// The hypervisor a profile models, for what only one of them does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HvImplementation {
    /// Hyper-V: every hypercall the model serves.
    HyperV,
    /// KVM's Hyper-V emulation: the calls `kvm_hv_hypercall` handles.
    Kvm,
}

impl HvInterface {
    fn privileges_mut(&mut self, set: impl FnOnce(&mut HvPartitionPrivilegeMask)) {
        let mut privileges = self.features.privileges();
        set(&mut privileges);
        self.features.set_privileges(privileges);
    }
}

/// A partition profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Name for reports.
    pub name: String,
    /// The Hyper-V interface, or `None` for a machine without a hypervisor.
    pub hv: Option<HvInterface>,
}

/// A QEMU `hv-*` flag (QEMU `docs/system/i386/hyperv.rst`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HvFlag {
    /// `hv-relaxed`.
    Relaxed,
    /// `hv-vapic`.
    Vapic,
    /// `hv-time`.
    Time,
    /// `hv-crash`.
    Crash,
    /// `hv-reset`.
    Reset,
    /// `hv-vpindex`.
    VpIndex,
    /// `hv-runtime`.
    Runtime,
    /// `hv-synic`.
    Synic,
    /// `hv-stimer`.
    Stimer,
    /// `hv-frequencies`.
    Frequencies,
    /// `hv-reenlightenment`.
    Reenlightenment,
    /// `hv-tlbflush`.
    TlbFlush,
    /// `hv-ipi`.
    Ipi,
    /// `hv-stimer-direct`.
    StimerDirect,
    /// `hv-avic` (alias `hv-apicv`).
    Avic,
    /// `hv-xmm-input`.
    XmmInput,
    /// `hv-tlbflush-ext`.
    TlbFlushExt,
    /// `hv-no-nonarch-coresharing=on`.
    NoNonarchCoresharing,
    /// `hv-enforce-cpuid`.
    EnforceCpuid,
}

impl HvFlag {
    /// QEMU's spelling without the `hv-` prefix.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Relaxed => "relaxed",
            Self::Vapic => "vapic",
            Self::Time => "time",
            Self::Crash => "crash",
            Self::Reset => "reset",
            Self::VpIndex => "vpindex",
            Self::Runtime => "runtime",
            Self::Synic => "synic",
            Self::Stimer => "stimer",
            Self::Frequencies => "frequencies",
            Self::Reenlightenment => "reenlightenment",
            Self::TlbFlush => "tlbflush",
            Self::Ipi => "ipi",
            Self::StimerDirect => "stimer-direct",
            Self::Avic => "avic",
            Self::XmmInput => "xmm-input",
            Self::TlbFlushExt => "tlbflush-ext",
            Self::NoNonarchCoresharing => "no-nonarch-coresharing",
            Self::EnforceCpuid => "enforce-cpuid",
        }
    }

    const ALL: [Self; 19] = [
        Self::Relaxed,
        Self::Vapic,
        Self::Time,
        Self::Crash,
        Self::Reset,
        Self::VpIndex,
        Self::Runtime,
        Self::Synic,
        Self::Stimer,
        Self::Frequencies,
        Self::Reenlightenment,
        Self::TlbFlush,
        Self::Ipi,
        Self::StimerDirect,
        Self::Avic,
        Self::XmmInput,
        Self::TlbFlushExt,
        Self::NoNonarchCoresharing,
        Self::EnforceCpuid,
    ];

    /// The flags this one requires (QEMU `kvm_hyperv_properties[].dependencies`, plus
    /// `synic` needing `vpindex` from `kvm_hyperv_expand_features`).
    const fn dependencies(self) -> &'static [Self] {
        match self {
            Self::Stimer => &[Self::Synic, Self::Time],
            Self::Synic | Self::TlbFlush | Self::Ipi => &[Self::VpIndex],
            Self::StimerDirect => &[Self::Stimer],
            Self::TlbFlushExt => &[Self::TlbFlush],
            _ => &[],
        }
    }

    /// Sets this flag's bits in `hv` (QEMU `kvm_hyperv_properties[]`).
    fn apply(self, hv: &mut HvInterface) {
        let rec = &mut hv.recommendations;
        match self {
            Self::Relaxed => rec.set_use_relaxed_timing(true),
            Self::Vapic => {
                rec.set_use_apic_msrs(true);
                hv.privileges_mut(|p| p.set_access_intr_ctrl_regs(true));
            }
            Self::Time => hv.privileges_mut(|p| {
                p.set_access_partition_reference_counter(true);
                p.set_access_partition_reference_tsc(true);
            }),
            Self::Crash => hv.features.set_guest_crash_regs_available(true),
            Self::Reset => hv.privileges_mut(|p| p.set_access_reset_reg(true)),
            Self::VpIndex => hv.privileges_mut(|p| p.set_access_vp_index(true)),
            Self::Runtime => hv.privileges_mut(|p| p.set_access_vp_runtime_reg(true)),
            Self::Synic => hv.privileges_mut(|p| {
                p.set_access_synic_regs(true);
                p.set_post_messages(true);
                p.set_signal_events(true);
            }),
            Self::Stimer => hv.privileges_mut(|p| p.set_access_synthetic_timer_regs(true)),
            Self::Frequencies => {
                hv.features.set_frequency_regs_available(true);
                hv.privileges_mut(|p| p.set_access_frequency_regs(true));
            }
            Self::Reenlightenment => {
                hv.privileges_mut(|p| p.set_access_reenlightenment_controls(true));
            }
            Self::TlbFlush => {
                rec.set_use_hypercall_for_remote_flush(true);
                rec.set_use_ex_processor_masks(true);
            }
            Self::Ipi => {
                rec.set_use_synthetic_cluster_ipi(true);
                rec.set_use_ex_processor_masks(true);
            }
            Self::StimerDirect => hv.features.set_direct_synthetic_timers(true),
            Self::Avic => rec.set_deprecate_auto_eoi(true),
            Self::XmmInput => hv
                .features
                .set_xmm_registers_for_fast_hypercall_available(true),
            Self::TlbFlushExt => hv
                .features
                .set_extended_gva_ranges_for_flush_virtual_address_list_available(true),
            Self::NoNonarchCoresharing => rec.set_no_non_architectural_core_sharing(true),
            Self::EnforceCpuid => hv.enforce_cpuid = true,
        }
    }
}

/// A problem with a profile name or `--hv` flag list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileError {
    /// The profile name is not `none`, `kvm` or `hyperv`.
    UnknownProfile(String),
    /// A flag QEMU does not have, or that this model does not implement.
    UnknownFlag(String),
    /// `spinlocks=` without a valid number.
    BadSpinlocks(String),
    /// A flag without a flag it depends on.
    MissingDependency {
        /// The flag given.
        flag: &'static str,
        /// The flag it needs.
        needs: &'static str,
    },
    /// `--hv` flags cannot be combined with the `hyperv` profile.
    FlagsOnHyperV,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownProfile(name) => {
                write!(f, "unknown profile `{name}` (expected none, kvm or hyperv)")
            }
            Self::UnknownFlag(flag) => write!(f, "unknown or unsupported Hyper-V flag `{flag}`"),
            Self::BadSpinlocks(value) => write!(f, "invalid spinlocks value `{value}`"),
            Self::MissingDependency { flag, needs } => {
                write!(f, "Hyper-V flag `{flag}` requires `{needs}` (as in QEMU)")
            }
            Self::FlagsOnHyperV => {
                f.write_str("--hv flags describe a KVM-style partition; use --profile kvm or none")
            }
        }
    }
}

impl std::error::Error for ProfileError {}

/// QEMU's default version (WS2016: 10.0 build 14393), CPUID 0x40000002.
const QEMU_VERSION: HvHypervisorVersion = HvHypervisorVersion::new()
    .with_build_number(14393)
    .with_major_version(10);

/// The partition privilege mask of the `hyperv` profile (see the module docs).
const HYPERV_PRIVILEGES: u64 = 0x003B_8030_0000_AE7F;

/// The flags of the `kvm` profile.
const KVM_FLAGS: [HvFlag; 15] = [
    HvFlag::Relaxed,
    HvFlag::Vapic,
    HvFlag::Time,
    HvFlag::Crash,
    HvFlag::Reset,
    HvFlag::VpIndex,
    HvFlag::Runtime,
    HvFlag::Synic,
    HvFlag::Stimer,
    HvFlag::StimerDirect,
    HvFlag::Frequencies,
    HvFlag::TlbFlush,
    HvFlag::TlbFlushExt,
    HvFlag::Ipi,
    HvFlag::XmmInput,
];

/// The spinlock retry count of the `kvm` profile (the usual `hv-spinlocks=0x1fff`).
const KVM_SPINLOCKS: u32 = 0x1FFF;

impl Profile {
    /// No hypervisor: CPUID.1:ECX[31] clear, no hypervisor leaves, no synthetic MSRs.
    #[must_use]
    pub fn none() -> Self {
        Self {
            name: "none".into(),
            hv: None,
        }
    }

    /// A KVM-style partition with the given QEMU flags.
    ///
    /// # Errors
    ///
    /// A flag whose dependency is missing, as QEMU rejects it.
    pub fn qemu(name: &str, flags: &[HvFlag], spinlocks: u32) -> Result<Self, ProfileError> {
        for flag in flags {
            for needs in flag.dependencies() {
                if !flags.contains(needs) {
                    return Err(ProfileError::MissingDependency {
                        flag: flag.name(),
                        needs: needs.name(),
                    });
                }
            }
        }
        let mut hv = HvInterface {
            vendor: HV_CPUID_VENDOR_MICROSOFT,
            max_leaf: HV_CPUID_IMPLEMENTATION_LIMITS,
            features: HvFeatures::new()
                .with_privileges(HvPartitionPrivilegeMask::new().with_access_hypercall_msrs(true))
                .with_cpu_dynamic_partitioning_available(true),
            recommendations: HvEnlightenmentInformation::new().with_long_spin_wait_count(spinlocks),
            version: QEMU_VERSION,
            version_after_guest_id: false,
            limits: HvImplementationLimits::new(),
            crash_control: HvGuestCrashControl::NOTIFY,
            connections: Vec::new(),
            implementation: HvImplementation::Kvm,
            enforce_cpuid: false,
        };
        for flag in flags {
            flag.apply(&mut hv);
        }
        Ok(Self {
            name: name.into(),
            hv: Some(hv),
        })
    }

    /// QEMU's usual Windows flag set (see [`KVM_FLAGS`]) with `hv-spinlocks=0x1fff`, and the
    /// connections of QEMU's `hyperv-testdev` ([`Connection::qemu_testdev`]).
    #[must_use]
    pub fn kvm() -> Self {
        match Self::qemu("kvm", &KVM_FLAGS, KVM_SPINLOCKS) {
            Ok(profile) => profile.with_testdev(),
            Err(_) => unreachable!("the kvm flag set satisfies every QEMU dependency"),
        }
    }

    /// Adds the connections of QEMU's `hyperv-testdev`.
    fn with_testdev(mut self) -> Self {
        if let Some(hv) = &mut self.hv {
            hv.connections = Connection::qemu_testdev();
        }
        self
    }

    /// What a Hyper-V generation 2 guest sees (see the module docs for each value's source).
    #[must_use]
    pub fn hyperv() -> Self {
        Self {
            name: "hyperv".into(),
            hv: Some(HvInterface {
                vendor: HV_CPUID_VENDOR_MICROSOFT,
                max_leaf: HV_CPUID_ISOLATION_CONFIGURATION,
                features: HvFeatures::new()
                    .with_privileges(HvPartitionPrivilegeMask::from_bits(HYPERV_PRIVILEGES))
                    .with_xmm_registers_for_fast_hypercall_available(true)
                    .with_guest_idle_available(true)
                    .with_frequency_regs_available(true)
                    .with_guest_crash_regs_available(true)
                    .with_extended_gva_ranges_for_flush_virtual_address_list_available(true)
                    .with_fast_hypercall_output_available(true)
                    .with_direct_synthetic_timers(true),
                recommendations: HvEnlightenmentInformation::new()
                    .with_use_hypercall_for_remote_flush(true)
                    .with_use_relaxed_timing(true)
                    .with_deprecate_auto_eoi(true)
                    .with_use_synthetic_cluster_ipi(true)
                    .with_use_ex_processor_masks(true)
                    .with_use_direct_local_flush_entire(true)
                    .with_long_spin_wait_count(0xFFF),
                version: HvHypervisorVersion::new()
                    .with_build_number(20348)
                    .with_major_version(10),
                version_after_guest_id: true,
                limits: HvImplementationLimits::new().with_max_virtual_processors(240),
                crash_control: HvGuestCrashControl::NOTIFY_WITH_MESSAGE,
                connections: Connection::hyperv_loopback(),
                implementation: HvImplementation::HyperV,
                enforce_cpuid: false,
            }),
        }
    }

    /// Builds a profile from a `--profile` name and a `--hv` flag list (QEMU spelling,
    /// comma-separated, `hv-` prefix optional, `spinlocks=N` in decimal or `0x` hex).
    /// Flags alone describe a KVM-style partition with exactly those flags; with
    /// `--profile kvm` they are added to its set.
    ///
    /// # Errors
    ///
    /// Unknown names, malformed values, missing dependencies, flags with `hyperv`.
    pub fn parse(profile: Option<&str>, hv_flags: Option<&str>) -> Result<Self, ProfileError> {
        let Some(list) = hv_flags else {
            return match profile.unwrap_or("kvm") {
                "none" => Ok(Self::none()),
                "kvm" => Ok(Self::kvm()),
                "hyperv" => Ok(Self::hyperv()),
                other => Err(ProfileError::UnknownProfile(other.into())),
            };
        };
        let (mut flags, mut spinlocks, name) = match profile {
            None | Some("none") => (Vec::new(), u32::MAX, "hv"),
            Some("kvm") => (KVM_FLAGS.to_vec(), KVM_SPINLOCKS, "kvm+hv"),
            Some("hyperv") => return Err(ProfileError::FlagsOnHyperV),
            Some(other) => return Err(ProfileError::UnknownProfile(other.into())),
        };
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let item = item.strip_prefix("hv-").unwrap_or(item);
            if let Some(value) = item.strip_prefix("spinlocks=") {
                spinlocks =
                    parse_u32(value).ok_or_else(|| ProfileError::BadSpinlocks(value.into()))?;
                continue;
            }
            let item = match item {
                "apicv" => "avic",
                "no-nonarch-coresharing=on" => "no-nonarch-coresharing",
                "enforce-cpuid=on" => "enforce-cpuid",
                other => other,
            };
            let flag = HvFlag::ALL
                .into_iter()
                .find(|flag| flag.name() == item)
                .ok_or_else(|| ProfileError::UnknownFlag(item.into()))?;
            if !flags.contains(&flag) {
                flags.push(flag);
            }
        }
        flags.sort();
        let profile = Self::qemu(name, &flags, spinlocks)?;
        Ok(if profile.name == "kvm+hv" {
            profile.with_testdev()
        } else {
            profile
        })
    }

    /// CPUID 0x40000003: privileges and features (all zero without a hypervisor).
    #[must_use]
    pub fn features(&self) -> HvFeatures {
        self.hv.as_ref().map_or(HvFeatures::new(), |hv| hv.features)
    }

    /// The partition privilege mask (zero without a hypervisor).
    #[must_use]
    pub fn privileges(&self) -> HvPartitionPrivilegeMask {
        self.features().privileges()
    }

    /// Whether every privilege set in `mask` is granted.
    #[must_use]
    pub fn has_privilege(&self, mask: HvPartitionPrivilegeMask) -> bool {
        self.privileges().contains(mask)
    }

    /// Whether the profile's hypervisor implements hypercall `code` (no hypervisor: none).
    /// KVM handles long spin-wait notification, messages and events, the flush and IPI
    /// calls, and passes extended calls to the VMM; it has no `HvCallGetVpRegisters`,
    /// `HvCallSetVpRegisters`, `HvCallStartVirtualProcessor` or
    /// `HvCallGetVpIndexFromApicId` (Linux `arch/x86/kvm/hyperv.c`).
    #[must_use]
    pub fn implements(&self, code: HvCallCode) -> bool {
        let Some(hv) = &self.hv else {
            return false;
        };
        match hv.implementation {
            HvImplementation::HyperV => true,
            HvImplementation::Kvm => {
                code.is_extended()
                    || matches!(
                        code,
                        HvCallCode::HvCallNotifyLongSpinWait
                            | HvCallCode::HvCallPostMessage
                            | HvCallCode::HvCallSignalEvent
                            | HvCallCode::HvCallFlushVirtualAddressSpace
                            | HvCallCode::HvCallFlushVirtualAddressList
                            | HvCallCode::HvCallFlushVirtualAddressSpaceEx
                            | HvCallCode::HvCallFlushVirtualAddressListEx
                            | HvCallCode::HvCallSendSyntheticClusterIpi
                            | HvCallCode::HvCallSendSyntheticClusterIpiEx
                    )
            }
        }
    }

    /// Whether a hypervisor that enforces CPUID ([`HvInterface::enforce_cpuid`]) lets the
    /// partition make hypercall `code` (Linux `hv_check_hypercall_access`): the flush calls
    /// need the remote-flush recommendation, the IPI calls the cluster-IPI one, their `Ex`
    /// forms also the Ex-processor-masks one (TLFS 2.4.5); long spin-wait notification
    /// needs a spinlock retry count other than 0 and 0xFFFFFFFF. Always `true` without
    /// enforcement.
    #[must_use]
    pub fn allows_by_cpuid(&self, code: HvCallCode) -> bool {
        let Some(hv) = self.hv.as_ref().filter(|hv| hv.enforce_cpuid) else {
            return true;
        };
        let rec = hv.recommendations;
        let ex = rec.use_ex_processor_masks();
        match code {
            HvCallCode::HvCallFlushVirtualAddressSpace
            | HvCallCode::HvCallFlushVirtualAddressList => rec.use_hypercall_for_remote_flush(),
            HvCallCode::HvCallFlushVirtualAddressSpaceEx
            | HvCallCode::HvCallFlushVirtualAddressListEx => {
                ex && rec.use_hypercall_for_remote_flush()
            }
            HvCallCode::HvCallSendSyntheticClusterIpi => rec.use_synthetic_cluster_ipi(),
            HvCallCode::HvCallSendSyntheticClusterIpiEx => ex && rec.use_synthetic_cluster_ipi(),
            HvCallCode::HvCallNotifyLongSpinWait => {
                !matches!(rec.long_spin_wait_count(), 0 | u32::MAX)
            }
            _ => true,
        }
    }

    /// The hypervisor CPUID leaf `leaf` (0x40000000..=0x4FFFFFFF) as EAX..EDX.
    /// `guest_id_set` tells whether the guest OS id MSR is non-zero (TLFS 2.4.3).
    #[must_use]
    pub fn cpuid(&self, leaf: u32, guest_id_set: bool) -> [u32; 4] {
        let Some(hv) = &self.hv else {
            return [0; 4];
        };
        if leaf > hv.max_leaf {
            return [0; 4];
        }
        match leaf {
            HV_CPUID_VENDOR_AND_MAX_FUNCTION => HvCpuidVendorAndMax::new()
                .with_max_function(hv.max_leaf)
                .with_vendor(hv.vendor)
                .into_cpuid(),
            HV_CPUID_INTERFACE => HvCpuidInterface::new()
                .with_signature(HV_CPUID_INTERFACE_SIGNATURE_HV1)
                .into_cpuid(),
            HV_CPUID_VERSION if hv.version_after_guest_id && !guest_id_set => [0; 4],
            HV_CPUID_VERSION => hv.version.into_cpuid(),
            HV_CPUID_FEATURES => hv.features.into_cpuid(),
            HV_CPUID_ENLIGHTENMENT_INFO => hv.recommendations.into_cpuid(),
            HV_CPUID_IMPLEMENTATION_LIMITS => hv.limits.into_cpuid(),
            // Hardware features, CPU management, SVM, nested and isolation leaves: nothing
            // to report (see the module docs).
            _ => [0; 4],
        }
    }
}

fn parse_u32(value: &str) -> Option<u32> {
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvm_profile_matches_qemu_bits() {
        let kvm = Profile::kvm();
        let [eax, ebx, _, edx] = kvm.cpuid(0x4000_0003, false);
        // runtime 0, time 1+9, synic 2, stimer 3, vapic 4, hypercall 5, vpindex 6,
        // reset 7, frequencies 11.
        assert_eq!(eax, 0b1010_1111_1111);
        // PostMessages and SignalEvents from hv-synic.
        assert_eq!(ebx, 0x30);
        // dynamic partitioning 3, xmm input 4, frequencies 8, crash 10, ext gva 14,
        // direct stimers 19.
        assert_eq!(edx, 0x0008_4518);
        let [rec, spin, _, _] = kvm.cpuid(0x4000_0004, false);
        assert_eq!(rec, (1 << 2) | (1 << 3) | (1 << 5) | (1 << 10) | (1 << 11));
        assert_eq!(spin, 0x1FFF);
        assert_eq!(kvm.cpuid(0x4000_0000, false)[0], 0x4000_0005);
        assert_eq!(kvm.cpuid(0x4000_000C, false), [0; 4]);
        assert_eq!(kvm.cpuid(0x4000_0002, false), [14393, 0x000A_0000, 0, 0]);
    }

    #[test]
    fn hyperv_hides_version_until_guest_id() {
        let hv = Profile::hyperv();
        assert_eq!(hv.cpuid(0x4000_0002, false), [0; 4]);
        assert_eq!(hv.cpuid(0x4000_0002, true)[0], 20348);
        let [eax, ebx, _, _] = hv.cpuid(0x4000_0003, true);
        assert_eq!((eax, ebx), (0xAE7F, 0x003B_8030));
        assert_eq!(hv.cpuid(0x4000_0000, false)[0], 0x4000_000C);
    }

    #[test]
    fn flags_follow_qemu_names_and_dependencies() {
        let p = Profile::parse(None, Some("hv-vpindex,synic,hv-spinlocks=0x2000")).unwrap();
        let synic_vpindex = HvPartitionPrivilegeMask::new()
            .with_access_synic_regs(true)
            .with_access_vp_index(true);
        assert!(p.has_privilege(synic_vpindex));
        assert!(!p.has_privilege(
            HvPartitionPrivilegeMask::new().with_access_partition_reference_counter(true)
        ));
        assert_eq!(p.cpuid(0x4000_0004, false)[1], 0x2000);
        assert_eq!(
            Profile::parse(None, Some("stimer")),
            Err(ProfileError::MissingDependency {
                flag: "stimer",
                needs: "synic"
            })
        );
        assert_eq!(
            Profile::parse(None, Some("evmcs")),
            Err(ProfileError::UnknownFlag("evmcs".into()))
        );
        assert_eq!(
            Profile::parse(Some("hyperv"), Some("relaxed")),
            Err(ProfileError::FlagsOnHyperV)
        );
        assert_eq!(Profile::parse(Some("none"), None), Ok(Profile::none()));
        assert_eq!(Profile::none().cpuid(0x4000_0000, true), [0; 4]);
    }
}
