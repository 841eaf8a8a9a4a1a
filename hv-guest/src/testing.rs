//! A scripted fake [`Platform`] for host unit tests (feature `testing`).
//!
//! The fake answers CPUID from a table, keeps MSR values, and hands every hypercall to a
//! closure the test installs. It records every access in order, so a test can check the
//! exact traffic a wrapper produces: which MSRs were written in which order, which control
//! words and inputs each hypercall carried.
//!
//! VTL calls and returns go to a second closure ([`FakePlatform::on_vtl_switch`]) that plays
//! the other VTL: it sees and changes the shared registers and may write guest memory (the
//! VP assist page) with [`FakePlatform::write_phys`]. [`FakeCpu`] is a fixed long-mode
//! processor state for capturing initial VP contexts.
//!
//! Touching an MSR the fake does not define, or writing a read-only one, panics with the
//! `#GP` the real processor would raise: a wrapper that forgets to check a privilege fails its
//! test instead of faulting a kernel later.
//!
//! The hypervisor's side of overlay pages (SynIC message and event flag pages) is played with
//! [`FakePlatform::read_guest`] and [`FakePlatform::write_guest`], and its reaction to trigger
//! registers (EOM) with [`FakePlatform::on_msr_write`].
//!
//! Memory-based hypercalls pass guest physical addresses. Pages from
//! [`FakePlatform::io_pages`] and [`FakePlatform::page`] use their own address as GPA
//! (identity mapping, as in the sample kernel), so the handler reads and writes them through
//! [`HypercallCtx`].

extern crate std;

use std::boxed::Box;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::vec::Vec;

use std::vec;

use crate::page::{HvPage, IoPages, PhysPage};
use crate::vsm::{
    VtlCodeEntry, VtlPlatform, X64CpuState, X64Selectors, X64SystemState, X64VtlRegisters,
};
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;
use hv_defs::vp::HvX64TableRegister;
use hv_defs::vsm::{HV_VTL_CALL_CONTROL, HvVtlReturnControl};

use crate::platform::{
    CpuidResult, HypercallEntry, Platform, X64Platform, XmmBlock, x64_read_register,
    x64_write_register,
};

/// One access the code under test made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// CPUID with this leaf and subleaf.
    Cpuid(u32, u32),
    /// RDMSR of this MSR, which returned this value.
    ReadMsr(u32, u64),
    /// WRMSR of this value to this MSR.
    WriteMsr(u32, u64),
    /// A memory-based or register fast hypercall: control word, RDX, R8.
    Hypercall(u64, u64, u64),
    /// An XMM fast hypercall: control word and the input block.
    HypercallXmm(u64, XmmBlock),
    /// A VTL call: the sequence's offset in the hypercall page and the registers loaded.
    VtlCall(u16, X64VtlRegisters),
    /// A VTL return: the sequence's offset, the return control and the registers loaded.
    VtlReturn(u16, u64, X64VtlRegisters),
}

/// How the fake treats an MSR.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MsrAccess {
    /// Reads and writes succeed.
    ReadWrite,
    /// Writes raise #GP.
    ReadOnly,
    /// Reads raise #GP.
    WriteOnly,
    /// Writes succeed but leave the value unchanged (a host that ignores them).
    DropsWrites,
}

/// What a hypercall handler sees and may change.
#[derive(Debug)]
pub struct HypercallCtx<'a> {
    /// The control word (RCX).
    pub control: u64,
    /// RDX: input GPA or fast input.
    pub rdx: u64,
    /// R8: output GPA or fast input.
    pub r8: u64,
    /// The XMM block of an XMM fast call (input on entry; the handler may write output).
    pub xmm: Option<&'a mut XmmBlock>,
}

