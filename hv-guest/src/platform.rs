//! The seam between the architecture layer and everything above it.
//!
//! Every wrapper in this crate reaches the hardware only through two traits:
//!
//! * [`Platform`], what every architecture offers: hypercalls and the synthetic registers,
//!   named by their TLFS register names. Enlightenments (SynIC, timers, reference time, crash
//!   reporting, VMBus, VSM) are written against it only, so they run unchanged on x86_64
//!   (registers are MSRs) and arm64 (registers are VP registers reached by hypercall).
//! * `X64Platform`, what x86_64 adds: CPUID, raw MSRs and XMM fast hypercalls, used by
//!   discovery, the guest identity and the hypercall page.
//! * `crate::arm64::Arm64Platform`, what arm64 adds: the raw `HVC` instruction, used by
//!   SMCCC discovery and the register-block fast calls.
//!
//! What exists on one architecture only is compiled on that architecture only: on
//! `aarch64` there is no `X64Platform`, no XMM fast call (`XmmBlock`), no hypercall page
//! and no CPUID discovery; on `x86_64` there is no `arm64` module. Host test builds (`cfg(test)`
//! or feature `testing`) compile both, so both are unit-tested against their fakes.
//!
//! The real implementations, `crate::arch::x86_64::X64` and `crate::arch::aarch64::Arm64`,
//! execute the instructions; the scripted fakes in the `testing` module (feature `testing`)
//! record the exact traffic so the wrappers are unit-tested on the host.

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use core::ptr::NonNull;

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use hv_defs::msr::x64_msr_for_register;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;

/// The four registers CPUID returns.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CpuidResult {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
impl CpuidResult {
    /// The registers in `[eax, ebx, ecx, edx]` order, the order `hv-defs` leaves decode from.
    #[must_use]
    pub const fn to_array(self) -> [u32; 4] {
        [self.eax, self.ebx, self.ecx, self.edx]
    }

    /// Builds a result from `[eax, ebx, ecx, edx]`.
    #[must_use]
    pub const fn from_array(regs: [u32; 4]) -> Self {
        Self {
            eax: regs[0],
            ebx: regs[1],
            ecx: regs[2],
            edx: regs[3],
        }
    }
}

/// Proof that hypercalls may be made, and on x64 where to call.
///
/// * x64: the start of an enabled hypercall page (TLFS 3.13: "invoking a hypercall simply
///   involves a call to the start of the page"). Only `crate::hyperv::HypercallPage` creates
///   one, after the hypervisor has accepted the page, so holding an entry means the page is
///   mapped, executable and filled in.
/// * arm64: `HVC` needs no entry point; the entry carries no address and only
///   `crate::arm64::GuestOs` creates one, once the guest OS identity is set (TLFS 2.6:
///   hypercalls other than setting the identity need it).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HypercallEntry {
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    page: NonNull<u8>,
}

// SAFETY: the entry is the address of code in the hypercall page, which belongs to the
// whole partition (TLFS 3.13, appendix C: `HV_X64_MSR_HYPERCALL` is a partition-wide MSR)
// and which every VP may call; it is never dereferenced as data. Moving it to another
// processor only lets that processor call the page too; each call is still `unsafe`
// (`Platform::hypercall`).
unsafe impl Send for HypercallEntry {}
// SAFETY: as for `Send`; the entry is immutable.
unsafe impl Sync for HypercallEntry {}

impl HypercallEntry {
    /// # Safety
    ///
    /// `va` must be the virtual address of an enabled hypercall page, mapped executable, that
    /// stays enabled and mapped while the entry is used.
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    pub(crate) const unsafe fn new(va: NonNull<u8>) -> Self {
        Self { page: va }
    }

    /// The arm64 entry: no address, `HVC` reaches the hypervisor.
    ///
    /// # Safety
    ///
    /// The guest OS identity must be set, and stay set while the entry is used.
    #[cfg(any(target_arch = "aarch64", test, feature = "testing"))]
    pub(crate) const unsafe fn hvc() -> Self {
        Self {
            #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
            page: NonNull::dangling(),
        }
    }

