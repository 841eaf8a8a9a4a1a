//! A GICv3 (Arm IHI 0069) for one processor: the distributor's control registers, the
//! redistributor of processor 0 (its RD and SGI frames) and the CPU interface reached
//! through the `ICC_*` system registers.
//!
//! Only private interrupts exist (SGIs 0–15, PPIs 16–31), all in group 1: what the sample
//! kernel's runtime drives, what the generic timer raises and what SynIC SINTs and direct
//! synthetic timers name on arm64. Shared peripheral interrupts and LPIs are not modelled
//! (GICD_TYPER reports no SPI lines, GICR_TYPER no LPI support). Interrupt ids are level
//! sources ([`Gic::set_level`], the timers: pending while the line is high) or edge events
//! ([`Gic::raise`]: SGIs and SynIC interrupts: pending once).
//!
//! The CPU interface implements priority masking (ICC_PMR_EL1), the running priority of
//! active interrupts (nested preemption by strictly higher priority), ICC_IAR1_EL1
//! acknowledgement and ICC_EOIR1_EL1 priority drop with deactivation (ICC_CTLR_EL1.EOImode
//! 0; with EOImode 1, ICC_DIR_EL1 deactivates). Binary point grouping is not modelled:
//! preemption compares whole priorities.

use crate::uc::SysReg;

/// GICD_CTLR.
const GICD_CTLR: u64 = 0x0000;
/// GICD_TYPER.
const GICD_TYPER: u64 = 0x0004;
/// GICD_IIDR.
const GICD_IIDR: u64 = 0x0008;
/// GICD_PIDR2 (architecture revision in bits 7:4).
const GICD_PIDR2: u64 = 0xFFE8;
/// GICD_CTLR bits the model keeps: EnableGrp1NS (1), ARE_NS (4).
const GICD_CTLR_WRITABLE: u32 = (1 << 1) | (1 << 4);
/// GICD_CTLR.EnableGrp1NS.
const GICD_CTLR_ENABLE_G1NS: u32 = 1 << 1;
/// GICD_CTLR.DS reads one: the model has a single security state.
const GICD_CTLR_DS: u32 = 1 << 6;

/// GICR_CTLR (RD frame).
const GICR_CTLR: u64 = 0x0000;
/// GICR_IIDR.
const GICR_IIDR: u64 = 0x0004;
/// GICR_TYPER, 64 bits.
const GICR_TYPER: u64 = 0x0008;
/// GICR_WAKER.
const GICR_WAKER: u64 = 0x0014;
/// GICR_PIDR2.
const GICR_PIDR2: u64 = 0xFFE8;
/// GICR_TYPER.Last: the last redistributor of the region.
const GICR_TYPER_LAST: u64 = 1 << 4;
/// GICR_WAKER.ProcessorSleep.
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
/// GICR_WAKER.ChildrenAsleep.
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
/// The SGI frame, the second 64 KiB of a redistributor.
const SGI_FRAME: u64 = 0x1_0000;
const GICR_IGROUPR0: u64 = SGI_FRAME + 0x0080;
const GICR_ISENABLER0: u64 = SGI_FRAME + 0x0100;
const GICR_ICENABLER0: u64 = SGI_FRAME + 0x0180;
const GICR_ISPENDR0: u64 = SGI_FRAME + 0x0200;
const GICR_ICPENDR0: u64 = SGI_FRAME + 0x0280;
const GICR_ISACTIVER0: u64 = SGI_FRAME + 0x0300;
const GICR_ICACTIVER0: u64 = SGI_FRAME + 0x0380;
const GICR_IPRIORITYR: u64 = SGI_FRAME + 0x0400;
const GICR_ICFGR0: u64 = SGI_FRAME + 0x0C00;
const GICR_ICFGR1: u64 = SGI_FRAME + 0x0C04;
const GICR_IGRPMODR0: u64 = SGI_FRAME + 0x0D00;

/// Architecture revision 3 in the PIDR2 registers.
const PIDR2_GICV3: u32 = 0x3B;
/// The implementer code the model reports in the IIDR registers: none (0).
const IIDR: u32 = 0;

/// The spurious interrupt id ICC_IAR1_EL1 reads when nothing can be acknowledged.
pub(crate) const SPURIOUS: u32 = 1023;

/// The ICC registers the model implements (Arm IHI 0069 12.2), by encoding.
pub(crate) mod icc {
    use crate::uc::SysReg;

