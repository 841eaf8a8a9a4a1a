//! Capturing the caller's long-mode state as an initial VP context (TLFS 7.10.3
//! `HV_INITIAL_VP_CONTEXT`, used by `HvCallEnableVpVtl` 15.15.4 and
//! `HvCallStartVirtualProcessor` 7.10.3).
//!
//! The context carries the hidden part of every segment register (base, limit, attributes),
//! which no instruction reads directly. [`InitialVpContextBuilder::capture`] reads the visible
//! state through the small [`X64CpuState`] trait (selectors, control registers, EFER, PAT,
//! GDTR, IDTR, FS/GS bases and GDT entries) and decodes the hidden parts from the GDT
//! descriptors the selectors name, exactly as the processor did when it loaded them. The
//! decoding is plain safe code, unit-tested with the fake's fixed state; the real reads live
//! in [`crate::arch::x86_64`].

use hv_defs::vp::{HvInitialVpContext, HvX64SegmentRegister, HvX64TableRegister};

/// The visible x64 state a context is captured from: what `MOV from CRn`, `RDMSR`, `SGDT`,
/// `SIDT`, `STR`, `SLDT` and segment register moves return.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct X64SystemState {
    /// CR0.
    pub cr0: u64,
    /// CR3 (page table root and PCID or PWT/PCD bits).
    pub cr3: u64,
    /// CR4.
    pub cr4: u64,
    /// IA32_EFER (MSR 0xC000_0080).
    pub efer: u64,
    /// IA32_PAT (MSR 0x277).
    pub pat: u64,
    /// GDTR: base and limit.
    pub gdtr: HvX64TableRegister,
    /// IDTR: base and limit.
    pub idtr: HvX64TableRegister,
    /// Selectors of CS, DS, ES, FS, GS, SS, TR and LDTR, in that order.
    pub selectors: X64Selectors,
    /// IA32_FS_BASE (MSR 0xC000_0100): the FS base in 64-bit mode.
    pub fs_base: u64,
    /// IA32_GS_BASE (MSR 0xC000_0101): the GS base in 64-bit mode.
    pub gs_base: u64,
}

/// The eight segment selectors an initial VP context names (TLFS 7.10.3).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct X64Selectors {
    /// CS.
    pub cs: u16,
    /// DS.
    pub ds: u16,
    /// ES.
    pub es: u16,
    /// FS.
    pub fs: u16,
    /// GS.
    pub gs: u16,
    /// SS.
    pub ss: u16,
    /// TR.
    pub tr: u16,
    /// LDTR.
    pub ldtr: u16,
}

/// Reads the calling processor's state for [`InitialVpContextBuilder::capture`].
///
/// Implemented by [`crate::arch::x86_64::X64`] (the running processor) and by the fake CPU
/// of the `testing` module (fixed values).
pub trait X64CpuState {
    /// The visible register state.
    fn system_state(&self) -> X64SystemState;

    /// The 8-byte GDT entry at `index` (selector bits 15:3), or `None` when it lies beyond
    /// the GDT limit.
    fn gdt_entry(&self, index: u16) -> Option<u64>;
}

/// Why the caller's state could not be captured.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CaptureError {
    /// The processor is not in 64-bit long mode (CR0.PE and PG, EFER.LMA, CS.L): the builder
    /// captures long-mode state only (TLFS 15.11.3: VTLs above 0 do not run in real mode).
    NotLongMode,
    /// A selector names a GDT entry beyond the GDT limit (a 16-byte system descriptor needs
    /// both of its entries).
    SelectorBeyondGdt {
        /// The selector.
        selector: u16,
    },
    /// A selector names the LDT (TI set), whose descriptors the builder does not read.
    LdtSelector {
        /// The selector.
        selector: u16,
    },
}

impl core::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotLongMode => f.write_str("the processor is not in 64-bit long mode"),
            Self::SelectorBeyondGdt { selector } => {
                write!(f, "selector {selector:#06x} lies beyond the GDT limit")
            }
            Self::LdtSelector { selector } => {
                write!(f, "selector {selector:#06x} names the LDT")
            }
        }
    }
}

impl core::error::Error for CaptureError {}

