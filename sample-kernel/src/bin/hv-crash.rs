//! `hv-crash`: reports a guest crash through the crash MSRs (TLFS 4.3), the one thing the
//! demo must never do.
//!
//! It discovers the hypervisor, sets the guest OS identity (the crash MSRs need no hypercall
//! page), reads the host's crash capabilities and reports a crash with P0 = [`P0`],
//! P1 = 1, P2 = 2 and, when the host offers `CrashMessage`, the message [`MESSAGE`] (P3 its
//! GPA, P4 its length); otherwise P3 = 3 and P4 = 4 with `CrashNotify` alone. A host that
//! acts on the notification ends the VM there (hv-sim exits with status 18 and records the
//! report). If the kernel is still running afterwards, it says so and exits with failure;
//! without the Hyper-V interface or the crash MSRs it says why and exits with failure too.
#![no_std]
#![no_main]

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::fmt::Write;

    use hv_defs::cpuid::HvFeaturesInfo;
    use hv_defs::guest_id::{HvGuestOsIdOpenSource, HvGuestOsType};
    use hv_guest::arch::x86_64::X64;
    use hv_guest::crash::{CrashMessage, CrashReporter};
    use hv_guest::hyperv::Hyperv;
    use hv_guest::page::{HvPage, PhysPage};
    use kernel_rt::frames::alloc_page;
    use kernel_rt::println;
    use zerocopy::FromBytes;

    /// P0 of the report: "HVCR".
    pub(crate) const P0: u64 = 0x4856_4352;

    /// The crash message.
    pub(crate) const MESSAGE: &str = "hv-crash: the sample kernel reports a crash on purpose";

    static PLATFORM: X64 = X64;

    /// Reports the crash; returns only when that did not end the VM.
    pub(crate) fn run() -> bool {
        let hv = match Hyperv::detect(X64) {
            Ok(hv) => hv,
            Err(why) => {
                println!("[hv-crash] no Hyper-V interface: {why}");
                return false;
            }
        };
        let features = HvFeaturesInfo::X64(hv.info().features);
        let id = match HvGuestOsIdOpenSource::build(HvGuestOsType::new(0), 0, 1, 0) {
            Ok(id) => id,
            Err(e) => {
                println!("[hv-crash] guest OS identity: {e}");
                return false;
            }
        };
        if let Err((_, why)) = hv.set_guest_os_id(id.into()) {
            println!("[hv-crash] guest OS identity: {why}");
            return false;
        }
        let reporter = match CrashReporter::new(&PLATFORM, features) {
            Ok(reporter) => reporter,
            Err(e) => {
                println!("[hv-crash] no crash MSRs: {e}");
                return false;
            }
        };
        let caps = reporter.capabilities();
        let result = if caps.crash_message() {
            let Ok(frame) = alloc_page() else {
                println!("[hv-crash] no page for the message");
                return false;
            };
            let frame = frame.leak();
            let gpa = frame.phys_addr();
            let Ok(page) = HvPage::mut_from_bytes(&mut frame.0) else {
                println!("[hv-crash] the runtime's page is not an HvPage");
                return false;
            };
            // SAFETY: the runtime identity-maps the first 4 GiB and allocates only there, so
            // `gpa` is this leaked page's guest physical address for ever.
            let page = unsafe { PhysPage::new(page, gpa) };
            let mut message = CrashMessage::new(page);
            let _ = message.write_str(MESSAGE);
            println!(
                "[hv-crash] reporting a crash: P0 {P0:#x}, P1 0x1, P2 0x2, message of {} bytes \
                 (at {:#x})",
                message.len(),
                message.gpa()
            );
            reporter.notify_with_message([P0, 1, 2], &message)
        } else {
            println!("[hv-crash] reporting a crash: P0 {P0:#x}, P1 0x1, P2 0x2, P3 0x3, P4 0x4");
            reporter.notify([P0, 1, 2, 3, 4])
        };
        match result {
            Ok(()) => println!("[hv-crash] the host did not stop the VM after the notification"),
            Err(e) => println!("[hv-crash] reporting failed: {e}"),
        }
        false
    }
}

use kernel_rt::bootinfo::BootInfo;

kernel_rt::entry!(main);

#[cfg(target_arch = "x86_64")]
fn main(_boot: &'static BootInfo) -> ! {
    kernel_rt::exit(x86::run())
}

#[cfg(not(target_arch = "x86_64"))]
fn main(_boot: &'static BootInfo) -> ! {
    kernel_rt::println!("[hv-crash] the crash MSRs are an x86_64 interface");
    kernel_rt::exit(false)
}
