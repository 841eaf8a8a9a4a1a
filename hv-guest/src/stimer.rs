//! Synthetic timers, guest side (TLFS 12.1.3–12.5, 13.3.1): the four per-CPU timers in
//! one-shot or periodic form, delivering a timer-expired message to a SINT or asserting a
//! vector directly.
//!
//! Written against [`Platform`] only (the timer registers by TLFS name: MSRs 0x4000_00B0–B7
//! on x64, `HvRegisterStimer0Config`… on arm64), so it runs unchanged on both.
//!
//! # Per CPU
//!
//! Each virtual processor has its own four timers (TLFS 12.1.1). A [`SyntheticTimers`] is the
//! timers of the CPU it is used on; like [`Synic`] it belongs in per-CPU data and is used
//! from that CPU only. Every method takes `&self`, so a timer interrupt handler can re-arm.
//!
//! # How a timer is programmed
//!
//! [`SyntheticTimers::start`] writes, in this order:
//!
//! 1. the count register with 0, which stops the timer whatever its state (TLFS 12.5.2), so
//!    that
//! 2. the configuration register is written while the timer is disabled (TLFS 12.5.1: writing
//!    the configuration of an enabled timer may be undefined), with `Enable` clear and
//!    `AutoEnable` set;
//! 3. the count register with the expiration time (one-shot: absolute, in 100 ns units of the
//!    partition reference counter) or the period (periodic). Because of `AutoEnable`, this
//!    non-zero write enables the timer (TLFS 12.5.1); a periodic timer's first period starts
//!    here (TLFS 12.5.2).
//!
//! A one-shot timer disables itself when it expires (TLFS 12.5.1); its configuration, with
//! `AutoEnable`, stays, so [`SyntheticTimers::rearm`] re-arms it with one count write, which
//! is what a tickless kernel does from the timer-expired handler. [`SyntheticTimers::stop`]
//! writes count 0; [`SyntheticTimers::clear`] also writes the configuration back to 0 (the
//! reset state).
//!
//! # Delivery
//!
//! * Message mode ([`TimerMode::Message`]): on expiry the hypervisor queues a
//!   `HvMessageTypeTimerExpired` message to SINT `SINTx` of this CPU (TLFS 11.4.2); decode it
//!   with [`TimerExpired::decode`]. The SINT must not be SINT0 (an enabled timer with
//!   `SINTx` = 0 is disabled at once, TLFS 12.5.1), and [`TimerSint::new`] also checks that
//!   the SynIC is enabled (it takes the [`Synic`]) and the SINT configured and unmasked, since
//!   a masked SINT's interrupt is lost (TLFS 11.4).
//! * Direct mode ([`TimerMode::Direct`], TLFS 12.2): the timer asserts `ApicVector` itself, no
//!   message and no SynIC involved. Needs the direct synthetic timers feature, which sits at
//!   x64 CPUID 0x4000_0003 EDX bit 19 and arm64 features word 2 bit 13
//!   ([`HvFeaturesInfo::direct_synthetic_timers`]).
//!
//! # Where the TLFS leaves behaviour open, and what this module does
//!
//! * `SINTx` in direct mode: the rule "`SINTx` must not be 0 for an enabled timer" (TLFS
//!   12.5.1) predates direct mode (12.2). Direct-mode configurations are written with
//!   `SINTx` = 0, as Linux (`hv_ce_set_oneshot`) does and KVM accepts.
//! * The direct-mode vector range is not stated; the SINT rule (16–255, TLFS 11.8.5) is
//!   applied. On arm64 the field carries an interrupt ID, and 16–31 are the PPIs.
//! * Absolute time 0: writing 0 to the count stops the timer (TLFS 12.5.2), so an expiration
//!   time of 0 cannot be requested; it is refused as [`TimerError::ZeroCount`] (any time in
//!   the past, such as 1, expires at once, TLFS 12.5.1).
//! * Re-arming an armed one-shot: the TLFS does not say whether writing the count of an
//!   enabled one-shot timer moves its expiration. Linux's clock event device relies on it on
//!   Hyper-V and KVM implements it; [`SyntheticTimers::rearm`] allows it. Changing a periodic
//!   timer's count while enabled is not described at all, so `rearm` refuses periodic
//!   timers; use `start` (which stops the timer first).
//! * `Lazy` (TLFS 12.1.4) is described for periodic timers only; the bit is passed through for
//!   one-shot timers too, where the TLFS does not say what it does.
//! * `Enable` versus `AutoEnable`: the TLFS allows either "write count, then set Enable" or
//!   `AutoEnable`. This module always uses `AutoEnable`, so arming and re-arming are one
//!   count write.
//! * A periodic timer that expires again while its one message buffer (TLFS 11.3.2) is still
//!   queued: the TLFS does not say whether expirations coalesce. Handle each message's
//!   `expiration_time` rather than counting messages.
//!
//! # Example: a periodic tick in message mode
//!
//! ```no_run
//! use hv_guest::defs::cpuid::HvFeaturesInfo;
//! use hv_guest::defs::synic::HvSint;
//! use hv_guest::platform::Platform;
//! use hv_guest::stimer::{SyntheticTimers, TimerConfig, TimerExpired, TimerIndex, TimerMode, TimerSint};
//! use hv_guest::synic::Synic;
//!
//! const TIMER_SINT: HvSint = match HvSint::new(3) {
//!     Ok(sint) => sint,
//!     Err(_) => panic!(),
//! };
//!
//! /// Bring-up, after `synic.configure_sint(TIMER_SINT, ...)` unmasked the SINT.
//! fn start_tick<P: Platform + Copy>(platform: P, features: HvFeaturesInfo, synic: &Synic<P>) {
//!     let timers = SyntheticTimers::new(platform, features).expect("AccessSyntheticTimerRegs");
//!     let sint = TimerSint::new(synic, TIMER_SINT).expect("SINT configured and unmasked");
//!     let config = TimerConfig::periodic(TimerMode::Message(sint));
//!     // 10 ms in 100 ns units.
//!     timers.start(TimerIndex::TIMER0, config, 100_000).expect("timer started");
//! }
//!
//! /// The SINT's interrupt handler.
//! fn on_timer_sint<P: Platform>(synic: &Synic<P>, mut tick: impl FnMut(TimerExpired)) {
//!     while let Ok(Some(message)) = synic.receive(TIMER_SINT) {
//!         if let Ok(expired) = TimerExpired::decode(&message) {
//!             tick(expired);
//!         }
//!     }
//! }
//! ```

