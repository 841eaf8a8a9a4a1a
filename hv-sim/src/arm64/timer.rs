//! The generic timer (Arm ARM D11): the system counter and the EL1 physical and virtual
//! timers, as the EL1 system registers show them, driven by the model's virtual clock.
//!
//! The counter runs at [`CNTFRQ_HZ`] and counts virtual nanoseconds / 16, so it is as
//! deterministic as the clock; the virtual offset is zero (CNTVCT_EL0 = CNTPCT_EL0). Each
//! timer's condition (enabled, and the counter at or past its compare value) drives its PPI
//! as a level: 27 for the virtual timer and 30 for the physical one, the interrupts the
//! device tree names (QEMU `virt`'s numbering).

use crate::uc::SysReg;

/// The counter frequency (CNTFRQ_EL0), QEMU `virt`'s classic 62.5 MHz: one tick every
/// 16 virtual nanoseconds.
pub(crate) const CNTFRQ_HZ: u64 = 62_500_000;
/// Virtual nanoseconds per counter tick.
const NS_PER_TICK: u64 = 1_000_000_000 / CNTFRQ_HZ;

/// The virtual timer's interrupt id (PPI 11).
pub(crate) const VIRTUAL_TIMER_INTID: u32 = 27;
/// The EL1 physical timer's interrupt id (PPI 14).
pub(crate) const PHYSICAL_TIMER_INTID: u32 = 30;

const CNTFRQ_EL0: SysReg = SysReg::new(3, 3, 14, 0, 0);
const CNTPCT_EL0: SysReg = SysReg::new(3, 3, 14, 0, 1);
const CNTVCT_EL0: SysReg = SysReg::new(3, 3, 14, 0, 2);
const CNTPCTSS_EL0: SysReg = SysReg::new(3, 3, 14, 0, 5);
const CNTVCTSS_EL0: SysReg = SysReg::new(3, 3, 14, 0, 6);
const CNTKCTL_EL1: SysReg = SysReg::new(3, 0, 14, 1, 0);

/// CNTx_CTL_EL0.ENABLE.
const CTL_ENABLE: u64 = 1 << 0;
/// CNTx_CTL_EL0.IMASK.
const CTL_IMASK: u64 = 1 << 1;
/// CNTx_CTL_EL0.ISTATUS (read-only).
const CTL_ISTATUS: u64 = 1 << 2;

/// The counter value at virtual time `now_ns`.
pub(crate) const fn counter(now_ns: u64) -> u64 {
    now_ns / NS_PER_TICK
}

/// One EL1 timer: control and compare value.
#[derive(Copy, Clone, Debug, Default)]
struct Timer {
    ctl: u64,
    cval: u64,
}

impl Timer {
    fn condition(self, count: u64) -> bool {
        self.ctl & CTL_ENABLE != 0 && count >= self.cval
    }

    fn asserted(self, count: u64) -> bool {
        self.condition(count) && self.ctl & CTL_IMASK == 0
    }

    fn deadline_ns(self) -> Option<u64> {
        (self.ctl & CTL_ENABLE != 0 && self.ctl & CTL_IMASK == 0)
            .then(|| self.cval.saturating_mul(NS_PER_TICK))
    }

    fn read(self, op2: u8, count: u64) -> u64 {
        match op2 {
            // TVAL: the low 32 bits of CVAL - count, signed.
            0 => u64::from(self.cval.wrapping_sub(count) as u32),
            1 => {
                self.ctl
                    | if self.condition(count) {
                        CTL_ISTATUS
                    } else {
                        0
                    }
            }
            _ => self.cval,
        }
    }

    fn write(&mut self, op2: u8, value: u64, count: u64) {
        match op2 {
            0 => self.cval = count.wrapping_add(i64::from(value as u32 as i32) as u64),
            1 => self.ctl = value & (CTL_ENABLE | CTL_IMASK),
            _ => self.cval = value,
        }
    }
}

/// The generic timer of processor 0.
#[derive(Clone, Debug, Default)]
pub(crate) struct GenericTimer {
    physical: Timer,
    virtual_: Timer,
    cntkctl: u64,
}