    /// ICC_PMR_EL1.
    pub(crate) const PMR: SysReg = SysReg::new(3, 0, 4, 6, 0);
    /// ICC_IAR1_EL1.
    pub(crate) const IAR1: SysReg = SysReg::new(3, 0, 12, 12, 0);
    /// ICC_EOIR1_EL1.
    pub(crate) const EOIR1: SysReg = SysReg::new(3, 0, 12, 12, 1);
    /// ICC_HPPIR1_EL1.
    pub(crate) const HPPIR1: SysReg = SysReg::new(3, 0, 12, 12, 2);
    /// ICC_BPR1_EL1.
    pub(crate) const BPR1: SysReg = SysReg::new(3, 0, 12, 12, 3);
    /// ICC_CTLR_EL1.
    pub(crate) const CTLR: SysReg = SysReg::new(3, 0, 12, 12, 4);
    /// ICC_SRE_EL1.
    pub(crate) const SRE: SysReg = SysReg::new(3, 0, 12, 12, 5);
    /// ICC_IGRPEN0_EL1.
    pub(crate) const IGRPEN0: SysReg = SysReg::new(3, 0, 12, 12, 6);
    /// ICC_IGRPEN1_EL1.
    pub(crate) const IGRPEN1: SysReg = SysReg::new(3, 0, 12, 12, 7);
    /// ICC_DIR_EL1.
    pub(crate) const DIR: SysReg = SysReg::new(3, 0, 12, 11, 1);
    /// ICC_RPR_EL1.
    pub(crate) const RPR: SysReg = SysReg::new(3, 0, 12, 11, 3);
    /// ICC_SGI1R_EL1.
    pub(crate) const SGI1R: SysReg = SysReg::new(3, 0, 12, 11, 5);
    /// ICC_AP1R0_EL1.
    pub(crate) const AP1R0: SysReg = SysReg::new(3, 0, 12, 9, 0);

    /// Whether `reg` is in the GIC CPU interface's encoding space for EL1 (CRn 12 with
    /// op1 0, or ICC_PMR_EL1): registers the CPU model itself does not have.
    pub(crate) fn is_icc(reg: SysReg) -> bool {
        reg == PMR || (reg.op0 == 3 && reg.op1 == 0 && reg.crn == 12 && reg.crm >= 8)
    }
}

/// ICC_SRE_EL1: SRE, DFB and DIB read one (system registers always on, bypass disabled).
const SRE_VALUE: u64 = 0x7;
/// ICC_CTLR_EL1 read-only fields: 5 priority bits (PRIbits = 4), 16-bit interrupt ids.
const ICC_CTLR_RO: u64 = 4 << 8;
/// ICC_CTLR_EL1.EOImode.
const ICC_CTLR_EOIMODE: u64 = 1 << 1;
/// The model implements 5 bits of priority (32 levels): the low three bits read zero.
const PRIORITY_MASK: u8 = 0xF8;
/// The idle priority.
const IDLE: u8 = 0xFF;

/// An access the GIC refused: the caller makes it an undefined instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Undefined;

/// The GIC state of processor 0.
#[derive(Clone, Debug)]
pub(crate) struct Gic {
    gicd_ctlr: u32,
    waker: u32,
    group: u32,
    group_mod: u32,
    enabled: u32,
    /// Latched pending state (edge events, SGIs, writes to GICR_ISPENDR0).
    pending: u32,
    /// Input lines of level-sensitive sources.
    level: u32,
    active: u32,
    config: [u32; 2],
    priority: [u8; 32],
    pmr: u8,
    bpr1: u64,
    ctlr: u64,
    igrpen1: bool,
    /// Active interrupts in acknowledgement order, for the running priority.
    active_stack: Vec<u32>,
}

impl Default for Gic {
    fn default() -> Self {
        Self {
            gicd_ctlr: 0,
            waker: WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP,
            group: 0,
            group_mod: 0,
            enabled: 0,
            pending: 0,
            level: 0,
            active: 0,
            // SGIs are edge-triggered (ICFGR0 reads 0xAAAA_AAAA); PPIs default to level.
            config: [0xAAAA_AAAA, 0],
            priority: [0; 32],
            pmr: 0,
            bpr1: 0,
            ctlr: ICC_CTLR_RO,
            igrpen1: false,
            active_stack: Vec::new(),
        }
    }
}

