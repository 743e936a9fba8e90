//! `niss check`: validates NISS numbers given as arguments or one per line on an input
//! stream, and prints one JSON object per number.
//!
//! Built for files of millions of lines: buffered I/O, one reused output buffer, no
//! per-line allocation for valid numbers.

use std::io::{self, BufRead, BufWriter, Write};

use chrono::NaiveDate;

use crate::domain::Niss;

/// What a run checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// Numbers checked (lines or arguments).
    pub checked: u64,
    /// Of which valid.
    pub valid: u64,
}

/// Checks `numbers`, or when there are none every line of `input`, and writes one JSON
/// object per number to `output`:
///
/// ```text
/// {"input":"85073003328","valid":true,"kind":"RN","birthDate":"1985-07-30","gender":"M","error":null}
/// ```
///
/// `input` echoes the argument or the line without its line terminator. Before parsing,
/// surrounding whitespace is trimmed and the display separators `.`, `-` and space are
/// removed, so `85.07.30-033.28` is accepted. Blank lines (empty, or only white space) are
/// skipped; an empty argument is reported as an invalid number. `today` bounds the birth dates (see [`Niss::parse`]).
///
/// # Errors
/// Only I/O errors of `input` or `output`; invalid numbers are reported in the output.
pub fn run(
    numbers: &[String],
    mut input: impl BufRead,
    output: impl Write,
    today: NaiveDate,
) -> io::Result<CheckSummary> {
    let mut checker = Checker {
        output: BufWriter::with_capacity(64 * 1024, output),
        line: Vec::with_capacity(160),
        message: String::new(),
        today,
        summary: CheckSummary::default(),
    };
    if numbers.is_empty() {
        let mut raw = Vec::with_capacity(64);
        loop {
            raw.clear();
            if input.read_until(b'\n', &mut raw)? == 0 {
                break;
            }
            let line = strip_line_terminator(&raw);
            // A blank line holds no number: skipped, not reported.
            if line.trim_ascii().is_empty() {
                continue;
            }
            checker.check(line)?;
        }
    } else {
        for number in numbers {
            checker.check(number.as_bytes())?;
        }
    }
    checker.output.flush()?;
    Ok(checker.summary)
}

/// The state reused from one number to the next.
struct Checker<W: Write> {
    output: BufWriter<W>,
    /// The JSON line being built.
    line: Vec<u8>,
    /// The error message being formatted.
    message: String,
    today: NaiveDate,
    summary: CheckSummary,
}

impl<W: Write> Checker<W> {
    fn check(&mut self, raw: &[u8]) -> io::Result<()> {
        self.summary.checked += 1;
        self.line.clear();
        self.line.extend_from_slice(b"{\"input\":");
        write_json_string(&mut self.line, raw);

        let mut compact = [0u8; 11];
        let result = match compact_number(raw, &mut compact) {
            Some(number) => Niss::parse(number, self.today),
            // Too long, or not UTF-8: certainly not 11 digits.
            None => Niss::parse("", self.today),
        };
        match result {
            Ok(niss) => {
                self.summary.valid += 1;
                self.line.extend_from_slice(b",\"valid\":true,\"kind\":\"");
                self.line.extend_from_slice(niss.kind().as_str().as_bytes());
                self.line.extend_from_slice(b"\",\"birthDate\":");
                match niss.birth_date() {
                    Some(date) => {
                        // Writing into a Vec cannot fail.
                        let _ = write!(self.line, "\"{date}\"");
                    }
                    None => self.line.extend_from_slice(b"null"),
                }
                self.line.extend_from_slice(b",\"gender\":");
                match niss.gender() {
                    Some(gender) => {
                        self.line.push(b'"');
                        self.line.extend_from_slice(gender.as_str().as_bytes());
                        self.line.push(b'"');
                    }
                    None => self.line.extend_from_slice(b"null"),
                }
                self.line.extend_from_slice(b",\"error\":null}\n");
            }
            Err(error) => {
                self.line.extend_from_slice(
                    b",\"valid\":false,\"kind\":null,\"birthDate\":null,\"gender\":null,\"error\":",
                );
                self.message.clear();
                // Writing into a String cannot fail.
                let _ = std::fmt::Write::write_fmt(&mut self.message, format_args!("{error}"));
                write_json_string(&mut self.line, self.message.as_bytes());
                self.line.extend_from_slice(b"}\n");
            }
        }
        self.output.write_all(&self.line)
    }
}