impl GenericTimer {
    fn timer(&mut self, reg: SysReg) -> Option<&mut Timer> {
        if reg.op0 != 3 || reg.op1 != 3 || reg.crn != 14 || reg.op2 > 2 {
            return None;
        }
        match reg.crm {
            2 => Some(&mut self.physical),
            3 => Some(&mut self.virtual_),
            _ => None,
        }
    }

    /// Reads a generic timer register at virtual time `now_ns`; `None` for other registers.
    pub(crate) fn read(&mut self, reg: SysReg, now_ns: u64) -> Option<u64> {
        let count = counter(now_ns);
        match reg {
            CNTFRQ_EL0 => Some(CNTFRQ_HZ),
            CNTPCT_EL0 | CNTVCT_EL0 | CNTPCTSS_EL0 | CNTVCTSS_EL0 => Some(count),
            CNTKCTL_EL1 => Some(self.cntkctl),
            _ => self.timer(reg).map(|t| t.read(reg.op2, count)),
        }
    }

    /// Writes a generic timer register at virtual time `now_ns`; `false` for other
    /// registers. Writes to the counters and CNTFRQ_EL0 (which EL1 may not make) are
    /// ignored.
    pub(crate) fn write(&mut self, reg: SysReg, value: u64, now_ns: u64) -> bool {
        let count = counter(now_ns);
        match reg {
            CNTFRQ_EL0 | CNTPCT_EL0 | CNTVCT_EL0 | CNTPCTSS_EL0 | CNTVCTSS_EL0 => true,
            CNTKCTL_EL1 => {
                self.cntkctl = value & 0x3FF;
                true
            }
            _ => match self.timer(reg) {
                Some(timer) => {
                    timer.write(reg.op2, value, count);
                    true
                }
                None => false,
            },
        }
    }

    /// The interrupt lines at virtual time `now_ns`: (virtual, physical).
    pub(crate) fn lines(&self, now_ns: u64) -> [(u32, bool); 2] {
        let count = counter(now_ns);
        [
            (VIRTUAL_TIMER_INTID, self.virtual_.asserted(count)),
            (PHYSICAL_TIMER_INTID, self.physical.asserted(count)),
        ]
    }

    /// The earliest virtual time at which a line rises, if a timer is armed and unmasked.
    pub(crate) fn next_deadline_ns(&self) -> Option<u64> {
        [self.virtual_.deadline_ns(), self.physical.deadline_ns()]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CNTV_TVAL: SysReg = SysReg::new(3, 3, 14, 3, 0);
    const CNTV_CTL: SysReg = SysReg::new(3, 3, 14, 3, 1);
    const CNTV_CVAL: SysReg = SysReg::new(3, 3, 14, 3, 2);

    #[test]
    fn counter_and_frequency() {
        let mut t = GenericTimer::default();
        assert_eq!(t.read(CNTFRQ_EL0, 0), Some(62_500_000));
        assert_eq!(t.read(CNTVCT_EL0, 1_600), Some(100));
        assert_eq!(t.read(SysReg::new(3, 0, 1, 0, 0), 0), None);
    }

    #[test]
    fn virtual_timer_fires_at_its_compare_value() {
        let mut t = GenericTimer::default();
        assert!(t.write(CNTV_TVAL, 10, 1_600));
        assert_eq!(t.read(CNTV_CVAL, 1_600), Some(110));
        assert!(t.write(CNTV_CTL, CTL_ENABLE, 1_600));
        assert_eq!(t.next_deadline_ns(), Some(1_760));
        assert_eq!(t.lines(1_759)[0], (27, false));
        assert_eq!(t.lines(1_760)[0], (27, true));
        assert_eq!(t.read(CNTV_CTL, 1_760), Some(CTL_ENABLE | CTL_ISTATUS));
        // TVAL goes negative once passed.
        assert_eq!(
            t.read(CNTV_TVAL, 1_600 + 16 * 12),
            Some(u64::from(-2_i32 as u32))
        );
        // Masked: condition met, no interrupt.
        t.write(CNTV_CTL, CTL_ENABLE | CTL_IMASK, 1_760);
        assert_eq!(t.lines(1_760)[0], (27, false));
        assert_eq!(t.next_deadline_ns(), None);
    }
}
