//! A thin, safe layer over the Unicorn C API: the only module with `unsafe` code.
//!
//! The `unicorn-engine` crate's own hook wrappers give a `()`-returning callback for the
//! CPUID/RDTSC/RDTSCP instruction hooks, whose C type returns `int` ("skip the
//! instruction"), and pay a reference-count upgrade per callback. This module talks to the C
//! API (re-exported by `unicorn-engine` as `unicorn_engine::unicorn_const`) directly: every
//! hook calls one [`Handler`] through a monomorphised trampoline with the handler pointer
//! as user data.
//!
//! # Soundness
//!
//! [`Engine::install`] is `unsafe`: the caller promises that the handler outlives the engine
//! and is not otherwise accessed while [`Engine::run`] executes. Unicorn calls hooks one at
//! a time on the thread that called `uc_emu_start`, and none of the calls a handler can make
//! through [`Cpu`] re-enters a hook, so each trampoline holds the only `&mut` to the handler.

use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::ptr;

use unicorn_engine::unicorn_const::{
    Arch, Arm64Insn, ControlType, HookType, Mode, Prot, RegisterARM64, RegisterARM64CP,
    RegisterX86, X86Insn, uc_context, uc_engine, uc_error, uc_x86_mmr, uc_x86_msr,
};
use unicorn_engine::unicorn_const::{
    uc_close, uc_context_alloc, uc_context_free, uc_context_restore, uc_context_save, uc_ctl,
    uc_emu_start, uc_emu_stop, uc_hook, uc_hook_add, uc_mem_map, uc_mem_protect, uc_mem_read,
    uc_mem_write, uc_mmio_map, uc_open, uc_reg_read, uc_reg_write,
};

/// An error reported by the Unicorn library.
pub type UcError = uc_error;

/// The kind of a memory access Unicorn could not satisfy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unmapped {
    /// A data read.
    Read,
    /// A data write.
    Write,
    /// An instruction fetch.
    Fetch,
}

