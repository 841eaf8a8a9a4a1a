//! The SynIC and synthetic timers of the arm64 VP (TLFS 11, 12.1.3–12.5), reached as
//! synthetic registers, delivering to GIC interrupt ids.
//!
//! * Registers: SCONTROL, SVERSION (version 1), SIEFP and SIMP (overlay pages, zeroed when
//!   enabled), SINT0–15 (every SINT starts masked; an unmasked SINT needs an id of 16 or
//!   more), EOM; the timers' configuration and count registers.
//! * On arm64 a SINT's `Vector` field and a direct timer's `ApicVector` field carry a GIC
//!   interrupt id; the model raises it as an edge (pending once) at the GIC. AutoEOI has no
//!   arm64 meaning (the GIC's EOI is the guest's): the bit is stored and read back.
//! * Timers (TLFS 12.5): a count of 0 disables; a non-zero count with AutoEnable enables;
//!   an enabled message-mode timer with SINTx 0 is disabled at once; a one-shot timer
//!   disables itself when it expires; a periodic timer's period starts when it is enabled
//!   and missed periods are skipped. Writing either register of an enabled timer restarts it.
//! * Message mode: an expiration writes a timer-expired message (TLFS 13.3.1: timer index,
//!   expiration time, delivery time) into SINTx's slot of the SIM page and raises the SINT's
//!   interrupt unless it is masked. A busy slot (message type not zero) keeps the message
//!   (one buffer per timer, TLFS 11.3.2) and sets the occupant's message-pending flag; an
//!   EOM write delivers it. An expiration while SCONTROL or SIMP is disabled is dropped.
//!
//! The x86-64 model has the same rules on its MSRs and APIC; this module is the arm64 front
//! end of them until the two share one SynIC model.

use hv_defs::HV_PAGE_SIZE;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvStatus;
use hv_defs::synic::{
    HV_MESSAGE_SIZE, HV_SYNIC_FIRST_VALID_VECTOR, HV_SYNIC_SINT_COUNT, HvMessageFlags,
    HvMessageHeader, HvMessageType, HvSynicScontrol, HvSynicSiefp, HvSynicSimp, HvSynicSint,
    HvSynicSversion, HvTimerMessagePayload,
};
use hv_defs::timer::{HV_STIMER_COUNT, HvStimerConfig};
use zerocopy::IntoBytes;

use crate::uc::Cpu;

/// The SynIC version SVERSION reports (TLFS 11.8.2).
const SYNIC_VERSION: u64 = 1;
/// Offset of the message flags in a slot's header.
const FLAGS_OFFSET: u64 = 5;

/// One synthetic timer.
#[derive(Copy, Clone, Debug, Default)]
struct Stimer {
    config: HvStimerConfig,
    count: u64,
    /// Absolute expiration in reference time (100 ns units) while armed.
    deadline: Option<u64>,
    /// An expiration whose message waits for its slot.
    waiting: Option<u64>,
}

/// The SynIC and timers of VP 0.
#[derive(Clone, Debug)]
pub(crate) struct Synic {
    scontrol: HvSynicScontrol,
    siefp: HvSynicSiefp,
    simp: HvSynicSimp,
    sint: [HvSynicSint; HV_SYNIC_SINT_COUNT],
    timers: [Stimer; HV_STIMER_COUNT],
}

impl Default for Synic {
    fn default() -> Self {
        Self {
            scontrol: HvSynicScontrol::new(),
            siefp: HvSynicSiefp::new(),
            simp: HvSynicSimp::new(),
            // TLFS 11.8.5: every SINT starts masked.
            sint: [HvSynicSint::new().with_masked(true); HV_SYNIC_SINT_COUNT],
            timers: [Stimer::default(); HV_STIMER_COUNT],
        }
    }
}

/// What a register write asks of the partition besides the new value.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Overlay pages to remove, by GPA (before those to add).
    pub(crate) unmap: Vec<u64>,
    /// Pages to overlay with zeroes.
    pub(crate) map: Vec<u64>,
    /// Interrupt ids raised.
    pub(crate) raise: Vec<u32>,
}

fn sint_of(name: HvRegisterName) -> Option<usize> {
    let n = name
        .get()
        .checked_sub(HvRegisterName::HvRegisterSint0.get())?;
    (n < HV_SYNIC_SINT_COUNT as u32).then_some(n as usize)
}

