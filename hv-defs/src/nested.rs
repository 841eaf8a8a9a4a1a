//! Nested virtualization: the enlightened VMCS and its clean fields, the AMD enlightened
//! VMCB area, the nested enlightenments control of the VP assist page, the partition assist
//! page, reenlightenment and TSC emulation, and the guest physical address space flushes
//! (TLFS 16).
//!
//! # Corrections to the TLFS 6.0 text
//!
//! * 16.13.2 says the low 12 bits of a flushed L2 GPA encode 0 to 4095 additional pages.
//!   The `HV_GPA_PAGE_RANGE` type of 16.11.1 has only 11 bits of additional pages, bit 11
//!   being the large page flag, and Linux's `HV_MAX_FLUSH_PAGES` is 2048; this module
//!   follows the type: [`HvGpaPageRange`] covers 1 to [`HV_MAX_FLUSH_PAGES`] pages.
//! * The TLFS declaration of `HV_VMX_ENLIGHTENED_VMCS` leaves the alignment padding after
//!   `HostTrSelector` and after `VpId` implicit; [`HvVmxEnlightenedVmcs`] names them
//!   (`rsvd0`, `rsvd_vp_id`), as Linux `struct hv_enlightened_vmcs` does, so the structure
//!   has no hidden padding.

use bitfield_struct::bitfield;
use core::fmt;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::{HvGpa, HvGpaPageNumber};

/// The only enlightened VMCS version defined, stored in `version_number` (TLFS 16.5.1).
/// CPUID 0x4000_000A reports the supported range (TLFS 2.4.11).
pub const HV_VMX_ENLIGHTENED_VMCS_VERSION: u32 = 1;

/// Size of the guest page holding an enlightened VMCS; it must be zeroed before first use
/// (TLFS 16.5).
pub const HV_VMX_ENLIGHTENED_VMCS_PAGE_SIZE: usize = crate::HV_PAGE_SIZE;

/// The VM-exit reason of the synthetic exit delivered after a direct virtual flush while
/// the partition assist page's TLB lock count is nonzero (TLFS 16.8.3
/// `HV_VMX_SYNTHETIC_EXIT_REASON_TRAP_AFTER_FLUSH`).
pub const HV_VMX_SYNTHETIC_EXIT_REASON_TRAP_AFTER_FLUSH: u32 = 0x1000_0031;

/// The SVM exit code of Hyper-V synthetic exits (post-TLFS 6.0; Linux `hvgdk.h`
/// `HV_SVM_EXITCODE_ENL`).
pub const HV_SVM_EXITCODE_ENL: u32 = 0xF000_0000;

/// The SVM synthetic exit info for trap-after-flush (post-TLFS 6.0; Linux `hvgdk.h`
/// `HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH`).
pub const HV_SVM_ENL_EXITCODE_TRAP_AFTER_FLUSH: u64 = 1;

/// The VMCB clean bit Hyper-V uses for [`HvVmcbEnlightenments`] (post-TLFS 6.0; Linux
/// `hvgdk.h` `HV_VMCB_NESTED_ENLIGHTENMENTS`).
pub const HV_VMCB_NESTED_ENLIGHTENMENTS_CLEAN_BIT: u32 = 31;

/// Offset of the 32-byte software-reserved area of the VMCB control area that holds
/// [`HvVmcbEnlightenments`] (AMD APM vol. 2 appendix B; Linux `struct vmcb_control_area`
/// `reserved_sw`).
pub const HV_VMCB_ENLIGHTENMENTS_OFFSET: usize = 0x3E0;

/// Most pages one [`HvGpaPageRange`] entry covers: 11 bits of additional pages, plus one
/// (TLFS 16.11.1; Linux `HV_MAX_FLUSH_PAGES`).
pub const HV_MAX_FLUSH_PAGES: u64 = 2048;

/// Most [`HvGpaPageRange`] entries one `HvCallFlushGuestPhysicalAddressList` call can carry
/// in a single input page after its 16-byte header: (4096 − 16) / 8.
pub const HV_FLUSH_GUEST_PHYSICAL_ADDRESS_LIST_MAX_REPS: usize =
    (crate::HV_PAGE_SIZE - size_of::<HvFlushGuestPhysicalAddressSpaceInput>()) / size_of::<u64>();

/// Why a GPA range could not be encoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HvGpaRangeError {
    /// A page count of zero or above [`HV_MAX_FLUSH_PAGES`].
    PageCountOutOfRange(u64),
    /// A page number that does not fit the entry's page number field.
    PageNumberOutOfRange(u64),
    /// A large page size other than 2 MB (0) or 1 GB (1).
    InvalidPageSize(u8),
}