/// Callbacks from the emulated CPU. Each receives the [`Cpu`] it runs on.
pub(crate) trait Handler {
    /// Start of a translation block at `address`, `size` bytes long.
    fn on_block(&mut self, cpu: &mut Cpu<'_>, address: u64, size: u32);
    /// An instruction at an address registered with [`Cpu::hook_code_at`].
    fn on_code(&mut self, cpu: &mut Cpu<'_>, address: u64);
    /// CPUID; `true` skips Unicorn's own CPUID.
    fn on_cpuid(&mut self, cpu: &mut Cpu<'_>) -> bool;
    /// RDTSC (`rdtscp == false`) or RDTSCP; `true` skips Unicorn's own implementation.
    fn on_rdtsc(&mut self, cpu: &mut Cpu<'_>, rdtscp: bool) -> bool;
    /// IN from `port` of `size` bytes; returns the value read.
    fn on_in(&mut self, cpu: &mut Cpu<'_>, port: u16, size: u8) -> u32;
    /// OUT of `value` to `port`, `size` bytes.
    fn on_out(&mut self, cpu: &mut Cpu<'_>, port: u16, size: u8, value: u32);
    /// An invalid instruction (#UD); `true` means handled.
    fn on_invalid(&mut self, cpu: &mut Cpu<'_>) -> bool;
    /// Any other CPU exception or software interrupt, by vector.
    fn on_interrupt(&mut self, cpu: &mut Cpu<'_>, vector: u32);
    /// An access to an address with no memory behind it.
    fn on_unmapped(&mut self, cpu: &mut Cpu<'_>, kind: Unmapped, address: u64, size: usize);
    /// An access the page's permissions ([`Cpu::protect`]) do not allow, at guest physical
    /// `address`. RIP is the accessing instruction's. The access does not happen; a write
    /// does not stop the block, so the next instruction's [`Handler::on_step`] must.
    fn on_protected(&mut self, cpu: &mut Cpu<'_>, kind: Unmapped, address: u64);
    /// Before every instruction, once [`Cpu::hook_every_instruction`] was called.
    fn on_step(&mut self, cpu: &mut Cpu<'_>, address: u64);
}

/// An owned Unicorn x86-64 engine.
#[derive(Debug)]
pub(crate) struct Engine {
    handle: *mut uc_engine,
    user: *mut c_void,
    code_hook: *mut c_void,
    step_hook: *mut c_void,
}

/// The CPU as seen from inside a hook, or from the owner between runs.
#[derive(Debug)]
pub(crate) struct Cpu<'a> {
    handle: *mut uc_engine,
    user: *mut c_void,
    code_hook: *mut c_void,
    step_hook: *mut c_void,
    _engine: PhantomData<&'a mut Engine>,
}

fn check(err: uc_error) -> Result<(), UcError> {
    if err == uc_error::OK {
        Ok(())
    } else {
        Err(err)
    }
}

impl Engine {
    /// Opens an x86-64 engine with `ram_bytes` of RAM at guest physical address 0.
    pub(crate) fn new(ram_bytes: u64) -> Result<Self, UcError> {
        let mut handle = ptr::null_mut();
        // SAFETY: `handle` is a valid out-pointer; the arguments are valid enum values.
        check(unsafe { uc_open(Arch::X86, Mode::MODE_64, &raw mut handle) })?;
        let engine = Self {
            handle,
            user: ptr::null_mut(),
            code_hook: ptr::null_mut(),
            step_hook: ptr::null_mut(),
        };
        // SAFETY: `handle` is the open engine; mapping has no pointer arguments.
        check(unsafe { uc_mem_map(handle, 0, ram_bytes, Prot::ALL.0) })?;
        Ok(engine)
    }

    /// The CPU, for register and memory access between runs.
    pub(crate) fn cpu(&mut self) -> Cpu<'_> {
        Cpu {
            handle: self.handle,
            user: self.user,
            code_hook: self.code_hook,
            step_hook: self.step_hook,
            _engine: PhantomData,
        }
    }

    /// Registers `handler` for every hook kind the machine uses.
    ///
    /// # Safety
    ///
    /// `handler` must point to a live `H` that stays valid, and is not accessed by anyone
    /// else while [`Engine::run`] executes, until this engine is dropped. May be called once.
    pub(crate) unsafe fn install<H: Handler>(&mut self, handler: *mut H) -> Result<(), UcError> {
        let user = handler.cast::<c_void>();
        self.user = user;
        self.code_hook = code_tramp::<H> as *mut c_void;
        self.step_hook = step_tramp::<H> as *mut c_void;
        let all = (1, 0);
        self.add(HookType::BLOCK, block_tramp::<H> as *mut c_void, all, None)?;
        self.add(
            HookType::INSN,
            cpuid_tramp::<H> as *mut c_void,
            all,
            Some(X86Insn::CPUID),
        )?;
        self.add(
            HookType::INSN,
            rdtsc_tramp::<H> as *mut c_void,
            all,
            Some(X86Insn::RDTSC),
        )?;
        self.add(
            HookType::INSN,
            rdtscp_tramp::<H> as *mut c_void,
            all,
            Some(X86Insn::RDTSCP),
        )?;
        self.add(
            HookType::INSN,
            in_tramp::<H> as *mut c_void,
            all,
            Some(X86Insn::IN),
        )?;
        self.add(
            HookType::INSN,
            out_tramp::<H> as *mut c_void,
            all,
            Some(X86Insn::OUT),
        )?;
        self.add(
            HookType::INSN_INVALID,
            invalid_tramp::<H> as *mut c_void,
            all,
            None,
        )?;
        self.add(HookType::INTR, intr_tramp::<H> as *mut c_void, all, None)?;
        self.add(
            HookType::MEM_READ_UNMAPPED
                | HookType::MEM_WRITE_UNMAPPED
                | HookType::MEM_FETCH_UNMAPPED,
            unmapped_tramp::<H> as *mut c_void,
            all,
            None,
        )?;
        self.add(
            HookType::MEM_READ_PROT | HookType::MEM_WRITE_PROT | HookType::MEM_FETCH_PROT,
            prot_tramp::<H> as *mut c_void,
            all,
            None,
        )
    }

    fn add(
        &mut self,
        kind: HookType,
        callback: *mut c_void,
        (begin, end): (u64, u64),
        insn: Option<X86Insn>,
    ) -> Result<(), UcError> {
        let mut id: uc_hook = 0;
        let kind = c_int::try_from(kind.0).map_err(|_| uc_error::ARG)?;
        let err = match insn {
            // SAFETY: `callback` is a trampoline whose signature matches `kind`; `self.user`
            // is the handler pointer whose validity `install`'s caller guarantees.
            Some(insn) => unsafe {
                uc_hook_add(
                    self.handle,
                    &raw mut id,
                    kind,
                    callback,
                    self.user,
                    begin,
                    end,
                    insn as c_int,
                )
            },
            // SAFETY: as above.
            None => unsafe {
                uc_hook_add(
                    self.handle,
                    &raw mut id,
                    kind,
                    callback,
                    self.user,
                    begin,
                    end,
                )
            },
        };
        check(err)
    }

    /// Runs from `rip` until a hook stops the engine, HLT, or an error.
    pub(crate) fn run(&mut self, rip: u64) -> Result<(), UcError> {
        // SAFETY: the engine is open; `until` is an address that is never executed (it is
        // not canonical), no timeout and no instruction count.
        check(unsafe { uc_emu_start(self.handle, rip, u64::MAX, 0, 0) })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: the engine is open and closed exactly once here; the result of closing
        // cannot be acted upon.
        let _ = unsafe { uc_close(self.handle) };
    }
}

/// A 128-bit XMM register.
pub(crate) const XMM: [RegisterX86; 6] = [
    RegisterX86::XMM0,
    RegisterX86::XMM1,
    RegisterX86::XMM2,
    RegisterX86::XMM3,
    RegisterX86::XMM4,
    RegisterX86::XMM5,
];

/// A descriptor-table or segment register with its hidden part.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TableReg {
    /// Selector (TR, LDTR).
    pub(crate) selector: u16,
    /// Base address.
    pub(crate) base: u64,
    /// Limit.
    pub(crate) limit: u32,
    /// Attribute flags.
    pub(crate) flags: u32,
}

/// A saved copy of the CPU state (Unicorn `uc_context`, CPU part only: registers, hidden
/// segment state, control registers, MSRs Unicorn keeps, FPU and SSE state; not memory and
/// not the emulator's TLB).
#[derive(Debug)]
pub(crate) struct Context {
    raw: ptr::NonNull<uc_context>,
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `uc_context_alloc` and is freed exactly once here; the
        // context does not refer to its engine, so the order of freeing does not matter.
        let _ = unsafe { uc_context_free(self.raw.as_ptr()) };
    }
}

/// A register of either architecture's engine, by Unicorn's number for it.
pub(crate) trait UcReg: Copy {
    /// Unicorn's register number.
    fn id(self) -> c_int;
}

impl UcReg for RegisterX86 {
    fn id(self) -> c_int {
        self as c_int
    }
}

impl UcReg for RegisterARM64 {
    fn id(self) -> c_int {
        self as c_int
    }
}

impl Cpu<'_> {
    /// Allocates a context of this engine's size, holding no state yet.
    pub(crate) fn new_context(&mut self) -> Result<Context, UcError> {
        let mut raw = ptr::null_mut();
        // SAFETY: the engine is open; `raw` is a valid out-pointer.
        check(unsafe { uc_context_alloc(self.handle, &raw mut raw) })?;
        ptr::NonNull::new(raw)
            .map(|raw| Context { raw })
            .ok_or(uc_error::NOMEM)
    }

    /// Copies the CPU state into `context`.
    pub(crate) fn save_context(&mut self, context: &mut Context) -> Result<(), UcError> {
        // SAFETY: `context` was allocated by `new_context` of this engine (contexts are only
        // used with the engine that made them), so it has room for the state.
        check(unsafe { uc_context_save(self.handle, context.raw.as_ptr()) })
    }

    /// Replaces the CPU state with `context`'s. Translations cached in the emulator's TLB
    /// are not part of a context: flush it ([`Cpu::flush_tlb`]) when the page tables differ.
    pub(crate) fn restore_context(&mut self, context: &Context) -> Result<(), UcError> {
        // SAFETY: as in `save_context`; Unicorn only reads the context.
        check(unsafe { uc_context_restore(self.handle, context.raw.as_ptr()) })
    }

    /// Writes a model-specific register through Unicorn's own WRMSR (for the MSRs Unicorn
    /// implements, such as IA32_EFER).
    pub(crate) fn write_msr(&mut self, index: u32, value: u64) -> Result<(), UcError> {
        let msr = uc_x86_msr { rid: index, value };
        // SAFETY: `uc_x86_msr` is the type Unicorn reads for `RegisterX86::MSR`.
        check(unsafe {
            uc_reg_write(
                self.handle,
                RegisterX86::MSR as c_int,
                (&raw const msr).cast(),
            )
        })
    }

    /// Reads a model-specific register Unicorn implements (such as IA32_EFER).
    pub(crate) fn read_msr(&self, index: u32) -> Result<u64, UcError> {
        let mut msr = uc_x86_msr {
            rid: index,
            value: 0,
        };
        // SAFETY: `uc_x86_msr` is the type Unicorn reads `rid` from and writes `value` to
        // for `RegisterX86::MSR`.
        check(unsafe {
            uc_reg_read(
                self.handle,
                RegisterX86::MSR as c_int,
                (&raw mut msr).cast(),
            )
        })?;
        Ok(msr.value)
    }

    /// Reads a register of at most 64 bits (AArch64 PSTATE is 32 bits, zero-extended).
    pub(crate) fn read(&self, reg: impl UcReg) -> Result<u64, UcError> {
        let mut value = 0u64;
        // SAFETY: `value` is an 8-byte out-buffer, enough for every register of 64 bits or
        // less (the callers never pass 128-bit or table registers).
        check(unsafe { uc_reg_read(self.handle, reg.id(), (&raw mut value).cast()) })?;
        Ok(value)
    }

    /// Writes a register of at most 64 bits. Writing the program counter from a hook makes
    /// Unicorn leave the current block and resume at the new address.
    pub(crate) fn write(&mut self, reg: impl UcReg, value: u64) -> Result<(), UcError> {
        // SAFETY: `value` is an 8-byte in-buffer; Unicorn reads at most the register's size
        // (little-endian, so a 32-bit register takes the low half).
        check(unsafe { uc_reg_write(self.handle, reg.id(), (&raw const value).cast()) })
    }

    /// Writes an AArch64 system register by its encoding.
    pub(crate) fn write_sysreg(&mut self, enc: SysReg, value: u64) -> Result<(), UcError> {
        let cp = enc.cp(value);
        // SAFETY: `cp` is the `uc_arm64_cp_reg` Unicorn reads the encoding and value from.
        check(unsafe {
            uc_reg_write(
                self.handle,
                RegisterARM64::CP_REG.id(),
                (&raw const cp).cast(),
            )
        })
    }

    /// Reads a 128-bit register (XMM).
    pub(crate) fn read_u128(&self, reg: RegisterX86) -> Result<u128, UcError> {
        let mut value = [0u8; 16];
        // SAFETY: a 16-byte out-buffer, the size of an XMM register.
        check(unsafe { uc_reg_read(self.handle, reg as c_int, value.as_mut_ptr().cast()) })?;
        Ok(u128::from_le_bytes(value))
    }

    /// Writes a 128-bit register (XMM).
    pub(crate) fn write_u128(&mut self, reg: RegisterX86, value: u128) -> Result<(), UcError> {
        let bytes = value.to_le_bytes();
        // SAFETY: a 16-byte in-buffer, the size of an XMM register.
        check(unsafe { uc_reg_write(self.handle, reg as c_int, bytes.as_ptr().cast()) })
    }

    /// Reads GDTR, IDTR, LDTR or TR.
    pub(crate) fn read_table(&self, reg: RegisterX86) -> Result<TableReg, UcError> {
        let mut mmr = uc_x86_mmr {
            selector: 0,
            base: 0,
            limit: 0,
            flags: 0,
        };
        // SAFETY: `uc_x86_mmr` is the type Unicorn writes for table registers.
        check(unsafe { uc_reg_read(self.handle, reg as c_int, (&raw mut mmr).cast()) })?;
        Ok(TableReg {
            selector: mmr.selector,
            base: mmr.base,
            limit: mmr.limit,
            flags: mmr.flags,
        })
    }

    /// Writes GDTR, IDTR, LDTR or TR.
    pub(crate) fn write_table(&mut self, reg: RegisterX86, value: TableReg) -> Result<(), UcError> {
        let mmr = uc_x86_mmr {
            selector: value.selector,
            base: value.base,
            limit: value.limit,
            flags: value.flags,
        };
        // SAFETY: `uc_x86_mmr` is the type Unicorn reads for table registers.
        check(unsafe { uc_reg_write(self.handle, reg as c_int, (&raw const mmr).cast()) })
    }

    /// Reads guest physical memory.
    pub(crate) fn read_mem(&self, address: u64, buf: &mut [u8]) -> Result<(), UcError> {
        // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
        check(unsafe {
            uc_mem_read(
                self.handle,
                address,
                buf.as_mut_ptr().cast(),
                buf.len() as u64,
            )
        })
    }

    /// Writes guest physical memory.
    pub(crate) fn write_mem(&mut self, address: u64, bytes: &[u8]) -> Result<(), UcError> {
        // SAFETY: `bytes` is valid for `bytes.len()` bytes of reads.
        check(unsafe {
            uc_mem_write(
                self.handle,
                address,
                bytes.as_ptr().cast(),
                bytes.len() as u64,
            )
        })
    }

    /// Stops the engine: the current block ends before its first instruction when called
    /// from a block or code hook.
    pub(crate) fn stop(&mut self) -> Result<(), UcError> {
        // SAFETY: the engine is open.
        check(unsafe { uc_emu_stop(self.handle) })
    }

    /// Drops every translated block overlapping `[begin, end)`, so that hooks added since
    /// are honoured there.
    pub(crate) fn flush_code(&mut self, begin: u64, end: u64) -> Result<(), UcError> {
        let control = ControlType(ControlType::TB_REMOVE_CACHE.0 | ControlType::IO_WRITE.0);
        // SAFETY: TB_REMOVE_CACHE takes two u64 arguments.
        check(unsafe { uc_ctl(self.handle, control, begin, end) })
    }

    /// Drops every cached guest-virtual translation (the emulator's TLB).
    pub(crate) fn flush_tlb(&mut self) -> Result<(), UcError> {
        let control = ControlType(ControlType::TLB_FLUSH.0 | ControlType::IO_WRITE.0);
        // SAFETY: TLB_FLUSH takes no argument.
        check(unsafe { uc_ctl(self.handle, control) })
    }

    /// Sets the permissions of the RAM page at `gpa` (page-aligned). An access they do not
    /// allow reaches [`Handler::on_protected`]; the model's own memory accesses
    /// ([`Cpu::write_mem`]) ignore them. Flush the TLB afterwards.
    pub(crate) fn protect(
        &mut self,
        gpa: u64,
        read: bool,
        write: bool,
        exec: bool,
    ) -> Result<(), UcError> {
        let perms = u32::from(read) | (u32::from(write) << 1) | (u32::from(exec) << 2);
        // SAFETY: the engine is open; no pointer arguments.
        check(unsafe { uc_mem_protect(self.handle, gpa, 0x1000, perms) })
    }

    /// Calls the handler's [`Handler::on_step`] before every instruction from now on
    /// (blocks translated earlier are dropped here). Slow: the model does it only once a
    /// page is protected.
    pub(crate) fn hook_every_instruction(&mut self) -> Result<(), UcError> {
        if self.code_hook.is_null() {
            return Err(uc_error::HOOK);
        }
        let mut id: uc_hook = 0;
        let kind = c_int::try_from(HookType::CODE.0).map_err(|_| uc_error::ARG)?;
        // SAFETY: `step_tramp::<H>` has the code hook signature; `user` is the handler
        // pointer `Engine::install` registered, and `step` was made for that handler type by
        // `with`.
        check(unsafe {
            uc_hook_add(
                self.handle,
                &raw mut id,
                kind,
                self.step_hook,
                self.user,
                1,
                0,
            )
        })?;
        self.flush_code(0, u64::MAX)
    }

    /// Calls the handler's [`Handler::on_code`] before the instruction at `address` from
    /// now on (blocks translated earlier must be flushed with [`Cpu::flush_code`]).
    pub(crate) fn hook_code_at(&mut self, address: u64) -> Result<(), UcError> {
        if self.code_hook.is_null() {
            return Err(uc_error::HOOK);
        }
        let mut id: uc_hook = 0;
        let kind = c_int::try_from(HookType::CODE.0).map_err(|_| uc_error::ARG)?;
        // SAFETY: `code_hook` is the `code_tramp` of the installed handler type and `user`
        // its handler pointer, valid per `Engine::install`'s contract.
        check(unsafe {
            uc_hook_add(
                self.handle,
                &raw mut id,
                kind,
                self.code_hook,
                self.user,
                address,
                address,
            )
        })
    }
}

/// Runs `f` on the handler behind `user` with a [`Cpu`] for `uc`.
///
/// # Safety
///
/// `user` must be the pointer given to [`Engine::install`] for a handler of type `H`, and
/// `uc` the engine it was installed on; Unicorn only calls hooks with these.
unsafe fn with<H: Handler, R>(
    uc: *mut uc_engine,
    user: *mut c_void,
    f: impl FnOnce(&mut H, &mut Cpu<'_>) -> R,
) -> R {
    // SAFETY: per `Engine::install`, `user` points to a live `H` that nobody else accesses
    // during a run, and hooks do not nest, so this is the only reference.
    let handler = unsafe { &mut *user.cast::<H>() };
    let mut cpu = Cpu {
        handle: uc,
        user,
        code_hook: code_tramp::<H> as *mut c_void,
        step_hook: step_tramp::<H> as *mut c_void,
        _engine: PhantomData,
    };
    f(handler, &mut cpu)
}

unsafe extern "C" fn block_tramp<H: Handler>(
    uc: *mut uc_engine,
    address: u64,
    size: u32,
    user: *mut c_void,
) {
    // SAFETY: registered by `Engine::install` with this handler type.
    unsafe { with::<H, _>(uc, user, |h, cpu| h.on_block(cpu, address, size)) }
}

unsafe extern "C" fn code_tramp<H: Handler>(
    uc: *mut uc_engine,
    address: u64,
    _size: u32,
    user: *mut c_void,
) {
    // SAFETY: registered by `Cpu::hook_code_at` with this handler type.
    unsafe { with::<H, _>(uc, user, |h, cpu| h.on_code(cpu, address)) }
}

unsafe extern "C" fn step_tramp<H: Handler>(
    uc: *mut uc_engine,
    address: u64,
    _size: u32,
    user: *mut c_void,
) {
    // SAFETY: registered by `Cpu::hook_every_instruction` with this handler type.
    unsafe { with::<H, _>(uc, user, |h, cpu| h.on_step(cpu, address)) }
}

unsafe extern "C" fn cpuid_tramp<H: Handler>(uc: *mut uc_engine, user: *mut c_void) -> c_int {
    // SAFETY: registered by `Engine::install` with this handler type.
    c_int::from(unsafe { with::<H, _>(uc, user, |h, cpu| h.on_cpuid(cpu)) })
}

unsafe extern "C" fn rdtsc_tramp<H: Handler>(uc: *mut uc_engine, user: *mut c_void) -> c_int {
    // SAFETY: registered by `Engine::install` with this handler type.
    c_int::from(unsafe { with::<H, _>(uc, user, |h, cpu| h.on_rdtsc(cpu, false)) })
}

unsafe extern "C" fn rdtscp_tramp<H: Handler>(uc: *mut uc_engine, user: *mut c_void) -> c_int {
    // SAFETY: registered by `Engine::install` with this handler type.
    c_int::from(unsafe { with::<H, _>(uc, user, |h, cpu| h.on_rdtsc(cpu, true)) })
}

unsafe extern "C" fn in_tramp<H: Handler>(
    uc: *mut uc_engine,
    port: u32,
    size: c_int,
    user: *mut c_void,
) -> u32 {
    // SAFETY: registered by `Engine::install` with this handler type.
    unsafe {
        with::<H, _>(uc, user, |h, cpu| {
            h.on_in(cpu, port as u16, u8::try_from(size).unwrap_or(4))
        })
    }
}

unsafe extern "C" fn out_tramp<H: Handler>(
    uc: *mut uc_engine,
    port: u32,
    size: c_int,
    value: u32,
    user: *mut c_void,
) {
    // SAFETY: registered by `Engine::install` with this handler type.
    unsafe {
        with::<H, _>(uc, user, |h, cpu| {
            h.on_out(cpu, port as u16, u8::try_from(size).unwrap_or(4), value)
        });
    }
}

unsafe extern "C" fn invalid_tramp<H: Handler>(uc: *mut uc_engine, user: *mut c_void) -> bool {
    // SAFETY: registered by `Engine::install` with this handler type.
    unsafe { with::<H, _>(uc, user, |h, cpu| h.on_invalid(cpu)) }
}

unsafe extern "C" fn intr_tramp<H: Handler>(uc: *mut uc_engine, vector: u32, user: *mut c_void) {
    // SAFETY: registered by `Engine::install` with this handler type.
    unsafe { with::<H, _>(uc, user, |h, cpu| h.on_interrupt(cpu, vector)) }
}

/// Unicorn's `uc_mem_type` values for unmapped accesses.
const UC_MEM_READ_UNMAPPED: u32 = 19;
const UC_MEM_WRITE_UNMAPPED: u32 = 20;

unsafe extern "C" fn unmapped_tramp<H: Handler>(
    uc: *mut uc_engine,
    kind: u32,
    address: u64,
    size: c_int,
    _value: i64,
    user: *mut c_void,
) -> bool {
    let kind = match kind {
        UC_MEM_READ_UNMAPPED => Unmapped::Read,
        UC_MEM_WRITE_UNMAPPED => Unmapped::Write,
        _ => Unmapped::Fetch,
    };
    let size = usize::try_from(size).unwrap_or(0);
    // SAFETY: registered by `Engine::install` with this handler type.
    unsafe { with::<H, _>(uc, user, |h, cpu| h.on_unmapped(cpu, kind, address, size)) };
    false
}

/// Unicorn's `uc_mem_type` values for permission violations.
const UC_MEM_WRITE_PROT: u32 = 22;
const UC_MEM_READ_PROT: u32 = 23;

unsafe extern "C" fn prot_tramp<H: Handler>(
    uc: *mut uc_engine,
    kind: u32,
    address: u64,
    _size: c_int,
    _value: i64,
    user: *mut c_void,
) -> bool {
    let kind = match kind {
        UC_MEM_READ_PROT => Unmapped::Read,
        UC_MEM_WRITE_PROT => Unmapped::Write,
        _ => Unmapped::Fetch,
    };
    // SAFETY: registered by `Engine::install` with this handler type.
    unsafe { with::<H, _>(uc, user, |h, cpu| h.on_protected(cpu, kind, address)) };
    false
}

/// An AArch64 system register encoding, `S<op0>_<op1>_C<CRn>_C<CRm>_<op2>` (Arm ARM C5.3).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SysReg {
    /// op0.
    pub(crate) op0: u8,
    /// op1.
    pub(crate) op1: u8,
    /// CRn.
    pub(crate) crn: u8,
    /// CRm.
    pub(crate) crm: u8,
    /// op2.
    pub(crate) op2: u8,
}

impl SysReg {
    /// The encoding `S<op0>_<op1>_C<crn>_C<crm>_<op2>`.
    pub(crate) const fn new(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8) -> Self {
        Self {
            op0,
            op1,
            crn,
            crm,
            op2,
        }
    }

    fn cp(self, val: u64) -> RegisterARM64CP {
        RegisterARM64CP {
            crn: self.crn.into(),
            crm: self.crm.into(),
            op0: self.op0.into(),
            op1: self.op1.into(),
            op2: self.op2.into(),
            val,
        }
    }

    fn from_cp(cp: &RegisterARM64CP) -> Self {
        // Unicorn extracts each field from its bit range of the instruction, so each fits.
        Self::new(
            cp.op0 as u8,
            cp.op1 as u8,
            cp.crn as u8,
            cp.crm as u8,
            cp.op2 as u8,
        )
    }
}

impl core::fmt::Display for SysReg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "S{}_{}_C{}_C{}_{}",
            self.op0, self.op1, self.crn, self.crm, self.op2
        )
    }
}

/// AArch64 general-purpose register Xn (0–30).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Xn(pub(crate) u8);

impl UcReg for Xn {
    fn id(self) -> c_int {
        match self.0 {
            n @ 0..=28 => RegisterARM64::X0 as c_int + c_int::from(n),
            29 => RegisterARM64::X29 as c_int,
            30 => RegisterARM64::X30 as c_int,
            _ => RegisterARM64::XZR as c_int,
        }
    }
}

/// A general-purpose register by Unicorn's raw number, as the system register hooks name
/// the MRS destination.
#[derive(Copy, Clone, Debug)]
struct RawReg(c_int);

impl UcReg for RawReg {
    fn id(self) -> c_int {
        self.0
    }
}

/// What the model made of an `MRS`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mrs {
    /// Unicorn executes the instruction.
    Native,
    /// The result: written to the destination register, the instruction skipped.
    Value(u64),
    /// Skipped without a result (the handler raised an exception instead).
    Skip,
}

/// Callbacks from an emulated AArch64 CPU. Each receives the [`Cpu`] it runs on.
pub(crate) trait Arm64Handler {
    /// Start of a translation block at `address`, `size` bytes long.
    fn on_block(&mut self, cpu: &mut Cpu<'_>, address: u64, size: u32);
    /// An exception Unicorn raised (QEMU's `EXCP_*` number); the PC is the faulting
    /// instruction for an undefined instruction.
    fn on_exception(&mut self, cpu: &mut Cpu<'_>, exception: u32);
    /// `MRS` of a system register (op0 2 or 3). The PC is the `MRS`.
    fn on_mrs(&mut self, cpu: &mut Cpu<'_>, reg: SysReg) -> Mrs;
    /// `MSR` (register) of a system register: `true` skips the instruction, `false` lets
    /// Unicorn execute it. The PC is the `MSR`.
    fn on_msr(&mut self, cpu: &mut Cpu<'_>, reg: SysReg, value: u64) -> bool;
    /// A read of `size` bytes at physical `address` in a region mapped with
    /// [`Engine::map_mmio`].
    fn on_mmio_read(&mut self, cpu: &mut Cpu<'_>, address: u64, size: u32) -> u64;
    /// A write of `size` bytes at physical `address` in a region mapped with
    /// [`Engine::map_mmio`].
    fn on_mmio_write(&mut self, cpu: &mut Cpu<'_>, address: u64, size: u32, value: u64);
    /// An access to an address with no memory behind it.
    fn on_unmapped(&mut self, cpu: &mut Cpu<'_>, kind: Unmapped, address: u64);
}

impl Engine {
    /// Opens an AArch64 engine (Unicorn's Cortex-A72 model, which starts at EL1h with DAIF
    /// masked and has no EL2: `HVC` is an undefined instruction the model serves) with
    /// `ram_bytes` of RAM at `ram_base`.
    pub(crate) fn new_arm64(ram_base: u64, ram_bytes: u64) -> Result<Self, UcError> {
        let mut handle = ptr::null_mut();
        // SAFETY: `handle` is a valid out-pointer; the arguments are valid enum values.
        check(unsafe { uc_open(Arch::ARM64, Mode::ARM, &raw mut handle) })?;
        let engine = Self {
            handle,
            user: ptr::null_mut(),
            code_hook: ptr::null_mut(),
            step_hook: ptr::null_mut(),
        };
        // SAFETY: `handle` is the open engine; mapping has no pointer arguments.
        check(unsafe { uc_mem_map(handle, ram_base, ram_bytes, Prot::ALL.0) })?;
        Ok(engine)
    }

    /// Registers `handler` for every AArch64 hook kind the machine uses.
    ///
    /// # Safety
    ///
    /// As [`Engine::install`].
    pub(crate) unsafe fn install_arm64<H: Arm64Handler>(
        &mut self,
        handler: *mut H,
    ) -> Result<(), UcError> {
        self.user = handler.cast::<c_void>();
        let all = (1, 0);
        self.add(
            HookType::BLOCK,
            a64_block_tramp::<H> as *mut c_void,
            all,
            None,
        )?;
        self.add(
            HookType::INTR,
            a64_intr_tramp::<H> as *mut c_void,
            all,
            None,
        )?;
        self.add_sys(
            a64_mrs_tramp::<H> as *mut c_void,
            Arm64Insn::UC_ARM64_INS_MRS,
        )?;
        self.add_sys(
            a64_msr_tramp::<H> as *mut c_void,
            Arm64Insn::UC_ARM64_INS_MSR,
        )?;
        self.add(
            HookType::MEM_READ_UNMAPPED
                | HookType::MEM_WRITE_UNMAPPED
                | HookType::MEM_FETCH_UNMAPPED,
            a64_unmapped_tramp::<H> as *mut c_void,
            all,
            None,
        )
    }

    fn add_sys(&mut self, callback: *mut c_void, insn: Arm64Insn) -> Result<(), UcError> {
        let mut id: uc_hook = 0;
        let kind = c_int::try_from(HookType::INSN.0).map_err(|_| uc_error::ARG)?;
        // SAFETY: `callback` is a system-register trampoline (`uc_cb_insn_sys_t`); the user
        // data is the handler pointer whose validity `install_arm64`'s caller guarantees.
        check(unsafe {
            uc_hook_add(
                self.handle,
                &raw mut id,
                kind,
                callback,
                self.user,
                1,
                0,
                insn as c_int,
            )
        })
    }

    /// Maps `size` bytes at physical `BASE` as a device whose accesses call the installed
    /// handler's [`Arm64Handler::on_mmio_read`] and [`Arm64Handler::on_mmio_write`].
    ///
    /// # Safety
    ///
    /// [`Engine::install_arm64`] must have installed a handler of type `H`.
    pub(crate) unsafe fn map_mmio<H: Arm64Handler, const BASE: u64>(
        &mut self,
        size: u64,
    ) -> Result<(), UcError> {
        if self.user.is_null() {
            return Err(uc_error::HOOK);
        }
        // SAFETY: the trampolines match `uc_cb_mmio_read_t` and `uc_cb_mmio_write_t`; the user
        // data is the installed handler of type `H` (the caller's contract).
        check(unsafe {
            uc_mmio_map(
                self.handle,
                BASE,
                size,
                Some(a64_mmio_read_tramp::<H, BASE>),
                self.user,
                Some(a64_mmio_write_tramp::<H, BASE>),
                self.user,
            )
        })
    }
}

/// Runs `f` on the AArch64 handler behind `user` with a [`Cpu`] for `uc`.
///
/// # Safety
///
/// `user` must be the pointer given to [`Engine::install_arm64`] for a handler of type `H`,
/// and `uc` the engine it was installed on; Unicorn only calls hooks with these.
unsafe fn with_a64<H: Arm64Handler, R>(
    uc: *mut uc_engine,
    user: *mut c_void,
    f: impl FnOnce(&mut H, &mut Cpu<'_>) -> R,
) -> R {
    // SAFETY: per `Engine::install_arm64`, `user` points to a live `H` that nobody else
    // accesses during a run, and hooks do not nest, so this is the only reference.
    let handler = unsafe { &mut *user.cast::<H>() };
    let mut cpu = Cpu {
        handle: uc,
        user,
        code_hook: ptr::null_mut(),
        step_hook: ptr::null_mut(),
        _engine: PhantomData,
    };
    f(handler, &mut cpu)
}

unsafe extern "C" fn a64_block_tramp<H: Arm64Handler>(
    uc: *mut uc_engine,
    address: u64,
    size: u32,
    user: *mut c_void,
) {
    // SAFETY: registered by `Engine::install_arm64` with this handler type.
    unsafe { with_a64::<H, _>(uc, user, |h, cpu| h.on_block(cpu, address, size)) }
}

unsafe extern "C" fn a64_intr_tramp<H: Arm64Handler>(
    uc: *mut uc_engine,
    exception: u32,
    user: *mut c_void,
) {
    // SAFETY: registered by `Engine::install_arm64` with this handler type.
    unsafe { with_a64::<H, _>(uc, user, |h, cpu| h.on_exception(cpu, exception)) }
}

/// Unicorn's number of XZR, which an `MRS` to the zero register names.
const A64_XZR: c_int = RegisterARM64::XZR as c_int;

unsafe extern "C" fn a64_mrs_tramp<H: Arm64Handler>(
    uc: *mut uc_engine,
    reg: c_int,
    cp: *const RegisterARM64CP,
    user: *mut c_void,
) -> u32 {
    // SAFETY: Unicorn passes a valid `uc_arm64_cp_reg` for the duration of the call.
    let enc = SysReg::from_cp(unsafe { &*cp });
    // SAFETY: registered by `Engine::install_arm64` with this handler type.
    unsafe {
        with_a64::<H, _>(uc, user, |h, cpu| match h.on_mrs(cpu, enc) {
            Mrs::Value(value) => {
                if reg != A64_XZR {
                    let _ = cpu.write(RawReg(reg), value);
                }
                1
            }
            Mrs::Skip => 1,
            Mrs::Native => 0,
        })
    }
}

unsafe extern "C" fn a64_msr_tramp<H: Arm64Handler>(
    uc: *mut uc_engine,
    _reg: c_int,
    cp: *const RegisterARM64CP,
    user: *mut c_void,
) -> u32 {
    // SAFETY: Unicorn passes a valid `uc_arm64_cp_reg` (with the source value) for the
    // duration of the call.
    let cp = unsafe { &*cp };
    let (enc, value) = (SysReg::from_cp(cp), cp.val);
    // SAFETY: registered by `Engine::install_arm64` with this handler type.
    u32::from(unsafe { with_a64::<H, _>(uc, user, |h, cpu| h.on_msr(cpu, enc, value)) })
}

unsafe extern "C" fn a64_mmio_read_tramp<H: Arm64Handler, const BASE: u64>(
    uc: *mut uc_engine,
    offset: u64,
    size: core::ffi::c_uint,
    user: *mut c_void,
) -> u64 {
    // SAFETY: registered by `Engine::map_mmio` with this handler type.
    unsafe { with_a64::<H, _>(uc, user, |h, cpu| h.on_mmio_read(cpu, BASE + offset, size)) }
}

unsafe extern "C" fn a64_mmio_write_tramp<H: Arm64Handler, const BASE: u64>(
    uc: *mut uc_engine,
    offset: u64,
    size: core::ffi::c_uint,
    value: u64,
    user: *mut c_void,
) {
    // SAFETY: registered by `Engine::map_mmio` with this handler type.
    unsafe {
        with_a64::<H, _>(uc, user, |h, cpu| {
            h.on_mmio_write(cpu, BASE + offset, size, value);
        });
    }
}

unsafe extern "C" fn a64_unmapped_tramp<H: Arm64Handler>(
    uc: *mut uc_engine,
    kind: u32,
    address: u64,
    _size: c_int,
    _value: i64,
    user: *mut c_void,
) -> bool {
    let kind = match kind {
        UC_MEM_READ_UNMAPPED => Unmapped::Read,
        UC_MEM_WRITE_UNMAPPED => Unmapped::Write,
        _ => Unmapped::Fetch,
    };
    // SAFETY: registered by `Engine::install_arm64` with this handler type.
    unsafe { with_a64::<H, _>(uc, user, |h, cpu| h.on_unmapped(cpu, kind, address)) };
    false
}