use hv_defs::cpuid::HvFeaturesInfo;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;
use hv_defs::synic::{
    HV_SYNIC_INTERCEPTION_SINT_INDEX, HvMessageType, HvSint, HvSynicError, HvSynicSint,
    HvTimerMessagePayload, is_valid_sint_vector,
};
use hv_defs::timer::{HV_STIMER_COUNT, HvStimerConfig};

use crate::platform::Platform;
use crate::synic::{Synic, SynicError, SynicMessage};

/// One of a CPU's four synthetic timers, 0 to 3 (TLFS 12.1.1, 12.5).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerIndex(u8);

impl TimerIndex {
    /// Timer 0.
    pub const TIMER0: Self = Self(0);
    /// Timer 1.
    pub const TIMER1: Self = Self(1);
    /// Timer 2.
    pub const TIMER2: Self = Self(2);
    /// Timer 3.
    pub const TIMER3: Self = Self(3);

    /// Validates a timer index.
    ///
    /// # Errors
    ///
    /// [`TimerError::InvalidTimer`] for 4 or more.
    pub const fn new(index: u32) -> Result<Self, TimerError> {
        if index < HV_STIMER_COUNT as u32 {
            Ok(Self(index as u8))
        } else {
            Err(TimerError::InvalidTimer(index))
        }
    }

    /// The index.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0 as u32
    }

    /// Every timer, in order.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..HV_STIMER_COUNT as u8).map(Self)
    }

    /// The configuration register (TLFS 12.5.1; x64 MSR 0x4000_00B0 + 2 × index).
    #[must_use]
    pub const fn config_register(self) -> HvRegisterName {
        HvRegisterName::new(HvRegisterName::HvRegisterStimer0Config.get() + 2 * self.0 as u32)
    }

    /// The count register (TLFS 12.5.2; x64 MSR 0x4000_00B1 + 2 × index).
    #[must_use]
    pub const fn count_register(self) -> HvRegisterName {
        HvRegisterName::new(HvRegisterName::HvRegisterStimer0Count.get() + 2 * self.0 as u32)
    }
}

/// A SINT checked for timer messages: not SINT0, and unmasked in an enabled SynIC when it was
/// checked (TLFS 11.4, 12.5.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimerSint(HvSint);

