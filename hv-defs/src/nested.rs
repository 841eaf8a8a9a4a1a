//! Nested virtualization: enlightened VMCS, reenlightenment, nested flushes (TLFS 16).
