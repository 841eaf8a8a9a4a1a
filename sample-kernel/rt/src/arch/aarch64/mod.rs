//! The aarch64 half of the runtime.
//!
//! | module | what |
//! | --- | --- |
//! | `boot` | the arm64 Linux `Image` header, the entry, the drop from EL2 to EL1 (not in UEFI builds) |
//! | [`start`] | the set-up order, boot report lines, [`start::machine`] |
//! | [`mmu`] | the identity map, MMU and caches on |
//! | [`pl011`] | the PL011 console UART |
//! | [`exceptions`] | the vector table, exception reports |
//! | [`gic`] | the GICv3: SGIs and PPIs with handlers |
//! | [`timer`] | the generic timer: virtual counter and timer |
//! | [`exit`] | semihosting exit status, PSCI `SYSTEM_OFF`, halt |
//! | [`cpu`] | interrupt masking, exception level, affinity |
//! | `uefi` | the UEFI entry's console choice, ACPI platform and hand-over (`aarch64-unknown-uefi` only) |

#[cfg(not(target_os = "uefi"))]
pub mod boot;
pub mod cpu;
pub mod exceptions;
pub mod exit;
pub mod gic;
pub mod mmu;
pub mod pl011;
pub mod start;
pub mod timer;
#[cfg(target_os = "uefi")]
pub(crate) mod uefi;
