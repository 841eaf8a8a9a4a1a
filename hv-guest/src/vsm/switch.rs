//! Switching VTLs: VTL call and VTL return through the hypercall page (TLFS 15.6–15.8), and
//! the VTL control area of the VP assist page (TLFS 7.8.7, 15.8.2).
//!
//! # Register convention (x64)
//!
//! A VTL switch saves the private state of the VTL being left and loads that of the VTL
//! being entered; shared state stays in the processor (TLFS 15.11). For the general purpose
//! registers that means:
//!
//! | register | scope | VTL call (up) | VTL return (down) |
//! | --- | --- | --- | --- |
//! | RSP, RIP, RFLAGS | private | each VTL keeps its own | each VTL keeps its own |
//! | RCX | shared | call control, 0 (TLFS 15.6.1) | return control (TLFS 15.7.1); a normal return loads the lower VTL's RCX from the VTL control area |
//! | RAX | shared | reserved to the sequence; this crate passes 0 | reserved; a normal return loads the lower VTL's RAX from the VTL control area |
//! | RDX, RBX, RSI, RDI, RBP, R8–R15 | shared | arrive in the higher VTL unchanged | arrive in the lower VTL unchanged |
//!
//! [`X64VtlRegisters`] is that set of shared registers. A switch loads it before calling the
//! sequence and stores every register back when the VP comes back to the caller's VTL,
//! so it carries arguments up and results down. Everything else that is shared (x87, XMM and
//! AVX state, XCR0, CR2, DR0–DR3; TLFS 15.11.2.2) may be changed by the other VTL: the
//! switch declares all vector and x87 registers clobbered.
//!
//! # Coming back
//!
//! A VTL call returns when the higher VTL makes a VTL return: the lower VTL resumes after
//! its call into the hypercall page (TLFS 15.7.1). A VTL return "returns" when the VP next
//! enters the higher VTL (a VTL call, an interrupt or an intercept, TLFS 15.6): the higher
//! VTL resumes after its own call into the hypercall page, and its VTL control area says
//! why it was entered ([`VtlControl::entry_reason`]). So the higher VTL's main loop is:
//! return, read the entry reason and the registers, handle, return again.
//!
//! After an intercept (the lower VTL was stopped in the middle of its code, not in a VTL
//! call) the registers `regs` holds on coming back are the lower VTL's, and it expects
//! them back: return with [`VtlReturnGate::normal_return`] passing `regs.rax` and
//! `regs.rcx`, since a fast return leaves RAX and RCX as the return sequence made them
//! (TLFS 15.7.1.1). hv-sim's VSM model and the sample kernel's VTL 1 work this way.

use core::marker::PhantomData;
use core::mem::offset_of;
use core::ptr::NonNull;

use hv_defs::HvGpa;
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::register::HvRegisterName;
use hv_defs::vp::{HvVpAssistPage, HvVpAssistPageMsr};
use hv_defs::vsm::{HvVinaStatus, HvVpVtlControl, HvVtlEntryReason, HvVtlReturnControl};

use super::{Privilege, VsmError};
use crate::page::{HvPage, PhysPage};
use crate::platform::{HypercallEntry, Platform};

/// The x64 shared general purpose registers a VTL switch carries (TLFS 15.6.1, 15.7.1,
/// 15.11.2.2): all of them but RSP, which is private.
///
/// On a VTL call, `rax` and `rcx` are not passed up (RCX holds the call control and RAX is
/// reserved); on a VTL return they are not passed down either (RCX holds the return
/// control). Every field is written back when the VP comes back.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct X64VtlRegisters {
    /// RAX.
    pub rax: u64,
    /// RCX.
    pub rcx: u64,
    /// RDX.
    pub rdx: u64,
    /// RBX.
    pub rbx: u64,
    /// RSI.
    pub rsi: u64,
    /// RDI.
    pub rdi: u64,
    /// RBP.
    pub rbp: u64,
    /// R8.
    pub r8: u64,
    /// R9.
    pub r9: u64,
    /// R10.
    pub r10: u64,
    /// R11.
    pub r11: u64,
    /// R12.
    pub r12: u64,
    /// R13.
    pub r13: u64,
    /// R14.
    pub r14: u64,
    /// R15.
    pub r15: u64,
}

const _: () = assert!(size_of::<X64VtlRegisters>() == 15 * 8);