impl TimerSint {
    /// Checks that `sint` of `synic` can receive timer messages: it is not SINT0, and its
    /// register reads configured (a vector of 16 or more) and unmasked (polling counts as
    /// unmasked).
    ///
    /// # Errors
    ///
    /// [`TimerError::Sint0`], [`TimerError::SintNotReady`], or [`TimerError::Synic`] when the
    /// SINT register cannot be read.
    pub fn new<P: Platform>(synic: &Synic<P>, sint: HvSint) -> Result<Self, TimerError> {
        if sint.get() == HV_SYNIC_INTERCEPTION_SINT_INDEX {
            return Err(TimerError::Sint0);
        }
        let value = synic.read_sint(sint).map_err(TimerError::Synic)?;
        if value.masked() || !value.has_valid_vector() {
            return Err(TimerError::SintNotReady { sint, value });
        }
        Ok(Self(sint))
    }

    /// The SINT.
    #[must_use]
    pub const fn sint(self) -> HvSint {
        self.0
    }
}

/// How an expiry is signalled (TLFS 12.1.3, 12.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimerMode {
    /// A timer-expired message to this SINT (TLFS 13.3.1).
    Message(TimerSint),
    /// Assert this vector directly (TLFS 12.2); needs the direct synthetic timers feature.
    Direct {
        /// The vector, 16–255.
        vector: u8,
    },
}

/// A timer's configuration (TLFS 12.5.1), without `Enable`: [`SyntheticTimers::start`] always
/// sets `AutoEnable` so the count write enables the timer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    mode: TimerMode,
    periodic: bool,
    lazy: bool,
}

impl TimerConfig {
    /// A one-shot timer: the count is the absolute expiration time.
    #[must_use]
    pub const fn one_shot(mode: TimerMode) -> Self {
        Self {
            mode,
            periodic: false,
            lazy: false,
        }
    }

    /// A periodic timer: the count is the period.
    #[must_use]
    pub const fn periodic(mode: TimerMode) -> Self {
        Self {
            mode,
            periodic: true,
            lazy: false,
        }
    }

    /// Sets `Lazy` (bit 2): a late expiry is deferred, or skipped when the next one is near
    /// (TLFS 12.1.4).
    #[must_use]
    pub const fn with_lazy(self, lazy: bool) -> Self {
        Self { lazy, ..self }
    }

    /// The delivery mode.
    #[must_use]
    pub const fn mode(self) -> TimerMode {
        self.mode
    }

    /// Whether the timer is periodic.
    #[must_use]
    pub const fn is_periodic(self) -> bool {
        self.periodic
    }

    /// The configuration register value: `Enable` clear, `AutoEnable` set, `Periodic`, `Lazy`,
    /// and either `SINTx` (message mode) or `DirectMode` with `ApicVector` (direct mode, with
    /// `SINTx` = 0); RsvdZ bits clear.
    #[must_use]
    pub const fn to_register(self) -> HvStimerConfig {
        let base = HvStimerConfig::new()
            .with_periodic(self.periodic)
            .with_lazy(self.lazy)
            .with_auto_enable(true);
        match self.mode {
            TimerMode::Message(sint) => base.with_sintx(sint.0.get() as u8),
            TimerMode::Direct { vector } => base.with_direct_mode(true).with_apic_vector(vector),
        }
    }
}

/// What a timer's registers hold.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimerState {
    /// The configuration register (TLFS 12.5.1).
    pub config: HvStimerConfig,
    /// The count register (TLFS 12.5.2).
    pub count: u64,
}

/// Why a timer operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimerError {
    /// The partition lacks the `AccessSyntheticTimerRegs` privilege (TLFS 4.2.2), so the timer
    /// registers do not exist; no register was touched.
    NoPrivilege,
    /// A timer index of 4 or more (TLFS 12.5).
    InvalidTimer(u32),
    /// A count of 0, which stops the timer instead (TLFS 12.5.2).
    ZeroCount,
    /// Direct mode asked for, but the partition lacks direct synthetic timers (TLFS 12.2).
    DirectModeUnavailable,
    /// A direct-mode vector below 16.
    InvalidVector(u8),
    /// SINT0 cannot carry timer messages: `SINTx` = 0 disables an enabled timer (TLFS 12.5.1).
    Sint0,
    /// The SINT is masked, so expiry interrupts would be lost (TLFS 11.4), or it has no valid
    /// vector, i.e. was never configured (TLFS 11.8.5).
    SintNotReady {
        /// The SINT.
        sint: HvSint,
        /// Its register as read.
        value: HvSynicSint,
    },
    /// [`SyntheticTimers::rearm`] on a timer not configured as a one-shot with `AutoEnable`.
    NotOneShot {
        /// The configuration found.
        config: HvStimerConfig,
    },
    /// Reading the SINT register failed.
    Synic(SynicError),
    /// The platform could not reach a timer register.
    Register {
        /// The register.
        register: HvRegisterName,
        /// The status.
        error: HvError,
    },
}