impl fmt::Display for HvGpaRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::PageCountOutOfRange(count) => write!(
                f,
                "page count {count} is not between 1 and {HV_MAX_FLUSH_PAGES}"
            ),
            Self::PageNumberOutOfRange(page) => {
                write!(f, "page number {page:#x} does not fit the range entry")
            }
            Self::InvalidPageSize(size) => write!(f, "large page size {size} is not 0 or 1"),
        }
    }
}

impl core::error::Error for HvGpaRangeError {}

/// Clean field bits of the enlightened VMCS: a set bit tells the L0 hypervisor that the
/// group is unchanged since the last VM entry (TLFS 16.5.2, 16.11.3
/// `HV_VMX_ENLIGHTENED_CLEAN_FIELD_*`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvVmxEnlightenedCleanFields {
    /// I/O bitmaps, bit 0 (`IO_BITMAP`).
    pub io_bitmap: bool,
    /// MSR bitmap, bit 1 (`MSR_BITMAP`).
    pub msr_bitmap: bool,
    /// Control group 2, bit 2 (`CONTROL_GRP2`).
    pub control_grp2: bool,
    /// Control group 1, bit 3 (`CONTROL_GRP1`).
    pub control_grp1: bool,
    /// Processor-based controls, bit 4 (`CONTROL_PROC`).
    pub control_proc: bool,
    /// Event injection, bit 5 (`CONTROL_EVENT`).
    pub control_event: bool,
    /// Entry controls, bit 6 (`CONTROL_ENTRY`).
    pub control_entry: bool,
    /// Exception bitmap, bit 7 (`CONTROL_EXCPN`).
    pub control_excpn: bool,
    /// Control and debug registers, bit 8 (`CRDR`).
    pub crdr: bool,
    /// Address translation controls, bit 9 (`CONTROL_XLAT`).
    pub control_xlat: bool,
    /// Basic guest state, bit 10 (`GUEST_BASIC`).
    pub guest_basic: bool,
    /// Guest group 1, bit 11 (`GUEST_GRP1`).
    pub guest_grp1: bool,
    /// Guest group 2, bit 12 (`GUEST_GRP2`).
    pub guest_grp2: bool,
    /// Host pointers, bit 13 (`HOST_POINTER`).
    pub host_pointer: bool,
    /// Host group 1, bit 14 (`HOST_GRP1`).
    pub host_grp1: bool,
    /// The enlightenments control fields, bit 15 (`ENLIGHTENMENTSCONTROL`).
    pub enlightenments_control: bool,
    /// Reserved, bits 31:16.
    #[bits(16)]
    _rsvd: u16,
}

impl HvVmxEnlightenedCleanFields {
    /// Mask of the reserved bits 31:16.
    pub const RESERVED_MASK: u32 = 0xFFFF_0000;

    /// Nothing is clean: the L0 hypervisor reloads everything
    /// (`HV_VMX_ENLIGHTENED_CLEAN_FIELD_NONE`).
    pub const NONE: Self = Self::new();

    /// Everything is clean (`HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL`, post-TLFS 6.0; Linux
    /// `hvgdk.h`).
    pub const ALL: Self = Self::from_bits(0xFFFF);
}

/// The enlightenments control field of the enlightened VMCS (TLFS 16.11.2
/// `EnlightenmentsControl`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvVmxEnlightenmentsControl {
    /// Let the L2 guest's virtual flush hypercalls go to L0 directly, bit 0 (TLFS 16.8.1).
    pub nested_flush_virtual_hypercall: bool,
    /// Enlightened MSR bitmap, bit 1 (TLFS 16.5.3).
    pub msr_bitmap: bool,
    /// Reserved, bits 31:2.
    #[bits(30)]
    _rsvd: u32,
}

impl HvVmxEnlightenmentsControl {
    /// Mask of the reserved bits 31:2.
    pub const RESERVED_MASK: u32 = !0x3;
}

