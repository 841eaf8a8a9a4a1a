//! A local APIC in x2APIC mode: the registers a guest reads and writes through MSRs
//! 0x800–0x8FF (Intel SDM vol. 3, 11.12), interrupt acceptance (IRR), delivery priority
//! (TPR, PPR, ISR) and EOI. The APIC timer is not modelled (its registers read and write
//! as plain storage and never fire).

/// Base of the x2APIC MSR range.
pub(crate) const X2APIC_MSR_BASE: u32 = 0x800;
/// Last MSR of the x2APIC range.
pub(crate) const X2APIC_MSR_LAST: u32 = 0x8FF;
/// The x2APIC EOI register.
pub(crate) const X2APIC_EOI: u32 = 0x80B;
/// IA32_APIC_BASE.
pub(crate) const IA32_APIC_BASE: u32 = 0x1B;

/// APIC base MSR: BSP flag.
const APIC_BASE_BSP: u64 = 1 << 8;
/// APIC base MSR: x2APIC mode enable.
pub(crate) const APIC_BASE_EXTD: u64 = 1 << 10;
/// APIC base MSR: global enable.
pub(crate) const APIC_BASE_EN: u64 = 1 << 11;
/// The architectural default APIC base address.
const APIC_BASE_ADDRESS: u64 = 0xFEE0_0000;

/// Version register: version 0x14, 6 LVT entries (max LVT index 5), like KVM's.
const APIC_VERSION: u64 = 0x0005_0014;

/// The outcome of an APIC register access that is not a plain value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ApicFault {
    /// The access raises #GP (reserved register, read-only, write-only, reserved bits).
    Gp,
}

/// An IPI the guest sent through the ICR.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ipi {
    /// Vector.
    pub(crate) vector: u8,
    /// Delivery mode (0 fixed, 4 NMI, 5 INIT, 6 SIPI, ...).
    pub(crate) mode: u8,
    /// Destination shorthand (0 none, 1 self, 2 all, 3 all but self).
    pub(crate) shorthand: u8,
    /// Logical destination mode.
    pub(crate) logical: bool,
    /// Destination (x2APIC id or logical id).
    pub(crate) destination: u32,
    /// An INIT level de-assert (level 0, trigger mode level), which does nothing.
    pub(crate) deassert: bool,
}

impl Ipi {
    /// The IPI an ICR write with low half `low` and destination `destination` sends
    /// (Intel SDM vol. 3, 10.6.1: vector 7:0, delivery mode 10:8, destination mode 11,
    /// level 14, trigger mode 15, shorthand 19:18).
    pub(crate) fn from_icr(low: u32, destination: u32) -> Self {
        let mode = ((low >> 8) & 7) as u8;
        Self {
            vector: low as u8,
            mode,
            shorthand: ((low >> 18) & 3) as u8,
            logical: low & (1 << 11) != 0,
            destination,
            deassert: mode == 5 && low & (1 << 14) == 0 && low & (1 << 15) != 0,
        }
    }
}

/// One local APIC.
#[derive(Clone, Debug)]
pub(crate) struct Apic {
    id: u32,
    base: u64,
    tpr: u8,
    svr: u32,
    ldr_cluster: u32,
    irr: [u32; 8],
    isr: [u32; 8],
    tmr: [u32; 8],
    esr: u32,
    lvt: [u32; 7],
    icr: u64,
    timer_initial: u32,
    timer_divide: u32,
}

fn set_bit(set: &mut [u32; 8], vector: u8, on: bool) {
    let word = &mut set[usize::from(vector >> 5)];
    if on {
        *word |= 1 << (vector & 31);
    } else {
        *word &= !(1 << (vector & 31));
    }
}

fn highest(set: &[u32; 8]) -> Option<u8> {
    (0..8usize)
        .rev()
        .find_map(|i| (set[i] != 0).then(|| (i as u8) * 32 + (31 - set[i].leading_zeros() as u8)))
}

