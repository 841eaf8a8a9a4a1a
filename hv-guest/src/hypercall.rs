//! The hypercall calling conventions, typed (TLFS 3).
//!
//! [`Hypercalls`] is the handle every enlightenment uses. It offers each convention the TLFS
//! defines:
//!
//! | convention | method | input | output |
//! | --- | --- | --- | --- |
//! | memory-based (slow) | [`Hypercalls::call`] | input page | output page |
//! | memory-based, variable header | [`Hypercalls::call_with_variable_header`] | input page | output page |
//! | rep | [`Hypercalls::rep_call`] | header + list | list |
//! | register fast | [`Hypercalls::fast`] | RDX, R8 (16 bytes) | none |
//! | XMM fast (x64 only) | `Hypercalls::xmm`, `Hypercalls::xmm_rep` | RDX, R8, XMM0–5 (112 bytes) | registers after the input |
//!
//! On arm64 the memory-based, rep and register fast conventions are the same calls made with
//! `HVC` (see `crate::arm64` for the registers); the XMM methods do not exist there.
//!
//! Rules the API enforces so the host never sees a malformed call:
//!
//! * the control word is built here, never by the caller: rep count and start come from the
//!   slice lengths and the resume logic, the variable header size from the bytes given;
//! * input and output each fit in one page (TLFS 3.6) — checked before the call;
//! * a failed call's output is never read (TLFS 3.12.1): the error is returned instead;
//! * a rep call resumes from the host's "reps completed" until all reps are done
//!   (TLFS 3.2), whether the host continued the call transparently (TLFS 3.3) or returned
//!   early; a host that reports impossible progress gets a typed error, never a loop.

use core::mem::size_of;
use core::sync::atomic::{Ordering, compiler_fence};

use hv_defs::HV_PAGE_SIZE;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use hv_defs::hypercall::HV_HYPERCALL_XMM_BLOCK_BYTES;
use hv_defs::hypercall::{
    HV_HYPERCALL_FAST_INPUT_BYTES, HV_HYPERCALL_REP_MAX, HV_HYPERCALL_VARIABLE_HEADER_MAX,
    HvCallCode, HvHypercallInput, HvHypercallOutput,
};
use hv_defs::status::HvError;
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::page::IoPages;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use crate::platform::XmmBlock;
use crate::platform::{HypercallEntry, Platform};

/// Why a hypercall was not made or did not succeed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The hypervisor returned this status.
    Hv(HvError),
    /// The input does not fit where the convention puts it (one page, 16 bytes or 112 bytes).
    InputTooLarge {
        /// Bytes the call would need.
        len: usize,
        /// Bytes available.
        max: usize,
    },
    /// The output does not fit in one page or in the registers left after the input.
    OutputTooLarge {
        /// Bytes the call would need.
        len: usize,
        /// Bytes available.
        max: usize,
    },
    /// A rep call was given input and output lists of different lengths.
    RepCountMismatch {
        /// Input list elements.
        input: usize,
        /// Output list elements.
        output: usize,
    },
    /// A rep call was given no elements; the TLFS forbids a zero rep count (TLFS 3.7).
    EmptyRepList,
    /// The variable header is longer than the 10-bit size field allows (TLFS 3.7.1).
    VariableHeaderTooLarge {
        /// Bytes given.
        len: usize,
    },
    /// XMM fast input (or output) is not offered by this partition (TLFS 3.7.2.1, 3.8.1.1).
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    XmmUnavailable,
    /// The host reported a "reps completed" count that cannot be right: not beyond the start
    /// index, or beyond the rep count.
    BadRepsCompleted {
        /// The rep start index of the call.
        start: u16,
        /// The reps-completed count the host returned.
        completed: u16,
        /// The rep count of the call.
        count: u16,
    },
}

impl From<HvError> for CallError {
    fn from(error: HvError) -> Self {
        Self::Hv(error)
    }
}

impl core::fmt::Display for CallError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Hv(error) => write!(f, "hypercall failed: {error}"),
            Self::InputTooLarge { len, max } => {
                write!(f, "hypercall input of {len} bytes exceeds {max} bytes")
            }
            Self::OutputTooLarge { len, max } => {
                write!(f, "hypercall output of {len} bytes exceeds {max} bytes")
            }
            Self::RepCountMismatch { input, output } => {
                write!(
                    f,
                    "rep call with {input} input and {output} output elements"
                )
            }
            Self::EmptyRepList => f.write_str("rep call with no elements"),
            Self::VariableHeaderTooLarge { len } => {
                write!(
                    f,
                    "variable header of {len} bytes exceeds the 10-bit size field"
                )
            }
            #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
            Self::XmmUnavailable => f.write_str("XMM fast hypercalls are not available"),
            Self::BadRepsCompleted {
                start,
                completed,
                count,
            } => write!(
                f,
                "host reported {completed} reps completed for a call of {count} reps from {start}"
            ),
        }
    }
}

impl core::error::Error for CallError {}

/// A rep call that stopped before completing every element.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RepError {
    /// Why it stopped.
    pub error: CallError,
    /// How many elements, counted from the first, completed successfully (TLFS 3.2).
    pub completed: usize,
}

impl core::fmt::Display for RepError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} after {} completed reps", self.error, self.completed)
    }
}

impl core::error::Error for RepError {}

