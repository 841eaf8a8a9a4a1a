//! Counting the hypercalls a request takes.
//!
//! [`HypercallCounter`] wraps any platform and counts every hypercall made through it
//! (memory, register fast and XMM fast forms alike, each re-issue of a rep call that the
//! hypervisor returned early included), forwarding everything unchanged. It is how a kernel
//! or a benchmark checks that a request took the number of hypercalls the TLFS makes
//! necessary — for example that flushing 10,000 pages on two VPs takes one call (see
//! `crate::tlb`).
//!
//! Wrap the platform once at bring-up; every handle made from it then counts:
//!
//! ```no_run
//! # #[cfg(target_arch = "x86_64")] {
//! use hv_guest::arch::x86_64::X64;
//! use hv_guest::counter::HypercallCounter;
//! use hv_guest::hyperv::Hyperv;
//!
//! let hv = Hyperv::detect(HypercallCounter::new(X64)).expect("Hyper-V");
//! // ... set the guest OS identity, enable the hypercall page, make calls ...
//! let calls = hv.platform().count();
//! # let _ = calls;
//! # }
//! ```
//!
//! The count is an [`AtomicU64`] updated with relaxed ordering: it is exact for the calls of
//! one VP; when several VPs share the counter it is their total.

use core::sync::atomic::{AtomicU64, Ordering};

use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use hv_defs::vsm::HvVtlReturnControl;

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use crate::platform::{CpuidResult, X64Platform, XmmBlock};
use crate::platform::{HypercallEntry, Platform};
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use crate::vsm::{VtlCodeEntry, VtlPlatform};

/// A platform that counts the hypercalls made through it.
#[derive(Debug, Default)]
pub struct HypercallCounter<P> {
    inner: P,
    count: AtomicU64,
}

impl<P> HypercallCounter<P> {
    /// Wraps `inner` with a count of zero.
    pub const fn new(inner: P) -> Self {
        Self {
            inner,
            count: AtomicU64::new(0),
        }
    }

    /// Hypercalls made so far.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sets the count back to zero and returns what it was.
    pub fn reset(&self) -> u64 {
        self.count.swap(0, Ordering::Relaxed)
    }

    /// The wrapped platform.
    #[must_use]
    pub const fn inner(&self) -> &P {
        &self.inner
    }

