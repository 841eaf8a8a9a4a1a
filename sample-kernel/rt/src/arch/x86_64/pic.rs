//! The legacy 8259 PICs: remapped away from the exception vectors and masked.
//!
//! Firmware leaves the master PIC on vectors 0x08-0x0F, where its timer interrupt would look
//! like a double fault. The runtime moves the two PICs to [`PIC_BASE`]..[`PIC_BASE`]+16 and
//! masks every line; the kernel uses the local APIC instead.

use x86_64::instructions::port::Port;

/// First vector of the remapped PICs (0x20-0x2F).
pub const PIC_BASE: u8 = 0x20;

/// Vectors a masked 8259 may still deliver as "spurious" (IRQ 7 and IRQ 15).
pub const SPURIOUS: [u8; 2] = [PIC_BASE + 7, PIC_BASE + 15];

/// Remaps both PICs and masks all their lines.
pub fn disable() {
    const MASTER: u16 = 0x20;
    const SLAVE: u16 = 0xa0;
    let writes: [(u16, u8); 10] = [
        (MASTER, 0x11), // ICW1: init, ICW4 follows
        (SLAVE, 0x11),
        (MASTER + 1, PIC_BASE), // ICW2: vector base
        (SLAVE + 1, PIC_BASE + 8),
        (MASTER + 1, 0x04), // ICW3: slave on IRQ 2
        (SLAVE + 1, 0x02),  // ICW3: cascade identity
        (MASTER + 1, 0x01), // ICW4: 8086 mode
        (SLAVE + 1, 0x01),
        (MASTER + 1, 0xff), // mask every line
        (SLAVE + 1, 0xff),
    ];
    for (port, value) in writes {
        // SAFETY: ports 0x20/0x21/0xA0/0xA1 are the 8259s; this sequence only changes their
        // vector base and masks, no memory.
        unsafe { Port::<u8>::new(port).write(value) };
        // SAFETY: port 0x80 is the POST diagnostic port; writing it is the customary delay
        // between 8259 commands and has no effect.
        unsafe { Port::<u8>::new(0x80).write(0) };
    }
}
