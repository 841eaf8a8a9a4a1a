//! Guest OS identity (TLFS 2.6).
