//! The report format of `docs/architecture.md` ("The report"): one line per step,
//!
//! ```text
//! [hv] <feature>: ok (<detail>)
//! [hv] <feature>: unavailable (<why>)
//! [hv] <feature>: FAILED (<why>)
//! ```
//!
//! then `[hv] summary: N ok, M unavailable, K failed`. The run succeeds when K is 0. The
//! prefix (`hv` for the demo) is chosen by the kernel, so other test kernels can report the
//! same way under their own name.

use core::fmt;

use crate::text::Text;

/// Room for a detail; longer ones are cut and end with `...`.
pub const DETAIL_CAPACITY: usize = 160;

/// The text in parentheses after a step's result.
pub type Detail = Text<DETAIL_CAPACITY>;

/// The result of one step.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// The feature works; the detail says what was seen.
    Ok(Detail),
    /// The host does not offer the feature; the detail says why.
    Unavailable(Detail),
    /// The host offers the feature but it misbehaved; the detail says how.
    Failed(Detail),
}

impl Outcome {
    /// An `ok` outcome.
    pub fn ok(detail: fmt::Arguments<'_>) -> Self {
        Self::Ok(Text::format(detail))
    }

    /// An `unavailable` outcome.
    pub fn unavailable(detail: fmt::Arguments<'_>) -> Self {
        Self::Unavailable(Text::format(detail))
    }

    /// A `FAILED` outcome.
    pub fn failed(detail: fmt::Arguments<'_>) -> Self {
        Self::Failed(Text::format(detail))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok(d) => write!(f, "ok ({d})"),
            Self::Unavailable(d) => write!(f, "unavailable ({d})"),
            Self::Failed(d) => write!(f, "FAILED ({d})"),
        }
    }
}

/// Counts outcomes and writes report lines to `out`.
#[derive(Debug)]
pub struct Report<W> {
    prefix: &'static str,
    out: W,
    ok: u32,
    unavailable: u32,
    failed: u32,
}

impl<W: fmt::Write> Report<W> {
    /// A report whose lines start with `[<prefix>]`.
    pub const fn new(prefix: &'static str, out: W) -> Self {
        Self {
            prefix,
            out,
            ok: 0,
            unavailable: 0,
            failed: 0,
        }
    }

    /// Writes any line with the report's prefix (for lines that are not steps).
    pub fn note(&mut self, line: fmt::Arguments<'_>) {
        // A report sink that fails has nowhere to report it; the counts stay right.
        let _ = writeln!(self.out, "[{}] {line}", self.prefix);
    }

    /// Writes the line of one step and counts its outcome.
    pub fn record(&mut self, feature: &str, outcome: &Outcome) {
        match outcome {
            Outcome::Ok(_) => self.ok += 1,
            Outcome::Unavailable(_) => self.unavailable += 1,
            Outcome::Failed(_) => self.failed += 1,
        }
        self.note(format_args!("{feature}: {outcome}"));
    }

    /// Number of `FAILED` steps so far.
    pub const fn failed(&self) -> u32 {
        self.failed
    }

    /// Writes the summary line; returns whether no step failed.
    pub fn finish(mut self) -> bool {
        let (ok, unavailable, failed) = (self.ok, self.unavailable, self.failed);
        self.note(format_args!(
            "summary: {ok} ok, {unavailable} unavailable, {failed} failed"
        ));
        failed == 0
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::{Outcome, Report};
    use std::string::String;

    #[test]
    fn lines_and_summary_follow_the_contract() {
        let mut out = String::new();
        let mut report = Report::new("hv", &mut out);
        report.record("VP index", &Outcome::ok(format_args!("index {}", 0)));
        report.record(
            "SynIC",
            &Outcome::unavailable(format_args!("no Hyper-V interface")),
        );
        report.record("VSM", &Outcome::failed(format_args!("status {:#x}", 2)));
        assert_eq!(report.failed(), 1);
        assert!(!report.finish());
        assert_eq!(
            out,
            "[hv] VP index: ok (index 0)\n\
             [hv] SynIC: unavailable (no Hyper-V interface)\n\
             [hv] VSM: FAILED (status 0x2)\n\
             [hv] summary: 1 ok, 1 unavailable, 1 failed\n"
        );
    }

    #[test]
    fn no_failure_is_success() {
        let mut out = String::new();
        let mut report = Report::new("x", &mut out);
        report.record("a", &Outcome::unavailable(format_args!("b")));
        assert!(report.finish());
        assert!(out.ends_with("[x] summary: 0 ok, 1 unavailable, 0 failed\n"));
    }

    #[test]
    fn long_details_are_cut_visibly() {
        let long = "y".repeat(400);
        let outcome = Outcome::ok(format_args!("{long}"));
        let line = std::format!("{outcome}");
        assert!(line.ends_with("...)"), "{line}");
        assert!(line.len() < 200);
    }
}
