//! Virtual processor registers, the VP index, starting VPs, long spin-wait notification and
//! the extended hypercall capabilities query (TLFS 3.14.1, 7.8.1, 7.10.1–7.10.4, 14.5.1).

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use hv_defs::HvVtl;
use hv_defs::hypercall::{HvCallCode, HvExtCallCapabilities, HvOutputExtCallQueryCapabilities};
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::register::{HvRegisterName, HvRegisterValue};
use hv_defs::status::HvError;
use hv_defs::vp::{
    HvGetVpIndexFromApicIdInputHeader, HvInputVtl, HvNotifyLongSpinWaitInput,
    HvSetVpRegistersElement, HvVpRegistersInputHeader,
};
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use hv_defs::vp::{HvInitialVpContext, HvStartVirtualProcessorInput};
use hv_defs::{HV_PARTITION_ID_SELF, HvVpIndex};
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use zerocopy::IntoBytes;

use crate::hypercall::{CallError, Hypercalls, RepError};
use crate::page::IoPages;
use crate::platform::Platform;

/// Why the VP index was not read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VpIndexError {
    /// The partition lacks the `AccessVpIndex` privilege (TLFS 4.2.2), so the register does
    /// not exist; nothing was read.
    NotGranted,
    /// The platform could not reach the register.
    Hv(HvError),
    /// The register held a value that is not a VP index (above 32 bits).
    OutOfRange(u64),
}

impl core::fmt::Display for VpIndexError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotGranted => f.write_str("the partition lacks the AccessVpIndex privilege"),
            Self::Hv(error) => write!(f, "the VP index register is unreachable: {error}"),
            Self::OutOfRange(value) => write!(f, "the VP index register holds {value:#x}"),
        }
    }
}

impl core::error::Error for VpIndexError {}

/// Reads the calling VP's index from its synthetic register (`HvRegisterVpIndex`, on x64
/// `HV_X64_MSR_VP_INDEX`, TLFS 7.8.1), when `privileges` (the partition's, from discovery)
/// grant `AccessVpIndex`. Without the privilege nothing is touched.
///
/// # Errors
///
/// [`VpIndexError`].
pub fn read_vp_index<P: Platform + ?Sized>(
    platform: &P,
    privileges: HvPartitionPrivilegeMask,
) -> Result<HvVpIndex, VpIndexError> {
    if !privileges.access_vp_index() {
        return Err(VpIndexError::NotGranted);
    }
    // SAFETY: the register exists with the AccessVpIndex privilege just checked (TLFS 4.2.2,
    // appendix C); reading it has no side effect.
    let value = unsafe { platform.read_register(HvRegisterName::HvRegisterVpIndex) }
        .map_err(VpIndexError::Hv)?;
    HvVpIndex::try_from(value).map_err(|_| VpIndexError::OutOfRange(value))
}