    fn tick(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

impl<P: Platform> Platform for HypercallCounter<P> {
    unsafe fn hypercall(
        &self,
        entry: HypercallEntry,
        control: u64,
        input: u64,
        output: u64,
    ) -> u64 {
        self.tick();
        // SAFETY: forwarded; the caller upholds `Platform::hypercall`'s contract.
        unsafe { self.inner.hypercall(entry, control, input, output) }
    }

    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    unsafe fn hypercall_xmm(
        &self,
        entry: HypercallEntry,
        control: u64,
        block: &mut XmmBlock,
    ) -> u64 {
        self.tick();
        // SAFETY: forwarded; the caller upholds `Platform::hypercall_xmm`'s contract.
        unsafe { self.inner.hypercall_xmm(entry, control, block) }
    }

    unsafe fn read_register(&self, name: HvRegisterName) -> Result<u64, HvError> {
        // SAFETY: forwarded; the caller upholds `Platform::read_register`'s contract.
        unsafe { self.inner.read_register(name) }
    }

    unsafe fn write_register(&self, name: HvRegisterName, value: u64) -> Result<(), HvError> {
        // SAFETY: forwarded; the caller upholds `Platform::write_register`'s contract.
        unsafe { self.inner.write_register(name, value) }
    }
}

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
impl<P: X64Platform> X64Platform for HypercallCounter<P> {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult {
        self.inner.cpuid(leaf, subleaf)
    }

    unsafe fn read_msr(&self, msr: u32) -> u64 {
        // SAFETY: forwarded; the caller upholds `X64Platform::read_msr`'s contract.
        unsafe { self.inner.read_msr(msr) }
    }

    unsafe fn write_msr(&self, msr: u32, value: u64) {
        // SAFETY: forwarded; the caller upholds `X64Platform::write_msr`'s contract.
        unsafe { self.inner.write_msr(msr, value) }
    }
}

/// VTL calls and returns are hypercalls (`HvCallVtlCall`, `HvCallVtlReturn`; TLFS 15.15.5,
/// 15.15.6): each is counted and forwarded.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
impl<P: VtlPlatform> VtlPlatform for HypercallCounter<P> {
    type Registers = P::Registers;

    unsafe fn vtl_call(&self, entry: VtlCodeEntry, regs: &mut Self::Registers) {
        self.tick();
        // SAFETY: forwarded; the caller upholds `VtlPlatform::vtl_call`'s contract.
        unsafe { self.inner.vtl_call(entry, regs) }
    }

    unsafe fn vtl_return(
        &self,
        entry: VtlCodeEntry,
        control: HvVtlReturnControl,
        regs: &mut Self::Registers,
    ) {
        self.tick();
        // SAFETY: forwarded; the caller upholds `VtlPlatform::vtl_return`'s contract.
        unsafe { self.inner.vtl_return(entry, control, regs) }
    }
}

#[cfg(test)]
mod tests {
    use hv_defs::hypercall::{HvCallCode, HvHypercallOutput};
    use hv_defs::msr::HV_X64_MSR_VP_INDEX;

    use super::*;
    use crate::hypercall::Hypercalls;
    use crate::testing::{Event, FakePlatform, MsrAccess};

    #[test]
    fn every_hypercall_is_counted_and_forwarded_and_nothing_else_is() {
        let counter = HypercallCounter::new(FakePlatform::new());
        let fake = counter.inner();
        fake.define_msr(HV_X64_MSR_VP_INDEX, 3, MsrAccess::ReadOnly);
        fake.on_hypercall(|_, _| HvHypercallOutput::new().into_bits());
        // SAFETY: the fake never executes the entry and accepts XMM calls.
        let hc = unsafe { Hypercalls::new(&counter, FakePlatform::entry(), true, false) };
        hc.notify_long_spin_wait(1).unwrap();
        hc.xmm(HvCallCode::HvCallFlushVirtualAddressSpace, &[0; 24], 0)
            .unwrap();
        // SAFETY: the fake defines the VP index MSR.
        let vp = unsafe { counter.read_register(HvRegisterName::HvRegisterVpIndex) };
        assert_eq!(vp, Ok(3));
        assert_eq!(counter.cpuid(0x4000_0000, 0), CpuidResult::default());
        assert_eq!(counter.count(), 2);
        assert_eq!(fake.log().len(), 4);
        assert!(matches!(fake.log()[1], Event::HypercallXmm(0x0001_0002, _)));
        assert_eq!(counter.reset(), 2);
        assert_eq!(counter.count(), 0);
    }

    #[test]
    fn vtl_calls_and_returns_are_counted_and_forwarded() {
        use crate::vsm::X64VtlRegisters;

        let counter = HypercallCounter::new(FakePlatform::new());
        // The other VTL answers every switch with RSI = RDI + 1.
        counter
            .inner()
            .on_vtl_switch(|_, ctx| ctx.regs.rsi = ctx.regs.rdi + 1);
        let entry = VtlCodeEntry::new(FakePlatform::entry(), 0x10);
        let mut regs = X64VtlRegisters {
            rdi: 7,
            ..X64VtlRegisters::default()
        };
        // SAFETY: the fake never executes the entry; its handler plays the other VTL.
        unsafe { counter.vtl_call(entry, &mut regs) };
        assert_eq!(regs.rsi, 8);
        let control = HvVtlReturnControl::new().with_fast_return(true);
        // SAFETY: as above.
        unsafe {
            counter.vtl_return(
                VtlCodeEntry::new(FakePlatform::entry(), 0x20),
                control,
                &mut regs,
            )
        };
        assert_eq!(counter.count(), 2);
        let log = counter.inner().log();
        assert!(matches!(
            log[0],
            Event::VtlCall(0x10, X64VtlRegisters { rdi: 7, .. })
        ));
        assert!(matches!(log[1], Event::VtlReturn(0x20, 1, _)));
    }
}
