//! Partition properties: privilege flags and the crash enlightenment (TLFS 4).
