//! The sample kernel: discovers the hypervisor, runs every Hyper-V enlightenment the host
//! offers and prints one report line per enlightenment (the format of
//! `docs/architecture.md`, "The report"). Exits with success when no step failed.
#![no_std]
#![no_main]

#[cfg(target_arch = "x86_64")]
mod demo;
#[cfg(target_arch = "aarch64")]
#[path = "demo_arm64.rs"]
mod demo;
mod identity;

use kernel_rt::bootinfo::BootInfo;
use kernel_rt::console::Console;
use kernel_rt::report::Report;

kernel_rt::entry!(main);

fn main(boot: &'static BootInfo) -> ! {
    let mut report = Report::new("hv", Console);
    // The x86_64 demo starts an application processor, found through the boot information.
    #[cfg(target_arch = "x86_64")]
    demo::run(&mut report, boot);
    #[cfg(target_arch = "aarch64")]
    {
        let _ = boot;
        demo::run(&mut report);
    }
    kernel_rt::exit(report.finish())
}
