//! `rt-check`: the runtime's own test kernel.
//!
//! The command line (`hvm_start_info`, QEMU `-append`) picks a scenario:
//!
//! * empty or `selftest`: checks the runtime's services and reports them like the demo
//!   (`[rt-check] <check>: ok|unavailable|FAILED (...)`, then a summary); exits with success
//!   when nothing failed.
//! * `reenter64`: enters the runtime again through the 64-bit entry (`e_entry`, the one
//!   `hv-sim` uses), the way the boot contract describes it: long mode, identity map,
//!   interrupts off, a useless RSP, `RDI` = an `hvm_start_info` built here with this
//!   boot's memory map and the command line `selftest`. `reenter64-bare` does the same with
//!   `RDI` = 0 (no start info). The second boot runs the self-test.
//! * `hang`: halts forever with interrupts off and never reports, so the test harness can
//!   check that its time limit ends a hung boot.
//! * `fault=ud|gp|pf|df|int`: triggers an invalid opcode, a general protection fault, a page
//!   fault on the null page, a double fault (an exception with the stack pointer in unmapped
//!   memory, so only the IST stack saves the report) or an interrupt on a vector without a
//!   handler; `fault=panic` panics. Each must end the run with the runtime's report and the
//!   failure status. If the trigger does not fault, the kernel says so and exits with
//!   *success*, which the test harness (expecting failure) catches.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use kernel_rt::apic;
use kernel_rt::bootinfo::BootInfo;
use kernel_rt::console::Console;
use kernel_rt::frames::{self, PAGE_SIZE};
use kernel_rt::interrupts::{self, Eoi, RegisterError, Vector};
use kernel_rt::println;
use kernel_rt::report::{Outcome, Report};

kernel_rt::entry!(main);