impl Apic {
    /// A reset APIC with x2APIC id `id`; `bsp` marks the bootstrap processor. Like real
    /// hardware after reset it is enabled in xAPIC mode: the guest sets IA32_APIC_BASE.EXTD
    /// to use the x2APIC MSRs, and bit 8 of the SVR to accept interrupts.
    pub(crate) fn new(id: u32, bsp: bool) -> Self {
        Self {
            id,
            base: APIC_BASE_ADDRESS | APIC_BASE_EN | if bsp { APIC_BASE_BSP } else { 0 },
            tpr: 0,
            svr: 0xFF,
            ldr_cluster: id,
            irr: [0; 8],
            isr: [0; 8],
            tmr: [0; 8],
            esr: 0,
            lvt: [0x1_0000; 7],
            icr: 0,
            timer_initial: 0,
            timer_divide: 0,
        }
    }

    /// The x2APIC id.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// INIT (Intel SDM vol. 3, 10.4.7.3): every register back to its reset value except
    /// the APIC id and IA32_APIC_BASE (so x2APIC mode stays on).
    pub(crate) fn init(&mut self) {
        let base = self.base;
        *self = Self::new(self.id, base & APIC_BASE_BSP != 0);
        self.base = base;
    }

    /// Whether logical destination `destination` names this APIC (x2APIC cluster mode,
    /// Intel SDM vol. 3, 10.12.10.2: cluster in bits 31:16, a bit per member in 15:0).
    pub(crate) fn in_logical_destination(&self, destination: u32) -> bool {
        let ldr = self.ldr();
        ldr >> 16 == destination >> 16 && ldr & destination & 0xFFFF != 0
    }

    /// IA32_APIC_BASE.
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// Writes IA32_APIC_BASE. Only the EXTD and EN transitions the SDM allows from the
    /// current state are accepted; the base address cannot move (no xAPIC page here).
    pub(crate) fn set_base(&mut self, value: u64) -> Result<(), ApicFault> {
        let keep = APIC_BASE_ADDRESS | (self.base & APIC_BASE_BSP);
        if value & !(APIC_BASE_EN | APIC_BASE_EXTD) != keep {
            return Err(ApicFault::Gp);
        }
        // EXTD without EN is invalid; leaving x2APIC mode needs a full disable first.
        let (en, extd) = (value & APIC_BASE_EN != 0, value & APIC_BASE_EXTD != 0);
        if extd && !en || (self.x2apic() && en && !extd) {
            return Err(ApicFault::Gp);
        }
        self.base = value;
        Ok(())
    }

    /// Whether x2APIC mode is on.
    pub(crate) fn x2apic(&self) -> bool {
        self.base & (APIC_BASE_EN | APIC_BASE_EXTD) == APIC_BASE_EN | APIC_BASE_EXTD
    }

    /// Whether the APIC accepts interrupts (globally and software enabled).
    pub(crate) fn accepting(&self) -> bool {
        self.base & APIC_BASE_EN != 0 && self.svr & 0x100 != 0
    }

    /// Task priority (TPR, 8 bits).
    pub(crate) fn tpr(&self) -> u8 {
        self.tpr
    }

    /// Sets the task priority.
    pub(crate) fn set_tpr(&mut self, tpr: u8) {
        self.tpr = tpr;
    }

    /// Processor priority (SDM 11.8.3.1).
    pub(crate) fn ppr(&self) -> u8 {
        let isrv = highest(&self.isr).unwrap_or(0);
        if self.tpr >> 4 >= isrv >> 4 {
            self.tpr
        } else {
            isrv & 0xF0
        }
    }

    /// Marks `vector` pending. Returns `false` when the APIC does not accept it
    /// (software-disabled, or an illegal vector 0–15, which sets ESR's "received illegal
    /// vector").
    pub(crate) fn accept(&mut self, vector: u8) -> bool {
        if !self.accepting() {
            return false;
        }
        if vector < 16 {
            self.esr |= 1 << 6;
            return false;
        }
        set_bit(&mut self.irr, vector, true);
        true
    }

