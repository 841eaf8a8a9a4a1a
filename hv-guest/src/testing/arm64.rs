//! A scripted fake arm64 platform for host unit tests (feature `testing`).
//!
//! [`FakeArm64`] records every `HVC` (the convention and X0–X17 going in) and hands it to a
//! closure the test installs, which writes the registers coming out. Tests check the exact
//! traffic: SMCCC function ids, hypercall input values, block registers.
//!
//! [`FakeArm64::hyperv`] installs a small scripted Microsoft hypervisor instead: it answers
//! the SMCCC UID query with the Hyper-V UID, keeps a register file, and serves
//! `HvCallGetVpRegisters`/`HvCallSetVpRegisters` in their fast one-register forms (both
//! conventions) and their memory forms. Its decoding is written from the published register
//! layouts (Linux `hv_core.c`, `mu_msvm` `HypercallImpl.S`), independently of the guest code
//! under test.
//!
//! Memory-based calls use pages from [`FakeArm64::io_pages`], whose GPA is their address.

extern crate std;

use std::boxed::Box;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::vec::Vec;

use hv_defs::arm64::{HV_ARM64_SMCCC_UID, HV_FUNC_ID, SMCCC_VENDOR_HYP_CALL_UID};
use hv_defs::hypercall::{HvCallCode, HvHypercallInput, HvHypercallOutput};
use hv_defs::register::HvRegisterName;
use hv_defs::status::{HvError, HvStatus};

use super::{FakePlatform, HypercallCtx};
use crate::arm64::{self, Arm64Platform, HvcConvention, HvcRegs};
use crate::page::{IoPages, PhysPage};
use crate::platform::{HypercallEntry, Platform, XmmBlock};

/// One `HVC` the code under test made: the convention and X0–X17 going in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Hvc {
    /// `hvc #0` (SMCCC) or `hvc #1`.
    pub convention: HvcConvention,
    /// X0–X17 before the call.
    pub regs: HvcRegs,
}

type Handler = Box<dyn FnMut(&FakeArm64, HvcConvention, &mut HvcRegs)>;

/// The scripted fake arm64 platform.
pub struct FakeArm64 {
    convention: HvcConvention,
    memory: FakePlatform,
    log: RefCell<Vec<Hvc>>,
    handler: RefCell<Option<Handler>>,
}

impl core::fmt::Debug for FakeArm64 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FakeArm64")
            .field("convention", &self.convention)
            .field("log", &self.log.borrow())
            .finish_non_exhaustive()
    }
}

/// The SMCCC "not supported" answer as QEMU writes it: -1 sign-extended into X0.
pub const SMCCC_NOT_SUPPORTED_X0: u64 = u64::MAX;

impl FakeArm64 {
    /// A fake whose hypercalls use `convention`, with no handler.
    #[must_use]
    pub fn new(convention: HvcConvention) -> Self {
        Self {
            convention,
            memory: FakePlatform::new(),
            log: RefCell::new(Vec::new()),
            handler: RefCell::new(None),
        }
    }

    /// A fake that behaves like the Microsoft hypervisor (see the module docs); its register
    /// file starts with `registers`.
    #[must_use]
    pub fn hyperv(
        convention: HvcConvention,
        registers: &[(HvRegisterName, u128)],
    ) -> (Self, RegisterFile) {
        let fake = Self::new(convention);
        let file = RegisterFile(Rc::new(RefCell::new(registers.iter().copied().collect())));
        let host = file.clone();
        fake.on_hvc(move |fake, convention, regs| host.serve(fake, convention, regs));
        (fake, file)
    }

    /// Installs the handler: it sees the convention and X0–X17 going in, and leaves X0–X17
    /// as the hypervisor would.
    pub fn on_hvc(&self, handler: impl FnMut(&Self, HvcConvention, &mut HvcRegs) + 'static) {
        *self.handler.borrow_mut() = Some(Box::new(handler));
    }

    /// Every `HVC` so far, in order.
    #[must_use]
    pub fn log(&self) -> Vec<Hvc> {
        self.log.borrow().clone()
    }

    /// Forgets the calls logged so far.
    pub fn clear_log(&self) {
        self.log.borrow_mut().clear();
    }

    /// A pair of hypercall parameter pages (GPA = address).
    #[must_use]
    pub fn io_pages(&self) -> IoPages<'static> {
        self.memory.io_pages()
    }

    /// A zeroed page (GPA = address).
    #[must_use]
    pub fn page(&self) -> PhysPage<'static> {
        self.memory.page()
    }

    /// Reads `len` bytes at `gpa` of a page this fake handed out.
    ///
    /// # Panics
    ///
    /// When the range is not inside such a page.
    #[must_use]
    pub fn read(&self, gpa: u64, len: usize) -> Vec<u8> {
        Self::ctx().read(&self.memory, gpa, len)
    }

    /// Writes `bytes` at `gpa` of a page this fake handed out.
    ///
    /// # Panics
    ///
    /// When the range is not inside such a page.
    pub fn write(&self, gpa: u64, bytes: &[u8]) {
        Self::ctx().write(&self.memory, gpa, bytes);
    }

    fn ctx() -> HypercallCtx<'static> {
        HypercallCtx {
            control: 0,
            rdx: 0,
            r8: 0,
            xmm: None,
        }
    }
}

impl Arm64Platform for FakeArm64 {
    fn convention(&self) -> HvcConvention {
        self.convention
    }

