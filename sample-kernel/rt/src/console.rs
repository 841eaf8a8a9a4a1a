//! The serial console (x86_64: COM1; aarch64: PL011) and the [`print!`](crate::print) / [`println!`](crate::println)
//! macros.
//!
//! Output is serialised by a lock taken with interrupts disabled. The exception and panic
//! paths use `print_unlocked`, which never waits: the run is ending, and the fault may
//! have happened while the lock was held.

use core::fmt::{self, Write};
use core::sync::atomic::Ordering;

use crate::arch::{
    CONSOLE_DEFAULT, ConsoleAddress, ConsoleAddressCell, ConsoleUart, without_interrupts,
};
use crate::sync::SpinLock;

static CONSOLE: SpinLock<ConsoleUart> = SpinLock::new(ConsoleUart::at(CONSOLE_DEFAULT));

/// Where the console UART is (x86_64: its I/O port; aarch64: its MMIO base), for the
/// unlocked path.
static ADDRESS: ConsoleAddressCell = ConsoleAddressCell::new(CONSOLE_DEFAULT);

/// Programs the UART at `address` and prints there from now on (x86_64: COM1 for the PVH
/// and 64-bit entries, the port the firmware named for the UEFI entry; aarch64: the PL011 of
/// QEMU `virt` for the `Image` entry). Called once at boot.
#[cfg(not(all(target_arch = "aarch64", target_os = "uefi")))]
pub(crate) fn init(address: ConsoleAddress) {
    ADDRESS.store(address, Ordering::Relaxed);
    without_interrupts(|| {
        let mut console = CONSOLE.lock();
        *console = ConsoleUart::at(address);
        console.init();
    });
}

/// Prints on the UART at `address` from now on, with the line settings the firmware left:
/// the arm64 UEFI entry's console, which the firmware programmed for its own output with a
/// reference clock the runtime does not know. Called once at boot.
#[cfg(all(target_arch = "aarch64", target_os = "uefi"))]
pub(crate) fn init_configured(address: ConsoleAddress) {
    ADDRESS.store(address, Ordering::Relaxed);
    without_interrupts(|| *CONSOLE.lock() = ConsoleUart::at(address));
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
    let _ = ConsoleUart::at(ADDRESS.load(Ordering::Relaxed)).write_fmt(args);
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