/// The enlightened VMCS, version 1, 1024 bytes at the start of a zeroed 4 KB page
/// (TLFS 16.11.2 `HV_VMX_ENLIGHTENED_VMCS`; the fields replacing the TLFS `Rsvd6` and
/// `Rsvd7` arrays are post-TLFS 6.0, Linux `hvgdk.h` `struct hv_enlightened_vmcs`).
///
/// Field names follow the TLFS; each non-synthetic field is the Intel VMCS field of the
/// same name (TLFS 16.11.4).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvVmxEnlightenedVmcs {
    /// Enlightened VMCS version, [`HV_VMX_ENLIGHTENED_VMCS_VERSION`].
    pub version_number: u32,
    /// VMX-abort indicator.
    pub abort_indicator: u32,
    /// Host ES selector.
    pub host_es_selector: u16,
    /// Host CS selector.
    pub host_cs_selector: u16,
    /// Host SS selector.
    pub host_ss_selector: u16,
    /// Host DS selector.
    pub host_ds_selector: u16,
    /// Host FS selector.
    pub host_fs_selector: u16,
    /// Host GS selector.
    pub host_gs_selector: u16,
    /// Host TR selector.
    pub host_tr_selector: u16,
    /// Alignment padding (implicit in the TLFS).
    pub rsvd0: u16,
    /// Host IA32_PAT.
    pub host_pat: u64,
    /// Host IA32_EFER.
    pub host_efer: u64,
    /// Host CR0.
    pub host_cr0: u64,
    /// Host CR3.
    pub host_cr3: u64,
    /// Host CR4.
    pub host_cr4: u64,
    /// Host IA32_SYSENTER_ESP.
    pub host_sysenter_esp_msr: u64,
    /// Host IA32_SYSENTER_EIP.
    pub host_sysenter_eip_msr: u64,
    /// Host RIP.
    pub host_rip: u64,
    /// Host IA32_SYSENTER_CS.
    pub host_sysenter_cs_msr: u32,
    /// Pin-based VM-execution controls.
    pub pin_controls: u32,
    /// VM-exit controls.
    pub exit_controls: u32,
    /// Secondary processor-based VM-execution controls.
    pub secondary_processor_controls: u32,
    /// I/O bitmap A address.
    pub io_bitmap_a: HvGpa,
    /// I/O bitmap B address.
    pub io_bitmap_b: HvGpa,
    /// MSR bitmap address.
    pub msr_bitmap: HvGpa,
    /// Guest ES selector.
    pub guest_es_selector: u16,
    /// Guest CS selector.
    pub guest_cs_selector: u16,
    /// Guest SS selector.
    pub guest_ss_selector: u16,
    /// Guest DS selector.
    pub guest_ds_selector: u16,
    /// Guest FS selector.
    pub guest_fs_selector: u16,
    /// Guest GS selector.
    pub guest_gs_selector: u16,
    /// Guest LDTR selector.
    pub guest_ldtr_selector: u16,
    /// Guest TR selector.
    pub guest_tr_selector: u16,
    /// Guest ES limit.
    pub guest_es_limit: u32,
    /// Guest CS limit.
    pub guest_cs_limit: u32,
    /// Guest SS limit.
    pub guest_ss_limit: u32,
    /// Guest DS limit.
    pub guest_ds_limit: u32,
    /// Guest FS limit.
    pub guest_fs_limit: u32,
    /// Guest GS limit.
    pub guest_gs_limit: u32,
    /// Guest LDTR limit.
    pub guest_ldtr_limit: u32,
    /// Guest TR limit.
    pub guest_tr_limit: u32,
    /// Guest GDTR limit.
    pub guest_gdtr_limit: u32,
    /// Guest IDTR limit.
    pub guest_idtr_limit: u32,
    /// Guest ES access rights.
    pub guest_es_attributes: u32,
    /// Guest CS access rights.
    pub guest_cs_attributes: u32,
    /// Guest SS access rights.
    pub guest_ss_attributes: u32,
    /// Guest DS access rights.
    pub guest_ds_attributes: u32,
    /// Guest FS access rights.
    pub guest_fs_attributes: u32,
    /// Guest GS access rights.
    pub guest_gs_attributes: u32,
    /// Guest LDTR access rights.
    pub guest_ldtr_attributes: u32,
    /// Guest TR access rights.
    pub guest_tr_attributes: u32,
    /// Guest ES base.
    pub guest_es_base: u64,
    /// Guest CS base.
    pub guest_cs_base: u64,
    /// Guest SS base.
    pub guest_ss_base: u64,
    /// Guest DS base.
    pub guest_ds_base: u64,
    /// Guest FS base.
    pub guest_fs_base: u64,
    /// Guest GS base.
    pub guest_gs_base: u64,
    /// Guest LDTR base.
    pub guest_ldtr_base: u64,
    /// Guest TR base.
    pub guest_tr_base: u64,
    /// Guest GDTR base.
    pub guest_gdtr_base: u64,
    /// Guest IDTR base.
    pub guest_idtr_base: u64,
    /// Reserved.
    pub rsvd1: [u64; 3],
    /// VM-exit MSR-store address.
    pub exit_msr_store_address: HvGpa,
    /// VM-exit MSR-load address.
    pub exit_msr_load_address: HvGpa,
    /// VM-entry MSR-load address.
    pub entry_msr_load_address: HvGpa,
    /// CR3-target value 0.
    pub cr3_target0: u64,
    /// CR3-target value 1.
    pub cr3_target1: u64,
    /// CR3-target value 2.
    pub cr3_target2: u64,
    /// CR3-target value 3.
    pub cr3_target3: u64,
    /// Page-fault error-code mask.
    pub pfec_mask: u32,
    /// Page-fault error-code match.
    pub pfec_match: u32,
    /// CR3-target count.
    pub cr3_target_count: u32,
    /// VM-exit MSR-store count.
    pub exit_msr_store_count: u32,
    /// VM-exit MSR-load count.
    pub exit_msr_load_count: u32,
    /// VM-entry MSR-load count.
    pub entry_msr_load_count: u32,
    /// TSC offset.
    pub tsc_offset: u64,
    /// Virtual-APIC page address.
    pub virtual_apic_page: HvGpa,
    /// VMCS link pointer.
    pub guest_working_vmcs_ptr: HvGpa,
    /// Guest IA32_DEBUGCTL.
    pub guest_ia32_debug_ctl: u64,
    /// Guest IA32_PAT.
    pub guest_pat: u64,
    /// Guest IA32_EFER.
    pub guest_efer: u64,
    /// Guest PDPTE0.
    pub guest_pdpte0: u64,
    /// Guest PDPTE1.
    pub guest_pdpte1: u64,
    /// Guest PDPTE2.
    pub guest_pdpte2: u64,
    /// Guest PDPTE3.
    pub guest_pdpte3: u64,
    /// Guest pending debug exceptions.
    pub guest_pending_debug_exceptions: u64,
    /// Guest IA32_SYSENTER_ESP.
    pub guest_sysenter_esp_msr: u64,
    /// Guest IA32_SYSENTER_EIP.
    pub guest_sysenter_eip_msr: u64,
    /// Guest activity state.
    pub guest_sleep_state: u32,
    /// Guest IA32_SYSENTER_CS.
    pub guest_sysenter_cs_msr: u32,
    /// CR0 guest/host mask.
    pub cr0_guest_host_mask: u64,
    /// CR4 guest/host mask.
    pub cr4_guest_host_mask: u64,
    /// CR0 read shadow.
    pub cr0_read_shadow: u64,
    /// CR4 read shadow.
    pub cr4_read_shadow: u64,
    /// Guest CR0.
    pub guest_cr0: u64,
    /// Guest CR3.
    pub guest_cr3: u64,
    /// Guest CR4.
    pub guest_cr4: u64,
    /// Guest DR7.
    pub guest_dr7: u64,
    /// Host FS base.
    pub host_fs_base: u64,
    /// Host GS base.
    pub host_gs_base: u64,
    /// Host TR base.
    pub host_tr_base: u64,
    /// Host GDTR base.
    pub host_gdtr_base: u64,
    /// Host IDTR base.
    pub host_idtr_base: u64,
    /// Host RSP.
    pub host_rsp: u64,
    /// EPT pointer.
    pub ept_root: u64,
    /// Virtual-processor identifier.
    pub vpid: u16,
    /// Reserved.
    pub rsvd2: [u16; 3],
    /// Reserved.
    pub rsvd3: [u64; 5],
    /// Guest-physical address of an EPT fault.
    pub exit_ept_fault_gpa: u64,
    /// VM-instruction error.
    pub exit_instruction_error: u32,
    /// Exit reason.
    pub exit_reason: u32,
    /// VM-exit interruption information.
    pub exit_interruption_info: u32,
    /// VM-exit interruption error code.
    pub exit_exception_error_code: u32,
    /// IDT-vectoring information.
    pub exit_idt_vectoring_info: u32,
    /// IDT-vectoring error code.
    pub exit_idt_vectoring_error_code: u32,
    /// VM-exit instruction length.
    pub exit_instruction_length: u32,
    /// VM-exit instruction information.
    pub exit_instruction_info: u32,
    /// Exit qualification.
    pub exit_qualification: u64,
    /// I/O RCX.
    pub exit_io_instruction_ecx: u64,
    /// I/O RSI.
    pub exit_io_instruction_esi: u64,
    /// I/O RDI.
    pub exit_io_instruction_edi: u64,
    /// I/O RIP.
    pub exit_io_instruction_eip: u64,
    /// Guest-linear address.
    pub guest_linear_address: u64,
    /// Guest RSP.
    pub guest_rsp: u64,
    /// Guest RFLAGS.
    pub guest_rflags: u64,
    /// Guest interruptibility state.
    pub guest_interruptibility: u32,
    /// Primary processor-based VM-execution controls.
    pub processor_controls: u32,
    /// Exception bitmap.
    pub exception_bitmap: u32,
    /// VM-entry controls.
    pub entry_controls: u32,
    /// VM-entry interruption information.
    pub entry_interrupt_info: u32,
    /// VM-entry exception error code.
    pub entry_exception_error_code: u32,
    /// VM-entry instruction length.
    pub entry_instruction_length: u32,
    /// TPR threshold.
    pub tpr_threshold: u32,
    /// Guest RIP.
    pub guest_rip: u64,
    /// Clean fields (synthetic, TLFS 16.5.2).
    pub clean_fields: HvVmxEnlightenedCleanFields,
    /// Reserved.
    pub rsvd4: u32,
    /// Synthetic controls (synthetic).
    pub synthetic_controls: u32,
    /// Enlightenments control (synthetic, TLFS 16.8.1).
    pub enlightenments_control: HvVmxEnlightenmentsControl,
    /// The VP this VMCS controls, for direct virtual flush (synthetic, TLFS 16.8.1).
    pub vp_id: u32,
    /// Alignment padding (implicit in the TLFS).
    pub rsvd_vp_id: u32,
    /// The VM this VMCS belongs to, for direct virtual flush (synthetic, TLFS 16.8.1).
    pub vm_id: u64,
    /// GPA of the partition assist page (synthetic, TLFS 16.8.2).
    pub partition_assist_page: HvGpa,
    /// Reserved.
    pub rsvd5: [u64; 4],
    /// Guest IA32_BNDCFGS.
    pub guest_bndcfgs: u64,
    /// Guest IA32_PERF_GLOBAL_CTRL (post-TLFS 6.0; advertised by CPUID 0x4000_000A EBX bit 0).
    pub guest_ia32_perf_global_ctrl: u64,
    /// Guest IA32_S_CET (post-TLFS 6.0).
    pub guest_ia32_s_cet: u64,
    /// Guest SSP (post-TLFS 6.0).
    pub guest_ssp: u64,
    /// Guest IA32_INTERRUPT_SSP_TABLE_ADDR (post-TLFS 6.0).
    pub guest_ia32_int_ssp_table_addr: u64,
    /// Guest IA32_LBR_CTL (post-TLFS 6.0).
    pub guest_ia32_lbr_ctl: u64,
    /// Reserved (the rest of TLFS `Rsvd6`).
    pub rsvd6: [u64; 2],
    /// XSS-exiting bitmap.
    pub xss_exiting_bitmap: u64,
    /// ENCLS-exiting bitmap.
    pub encls_exiting_bitmap: u64,
    /// Host IA32_PERF_GLOBAL_CTRL (post-TLFS 6.0).
    pub host_ia32_perf_global_ctrl: u64,
    /// TSC multiplier (post-TLFS 6.0).
    pub tsc_multiplier: u64,
    /// Host IA32_S_CET (post-TLFS 6.0).
    pub host_ia32_s_cet: u64,
    /// Host SSP (post-TLFS 6.0).
    pub host_ssp: u64,
    /// Host IA32_INTERRUPT_SSP_TABLE_ADDR (post-TLFS 6.0).
    pub host_ia32_int_ssp_table_addr: u64,
    /// Reserved (the rest of TLFS `Rsvd7`).
    pub rsvd7: u64,
}

