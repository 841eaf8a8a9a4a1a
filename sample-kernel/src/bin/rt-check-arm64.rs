//! `rt-check-arm64`: the arm64 runtime's own test kernel (the aarch64 counterpart of
//! `rt-check`).
//!
//! The command line (`/chosen/bootargs`, QEMU `-append`) picks a scenario:
//!
//! * empty or `selftest`: checks the runtime's services and reports them like the demo
//!   (`[rt-check] <check>: ok|unavailable|FAILED (...)`, then a summary): the boot
//!   information, the page allocator, the generic counter, an SGI sent to itself, the virtual
//!   timer's PPI, and the GIC priority mask holding an interrupt back. Exits with success when
//!   nothing failed.
//! * `fault=undef|abort|irq|panic`: executes an undefined instruction, reads the unmapped
//!   null page, raises an SGI without a handler, or panics. Each must end the run with the
//!   runtime's report and the failure status; if the trigger does not fault, the kernel says
//!   so and exits with *success*, which the test harness (expecting failure) catches.
//!
//! Built for every target like the other binaries; only the aarch64 build has scenarios (on
//! x86_64 it says so and fails).
#![no_std]
#![no_main]

use kernel_rt::bootinfo::BootInfo;

kernel_rt::entry!(main);

#[cfg(target_arch = "aarch64")]
fn main(boot: &'static BootInfo) -> ! {
    arm64::main(boot)
}

#[cfg(not(target_arch = "aarch64"))]
fn main(_boot: &'static BootInfo) -> ! {
    kernel_rt::println!("[rt-check-arm64] this kernel checks the aarch64 runtime only");
    kernel_rt::exit(false)
}

#[cfg(target_arch = "aarch64")]
mod arm64 {
    use core::sync::atomic::{AtomicU32, Ordering};

    use kernel_rt::arch::aarch64::{cpu, start};
    use kernel_rt::bootinfo::BootInfo;
    use kernel_rt::console::Console;
    use kernel_rt::frames::{self, PAGE_SIZE};
    use kernel_rt::gic::{self, IntId};
    use kernel_rt::println;
    use kernel_rt::report::{Outcome, Report};
    use kernel_rt::timer;

    pub(crate) fn main(boot: &'static BootInfo) -> ! {
        match boot.cmdline() {
            Some("" | "selftest") => selftest(boot),
            Some(scenario) => match scenario.strip_prefix("fault=") {
                Some(fault) => trigger(fault),
                None => {
                    println!("[rt-check] unknown scenario \"{scenario}\"");
                    kernel_rt::exit(false)
                }
            },
            None => {
                println!("[rt-check] command line is not UTF-8");
                kernel_rt::exit(false)
            }
        }
    }

    fn selftest(boot: &BootInfo) -> ! {
        let mut report = Report::new("rt-check", Console);
        report.record("boot info", &boot_info(boot));
        report.record("page allocator", &page_allocator(boot));
        report.record("generic counter", &counter());
        report.record("GICv3 self SGI", &self_sgi());
        report.record("virtual timer PPI", &timer_ppi());
        report.record("GICv3 priority mask", &priority_mask());
        kernel_rt::exit(report.finish())
    }

    fn boot_info(boot: &BootInfo) -> Outcome {
        if boot.ram_bytes() == 0 {
            return Outcome::failed(format_args!("the device tree has no RAM"));
        }
        Outcome::ok(format_args!(
            "{} entry, {} map entries, {} MiB RAM",
            boot.entry(),
            boot.regions().len(),
            boot.ram_bytes() >> 20
        ))
    }

    fn page_allocator(boot: &BootInfo) -> Outcome {
        let before = frames::free_pages();
        let (a, b) = match (frames::alloc_page(), frames::alloc_page()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Outcome::failed(format_args!("allocation: {e}")),
        };
        let (pa, pb) = (a.phys_addr(), b.phys_addr());
        if !pa.is_multiple_of(PAGE_SIZE) || !pb.is_multiple_of(PAGE_SIZE) || pa == pb {
            return Outcome::failed(format_args!("pages {pa:#x} and {pb:#x}"));
        }
        let in_ram = |p: u64| {
            boot.regions().iter().any(|r| {
                r.kind == kernel_rt::bootinfo::RegionKind::RAM
                    && r.start <= p
                    && p + PAGE_SIZE <= r.end()
            })
        };
        if !in_ram(pa) || !in_ram(pb) {
            return Outcome::failed(format_args!("page {pa:#x} or {pb:#x} is not RAM"));
        }
        if a.0.iter().chain(b.0.iter()).any(|&x| x != 0) {
            return Outcome::failed(format_args!("a new page is not zeroed"));
        }
        drop(a);
        let again = match frames::alloc_page() {
            Ok(p) => p,
            Err(e) => return Outcome::failed(format_args!("allocation after free: {e}")),
        };
        if again.phys_addr() != pa {
            return Outcome::failed(format_args!("freed page {pa:#x} not reused"));
        }
        drop((again, b));
        if frames::free_pages() != before {
            return Outcome::failed(format_args!("free count not restored"));
        }
        Outcome::ok(format_args!(
            "{before} pages free, lowest page {pa:#x}, reuse after free"
        ))
    }