fn timer_of(name: HvRegisterName) -> Option<(usize, bool)> {
    let n = name
        .get()
        .checked_sub(HvRegisterName::HvRegisterStimer0Config.get())?;
    (n < 2 * HV_STIMER_COUNT as u32).then_some(((n / 2) as usize, n % 2 == 0))
}

impl Synic {
    /// Reads a SynIC or timer register; `None` for other registers.
    pub(crate) fn read(&self, name: HvRegisterName) -> Option<u64> {
        if let Some(sint) = sint_of(name) {
            return Some(self.sint[sint].into_bits());
        }
        if let Some((i, config)) = timer_of(name) {
            let timer = self.timers[i];
            return Some(if config {
                timer.config.into_bits()
            } else {
                timer.count
            });
        }
        Some(match name {
            HvRegisterName::HvRegisterScontrol => self.scontrol.into_bits(),
            HvRegisterName::HvRegisterSversion => {
                HvSynicSversion::from_bits(SYNIC_VERSION).into_bits()
            }
            HvRegisterName::HvRegisterSifp => self.siefp.into_bits(),
            HvRegisterName::HvRegisterSipp => self.simp.into_bits(),
            HvRegisterName::HvRegisterEom => 0,
            _ => return None,
        })
    }

    /// Writes a SynIC or timer register at reference time `now`; `Ok(None)` for other
    /// registers. `page_ok` says whether a page GPA is RAM. `direct_ok` is the direct
    /// timers feature.
    pub(crate) fn write(
        &mut self,
        cpu: &mut Cpu<'_>,
        name: HvRegisterName,
        value: u64,
        now: u64,
        direct_ok: bool,
        page_ok: impl Fn(u64) -> bool,
    ) -> Result<Option<Effects>, HvStatus> {
        let mut effects = Effects::default();
        let keep = |old: u64, reserved: u64| (value & !reserved) | (old & reserved);
        if let Some(sint) = sint_of(name) {
            let new = HvSynicSint::from_bits(value);
            if !new.masked() && new.vector() < HV_SYNIC_FIRST_VALID_VECTOR {
                return Err(HvStatus::INVALID_PARAMETER);
            }
            // Vector, masked and AutoEOI are writable; polling is not offered on arm64
            // (its feature bit is not published), the rest is RsvdP.
            let writable = HvSynicSint::new()
                .with_vector(0xFF)
                .with_masked(true)
                .with_auto_eoi(true)
                .into_bits();
            self.sint[sint] = HvSynicSint::from_bits(keep(self.sint[sint].into_bits(), !writable));
            return Ok(Some(effects));
        }
        if let Some((i, config)) = timer_of(name) {
            if config {
                let config = HvStimerConfig::from_bits(value);
                if config.has_reserved_bits() || (config.direct_mode() && !direct_ok) {
                    return Err(HvStatus::INVALID_PARAMETER);
                }
                self.timers[i].config = config;
            } else {
                let timer = &mut self.timers[i];
                timer.count = value;
                if value == 0 {
                    timer.config.set_enable(false);
                } else if timer.config.auto_enable() {
                    timer.config.set_enable(true);
                }
            }
            self.arm(i, now);
            self.fire(cpu, now, &mut effects.raise);
            return Ok(Some(effects));
        }
        match name {
            HvRegisterName::HvRegisterScontrol => {
                self.scontrol = HvSynicScontrol::from_bits(keep(
                    self.scontrol.into_bits(),
                    HvSynicScontrol::RESERVED_MASK,
                ));
            }
            HvRegisterName::HvRegisterSifp | HvRegisterName::HvRegisterSipp => {
                // SIMP and SIEFP share their layout (TLFS 11.8.3, 11.8.4).
                let simp = name == HvRegisterName::HvRegisterSipp;
                let old = if simp {
                    self.simp.into_bits()
                } else {
                    self.siefp.into_bits()
                };
                let new = keep(old, HvSynicSimp::RESERVED_MASK);
                if new & 1 != 0 && !page_ok(new & !0xFFF) {
                    return Err(HvStatus::INVALID_PARAMETER);
                }
                if old & 1 != 0 {
                    effects.unmap.push(old & !0xFFF);
                }
                if new & 1 != 0 {
                    effects.map.push(new & !0xFFF);
                }
                if simp {
                    self.simp = HvSynicSimp::from_bits(new);
                } else {
                    self.siefp = HvSynicSiefp::from_bits(new);
                }
            }
            // TLFS 11.8.6: EOM lets the next queued message into the slot.
            HvRegisterName::HvRegisterEom => self.deliver_waiting(cpu, now, &mut effects.raise),
            _ => return Ok(None),
        }
        Ok(Some(effects))
    }