// Offsets worked out by hand from the TLFS 16.11.2 field list with natural alignment.
const _: () = assert!(size_of::<HvVmxEnlightenedVmcs>() == 1024);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, abort_indicator) == 4);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, host_es_selector) == 8);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, host_tr_selector) == 20);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, host_pat) == 24);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, host_rip) == 80);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, host_sysenter_cs_msr) == 88);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, pin_controls) == 92);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, secondary_processor_controls) == 100);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, io_bitmap_a) == 104);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, msr_bitmap) == 120);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_es_selector) == 128);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_es_limit) == 144);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_es_attributes) == 184);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_es_base) == 216);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, rsvd1) == 296);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, exit_msr_store_address) == 320);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, cr3_target0) == 344);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, pfec_mask) == 376);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, cr3_target_count) == 384);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, tsc_offset) == 400);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_working_vmcs_ptr) == 416);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_pdpte0) == 448);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_sleep_state) == 504);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, cr0_guest_host_mask) == 512);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_cr0) == 544);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_dr7) == 568);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, host_fs_base) == 576);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, host_rsp) == 616);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, ept_root) == 624);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, vpid) == 632);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, rsvd3) == 640);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, exit_ept_fault_gpa) == 680);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, exit_instruction_error) == 688);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, exit_reason) == 692);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, exit_qualification) == 720);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_linear_address) == 760);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_rsp) == 768);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_rflags) == 776);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_interruptibility) == 784);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, tpr_threshold) == 812);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_rip) == 816);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, clean_fields) == 824);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, synthetic_controls) == 832);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, enlightenments_control) == 836);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, vp_id) == 840);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, vm_id) == 848);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, partition_assist_page) == 856);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, rsvd5) == 864);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_bndcfgs) == 896);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, guest_ia32_perf_global_ctrl) == 904);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, rsvd6) == 944);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, xss_exiting_bitmap) == 960);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, encls_exiting_bitmap) == 968);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, host_ia32_perf_global_ctrl) == 976);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, tsc_multiplier) == 984);
const _: () = assert!(offset_of!(HvVmxEnlightenedVmcs, rsvd7) == 1016);