impl HypercallCtx<'_> {
    /// Reads `len` bytes at guest physical address `gpa`.
    ///
    /// # Panics
    ///
    /// Panics when `gpa` is not inside a page handed out by the fake.
    #[must_use]
    pub fn read(&self, fake: &FakePlatform, gpa: u64, len: usize) -> Vec<u8> {
        let page = fake.page_at(gpa, len);
        let offset = usize::try_from(gpa % 4096).expect("page offset fits");
        // SAFETY: `page_at` checked that [gpa, gpa + len) lies in a page the fake leaked, so
        // the memory is live; the code under test exposed a pointer to it for the duration
        // of the hypercall and does not use its own reference until the call returns.
        unsafe { (&(*page).0)[offset..offset + len].to_vec() }
    }

    /// Writes `bytes` at guest physical address `gpa`.
    ///
    /// # Panics
    ///
    /// Panics when the range is not inside a page handed out by the fake.
    pub fn write(&self, fake: &FakePlatform, gpa: u64, bytes: &[u8]) {
        let page = fake.page_at(gpa, bytes.len());
        let offset = usize::try_from(gpa % 4096).expect("page offset fits");
        // SAFETY: as in `read`: the range is inside a live leaked page and no reference to
        // it is held during the hypercall.
        unsafe { (&mut (*page).0)[offset..offset + bytes.len()].copy_from_slice(bytes) };
    }
}

type Handler = Box<dyn FnMut(&FakePlatform, &mut HypercallCtx<'_>) -> u64>;
type MsrHook = Box<dyn FnMut(&FakePlatform, u64)>;

/// Which VTL switch sequence the code under test entered.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VtlSwitchKind {
    /// A VTL call (TLFS 15.6.1).
    Call,
    /// A VTL return (TLFS 15.7.1).
    Return,
}

/// What a VTL switch handler sees and may change: it plays the other VTL (and the
/// hypervisor) until the VP comes back.
#[derive(Debug)]
pub struct VtlSwitchCtx<'a> {
    /// Call or return.
    pub kind: VtlSwitchKind,
    /// The sequence's offset in the hypercall page.
    pub offset: u16,
    /// RCX: the call control (0) or the return control.
    pub control: u64,
    /// The shared registers: as loaded on entry; the handler leaves them as the VP comes
    /// back with them.
    pub regs: &'a mut X64VtlRegisters,
}

type VtlHandler = Box<dyn FnMut(&FakePlatform, &mut VtlSwitchCtx<'_>)>;

/// The scripted fake platform.
#[derive(Default)]
pub struct FakePlatform {
    cpuid: RefCell<BTreeMap<(u32, u32), CpuidResult>>,
    msrs: RefCell<BTreeMap<u32, (u64, MsrAccess)>>,
    log: RefCell<Vec<Event>>,
    pages: RefCell<Vec<usize>>,
    handler: RefCell<Option<Handler>>,
    vtl_handler: RefCell<Option<VtlHandler>>,
    msr_hooks: RefCell<BTreeMap<u32, MsrHook>>,
}

impl core::fmt::Debug for FakePlatform {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FakePlatform")
            .field("log", &self.log.borrow())
            .finish_non_exhaustive()
    }
}

impl FakePlatform {
    /// A fake with no CPUID leaves (all read as zero), no MSRs and no hypercall handler.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets what CPUID returns for `leaf`/`subleaf`; unset leaves read as zero.
    pub fn set_cpuid(&self, leaf: u32, subleaf: u32, regs: [u32; 4]) {
        self.cpuid
            .borrow_mut()
            .insert((leaf, subleaf), CpuidResult::from_array(regs));
    }

    /// Defines an MSR with an initial value.
    pub fn define_msr(&self, msr: u32, value: u64, access: MsrAccess) {
        self.msrs.borrow_mut().insert(msr, (value, access));
    }

    /// The current value of an MSR the fake defines.
    #[must_use]
    pub fn msr(&self, msr: u32) -> Option<u64> {
        self.msrs.borrow().get(&msr).map(|&(value, _)| value)
    }

    /// Sets an MSR's value as the hypervisor would (no access check, not logged).
    pub fn poke_msr(&self, msr: u32, value: u64) {
        if let Some(entry) = self.msrs.borrow_mut().get_mut(&msr) {
            entry.0 = value;
        }
    }

