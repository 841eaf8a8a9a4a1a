//! Virtual interrupts: synthetic cluster IPIs, APIC MSRs, device interrupt retargeting (TLFS 10).