/// The enlightenments control of the AMD enlightened VMCB area (post-TLFS 6.0; Linux
/// `hvgdk.h` `struct hv_vmcb_enlightenments`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvSvmEnlightenmentsControl {
    /// Let the L2 guest's virtual flush hypercalls go to L0 directly, bit 0.
    pub nested_flush_virtual_hypercall: bool,
    /// Enlightened MSR bitmap, bit 1.
    pub msr_bitmap: bool,
    /// Enlightened NPT TLB: ASID flushes leave NPT-derived entries, which are flushed by
    /// the GPA flush hypercalls instead, bit 2.
    pub enlightened_npt_tlb: bool,
    /// Reserved, bits 31:3.
    #[bits(29)]
    _rsvd: u32,
}

impl HvSvmEnlightenmentsControl {
    /// Mask of the reserved bits 31:3.
    pub const RESERVED_MASK: u32 = !0x7;
}

/// The Hyper-V enlightenments in the 32-byte software-reserved area of an AMD VMCB
/// control area, at [`HV_VMCB_ENLIGHTENMENTS_OFFSET`] (post-TLFS 6.0; Linux `hvgdk.h`
/// `struct hv_vmcb_enlightenments`). Its VMCB clean bit is
/// [`HV_VMCB_NESTED_ENLIGHTENMENTS_CLEAN_BIT`].
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvVmcbEnlightenments {
    /// Enlightenments control, offset 0.
    pub enlightenments_control: HvSvmEnlightenmentsControl,
    /// The VP this VMCB controls, offset 4.
    pub vp_id: u32,
    /// The VM this VMCB belongs to, offset 8.
    pub vm_id: u64,
    /// GPA of the partition assist page, offset 16.
    pub partition_assist_page: HvGpa,
    /// Reserved, offset 24.
    pub rsvd: u64,
}