    /// Installs the hypercall handler; it returns the RAX value of each call.
    pub fn on_hypercall(&self, handler: impl FnMut(&Self, &mut HypercallCtx<'_>) -> u64 + 'static) {
        *self.handler.borrow_mut() = Some(Box::new(handler));
    }

    /// Installs the handler of VTL calls and returns: it plays the other VTL.
    pub fn on_vtl_switch(&self, handler: impl FnMut(&Self, &mut VtlSwitchCtx<'_>) + 'static) {
        *self.vtl_handler.borrow_mut() = Some(Box::new(handler));
    }

    /// Reads `len` bytes at guest physical address `gpa`, as the hypervisor would.
    ///
    /// # Panics
    ///
    /// Panics when the range is not inside a page handed out by the fake.
    #[must_use]
    pub fn read_phys(&self, gpa: u64, len: usize) -> Vec<u8> {
        let page = self.page_at(gpa, len);
        let offset = usize::try_from(gpa % 4096).expect("page offset fits");
        // SAFETY: `page_at` checked that the range lies in a live leaked page; the code under
        // test exposed its pointer when it handed the page to the hypervisor and reaches it
        // only through raw pointers, so no Rust reference to it is live.
        unsafe { (&(*page).0)[offset..offset + len].to_vec() }
    }

    /// Writes `bytes` at guest physical address `gpa`, as the hypervisor would.
    ///
    /// # Panics
    ///
    /// Panics when the range is not inside a page handed out by the fake.
    pub fn write_phys(&self, gpa: u64, bytes: &[u8]) {
        let page = self.page_at(gpa, bytes.len());
        let offset = usize::try_from(gpa % 4096).expect("page offset fits");
        // SAFETY: as in `read_phys`.
        unsafe { (&mut (*page).0)[offset..offset + bytes.len()].copy_from_slice(bytes) };
    }

    /// Every access so far, in order.
    #[must_use]
    pub fn log(&self) -> Vec<Event> {
        self.log.borrow().clone()
    }

    /// Forgets the accesses logged so far.
    pub fn clear_log(&self) {
        self.log.borrow_mut().clear();
    }

    /// A fresh zeroed page whose GPA is its address (leaked for the test's duration).
    #[must_use]
    pub fn page(&self) -> PhysPage<'static> {
        let page: &'static mut HvPage = Box::leak(Box::new(HvPage::ZERO));
        let addr = core::ptr::from_mut(page).addr();
        self.pages.borrow_mut().push(addr);
        // SAFETY: the fake resolves the GPA back to exactly this page (identity mapping), and
        // the page is leaked, so it lives as long as any use of it.
        unsafe { PhysPage::new(page, addr as u64) }
    }

    /// A pair of hypercall parameter pages.
    #[must_use]
    pub fn io_pages(&self) -> IoPages<'static> {
        IoPages::new(self.page(), self.page())
    }

    /// A hypercall entry for tests that build a [`crate::hypercall::Hypercalls`] directly.
    #[must_use]
    pub fn entry() -> HypercallEntry {
        // SAFETY: the fake never executes the entry; any non-null address serves.
        unsafe { HypercallEntry::new(core::ptr::NonNull::dangling()) }
    }

    /// Runs `hook` after every accepted WRMSR of `msr`, with the value written: the
    /// hypervisor's reaction to a trigger register (for example delivering the next queued
    /// message when the guest writes EOM). The write is logged and stored before the hook
    /// runs; the hook may read and write guest memory and poke MSRs.
    pub fn on_msr_write(&self, msr: u32, hook: impl FnMut(&Self, u64) + 'static) {
        self.msr_hooks.borrow_mut().insert(msr, Box::new(hook));
    }

    /// Reads `len` bytes of guest memory at `gpa`, as the hypervisor would: through the
    /// page's exposed address, without creating a reference to it, so the code under test
    /// may hold raw pointers into the page meanwhile.
    ///
    /// # Panics
    ///
    /// Panics when the range is not inside a page handed out by the fake.
    #[must_use]
    pub fn read_guest(&self, gpa: u64, len: usize) -> Vec<u8> {
        let base = self.page_at(gpa, len).cast::<u8>();
        let offset = usize::try_from(gpa % 4096).expect("page offset fits");
        let mut bytes = std::vec![0; len];
        // SAFETY: `page_at` checked that [gpa, gpa + len) lies in a page the fake leaked, so
        // the offset is inside it.
        let src = unsafe { base.add(offset) };
        // SAFETY: the range is live leaked memory (above); no Rust reference to it exists while
        // the code under test is not running (it reaches overlay pages only through raw
        // pointers and atomics).
        unsafe { core::ptr::copy_nonoverlapping(src, bytes.as_mut_ptr(), len) };
        bytes
    }

