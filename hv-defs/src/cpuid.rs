//! Microsoft hypervisor CPUID leaves (TLFS 2.4).
