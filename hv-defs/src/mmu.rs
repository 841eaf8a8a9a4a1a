//! Virtual MMU: TLB flush hypercall inputs (TLFS 9).
