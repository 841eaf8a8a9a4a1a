//! The serial console and the [`print!`](crate::print) / [`println!`](crate::println)
//! macros.
//!
//! Output is serialised by a lock taken with interrupts disabled. The exception and panic
//! paths use `print_unlocked`, which never waits: the run is ending, and the fault may
//! have happened while the lock was held.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU16, Ordering};

use x86_64::instructions::interrupts::without_interrupts;

use crate::arch::x86_64::serial::{COM1, Serial};
use crate::sync::SpinLock;

static CONSOLE: SpinLock<Serial> = SpinLock::new(Serial::com1());

/// The console UART's I/O port, for the unlocked path.
static PORT: AtomicU16 = AtomicU16::new(COM1);

/// Programs the UART at I/O port `port` (COM1 for the PVH and 64-bit entries, the one the
/// firmware named for the UEFI entry) and prints there from now on. Called once at boot.
pub(crate) fn init(port: u16) {
    PORT.store(port, Ordering::Relaxed);
    without_interrupts(|| {
        let mut console = CONSOLE.lock();
        *console = Serial::at(port);
        console.init();
    });
}

/// Prints `args` on the serial console (what [`print!`](crate::print) expands to).
#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    without_interrupts(|| {
        // The serial writer never fails.
        let _ = CONSOLE.lock().write_fmt(args);
    });
}

/// Prints without taking the console lock. Only for paths that end the run.
pub(crate) fn print_unlocked(args: fmt::Arguments<'_>) {
    // The serial writer never fails.
    let _ = Serial::at(PORT.load(Ordering::Relaxed)).write_fmt(args);
}

/// Prints to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::console::_print(format_args!($($arg)*))
    };
}

/// Prints a line to the serial console.
#[macro_export]
macro_rules! println {
    () => {
        $crate::print!("\n")
    };
    ($($arg:tt)*) => {
        $crate::console::_print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// The serial console as a [`fmt::Write`] sink (each write takes the lock), for
/// [`Report`](crate::report::Report).
#[derive(Debug, Clone, Copy, Default)]
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        _print(format_args!("{s}"));
        Ok(())
    }
}
