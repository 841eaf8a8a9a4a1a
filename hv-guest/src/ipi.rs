//! Synthetic cluster IPIs (TLFS 10.5.2, 10.5.3).
//!
//! [`SyntheticIpi::send`] sends a fixed interrupt with a vector of 0x10–0xFF to a set of VPs
//! with one hypercall, in the cheapest form:
//!
//! | targets | call | input | convention |
//! | --- | --- | --- | --- |
//! | a set whose members are all below 64 | `HvCallSendSyntheticClusterIpi` | 16 bytes | register fast (RDX = vector and VTL, R8 = mask) |
//! | a set with a member at 64 or above, or every VP | `HvCallSendSyntheticClusterIpiEx` | 24 + 8 × banks | XMM fast when it fits 112 bytes and XMM input is offered, else memory |
//!
//! The hypervisor recommends the call with CPUID 0x4000_0004 EAX bit 10
//! (`UseSyntheticClusterIpi`) and the `Ex` form with bit 11 (TLFS 2.4.5); without them the
//! handle is [`Unavailable`] and the kernel sends IPIs through its local APIC. The vectors
//! are x64 APIC vectors: arm64 kernels send SGIs through the GIC instead, and hypervisors do
//! not recommend this call there.
//!
//! ```no_run
//! # use hv_guest::hypercall::Hypercalls;
//! # use hv_guest::page::IoPages;
//! # use hv_guest::platform::Platform;
//! # use hv_defs::cpuid::HvEnlightenmentInformation;
//! use hv_guest::ipi::SyntheticIpi;
//! use hv_guest::vpset::{VpSet, VpTargets};
//!
//! # fn demo<P: Platform>(hc: Hypercalls<'_, P>, io: &mut IoPages<'_>,
//! #     recommendations: HvEnlightenmentInformation)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! let ipi = SyntheticIpi::new(hc, recommendations)?;
//! let mut banks = [0u64; 1];
//! let mut set = VpSet::new(&mut banks);
//! set.insert(1)?;
//! set.insert(2)?;
//! ipi.send(io, 0xF0, VpTargets::from(&set))?; // one register-fast hypercall
//! # Ok(()) }
//! ```

use hv_defs::cpuid::HvEnlightenmentInformation;
use hv_defs::hypercall::{HV_HYPERCALL_XMM_BLOCK_BYTES, HvCallCode};
use hv_defs::interrupt::{
    HvInterruptVector, HvSendSyntheticClusterIpiExInput, HvSendSyntheticClusterIpiInput,
    hv_is_valid_ipi_vector,
};
use hv_defs::vp::HvInputVtl;
use zerocopy::IntoBytes;

use crate::gate::Unavailable;
use crate::hypercall::{CallError, Hypercalls};
use crate::page::IoPages;
use crate::platform::Platform;
use crate::tlb::{CallForm, simple_form};
use crate::vpset::VpTargets;

/// How an IPI request is (or was) sent.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct IpiPlan {
    /// `HvCallSendSyntheticClusterIpi` or its `Ex` form.
    pub code: HvCallCode,
    /// The calling convention.
    pub form: CallForm,
    /// Banks of the VP set, for the `Ex` form.
    pub banks: usize,
}

/// Why an IPI was not sent.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IpiError {
    /// The request needs the `Ex` form, which is not recommended; nothing was sent.
    Unavailable(Unavailable),
    /// The vector is outside 0x10–0xFF (TLFS 10.5.2); nothing was sent.
    InvalidVector(HvInterruptVector),
    /// The hypervisor failed the call.
    Call(CallError),
}

impl From<Unavailable> for IpiError {
    fn from(missing: Unavailable) -> Self {
        Self::Unavailable(missing)
    }
}

impl core::fmt::Display for IpiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unavailable(missing) => missing.fmt(f),
            Self::InvalidVector(vector) => {
                write!(f, "IPI vector {vector:#x} is outside 0x10-0xff")
            }
            Self::Call(error) => write!(f, "synthetic cluster IPI failed: {error}"),
        }
    }
}

impl core::error::Error for IpiError {}

/// The synthetic cluster IPI handle.
#[derive(Debug)]
pub struct SyntheticIpi<'a, P: Platform> {
    hc: Hypercalls<'a, P>,
    ex: bool,
}

impl<'a, P: Platform> SyntheticIpi<'a, P> {
    /// An IPI handle, when the hypervisor recommends synthetic cluster IPIs
    /// (CPUID 0x4000_0004 EAX bit 10); the `Ex` form is used only when EAX bit 11 recommends
    /// it.
    ///
    /// # Errors
    ///
    /// [`Unavailable::UseSyntheticClusterIpi`].
    pub const fn new(
        hc: Hypercalls<'a, P>,
        recommendations: HvEnlightenmentInformation,
    ) -> Result<Self, Unavailable> {
        if !recommendations.use_synthetic_cluster_ipi() {
            return Err(Unavailable::UseSyntheticClusterIpi);
        }
        Ok(Self {
            hc,
            ex: recommendations.use_ex_processor_masks(),
        })
    }