fn bit(intid: u32) -> u32 {
    1 << intid
}

impl Gic {
    /// Sets the input line of level-sensitive `intid` (0–31).
    pub(crate) fn set_level(&mut self, intid: u32, high: bool) {
        if intid < 32 {
            if high {
                self.level |= bit(intid);
            } else {
                self.level &= !bit(intid);
            }
        }
    }

    /// Makes `intid` (0–31) pending once (an edge event); ids of 32 and up do not exist here
    /// and are dropped (returns `false`).
    pub(crate) fn raise(&mut self, intid: u32) -> bool {
        if intid < 32 {
            self.pending |= bit(intid);
            true
        } else {
            false
        }
    }

    fn pending_mask(&self) -> u32 {
        self.pending | (self.level & !self.active)
    }

    /// The running priority: that of the most recently acknowledged active interrupt.
    fn running_priority(&self) -> u8 {
        self.active_stack
            .iter()
            .map(|&id| self.priority[id as usize])
            .min()
            .unwrap_or(IDLE)
    }

    /// The highest-priority pending, enabled, group 1 interrupt that is not active (lowest
    /// id first among equals), whatever the masks.
    fn highest_pending(&self) -> Option<u32> {
        let candidates = self.pending_mask() & self.enabled & self.group & !self.active;
        (0..32)
            .filter(|&id| candidates & bit(id) != 0)
            .min_by_key(|&id| (self.priority[id as usize], id))
    }

    /// The interrupt the CPU interface signals now: group 1 enabled in the distributor and
    /// the CPU interface, priority above the mask and the running priority.
    pub(crate) fn signalled(&self) -> Option<u32> {
        if self.gicd_ctlr & GICD_CTLR_ENABLE_G1NS == 0 || !self.igrpen1 {
            return None;
        }
        let id = self.highest_pending()?;
        let priority = self.priority[id as usize];
        (priority < self.pmr && priority < self.running_priority()).then_some(id)
    }

    fn acknowledge(&mut self) -> u64 {
        let Some(id) = self.signalled() else {
            return u64::from(SPURIOUS);
        };
        self.pending &= !bit(id);
        self.active |= bit(id);
        self.active_stack.push(id);
        u64::from(id)
    }

    fn end(&mut self, id: u32) {
        if id >= 32 {
            return;
        }
        // Priority drop: the most recent acknowledgement of this id leaves the stack.
        if let Some(at) = self.active_stack.iter().rposition(|&a| a == id) {
            self.active_stack.remove(at);
        }
        if self.ctlr & ICC_CTLR_EOIMODE == 0 {
            self.active &= !bit(id);
        }
    }

    /// Reads a CPU interface register.
    pub(crate) fn read_icc(&mut self, reg: SysReg) -> Result<u64, Undefined> {
        Ok(match reg {
            icc::SRE => SRE_VALUE,
            icc::PMR => u64::from(self.pmr),
            icc::BPR1 => self.bpr1,
            icc::CTLR => self.ctlr,
            icc::IGRPEN1 => u64::from(self.igrpen1),
            icc::IGRPEN0 => 0,
            icc::IAR1 => self.acknowledge(),
            icc::HPPIR1 => self
                .highest_pending()
                .map_or(u64::from(SPURIOUS), u64::from),
            icc::RPR => u64::from(self.running_priority()),
            icc::AP1R0 => self
                .active_stack
                .iter()
                .fold(0, |bits, &id| bits | 1 << (self.priority[id as usize] >> 3)),
            _ => return Err(Undefined),
        })
    }

    /// Writes a CPU interface register. Read-only registers and unknown encodings are
    /// undefined.
    pub(crate) fn write_icc(&mut self, reg: SysReg, value: u64) -> Result<(), Undefined> {
        match reg {
            // SRE is RAO/WI: system registers are always enabled.
            icc::SRE => {}
            icc::PMR => self.pmr = (value as u8) & PRIORITY_MASK,
            icc::BPR1 => self.bpr1 = value & 7,
            icc::CTLR => self.ctlr = ICC_CTLR_RO | (value & ICC_CTLR_EOIMODE),
            icc::IGRPEN1 => self.igrpen1 = value & 1 != 0,
            // Group 0 is not used by a non-secure EL1 guest: writes are ignored.
            icc::IGRPEN0 | icc::AP1R0 => {}
            icc::EOIR1 => self.end((value & 0xFF_FFFF) as u32),
            icc::DIR => {
                let id = (value & 0xFF_FFFF) as u32;
                if id < 32 {
                    self.active &= !bit(id);
                }
            }
            icc::SGI1R => {
                // Target list bit 0 with affinity 0.0.0 (and RS 0), or IRM (all but self,
                // and there is no other processor): only processor 0 exists.
                let intid = ((value >> 24) & 0xF) as u32;
                let irm = value & (1 << 40) != 0;
                let affinity = value & 0x00FF_00FF_00FF_0000;
                let rs = (value >> 44) & 0xF;
                if !irm && affinity == 0 && rs == 0 && value & 1 != 0 {
                    self.pending |= bit(intid);
                }
            }
            _ => return Err(Undefined),
        }
        Ok(())
    }

