//! Ending the run: QEMU's `isa-debug-exit` device at port 0xF4, then halt.
//!
//! The kernel writes [`EXIT_SUCCESS`] or [`EXIT_FAILURE`]; QEMU (and `hv-sim`) exit with
//! status `(value << 1) | 1`, so 33 means success and 35 failure. On a host without the
//! device the write does nothing and the processor halts for good.

use x86_64::instructions::port::Port;

/// I/O port of `isa-debug-exit` (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

/// Value written when the run succeeded (QEMU exit status 33).
pub const EXIT_SUCCESS: u32 = 0x10;

/// Value written when the run failed (QEMU exit status 35).
pub const EXIT_FAILURE: u32 = 0x11;

/// Ends the run with `success`, printing `[rt] exit: success` or `[rt] exit: failure`
/// first. Never returns.
pub fn exit(success: bool) -> ! {
    let verdict = if success { "success" } else { "failure" };
    crate::console::print_unlocked(format_args!("[rt] exit: {verdict}\n"));
    exit_quietly(success)
}

/// Ends the run without printing.
pub(crate) fn exit_quietly(success: bool) -> ! {
    let value = if success { EXIT_SUCCESS } else { EXIT_FAILURE };
    let mut port = Port::<u32>::new(DEBUG_EXIT_PORT);
    // SAFETY: port 0xF4 is isa-debug-exit (or nothing); the write ends the VM and touches
    // no memory.
    unsafe { port.write(value) };
    halt_forever()
}

/// Disables interrupts and halts, forever.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
