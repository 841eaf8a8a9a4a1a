//! Safe wrappers for the guest side of the Microsoft hypervisor's interface (TLFS 6.0).
#![no_std]

pub mod vmbus;