    /// Reads a distributor register (`offset` from its base).
    pub(crate) fn read_distributor(&self, offset: u64) -> u32 {
        match offset {
            GICD_CTLR => self.gicd_ctlr | GICD_CTLR_DS,
            // ITLinesNumber 0 (no SPI), IDbits 15 (16-bit ids), no LPIs.
            GICD_TYPER => 15 << 19,
            GICD_IIDR => IIDR,
            GICD_PIDR2 => PIDR2_GICV3,
            _ => 0,
        }
    }

    /// Writes a distributor register; RWP never stays set, so writes complete at once.
    pub(crate) fn write_distributor(&mut self, offset: u64, value: u32) {
        if offset == GICD_CTLR {
            self.gicd_ctlr = value & GICD_CTLR_WRITABLE;
        }
    }

    /// Reads `size` bytes at `offset` in redistributor 0.
    pub(crate) fn read_redistributor(&self, offset: u64, size: u32) -> u64 {
        let word = |o: u64| -> u32 {
            match o {
                GICR_CTLR => 0,
                GICR_IIDR => IIDR,
                // Affinity 0.0.0.0 in bits 63:32, processor number 0, Last.
                GICR_TYPER => GICR_TYPER_LAST as u32,
                0x000C => 0,
                GICR_WAKER => self.waker,
                GICR_PIDR2 => PIDR2_GICV3,
                GICR_IGROUPR0 => self.group,
                GICR_ISENABLER0 | GICR_ICENABLER0 => self.enabled,
                GICR_ISPENDR0 | GICR_ICPENDR0 => self.pending_mask(),
                GICR_ISACTIVER0 | GICR_ICACTIVER0 => self.active,
                GICR_ICFGR0 => self.config[0],
                GICR_ICFGR1 => self.config[1],
                GICR_IGRPMODR0 => self.group_mod,
                o if (GICR_IPRIORITYR..GICR_IPRIORITYR + 32).contains(&o) => {
                    let at = (o - GICR_IPRIORITYR) as usize;
                    u32::from_le_bytes(
                        [0, 1, 2, 3].map(|i| self.priority.get(at + i).copied().unwrap_or(0)),
                    )
                }
                _ => 0,
            }
        };
        match size {
            8 => u64::from(word(offset)) | u64::from(word(offset + 4)) << 32,
            4 => u64::from(word(offset)),
            // Byte and halfword accesses: the priority registers are byte-accessible.
            _ => {
                let aligned = offset & !3;
                let shift = 8 * (offset & 3);
                let mask = if size == 1 { 0xFF } else { 0xFFFF };
                (u64::from(word(aligned)) >> shift) & mask
            }
        }
    }

