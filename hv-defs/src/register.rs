//! Virtual processor register names for x64 and arm64 (TLFS 7.8.2).