/// Where a VTL call or return sequence starts: the hypercall page plus the offset
/// `HvRegisterVsmCodePageOffsets` gives (TLFS 15.8).
///
/// Only the gates of [`super::Vsm`] create one, from an enabled hypercall page and the
/// register's 12-bit offset, so the address always lies inside the page.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VtlCodeEntry {
    page: HypercallEntry,
    offset: u16,
}

impl VtlCodeEntry {
    /// `offset` is a 12-bit field of `HvRegisterVsmCodePageOffsets`, so it is below 4096.
    pub(crate) const fn new(page: HypercallEntry, offset: u16) -> Self {
        Self { page, offset }
    }

    /// The offset of the sequence in the hypercall page.
    #[must_use]
    pub const fn offset(self) -> u16 {
        self.offset
    }

    /// The address to `CALL`.
    #[must_use]
    pub fn as_ptr(self) -> *const u8 {
        self.page.as_ptr().wrapping_add(usize::from(self.offset))
    }
}

/// What an architecture adds to [`Platform`] for VSM: entering the VTL call and VTL return
/// sequences of the hypercall page (TLFS 15.8). x86_64 implements it in
/// [`crate::arch::x86_64`]; arm64 will add its own with its own register set.
pub trait VtlPlatform: Platform {
    /// The shared registers a switch carries ([`X64VtlRegisters`] on x64).
    type Registers: Copy + Default + core::fmt::Debug;

    /// Calls the VTL call sequence at `entry` with the call control (0) and `regs` loaded;
    /// returns when a higher VTL returns to this one, with `regs` holding the shared
    /// registers as the VP came back with them (TLFS 15.6.1).
    ///
    /// # Safety
    ///
    /// `entry` must be the VTL call sequence of this VTL's enabled hypercall page; a higher
    /// VTL must be enabled on this VP and the caller must run in the most privileged
    /// processor mode, not real mode (otherwise #UD, TLFS 15.6.1.1). The higher VTL must
    /// leave this VTL's memory as Rust expects it and the shared state the switch does not
    /// declare changed (x87 control word, MXCSR control bits, XCR0) as it found it.
    unsafe fn vtl_call(&self, entry: VtlCodeEntry, regs: &mut Self::Registers);

    /// Calls the VTL return sequence at `entry` with `control` and `regs` loaded; returns
    /// when the VP next enters this VTL, with `regs` holding the shared registers as they
    /// were at that entry (TLFS 15.7.1).
    ///
    /// # Safety
    ///
    /// `entry` must be the VTL return sequence of this VTL's enabled hypercall page; this VTL
    /// must be above VTL 0, run in the most privileged processor mode, and `control` must
    /// have no reserved bit set (otherwise #UD, TLFS 15.7.2). The lower VTL runs until it
    /// enters this VTL again; meanwhile it must not change this VTL's memory or the shared
    /// state named in [`VtlPlatform::vtl_call`] behind Rust's back (VTL protections are how
    /// a higher VTL enforces that, TLFS 15.9).
    unsafe fn vtl_return(
        &self,
        entry: VtlCodeEntry,
        control: HvVtlReturnControl,
        regs: &mut Self::Registers,
    );
}

impl<P: VtlPlatform + ?Sized> VtlPlatform for &P {
    type Registers = P::Registers;

    unsafe fn vtl_call(&self, entry: VtlCodeEntry, regs: &mut Self::Registers) {
        // SAFETY: forwarded; the caller upholds `VtlPlatform::vtl_call`'s contract.
        unsafe { (**self).vtl_call(entry, regs) }
    }

    unsafe fn vtl_return(
        &self,
        entry: VtlCodeEntry,
        control: HvVtlReturnControl,
        regs: &mut Self::Registers,
    ) {
        // SAFETY: forwarded; the caller upholds `VtlPlatform::vtl_return`'s contract.
        unsafe { (**self).vtl_return(entry, control, regs) }
    }
}

/// The VTL call of one VP: switches to the next higher VTL enabled on it (TLFS 15.6.1,
/// 15.15.5).
///
/// Made by [`super::Vsm::vtl_call_gate`] after it checked, on the calling VP, that a higher
/// VTL is enabled, and read the call sequence's offset. It borrows the hypercall page, so
/// the page stays enabled while the gate exists. It is not `Send`: the check holds for the
/// VP it was made on (TLFS 15.4 recommends enabling a VTL on every VP; on a VP without a
/// higher VTL the call raises #UD).
#[derive(Debug)]
pub struct VtlCallGate<'a, P: VtlPlatform> {
    platform: &'a P,
    entry: VtlCodeEntry,
    _per_vp: PhantomData<*const ()>,
}