    /// How [`SyntheticIpi::send`] would send to `targets`; `None` for an empty set. Makes no
    /// hypercall.
    ///
    /// # Errors
    ///
    /// [`IpiError::Unavailable`] when the targets need the `Ex` form and it is not
    /// recommended.
    pub fn plan(&self, targets: VpTargets<'_>) -> Result<Option<IpiPlan>, IpiError> {
        let (code, len) = match targets {
            VpTargets::Set(set) if set.is_empty() => return Ok(None),
            VpTargets::Set(set) if set.low_mask().is_some() => (
                HvCallCode::HvCallSendSyntheticClusterIpi,
                size_of::<HvSendSyntheticClusterIpiInput>(),
            ),
            _ => {
                Unavailable::UseExProcessorMasks.require(self.ex)?;
                let len = size_of::<HvSendSyntheticClusterIpiExInput>() + 8 * targets.banks().len();
                (HvCallCode::HvCallSendSyntheticClusterIpiEx, len)
            }
        };
        Ok(Some(IpiPlan {
            code,
            form: simple_form(code, len, self.hc.xmm_input_available()),
            banks: targets.banks().len(),
        }))
    }

    /// Sends `vector` to `targets` in the caller's VTL (TLFS 10.5.2, 10.5.3). Returns how
    /// it was sent, or `None` for an empty set (nothing to send).
    ///
    /// # Errors
    ///
    /// [`IpiError`]: a bad vector or an `Ex` form that is not recommended (nothing sent),
    /// or the hypervisor's failure.
    pub fn send(
        &self,
        io: &mut IoPages<'_>,
        vector: HvInterruptVector,
        targets: VpTargets<'_>,
    ) -> Result<Option<IpiPlan>, IpiError> {
        self.send_to_vtl(io, vector, HvInputVtl::CURRENT, targets)
    }

    /// [`SyntheticIpi::send`] to the VPs' `vtl` (TLFS 10.5.2 `TargetVtl`).
    ///
    /// # Errors
    ///
    /// As [`SyntheticIpi::send`].
    pub fn send_to_vtl(
        &self,
        io: &mut IoPages<'_>,
        vector: HvInterruptVector,
        vtl: HvInputVtl,
        targets: VpTargets<'_>,
    ) -> Result<Option<IpiPlan>, IpiError> {
        if !hv_is_valid_ipi_vector(vector) {
            return Err(IpiError::InvalidVector(vector));
        }
        let Some(plan) = self.plan(targets)? else {
            return Ok(None);
        };
        let result = match (plan.code, targets) {
            (HvCallCode::HvCallSendSyntheticClusterIpi, VpTargets::Set(set)) => {
                let input = HvSendSyntheticClusterIpiInput {
                    vector,
                    target_vtl: vtl,
                    rsvd: [0; 3],
                    processor_mask: set.low_mask().unwrap_or(0),
                };
                self.hc.fast(plan.code, &input)
            }
            _ => {
                let input = HvSendSyntheticClusterIpiExInput {
                    vector,
                    target_vtl: vtl,
                    rsvd: [0; 3],
                    processor_set: targets.header(),
                };
                let banks = targets.banks().as_bytes();
                if plan.form == CallForm::Xmm {
                    let mut block = [0u8; HV_HYPERCALL_XMM_BLOCK_BYTES];
                    let fixed = input.as_bytes();
                    block[..fixed.len()].copy_from_slice(fixed);
                    block[fixed.len()..fixed.len() + banks.len()].copy_from_slice(banks);
                    let len = fixed.len() + banks.len();
                    self.hc
                        .xmm(plan.code, &block[..len], banks.len())
                        .map(|_| ())
                } else {
                    self.hc
                        .call_with_variable_header(io, plan.code, &input, banks)
                }
            }
        };
        result.map_err(IpiError::Call)?;
        Ok(Some(plan))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use hv_defs::hypercall::HvHypercallOutput;
    use hv_defs::status::{HvError, HvStatus};

    use super::*;
    use crate::testing::{Event, FakePlatform};
    use crate::vpset::VpSet;

    fn recommendations(cluster: bool, ex: bool) -> HvEnlightenmentInformation {
        HvEnlightenmentInformation::new()
            .with_use_synthetic_cluster_ipi(cluster)
            .with_use_ex_processor_masks(ex)
    }

    fn ipi(fake: &FakePlatform, xmm: bool, ex: bool) -> SyntheticIpi<'_, FakePlatform> {
        fake.on_hypercall(|_, _| HvHypercallOutput::new().into_bits());
        // SAFETY: the fake never executes the entry and accepts XMM calls when told to.
        let hc = unsafe { Hypercalls::new(fake, FakePlatform::entry(), xmm, false) };
        SyntheticIpi::new(hc, recommendations(true, ex)).unwrap()
    }