impl<P: Platform> Hypercalls<'_, P> {
    /// Reads registers of a VP of the caller's partition (`HvCallGetVpRegisters`, a rep call,
    /// TLFS 7.10.2): `values[i]` receives `names[i]`.
    ///
    /// # Errors
    ///
    /// A [`RepError`]; the values of the reps it reports as completed are valid.
    pub fn get_vp_registers(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
        vtl: HvInputVtl,
        names: &[HvRegisterName],
        values: &mut [HvRegisterValue],
    ) -> Result<(), RepError> {
        let header = registers_header(vp_index, vtl);
        self.rep_call(io, HvCallCode::HvCallGetVpRegisters, &header, names, values)
    }

    /// Reads one register.
    ///
    /// # Errors
    ///
    /// The hypervisor's status (e.g. `INVALID_PARAMETER` for a register the partition does
    /// not have).
    pub fn get_vp_register(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
        vtl: HvInputVtl,
        name: HvRegisterName,
    ) -> Result<HvRegisterValue, CallError> {
        let mut value = [HvRegisterValue::default()];
        self.get_vp_registers(io, vp_index, vtl, &[name], &mut value)
            .map_err(|e| e.error)?;
        Ok(value[0])
    }

    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    /// Reads registers with the XMM fast form of `HvCallGetVpRegisters` (TLFS 7.10.2, 3.7.2,
    /// 3.8.1): input and output travel in registers, so no parameter pages are needed. Needs
    /// XMM fast input and output; at most four registers fit (16-byte header and 4-byte
    /// names in, 16-byte values out, 112 bytes in all).
    ///
    /// # Errors
    ///
    /// A [`RepError`] ([`CallError::XmmUnavailable`], [`CallError::OutputTooLarge`] or the
    /// hypervisor's status); the values of the reps it reports as completed are valid.
    pub fn get_vp_registers_xmm(
        &self,
        vp_index: HvVpIndex,
        vtl: HvInputVtl,
        names: &[HvRegisterName],
        values: &mut [HvRegisterValue],
    ) -> Result<(), RepError> {
        let header = registers_header(vp_index, vtl);
        self.xmm_rep_with_output(
            HvCallCode::HvCallGetVpRegisters,
            header.as_bytes(),
            names,
            values,
        )
    }

    /// Writes registers of a VP of the caller's partition (`HvCallSetVpRegisters`, a rep
    /// call, TLFS 7.10.1), in list order.
    ///
    /// # Errors
    ///
    /// A [`RepError`]: the registers before `completed` were written.
    pub fn set_vp_registers(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
        vtl: HvInputVtl,
        registers: &[(HvRegisterName, HvRegisterValue)],
    ) -> Result<(), RepError> {
        let header = registers_header(vp_index, vtl);
        // Elements are built a page-full at a time so no allocation is needed.
        const CHUNK: usize = 64;
        let mut done = 0;
        for chunk in registers.chunks(CHUNK) {
            let mut elements = [HvSetVpRegistersElement::default(); CHUNK];
            for (element, &(name, value)) in elements.iter_mut().zip(chunk) {
                *element = HvSetVpRegistersElement {
                    name,
                    value,
                    ..HvSetVpRegistersElement::default()
                };
            }
            self.rep_call::<_, _, u64>(
                io,
                HvCallCode::HvCallSetVpRegisters,
                &header,
                &elements[..chunk.len()],
                &mut [],
            )
            .map_err(|e| RepError {
                error: e.error,
                completed: done + e.completed,
            })?;
            done += chunk.len();
        }
        Ok(())
    }

    /// The VP indices of the VPs with APIC ids `apic_ids` in VTL `vtl`
    /// (`HvCallGetVpIndexFromApicId`, a rep call, TLFS 7.10.4): `vp_indices[i]` receives
    /// `apic_ids[i]`'s. Works before those VPs run, so a kernel can name the VP it starts
    /// with `Hypercalls::start_virtual_processor` (x86_64). Needs the `AccessVpIndex` privilege; KVM
    /// does not implement the call (`HV_STATUS_INVALID_HYPERCALL_CODE`).
    ///
    /// # Errors
    ///
    /// A [`RepError`]; the indices of the reps it reports as completed are valid.
    pub fn get_vp_index_from_apic_id(
        &self,
        io: &mut IoPages<'_>,
        vtl: HvInputVtl,
        apic_ids: &[u32],
        vp_indices: &mut [HvVpIndex],
    ) -> Result<(), RepError> {
        let header = HvGetVpIndexFromApicIdInputHeader {
            partition_id: HV_PARTITION_ID_SELF,
            target_vtl: vtl,
            rsvd: [0; 7],
        };
        self.rep_call(
            io,
            HvCallCode::HvCallGetVpIndexFromApicId,
            &header,
            apic_ids,
            vp_indices,
        )
    }

    /// Starts VP `vp_index` of the caller's partition in VTL `vtl`, with `context` as its
    /// register state (`HvCallStartVirtualProcessor`, TLFS 7.10.3): the VP begins in
    /// protected or long mode, without the real-mode start of INIT and SIPI. Needs the
    /// `StartVirtualProcessor` privilege (TLFS 4.2.2). A VTL above 0 is started through
    /// `crate::vsm::Vsm::start_virtual_processor`, which checks that VTL first.
    ///
    /// # Errors
    ///
    /// The hypervisor's status: `INVALID_VP_INDEX`, `INVALID_VP_STATE` (the VP runs already),
    /// `INVALID_REGISTER_VALUE` (a context it cannot start), `ACCESS_DENIED`.
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    pub fn start_virtual_processor(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
        vtl: HvVtl,
        context: &HvInitialVpContext,
    ) -> Result<(), CallError> {
        let input = HvStartVirtualProcessorInput {
            partition_id: HV_PARTITION_ID_SELF,
            vp_index,
            target_vtl: vtl,
            rsvd: [0; 3],
            vp_context: *context,
        };
        self.call::<_, ()>(io, HvCallCode::HvCallStartVirtualProcessor, &input)
    }

    /// Tells the hypervisor the caller has spun `count` times on a lock
    /// (`HvCallNotifyLongSpinWait`, fast form, TLFS 14.5.1). Call it each time the count
    /// reaches a multiple of the discovered spinlock retry count (`spinlock_retries` of
    /// `crate::discovery::HvInfo` on x64, `crate::arm64::HvInfo` on arm64).
    ///
    /// # Errors
    ///
    /// The hypervisor's status.
    pub fn notify_long_spin_wait(&self, count: u32) -> Result<(), CallError> {
        let input = HvNotifyLongSpinWaitInput {
            long_spin_wait_count: count,
            rsvd_z: 0,
        };
        self.fast(HvCallCode::HvCallNotifyLongSpinWait, &input)
    }

    /// Which extended hypercalls the hypervisor offers (`HvExtCallQueryCapabilities`,
    /// TLFS 3.14.1). Needs the `EnableExtendedHypercalls` privilege.
    ///
    /// # Errors
    ///
    /// The hypervisor's status.
    pub fn query_extended_capabilities(
        &self,
        io: &mut IoPages<'_>,
    ) -> Result<HvExtCallCapabilities, CallError> {
        let output: HvOutputExtCallQueryCapabilities =
            self.call(io, HvCallCode::HvExtCallQueryCapabilities, &[0u8; 0])?;
        Ok(output.capabilities)
    }
}