impl<'a, P: VtlPlatform> VtlCallGate<'a, P> {
    /// # Safety
    ///
    /// `entry` is the VTL call sequence of a hypercall page enabled for `'a`, and a higher
    /// VTL is enabled on the calling VP.
    pub(crate) const unsafe fn new(platform: &'a P, entry: VtlCodeEntry) -> Self {
        Self {
            platform,
            entry,
            _per_vp: PhantomData,
        }
    }

    /// Where the call sequence is.
    #[must_use]
    pub const fn entry(&self) -> VtlCodeEntry {
        self.entry
    }

    /// Makes a VTL call with `regs` loaded (TLFS 15.6.1); returns when the higher VTL returns,
    /// with the shared registers it returned with in `regs`.
    ///
    /// The higher VTL is more privileged than the caller: it is trusted as the hypervisor is,
    /// to keep the contract of [`VtlPlatform::vtl_call`].
    pub fn call(&self, regs: &mut P::Registers) {
        // SAFETY: the entry is the call sequence of a page enabled for `'a`, a higher VTL is
        // enabled on this VP (`new`'s contract; the gate cannot leave the VP), and this crate
        // runs in the kernel. The higher VTL's conduct is the trust stated above.
        unsafe { self.platform.vtl_call(self.entry, regs) }
    }
}

/// The VTL return of one VP: switches to the next lower VTL (TLFS 15.7.1, 15.15.6).
///
/// Made by [`super::Vsm::vtl_return_gate`] after it checked that the calling VP runs above
/// VTL 0. Not `Send`, like [`VtlCallGate`].
#[derive(Debug)]
pub struct VtlReturnGate<'a, P: VtlPlatform> {
    platform: &'a P,
    entry: VtlCodeEntry,
    _per_vp: PhantomData<*const ()>,
}

impl<'a, P: VtlPlatform> VtlReturnGate<'a, P> {
    /// # Safety
    ///
    /// `entry` is the VTL return sequence of a hypercall page enabled for `'a`, and the
    /// calling VP runs above VTL 0.
    pub(crate) const unsafe fn new(platform: &'a P, entry: VtlCodeEntry) -> Self {
        Self {
            platform,
            entry,
            _per_vp: PhantomData,
        }
    }

    /// Where the return sequence is.
    #[must_use]
    pub const fn entry(&self) -> VtlCodeEntry {
        self.entry
    }

    /// A fast return (TLFS 15.7.1.1): the lower VTL's RAX and RCX are not reloaded from the
    /// VTL control area, so it resumes with the shared registers as `regs` sets them, except
    /// RAX and RCX, which hold what the return sequence left in them. Returns at the next
    /// entry to this VTL with the shared registers of that entry in `regs`; read why with
    /// [`VtlControl::entry_reason`].
    pub fn fast_return(&self, regs: &mut P::Registers) {
        self.switch(HvVtlReturnControl::new().with_fast_return(true), regs);
    }

    /// A normal return (TLFS 15.7.1): writes `rax` and `rcx` to this VTL's control area
    /// (`control`, which must be the VP assist page of this VP), and the hypervisor loads
    /// them into the lower VTL's RAX and RCX as it switches. Returns like
    /// [`VtlReturnGate::fast_return`].
    pub fn normal_return(
        &self,
        control: &VtlControl<'_>,
        rax: u64,
        rcx: u64,
        regs: &mut P::Registers,
    ) {
        control.set_return_registers(rax, rcx);
        self.switch(HvVtlReturnControl::new(), regs);
    }

    fn switch(&self, control: HvVtlReturnControl, regs: &mut P::Registers) {
        // SAFETY: the entry is the return sequence of a page enabled for `'a`, the VP runs
        // above VTL 0 (`new`'s contract; the gate cannot leave the VP), and `control` is built
        // from the fast-return bit only, so no reserved bit is set. The lower VTL's conduct
        // is up to this VTL's protections (TLFS 15.9).
        unsafe { self.platform.vtl_return(self.entry, control, regs) }
    }
}

