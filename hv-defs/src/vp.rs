//! Virtual processor management: VP registers hypercalls, VP sets, VP assist page (TLFS 7).