/// CR0.PE, bit 0.
const CR0_PE: u64 = 1 << 0;
/// CR0.PG, bit 31.
const CR0_PG: u64 = 1 << 31;
/// EFER.LMA, bit 10.
const EFER_LMA: u64 = 1 << 10;
/// The L (64-bit code) bit of [`HvX64SegmentRegister::attributes`], bit 13.
const ATTR_LONG: u16 = 1 << 13;
/// The S (code or data, not system) bit of the attributes, bit 4.
const ATTR_CODE_DATA: u16 = 1 << 4;
/// Selector bit 2: the selector names the LDT.
const SELECTOR_TI: u16 = 1 << 2;
/// RFLAGS with only the always-one bit 1 set: interrupts masked, no flags.
const RFLAGS_INITIAL: u64 = 1 << 1;

/// Decodes the hidden part of the segment register loaded with `selector` from the
/// descriptor(s) it names (Intel SDM vol. 3 3.4.5 and 8.2.3; attribute layout TLFS 7.9.5):
///
/// * attributes: descriptor bits 47:40 (type, S, DPL, P) as bits 7:0 and bits 55:52 (AVL, L,
///   D/B, G) as bits 15:12;
/// * limit: bits 15:0 and 51:48, scaled to bytes (`limit << 12 | 0xFFF`) when G is set;
/// * base: bits 39:16 and 63:56, plus bits 63:32 from the next entry for a system
///   descriptor (TSS, LDT), which is 16 bytes in long mode.
///
/// A null selector (index 0 in the GDT) decodes as an unusable segment: zero attributes
/// (P clear), base and limit zero.
fn decode_segment<S: X64CpuState + ?Sized>(
    cpu: &S,
    selector: u16,
) -> Result<HvX64SegmentRegister, CaptureError> {
    if selector & SELECTOR_TI != 0 {
        return Err(CaptureError::LdtSelector { selector });
    }
    let index = selector >> 3;
    if index == 0 {
        return Ok(HvX64SegmentRegister {
            selector,
            ..HvX64SegmentRegister::default()
        });
    }
    let beyond = CaptureError::SelectorBeyondGdt { selector };
    let low = cpu.gdt_entry(index).ok_or(beyond)?;
    let attributes = (((low >> 40) & 0xFF) | (((low >> 52) & 0xF) << 12)) as u16;
    let raw_limit = ((low & 0xFFFF) | (((low >> 48) & 0xF) << 16)) as u32;
    let granular = attributes & (1 << 15) != 0;
    let limit = if granular {
        (raw_limit << 12) | 0xFFF
    } else {
        raw_limit
    };
    let mut base = ((low >> 16) & 0x00FF_FFFF) | (((low >> 56) & 0xFF) << 24);
    if attributes & ATTR_CODE_DATA == 0 {
        let high = cpu.gdt_entry(index + 1).ok_or(beyond)?;
        base |= (high & 0xFFFF_FFFF) << 32;
    }
    Ok(HvX64SegmentRegister {
        base,
        limit,
        selector,
        attributes,
    })
}

/// Builds the [`HvInitialVpContext`] a VP starts a VTL (or starts running) with, from the
/// caller's own long-mode state (TLFS 7.10.3, 15.15.4).
///
/// The captured context runs the new VTL in the caller's address space (same CR3), with the
/// caller's GDT, IDT, TSS, CR0/CR4, EFER and PAT, at the given RIP and RSP, with RFLAGS =
/// 0x2 (interrupts masked). Override CR3 or IDTR when the new VTL brings its own.
///
/// # Example
///
/// A processor in long mode whose GDT holds a null entry and a 64-bit code segment (on
/// real hardware, [`crate::arch::x86_64::X64`] reads these):
///
/// ```
/// use hv_guest::vsm::{InitialVpContextBuilder, X64CpuState, X64Selectors, X64SystemState};
/// use hv_guest::vsm::entry_stack_pointer;
///
/// struct Cpu;
///
/// impl X64CpuState for Cpu {
///     fn system_state(&self) -> X64SystemState {
///         X64SystemState {
///             cr0: 0x8000_0011,
///             efer: 0x500,
///             selectors: X64Selectors { cs: 0x08, ..X64Selectors::default() },
///             ..X64SystemState::default()
///         }
///     }
///
///     fn gdt_entry(&self, index: u16) -> Option<u64> {
///         [0, 0x00AF_9B00_0000_FFFF].get(usize::from(index)).copied()
///     }
/// }
///
/// let rsp = entry_stack_pointer(0x0020_0000).unwrap();
/// let context = InitialVpContextBuilder::capture(&Cpu, 0x0010_4000, rsp)?.build();
/// assert_eq!((context.rip, context.rsp, context.rflags), (0x0010_4000, 0x001F_FFF8, 2));
/// assert_eq!(context.cs.attributes, 0xA09B); // present, 64-bit, execute/read, accessed
/// # Ok::<(), hv_guest::vsm::CaptureError>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InitialVpContextBuilder {
    context: HvInitialVpContext,
}

