//! The GICv3 interrupt controller: distributor, this processor's redistributor and the CPU
//! interface through system registers (Arm IHI 0069, "GICv3 and GICv4 architecture
//! specification").
//!
//! The runtime drives the private interrupts only: SGIs (interrupt ids 0–15, sent by
//! software) and PPIs (16–31: the timers, and the interrupt a hypervisor model can use for
//! SynIC delivery). The runtime's `init` enables the distributor (affinity routing, group 1), wakes the
//! redistributor whose affinity matches MPIDR_EL1, puts every SGI and PPI in non-secure group
//! 1 at priority 0xA0, not pending, SGIs enabled and PPIs disabled, and enables the CPU
//! interface (priority mask 0xF0, group 1 on). A kernel [`register`]s a handler for an id (a
//! PPI is enabled then, and disabled again by [`unregister`]); the runtime acknowledges the
//! interrupt, calls the handler with IRQs masked, and ends it (EOI, which also deactivates
//! it). An interrupt without a handler (an SGI nobody registered) is reported and ends the run
//! with the failure status, like an exception.
//!
//! Shared peripheral interrupts (32 and up) are disabled at the distributor (firmware that ran
//! before the kernel, such as UEFI, may have enabled some) and stay so.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use aarch64_cpu::asm::barrier;

use super::cpu;
use crate::console::print_unlocked;
use crate::sync::SpinLock;

/// An interrupt id the runtime can deliver: an SGI (0–15) or a PPI (16–31).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntId(u32);

impl IntId {
    /// The number of private interrupt ids (SGIs and PPIs).
    pub const PRIVATE: u32 = 32;

    /// `id` if it is an SGI or PPI.
    pub const fn new(id: u32) -> Option<Self> {
        if id < Self::PRIVATE {
            Some(Self(id))
        } else {
            None
        }
    }

    /// SGI `n` (0–15).
    pub const fn sgi(n: u32) -> Option<Self> {
        if n < 16 { Some(Self(n)) } else { None }
    }

    /// The interrupt id.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Whether this is an SGI.
    pub const fn is_sgi(self) -> bool {
        self.0 < 16
    }
}

impl fmt::Display for IntId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why the GIC could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicError {
    /// A register region lies outside the device part of the identity map (2 MiB – 1 GiB).
    OutsideDeviceMap {
        /// Which region.
        what: &'static str,
        /// Its base.
        base: u64,
    },
    /// No redistributor in the region has this processor's affinity.
    NoRedistributor {
        /// MPIDR_EL1's affinity.
        affinity: u64,
    },
    /// The GIC system register interface did not enable (ICC_SRE_EL1.SRE reads 0).
    NoSystemRegisters,
    /// A register did not settle in time.
    Timeout(&'static str),
}

impl fmt::Display for GicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutsideDeviceMap { what, base } => {
                write!(f, "GIC {what} at {base:#x} is outside the device map")
            }
            Self::NoRedistributor { affinity } => {
                write!(f, "no GIC redistributor for affinity {affinity:#x}")
            }
            Self::NoSystemRegisters => f.write_str("GIC system register interface unavailable"),
            Self::Timeout(what) => write!(f, "GIC {what} did not settle"),
        }
    }
}

/// Why a handler could not be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// The id has a handler already.
    Busy(IntId),
    /// The GIC is not set up.
    NotInitialized,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Busy(id) => write!(f, "interrupt {id} already has a handler"),
            Self::NotInitialized => f.write_str("the GIC is not set up"),
        }
    }
}

/// An interrupt handler; gets the id it was registered for. It runs with IRQs masked, and a
/// level-triggered source (a timer) must be quietened before it returns.
pub type Handler = fn(IntId);

/// Where the GIC is, once set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GicInfo {
    /// Distributor base.
    pub distributor: u64,
    /// This processor's redistributor (RD_base).
    pub redistributor: u64,
}

// Distributor registers.
const GICD_CTLR: usize = 0x0000;
const GICD_CTLR_RWP: u32 = 1 << 31;
const GICD_CTLR_ARE: u32 = 1 << 4;
const GICD_CTLR_ENABLE_G1A: u32 = 1 << 1;
const GICD_CTLR_ENABLE_G1: u32 = 1 << 0;
const GICD_TYPER: usize = 0x0004;
/// GICD_TYPER.ITLinesNumber: the distributor has 32 * (N + 1) interrupt ids.
const GICD_TYPER_IT_LINES: u32 = 0x1f;
const GICD_ICENABLER: usize = 0x0180;

