//! The four synthetic timers of each VP (TLFS 12.1.3–12.5), on the partition reference
//! time (virtual time, so HLT jumps to the next expiration).
//!
//! * Configuration and count registers follow TLFS 12.5: a count of 0 disables, a non-zero
//!   count with AutoEnable enables, an enabled message-mode timer with SINTx = 0 is disabled
//!   at once, a one-shot disables itself when it expires, a periodic timer's first period
//!   starts when it is enabled (by either register).
//! * Message mode: an expiration queues a timer-expired message (type 0x80000010, payload
//!   timer index, expiration time, delivery time; origination id 0) to SINTx of the timer's
//!   VP in the timer's own message buffer (TLFS 11.3.2). The delivery time is written when
//!   the message reaches the SIM slot.
//! * Direct mode (TLFS 12.2): an expiration raises ApicVector at the VP's APIC, no message.
//!
//! # Where the TLFS leaves behaviour open
//!
//! * A timer whose single message buffer is still queued when it expires again (the SIM
//!   slot is busy) waits: the expiration is signalled when the buffer is freed (the slot is
//!   emptied and EOM or EOI lets the queued message in). A non-lazy periodic timer then
//!   catches up: its next expiration is one period after the one signalled, even if that is
//!   already past ("period modulation", TLFS 12.1.4). A lazy periodic timer skips every
//!   expiration that is already past instead, also while it waits for its buffer.
//! * An expiration in message mode while SCONTROL is disabled cannot be queued (TLFS 11.4:
//!   the VP is no target); it is dropped and counted.
//! * Writing the configuration or the count of an enabled timer restarts it (a periodic
//!   timer's period starts again then), as KVM does.

use hv_defs::synic::{HvMessage, HvMessageType, HvTimerMessagePayload};
use hv_defs::timer::HvStimerConfig;
use zerocopy::IntoBytes;

use crate::machine::Vm;
use crate::mem::GuestMemory;
use crate::stats::Stats;
use crate::synic::{Env, Source};

/// A synthetic timer (TLFS 12.5).
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Stimer {
    pub(crate) config: HvStimerConfig,
    pub(crate) count: u64,
    /// The expiration to signal next (reference time, 100 ns units) while enabled.
    deadline: Option<u64>,
}

impl Stimer {
    /// A write of the configuration register at reference time `now` (reserved bits and
    /// direct mode were checked by the caller).
    pub(crate) fn write_config(&mut self, config: HvStimerConfig, now: u64) {
        self.config = config;
        self.start(now);
    }

    /// A write of the count register at reference time `now` (TLFS 12.5.2).
    pub(crate) fn write_count(&mut self, count: u64, now: u64) {
        self.count = count;
        if count == 0 {
            self.config.set_enable(false);
        } else if self.config.auto_enable() {
            self.config.set_enable(true);
        }
        self.start(now);
    }

    /// Arms the timer as its registers say.
    fn start(&mut self, now: u64) {
        // TLFS 12.5.1: SINTx = 0 is not permitted for an enabled (message-mode) timer.
        if self.config.enable() && !self.config.direct_mode() && self.config.sintx() == 0 {
            self.config.set_enable(false);
        }
        self.deadline = (self.config.enable() && self.count != 0).then(|| {
            if self.config.periodic() {
                now.saturating_add(self.count)
            } else {
                self.count
            }
        });
    }

    /// The next expiration, if armed.
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    /// The expiration at `deadline` was signalled at `now`: schedules the next one.
    fn expired(&mut self, deadline: u64, now: u64, stats: &mut Stats) {
        if self.config.periodic() {
            let mut next = deadline.saturating_add(self.count);
            if self.config.lazy() && next <= now {
                let missed = (now - next) / self.count + 1;
                stats.synic.stimer_skipped += missed;
                next += missed * self.count;
            }
            self.deadline = Some(next);
        } else {
            self.config.set_enable(false);
            self.deadline = None;
        }
    }

    /// A lazy periodic timer waiting for its buffer: skips the expirations already past
    /// but the last.
    fn skip_while_waiting(&mut self, deadline: u64, now: u64, stats: &mut Stats) {
        if self.config.lazy() && self.config.periodic() && now >= deadline + self.count {
            let missed = (now - deadline) / self.count;
            stats.synic.stimer_skipped += missed;
            self.deadline = Some(deadline + missed * self.count);
        }
    }
}

/// The message a timer sends (TLFS 13.3.1); the delivery time is filled in on delivery.
fn timer_message(index: u8, expiration: u64) -> HvMessage {
    let payload = HvTimerMessagePayload {
        timer_index: u32::from(index),
        rsvd: 0,
        expiration_time: expiration,
        delivery_time: 0,
    };
    HvMessage::new(
        HvMessageType::HvMessageTypeTimerExpired,
        0,
        payload.as_bytes(),
    )
    .unwrap_or(HvMessage::EMPTY)
}