    fn counter() -> Outcome {
        let hz = timer::frequency();
        let a = timer::counter();
        let b = timer::counter();
        if hz == 0 {
            return Outcome::failed(format_args!("CNTFRQ_EL0 is 0"));
        }
        if b < a {
            return Outcome::failed(format_args!("the counter went back from {a} to {b}"));
        }
        Outcome::ok(format_args!("{hz} Hz, reads {a} then {b}"))
    }

    static DELIVERED: AtomicU32 = AtomicU32::new(0);

    fn count(_: IntId) {
        DELIVERED.fetch_add(1, Ordering::AcqRel);
    }

    fn timer_fired(_: IntId) {
        timer::disarm_virtual();
        DELIVERED.fetch_add(1, Ordering::AcqRel);
    }

    /// Waits with interrupts enabled until `DELIVERED` reaches 1 or `ticks` counter ticks
    /// pass.
    fn wait_for_delivery(ticks: u64) -> u32 {
        let start = timer::counter();
        cpu::enable_interrupts();
        while DELIVERED.load(Ordering::Acquire) == 0 && timer::counter() - start < ticks {
            core::hint::spin_loop();
        }
        cpu::disable_interrupts();
        DELIVERED.swap(0, Ordering::AcqRel)
    }

    fn self_sgi() -> Outcome {
        if !gic::enabled() {
            return Outcome::unavailable(format_args!("no GICv3"));
        }
        let Some(sgi) = IntId::sgi(1) else {
            return Outcome::failed(format_args!("SGI 1 is not an SGI"));
        };
        if let Err(e) = gic::register(sgi, count) {
            return Outcome::failed(format_args!("{e}"));
        }
        gic::send_sgi_to_self(sgi);
        let delivered = wait_for_delivery(timer::frequency() / 10);
        let pending = gic::is_pending(sgi);
        gic::unregister(sgi);
        match (delivered, pending) {
            (1, false) => Outcome::ok(format_args!("SGI {sgi} delivered once and ended")),
            (n, pending) => Outcome::failed(format_args!(
                "SGI {sgi} delivered {n} times, still pending: {pending}"
            )),
        }
    }

    fn timer_ppi() -> Outcome {
        let Some(ppi) = start::machine().and_then(|m| m.virtual_timer) else {
            return Outcome::unavailable(format_args!("no virtual timer interrupt"));
        };
        if !gic::enabled() {
            return Outcome::unavailable(format_args!("no GICv3"));
        }
        if let Err(e) = gic::register(ppi, timer_fired) {
            return Outcome::failed(format_args!("{e}"));
        }
        let hz = timer::frequency();
        let delay = u32::try_from(hz / 1000).unwrap_or(u32::MAX);
        timer::arm_virtual(delay);
        let delivered = wait_for_delivery(hz / 10);
        timer::disarm_virtual();
        gic::unregister(ppi);
        match delivered {
            1 => Outcome::ok(format_args!("PPI {ppi} after {delay} ticks, handled once")),
            n => Outcome::failed(format_args!("PPI {ppi} delivered {n} times")),
        }
    }

    fn priority_mask() -> Outcome {
        if !gic::enabled() {
            return Outcome::unavailable(format_args!("no GICv3"));
        }
        let Some(sgi) = IntId::sgi(2) else {
            return Outcome::failed(format_args!("SGI 2 is not an SGI"));
        };
        if let Err(e) = gic::register(sgi, count) {
            return Outcome::failed(format_args!("{e}"));
        }
        let priority = gic::interrupt_priority();
        gic::set_priority_mask(priority);
        gic::send_sgi_to_self(sgi);
        let held = wait_for_delivery(timer::frequency() / 100) == 0 && gic::is_pending(sgi);
        gic::set_priority_mask(0xF0);
        let delivered = wait_for_delivery(timer::frequency() / 10);
        gic::unregister(sgi);
        match (held, delivered) {
            (true, 1) => Outcome::ok(format_args!(
                "SGI {sgi} of priority {priority:#x} held at mask {priority:#x}, delivered at 0xf0"
            )),
            (held, n) => Outcome::failed(format_args!(
                "held: {held}, delivered {n} times after the mask was lowered"
            )),
        }
    }

    fn trigger(fault: &str) -> ! {
        println!("[rt-check] triggering {fault}");
        match fault {
            // SAFETY: UDF is permanently undefined: it raises an exception, which the runtime
            // reports; nothing else happens.
            "undef" => unsafe { core::arch::asm!("udf #0", options(nomem, nostack)) },
            "abort" => {
                let null = core::ptr::without_provenance::<u64>(8);
                // SAFETY: deliberately reads the unmapped null page; the data abort is
                // reported by the runtime and ends the run before the value could be used.
                let value = unsafe { null.read_volatile() };
                println!("[rt-check] read {value:#x} from the null page");
            }
            "irq" => match IntId::sgi(3) {
                Some(sgi) => {
                    gic::send_sgi_to_self(sgi);
                    cpu::enable_interrupts();
                    let start = timer::counter();
                    while timer::counter() - start < timer::frequency() / 10 {
                        core::hint::spin_loop();
                    }
                }
                None => println!("[rt-check] SGI 3 is not an SGI"),
            },
            "panic" => panic!("rt-check panics on purpose"),
            other => {
                println!("[rt-check] unknown fault \"{other}\"");
                kernel_rt::exit(false)
            }
        }
        println!("[rt-check] {fault} did not fault");
        kernel_rt::exit(true)
    }
}