/// The input header of the VP register calls for the caller's own partition.
fn registers_header(vp_index: HvVpIndex, vtl: HvInputVtl) -> HvVpRegistersInputHeader {
    HvVpRegistersInputHeader {
        partition_id: HV_PARTITION_ID_SELF,
        vp_index,
        input_vtl: vtl,
        rsvd: [0; 3],
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use hv_defs::HV_VP_INDEX_SELF;
    use hv_defs::hypercall::{HvHypercallInput, HvHypercallOutput};
    use hv_defs::status::{HvError, HvStatus};
    use zerocopy::{FromBytes, IntoBytes};

    use super::*;
    use crate::testing::{Event, FakePlatform};

    fn hypercalls(fake: &FakePlatform) -> Hypercalls<'_, FakePlatform> {
        // SAFETY: the fake never executes the entry.
        unsafe { Hypercalls::new(fake, FakePlatform::entry(), false, false) }
    }

    fn ok(reps: u16) -> u64 {
        HvHypercallOutput::new()
            .with_status(HvStatus::SUCCESS)
            .with_reps_completed(reps)
            .into_bits()
    }

    #[test]
    fn vp_indices_come_from_apic_ids_in_one_rep_call() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        fake.on_hypercall(|fake, ctx| {
            let header =
                HvGetVpIndexFromApicIdInputHeader::read_from_bytes(&ctx.read(fake, ctx.rdx, 16))
                    .unwrap();
            assert_eq!(header.partition_id, u64::MAX);
            assert_eq!(header.target_vtl, HvInputVtl::CURRENT);
            // APIC ids 4 and 6 are VPs 2 and 3.
            assert_eq!(ctx.read(fake, ctx.rdx + 16, 8), [4, 0, 0, 0, 6, 0, 0, 0]);
            ctx.write(fake, ctx.r8, &[2, 0, 0, 0, 3, 0, 0, 0]);
            ok(2)
        });
        let mut indices = [0; 2];
        hypercalls(&fake)
            .get_vp_index_from_apic_id(&mut io, HvInputVtl::CURRENT, &[4, 6], &mut indices)
            .unwrap();
        assert_eq!(indices, [2, 3]);
        let Event::Hypercall(control, ..) = fake.log()[0] else {
            panic!("no hypercall")
        };
        assert_eq!(control, 0x0000_0002_0000_009A);
    }

    #[test]
    fn start_virtual_processor_sends_the_context() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        fake.on_hypercall(|fake, ctx| {
            let input =
                HvStartVirtualProcessorInput::read_from_bytes(&ctx.read(fake, ctx.rdx, 240))
                    .unwrap();
            assert_eq!((input.partition_id, input.vp_index), (u64::MAX, 1));
            assert_eq!(
                (input.vp_context.rip, input.vp_context.rsp),
                (0x10_0000, 0x8000)
            );
            HvHypercallOutput::new()
                .with_status(HvStatus::INVALID_VP_STATE)
                .into_bits()
        });
        let context = HvInitialVpContext {
            rip: 0x10_0000,
            rsp: 0x8000,
            ..HvInitialVpContext::default()
        };
        let result = hypercalls(&fake).start_virtual_processor(&mut io, 1, 0, &context);
        assert_eq!(result, Err(CallError::Hv(HvError::INVALID_VP_STATE)));
        let Event::Hypercall(control, ..) = fake.log()[0] else {
            panic!("no hypercall")
        };
        assert_eq!(control, 0x99);
    }

    #[test]
    fn get_vp_register_sends_the_tlfs_header() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        fake.on_hypercall(|fake, ctx| {
            let header =
                HvVpRegistersInputHeader::read_from_bytes(&ctx.read(fake, ctx.rdx, 16)).unwrap();
            assert_eq!(header.partition_id, u64::MAX);
            assert_eq!(header.vp_index, HV_VP_INDEX_SELF);
            assert_eq!(header.input_vtl, HvInputVtl::CURRENT);
            assert_eq!(
                ctx.read(fake, ctx.rdx + 16, 4),
                0x0009_0003u32.to_le_bytes()
            );
            ctx.write(fake, ctx.r8, HvRegisterValue::from_u64(7).as_bytes());
            ok(1)
        });
        let value = hypercalls(&fake)
            .get_vp_register(
                &mut io,
                HV_VP_INDEX_SELF,
                HvInputVtl::CURRENT,
                HvRegisterName::HvRegisterVpIndex,
            )
            .unwrap();
        assert_eq!(value.as_u64(), 7);
        let Event::Hypercall(control, ..) = fake.log()[0] else {
            panic!("no hypercall")
        };
        assert_eq!(control, 0x0000_0001_0000_0050);
    }

    #[test]
    fn set_vp_registers_counts_completed_across_chunks() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let mut calls = 0;
        fake.on_hypercall(move |fake, ctx| {
            calls += 1;
            let control = HvHypercallInput::from_bits(ctx.control);
            assert_eq!(control.call_code(), HvCallCode::HvCallSetVpRegisters);
            let first = HvSetVpRegistersElement::read_from_bytes(&ctx.read(fake, ctx.rdx + 16, 32))
                .unwrap();
            if calls == 1 {
                assert_eq!(first.name, HvRegisterName::new(0));
                ok(control.rep_count())
            } else {
                assert_eq!(first.name, HvRegisterName::new(64));
                HvHypercallOutput::new()
                    .with_status(HvStatus::INVALID_PARAMETER)
                    .with_reps_completed(3)
                    .into_bits()
            }
        });
        let registers: std::vec::Vec<_> = (0..100)
            .map(|i| {
                (
                    HvRegisterName::new(i),
                    HvRegisterValue::from_u64(u64::from(i)),
                )
            })
            .collect();
        let err = hypercalls(&fake)
            .set_vp_registers(&mut io, HV_VP_INDEX_SELF, HvInputVtl::CURRENT, &registers)
            .unwrap_err();
        assert_eq!(
            err,
            RepError {
                error: CallError::Hv(HvError::INVALID_PARAMETER),
                completed: 67
            }
        );
    }

    #[test]
    fn spin_wait_is_a_fast_call_with_the_count_in_rdx() {
        let fake = FakePlatform::new();
        fake.on_hypercall(|_, _| ok(0));
        hypercalls(&fake).notify_long_spin_wait(0x2000).unwrap();
        assert_eq!(fake.log(), [Event::Hypercall(0x0001_0008, 0x2000, 0)]);
    }

    #[test]
    fn extended_capabilities_decode_the_output() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        fake.on_hypercall(|fake, ctx| {
            ctx.write(fake, ctx.r8, &0b10u64.to_le_bytes());
            ok(0)
        });
        let caps = hypercalls(&fake)
            .query_extended_capabilities(&mut io)
            .unwrap();
        assert!(caps.memory_heat_hint());
        assert!(!caps.get_boot_zeroed_memory());
        let Event::Hypercall(control, ..) = fake.log()[0] else {
            panic!("no hypercall")
        };
        assert_eq!(control, 0x8001);
    }

    #[test]
    fn vp_index_is_read_only_with_the_privilege() {
        let fake = FakePlatform::new();
        fake.define_msr(0x4000_0002, 3, crate::testing::MsrAccess::ReadOnly);
        let granted = HvPartitionPrivilegeMask::new().with_access_vp_index(true);
        assert_eq!(read_vp_index(&fake, granted), Ok(3));
        assert_eq!(
            read_vp_index(&fake, HvPartitionPrivilegeMask::new()),
            Err(VpIndexError::NotGranted)
        );
        assert_eq!(fake.log(), [Event::ReadMsr(0x4000_0002, 3)]);
        fake.poke_msr(0x4000_0002, 1 << 32);
        assert_eq!(
            read_vp_index(&fake, granted),
            Err(VpIndexError::OutOfRange(1 << 32))
        );
    }

    #[test]
    fn xmm_get_vp_registers_puts_header_and_names_in_registers() {
        let fake = FakePlatform::new();
        fake.on_hypercall(|_, ctx| {
            let block = ctx.xmm.as_deref_mut().unwrap();
            let bytes = block.as_bytes_mut();
            let header = HvVpRegistersInputHeader::read_from_bytes(&bytes[..16]).unwrap();
            assert_eq!(header.partition_id, u64::MAX);
            assert_eq!(header.vp_index, HV_VP_INDEX_SELF);
            assert_eq!(bytes[16..20], 0x0009_0003u32.to_le_bytes());
            bytes[32..48].copy_from_slice(HvRegisterValue::from_u64(5).as_bytes());
            ok(1)
        });
        // SAFETY: the fake never executes the entry and serves XMM calls.
        let hc = unsafe { Hypercalls::new(&fake, FakePlatform::entry(), true, true) };
        let mut value = [HvRegisterValue::default()];
        hc.get_vp_registers_xmm(
            HV_VP_INDEX_SELF,
            HvInputVtl::CURRENT,
            &[HvRegisterName::HvRegisterVpIndex],
            &mut value,
        )
        .unwrap();
        assert_eq!(value[0].as_u64(), 5);
        let Event::HypercallXmm(control, _) = fake.log()[0] else {
            panic!("not an XMM call")
        };
        assert_eq!(control, 0x0000_0001_0001_0050);
    }
}