impl InitialVpContextBuilder {
    /// Captures the state `cpu` reports, to start at `rip` with stack pointer `rsp`.
    ///
    /// FS and GS take their bases from IA32_FS_BASE and IA32_GS_BASE, as 64-bit mode does;
    /// every other segment's hidden state is decoded from its GDT descriptor.
    ///
    /// # Errors
    ///
    /// [`CaptureError`]: not in long mode, or a selector that cannot be decoded.
    pub fn capture<S: X64CpuState + ?Sized>(
        cpu: &S,
        rip: u64,
        rsp: u64,
    ) -> Result<Self, CaptureError> {
        let state = cpu.system_state();
        let paging = state.cr0 & (CR0_PE | CR0_PG) == CR0_PE | CR0_PG;
        if !paging || state.efer & EFER_LMA == 0 {
            return Err(CaptureError::NotLongMode);
        }
        let sel = state.selectors;
        let cs = decode_segment(cpu, sel.cs)?;
        if cs.attributes & ATTR_LONG == 0 {
            return Err(CaptureError::NotLongMode);
        }
        let fs = HvX64SegmentRegister {
            base: state.fs_base,
            ..decode_segment(cpu, sel.fs)?
        };
        let gs = HvX64SegmentRegister {
            base: state.gs_base,
            ..decode_segment(cpu, sel.gs)?
        };
        Ok(Self {
            context: HvInitialVpContext {
                rip,
                rsp,
                rflags: RFLAGS_INITIAL,
                cs,
                ds: decode_segment(cpu, sel.ds)?,
                es: decode_segment(cpu, sel.es)?,
                fs,
                gs,
                ss: decode_segment(cpu, sel.ss)?,
                tr: decode_segment(cpu, sel.tr)?,
                ldtr: decode_segment(cpu, sel.ldtr)?,
                idtr: state.idtr,
                gdtr: state.gdtr,
                efer: state.efer,
                cr0: state.cr0,
                cr3: state.cr3,
                cr4: state.cr4,
                msr_cr_pat: state.pat,
            },
        })
    }

    /// Uses `cr3` (a page table root of the new VTL's own) instead of the caller's.
    #[must_use]
    pub const fn with_cr3(mut self, cr3: u64) -> Self {
        self.context.cr3 = cr3;
        self
    }

    /// Uses `idtr` (an IDT of the new VTL's own) instead of the caller's.
    #[must_use]
    pub const fn with_idtr(mut self, idtr: HvX64TableRegister) -> Self {
        self.context.idtr = idtr;
        self
    }

    /// The finished context.
    #[must_use]
    pub const fn build(self) -> HvInitialVpContext {
        self.context
    }
}

