//! The panic handler: prints the message and location, then ends the run with the failure
//! status.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::exit;
use crate::console::print_unlocked;

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if PANICKING.swap(true, Ordering::AcqRel) {
        print_unlocked(format_args!("[rt] panic while panicking\n"));
        exit::exit_quietly(false)
    }
    match info.location() {
        Some(at) => print_unlocked(format_args!(
            "[rt] panic: {} (at {}:{}:{})\n",
            info.message(),
            at.file(),
            at.line(),
            at.column()
        )),
        None => print_unlocked(format_args!("[rt] panic: {}\n", info.message())),
    }
    exit::exit(false)
}