const _: () = assert!(size_of::<HvVmcbEnlightenments>() == 32);
const _: () = assert!(offset_of!(HvVmcbEnlightenments, vp_id) == 4);
const _: () = assert!(offset_of!(HvVmcbEnlightenments, vm_id) == 8);
const _: () = assert!(offset_of!(HvVmcbEnlightenments, partition_assist_page) == 16);
const _: () = assert!(offset_of!(HvVmcbEnlightenments, rsvd) == 24);

/// The partition assist page: a zeroed, page-aligned page whose GPA the L1 hypervisor puts
/// in the enlightened VMCS before using direct virtual flush (TLFS 16.8.2
/// `VM_PARTITION_ASSIST_PAGE`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvPartitionAssistPage {
    /// While nonzero, a direct virtual flush is followed by a synthetic VM exit
    /// (TLFS 16.8.3).
    pub tlb_lock_count: u32,
    /// The rest of the page.
    pub rsvd: [u8; crate::HV_PAGE_SIZE - 4],
}

const _: () = assert!(size_of::<HvPartitionAssistPage>() == crate::HV_PAGE_SIZE);

/// The features half of the VP assist page's nested enlightenments control (TLFS 7.8.7.2,
/// 16.8.1, 16.12 `HV_NESTED_ENLIGHTENMENTS_CONTROL.Features`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvNestedEnlightenmentsFeatures {
    /// Handle the L2 guest's virtual flush hypercalls directly, bit 0 (TLFS 16.8.1).
    pub direct_hypercall: bool,
    /// Deliver virtualization exceptions as #PF-class exceptions, bit 1 (TLFS 16.12).
    pub virtualization_exception: bool,
    /// Reserved, bits 31:2.
    #[bits(30)]
    _rsvd: u32,
}

impl HvNestedEnlightenmentsFeatures {
    /// Mask of the reserved bits 31:2.
    pub const RESERVED_MASK: u32 = !0x3;
}

/// The hypercall controls half of the nested enlightenments control (TLFS 7.8.7.2
/// `HV_NESTED_ENLIGHTENMENTS_CONTROL.HypercallControls`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvNestedHypercallControls {
    /// Grant the nested guest the inter-partition communication hypercalls, bit 0.
    pub inter_partition_communication: bool,
    /// Reserved, bits 31:1.
    #[bits(31)]
    _rsvd: u32,
}