/// The RSP to start a function with when the context enters it by jumping to its first
/// instruction: `stack_top` rounded down to 16 bytes, minus the 8-byte slot a `CALL` would
/// have filled, so the function sees the stack alignment the System V x86-64 ABI promises at
/// entry. `None` when `stack_top` is below 16.
#[must_use]
pub const fn entry_stack_pointer(stack_top: u64) -> Option<u64> {
    (stack_top & !0xF).checked_sub(8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeCpu;

    #[test]
    fn captures_the_fake_long_mode_state_with_decoded_hidden_parts() {
        let cpu = FakeCpu::long_mode();
        let ctx = InitialVpContextBuilder::capture(&cpu, 0x10_0000, 0x20_0000 - 8)
            .unwrap()
            .build();
        assert_eq!((ctx.rip, ctx.rsp, ctx.rflags), (0x10_0000, 0x1F_FFF8, 2));
        // 64-bit code: type 0xB (execute/read, accessed), S, P, L, G; flat.
        assert_eq!(
            ctx.cs,
            HvX64SegmentRegister {
                base: 0,
                limit: 0xFFFF_FFFF,
                selector: 0x08,
                attributes: 0xA09B
            }
        );
        // Flat data: type 3 (read/write, accessed), S, P, D/B, G.
        let data = HvX64SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: 0x10,
            attributes: 0xC093,
        };
        assert_eq!((ctx.ds, ctx.es, ctx.ss), (data, data, data));
        // Null FS/GS selectors take their bases from the MSRs.
        assert_eq!(
            (ctx.fs.selector, ctx.fs.attributes, ctx.fs.base),
            (0, 0, 0x0000_7F00_0000_1000)
        );
        assert_eq!(
            (ctx.gs.selector, ctx.gs.attributes, ctx.gs.base),
            (0, 0, 0xFFFF_8000_0000_2000)
        );
        // Busy 64-bit TSS (type 0xB, P), 16-byte descriptor: base bits 63:32 from entry 4.
        assert_eq!(
            ctx.tr,
            HvX64SegmentRegister {
                base: 0x0000_0001_0012_3450,
                limit: 0x67,
                selector: 0x18,
                attributes: 0x008B
            }
        );
        assert_eq!(ctx.ldtr, HvX64SegmentRegister::default());
        let state = cpu.state;
        assert_eq!((ctx.gdtr, ctx.idtr), (state.gdtr, state.idtr));
        assert_eq!(
            (ctx.cr0, ctx.cr3, ctx.cr4, ctx.efer, ctx.msr_cr_pat),
            (state.cr0, state.cr3, state.cr4, state.efer, state.pat)
        );
    }

    #[test]
    fn overrides_replace_only_their_field() {
        let cpu = FakeCpu::long_mode();
        let base = InitialVpContextBuilder::capture(&cpu, 1, 2).unwrap();
        let idtr = HvX64TableRegister {
            pad: [0; 3],
            limit: 0xFF,
            base: 0x9000,
        };
        let ctx = base.with_cr3(0x4_2000).with_idtr(idtr).build();
        let mut expected = base.build();
        expected.cr3 = 0x4_2000;
        expected.idtr = idtr;
        assert_eq!(ctx, expected);
    }

    #[test]
    fn refuses_state_that_is_not_long_mode() {
        let mut cpu = FakeCpu::long_mode();
        cpu.state.efer &= !EFER_LMA;
        assert_eq!(
            InitialVpContextBuilder::capture(&cpu, 0, 0),
            Err(CaptureError::NotLongMode)
        );
        let mut cpu = FakeCpu::long_mode();
        cpu.state.cr0 &= !CR0_PG;
        assert_eq!(
            InitialVpContextBuilder::capture(&cpu, 0, 0),
            Err(CaptureError::NotLongMode)
        );
        // A 32-bit code segment (L clear, D set) in compatibility mode.
        let mut cpu = FakeCpu::long_mode();
        cpu.gdt[1] = 0x00CF_9B00_0000_FFFF;
        assert_eq!(
            InitialVpContextBuilder::capture(&cpu, 0, 0),
            Err(CaptureError::NotLongMode)
        );
    }

    #[test]
    fn refuses_selectors_it_cannot_decode() {
        let mut cpu = FakeCpu::long_mode();
        cpu.state.selectors.ds = 0x38;
        assert_eq!(
            InitialVpContextBuilder::capture(&cpu, 0, 0),
            Err(CaptureError::SelectorBeyondGdt { selector: 0x38 })
        );
        // The TSS descriptor's upper half missing.
        let mut cpu = FakeCpu::long_mode();
        cpu.gdt.truncate(4);
        assert_eq!(
            InitialVpContextBuilder::capture(&cpu, 0, 0),
            Err(CaptureError::SelectorBeyondGdt { selector: 0x18 })
        );
        let mut cpu = FakeCpu::long_mode();
        cpu.state.selectors.ldtr = 0x0C;
        assert_eq!(
            InitialVpContextBuilder::capture(&cpu, 0, 0),
            Err(CaptureError::LdtSelector { selector: 0x0C })
        );
    }

    #[test]
    fn byte_granular_limits_are_not_scaled() {
        let mut cpu = FakeCpu::long_mode();
        // Data segment with D/B but G clear, limit 0x1_2345, base 0xAB12_3456.
        cpu.gdt[2] = 0xAB41_9312_3456_2345;
        let ctx = InitialVpContextBuilder::capture(&cpu, 0, 0)
            .unwrap()
            .build();
        assert_eq!(
            ctx.ds,
            HvX64SegmentRegister {
                base: 0xAB12_3456,
                limit: 0x1_2345,
                selector: 0x10,
                attributes: 0x4093
            }
        );
    }

    #[test]
    fn entry_stack_pointer_mimics_a_call() {
        assert_eq!(entry_stack_pointer(0x8000), Some(0x7FF8));
        assert_eq!(entry_stack_pointer(0x800F), Some(0x7FF8));
        assert_eq!(entry_stack_pointer(0xF), None);
    }
}