    fn arm(&mut self, i: usize, now: u64) {
        let timer = &mut self.timers[i];
        timer.deadline = None;
        let config = timer.config;
        if config.enable() && !config.direct_mode() && config.sintx() == 0 {
            // TLFS 12.5.1: an enabled message-mode timer with SINTx 0 is disabled.
            timer.config.set_enable(false);
            return;
        }
        if !config.enable() || timer.count == 0 {
            return;
        }
        timer.deadline = Some(if config.periodic() {
            now + timer.count
        } else {
            timer.count
        });
    }

    /// The earliest armed timer deadline (reference time).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.timers.iter().filter_map(|t| t.deadline).min()
    }

    /// Fires the timers due at reference time `now`, pushing the interrupt ids raised.
    pub(crate) fn fire(&mut self, cpu: &mut Cpu<'_>, now: u64, raise: &mut Vec<u32>) {
        for i in 0..HV_STIMER_COUNT {
            let timer = self.timers[i];
            let Some(deadline) = timer.deadline.filter(|&d| d <= now) else {
                continue;
            };
            if timer.config.direct_mode() {
                raise.push(u32::from(timer.config.apic_vector()));
            } else if self.scontrol.enable() && self.simp.enable() {
                self.timers[i].waiting = Some(deadline);
                self.deliver(cpu, i, now, raise);
            }
            let timer = &mut self.timers[i];
            if timer.config.periodic() && timer.count != 0 {
                let missed = (now - deadline) / timer.count;
                timer.deadline = Some(deadline + (missed + 1) * timer.count);
            } else {
                timer.deadline = None;
                timer.config.set_enable(false);
            }
        }
    }

    /// Tries to put timer `i`'s waiting message into its SINT's slot.
    fn deliver(&mut self, cpu: &mut Cpu<'_>, i: usize, now: u64, raise: &mut Vec<u32>) {
        let Some(expiration) = self.timers[i].waiting else {
            return;
        };
        let sint = usize::from(self.timers[i].config.sintx()) % HV_SYNIC_SINT_COUNT;
        let slot = (self.simp.base_gpfn() << 12) + (sint * HV_MESSAGE_SIZE) as u64;
        let mut kind = [0u8; 4];
        if cpu.read_mem(slot, &mut kind).is_err() {
            return;
        }
        if u32::from_le_bytes(kind) != 0 {
            // Busy: the occupant learns that a message waits (TLFS 11.10.3).
            let mut flags = [0u8; 1];
            if cpu.read_mem(slot + FLAGS_OFFSET, &mut flags).is_ok() {
                let flags = HvMessageFlags::from_bits(flags[0]).with_message_pending(true);
                let _ = cpu.write_mem(slot + FLAGS_OFFSET, &[flags.into_bits()]);
            }
            return;
        }
        let payload = HvTimerMessagePayload {
            timer_index: i as u32,
            rsvd: 0,
            expiration_time: expiration,
            delivery_time: now,
        };
        let header = HvMessageHeader {
            message_type: HvMessageType::HvMessageTypeTimerExpired,
            payload_size: size_of::<HvTimerMessagePayload>() as u8,
            message_flags: HvMessageFlags::new(),
            rsvd: 0,
            origination_id: 0,
        };
        let mut message = header.as_bytes().to_vec();
        message.extend_from_slice(payload.as_bytes());
        // The payload first, then the header with the type: the slot turns non-empty last.
        let _ = cpu.write_mem(slot + 16, &message[16..]);
        let _ = cpu.write_mem(slot, &message[..16]);
        self.timers[i].waiting = None;
        let sint = self.sint[sint];
        if !sint.masked() {
            raise.push(u32::from(sint.vector()));
        }
    }

    fn deliver_waiting(&mut self, cpu: &mut Cpu<'_>, now: u64, raise: &mut Vec<u32>) {
        if !(self.scontrol.enable() && self.simp.enable()) {
            return;
        }
        for i in 0..HV_STIMER_COUNT {
            self.deliver(cpu, i, now, raise);
        }
    }
}

/// A zeroed page for SIMP and SIEFP overlays.
pub(crate) const ZERO_PAGE: [u8; HV_PAGE_SIZE] = [0; HV_PAGE_SIZE];
