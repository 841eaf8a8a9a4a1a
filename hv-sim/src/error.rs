//! Typed outcomes of a run.

use core::fmt;

use crate::crash::CrashReport;
use crate::profile::ProfileError;
use crate::uc::{UcError, Unmapped};

/// How a guest ended its run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The guest wrote `value` to the QEMU `isa-debug-exit` port 0xF4.
    DebugExit(u32),
    /// The guest reset the partition through `HV_X64_MSR_RESET`.
    Reset,
    /// The guest reported a crash through `HV_X64_MSR_CRASH_CTL` (TLFS 4.3): P0–P4 and the
    /// message, if it used the message form.
    Crash(CrashReport),
    /// An arm64 guest ended through semihosting `SYS_EXIT_EXTENDED` with this status.
    Semihosting(u64),
    /// An arm64 guest called PSCI `SYSTEM_OFF`.
    PowerOff,
}

impl Exit {
    /// The process exit status: `(v << 1) | 1` for a debug exit, like QEMU; 16 for a reset;
    /// 18 for a crash report; the semihosting status itself (its low byte, as a process
    /// status keeps it), like QEMU; 0 for a power-off, like QEMU.
    #[must_use]
    pub fn status(&self) -> i32 {
        match self {
            Self::DebugExit(value) => ((value << 1) | 1) as i32,
            Self::Reset => 16,
            Self::Crash(_) => 18,
            Self::Semihosting(status) => i32::from(*status as u8),
            Self::PowerOff => 0,
        }
    }
}

/// A run that could not go on: the guest or the model is in a state with no way forward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    /// A machine configuration the model cannot build.
    Config(String),
    /// The kernel image is not a loadable ELF64 x86-64 file or arm64 `Image`.
    Elf(String),
    /// A bad partition profile.
    Profile(ProfileError),
    /// An exception could not be delivered, and neither could the double fault it caused:
    /// the CPU would shut down.
    TripleFault {
        /// The exception that started the cascade.
        vector: u8,
        /// RIP of the faulting instruction.
        rip: u64,
    },
    /// Delivering an event would change privilege level, which this model does not do.
    PrivilegeChange {
        /// The vector.
        vector: u8,
        /// RIP at the event.
        rip: u64,
    },
    /// The instruction limit was reached.
    InstructionLimit {
        /// The limit.
        limit: u64,
        /// RIP when it was reached.
        rip: u64,
    },
    /// The virtual time limit was reached.
    TimeLimit {
        /// The limit in nanoseconds.
        limit_ns: u64,
        /// RIP when it was reached.
        rip: u64,
    },
    /// HLT (or the guest-idle MSR) with nothing that could ever wake the processor: no
    /// deliverable interrupt, no timer armed, or interrupts disabled.
    HaltedForever {
        /// RIP after the HLT.
        rip: u64,
        /// RFLAGS.IF at the HLT.
        interrupts_enabled: bool,
    },
    /// The guest touched a physical address with no RAM.
    Unmapped {
        /// Read, write or fetch.
        kind: Unmapped,
        /// The address.
        address: u64,
        /// RIP of the access.
        rip: u64,
    },
    /// An arm64 exception the model does not deliver to the guest (anything but an
    /// undefined instruction: aborts, `SVC`, `BRK`), by QEMU's exception number.
    Arm64Exception {
        /// QEMU's `EXCP_*` number.
        exception: u32,
        /// PC at the exception.
        pc: u64,
    },
    /// The emulator failed.
    Emulator {
        /// Unicorn's error.
        error: UcError,
        /// RIP at the failure.
        rip: u64,
    },
}

impl SimError {
    /// The process exit status the `hv-sim` binary uses (all even, so none collides with
    /// a debug-exit status, which is always odd): 2 configuration or image, 4 triple
    /// fault, 6 instruction limit, 8 time limit, 10 halted forever, 12 unmapped memory,
    /// 14 emulator failure, privilege change or an arm64 exception the model does not
    /// deliver.
    #[must_use]
    pub fn status(&self) -> i32 {
        match self {
            Self::Config(_) | Self::Elf(_) | Self::Profile(_) => 2,
            Self::TripleFault { .. } => 4,
            Self::InstructionLimit { .. } => 6,
            Self::TimeLimit { .. } => 8,
            Self::HaltedForever { .. } => 10,
            Self::Unmapped { .. } => 12,
            Self::Emulator { .. } | Self::PrivilegeChange { .. } | Self::Arm64Exception { .. } => {
                14
            }
        }
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(why) => write!(f, "configuration: {why}"),
            Self::Elf(why) => write!(f, "kernel image: {why}"),
            Self::Profile(e) => write!(f, "profile: {e}"),
            Self::TripleFault { vector, rip } => write!(
                f,
                "triple fault: exception {vector} at {rip:#x} could not be delivered (no usable \
                 IDT entry or stack), nor could the double fault"
            ),
            Self::PrivilegeChange { vector, rip } => write!(
                f,
                "vector {vector} at {rip:#x} would be delivered with a privilege change, which \
                 the model does not support"
            ),
            Self::InstructionLimit { limit, rip } => {
                write!(f, "instruction limit of {limit} reached at {rip:#x}")
            }
            Self::TimeLimit { limit_ns, rip } => {
                write!(f, "virtual time limit of {limit_ns} ns reached at {rip:#x}")
            }
            Self::HaltedForever {
                rip,
                interrupts_enabled,
            } => write!(
                f,
                "halted at {rip:#x} with {} and no timer armed: nothing can wake the processor",
                if *interrupts_enabled {
                    "interrupts enabled"
                } else {
                    "interrupts disabled"
                }
            ),
            Self::Unmapped { kind, address, rip } => {
                write!(
                    f,
                    "{kind:?} of unmapped physical address {address:#x} at {rip:#x}"
                )
            }
            Self::Arm64Exception { exception, pc } => write!(
                f,
                "exception {exception} at {pc:#x}, which the model does not deliver (only \
                 undefined instructions are)"
            ),
            Self::Emulator { error, rip } => write!(f, "emulator error at {rip:#x}: {error:?}"),
        }
    }
}

impl std::error::Error for SimError {}