impl HvNestedHypercallControls {
    /// Mask of the reserved bits 31:1.
    pub const RESERVED_MASK: u32 = !0x1;
}

/// The nested enlightenments control of the VP assist page, through which an L1 hypervisor
/// tells L0 which enlightenments the current nested guest gets (TLFS 7.8.7.2
/// `HV_NESTED_ENLIGHTENMENTS_CONTROL`; at offset 32 of the assist page).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvNestedEnlightenmentsControl {
    /// Features, offset 0.
    pub features: HvNestedEnlightenmentsFeatures,
    /// Hypercall controls, offset 4.
    pub hypercall_controls: HvNestedHypercallControls,
}

const _: () = assert!(size_of::<HvNestedEnlightenmentsControl>() == 8);
const _: () = assert!(offset_of!(HvNestedEnlightenmentsControl, hypercall_controls) == 4);

/// Contents of `HV_X64_MSR_REENLIGHTENMENT_CONTROL` (TLFS 16.6.1
/// `HV_REENLIGHTENMENT_CONTROL`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvReenlightenmentControl {
    /// Fixed APIC vector injected after a migration, bits 7:0.
    pub vector: u8,
    /// RsvdZ, bits 15:8.
    #[bits(8)]
    _rsvd0: u8,
    /// Notifications are enabled, bit 16.
    pub enabled: bool,
    /// RsvdZ, bits 31:17.
    #[bits(15)]
    _rsvd1: u16,
    /// VP index that receives the interrupt, bits 63:32.
    pub target_vp: u32,
}

impl HvReenlightenmentControl {
    /// Mask of the RsvdZ bits 15:8 and 31:17.
    pub const RESERVED_MASK: u64 = 0x0000_0000_FFFE_FF00;
}

/// Contents of `HV_X64_MSR_TSC_EMULATION_CONTROL` (TLFS 16.6.2
/// `HV_TSC_EMULATION_CONTROL`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvTscEmulationControl {
    /// Emulate TSC accesses after a migration, bit 0.
    pub enabled: bool,
    /// RsvdZ, bits 63:1.
    #[bits(63)]
    _rsvd: u64,
}

impl HvTscEmulationControl {
    /// Mask of the RsvdZ bits 63:1.
    pub const RESERVED_MASK: u64 = !0x1;
}

/// Contents of `HV_X64_MSR_TSC_EMULATION_STATUS` (TLFS 16.6.2 `HV_TSC_EMULATION_STATUS`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvTscEmulationStatus {
    /// TSC accesses are being emulated, bit 0; write 0 to stop after updating the TSC scale.
    pub in_progress: bool,
    /// RsvdP, bits 63:1.
    #[bits(63)]
    _rsvdp: u64,
}

impl HvTscEmulationStatus {
    /// Mask of the RsvdP bits 63:1.
    pub const RESERVED_MASK: u64 = !0x1;
}

/// Input of `HvCallFlushGuestPhysicalAddressSpace` (call code 0x00AF), 16 bytes
/// (TLFS 16.13.1). Like INVEPT single-context on every processor.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvFlushGuestPhysicalAddressSpaceInput {
    /// The second-level address space: on Intel, the EPT PML4 table pointer; offset 0.
    pub address_space: u64,
    /// Reserved flags, must be zero; offset 8.
    pub flags: u64,
}

const _: () = assert!(size_of::<HvFlushGuestPhysicalAddressSpaceInput>() == 16);
const _: () = assert!(offset_of!(HvFlushGuestPhysicalAddressSpaceInput, flags) == 8);

/// Header of the `HvCallFlushGuestPhysicalAddressList` input (call code 0x00B0, rep):
/// the same 16 bytes as the space flush, followed by one [`HvGpaPageRange`] (or
/// [`HvGpaLargePageRange`]) per rep (TLFS 16.13.2).
pub type HvFlushGuestPhysicalAddressListInput = HvFlushGuestPhysicalAddressSpaceInput;

open_enum! {
    /// The page size of a large-page GPA range entry (TLFS 16.11.1 `PageSize`; values from
    /// Linux `hvgdk_mini.h` `HV_GPA_PAGE_RANGE_PAGE_SIZE_*`).
    pub struct HvGpaPageRangePageSize(u8) {
        /// 2 MB pages.
        HvGpaPageRangePageSize2Mb = 0,
        /// 1 GB pages.
        HvGpaPageRangePageSize1Gb = 1,
    }
}

