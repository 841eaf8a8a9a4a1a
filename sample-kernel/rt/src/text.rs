//! Fixed-capacity text, for formatting without a heap.

use core::fmt;

/// A string of at most `N` bytes, filled with [`core::fmt::Write`].
///
/// Text that does not fit is cut at a character boundary and the buffer remembers that it
/// was cut; [`Display`](fmt::Display) then ends it with `...`.
#[derive(Clone, Copy)]
pub struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> Text<N> {
    /// An empty text.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            truncated: false,
        }
    }

    /// Formats `args` into a new text.
    pub fn format(args: fmt::Arguments<'_>) -> Self {
        let mut text = Self::new();
        // `write_str` below never fails: text that does not fit is cut and recorded.
        let _ = fmt::Write::write_fmt(&mut text, args);
        text
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        // `write_str` only ever appends whole characters of valid `&str`s, so the filled
        // part is valid UTF-8; the fallback is unreachable but keeps this free of `unsafe`.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// Whether some text did not fit.
    pub const fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for Text<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.truncated = true;
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Display for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)?;
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::Text;
    use std::string::ToString;

    #[test]
    fn formats_what_fits() {
        let text = Text::<16>::format(format_args!("{} + {} = {}", 1, 2, 3));
        assert_eq!(text.as_str(), "1 + 2 = 3");
        assert!(!text.is_truncated());
        assert_eq!(text.to_string(), "1 + 2 = 3");
    }

    #[test]
    fn cuts_at_a_character_boundary_and_marks_the_cut() {
        // "é" is two bytes; a 5-byte buffer holds "abcd" and must not split it.
        let text = Text::<5>::format(format_args!("abcdé"));
        assert_eq!(text.as_str(), "abcd");
        assert!(text.is_truncated());
        assert_eq!(text.to_string(), "abcd...");
    }

    #[test]
    fn zero_capacity_holds_nothing() {
        let text = Text::<0>::format(format_args!("x"));
        assert_eq!(text.as_str(), "");
        assert!(text.is_truncated());
    }

    proptest::proptest! {
        #[test]
        fn prefix_of_the_input(s in ".{0,40}") {
            let text = Text::<17>::format(format_args!("{s}"));
            proptest::prop_assert!(s.starts_with(text.as_str()));
            proptest::prop_assert_eq!(text.is_truncated(), text.as_str().len() < s.len());
        }
    }
}