/// An enabled VP assist page (TLFS 7.8.7): the overlay through which the hypervisor tells a
/// VTL above 0 why it was entered and takes the registers of a normal VTL return
/// (TLFS 15.8.1).
///
/// The register (MSR 0x4000_0073 on x64) is private to each VTL (TLFS 15.11.1.1), so each
/// VTL enables its own page. The page belongs to the VP it was enabled on; the type is not
/// `Send`.
#[derive(Debug)]
pub struct VpAssistPage {
    page: NonNull<HvPage>,
    gpa: HvGpa,
}

impl VpAssistPage {
    /// Enables the VP assist page at `page` (TLFS 7.8.7.1), preserving the register's RsvdP
    /// bits, and checks the read-back.
    ///
    /// # Errors
    ///
    /// With the page handed back: [`VsmError::Unavailable`] without the
    /// `AccessIntrCtrlRegs` privilege (TLFS appendix C; nothing is touched),
    /// [`VsmError::NotAccepted`] when the register did not read back enabled at the page,
    /// [`VsmError::Call`] when the platform cannot reach the register.
    pub fn enable<P: Platform>(
        platform: &P,
        privileges: HvPartitionPrivilegeMask,
        page: PhysPage<'static>,
    ) -> Result<Self, (PhysPage<'static>, VsmError)> {
        if !privileges.access_intr_ctrl_regs() {
            return Err((page, VsmError::Unavailable(Privilege::AccessIntrCtrlRegs)));
        }
        let gpn = page.gpn();
        // SAFETY: the register exists with AccessIntrCtrlRegs, checked above; reading has no
        // side effect.
        let current = match unsafe { platform.read_register(ASSIST) } {
            Ok(value) => HvVpAssistPageMsr::from_bits(value),
            Err(error) => return Err((page, error.into())),
        };
        let value = HvVpAssistPageMsr::new()
            .with_enable(true)
            .with_gpa_page_number(gpn)
            .preserving_reserved(current);
        // SAFETY: the register exists (above); the value keeps the RsvdP bits as read. The
        // overlay covers `page`, which is `'static` and owned by the returned value until
        // `disable`; Rust only reaches it through raw pointers meanwhile.
        if let Err(error) = unsafe { platform.write_register(ASSIST, value.into_bits()) } {
            return Err((page, error.into()));
        }
        // SAFETY: as for the first read.
        let readback = match unsafe { platform.read_register(ASSIST) } {
            Ok(value) => HvVpAssistPageMsr::from_bits(value),
            Err(error) => return Err((page, error.into())),
        };
        if !readback.enable() || readback.gpa_page_number() != gpn {
            let error = VsmError::NotAccepted {
                readback: readback.into_bits(),
            };
            return Err((page, error));
        }
        let gpa = page.gpa();
        let page = NonNull::from(page.into_inner());
        // The hypervisor writes the page through its GPA, which Rust cannot see.
        let _ = page.as_ptr().expose_provenance();
        Ok(Self { page, gpa })
    }

    /// The guest physical address of the page.
    #[must_use]
    pub const fn gpa(&self) -> HvGpa {
        self.gpa
    }

    /// The page, for the other users of its fields ([`crate::assist`]'s EOI assist). The
    /// hypervisor writes it at any time: reach it only with volatile or atomic accesses.
    pub(crate) const fn page(&self) -> NonNull<HvPage> {
        self.page
    }

    /// The VTL control area of this VTL (TLFS 15.8.2), at offset 8 of the page.
    #[must_use]
    pub fn vtl_control(&self) -> VtlControl<'_> {
        VtlControl {
            area: self
                .page
                .as_ptr()
                .cast::<u8>()
                .wrapping_add(offset_of!(HvVpAssistPage, vtl_control))
                .cast::<HvVpVtlControl>(),
            _page: PhantomData,
        }
    }

    /// Disables the overlay (clears the enable bit, keeps the rest) and gives the page back
    /// (TLFS 7.8.7.1).
    ///
    /// # Errors
    ///
    /// The platform's error when it cannot reach the register; the assist page stays
    /// enabled and comes back with it.
    pub fn disable<P: Platform>(self, platform: &P) -> Result<PhysPage<'static>, (Self, VsmError)> {
        // SAFETY: the register exists: the page was enabled through it.
        let current = match unsafe { platform.read_register(ASSIST) } {
            Ok(value) => HvVpAssistPageMsr::from_bits(value),
            Err(error) => return Err((self, error.into())),
        };
        let value = current.with_enable(false).into_bits();
        // SAFETY: clearing enable (and nothing else) removes the overlay; the hypervisor no
        // longer writes the page afterwards.
        if let Err(error) = unsafe { platform.write_register(ASSIST, value) } {
            return Err((self, error.into()));
        }
        // SAFETY: `page` came from a `&'static mut HvPage` in `enable` and no reference to
        // it was made since; the overlay is gone, so it is ordinary memory owned here again.
        let page = unsafe { &mut *self.page.as_ptr() };
        // SAFETY: `gpa` is the page's address: the two came from one `PhysPage`.
        Ok(unsafe { PhysPage::new(page, self.gpa) })
    }
}