/// The registers an XMM fast call left behind: its output block (TLFS 3.8.1.2).
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmmOutput {
    block: XmmBlock,
    offset: usize,
}

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
impl XmmOutput {
    /// The output bytes: the registers that followed the input block, starting at the
    /// input size rounded up to 16 bytes (TLFS 3.8.1.2).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.block.as_bytes()[self.offset..]
    }
}

/// The hypercall handle: a platform plus an enabled hypercall page.
///
/// Cheap to copy; borrows what it came from (x64: the `crate::hyperv::HypercallPage`, so
/// the page cannot be disabled while a handle exists; arm64: the `crate::arm64::GuestOs`, so
/// the identity cannot be cleared).
#[derive(Debug)]
pub struct Hypercalls<'a, P: Platform> {
    platform: &'a P,
    entry: HypercallEntry,
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    xmm_input: bool,
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    xmm_output: bool,
}

impl<P: Platform> Clone for Hypercalls<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Platform> Copy for Hypercalls<'_, P> {}

/// Rounds `len` up to a multiple of 8 (TLFS 3.1: parameters are padded to 8 bytes).
const fn pad8(len: usize) -> usize {
    len.next_multiple_of(8)
}

impl<'a, P: Platform> Hypercalls<'a, P> {
    /// # Safety
    ///
    /// `entry` must stay enabled for `'a`, and `xmm_input`/`xmm_output` must only be set when
    /// the partition reports XMM fast input/output (CPUID 0x40000003 EDX bits 4 and 15).
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    pub(crate) const unsafe fn new(
        platform: &'a P,
        entry: HypercallEntry,
        xmm_input: bool,
        xmm_output: bool,
    ) -> Self {
        Self {
            platform,
            entry,
            xmm_input,
            xmm_output,
        }
    }

    /// A handle for arm64, which has no XMM fast convention.
    ///
    /// # Safety
    ///
    /// `entry` must stay enabled for `'a` (the guest OS identity stays set).
    #[cfg(any(target_arch = "aarch64", test, feature = "testing"))]
    pub(crate) const unsafe fn hvc(platform: &'a P, entry: HypercallEntry) -> Self {
        Self {
            platform,
            entry,
            #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
            xmm_input: false,
            #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
            xmm_output: false,
        }
    }

