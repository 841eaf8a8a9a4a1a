//! Synthetic interrupt controller: SINTs, message and event flag pages, messages, ports and connections (TLFS 11, 13).
