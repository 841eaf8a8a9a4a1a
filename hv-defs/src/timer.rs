//! Timers: synthetic timers, the reference counter and the reference TSC page (TLFS 12).