impl core::fmt::Display for TimerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoPrivilege => {
                f.write_str("the partition lacks the AccessSyntheticTimerRegs privilege")
            }
            Self::InvalidTimer(index) => write!(f, "synthetic timer {index} does not exist"),
            Self::ZeroCount => f.write_str("a timer count of 0 stops the timer"),
            Self::DirectModeUnavailable => f.write_str("direct synthetic timers are not available"),
            Self::InvalidVector(vector) => write!(f, "timer vector {vector} is below 16"),
            Self::Sint0 => f.write_str("SINT0 cannot receive timer messages"),
            Self::SintNotReady { sint, value } => write!(
                f,
                "SINT{} is masked or unconfigured ({:#x})",
                sint.get(),
                value.into_bits()
            ),
            Self::NotOneShot { config } => write!(
                f,
                "timer configuration {:#x} is not a one-shot with AutoEnable",
                config.into_bits()
            ),
            Self::Synic(error) => error.fmt(f),
            Self::Register { register, error } => write!(f, "{register:?}: {error}"),
        }
    }
}

impl core::error::Error for TimerError {}

/// The four synthetic timers of the current CPU (TLFS 12.5). See the [module docs](self).
#[derive(Debug)]
pub struct SyntheticTimers<P: Platform> {
    platform: P,
    direct_available: bool,
}

impl<P: Platform> SyntheticTimers<P> {
    /// The timers, after checking the `AccessSyntheticTimerRegs` privilege (TLFS 4.2.2). No
    /// register is touched.
    ///
    /// # Errors
    ///
    /// [`TimerError::NoPrivilege`].
    pub fn new(platform: P, features: HvFeaturesInfo) -> Result<Self, TimerError> {
        if !features.privileges().access_synthetic_timer_regs() {
            return Err(TimerError::NoPrivilege);
        }
        Ok(Self {
            platform,
            direct_available: features.direct_synthetic_timers(),
        })
    }

    /// Whether direct mode may be used (TLFS 12.2).
    #[must_use]
    pub const fn direct_mode_available(&self) -> bool {
        self.direct_available
    }

    /// The platform.
    #[must_use]
    pub const fn platform(&self) -> &P {
        &self.platform
    }

    /// Reads a timer register.
    fn read(&self, register: HvRegisterName) -> Result<u64, TimerError> {
        // SAFETY: timer registers exist: `self` exists only after `new` checked
        // AccessSyntheticTimerRegs. Reading has no side effect.
        unsafe { self.platform.read_register(register) }
            .map_err(|error| TimerError::Register { register, error })
    }

    /// Writes a timer register.
    ///
    /// # Safety
    ///
    /// A configuration value must have no RsvdZ bit set (TLFS 12.5.1).
    unsafe fn write(&self, register: HvRegisterName, value: u64) -> Result<(), TimerError> {
        // SAFETY: the register exists (see `read`); the caller vouches for the value; timers
        // make the hypervisor touch no guest memory.
        unsafe { self.platform.write_register(register, value) }
            .map_err(|error| TimerError::Register { register, error })
    }

    /// Programs and starts `timer` (count 0, configuration, count; see the [module
    /// docs](self#how-a-timer-is-programmed)). `count` is the absolute expiration time for a
    /// one-shot timer and the period for a periodic one, in 100 ns units.
    ///
    /// # Errors
    ///
    /// [`TimerError::ZeroCount`], [`TimerError::DirectModeUnavailable`] or
    /// [`TimerError::InvalidVector`] before any register is touched; a register failure.
    pub fn start(
        &self,
        timer: TimerIndex,
        config: TimerConfig,
        count: u64,
    ) -> Result<(), TimerError> {
        if count == 0 {
            return Err(TimerError::ZeroCount);
        }
        if let TimerMode::Direct { vector } = config.mode {
            if !self.direct_available {
                return Err(TimerError::DirectModeUnavailable);
            }
            if !is_valid_sint_vector(vector) {
                return Err(TimerError::InvalidVector(vector));
            }
        }
        let value = config.to_register();
        debug_assert!(!value.has_reserved_bits());
        // SAFETY: a count register has no reserved bits; 0 stops the timer.
        unsafe { self.write(timer.count_register(), 0) }?;
        // SAFETY: `to_register` sets only named fields, so no RsvdZ bit.
        unsafe { self.write(timer.config_register(), value.into_bits()) }?;
        // SAFETY: a count register has no reserved bits.
        unsafe { self.write(timer.count_register(), count) }
    }