    /// The virtual address of the hypercall page.
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    #[must_use]
    pub const fn as_ptr(self) -> *const u8 {
        self.page.as_ptr()
    }
}

/// The register image of an XMM fast hypercall (TLFS 3.7.2, 3.8.1): RDX, R8 and XMM0–XMM5,
/// 112 bytes in the order the TLFS maps the input (and output) block onto them. x64 only.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
#[repr(C, align(16))]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct XmmBlock {
    /// RDX, R8, then XMM0–XMM5 as pairs of little-endian quadwords.
    pub qwords: [u64; 14],
}

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
impl XmmBlock {
    /// The block as bytes: RDX bytes 0..8, R8 bytes 8..16, XMM0 bytes 16..32, and so on.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 112] {
        zerocopy::transmute_ref!(&self.qwords)
    }

    /// The block as mutable bytes.
    #[must_use]
    pub fn as_bytes_mut(&mut self) -> &mut [u8; 112] {
        zerocopy::transmute_mut!(&mut self.qwords)
    }
}

/// What every architecture offers the layers above: hypercalls and synthetic registers.
pub trait Platform {
    /// Makes a memory-based or register-based hypercall: control word, then the two inputs
    /// (input/output GPAs, or 16 bytes of fast input; x64 RDX and R8, arm64 the first two
    /// registers of the fast block, see `crate::arm64`); returns the hypercall result value
    /// (TLFS 3.7, 3.8).
    ///
    /// # Safety
    ///
    /// `entry` must still be enabled. For a memory-based call, the two inputs must be the
    /// GPAs of memory the caller owns that holds the input and may receive the output (or be
    /// ignored by the call).
    unsafe fn hypercall(&self, entry: HypercallEntry, control: u64, input: u64, output: u64)
    -> u64;

    /// Makes an XMM fast hypercall: the control word plus 112 bytes of registers (x64 RDX,
    /// R8, XMM0–XMM5); afterwards `block` holds those registers as the hypervisor left them
    /// (fast output, TLFS 3.7.2, 3.8.1). Returns the result value. x64 only: arm64 has no XMM
    /// fast convention.
    ///
    /// # Safety
    ///
    /// `entry` must still be enabled and the partition must offer XMM fast input (CPUID
    /// 0x40000003 EDX bit 4), or the hypervisor raises #UD (TLFS 3.7.2.1).
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    unsafe fn hypercall_xmm(
        &self,
        entry: HypercallEntry,
        control: u64,
        block: &mut XmmBlock,
    ) -> u64;

    /// Reads a synthetic register by its TLFS name (an MSR on x64, TLFS appendix C; a VP
    /// register reached with a fast `HvCallGetVpRegisters` on arm64).
    ///
    /// # Errors
    ///
    /// `HV_STATUS_INVALID_PARAMETER` for a register this architecture cannot reach this way.
    ///
    /// # Safety
    ///
    /// The register must exist in this partition (the caller checked the privilege or
    /// feature that gates it); on x64 an absent MSR raises #GP.
    unsafe fn read_register(&self, name: HvRegisterName) -> Result<u64, HvError>;

    /// Writes a synthetic register by its TLFS name.
    ///
    /// # Errors
    ///
    /// `HV_STATUS_INVALID_PARAMETER` for a register this architecture cannot reach this way.
    ///
    /// # Safety
    ///
    /// As [`Platform::read_register`], plus: `value` must not set bits the TLFS reserves as
    /// zero, and memory the write makes the hypervisor overlay or write (SynIC pages,
    /// reference TSC page, VP assist page, crash message page) must be owned by the caller for
    /// as long as the hypervisor uses it.
    unsafe fn write_register(&self, name: HvRegisterName, value: u64) -> Result<(), HvError>;
}