    /// The platform this handle calls through.
    #[must_use]
    pub const fn platform(&self) -> &'a P {
        self.platform
    }

    /// The enabled hypercall page this handle calls into (its VTL call and return sequences
    /// sit inside it, TLFS 15.8).
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    pub(crate) const fn entry(&self) -> HypercallEntry {
        self.entry
    }

    /// Whether XMM fast input is available (TLFS 3.7.2.1).
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    #[must_use]
    pub const fn xmm_input_available(&self) -> bool {
        self.xmm_input
    }

    /// Whether XMM fast output is available (TLFS 3.8.1.1).
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    #[must_use]
    pub const fn xmm_output_available(&self) -> bool {
        self.xmm_output
    }

    /// Issues one hypercall with a finished control word and decodes the result.
    fn invoke(&self, control: HvHypercallInput, rdx: u64, r8: u64) -> HvHypercallOutput {
        // Everything written to the parameter pages must be in memory before the
        // hypervisor reads them, and nothing read afterwards may come from before.
        compiler_fence(Ordering::SeqCst);
        // SAFETY: `self.entry` is enabled for `'a` (constructor contract). Every caller in
        // this module passes either fast-input values or the GPAs of the `IoPages` it holds
        // a mutable borrow of, whose GPAs are correct by `PhysPage::new`'s contract.
        let rax = unsafe {
            self.platform
                .hypercall(self.entry, control.into_bits(), rdx, r8)
        };
        compiler_fence(Ordering::SeqCst);
        HvHypercallOutput::from_bits(rax)
    }

    /// Issues one XMM fast hypercall.
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    fn invoke_xmm(&self, control: HvHypercallInput, block: &mut XmmBlock) -> HvHypercallOutput {
        debug_assert!(self.xmm_input);
        // SAFETY: `self.entry` is enabled for `'a`, and callers only get here after checking
        // `self.xmm_input`, which is only set when the partition offers XMM fast input.
        let rax = unsafe {
            self.platform
                .hypercall_xmm(self.entry, control.into_bits(), block)
        };
        HvHypercallOutput::from_bits(rax)
    }

    /// A memory-based simple call: `input` is copied to the input page, the output page is
    /// decoded as `O` when the call succeeds (TLFS 3.7, 3.8).
    ///
    /// # Errors
    ///
    /// [`CallError::InputTooLarge`]/[`CallError::OutputTooLarge`] when a side does not fit in
    /// a page, [`CallError::Hv`] when the hypervisor fails the call.
    pub fn call<I, O>(
        &self,
        io: &mut IoPages<'_>,
        code: HvCallCode,
        input: &I,
    ) -> Result<O, CallError>
    where
        I: IntoBytes + Immutable + ?Sized,
        O: FromBytes,
    {
        self.call_with_variable_header(io, code, input, &[])
    }

    /// A memory-based simple call whose input header has a variable part (TLFS 3.7.1):
    /// `variable` follows the fixed header, padded to 8 bytes; the control word's variable
    /// header size is set from its length.
    ///
    /// # Errors
    ///
    /// As [`Hypercalls::call`], plus [`CallError::VariableHeaderTooLarge`].
    pub fn call_with_variable_header<I, O>(
        &self,
        io: &mut IoPages<'_>,
        code: HvCallCode,
        fixed: &I,
        variable: &[u8],
    ) -> Result<O, CallError>
    where
        I: IntoBytes + Immutable + ?Sized,
        O: FromBytes,
    {
        write_header(io.input.bytes_mut(), fixed.as_bytes(), variable)?;
        let too_large = CallError::OutputTooLarge {
            len: size_of::<O>(),
            max: HV_PAGE_SIZE,
        };
        if size_of::<O>() > HV_PAGE_SIZE {
            return Err(too_large);
        }
        let control = HvHypercallInput::new()
            .with_call_code(code)
            .with_variable_header_size(variable_qwords(variable.len())?);
        let (input_gpa, output_gpa) = io.expose();
        self.invoke(control, input_gpa, output_gpa).result()?;
        O::read_from_prefix(io.output.bytes())
            .map(|(o, _)| o)
            .map_err(|_| too_large)
    }

    /// A memory-based rep call (TLFS 3.2, 3.7): `header` (fixed header) followed by the
    /// `input` list in the input page, the `output` list in the output page. The rep count is
    /// the list length; when both lists are non-empty they must have the same length.
    ///
    /// Lists longer than a page (or than the 12-bit rep count) are issued as several calls,
    /// which the TLFS allows because reps are independent actions (TLFS 3.4). Each call is
    /// resumed from the host's "reps completed" until it is done.
    ///
    /// # Errors
    ///
    /// A [`RepError`] saying why the call stopped and how many elements completed.
    pub fn rep_call<H, I, O>(
        &self,
        io: &mut IoPages<'_>,
        code: HvCallCode,
        header: &H,
        input: &[I],
        output: &mut [O],
    ) -> Result<(), RepError>
    where
        H: IntoBytes + Immutable + ?Sized,
        I: IntoBytes + Immutable,
        O: FromBytes + IntoBytes,
    {
        self.rep_call_with_variable_header(io, code, header, &[], input, output)
    }

    /// [`Hypercalls::rep_call`] with a variable header part (TLFS 3.7.1).
    ///
    /// # Errors
    ///
    /// A [`RepError`] saying why the call stopped and how many elements completed.
    pub fn rep_call_with_variable_header<H, I, O>(
        &self,
        io: &mut IoPages<'_>,
        code: HvCallCode,
        header: &H,
        variable: &[u8],
        input: &[I],
        output: &mut [O],
    ) -> Result<(), RepError>
    where
        H: IntoBytes + Immutable + ?Sized,
        I: IntoBytes + Immutable,
        O: FromBytes + IntoBytes,
    {
        let fail = |error| RepError {
            error,
            completed: 0,
        };
        let total = rep_total(input.len(), output.len()).map_err(fail)?;
        let header_len =
            write_header(io.input.bytes_mut(), header.as_bytes(), variable).map_err(fail)?;
        let var_qwords = variable_qwords(variable.len()).map_err(fail)?;
        let per_call = reps_per_page(header_len, size_of::<I>(), size_of::<O>()).map_err(fail)?;

        let mut done = 0;
        while done < total {
            let chunk = (total - done).min(per_call);
            if !input.is_empty() {
                let bytes = input[done..done + chunk].as_bytes();
                io.input.bytes_mut()[header_len..header_len + bytes.len()].copy_from_slice(bytes);
            }
            let count = u16::try_from(chunk).map_err(|_| fail(CallError::EmptyRepList))?;
            let base = HvHypercallInput::new()
                .with_call_code(code)
                .with_variable_header_size(var_qwords)
                .with_rep_count(count);
            let (input_gpa, output_gpa) = io.expose();
            let result = self.resume_rep(base, count, |control| {
                self.invoke(control, input_gpa, output_gpa)
            });
            // Output of the completed reps is valid even when a later rep failed (TLFS 3.2:
            // the count says how many elements were processed).
            let completed = match result {
                Ok(()) => chunk,
                Err((_, completed)) => usize::from(completed),
            };
            if !output.is_empty() {
                let dst = output[done..done + completed].as_mut_bytes();
                dst.copy_from_slice(&io.output.bytes()[..dst.len()]);
            }
            if let Err((error, _)) = result {
                return Err(RepError {
                    error,
                    completed: done + completed,
                });
            }
            done += chunk;
        }
        Ok(())
    }

    /// Drives one rep call to completion from rep start 0: re-issues it with the rep start
    /// index set to the host's "reps completed" while the host returns success early.
    ///
    /// Returns the error and the reps completed when the host fails an element.
    fn resume_rep(
        &self,
        base: HvHypercallInput,
        count: u16,
        mut issue: impl FnMut(HvHypercallInput) -> HvHypercallOutput,
    ) -> Result<(), (CallError, u16)> {
        let mut start = 0;
        loop {
            let output = issue(base.with_rep_start_index(start));
            let completed = output.reps_completed();
            if let Err(error) = output.result() {
                // A failing host may still report nonsense; clamp to what was asked.
                return Err((CallError::Hv(error), completed.clamp(start, count)));
            }
            if completed <= start || completed > count {
                let bad = CallError::BadRepsCompleted {
                    start,
                    completed,
                    count,
                };
                return Err((bad, start));
            }
            if completed == count {
                return Ok(());
            }
            start = completed;
        }
    }

    /// A register-based fast call with up to 16 bytes of input and no output (TLFS 3.7).
    ///
    /// # Errors
    ///
    /// [`CallError::InputTooLarge`] above 16 bytes, [`CallError::Hv`] on failure.
    pub fn fast<I>(&self, code: HvCallCode, input: &I) -> Result<(), CallError>
    where
        I: IntoBytes + Immutable + ?Sized,
    {
        let bytes = input.as_bytes();
        if bytes.len() > HV_HYPERCALL_FAST_INPUT_BYTES {
            return Err(CallError::InputTooLarge {
                len: bytes.len(),
                max: HV_HYPERCALL_FAST_INPUT_BYTES,
            });
        }
        let mut regs = [0u64; 2];
        regs.as_mut_bytes()[..bytes.len()].copy_from_slice(bytes);
        let control = HvHypercallInput::new().with_call_code(code).with_fast(true);
        self.invoke(control, regs[0], regs[1]).result()?;
        Ok(())
    }

    /// An XMM fast simple call: `input` (with an optional variable header part, counted in
    /// `variable_bytes` at its end) is placed in RDX, R8 and XMM0–XMM5; returns the registers
    /// after the input as output (TLFS 3.7.2, 3.8.1).
    ///
    /// # Errors
    ///
    /// [`CallError::XmmUnavailable`] when the partition lacks XMM fast input,
    /// [`CallError::InputTooLarge`] above 112 bytes, [`CallError::Hv`] on failure.
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    pub fn xmm(
        &self,
        code: HvCallCode,
        input: &[u8],
        variable_bytes: usize,
    ) -> Result<XmmOutput, CallError> {
        let mut block = self.xmm_block(input)?;
        let control = HvHypercallInput::new()
            .with_call_code(code)
            .with_fast(true)
            .with_variable_header_size(variable_qwords(variable_bytes)?);
        self.invoke_xmm(control, &mut block).result()?;
        Ok(XmmOutput {
            block,
            offset: input.len().next_multiple_of(16),
        })
    }

    /// An XMM fast call returning a typed output read from the registers after the input.
    ///
    /// # Errors
    ///
    /// As [`Hypercalls::xmm`], plus [`CallError::XmmUnavailable`] when the partition lacks XMM
    /// fast output and [`CallError::OutputTooLarge`] when `O` does not fit after the input.
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    pub fn xmm_with_output<I, O>(&self, code: HvCallCode, input: &I) -> Result<O, CallError>
    where
        I: IntoBytes + Immutable + ?Sized,
        O: FromBytes,
    {
        if !self.xmm_output {
            return Err(CallError::XmmUnavailable);
        }
        let bytes = input.as_bytes();
        let room = HV_HYPERCALL_XMM_BLOCK_BYTES.saturating_sub(bytes.len().next_multiple_of(16));
        let too_large = CallError::OutputTooLarge {
            len: size_of::<O>(),
            max: room,
        };
        if size_of::<O>() > room {
            return Err(too_large);
        }
        let output = self.xmm(code, bytes, 0)?;
        O::read_from_prefix(output.bytes())
            .map(|(o, _)| o)
            .map_err(|_| too_large)
    }

    /// An XMM fast rep call with input elements only (e.g. a flush list): `header` (whose
    /// last `variable_bytes` are the variable header part) followed by `elements`, all in
    /// registers. Resumed like [`Hypercalls::rep_call`].
    ///
    /// # Errors
    ///
    /// A [`RepError`]; [`CallError::InputTooLarge`] when header and elements exceed 112 bytes.
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    pub fn xmm_rep<E>(
        &self,
        code: HvCallCode,
        header: &[u8],
        variable_bytes: usize,
        elements: &[E],
    ) -> Result<(), RepError>
    where
        E: IntoBytes + Immutable,
    {
        let fail = |error| RepError {
            error,
            completed: 0,
        };
        if elements.is_empty() {
            return Err(fail(CallError::EmptyRepList));
        }
        let header_len = pad8(header.len());
        let elems = elements.as_bytes();
        let len = header_len + elems.len();
        if len > HV_HYPERCALL_XMM_BLOCK_BYTES {
            return Err(fail(CallError::InputTooLarge {
                len,
                max: HV_HYPERCALL_XMM_BLOCK_BYTES,
            }));
        }
        let mut input = [0u8; HV_HYPERCALL_XMM_BLOCK_BYTES];
        input[..header.len()].copy_from_slice(header);
        input[header_len..len].copy_from_slice(elems);
        let template = self.xmm_block(&input[..len]).map_err(fail)?;
        let count = u16::try_from(elements.len()).map_err(|_| fail(CallError::EmptyRepList))?;
        let base = HvHypercallInput::new()
            .with_call_code(code)
            .with_fast(true)
            .with_variable_header_size(variable_qwords(variable_bytes).map_err(fail)?)
            .with_rep_count(count);
        self.resume_rep(base, count, |control| {
            // Input registers are reloaded on every issue: a host may have used them for
            // output (TLFS 3.9).
            let mut block = template;
            self.invoke_xmm(control, &mut block)
        })
        .map_err(|(error, completed)| RepError {
            error,
            completed: usize::from(completed),
        })
    }

    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    /// An XMM fast rep call with an output list, everything in registers (TLFS 3.7.2,
    /// 3.8.1.2): `header` (padded to 8 bytes) followed by the `input` elements in RDX, R8 and
    /// XMM0–XMM5; the hypervisor returns `output[i]` for each rep in the registers after
    /// the input, which starts at the input size rounded up to 16 bytes. The rep count is
    /// the list length (both lists must have it when both are non-empty). Resumed like
    /// [`Hypercalls::rep_call`]; the output of each rep is taken from the registers of the
    /// issue that completed it.
    ///
    /// # Errors
    ///
    /// A [`RepError`]: [`CallError::XmmUnavailable`] without XMM fast input and output,
    /// [`CallError::InputTooLarge`]/[`CallError::OutputTooLarge`] when input and output do
    /// not fit in 112 bytes, or the hypervisor's status. The outputs of the reps it counts as
    /// completed are valid.
    pub fn xmm_rep_with_output<E, O>(
        &self,
        code: HvCallCode,
        header: &[u8],
        input: &[E],
        output: &mut [O],
    ) -> Result<(), RepError>
    where
        E: IntoBytes + Immutable,
        O: FromBytes + IntoBytes,
    {
        let fail = |error| RepError {
            error,
            completed: 0,
        };
        if !self.xmm_output {
            return Err(fail(CallError::XmmUnavailable));
        }
        let total = rep_total(input.len(), output.len()).map_err(fail)?;
        let header_len = pad8(header.len());
        let elems = input.as_bytes();
        let in_len = header_len + elems.len();
        if in_len > HV_HYPERCALL_XMM_BLOCK_BYTES {
            return Err(fail(CallError::InputTooLarge {
                len: in_len,
                max: HV_HYPERCALL_XMM_BLOCK_BYTES,
            }));
        }
        let out_offset = in_len.next_multiple_of(16);
        let out_size = size_of::<O>();
        let room = HV_HYPERCALL_XMM_BLOCK_BYTES.saturating_sub(out_offset);
        if total * out_size > room {
            return Err(fail(CallError::OutputTooLarge {
                len: total * out_size,
                max: room,
            }));
        }
        let mut bytes = [0u8; HV_HYPERCALL_XMM_BLOCK_BYTES];
        bytes[..header.len()].copy_from_slice(header);
        bytes[header_len..in_len].copy_from_slice(elems);
        let template = self.xmm_block(&bytes[..in_len]).map_err(fail)?;
        let count = u16::try_from(total).map_err(|_| fail(CallError::EmptyRepList))?;
        let base = HvHypercallInput::new()
            .with_call_code(code)
            .with_fast(true)
            .with_rep_count(count);
        self.resume_rep(base, count, |control| {
            // Input registers are reloaded on every issue: the host used some for output.
            let mut block = template;
            let result = self.invoke_xmm(control, &mut block);
            // Only the reps this issue completed have their output in the registers; a
            // host reporting impossible progress gets nothing copied (and an error from
            // `resume_rep`).
            let start = usize::from(control.rep_start_index());
            let done = usize::from(result.reps_completed()).min(total);
            for (i, element) in output.iter_mut().enumerate().take(done).skip(start) {
                let at = out_offset + i * out_size;
                element
                    .as_mut_bytes()
                    .copy_from_slice(&block.as_bytes()[at..at + out_size]);
            }
            result
        })
        .map_err(|(error, completed)| RepError {
            error,
            completed: usize::from(completed),
        })
    }

    /// Packs `input` into an XMM block, checking availability and size.
    #[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
    fn xmm_block(&self, input: &[u8]) -> Result<XmmBlock, CallError> {
        if !self.xmm_input {
            return Err(CallError::XmmUnavailable);
        }
        if input.len() > HV_HYPERCALL_XMM_BLOCK_BYTES {
            return Err(CallError::InputTooLarge {
                len: input.len(),
                max: HV_HYPERCALL_XMM_BLOCK_BYTES,
            });
        }
        let mut block = XmmBlock::default();
        block.as_bytes_mut()[..input.len()].copy_from_slice(input);
        Ok(block)
    }
}

