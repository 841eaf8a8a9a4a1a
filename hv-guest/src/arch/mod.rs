//! The architecture layer: the only code in this crate that executes privileged
//! instructions. Everything above it goes through [`crate::platform::Platform`].

#[cfg(target_arch = "x86_64")]
pub mod x86_64;