    /// Writes `bytes` to guest memory at `gpa`, as the hypervisor would (see
    /// [`FakePlatform::read_guest`]).
    ///
    /// # Panics
    ///
    /// Panics when the range is not inside a page handed out by the fake.
    pub fn write_guest(&self, gpa: u64, bytes: &[u8]) {
        let base = self.page_at(gpa, bytes.len()).cast::<u8>();
        let offset = usize::try_from(gpa % 4096).expect("page offset fits");
        // SAFETY: as in `read_guest`.
        let dst = unsafe { base.add(offset) };
        // SAFETY: as in `read_guest`.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
    }

    fn page_at(&self, gpa: u64, len: usize) -> *mut HvPage {
        let base = gpa - gpa % 4096;
        let end = gpa % 4096 + len as u64;
        assert!(end <= 4096, "access at {gpa:#x}+{len} crosses a page");
        let pages = self.pages.borrow();
        let page = pages
            .iter()
            .copied()
            .find(|&p| p as u64 == base)
            .unwrap_or_else(|| panic!("GPA {gpa:#x} is not a page the fake handed out"));
        // The code under test exposes its page pointers before each hypercall
        // (`IoPages::expose`), as the real hypervisor's access needs.
        core::ptr::with_exposed_provenance_mut(page)
    }

    fn call(&self, control: u64, rdx: u64, r8: u64, xmm: Option<&mut XmmBlock>) -> u64 {
        let mut handler = self
            .handler
            .borrow_mut()
            .take()
            .expect("hypercall made but no handler installed");
        let mut ctx = HypercallCtx {
            control,
            rdx,
            r8,
            xmm,
        };
        let rax = handler(self, &mut ctx);
        *self.handler.borrow_mut() = Some(handler);
        rax
    }
}

impl FakePlatform {
    fn vtl_switch(
        &self,
        kind: VtlSwitchKind,
        entry: VtlCodeEntry,
        control: u64,
        regs: &mut X64VtlRegisters,
    ) {
        let mut handler = self
            .vtl_handler
            .borrow_mut()
            .take()
            .expect("VTL switch made but no handler installed");
        let mut ctx = VtlSwitchCtx {
            kind,
            offset: entry.offset(),
            control,
            regs,
        };
        handler(self, &mut ctx);
        *self.vtl_handler.borrow_mut() = Some(handler);
    }
}

impl VtlPlatform for FakePlatform {
    type Registers = X64VtlRegisters;

    unsafe fn vtl_call(&self, entry: VtlCodeEntry, regs: &mut X64VtlRegisters) {
        self.log
            .borrow_mut()
            .push(Event::VtlCall(entry.offset(), *regs));
        self.vtl_switch(VtlSwitchKind::Call, entry, HV_VTL_CALL_CONTROL, regs);
    }

    unsafe fn vtl_return(
        &self,
        entry: VtlCodeEntry,
        control: HvVtlReturnControl,
        regs: &mut X64VtlRegisters,
    ) {
        let control = control.into_bits();
        self.log
            .borrow_mut()
            .push(Event::VtlReturn(entry.offset(), control, *regs));
        self.vtl_switch(VtlSwitchKind::Return, entry, control, regs);
    }
}

/// A fake processor for [`crate::vsm::InitialVpContextBuilder`]: fixed long-mode state
/// and a GDT, both public so tests can break them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeCpu {
    /// The visible register state.
    pub state: X64SystemState,
    /// The GDT entries.
    pub gdt: Vec<u64>,
}

