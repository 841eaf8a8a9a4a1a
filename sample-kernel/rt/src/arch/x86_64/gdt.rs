//! The runtime's GDT and TSS: a 64-bit code segment, a data segment and a TSS whose first
//! interrupt stack (IST 1) is used for double faults, so a #DF caused by a broken stack can
//! still be reported.

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

use crate::sync::StaticCell;

/// Index in the TSS's interrupt stack table of the double fault stack (IST 1).
pub const DOUBLE_FAULT_IST_INDEX: u16 = 0;

/// Size of the double fault stack.
const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([u8; IST_STACK_SIZE]);

static DOUBLE_FAULT_STACK: StaticCell<Stack> = StaticCell::new();
static TSS: StaticCell<TaskStateSegment> = StaticCell::new();
static GDT: StaticCell<GlobalDescriptorTable> = StaticCell::new();

/// Loads the GDT and TSS and reloads every segment register. Called once at boot.
///
/// # Panics
///
/// If called twice.
pub fn init() {
    // SAFETY: a stack of zero bytes is a valid byte array.
    let stack = unsafe { DOUBLE_FAULT_STACK.init_zeroed() }.expect("gdt::init runs once");
    let tss = TSS
        .init(TaskStateSegment::new())
        .expect("gdt::init runs once");
    let stack_top = VirtAddr::from_ptr(stack.0.as_ptr_range().end);
    tss.interrupt_stack_table[usize::from(DOUBLE_FAULT_IST_INDEX)] = stack_top;
    let tss: &'static TaskStateSegment = tss;

    let gdt = GDT
        .init(GlobalDescriptorTable::new())
        .expect("gdt::init runs once");
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss_selector = gdt.append(Descriptor::tss_segment(tss));
    let gdt: &'static GlobalDescriptorTable = gdt;
    gdt.load();
    // SAFETY: `code` and `data` are the 64-bit ring 0 code and flat data descriptors of the
    // GDT just loaded, which stays in place forever ('static).
    unsafe {
        CS::set_reg(code);
    }
    // SAFETY: as above, for the data segment registers.
    unsafe {
        SS::set_reg(data);
    }
    // SAFETY: as above.
    unsafe {
        DS::set_reg(data);
    }
    // SAFETY: as above.
    unsafe {
        ES::set_reg(data);
    }
    // SAFETY: `tss_selector` is an available 64-bit TSS descriptor of the loaded GDT,
    // pointing at a 'static TSS; it is loaded once.
    unsafe { load_tss(tss_selector) };
}