/// Writes the fixed header and the 8-byte padded variable header to the start of `page`;
/// returns the total header length (a multiple of 8).
fn write_header(
    page: &mut [u8; HV_PAGE_SIZE],
    fixed: &[u8],
    variable: &[u8],
) -> Result<usize, CallError> {
    let fixed_len = pad8(fixed.len());
    let len = fixed_len + pad8(variable.len());
    if len > HV_PAGE_SIZE {
        return Err(CallError::InputTooLarge {
            len,
            max: HV_PAGE_SIZE,
        });
    }
    page[..len].fill(0);
    page[..fixed.len()].copy_from_slice(fixed);
    page[fixed_len..fixed_len + variable.len()].copy_from_slice(variable);
    Ok(len)
}

/// The control word's variable header size: bytes rounded up to quadwords (TLFS 3.7.1).
fn variable_qwords(bytes: usize) -> Result<u16, CallError> {
    u16::try_from(pad8(bytes) / 8)
        .ok()
        .filter(|&q| q <= HV_HYPERCALL_VARIABLE_HEADER_MAX)
        .ok_or(CallError::VariableHeaderTooLarge { len: bytes })
}

/// The number of reps of a call with these list lengths.
fn rep_total(input: usize, output: usize) -> Result<usize, CallError> {
    match (input, output) {
        (0, 0) => Err(CallError::EmptyRepList),
        (n, 0) | (0, n) => Ok(n),
        (i, o) if i == o => Ok(i),
        (i, o) => Err(CallError::RepCountMismatch {
            input: i,
            output: o,
        }),
    }
}