/// Removes a trailing `\n` or `\r\n`.
fn strip_line_terminator(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Trims surrounding whitespace and drops the display separators `.`, `-` and space, into
/// `buffer`. Returns `None` when more than 11 characters remain (so the number is invalid
/// whatever they are) or when they are not UTF-8.
fn compact_number<'a>(raw: &[u8], buffer: &'a mut [u8; 11]) -> Option<&'a str> {
    let mut length = 0;
    for &byte in raw.trim_ascii() {
        if matches!(byte, b'.' | b'-' | b' ') {
            continue;
        }
        *buffer.get_mut(length)? = byte;
        length += 1;
    }
    std::str::from_utf8(&buffer[..length]).ok()
}

/// Appends `text` as a JSON string literal. Invalid UTF-8 is replaced by U+FFFD so the
/// output stays valid JSON whatever the input file holds.
fn write_json_string(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    for chunk in text.utf8_chunks() {
        for &byte in chunk.valid().as_bytes() {
            match byte {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x00..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(byte >> 4)]);
                    out.push(HEX[usize::from(byte & 0xf)]);
                }
                // Multi-byte UTF-8 sequences are copied as they are: JSON allows them.
                _ => out.push(byte),
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).expect("valid date")
    }

    fn check_lines(input: &[u8]) -> (String, CheckSummary) {
        let mut output = Vec::new();
        let summary = run(&[], input, &mut output, today()).expect("in-memory I/O");
        (String::from_utf8(output).expect("UTF-8 output"), summary)
    }

    fn check_args(args: &[&str]) -> (String, CheckSummary) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut output = Vec::new();
        let summary = run(&args, io::empty(), &mut output, today()).expect("in-memory I/O");
        (String::from_utf8(output).expect("UTF-8 output"), summary)
    }

    #[test]
    fn prints_a_valid_number_with_its_details() {
        let (output, summary) = check_lines(b"85073003328\n");
        assert_eq!(
            output,
            "{\"input\":\"85073003328\",\"valid\":true,\"kind\":\"RN\",\"birthDate\":\"1985-07-30\",\"gender\":\"M\",\"error\":null}\n"
        );
        assert_eq!(
            summary,
            CheckSummary {
                checked: 1,
                valid: 1
            }
        );
    }

    #[test]
    fn prints_an_invalid_number_with_the_reason() {
        let (output, summary) = check_lines(b"12345678901");
        assert_eq!(
            output,
            "{\"input\":\"12345678901\",\"valid\":false,\"kind\":null,\"birthDate\":null,\"gender\":null,\"error\":\"check digits do not match\"}\n"
        );
        assert_eq!(
            summary,
            CheckSummary {
                checked: 1,
                valid: 0
            }
        );
    }

    #[test]
    fn unknown_parts_print_as_null_or_zeros() {
        let (output, _) = check_lines(b"75260898052\n00000100166\n85004012374\n");
        let lines: Vec<Value> = output
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(lines[0]["kind"], "BIS");
        assert_eq!(lines[0]["gender"], Value::Null);
        assert_eq!(lines[1]["birthDate"], Value::Null);
        assert_eq!(lines[1]["valid"], true);
        assert_eq!(lines[2]["birthDate"], "1985-00-00");
    }

    #[test]
    fn accepts_display_separators_and_surrounding_whitespace() {
        let (output, summary) =
            check_lines(b"85.07.30-033.28\r\n  85 07 30 033 28\t\n98.47.28-997.65\n");
        assert_eq!(summary.valid, 3);
        let first: Value =
            serde_json::from_str(output.lines().next().expect("a line")).expect("JSON");
        assert_eq!(first["input"], "85.07.30-033.28");
        let second: Value =
            serde_json::from_str(output.lines().nth(1).expect("a line")).expect("JSON");
        assert_eq!(second["input"], "  85 07 30 033 28\t");
    }

    #[test]
    fn skips_blank_lines() {
        let (output, summary) = check_lines(b"\n85073003328\n\r\n \t\n");
        assert_eq!(
            summary,
            CheckSummary {
                checked: 1,
                valid: 1
            }
        );
        assert_eq!(output.lines().count(), 1);
        let (output, summary) = check_args(&[""]);
        assert_eq!(summary.checked, 1);
        let first: Value =
            serde_json::from_str(output.lines().next().expect("a line")).expect("JSON");
        assert_eq!(first["error"], "must be exactly 11 digits");
    }

    #[test]
    fn escapes_odd_input_into_valid_json() {
        let (output, summary) =
            check_lines(b"\"quoted\\\x01\ttab\n\xff\xfe invalid\nna\xc3\xafve\n");
        assert_eq!(summary.checked, 3);
        let inputs: Vec<String> = output
            .lines()
            .map(|l| {
                let value: Value = serde_json::from_str(l).expect("JSON line");
                value["input"].as_str().expect("a string").to_owned()
            })
            .collect();
        // Each invalid byte becomes one U+FFFD, as `String::from_utf8_lossy` does.
        assert_eq!(
            inputs,
            ["\"quoted\\\u{1}\ttab", "\u{fffd}\u{fffd} invalid", "naïve"]
        );
    }

    #[test]
    fn refuses_long_inputs_without_trouble() {
        let long = "8".repeat(10_000);
        let (output, summary) = check_args(&[&long, "8507300332٣"]);
        assert_eq!(summary.valid, 0);
        for line in output.lines() {
            let value: Value = serde_json::from_str(line).expect("JSON line");
            assert_eq!(value["error"], "must be exactly 11 digits");
        }
    }

    #[test]
    fn checks_arguments_instead_of_input_when_given() {
        let args: Vec<String> = vec!["85073003328".into(), "85133000105".into()];
        let mut output = Vec::new();
        let summary = run(&args, &b"17073003384\n"[..], &mut output, today()).expect("I/O");
        assert_eq!(
            summary,
            CheckSummary {
                checked: 2,
                valid: 1
            }
        );
        let output = String::from_utf8(output).expect("UTF-8");
        assert!(output.contains("month 13 is not a valid month"));
        assert!(!output.contains("17073003384"));
    }

    /// Throughput check: `cargo test --release --lib niss_check_throughput -- --ignored
    /// --nocapture` prints the lines per second.
    #[test]
    #[ignore = "benchmark: run in release mode"]
    fn niss_check_throughput() {
        const LINES: usize = 1_000_000;
        let mut input = Vec::with_capacity(LINES * 12);
        for i in 0..LINES as u64 {
            // Serials 001-997 of 1985-07-30; every tenth number gets wrong check digits.
            let nine = 850_730_000 + 1 + i % 997;
            let check = if i % 10 == 0 { 0 } else { 97 - nine % 97 };
            writeln!(input, "{nine:09}{check:02}").expect("in-memory");
        }
        let start = std::time::Instant::now();
        let summary = run(&[], &input[..], io::sink(), today()).expect("in-memory I/O");
        let elapsed = start.elapsed();
        assert_eq!(summary.checked, LINES as u64);
        println!(
            "niss check: {} lines ({} valid) in {:.3} s = {:.0} lines/s",
            summary.checked,
            summary.valid,
            elapsed.as_secs_f64(),
            LINES as f64 / elapsed.as_secs_f64()
        );
    }
}