/// The register that places the VP assist page (TLFS 7.8.7.1).
const ASSIST: HvRegisterName = HvRegisterName::HvRegisterVpAssistPage;

/// The VTL control area of an enabled VP assist page, 24 bytes at offset 8 (TLFS 15.8.2
/// `HV_VP_VTL_CONTROL`).
///
/// The hypervisor writes it while the guest runs, so every access is volatile and no
/// reference to it is ever made.
#[derive(Debug)]
pub struct VtlControl<'a> {
    area: *mut HvVpVtlControl,
    _page: PhantomData<&'a VpAssistPage>,
}

impl VtlControl<'_> {
    /// Why this VTL was last entered (TLFS 15.6.1.2): a VTL call, an interrupt or (with an
    /// intercept page, post-TLFS 6.0) an intercept. Values the crate does not name come back
    /// as they are ([`HvVtlEntryReason::name`] is `None`).
    #[must_use]
    pub fn entry_reason(&self) -> HvVtlEntryReason {
        let field = self.field::<HvVtlEntryReason>(offset_of!(HvVpVtlControl, entry_reason));
        // SAFETY: see `field`; any u32 is a valid entry reason.
        unsafe { field.read_volatile() }
    }

    /// Whether the VINA interrupt line is asserted (TLFS 15.8.2, 15.12.4).
    #[must_use]
    pub fn vina_asserted(&self) -> bool {
        let field = self.field::<HvVinaStatus>(offset_of!(HvVpVtlControl, vina_status));
        // SAFETY: see `field`; any byte is a valid status.
        unsafe { field.read_volatile() }.vina_asserted()
    }

    /// Clears the VINA asserted flag so the next notification is delivered (TLFS 15.12.4);
    /// the reserved bits are written as zero.
    pub fn clear_vina_asserted(&self) {
        let field = self.field::<HvVinaStatus>(offset_of!(HvVpVtlControl, vina_status));
        // SAFETY: see `field`; the guest clears this flag (TLFS 15.12.4).
        unsafe { field.write_volatile(HvVinaStatus::new()) }
    }

    /// The RAX and RCX a normal VTL return loads into the lower VTL (TLFS 15.8.2).
    #[must_use]
    pub fn return_registers(&self) -> (u64, u64) {
        let rax = self.field::<u64>(offset_of!(HvVpVtlControl, vtl_return_x64_rax));
        let rcx = self.field::<u64>(offset_of!(HvVpVtlControl, vtl_return_x64_rcx));
        // SAFETY: see `field`; any u64 is valid.
        let rax = unsafe { rax.read_volatile() };
        // SAFETY: as above.
        let rcx = unsafe { rcx.read_volatile() };
        (rax, rcx)
    }

    /// Sets the RAX and RCX a normal VTL return loads into the lower VTL (TLFS 15.8.2).
    pub fn set_return_registers(&self, rax: u64, rcx: u64) {
        let rax_field = self.field::<u64>(offset_of!(HvVpVtlControl, vtl_return_x64_rax));
        let rcx_field = self.field::<u64>(offset_of!(HvVpVtlControl, vtl_return_x64_rcx));
        // SAFETY: see `field`; the guest owns these fields (TLFS 15.8.2).
        unsafe { rax_field.write_volatile(rax) };
        // SAFETY: as above.
        unsafe { rcx_field.write_volatile(rcx) };
    }

    /// A pointer to the field at `offset` of the area. It is valid for volatile reads and
    /// writes of a `T` while `'_` lasts: the area lies inside the enabled assist page, which
    /// the borrowed [`VpAssistPage`] owns and reaches only through raw pointers, and every
    /// offset used is a field offset of [`HvVpVtlControl`] with the field's type, naturally
    /// aligned in a page-aligned page.
    fn field<T>(&self, offset: usize) -> *mut T {
        self.area.cast::<u8>().wrapping_add(offset).cast::<T>()
    }
}