/// How many reps fit in one call: the input page after the header, the output page, and
/// the 12-bit rep count.
fn reps_per_page(header_len: usize, in_size: usize, out_size: usize) -> Result<usize, CallError> {
    let by_input = (HV_PAGE_SIZE - header_len)
        .checked_div(in_size)
        .unwrap_or(usize::MAX);
    let by_output = HV_PAGE_SIZE.checked_div(out_size).unwrap_or(usize::MAX);
    let per_call = by_input
        .min(by_output)
        .min(usize::from(HV_HYPERCALL_REP_MAX));
    if per_call == 0 {
        let len = header_len + in_size.max(out_size);
        return Err(CallError::InputTooLarge {
            len,
            max: HV_PAGE_SIZE,
        });
    }
    Ok(per_call)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::cell::RefCell;
    use std::rc::Rc;
    use std::vec;
    use std::vec::Vec;

    use hv_defs::register::{HvRegisterName, HvRegisterValue};
    use hv_defs::status::HvStatus;

    use super::*;
    use crate::testing::{Event, FakePlatform};

    fn hypercalls(
        fake: &FakePlatform,
        xmm_input: bool,
        xmm_output: bool,
    ) -> Hypercalls<'_, FakePlatform> {
        // SAFETY: the fake never executes the entry and accepts XMM calls when told to.
        unsafe { Hypercalls::new(fake, FakePlatform::entry(), xmm_input, xmm_output) }
    }

    /// RAX for a call that completed `reps` reps with `status`.
    fn rax(status: HvStatus, reps: u16) -> u64 {
        HvHypercallOutput::new()
            .with_status(status)
            .with_reps_completed(reps)
            .into_bits()
    }

    #[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
    #[repr(C)]
    struct Pair {
        a: u64,
        b: u32,
        c: u32,
    }

    #[test]
    fn memory_call_copies_input_and_decodes_output() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let (in_gpa, out_gpa) = (io.input.gpa(), io.output.gpa());
        fake.on_hypercall(|fake, ctx| {
            assert_eq!(
                ctx.read(fake, ctx.rdx, 16),
                [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]
            );
            ctx.write(fake, ctx.r8, &0x1122_3344_5566_7788u64.to_le_bytes());
            rax(HvStatus::SUCCESS, 0)
        });
        let hc = hypercalls(&fake, false, false);
        let out: u64 = hc
            .call(
                &mut io,
                HvCallCode::HvCallGetPartitionId,
                &Pair { a: 1, b: 2, c: 3 },
            )
            .unwrap();
        assert_eq!(out, 0x1122_3344_5566_7788);
        assert_eq!(fake.log(), vec![Event::Hypercall(0x0046, in_gpa, out_gpa)]);
    }

    #[test]
    fn failed_call_returns_the_status_and_never_the_output() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        fake.on_hypercall(|fake, ctx| {
            ctx.write(fake, ctx.r8, &[0xEE; 8]);
            rax(HvStatus::ACCESS_DENIED, 0)
        });
        let hc = hypercalls(&fake, false, false);
        let out: Result<u64, _> = hc.call(&mut io, HvCallCode::HvCallGetPartitionId, &0u64);
        assert_eq!(out, Err(CallError::Hv(HvError::ACCESS_DENIED)));
    }

    #[test]
    fn variable_header_is_padded_and_sized_in_the_control_word() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        fake.on_hypercall(|fake, ctx| {
            let control = HvHypercallInput::from_bits(ctx.control);
            assert_eq!(control.variable_header_size(), 2);
            let page = ctx.read(fake, ctx.rdx, 32);
            assert_eq!(&page[..8], &7u64.to_le_bytes());
            assert_eq!(&page[8..19], &[9; 11]);
            assert_eq!(&page[19..32], &[0; 13], "padding is zeroed");
            rax(HvStatus::SUCCESS, 0)
        });
        let hc = hypercalls(&fake, false, false);
        let () = hc
            .call_with_variable_header(
                &mut io,
                HvCallCode::HvCallFlushVirtualAddressSpaceEx,
                &7u64,
                &[9; 11],
            )
            .unwrap();
        assert_eq!(
            fake.log()[0],
            Event::Hypercall(0x0004_0013, io.input.gpa(), io.output.gpa())
        );
    }

    /// A host that completes `per_call` reps per hypercall, answering register `n` with
    /// value `n * 10`, and records each control word.
    fn register_host(fake: &FakePlatform, per_call: u16, controls: Rc<RefCell<Vec<u64>>>) {
        fake.on_hypercall(move |fake, ctx| {
            controls.borrow_mut().push(ctx.control);
            let control = HvHypercallInput::from_bits(ctx.control);
            let (start, count) = (control.rep_start_index(), control.rep_count());
            let end = (start + per_call).min(count);
            for rep in start..end {
                let name = ctx.read(fake, ctx.rdx + 16 + u64::from(rep) * 4, 4);
                let value = u64::from(u32::from_le_bytes(name.try_into().unwrap())) * 10;
                ctx.write(
                    fake,
                    ctx.r8 + u64::from(rep) * 16,
                    HvRegisterValue::from_u64(value).as_bytes(),
                );
            }
            rax(HvStatus::SUCCESS, end)
        });
    }

    #[test]
    fn rep_call_resumes_after_partial_completion() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let controls = Rc::new(RefCell::new(Vec::new()));
        register_host(&fake, 1, controls.clone());
        let names = [
            HvRegisterName::new(1),
            HvRegisterName::new(2),
            HvRegisterName::new(3),
        ];
        let mut values = [HvRegisterValue::default(); 3];
        let hc = hypercalls(&fake, false, false);
        hc.rep_call(
            &mut io,
            HvCallCode::HvCallGetVpRegisters,
            &[0u64; 2],
            &names,
            &mut values,
        )
        .unwrap();
        assert_eq!(values.map(HvRegisterValue::as_u64), [10, 20, 30]);
        // Golden control words: code 0x50, rep count 3, rep start 0, 1, 2.
        assert_eq!(
            *controls.borrow(),
            [
                0x0000_0003_0000_0050,
                0x0001_0003_0000_0050,
                0x0002_0003_0000_0050
            ]
        );
    }

    #[test]
    fn rep_lists_longer_than_a_page_are_split() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let controls = Rc::new(RefCell::new(Vec::new()));
        register_host(&fake, 4095, controls.clone());
        let names: Vec<HvRegisterName> = (0..300).map(HvRegisterName::new).collect();
        let mut values = vec![HvRegisterValue::default(); 300];
        let hc = hypercalls(&fake, false, false);
        hc.rep_call(
            &mut io,
            HvCallCode::HvCallGetVpRegisters,
            &[0u64; 2],
            &names,
            &mut values,
        )
        .unwrap();
        assert!(
            values
                .iter()
                .enumerate()
                .all(|(i, v)| v.as_u64() == i as u64 * 10)
        );
        // 16-byte outputs: 256 fit in the output page, then the remaining 44.
        assert_eq!(
            *controls.borrow(),
            [0x0000_0100_0000_0050, 0x0000_002C_0000_0050]
        );
    }

    #[test]
    fn rep_failure_reports_the_completed_count_and_keeps_their_output() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        fake.on_hypercall(|fake, ctx| {
            ctx.write(fake, ctx.r8, HvRegisterValue::from_u64(5).as_bytes());
            rax(HvStatus::INVALID_PARAMETER, 1)
        });
        let mut values = [HvRegisterValue::default(); 2];
        let hc = hypercalls(&fake, false, false);
        let err = hc
            .rep_call(
                &mut io,
                HvCallCode::HvCallGetVpRegisters,
                &[0u64; 2],
                &[HvRegisterName::new(1); 2],
                &mut values,
            )
            .unwrap_err();
        assert_eq!(
            err,
            RepError {
                error: CallError::Hv(HvError::INVALID_PARAMETER),
                completed: 1
            }
        );
        assert_eq!(values[0].as_u64(), 5);
    }

    #[test]
    fn a_host_that_makes_no_progress_gets_an_error_not_a_loop() {
        for bad in [0u16, 7] {
            let fake = FakePlatform::new();
            let mut io = fake.io_pages();
            fake.on_hypercall(move |_, _| rax(HvStatus::SUCCESS, bad));
            let mut values = [HvRegisterValue::default(); 2];
            let hc = hypercalls(&fake, false, false);
            let err = hc
                .rep_call(
                    &mut io,
                    HvCallCode::HvCallGetVpRegisters,
                    &[0u64; 2],
                    &[HvRegisterName::new(1); 2],
                    &mut values,
                )
                .unwrap_err();
            assert_eq!(
                err.error,
                CallError::BadRepsCompleted {
                    start: 0,
                    completed: bad,
                    count: 2
                }
            );
            assert_eq!(err.completed, 0);
            assert_eq!(fake.log().len(), 1);
        }
    }

    #[test]
    fn inconsistent_or_empty_rep_lists_are_refused_before_any_call() {
        let fake = FakePlatform::new();
        let mut io = fake.io_pages();
        let hc = hypercalls(&fake, false, false);
        let mut two = [HvRegisterValue::default(); 2];
        let err = hc
            .rep_call(
                &mut io,
                HvCallCode::HvCallGetVpRegisters,
                &0u64,
                &[HvRegisterName::new(1); 3],
                &mut two,
            )
            .unwrap_err();
        assert_eq!(
            err.error,
            CallError::RepCountMismatch {
                input: 3,
                output: 2
            }
        );
        let err = hc
            .rep_call::<_, u64, u64>(
                &mut io,
                HvCallCode::HvCallGetVpRegisters,
                &0u64,
                &[],
                &mut [],
            )
            .unwrap_err();
        assert_eq!(err.error, CallError::EmptyRepList);
        let huge = [0u8; 4097];
        let err: Result<(), _> = hc.call(&mut io, HvCallCode::HvCallPostMessage, &huge[..]);
        assert_eq!(
            err,
            Err(CallError::InputTooLarge {
                len: 4104,
                max: 4096
            })
        );
        assert!(fake.log().is_empty());
    }

    #[test]
    fn fast_call_passes_input_in_rdx_and_r8() {
        let fake = FakePlatform::new();
        fake.on_hypercall(|_, _| rax(HvStatus::SUCCESS, 0));
        let hc = hypercalls(&fake, false, false);
        hc.fast(HvCallCode::HvCallSignalEvent, &[0x0000_0001_0000_0005u64])
            .unwrap();
        hc.fast(HvCallCode::HvCallNotifyLongSpinWait, &[3u64, 4])
            .unwrap();
        assert_eq!(
            fake.log(),
            vec![
                Event::Hypercall(0x0001_005D, 0x0000_0001_0000_0005, 0),
                Event::Hypercall(0x0001_0008, 3, 4),
            ]
        );
        assert_eq!(
            hc.fast(HvCallCode::HvCallSignalEvent, &[0u64; 3]),
            Err(CallError::InputTooLarge { len: 24, max: 16 })
        );
    }

    #[test]
    fn xmm_calls_need_the_feature_and_return_registers_after_the_input() {
        let fake = FakePlatform::new();
        let hc = hypercalls(&fake, false, false);
        assert_eq!(
            hc.xmm(HvCallCode::HvCallFlushVirtualAddressSpaceEx, &[0; 24], 0),
            Err(CallError::XmmUnavailable)
        );

        fake.on_hypercall(|_, ctx| {
            let block = ctx.xmm.as_deref_mut().unwrap();
            assert_eq!(block.qwords[..3], [1, 2, 3]);
            block.qwords[4] = 0xAB;
            rax(HvStatus::SUCCESS, 0)
        });
        let hc = hypercalls(&fake, true, true);
        let input: Vec<u8> = [1u64, 2, 3].iter().flat_map(|q| q.to_le_bytes()).collect();
        let out: u64 = hc
            .xmm_with_output(HvCallCode::HvCallGetVpIndexFromApicId, &input[..])
            .unwrap();
        // 24 input bytes round up to 32: output starts at XMM1 (qword 4).
        assert_eq!(out, 0xAB);
        let Event::HypercallXmm(control, _) = fake.log()[0].clone() else {
            panic!("not an XMM call")
        };
        assert_eq!(control, 0x0001_009A);
    }

    #[test]
    fn xmm_rep_call_resumes_and_reloads_its_input() {
        let fake = FakePlatform::new();
        let starts = Rc::new(RefCell::new(Vec::new()));
        let seen = starts.clone();
        fake.on_hypercall(move |_, ctx| {
            let control = HvHypercallInput::from_bits(ctx.control);
            let block = ctx.xmm.as_deref_mut().unwrap();
            seen.borrow_mut()
                .push((control.rep_start_index(), block.qwords[3]));
            block.qwords[3] = 0xDEAD; // output may overwrite input registers
            rax(HvStatus::SUCCESS, control.rep_start_index() + 1)
        });
        let hc = hypercalls(&fake, true, false);
        hc.xmm_rep(
            HvCallCode::HvCallFlushVirtualAddressListEx,
            &[0; 24],
            8,
            &[0x1000u64, 0x2000],
        )
        .unwrap();
        assert_eq!(*starts.borrow(), [(0, 0x1000), (1, 0x1000)]);
        let Event::HypercallXmm(control, _) = fake.log()[0].clone() else {
            panic!("not an XMM call")
        };
        assert_eq!(control, 0x0000_0002_0003_0014);
    }

    #[test]
    fn xmm_rep_with_output_takes_each_reps_output_from_the_issue_that_completed_it() {
        let fake = FakePlatform::new();
        let starts = Rc::new(RefCell::new(Vec::new()));
        let seen = starts.clone();
        // Two names after a 16-byte header: input 24 bytes, output list at byte 32.
        fake.on_hypercall(move |_, ctx| {
            let control = HvHypercallInput::from_bits(ctx.control);
            let start = control.rep_start_index();
            let block = ctx.xmm.as_deref_mut().unwrap();
            let bytes = block.as_bytes_mut();
            seen.borrow_mut().push((start, bytes[16], bytes[20]));
            // Garbage everywhere in the output area, then this issue's one element.
            bytes[32..].fill(0xEE);
            let at = 32 + 16 * usize::from(start);
            bytes[at..at + 16].copy_from_slice(&(u128::from(start) + 0x100).to_le_bytes());
            rax(HvStatus::SUCCESS, start + 1)
        });
        let hc = hypercalls(&fake, true, true);
        let mut out = [0u128; 2];
        hc.xmm_rep_with_output(
            HvCallCode::HvCallGetVpRegisters,
            &[0xAB; 16],
            &[7u32, 9u32],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0x100, 0x101]);
        // The input is reloaded for the second issue.
        assert_eq!(*starts.borrow(), [(0, 7, 9), (1, 7, 9)]);
        let Event::HypercallXmm(control, block) = fake.log()[0].clone() else {
            panic!("not an XMM call")
        };
        assert_eq!(control, 0x0000_0002_0001_0050);
        assert_eq!(block.as_bytes()[..16], [0xAB; 16]);
    }

    #[test]
    fn xmm_rep_with_output_checks_features_and_room_before_calling() {
        let fake = FakePlatform::new();
        let mut out = [0u128; 5];
        let names = [0u32; 5];
        let no_output = hypercalls(&fake, true, false);
        let err = no_output
            .xmm_rep_with_output(HvCallCode::HvCallGetVpRegisters, &[0; 16], &names, &mut out)
            .unwrap_err();
        assert_eq!(err.error, CallError::XmmUnavailable);
        // 16 + 20 bytes of input leave 112 - 48 = 64 bytes: four 16-byte outputs, not five.
        let hc = hypercalls(&fake, true, true);
        let err = hc
            .xmm_rep_with_output(HvCallCode::HvCallGetVpRegisters, &[0; 16], &names, &mut out)
            .unwrap_err();
        assert_eq!(err.error, CallError::OutputTooLarge { len: 80, max: 64 });
        let err = hc
            .xmm_rep_with_output(
                HvCallCode::HvCallGetVpRegisters,
                &[0; 16],
                &names[..2],
                &mut out,
            )
            .unwrap_err();
        assert_eq!(
            err.error,
            CallError::RepCountMismatch {
                input: 2,
                output: 5
            }
        );
        assert!(fake.log().is_empty());
    }
}