impl Vm {
    /// Signals every timer of VP `vp` whose expiration has come (see the module docs).
    pub(crate) fn run_timers(&mut self, mem: &mut dyn GuestMemory, vp: usize) {
        let now = self.ref_time();
        let Some(v) = self.vps.get_mut(vp) else {
            return;
        };
        for i in 0..v.stimers.len() {
            let timer = v.stimers[i];
            let Some(deadline) = timer.deadline.filter(|&d| d <= now) else {
                continue;
            };
            let config = timer.config;
            if config.direct_mode() {
                v.apic.accept(config.apic_vector());
                self.stats.synic.stimer_expirations += 1;
            } else if !v.synic.scontrol.enable() {
                self.stats.synic.stimer_dropped += 1;
            } else if v.synic.queued_from(Source::Timer(i as u8)) > 0 {
                v.stimers[i].skip_while_waiting(deadline, now, &mut self.stats);
                continue;
            } else {
                let mut env = Env {
                    mem: &mut *mem,
                    stats: &mut self.stats,
                    now,
                };
                let message = timer_message(i as u8, deadline);
                let sint = usize::from(config.sintx());
                v.synic
                    .enqueue(&mut env, &mut v.apic, sint, Source::Timer(i as u8), message);
                self.stats.synic.stimer_expirations += 1;
            }
            v.stimers[i].expired(deadline, now, &mut self.stats);
        }
    }

    /// The earliest expiration of VP `vp` that can wake it: timers waiting for their
    /// message buffer wake nobody (the guest must empty the slot first).
    pub(crate) fn next_timer(&self, vp: usize) -> Option<u64> {
        let v = self.vps.get(vp)?;
        v.stimers
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                t.config.direct_mode() || v.synic.queued_from(Source::Timer(*i as u8)) == 0
            })
            .filter_map(|(_, t)| t.deadline())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn periodic(lazy: bool) -> Stimer {
        let mut t = Stimer::default();
        let config = HvStimerConfig::new()
            .with_periodic(true)
            .with_lazy(lazy)
            .with_auto_enable(true)
            .with_sintx(3);
        t.write_config(config, 0);
        t.write_count(100, 50);
        t
    }

    #[test]
    fn count_and_config_writes_follow_tlfs_12_5() {
        let mut t = periodic(false);
        assert!(t.config.enable(), "AutoEnable: a non-zero count enables");
        assert_eq!(
            t.deadline(),
            Some(150),
            "the first period starts at the enable"
        );
        t.write_count(0, 60);
        assert!(!t.config.enable(), "count 0 disables");
        assert_eq!(t.deadline(), None);
        let mut one_shot = Stimer::default();
        one_shot.write_count(500, 0);
        assert!(
            !one_shot.config.enable(),
            "no AutoEnable: the count alone does not enable"
        );
        one_shot.write_config(HvStimerConfig::new().with_enable(true).with_sintx(2), 10);
        assert_eq!(one_shot.deadline(), Some(500), "one-shot: absolute time");
        let mut stats = Stats::default();
        one_shot.expired(500, 500, &mut stats);
        assert!(!one_shot.config.enable(), "a one-shot disables itself");
        one_shot.write_config(HvStimerConfig::new().with_enable(true), 10);
        assert!(
            !one_shot.config.enable(),
            "SINTx 0 disables an enabled timer"
        );
        let direct = HvStimerConfig::new()
            .with_enable(true)
            .with_direct_mode(true)
            .with_apic_vector(0x40);
        one_shot.write_config(direct, 10);
        assert!(one_shot.config.enable(), "direct mode needs no SINTx");
    }

    #[test]
    fn late_periodic_timers_catch_up_unless_lazy() {
        let mut stats = Stats::default();
        let mut eager = periodic(false);
        eager.expired(150, 480, &mut stats);
        assert_eq!(
            eager.deadline(),
            Some(250),
            "period modulation: the missed ones follow"
        );
        let mut lazy = periodic(true);
        lazy.expired(150, 480, &mut stats);
        assert_eq!(
            lazy.deadline(),
            Some(550),
            "lazy: 250, 350 and 450 are skipped"
        );
        assert_eq!(stats.synic.stimer_skipped, 3);
        let mut waiting = periodic(true);
        waiting.skip_while_waiting(150, 480, &mut stats);
        assert_eq!(
            waiting.deadline(),
            Some(450),
            "the latest missed one stays due"
        );
        assert_eq!(stats.synic.stimer_skipped, 6);
    }
}
