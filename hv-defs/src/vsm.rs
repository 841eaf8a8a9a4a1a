//! Virtual Secure Mode: VTLs, VSM registers and hypercalls (TLFS 15).