    /// The vector that would be delivered now if RFLAGS.IF allows it (SDM 11.8.3).
    pub(crate) fn deliverable(&self) -> Option<u8> {
        let vector = highest(&self.irr)?;
        (vector >> 4 > self.ppr() >> 4).then_some(vector)
    }

    /// Whether any interrupt is pending, deliverable or not.
    pub(crate) fn has_pending(&self) -> bool {
        self.irr.iter().any(|&w| w != 0)
    }

    /// Moves `vector` from IRR to ISR (delivery); `auto_eoi` skips the ISR.
    pub(crate) fn acknowledge(&mut self, vector: u8, auto_eoi: bool) {
        set_bit(&mut self.irr, vector, false);
        if !auto_eoi {
            set_bit(&mut self.isr, vector, true);
        }
    }

    /// End of interrupt: clears the highest in-service vector, if any.
    pub(crate) fn eoi(&mut self) -> Option<u8> {
        let vector = highest(&self.isr)?;
        set_bit(&mut self.isr, vector, false);
        Some(vector)
    }

    /// Whether `vector` is the only vector in service.
    pub(crate) fn only_in_service(&self, vector: u8) -> bool {
        let mut expected = [0u32; 8];
        set_bit(&mut expected, vector, true);
        self.isr == expected
    }

    fn ldr(&self) -> u32 {
        ((self.ldr_cluster >> 4) << 16) | (1 << (self.ldr_cluster & 0xF))
    }

    /// Reads x2APIC MSR `msr` (SDM table 11-6).
    pub(crate) fn read_msr(&self, msr: u32) -> Result<u64, ApicFault> {
        if !self.x2apic() {
            return Err(ApicFault::Gp);
        }
        let index = msr - X2APIC_MSR_BASE;
        let value = match index {
            0x02 => u64::from(self.id),
            0x03 => APIC_VERSION,
            0x08 => u64::from(self.tpr),
            0x0A => u64::from(self.ppr()),
            0x0D => u64::from(self.ldr()),
            0x0F => u64::from(self.svr),
            0x10..=0x17 => u64::from(self.isr[(index - 0x10) as usize]),
            0x18..=0x1F => u64::from(self.tmr[(index - 0x18) as usize]),
            0x20..=0x27 => u64::from(self.irr[(index - 0x20) as usize]),
            0x28 => u64::from(self.esr),
            0x2F => u64::from(self.lvt[0]),
            0x30 => self.icr,
            0x32..=0x37 => u64::from(self.lvt[(index - 0x31) as usize]),
            0x38 => u64::from(self.timer_initial),
            0x39 => 0,
            0x3E => u64::from(self.timer_divide),
            _ => return Err(ApicFault::Gp),
        };
        Ok(value)
    }

