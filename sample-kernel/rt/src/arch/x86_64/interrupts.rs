//! Interrupt vectors the kernel can register handlers for, and waiting for interrupts.
//!
//! Vectors 0-31 are exceptions (reported by [`super::idt`]), 0x20-0x2F belong to the masked
//! legacy PICs and 0xFF is the APIC's spurious vector; [`Vector`] covers the rest,
//! 0x30-0xFE. A handler runs with interrupts disabled on the interrupted stack. An
//! interrupt on a vector without a handler is a bug in the kernel: the runtime reports it
//! and ends the run with the failure status.

use core::fmt;

use x86_64::instructions::interrupts as cpu;

use super::idt::TrapFrame;
use super::pic;
use crate::console::print_unlocked;
use crate::sync::SpinLock;

/// A vector kernels may use: 0x30-0xFE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vector(u8);

impl Vector {
    /// The lowest usable vector.
    pub const FIRST: u8 = 0x30;
    /// The highest usable vector.
    pub const LAST: u8 = 0xfe;

    /// `vector` if it is in 0x30-0xFE.
    pub const fn new(vector: u8) -> Option<Self> {
        if vector >= Self::FIRST && vector <= Self::LAST {
            Some(Self(vector))
        } else {
            None
        }
    }

    /// The vector number.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Who ends the interrupt at the local APIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eoi {
    /// The runtime writes the x2APIC EOI register after the handler returns (interrupts
    /// delivered through the local APIC: self-IPIs, direct-mode timers, SINTs without
    /// auto-EOI).
    Apic,
    /// Nothing to end: software `int n`, or SINTs with auto-EOI.
    None,
}

/// An interrupt handler; gets the vector it was registered for.
pub type Handler = fn(Vector);

/// Why a handler could not be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// The vector has a handler already.
    Busy(Vector),
    /// [`Eoi::Apic`] was asked for but the APIC is not in x2APIC mode.
    NoX2Apic,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Busy(v) => write!(f, "vector {v} already has a handler"),
            Self::NoX2Apic => f.write_str("EOI through the APIC needs x2APIC, which is absent"),
        }
    }
}

impl core::error::Error for RegisterError {}

const COUNT: usize = (Vector::LAST - Vector::FIRST) as usize + 1;

static HANDLERS: SpinLock<[Option<(Handler, Eoi)>; COUNT]> = SpinLock::new([None; COUNT]);

fn slot(vector: Vector) -> usize {
    usize::from(vector.0 - Vector::FIRST)
}

/// Registers `handler` for `vector`.
///
/// # Errors
///
/// [`RegisterError`] when the vector is taken or `eoi` needs an x2APIC the processor lacks.
pub fn register(vector: Vector, handler: Handler, eoi: Eoi) -> Result<(), RegisterError> {
    if eoi == Eoi::Apic && !super::apic::enabled() {
        return Err(RegisterError::NoX2Apic);
    }
    cpu::without_interrupts(|| {
        let mut handlers = HANDLERS.lock();
        let entry = &mut handlers[slot(vector)];
        if entry.is_some() {
            return Err(RegisterError::Busy(vector));
        }
        *entry = Some((handler, eoi));
        Ok(())
    })
}

/// Removes the handler of `vector`, returning it.
pub fn unregister(vector: Vector) -> Option<Handler> {
    cpu::without_interrupts(|| HANDLERS.lock()[slot(vector)].take().map(|(h, _)| h))
}

/// Enables interrupts.
pub fn enable() {
    cpu::enable();
}

/// Disables interrupts.
pub fn disable() {
    cpu::disable();
}

/// Whether interrupts are enabled.
pub fn are_enabled() -> bool {
    cpu::are_enabled()
}

/// Enables interrupts and halts until one arrives (atomically: an interrupt that is already
/// pending is taken and ends the wait), then disables interrupts again.
pub fn wait() {
    cpu::enable_and_hlt();
    cpu::disable();
}

/// Runs the handler for a vector of 32 or more.
pub(super) fn dispatch(vector: u8, frame: &TrapFrame) {
    if vector == super::apic::SPURIOUS_VECTOR || pic::SPURIOUS.contains(&vector) {
        return;
    }
    // Handlers are only changed with interrupts disabled, so the lock is free here; if it
    // is not, the table is in an unknown state and the interrupt counts as unexpected.
    let registered = Vector::new(vector)
        .and_then(|v| HANDLERS.try_lock().and_then(|h| h[slot(v)]).map(|e| (v, e)));
    let Some((vector, (handler, eoi))) = registered else {
        print_unlocked(format_args!(
            "[rt] unexpected interrupt (vector {vector:#x}, rip {:#x})\n",
            frame.rip
        ));
        super::exit::exit(false)
    };
    handler(vector);
    if eoi == Eoi::Apic {
        // Registration checked that x2APIC is on, and it is never turned off.
        let _ = super::apic::eoi();
    }
}
