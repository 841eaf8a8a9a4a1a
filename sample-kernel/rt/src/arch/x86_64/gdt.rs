//! The runtime's GDT and TSSs: a 64-bit code segment, a data segment and one TSS per
//! processor (the boot processor's and one application processor's, see [`super::smp`]),
//! whose first interrupt stack (IST 1) is used for double faults, so a #DF caused by a
//! broken stack can still be reported. Every processor loads the same GDT; a TSS can be
//! loaded by one processor only (LTR marks its descriptor busy).

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

use crate::sync::{SpinLock, StaticCell};

/// Index in the TSS's interrupt stack table of the double fault stack (IST 1).
pub const DOUBLE_FAULT_IST_INDEX: u16 = 0;

/// Size of the double fault stack.
const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([u8; IST_STACK_SIZE]);

static DOUBLE_FAULT_STACK: StaticCell<Stack> = StaticCell::new();
static TSS: StaticCell<TaskStateSegment> = StaticCell::new();
static AP_DOUBLE_FAULT_STACK: StaticCell<Stack> = StaticCell::new();
static AP_TSS: StaticCell<TaskStateSegment> = StaticCell::new();
static GDT: StaticCell<Loaded> = StaticCell::new();
/// The loaded GDT, for the application processor.
static LOADED: SpinLock<Option<&'static Loaded>> = SpinLock::new(None);

/// The GDT and the selectors an application processor loads.
struct Loaded {
    gdt: GlobalDescriptorTable,
    code: SegmentSelector,
    data: SegmentSelector,
    ap_tss: SegmentSelector,
}

/// A TSS whose IST 1 is the top of `stack`.
fn tss_with_stack(
    tss: &'static StaticCell<TaskStateSegment>,
    stack: &'static StaticCell<Stack>,
) -> &'static TaskStateSegment {
    // SAFETY: a stack of zero bytes is a valid byte array.
    let stack = unsafe { stack.init_zeroed() }.expect("gdt::init runs once");
    let tss = tss
        .init(TaskStateSegment::new())
        .expect("gdt::init runs once");
    tss.interrupt_stack_table[usize::from(DOUBLE_FAULT_IST_INDEX)] =
        VirtAddr::from_ptr(stack.0.as_ptr_range().end);
    tss
}

/// Loads the GDT and reloads CS, SS, DS and ES with its flat segments.
fn load(loaded: &'static Loaded) {
    loaded.gdt.load();
    // SAFETY: `code` and `data` are the 64-bit ring 0 code and flat data descriptors of the
    // GDT just loaded, which stays in place forever ('static).
    unsafe {
        CS::set_reg(loaded.code);
    }
    // SAFETY: as above, for the data segment registers.
    unsafe {
        SS::set_reg(loaded.data);
    }
    // SAFETY: as above.
    unsafe {
        DS::set_reg(loaded.data);
    }
    // SAFETY: as above.
    unsafe {
        ES::set_reg(loaded.data);
    }
}

/// Loads the GDT and TSS and reloads every segment register. Called once at boot.
///
/// # Panics
///
/// If called twice.
pub fn init() {
    let tss = tss_with_stack(&TSS, &DOUBLE_FAULT_STACK);
    let ap_tss = tss_with_stack(&AP_TSS, &AP_DOUBLE_FAULT_STACK);
    let mut gdt = GlobalDescriptorTable::new();
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss_selector = gdt.append(Descriptor::tss_segment(tss));
    let ap_tss = gdt.append(Descriptor::tss_segment(ap_tss));
    let loaded: &'static Loaded = GDT
        .init(Loaded {
            gdt,
            code,
            data,
            ap_tss,
        })
        .expect("gdt::init runs once");
    load(loaded);
    *LOADED.lock() = Some(loaded);
    // SAFETY: `tss_selector` is an available 64-bit TSS descriptor of the loaded GDT,
    // pointing at a 'static TSS; it is loaded once.
    unsafe { load_tss(tss_selector) };
}

/// Loads the GDT on the application processor and its own TSS. Called once, by the
/// application processor, after [`init`].
///
/// # Panics
///
/// Before [`init`].
pub fn init_ap() {
    let loaded = (*LOADED.lock()).expect("gdt::init ran on the boot processor");
    load(loaded);
    // SAFETY: `ap_tss` is the application processor's available TSS descriptor, pointing
    // at a 'static TSS no other processor loads; only one application processor is ever
    // started, once.
    unsafe { load_tss(loaded.ap_tss) };
}