    /// Re-arms a one-shot `timer` for the absolute time `expiration` (100 ns units) with one
    /// count write, which `AutoEnable` turns into an enable (TLFS 12.5.1). Meant for the
    /// timer-expired handler; the configuration is read first to make sure the write means
    /// what it should.
    ///
    /// # Errors
    ///
    /// [`TimerError::ZeroCount`] (nothing touched); [`TimerError::NotOneShot`] when the
    /// configuration is not a one-shot with `AutoEnable` and a delivery target (nothing
    /// written); a register failure.
    pub fn rearm(&self, timer: TimerIndex, expiration: u64) -> Result<(), TimerError> {
        if expiration == 0 {
            return Err(TimerError::ZeroCount);
        }
        let config = HvStimerConfig::from_bits(self.read(timer.config_register())?);
        let has_target = config.direct_mode() || config.sintx() != 0;
        if config.periodic() || !config.auto_enable() || !has_target {
            return Err(TimerError::NotOneShot { config });
        }
        // SAFETY: a count register has no reserved bits.
        unsafe { self.write(timer.count_register(), expiration) }
    }

    /// Stops `timer` by writing 0 to its count (TLFS 12.5.2); the configuration stays, so
    /// [`SyntheticTimers::rearm`] (one-shot) can start it again.
    ///
    /// # Errors
    ///
    /// A register failure.
    pub fn stop(&self, timer: TimerIndex) -> Result<(), TimerError> {
        // SAFETY: a count register has no reserved bits; 0 stops the timer.
        unsafe { self.write(timer.count_register(), 0) }
    }

    /// Stops `timer` and writes its configuration back to 0, the reset state (TLFS 12.5.1).
    ///
    /// # Errors
    ///
    /// A register failure.
    pub fn clear(&self, timer: TimerIndex) -> Result<(), TimerError> {
        self.stop(timer)?;
        // SAFETY: zero sets no reserved bit; the timer is disabled by the count write above.
        unsafe { self.write(timer.config_register(), 0) }
    }

    /// Reads `timer`'s configuration and count.
    ///
    /// # Errors
    ///
    /// A register failure.
    pub fn state(&self, timer: TimerIndex) -> Result<TimerState, TimerError> {
        Ok(TimerState {
            config: HvStimerConfig::from_bits(self.read(timer.config_register())?),
            count: self.read(timer.count_register())?,
        })
    }
}

/// A decoded timer-expired message (TLFS 13.3.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimerExpired {
    /// The timer that expired.
    pub timer: TimerIndex,
    /// When it was due, in 100 ns units of the partition reference counter.
    pub expiration_time: u64,
    /// When the message was put in the SIM slot, same units.
    pub delivery_time: u64,
}

impl TimerExpired {
    /// Decodes `message` as a timer-expired message.
    ///
    /// # Errors
    ///
    /// [`TimerMessageError`] for another message type, a payload shorter than 24 bytes, or a
    /// timer index of 4 or more.
    pub fn decode(message: &SynicMessage) -> Result<Self, TimerMessageError> {
        let message_type = message.message_type();
        if message_type != HvMessageType::HvMessageTypeTimerExpired {
            return Err(TimerMessageError::NotTimerMessage(message_type));
        }
        let payload: HvTimerMessagePayload =
            message.read_payload().map_err(TimerMessageError::Payload)?;
        let timer = TimerIndex::new(payload.timer_index)
            .map_err(|_| TimerMessageError::InvalidTimerIndex(payload.timer_index))?;
        Ok(Self {
            timer,
            expiration_time: payload.expiration_time,
            delivery_time: payload.delivery_time,
        })
    }

    /// How late the message was put in the slot: delivery minus expiration, 0 if the host
    /// reports a delivery before the expiration (TLFS 12.1.3 promises it never is).
    #[must_use]
    pub const fn lateness(&self) -> u64 {
        self.delivery_time.saturating_sub(self.expiration_time)
    }
}

/// Why a message is not a valid timer-expired message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimerMessageError {
    /// Another message type.
    NotTimerMessage(HvMessageType),
    /// The payload is too short.
    Payload(HvSynicError),
    /// A timer index of 4 or more.
    InvalidTimerIndex(u32),
}

impl core::fmt::Display for TimerMessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotTimerMessage(message_type) => {
                write!(
                    f,
                    "message type {:#x} is not a timer message",
                    message_type.get()
                )
            }
            Self::Payload(error) => error.fmt(f),
            Self::InvalidTimerIndex(index) => {
                write!(f, "timer message for timer {index}, which does not exist")
            }
        }
    }
}

impl core::error::Error for TimerMessageError {}

#[cfg(test)]
mod tests;
