//! Everything that executes privileged instructions, one module per architecture.

pub mod x86_64;