    #[test]
    fn vps_0_and_1_get_the_register_fast_form() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let mut storage = [0u64; 1];
        let mut set = VpSet::new(&mut storage);
        set.insert(0).unwrap();
        set.insert(1).unwrap();
        let plan = ipi(&fake, true, true)
            .send(&mut io, 0xF0, VpTargets::from(&set))
            .unwrap()
            .unwrap();
        assert_eq!(plan.form, CallForm::Fast);
        // Golden: code 0x000B with the fast bit; RDX = vector | VTL << 32; R8 = mask.
        assert_eq!(fake.log(), [Event::Hypercall(0x0001_000B, 0xF0, 0b11)]);
        fake.clear_log();
        let vtl = HvInputVtl::target(1);
        ipi(&fake, false, false)
            .send_to_vtl(&mut io, 0x20, vtl, VpTargets::from(&set))
            .unwrap();
        assert_eq!(
            fake.log(),
            [Event::Hypercall(0x0001_000B, 0x11 << 32 | 0x20, 0b11)]
        );
    }

    #[test]
    fn vp_70_gets_the_ex_form_in_xmm_registers_or_memory() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let mut storage = [0u64; 2];
        let mut set = VpSet::new(&mut storage);
        set.insert(70).unwrap();
        let plan = ipi(&fake, true, true)
            .send(&mut io, 0x30, VpTargets::from(&set))
            .unwrap()
            .unwrap();
        assert_eq!(
            (plan.code, plan.form, plan.banks),
            (
                HvCallCode::HvCallSendSyntheticClusterIpiEx,
                CallForm::Xmm,
                1
            )
        );
        let Event::HypercallXmm(control, block) = fake.log()[0].clone() else {
            panic!("not an XMM call")
        };
        // Code 0x15, fast, one quadword of variable header (bit 17).
        assert_eq!(control, 0x0003_0015);
        // Vector, then format sparse, valid banks {1}, bank 1 = VP 70.
        assert_eq!(block.qwords[..5], [0x30, 0, 0b10, 1 << 6, 0]);

        fake.clear_log();
        ipi(&fake, false, true)
            .send(&mut io, 0x30, VpTargets::from(&set))
            .unwrap();
        let (input, output) = (io.input.gpa(), io.output.gpa());
        assert_eq!(fake.log(), [Event::Hypercall(0x0002_0015, input, output)]);
        assert_eq!(
            &io.input.bytes()[..32],
            [0x30u64, 0, 0b10, 1 << 6].as_bytes()
        );
    }

    #[test]
    fn every_vp_is_the_ex_form_with_format_all() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let plan = ipi(&fake, false, true)
            .send(&mut io, 0xFF, VpTargets::All)
            .unwrap()
            .unwrap();
        assert_eq!((plan.form, plan.banks), (CallForm::Memory, 0));
        let (input, output) = (io.input.gpa(), io.output.gpa());
        assert_eq!(fake.log(), [Event::Hypercall(0x0015, input, output)]);
        assert_eq!(&io.input.bytes()[..24], [0xFFu64, 1, 0].as_bytes());
    }

    #[test]
    fn refusals_send_nothing() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let mut storage = [0u64; 2];
        let mut set = VpSet::new(&mut storage);
        let no_ex = ipi(&fake, true, false);
        assert_eq!(no_ex.send(&mut io, 0x30, VpTargets::from(&set)), Ok(None));
        set.insert(64).unwrap();
        assert_eq!(
            no_ex.send(&mut io, 0x30, VpTargets::from(&set)),
            Err(IpiError::Unavailable(Unavailable::UseExProcessorMasks))
        );
        assert_eq!(
            no_ex.send(&mut io, 0x30, VpTargets::All),
            Err(IpiError::Unavailable(Unavailable::UseExProcessorMasks))
        );
        for vector in [0x0F, 0x100] {
            assert_eq!(
                no_ex.send(&mut io, vector, VpTargets::All),
                Err(IpiError::InvalidVector(vector))
            );
        }
        assert!(fake.log().is_empty());
        // SAFETY: the fake never executes the entry.
        let hc = unsafe { Hypercalls::new(&fake, FakePlatform::entry(), false, false) };
        assert_eq!(
            SyntheticIpi::new(hc, recommendations(false, true)).map(|_| ()),
            Err(Unavailable::UseSyntheticClusterIpi)
        );
    }

    #[test]
    fn host_failure_is_returned() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let ipi = ipi(&fake, false, false);
        fake.on_hypercall(|_, _| {
            HvHypercallOutput::new()
                .with_status(HvStatus::INVALID_VP_INDEX)
                .into_bits()
        });
        let mut storage = [0u64; 1];
        let mut set = VpSet::new(&mut storage);
        set.insert(5).unwrap();
        assert_eq!(
            ipi.send(&mut io, 0x40, VpTargets::from(&set)),
            Err(IpiError::Call(CallError::Hv(HvError::INVALID_VP_INDEX)))
        );
    }
}