impl FakeCpu {
    /// A 64-bit kernel: paging with PAE and OSFXSR, EFER.LME/LMA/NXE, the power-on PAT; a
    /// GDT with a null entry, a 64-bit code segment (0x08), a flat data segment (0x10,
    /// also DS, ES and SS) and a busy 64-bit TSS (0x18) of 0x68 bytes at
    /// 0x0000_0001_0012_3450; null FS and GS with their bases in the MSRs; no LDT.
    #[must_use]
    pub fn long_mode() -> Self {
        let gdt = vec![
            0,
            0x00AF_9B00_0000_FFFF,
            0x00CF_9300_0000_FFFF,
            0x0000_8B12_3450_0067,
            0x0000_0000_0000_0001,
        ];
        Self {
            state: X64SystemState {
                cr0: 0x8000_0033,
                cr3: 0x0000_0000_0010_3000,
                cr4: 0x0000_0000_0000_06A0,
                efer: 0x0000_0000_0000_0D00,
                pat: 0x0007_0406_0007_0406,
                gdtr: HvX64TableRegister {
                    pad: [0; 3],
                    limit: 5 * 8 - 1,
                    base: 0x0000_0000_0011_0000,
                },
                idtr: HvX64TableRegister {
                    pad: [0; 3],
                    limit: 256 * 16 - 1,
                    base: 0x0000_0000_0011_1000,
                },
                selectors: X64Selectors {
                    cs: 0x08,
                    ds: 0x10,
                    es: 0x10,
                    fs: 0,
                    gs: 0,
                    ss: 0x10,
                    tr: 0x18,
                    ldtr: 0,
                },
                fs_base: 0x0000_7F00_0000_1000,
                gs_base: 0xFFFF_8000_0000_2000,
            },
            gdt,
        }
    }
}

impl X64CpuState for FakeCpu {
    fn system_state(&self) -> X64SystemState {
        self.state
    }

    fn gdt_entry(&self, index: u16) -> Option<u64> {
        self.gdt.get(usize::from(index)).copied()
    }
}

impl X64Platform for FakePlatform {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult {
        self.log.borrow_mut().push(Event::Cpuid(leaf, subleaf));
        self.cpuid
            .borrow()
            .get(&(leaf, subleaf))
            .copied()
            .unwrap_or_default()
    }

    unsafe fn read_msr(&self, msr: u32) -> u64 {
        let value = match self.msrs.borrow().get(&msr) {
            Some(&(_, MsrAccess::WriteOnly)) | None => panic!("#GP: RDMSR {msr:#x}"),
            Some(&(value, _)) => value,
        };
        self.log.borrow_mut().push(Event::ReadMsr(msr, value));
        value
    }

    unsafe fn write_msr(&self, msr: u32, value: u64) {
        self.log.borrow_mut().push(Event::WriteMsr(msr, value));
        match self.msrs.borrow_mut().get_mut(&msr) {
            Some((_, MsrAccess::ReadOnly)) | None => panic!("#GP: WRMSR {msr:#x} <- {value:#x}"),
            Some((_, MsrAccess::DropsWrites)) => {}
            Some(entry) => entry.0 = value,
        }
        let hook = self.msr_hooks.borrow_mut().remove(&msr);
        if let Some(mut hook) = hook {
            hook(self, value);
            self.msr_hooks.borrow_mut().entry(msr).or_insert(hook);
        }
    }
}

impl Platform for FakePlatform {
    unsafe fn read_register(&self, name: HvRegisterName) -> Result<u64, HvError> {
        // SAFETY: the fake checks MSR existence itself (it panics with #GP).
        unsafe { x64_read_register(self, name) }
    }

    unsafe fn write_register(&self, name: HvRegisterName, value: u64) -> Result<(), HvError> {
        // SAFETY: as above.
        unsafe { x64_write_register(self, name, value) }
    }

    unsafe fn hypercall(&self, _entry: HypercallEntry, control: u64, rdx: u64, r8: u64) -> u64 {
        self.log
            .borrow_mut()
            .push(Event::Hypercall(control, rdx, r8));
        self.call(control, rdx, r8, None)
    }

    unsafe fn hypercall_xmm(
        &self,
        _entry: HypercallEntry,
        control: u64,
        block: &mut XmmBlock,
    ) -> u64 {
        self.log
            .borrow_mut()
            .push(Event::HypercallXmm(control, *block));
        self.call(control, block.qwords[0], block.qwords[1], Some(block))
    }
}
