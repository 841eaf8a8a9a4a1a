//! Synthetic MSRs (TLFS appendix C).