    unsafe fn hvc(&self, convention: HvcConvention, regs: &mut HvcRegs) {
        self.log.borrow_mut().push(Hvc {
            convention,
            regs: *regs,
        });
        let mut handler = self
            .handler
            .borrow_mut()
            .take()
            .expect("HVC made but no handler installed");
        handler(self, convention, regs);
        *self.handler.borrow_mut() = Some(handler);
    }
}

impl Platform for FakeArm64 {
    unsafe fn hypercall(
        &self,
        _entry: HypercallEntry,
        control: u64,
        input: u64,
        output: u64,
    ) -> u64 {
        // SAFETY: the fake executes nothing; GPAs are checked when the handler reads them.
        unsafe { arm64::hypercall(self, control, input, output) }
    }

    unsafe fn hypercall_xmm(
        &self,
        _entry: HypercallEntry,
        _control: u64,
        _block: &mut XmmBlock,
    ) -> u64 {
        panic!("XMM fast hypercall made on arm64, which has none")
    }

    unsafe fn read_register(&self, name: HvRegisterName) -> Result<u64, HvError> {
        arm64::read_register(self, name)
    }

    unsafe fn write_register(&self, name: HvRegisterName, value: u64) -> Result<(), HvError> {
        // SAFETY: the fake's registers overlay no memory.
        unsafe { arm64::write_register(self, name, value) }
    }
}

/// The register file of a [`FakeArm64::hyperv`] host, shared with the test.
#[derive(Clone, Debug, Default)]
pub struct RegisterFile(Rc<RefCell<BTreeMap<HvRegisterName, u128>>>);

impl RegisterFile {
    /// The value of a register, if the host has it.
    #[must_use]
    pub fn get(&self, name: HvRegisterName) -> Option<u128> {
        self.0.borrow().get(&name).copied()
    }

    /// Sets (or adds) a register.
    pub fn set(&self, name: HvRegisterName, value: u128) {
        self.0.borrow_mut().insert(name, value);
    }

    /// Removes a register (reads and writes of it then fail with `INVALID_PARAMETER`).
    pub fn remove(&self, name: HvRegisterName) {
        self.0.borrow_mut().remove(&name);
    }

    fn serve(&self, fake: &FakeArm64, convention: HvcConvention, regs: &mut HvcRegs) {
        // The hypercall input value and the block, per convention.
        let (control, first) = match convention {
            HvcConvention::Smccc if regs.x[0] == u64::from(SMCCC_VENDOR_HYP_CALL_UID) => {
                let [a, b, c, d] = HV_ARM64_SMCCC_UID.0;
                regs.x[..4].copy_from_slice(&[a.into(), b.into(), c.into(), d.into()]);
                return;
            }
            HvcConvention::Smccc if regs.x[0] == u64::from(HV_FUNC_ID) => (regs.x[1], 2),
            HvcConvention::Smccc => {
                regs.x[0] = SMCCC_NOT_SUPPORTED_X0;
                return;
            }
            HvcConvention::HyperV => (regs.x[0], 1),
        };
        let input = HvHypercallInput::from_bits(control);
        let status = self.call(fake, input, regs, first);
        let reps = if status == HvStatus::SUCCESS {
            input.rep_count()
        } else {
            0
        };
        regs.x[0] = HvHypercallOutput::new()
            .with_status(status)
            .with_reps_completed(reps)
            .into_bits();
    }

    fn call(
        &self,
        fake: &FakeArm64,
        input: HvHypercallInput,
        regs: &mut HvcRegs,
        first: usize,
    ) -> HvStatus {
        let code = input.call_code();
        let get = code == HvCallCode::HvCallGetVpRegisters;
        if !get && code != HvCallCode::HvCallSetVpRegisters {
            return HvStatus::INVALID_HYPERCALL_CODE;
        }
        if input.rep_count() != 1 {
            return HvStatus::INVALID_PARAMETER;
        }
        let block = &mut regs.x[first..first + 16];
        if input.fast() {
            // partition, VP|VTL, name, pad, then value (set) or nothing (get).
            if block[0] != u64::MAX || block[1] != 0xFFFF_FFFE {
                return HvStatus::INVALID_PARAMETER;
            }
            let name = HvRegisterName::new(block[2] as u32);
            if get {
                let Some(value) = self.get(name) else {
                    return HvStatus::INVALID_PARAMETER;
                };
                // Linux reads X6:X7 (SMCCC), mu_msvm X15:X16 (hvc #1).
                let out = if first == 2 { 4 } else { 14 };
                block[out] = value as u64;
                block[out + 1] = (value >> 64) as u64;
            } else {
                if self.get(name).is_none() {
                    return HvStatus::INVALID_PARAMETER;
                }
                self.set(name, u128::from(block[4]) | u128::from(block[5]) << 64);
            }
            return HvStatus::SUCCESS;
        }
        // Memory form: header (16 bytes) then the name list or the element list.
        let (in_gpa, out_gpa) = (block[0], block[1]);
        let element = fake.read(in_gpa + 16, if get { 4 } else { 32 });
        let name = HvRegisterName::new(u32::from_le_bytes(
            element[..4].try_into().unwrap_or_default(),
        ));
        let Some(value) = self.get(name) else {
            return HvStatus::INVALID_PARAMETER;
        };
        if get {
            fake.write(out_gpa, &value.to_le_bytes());
        } else {
            let new = u128::from_le_bytes(element[16..32].try_into().unwrap_or_default());
            self.set(name, new);
        }
        HvStatus::SUCCESS
    }
}