// Redistributor registers (RD_base).
const GICR_CTLR: usize = 0x0000;
const GICR_CTLR_RWP: u32 = 1 << 3;
const GICR_TYPER: usize = 0x0008;
const GICR_TYPER_VLPIS: u64 = 1 << 1;
const GICR_TYPER_LAST: u64 = 1 << 4;
const GICR_WAKER: usize = 0x0014;
const GICR_WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const GICR_WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
/// SGI_base: the second 64 KiB frame of a redistributor.
const SGI_FRAME: usize = 0x1_0000;
const GICR_IGROUPR0: usize = SGI_FRAME + 0x0080;
const GICR_ISENABLER0: usize = SGI_FRAME + 0x0100;
const GICR_ICENABLER0: usize = SGI_FRAME + 0x0180;
const GICR_ISPENDR0: usize = SGI_FRAME + 0x0200;
const GICR_ICPENDR0: usize = SGI_FRAME + 0x0280;
const GICR_IPRIORITYR: usize = SGI_FRAME + 0x0400;

/// The SGIs' bits in the redistributor's 32-bit registers.
const SGI_MASK: u32 = 0xFFFF;
/// The PPIs' bits.
const PPI_MASK: u32 = !SGI_MASK;

/// Priority of every private interrupt.
const PRIORITY: u32 = 0xA0;
/// Priority mask: interrupts of priority below (numerically above) this are held.
const PRIORITY_MASK: u64 = 0xF0;
/// Interrupt ids 1020–1023 are special (spurious).
const SPECIAL_FIRST: u64 = 1020;

/// How many times to poll a settling register.
const POLL_LIMIT: u32 = 1_000_000;

/// RD_base of this processor's redistributor; 0 until [`init`] succeeds.
static REDISTRIBUTOR: AtomicUsize = AtomicUsize::new(0);

static HANDLERS: SpinLock<[Option<Handler>; IntId::PRIVATE as usize]> =
    SpinLock::new([None; IntId::PRIVATE as usize]);

fn read32(addr: usize) -> u32 {
    let reg = core::ptr::with_exposed_provenance::<u32>(addr);
    // SAFETY: `addr` is a GIC register inside a region `init` checked lies in the device map;
    // a volatile aligned read is how the device is read.
    unsafe { reg.read_volatile() }
}

fn write32(addr: usize, value: u32) {
    let reg = core::ptr::with_exposed_provenance_mut::<u32>(addr);
    // SAFETY: as in `read32`.
    unsafe { reg.write_volatile(value) }
}

fn read64(addr: usize) -> u64 {
    u64::from(read32(addr)) | u64::from(read32(addr + 4)) << 32
}

fn wait_clear(addr: usize, bit: u32, what: &'static str) -> Result<(), GicError> {
    for _ in 0..POLL_LIMIT {
        if read32(addr) & bit == 0 {
            return Ok(());
        }
        core::hint::spin_loop();
    }
    Err(GicError::Timeout(what))
}

/// Reads and writes of the GIC CPU interface system registers (by encoding, as the
/// assembler's names need the GICv3 feature).
macro_rules! icc_write {
    ($enc:literal, $value:expr) => {
        // SAFETY: a GIC CPU interface register of this processor; writing it changes only
        // interrupt state, no memory.
        unsafe { core::arch::asm!(concat!("msr ", $enc, ", {}"), in(reg) $value, options(nomem, nostack)) }
    };
}

macro_rules! icc_read {
    ($enc:literal) => {{
        let value: u64;
        // SAFETY: reading a GIC CPU interface register (IAR acknowledges an interrupt, which
        // the caller then ends); no memory is touched.
        unsafe { core::arch::asm!(concat!("mrs {}, ", $enc), out(reg) value, options(nomem, nostack)) };
        value
    }};
}