    /// Writes x2APIC MSR `msr`. An ICR or self-IPI write returns the IPI to route.
    pub(crate) fn write_msr(&mut self, msr: u32, value: u64) -> Result<Option<Ipi>, ApicFault> {
        if !self.x2apic() {
            return Err(ApicFault::Gp);
        }
        let index = msr - X2APIC_MSR_BASE;
        let low = value as u32;
        // Registers other than the ICR are 32 bits wide: the upper half is reserved.
        if index != 0x30 && value >> 32 != 0 {
            return Err(ApicFault::Gp);
        }
        match index {
            0x08 if low <= 0xFF => self.tpr = low as u8,
            0x0B if low == 0 => {
                self.eoi();
            }
            0x0F if low & !0x11FF == 0 => self.svr = low,
            0x28 if low == 0 => self.esr = 0,
            0x2F | 0x32..=0x37 => {
                let slot = if index == 0x2F {
                    0
                } else {
                    (index - 0x31) as usize
                };
                self.lvt[slot] = low;
            }
            0x30 => {
                // Reserved in x2APIC mode: delivery status (12), 13, 16-17, 20-31.
                if low & 0xFFF3_3000 != 0 {
                    return Err(ApicFault::Gp);
                }
                self.icr = value;
                return Ok(Some(Ipi::from_icr(low, (value >> 32) as u32)));
            }
            0x38 => self.timer_initial = low,
            0x3E if low & !0xB == 0 => self.timer_divide = low,
            0x3F if low <= 0xFF => {
                return Ok(Some(Ipi {
                    vector: low as u8,
                    mode: 0,
                    shorthand: 1,
                    logical: false,
                    destination: self.id,
                    deassert: false,
                }));
            }
            _ => return Err(ApicFault::Gp),
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x2apic() -> Apic {
        let mut apic = Apic::new(0, true);
        apic.set_base(APIC_BASE_ADDRESS | APIC_BASE_BSP | APIC_BASE_EN | APIC_BASE_EXTD)
            .unwrap();
        apic.write_msr(0x80F, 0x1FF).unwrap();
        apic
    }

    #[test]
    fn priority_rules() {
        let mut apic = x2apic();
        assert!(apic.accept(0x51));
        apic.set_tpr(0x50);
        assert_eq!(apic.deliverable(), None, "same class as TPR is masked");
        apic.set_tpr(0x40);
        assert_eq!(apic.deliverable(), Some(0x51));
        apic.acknowledge(0x51, false);
        assert!(apic.accept(0x52));
        assert_eq!(apic.deliverable(), None, "same class as ISR is held");
        assert!(apic.accept(0x61));
        assert_eq!(apic.deliverable(), Some(0x61));
        assert_eq!(apic.eoi(), Some(0x51));
        assert_eq!(apic.read_msr(0x80A), Ok(0x40));
    }

    #[test]
    fn register_access_rules() {
        let mut apic = x2apic();
        assert_eq!(
            apic.read_msr(0x80B),
            Err(ApicFault::Gp),
            "EOI is write-only"
        );
        assert_eq!(
            apic.write_msr(0x802, 1),
            Err(ApicFault::Gp),
            "ID is read-only"
        );
        assert_eq!(
            apic.write_msr(0x80B, 1),
            Err(ApicFault::Gp),
            "EOI takes 0 only"
        );
        assert_eq!(apic.read_msr(0x803), Ok(APIC_VERSION));
        let ipi = apic.write_msr(0x830, (1 << 32) | 0x40).unwrap().unwrap();
        assert_eq!((ipi.vector, ipi.destination, ipi.shorthand), (0x40, 1, 0));
        assert!(!Apic::new(1, false).accept(0x40), "SVR disabled at reset");
        assert!(!apic.accept(3), "vectors below 16 are illegal");
        assert_eq!(Apic::new(0, true).read_msr(0x802), Err(ApicFault::Gp));
    }

    #[test]
    fn init_keeps_id_and_base_and_icr_fields_decode() {
        let mut apic = x2apic();
        apic.set_tpr(0x30);
        assert!(apic.accept(0x40));
        apic.init();
        assert!(apic.x2apic(), "INIT leaves IA32_APIC_BASE alone");
        assert!(!apic.has_pending());
        assert_eq!(apic.tpr(), 0);
        assert!(!apic.accepting(), "the SVR is back to software-disabled");
        // INIT assert (level 1), de-assert (level 0, trigger level), SIPI vector 0x9F.
        assert!(!Ipi::from_icr(0x4500, 1).deassert);
        assert!(Ipi::from_icr(0x8500, 1).deassert);
        let sipi = Ipi::from_icr(0x469F, 7);
        assert_eq!((sipi.mode, sipi.vector, sipi.destination), (6, 0x9F, 7));
    }

    #[test]
    fn logical_destinations_are_x2apic_clusters() {
        // x2APIC id 0x13: cluster 1, member bit 3.
        let apic = Apic::new(0x13, false);
        assert!(apic.in_logical_destination(1 << 16 | 1 << 3));
        assert!(apic.in_logical_destination(1 << 16 | 0xFFFF));
        assert!(!apic.in_logical_destination(1 << 3), "cluster 0");
        assert!(!apic.in_logical_destination(1 << 16 | 1 << 2));
    }
}