fn main(boot: &'static BootInfo) -> ! {
    match boot.cmdline() {
        Some("" | "selftest") => selftest(boot),
        Some("reenter64") => reenter64(Some(boot)),
        Some("reenter64-bare") => reenter64(None),
        Some("hang") => {
            println!("[rt-check] hanging on purpose");
            kernel_rt::arch::x86_64::exit::halt_forever()
        }
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
    report.record("page allocator", &page_allocator());
    report.record("SSE", &sse());
    report.record("vector registration", &vector_registration());
    report.record("x2APIC self-IPI", &self_ipi());
    report.record("x2APIC task priority", &task_priority());
    kernel_rt::exit(report.finish())
}

fn boot_info(boot: &BootInfo) -> Outcome {
    if boot.ram_bytes() == 0 {
        return Outcome::failed(format_args!("memory map has no RAM"));
    }
    Outcome::ok(format_args!(
        "{} entry, {} map entries, {} MiB RAM",
        boot.entry(),
        boot.regions().len(),
        boot.ram_bytes() >> 20
    ))
}

fn page_allocator() -> Outcome {
    let before = frames::free_pages();
    let (a, b) = match (frames::alloc_page(), frames::alloc_page()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Outcome::failed(format_args!("allocation: {e}")),
    };
    let (pa, pb) = (a.phys_addr(), b.phys_addr());
    if pa % PAGE_SIZE != 0 || pb % PAGE_SIZE != 0 || pa == pb {
        return Outcome::failed(format_args!("pages {pa:#x} and {pb:#x}"));
    }
    if pa < 1 << 20 {
        return Outcome::failed(format_args!("page {pa:#x} is below 1 MiB"));
    }
    if a.0.iter().chain(b.0.iter()).any(|&x| x != 0) {
        return Outcome::failed(format_args!("a new page is not zeroed"));
    }
    if frames::free_pages() != before - 2 {
        return Outcome::failed(format_args!("free count did not drop by 2"));
    }
    drop(a);
    let again = match frames::alloc_page() {
        Ok(p) => p,
        Err(e) => return Outcome::failed(format_args!("allocation after free: {e}")),
    };
    if again.phys_addr() != pa {
        return Outcome::failed(format_args!(
            "freed page {pa:#x} not reused (got {:#x})",
            again.phys_addr()
        ));
    }
    drop((again, b));
    if frames::free_pages() != before {
        return Outcome::failed(format_args!("free count not restored"));
    }
    Outcome::ok(format_args!(
        "{before} pages free, lowest page {pa:#x}, reuse after free"
    ))
}

fn sse() -> Outcome {
    let out: u64;
    // SAFETY: the runtime enabled SSE (CR0/CR4) at boot; the asm only uses xmm0 (declared
    // clobbered) and a general register.
    unsafe {
        core::arch::asm!(
            "movq xmm0, {v}",
            "paddq xmm0, xmm0",
            "movq {v}, xmm0",
            v = inout(reg) 21_u64 => out,
            out("xmm0") _,
            options(nomem, nostack),
        );
    }
    if out == 42 {
        Outcome::ok(format_args!("paddq computed {out}"))
    } else {
        Outcome::failed(format_args!("paddq computed {out}, expected 42"))
    }
}

fn ignore(_: Vector) {}

fn vector_registration() -> Outcome {
    if Vector::new(0x2f).is_some() || Vector::new(0xff).is_some() || Vector::new(0x30).is_none() {
        return Outcome::failed(format_args!("usable vector range is not 0x30-0xfe"));
    }
    let Some(v) = Vector::new(0x60) else {
        return Outcome::failed(format_args!("vector 0x60 rejected"));
    };
    if let Err(e) = interrupts::register(v, ignore, Eoi::None) {
        return Outcome::failed(format_args!("register: {e}"));
    }
    let second = interrupts::register(v, ignore, Eoi::None);
    if second != Err(RegisterError::Busy(v)) {
        return Outcome::failed(format_args!("second registration gave {second:?}"));
    }
    if interrupts::unregister(v).is_none() || interrupts::unregister(v).is_some() {
        return Outcome::failed(format_args!("unregister did not remove exactly once"));
    }
    if !apic::enabled()
        && interrupts::register(v, ignore, Eoi::Apic) != Err(RegisterError::NoX2Apic)
    {
        return Outcome::failed(format_args!("APIC EOI accepted without x2APIC"));
    }
    Outcome::ok(format_args!("register, busy, unregister"))
}

static DELIVERED: AtomicU32 = AtomicU32::new(0);

fn count(_: Vector) {
    DELIVERED.fetch_add(1, Ordering::AcqRel);
}

/// Opens an interrupt window long enough for a pending self-IPI to be taken.
fn interrupt_window() {
    interrupts::enable();
    for _ in 0..1000 {
        core::hint::spin_loop();
    }
    interrupts::disable();
}

fn self_ipi() -> Outcome {
    let Some(v) = Vector::new(0x40) else {
        return Outcome::failed(format_args!("vector 0x40 rejected"));
    };
    if !apic::enabled() {
        return Outcome::unavailable(format_args!("no x2APIC"));
    }
    if let Err(e) = interrupts::register(v, count, Eoi::Apic) {
        return Outcome::failed(format_args!("register: {e}"));
    }
    DELIVERED.store(0, Ordering::Release);
    let result = apic::self_ipi(v);
    interrupt_window();
    interrupts::unregister(v);
    if let Err(e) = result {
        return Outcome::failed(format_args!("self-IPI: {e}"));
    }
    match DELIVERED.load(Ordering::Acquire) {
        1 => match apic::is_in_service(v.get()) {
            Ok(false) => Outcome::ok(format_args!("vector {v} delivered once and EOIed")),
            Ok(true) => Outcome::failed(format_args!("vector {v} still in service after EOI")),
            Err(e) => Outcome::failed(format_args!("ISR: {e}")),
        },
        n => Outcome::failed(format_args!("vector {v} delivered {n} times")),
    }
}

fn task_priority() -> Outcome {
    // Vector 0x41 has priority class 4: a task priority of 0x40 holds it back.
    let Some(v) = Vector::new(0x41) else {
        return Outcome::failed(format_args!("vector 0x41 rejected"));
    };
    if !apic::enabled() {
        return Outcome::unavailable(format_args!("no x2APIC"));
    }
    if let Err(e) = interrupts::register(v, count, Eoi::Apic) {
        return Outcome::failed(format_args!("register: {e}"));
    }
    DELIVERED.store(0, Ordering::Release);
    let outcome = (|| {
        apic::set_task_priority(0x40)?;
        if apic::task_priority()? != 0x40 {
            return Ok(Outcome::failed(format_args!("TPR did not read back 0x40")));
        }
        apic::self_ipi(v)?;
        interrupt_window();
        let held = DELIVERED.load(Ordering::Acquire) == 0 && apic::is_pending(v.get())?;
        apic::set_task_priority(0)?;
        interrupt_window();
        let delivered = DELIVERED.load(Ordering::Acquire);
        Ok(if !held {
            Outcome::failed(format_args!("vector {v} not held pending at TPR 0x40"))
        } else if delivered != 1 {
            Outcome::failed(format_args!(
                "vector {v} delivered {delivered} times at TPR 0"
            ))
        } else {
            Outcome::ok(format_args!(
                "vector {v} held at TPR 0x40, delivered at TPR 0"
            ))
        })
    })();
    interrupts::unregister(v);
    outcome.unwrap_or_else(|e: apic::ApicError| Outcome::failed(format_args!("{e}")))
}

/// Builds an identity map of the first 4 GiB with 2 MiB pages in allocated pages (as a
/// host would: outside the kernel image) and returns the PML4's physical address.
fn host_page_tables() -> u64 {
    const PRESENT_WRITABLE: u64 = 0x3;
    const HUGE: u64 = 0x80;
    let alloc = || match frames::alloc_page() {
        Ok(page) => page.leak(),
        Err(e) => {
            println!("[rt-check] no page for the host page tables: {e}");
            kernel_rt::exit(false)
        }
    };
    let pml4 = alloc();
    let pdpt = alloc();
    for g in 0..4_u64 {
        let pd = alloc();
        for i in 0..512_u64 {
            let addr = ((g << 9) + i) << 21;
            put(
                pd,
                8 * i as usize,
                &(addr | PRESENT_WRITABLE | HUGE).to_le_bytes(),
            );
        }
        put(
            pdpt,
            8 * g as usize,
            &(pd.phys_addr() | PRESENT_WRITABLE).to_le_bytes(),
        );
    }
    put(
        pml4,
        0,
        &(pdpt.phys_addr() | PRESENT_WRITABLE).to_le_bytes(),
    );
    pml4.phys_addr()
}

/// Writes `bytes` at `offset` of `page`.
fn put(page: &mut frames::Page, offset: usize, bytes: &[u8]) {
    page.0[offset..offset + bytes.len()].copy_from_slice(bytes);
}

/// Jumps to the runtime's 64-bit entry with `RDI` = an `hvm_start_info` describing `boot`
/// (or 0 without one).
fn reenter64(boot: Option<&BootInfo>) -> ! {
    const CMDLINE: usize = 0x100;
    const MEMMAP: usize = 0x200;
    let start_info = match boot {
        None => 0,
        Some(boot) => {
            let page = match frames::alloc_page() {
                Ok(page) => page.leak(),
                Err(e) => {
                    println!("[rt-check] no page for the start info: {e}");
                    kernel_rt::exit(false)
                }
            };
            let base = page.phys_addr();
            let regions = boot.regions();
            put(page, 0, &kernel_rt::bootinfo::HVM_START_MAGIC.to_le_bytes());
            put(page, 4, &1_u32.to_le_bytes());
            put(page, 24, &(base + CMDLINE as u64).to_le_bytes());
            put(page, 40, &(base + MEMMAP as u64).to_le_bytes());
            put(page, 48, &(regions.len() as u32).to_le_bytes());
            put(page, CMDLINE, b"selftest\0");
            for (i, r) in regions.iter().enumerate() {
                let at = MEMMAP + 24 * i;
                put(page, at, &r.start.to_le_bytes());
                put(page, at + 8, &r.size.to_le_bytes());
                put(page, at + 16, &r.kind.0.to_le_bytes());
            }
            base
        }
    };
    // Like a host, map with tables of its own: the runtime's tables are in .bss, which the
    // entry clears.
    let pml4 = host_page_tables();
    println!("[rt-check] re-entering through the 64-bit entry (start info at {start_info:#x})");
    interrupts::disable();
    unsafe extern "C" {
        fn rt_entry64() -> !;
    }
    // SAFETY: this is the boot contract's 64-bit entry state: long mode with an identity
    // map of the first 4 GiB in tables outside the kernel image (it covers RAM and the
    // kernel, so the CR3 switch keeps this code mapped), a 64-bit CS and flat data segments,
    // interrupts off, RDI = a valid start info or 0. RSP is set to an unmapped address to
    // show that the entry does not use it. The entry never returns, and it clears .bss and
    // rebuilds every runtime structure, so nothing of this boot is relied on afterwards.
    unsafe {
        core::arch::asm!(
            "mov cr3, {pml4}",
            "mov rsp, {junk}",
            "jmp {entry}",
            pml4 = in(reg) pml4,
            junk = in(reg) UNMAPPED,
            entry = sym rt_entry64,
            in("rdi") start_info,
            options(noreturn),
        )
    }
}

/// Above the 4 GiB identity map: unmapped.
const UNMAPPED: u64 = 0x2_0000_0000;

fn trigger(fault: &str) -> ! {
    println!("[rt-check] triggering {fault}");
    match fault {
        // SAFETY: ud2 raises #UD.
        "ud" => unsafe { core::arch::asm!("ud2", options(nomem, nostack)) },
        // SAFETY: a load from a non-canonical address raises #GP and reads nothing.
        "gp" => unsafe {
            core::arch::asm!(
                "mov {tmp}, [{addr}]",
                addr = in(reg) 0x8000_0000_0000_0000_u64,
                tmp = out(reg) _,
                options(readonly, nostack),
            );
        },
        // SAFETY: page 0 is unmapped by the runtime: the load raises #PF and reads nothing.
        "pf" => unsafe {
            core::arch::asm!(
                "mov {tmp}, [{addr}]",
                addr = in(reg) 0_u64,
                tmp = out(reg) _,
                options(readonly, nostack),
            );
        },
        // SAFETY: with RSP in unmapped memory, delivering #UD faults (#PF), delivering that
        // #PF faults again: a double fault, delivered on the IST stack. The stack pointer is
        // never used by Rust code again (the handler ends the run).
        "df" => unsafe {
            core::arch::asm!(
                "mov rsp, {stack}",
                "ud2",
                stack = in(reg) UNMAPPED,
                options(noreturn),
            );
        },
        // SAFETY: `int 0x50` calls the vector's IDT entry like an interrupt; no handler is
        // registered for it, so the runtime reports an unexpected interrupt.
        "int" => unsafe { core::arch::asm!("int 0x50", options(nomem, nostack)) },
        "panic" => panic!("rt-check panics on purpose"),
        other => {
            println!("[rt-check] unknown fault \"{other}\"");
            kernel_rt::exit(false)
        }
    }
    println!("[rt-check] {fault} did not fault");
    kernel_rt::exit(true)
}