/// Checks that `[base, base + size)` lies in the device part of the identity map.
fn check_region(what: &'static str, (base, size): (u64, u64)) -> Result<usize, GicError> {
    let end = base.checked_add(size);
    let inside = base >= 2 << 20 && end.is_some_and(|end| end <= 1 << 30) && size >= 0x1_0000;
    if inside {
        usize::try_from(base).map_err(|_| GicError::OutsideDeviceMap { what, base })
    } else {
        Err(GicError::OutsideDeviceMap { what, base })
    }
}

/// Sets up the distributor, this processor's redistributor and CPU interface.
///
/// # Errors
///
/// [`GicError`] when a region is outside the device map, no redistributor matches, the
/// system registers do not enable or a register does not settle.
pub(crate) fn init(
    distributor: (u64, u64),
    redistributors: (u64, u64),
) -> Result<GicInfo, GicError> {
    let dist = check_region("distributor", distributor)?;
    let region = check_region("redistributor region", redistributors)?;

    write32(dist + GICD_CTLR, 0);
    wait_clear(dist + GICD_CTLR, GICD_CTLR_RWP, "distributor")?;
    let spi_registers = (read32(dist + GICD_TYPER) & GICD_TYPER_IT_LINES) as usize;
    for n in 1..=spi_registers {
        write32(dist + GICD_ICENABLER + 4 * n, u32::MAX);
    }
    wait_clear(dist + GICD_CTLR, GICD_CTLR_RWP, "distributor")?;
    write32(dist + GICD_CTLR, GICD_CTLR_ARE);
    wait_clear(dist + GICD_CTLR, GICD_CTLR_RWP, "distributor")?;
    write32(
        dist + GICD_CTLR,
        GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1A | GICD_CTLR_ENABLE_G1,
    );
    wait_clear(dist + GICD_CTLR, GICD_CTLR_RWP, "distributor")?;

    let rd = find_redistributor(region, redistributors.1 as usize)?;
    let waker = read32(rd + GICR_WAKER);
    write32(rd + GICR_WAKER, waker & !GICR_WAKER_PROCESSOR_SLEEP);
    wait_clear(
        rd + GICR_WAKER,
        GICR_WAKER_CHILDREN_ASLEEP,
        "redistributor wake-up",
    )?;
    write32(rd + GICR_ICENABLER0, PPI_MASK);
    wait_clear(rd + GICR_CTLR, GICR_CTLR_RWP, "redistributor")?;
    write32(rd + GICR_ISENABLER0, SGI_MASK);
    write32(rd + GICR_ICPENDR0, u32::MAX);
    write32(rd + GICR_IGROUPR0, u32::MAX);
    for i in 0..8 {
        write32(rd + GICR_IPRIORITYR + 4 * i, PRIORITY * 0x0101_0101);
    }

    icc_write!("S3_0_C12_C12_5", 1_u64); // ICC_SRE_EL1.SRE
    barrier::isb(barrier::SY);
    if icc_read!("S3_0_C12_C12_5") & 1 == 0 {
        return Err(GicError::NoSystemRegisters);
    }
    icc_write!("S3_0_C4_C6_0", PRIORITY_MASK); // ICC_PMR_EL1
    icc_write!("S3_0_C12_C12_3", 0_u64); // ICC_BPR1_EL1
    icc_write!("S3_0_C12_C12_4", 0_u64); // ICC_CTLR_EL1: EOI also deactivates
    icc_write!("S3_0_C12_C12_7", 1_u64); // ICC_IGRPEN1_EL1
    barrier::isb(barrier::SY);

    REDISTRIBUTOR.store(rd, Ordering::Release);
    Ok(GicInfo {
        distributor: distributor.0,
        redistributor: rd as u64,
    })
}

/// The redistributor whose GICR_TYPER affinity is this processor's.
fn find_redistributor(region: usize, size: usize) -> Result<usize, GicError> {
    let mpidr = cpu::affinity();
    let affinity = (mpidr >> 32 & 0xFF) << 24 | (mpidr & 0xFF_FFFF);
    let mut offset = 0;
    while offset + 2 * SGI_FRAME <= size {
        let typer = read64(region + offset + GICR_TYPER);
        if typer >> 32 == affinity {
            return Ok(region + offset);
        }
        if typer & GICR_TYPER_LAST != 0 {
            break;
        }
        offset += if typer & GICR_TYPER_VLPIS != 0 {
            4 * SGI_FRAME
        } else {
            2 * SGI_FRAME
        };
    }
    Err(GicError::NoRedistributor { affinity: mpidr })
}

