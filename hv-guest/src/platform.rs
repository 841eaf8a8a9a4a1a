//! The seam between the architecture layer and everything above it.
//!
//! Every wrapper in this crate reaches the hardware only through [`Platform`]. The real
//! implementation, [`crate::arch::x86_64::X64`], executes CPUID, RDMSR/WRMSR and calls into
//! the hypercall page; the scripted fake in the `testing` module (feature `testing`) records the exact traffic so
//! the wrappers are unit-tested on the host.

use core::ptr::NonNull;

/// The four registers CPUID returns.
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

/// Where to call to make a hypercall: the start of an enabled hypercall page
/// (TLFS 3.13: "invoking a hypercall simply involves a call to the start of the page").
///
/// Only [`crate::hyperv::HypercallPage`] creates one, after the hypervisor has accepted the
/// page, so holding an entry means the page is mapped, executable and filled in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HypercallEntry(NonNull<u8>);

impl HypercallEntry {
    /// # Safety
    ///
    /// `va` must be the virtual address of an enabled hypercall page, mapped executable, that
    /// stays enabled and mapped while the entry is used.
    pub(crate) const unsafe fn new(va: NonNull<u8>) -> Self {
        Self(va)
    }

    /// The virtual address of the hypercall page.
    #[must_use]
    pub const fn as_ptr(self) -> *const u8 {
        self.0.as_ptr()
    }
}

/// The register image of an XMM fast hypercall (TLFS 3.7.2, 3.8.1): RDX, R8 and XMM0–XMM5,
/// 112 bytes in the order the TLFS maps the input (and output) block onto them.
#[repr(C, align(16))]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct XmmBlock {
    /// RDX, R8, then XMM0–XMM5 as pairs of little-endian quadwords.
    pub qwords: [u64; 14],
}

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

/// The operations the layers above need from an x86_64 processor under Hyper-V.
///
/// CPUID is unprivileged and side-effect free, so it is safe. MSR accesses and hypercalls
/// are `unsafe`: on a partition that lacks the MSR or privilege they fault, and writes change
/// hypervisor state that can make it write guest memory. The wrappers in this crate only call
/// them after checking the privileges and features the TLFS says gate them.
pub trait Platform {
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

    /// Makes a memory-based or register-based hypercall: RCX = `control`, RDX = `rdx`
    /// (input GPA or fast input qword 0), R8 = `r8` (output GPA or fast input qword 1);
    /// returns RAX, the hypercall result value (TLFS 3.7, 3.8).
    ///
    /// # Safety
    ///
    /// `entry` must still be enabled. For a memory-based call, `rdx` and `r8` must be the
    /// GPAs of memory the caller owns and that holds the input and may receive the output
    /// (or be ignored by the call).
    unsafe fn hypercall(&self, entry: HypercallEntry, control: u64, rdx: u64, r8: u64) -> u64;

    /// Makes an XMM fast hypercall: RCX = `control`, RDX, R8 and XMM0–XMM5 loaded from
    /// `block`; afterwards `block` holds those registers as the hypervisor left them (fast
    /// output, TLFS 3.8.1). Returns RAX.
    ///
    /// # Safety
    ///
    /// `entry` must still be enabled and the partition must offer XMM fast input (CPUID
    /// 0x40000003 EDX bit 4), or the hypervisor raises #UD (TLFS 3.7.2.1).
    unsafe fn hypercall_xmm(
        &self,
        entry: HypercallEntry,
        control: u64,
        block: &mut XmmBlock,
    ) -> u64;
}

impl<P: Platform + ?Sized> Platform for &P {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult {
        (**self).cpuid(leaf, subleaf)
    }

    unsafe fn read_msr(&self, msr: u32) -> u64 {
        // SAFETY: forwarded; the caller upholds `Platform::read_msr`'s contract.
        unsafe { (**self).read_msr(msr) }
    }

    unsafe fn write_msr(&self, msr: u32, value: u64) {
        // SAFETY: forwarded; the caller upholds `Platform::write_msr`'s contract.
        unsafe { (**self).write_msr(msr, value) }
    }

    unsafe fn hypercall(&self, entry: HypercallEntry, control: u64, rdx: u64, r8: u64) -> u64 {
        // SAFETY: forwarded; the caller upholds `Platform::hypercall`'s contract.
        unsafe { (**self).hypercall(entry, control, rdx, r8) }
    }

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