/// A GPA range entry in 4 KB pages (TLFS 16.11.1 `HV_GPA_PAGE_RANGE`, first form).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvGpaPageRange {
    /// Pages after the first, bits 10:0.
    #[bits(11)]
    pub additional_pages: u16,
    /// Clear in this form; set means the entry is an [`HvGpaLargePageRange`], bit 11.
    pub large_page: bool,
    /// First 4 KB page number, bits 63:12.
    #[bits(52)]
    pub base_pfn: u64,
}

impl HvGpaPageRange {
    /// Largest page number the 52-bit field can hold.
    pub const MAX_PFN: HvGpaPageNumber = (1 << 52) - 1;

    /// The entry covering `page_count` 4 KB pages from `base_pfn`.
    ///
    /// # Errors
    ///
    /// [`HvGpaRangeError::PageCountOutOfRange`] unless 1 ≤ `page_count` ≤ 2048;
    /// [`HvGpaRangeError::PageNumberOutOfRange`] when `base_pfn` exceeds 52 bits.
    pub const fn pages(
        base_pfn: HvGpaPageNumber,
        page_count: u64,
    ) -> Result<Self, HvGpaRangeError> {
        if page_count == 0 || page_count > HV_MAX_FLUSH_PAGES {
            return Err(HvGpaRangeError::PageCountOutOfRange(page_count));
        }
        if base_pfn > Self::MAX_PFN {
            return Err(HvGpaRangeError::PageNumberOutOfRange(base_pfn));
        }
        Ok(Self::new()
            .with_additional_pages((page_count - 1) as u16)
            .with_base_pfn(base_pfn))
    }

    /// Number of pages covered: additional pages plus one.
    #[must_use]
    pub const fn page_count(self) -> u64 {
        self.additional_pages() as u64 + 1
    }

    /// The entry read in the large-page form, when its large page bit is set.
    #[must_use]
    pub const fn as_large(self) -> Option<HvGpaLargePageRange> {
        if self.large_page() {
            Some(HvGpaLargePageRange::from_bits(self.into_bits()))
        } else {
            None
        }
    }
}

/// A GPA range entry in large pages (TLFS 16.11.1 `HV_GPA_PAGE_RANGE`, second form).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvGpaLargePageRange {
    /// Large pages after the first, bits 10:0.
    #[bits(11)]
    pub additional_pages: u16,
    /// Set in this form, bit 11.
    pub large_page: bool,
    /// Size of the pages, bit 12.
    #[bits(1, from = HvGpaPageRangePageSize::new, into = HvGpaPageRangePageSize::get)]
    pub page_size: HvGpaPageRangePageSize,
    /// Reserved, bits 20:13.
    #[bits(8)]
    _rsvd: u8,
    /// First page, in 2 MB units (GPA bits 63:21), bits 63:21.
    #[bits(43)]
    pub base_large_pfn: u64,
}

impl HvGpaLargePageRange {
    /// Mask of the reserved bits 20:13.
    pub const RESERVED_MASK: u64 = 0x0000_0000_001F_E000;

    /// Largest 2 MB frame number the 43-bit field can hold.
    pub const MAX_LARGE_PFN: u64 = (1 << 43) - 1;

    /// The entry covering `page_count` large pages of `page_size` from `base_large_pfn`
    /// (in 2 MB units).
    ///
    /// # Errors
    ///
    /// [`HvGpaRangeError::PageCountOutOfRange`] unless 1 ≤ `page_count` ≤ 2048;
    /// [`HvGpaRangeError::PageNumberOutOfRange`] when `base_large_pfn` exceeds 43 bits;
    /// [`HvGpaRangeError::InvalidPageSize`] for a page size that is not 2 MB or 1 GB.
    pub const fn pages(
        base_large_pfn: u64,
        page_size: HvGpaPageRangePageSize,
        page_count: u64,
    ) -> Result<Self, HvGpaRangeError> {
        if page_count == 0 || page_count > HV_MAX_FLUSH_PAGES {
            return Err(HvGpaRangeError::PageCountOutOfRange(page_count));
        }
        if base_large_pfn > Self::MAX_LARGE_PFN {
            return Err(HvGpaRangeError::PageNumberOutOfRange(base_large_pfn));
        }
        if page_size.get() > 1 {
            return Err(HvGpaRangeError::InvalidPageSize(page_size.get()));
        }
        Ok(Self::new()
            .with_additional_pages((page_count - 1) as u16)
            .with_large_page(true)
            .with_page_size(page_size)
            .with_base_large_pfn(base_large_pfn))
    }

    /// Number of large pages covered: additional pages plus one.
    #[must_use]
    pub const fn page_count(self) -> u64 {
        self.additional_pages() as u64 + 1
    }
}

impl From<HvGpaLargePageRange> for HvGpaPageRange {
    fn from(range: HvGpaLargePageRange) -> Self {
        Self::from_bits(range.into_bits())
    }
}