fn redistributor() -> Option<usize> {
    match REDISTRIBUTOR.load(Ordering::Acquire) {
        0 => None,
        rd => Some(rd),
    }
}

/// Whether the runtime has set the GIC up.
pub fn enabled() -> bool {
    redistributor().is_some()
}

/// Registers `handler` for `id` and enables the interrupt (SGIs are always enabled).
///
/// # Errors
///
/// [`RegisterError`] when the id has a handler or the GIC is not set up.
pub fn register(id: IntId, handler: Handler) -> Result<(), RegisterError> {
    let rd = redistributor().ok_or(RegisterError::NotInitialized)?;
    cpu::without_interrupts(|| {
        let mut handlers = HANDLERS.lock();
        let slot = &mut handlers[id.0 as usize];
        if slot.is_some() {
            return Err(RegisterError::Busy(id));
        }
        *slot = Some(handler);
        write32(rd + GICR_ISENABLER0, 1 << id.0);
        Ok(())
    })
}

/// Removes the handler of `id` and disables it if it is a PPI (nothing happens if it has no
/// handler).
pub fn unregister(id: IntId) {
    let Some(rd) = redistributor() else {
        return;
    };
    cpu::without_interrupts(|| {
        if !id.is_sgi() {
            write32(rd + GICR_ICENABLER0, 1 << id.0);
            // Best effort: the handler goes whether or not the write settled.
            let _ = wait_clear(rd + GICR_CTLR, GICR_CTLR_RWP, "redistributor");
        }
        HANDLERS.lock()[id.0 as usize] = None;
    });
}

/// Whether `id` is pending at the redistributor.
pub fn is_pending(id: IntId) -> bool {
    redistributor().is_some_and(|rd| read32(rd + GICR_ISPENDR0) & 1 << id.0 != 0)
}

/// Sends SGI `id` to this processor (ICC_SGI1R_EL1 with this processor's affinity).
///
/// # Panics
///
/// If `id` is not an SGI (a bug in the caller).
pub fn send_sgi_to_self(id: IntId) {
    assert!(id.is_sgi(), "interrupt {id} is not an SGI");
    let mpidr = cpu::affinity();
    let aff0 = mpidr & 0xFF;
    let value = (mpidr >> 32 & 0xFF) << 48 // Aff3
        | (mpidr >> 16 & 0xFF) << 32 // Aff2
        | (aff0 >> 4) << 44 // RS: which 16 of Aff0
        | u64::from(id.0) << 24
        | (mpidr >> 8 & 0xFF) << 16 // Aff1
        | 1 << (aff0 & 0xF); // target list
    barrier::dsb(barrier::ISHST);
    icc_write!("S3_0_C12_C11_5", value);
    barrier::isb(barrier::SY);
}

/// Sets the CPU interface's priority mask: interrupts whose priority value is not below it
/// are held pending.
pub fn set_priority_mask(mask: u8) {
    icc_write!("S3_0_C4_C6_0", u64::from(mask));
    barrier::isb(barrier::SY);
}

/// The priority every private interrupt has.
pub const fn interrupt_priority() -> u8 {
    PRIORITY as u8
}

/// Takes one IRQ: acknowledges it, calls its handler, ends it. Called by the IRQ vector.
pub(crate) fn handle_irq() {
    let iar = icc_read!("S3_0_C12_C12_0"); // ICC_IAR1_EL1
    let id = iar & 0xFF_FFFF;
    if (SPECIAL_FIRST..SPECIAL_FIRST + 4).contains(&id) {
        return;
    }
    let handler =
        IntId::new(id as u32).and_then(|id| HANDLERS.lock()[id.0 as usize].map(|h| (id, h)));
    match handler {
        Some((id, handler)) => handler(id),
        None => {
            print_unlocked(format_args!(
                "[rt] unexpected interrupt (interrupt id {id})\n"
            ));
            super::exit::exit(false)
        }
    }
    icc_write!("S3_0_C12_C12_1", iar); // ICC_EOIR1_EL1
    barrier::isb(barrier::SY);
}
