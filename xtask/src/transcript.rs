//! Expected transcripts: masking volatile numbers, comparing, showing a diff, blessing.

use std::path::Path;

/// Turns raw serial output into a comparable transcript.
///
/// * `\r` is dropped (the kernel ends lines with `\r\n` for terminals), trailing blanks are
///   trimmed and a final newline is ensured.
/// * Inside parentheses — where report lines keep their details — every number becomes
///   `<N>`: decimal (`127`) and hexadecimal (`0x1b3000`) alike, when not glued to a letter,
///   digit or `_` before it (so `x2APIC` and `r15` stay). Text inside double quotes is left
///   alone (vendor strings, command lines).
///
/// Everything outside parentheses is compared exactly: feature names, outcomes
/// (`ok`/`unavailable`/`FAILED`), exception names and the summary counts.
pub(crate) fn mask(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for line in raw.replace('\r', "").lines() {
        out.push_str(&mask_line(line.trim_end()));
        out.push('\n');
    }
    out
}

fn mask_line(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let (mut depth, mut quoted) = (0_usize, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let glued = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if depth > 0 && !quoted && c.is_ascii_digit() && !glued {
            let hex = c == '0' && chars.get(i + 1) == Some(&'x');
            i += if hex { 2 } else { 0 };
            while i < chars.len()
                && (chars[i].is_ascii_digit() || (hex && chars[i].is_ascii_hexdigit()))
            {
                i += 1;
            }
            out.push_str("<N>");
            continue;
        }
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

/// A line diff of `expected` against `actual` (`-` expected only, `+` actual only).
pub(crate) fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table, from the end.
    let mut lcs = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

/// Compares the masked `serial` output with the transcript at `path`; with `bless`, writes
/// it there instead.
///
/// # Errors
///
/// A missing transcript or a mismatch, with the diff.
pub(crate) fn check(path: &Path, serial: &str, bless: bool) -> Result<(), String> {
    let actual = mask(serial);
    if bless {
        std::fs::write(path, &actual).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("xtask: blessed {}", path.display());
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "reading {}: {e} (run `cargo xtask test --bless` to create it)",
            path.display()
        )
    })?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "transcript differs from {} (- expected, + actual; `cargo xtask test --bless` \
             rewrites it):\n{}",
            path.display(),
            diff(&expected, &actual)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{diff, mask};

    #[test]
    fn masks_numbers_in_details_only() {
        assert_eq!(
            mask("[hv] summary: 1 ok, 20 unavailable, 0 failed\r\n"),
            "[hv] summary: 1 ok, 20 unavailable, 0 failed\n"
        );
        assert_eq!(
            mask("[rt] memory: map (9 entries, 127 MiB RAM, 0x1b3000 free)"),
            "[rt] memory: map (<N> entries, <N> MiB RAM, <N> free)\n"
        );
        assert_eq!(
            mask("[rt] exception #GP general protection (vector 13, error code 0x0, rip 0xFFff)"),
            "[rt] exception #GP general protection (vector <N>, error code <N>, rip <N>)\n"
        );
    }

    #[test]
    fn leaves_names_and_quoted_text_alone() {
        assert_eq!(
            mask("[x] y: ok (x2APIC r15 CPUID.1:ECX[21] vendor \"KVM 1\" at a.rs:7:9)"),
            "[x] y: ok (x2APIC r15 CPUID.<N>:ECX[<N>] vendor \"KVM 1\" at a.rs:<N>:<N>)\n"
        );
        assert_eq!(mask("(nested (1) 2) 3"), "(nested (<N>) <N>) 3\n");
    }

    #[test]
    fn diff_marks_changed_lines() {
        assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
        assert_eq!(diff("a\n", "a\nb\n"), "  a\n+ b\n");
        assert_eq!(diff("a\nb\n", ""), "- a\n- b\n");
    }
}
