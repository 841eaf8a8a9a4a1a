//! The architecture layer: the only code in this crate that executes privileged
//! instructions (x86_64: CPUID, RDMSR/WRMSR, the hypercall page call; aarch64: `HVC`).
//! Everything above it goes through [`crate::platform::Platform`].

#[cfg(target_arch = "x86_64")]
pub mod x86_64;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