/// What x86_64 adds to [`Platform`]: CPUID and raw MSR access.
///
/// CPUID is unprivileged and side-effect free, so it is safe. MSR accesses are `unsafe`: on
/// a partition that lacks the MSR they fault, and writes change hypervisor state that can
/// make it write guest memory. The wrappers in this crate only call them after checking the
/// privileges and features the TLFS says gate them.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub trait X64Platform: Platform {
    /// Executes CPUID with `leaf` in EAX and `subleaf` in ECX.
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult;

    /// Reads a model-specific register.
    ///
    /// # Safety
    ///
    /// The MSR must exist and be readable in this partition (otherwise the processor raises
    /// #GP), and the caller must run at CPL 0.
    unsafe fn read_msr(&self, msr: u32) -> u64;

    /// Writes a model-specific register.
    ///
    /// # Safety
    ///
    /// The MSR must exist and be writable in this partition, `value` must not set bits the
    /// TLFS reserves as zero, and any memory the write makes the hypervisor overlay or write
    /// (hypercall page, SynIC pages, reference TSC page, VP assist page) must be owned by the
    /// caller for as long as the overlay is enabled.
    unsafe fn write_msr(&self, msr: u32, value: u64);
}

/// [`Platform::read_register`] for x64: the register's MSR (TLFS appendix C).
///
/// # Errors
///
/// `HV_STATUS_INVALID_PARAMETER` for a register without an MSR.
///
/// # Safety
///
/// As [`X64Platform::read_msr`] for the register's MSR.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub unsafe fn x64_read_register<P: X64Platform + ?Sized>(
    platform: &P,
    name: HvRegisterName,
) -> Result<u64, HvError> {
    let msr = x64_msr_for_register(name).ok_or(HvError::INVALID_PARAMETER)?;
    // SAFETY: the caller's contract covers this MSR.
    Ok(unsafe { platform.read_msr(msr) })
}

/// [`Platform::write_register`] for x64: the register's MSR (TLFS appendix C).
///
/// # Errors
///
/// `HV_STATUS_INVALID_PARAMETER` for a register without an MSR.
///
/// # Safety
///
/// As [`X64Platform::write_msr`] for the register's MSR.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub unsafe fn x64_write_register<P: X64Platform + ?Sized>(
    platform: &P,
    name: HvRegisterName,
    value: u64,
) -> Result<(), HvError> {
    let msr = x64_msr_for_register(name).ok_or(HvError::INVALID_PARAMETER)?;
    // SAFETY: the caller's contract covers this MSR and value.
    unsafe { platform.write_msr(msr, value) };
    Ok(())
}

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
impl<P: X64Platform + ?Sized> X64Platform for &P {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult {
        (**self).cpuid(leaf, subleaf)
    }

    unsafe fn read_msr(&self, msr: u32) -> u64 {
        // SAFETY: forwarded; the caller upholds `X64Platform::read_msr`'s contract.
        unsafe { (**self).read_msr(msr) }
    }

    unsafe fn write_msr(&self, msr: u32, value: u64) {
        // SAFETY: forwarded; the caller upholds `X64Platform::write_msr`'s contract.
        unsafe { (**self).write_msr(msr, value) }
    }
}

impl<P: Platform + ?Sized> Platform for &P {
    unsafe fn read_register(&self, name: HvRegisterName) -> Result<u64, HvError> {
        // SAFETY: forwarded; the caller upholds `Platform::read_register`'s contract.
        unsafe { (**self).read_register(name) }
    }

    unsafe fn write_register(&self, name: HvRegisterName, value: u64) -> Result<(), HvError> {
        // SAFETY: forwarded; the caller upholds `Platform::write_register`'s contract.
        unsafe { (**self).write_register(name, value) }
    }

    unsafe fn hypercall(
        &self,
        entry: HypercallEntry,
        control: u64,
        input: u64,
        output: u64,
    ) -> u64 {
        // SAFETY: forwarded; the caller upholds `Platform::hypercall`'s contract.
        unsafe { (**self).hypercall(entry, control, input, output) }
    }

    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    unsafe fn hypercall_xmm(
        &self,
        entry: HypercallEntry,
        control: u64,
        block: &mut XmmBlock,
    ) -> u64 {
        // SAFETY: forwarded; the caller upholds `Platform::hypercall_xmm`'s contract.
        unsafe { (**self).hypercall_xmm(entry, control, block) }
    }
}