    /// Writes `size` bytes at `offset` in redistributor 0.
    pub(crate) fn write_redistributor(&mut self, offset: u64, size: u32, value: u64) {
        if (GICR_IPRIORITYR..GICR_IPRIORITYR + 32).contains(&offset) {
            let at = (offset - GICR_IPRIORITYR) as usize;
            for i in 0..size.min(8) as usize {
                if let Some(slot) = self.priority.get_mut(at + i) {
                    *slot = (value >> (8 * i)) as u8 & PRIORITY_MASK;
                }
            }
            return;
        }
        let value = value as u32;
        match offset {
            GICR_WAKER => {
                self.waker = value & WAKER_PROCESSOR_SLEEP;
                if self.waker & WAKER_PROCESSOR_SLEEP != 0 {
                    self.waker |= WAKER_CHILDREN_ASLEEP;
                }
            }
            GICR_IGROUPR0 => self.group = value,
            GICR_ISENABLER0 => self.enabled |= value,
            GICR_ICENABLER0 => self.enabled &= !value,
            GICR_ISPENDR0 => self.pending |= value,
            GICR_ICPENDR0 => self.pending &= !value,
            GICR_ISACTIVER0 => self.active |= value,
            GICR_ICACTIVER0 => self.active &= !value,
            // SGI configuration is read-only; PPIs take edge (2) or level (0) per field.
            GICR_ICFGR1 => self.config[1] = value & 0xAAAA_AAAA,
            GICR_IGRPMODR0 => self.group_mod = value,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Gic {
        let mut gic = Gic::default();
        gic.write_distributor(GICD_CTLR, (1 << 4) | (1 << 1));
        gic.write_redistributor(GICR_WAKER, 4, 0);
        gic.write_redistributor(GICR_IGROUPR0, 4, u64::from(u32::MAX));
        for i in 0..8 {
            gic.write_redistributor(GICR_IPRIORITYR + 4 * i, 4, 0xA0A0_A0A0);
        }
        gic.write_icc(icc::PMR, 0xF0).unwrap();
        gic.write_icc(icc::IGRPEN1, 1).unwrap();
        gic
    }

    #[test]
    fn waker_handshake_and_typer() {
        let mut gic = Gic::default();
        assert_eq!(gic.read_redistributor(GICR_WAKER, 4), 0b110);
        gic.write_redistributor(GICR_WAKER, 4, 0);
        assert_eq!(gic.read_redistributor(GICR_WAKER, 4), 0);
        assert_eq!(gic.read_redistributor(GICR_TYPER, 8), GICR_TYPER_LAST);
        assert_eq!(gic.read_redistributor(GICR_PIDR2, 4) >> 4 & 0xF, 3);
    }

    #[test]
    fn sgi_is_acknowledged_once_and_ended() {
        let mut gic = ready();
        gic.write_redistributor(GICR_ISENABLER0, 4, 0xFFFF);
        gic.write_icc(icc::SGI1R, (3 << 24) | 1).unwrap();
        assert_eq!(gic.signalled(), Some(3));
        assert_eq!(gic.read_icc(icc::IAR1), Ok(3));
        assert_eq!(gic.read_icc(icc::IAR1), Ok(u64::from(SPURIOUS)));
        assert_eq!(gic.read_icc(icc::RPR), Ok(0xA0));
        gic.write_icc(icc::EOIR1, 3).unwrap();
        assert_eq!(gic.read_icc(icc::RPR), Ok(0xFF));
        assert_eq!(gic.signalled(), None);
    }

    #[test]
    fn priority_mask_holds_and_releases() {
        let mut gic = ready();
        gic.write_redistributor(GICR_ISENABLER0, 4, 1 << 5);
        gic.write_icc(icc::PMR, 0xA0).unwrap();
        gic.raise(5);
        assert_eq!(gic.signalled(), None);
        assert_eq!(gic.highest_pending(), Some(5));
        gic.write_icc(icc::PMR, 0xF0).unwrap();
        assert_eq!(gic.signalled(), Some(5));
    }

    #[test]
    fn level_source_stays_pending_until_the_line_drops() {
        let mut gic = ready();
        gic.write_redistributor(GICR_ISENABLER0, 4, 1 << 27);
        gic.set_level(27, true);
        assert_eq!(gic.read_icc(icc::IAR1), Ok(27));
        // Active and still asserted: not signalled again until ended.
        assert_eq!(gic.signalled(), None);
        gic.write_icc(icc::EOIR1, 27).unwrap();
        assert_eq!(gic.signalled(), Some(27));
        gic.set_level(27, false);
        assert_eq!(gic.signalled(), None);
    }

    #[test]
    fn disabled_or_ungrouped_interrupts_are_not_signalled() {
        let mut gic = ready();
        gic.raise(20);
        assert_eq!(gic.signalled(), None, "not enabled");
        gic.write_redistributor(GICR_ISENABLER0, 4, 1 << 20);
        gic.write_icc(icc::IGRPEN1, 0).unwrap();
        assert_eq!(gic.signalled(), None, "group 1 off");
        assert_eq!(gic.write_icc(icc::IAR1, 0), Err(Undefined));
        assert!(icc::is_icc(icc::SGI1R) && icc::is_icc(icc::PMR));
        assert!(!icc::is_icc(SysReg::new(3, 3, 14, 0, 2)));
    }
}
