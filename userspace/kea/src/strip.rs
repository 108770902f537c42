//! Kea's JSON dialect → plain JSON: Kea's parser accepts `//`, `#` and `/* */` comments and
//! `<?include "file" ?>` directives (Kea ARM §8.1 "JSON syntax"). Comments and directives are
//! blanked out with spaces, newlines kept, so every line and column of the result is the line
//! and column of the original text and JSON errors point into the operator's file.

/// An `<?include ...?>` directive found (and blanked) in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Include {
    /// 1-based line of the directive.
    pub(crate) line: usize,
    /// The directive's text, e.g. `<?include "subnets.json"?>`.
    pub(crate) text: String,
}

/// Plain JSON (same length, same line breaks) and the includes that were blanked.
pub(crate) fn strip(text: &str) -> (String, Vec<Include>) {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = bytes.to_vec();
    let mut includes = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'"' => i = skip_string(bytes, i, &mut line),
            b'#' => i = blank_to_eol(&mut out, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = blank_to_eol(&mut out, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = find(bytes, i + 2, b"*/").map_or(bytes.len(), |e| e + 2);
                line += blank(&mut out, i, end);
                i = end;
            }
            b'<' if bytes[i..].starts_with(b"<?include") => {
                let end = find(bytes, i, b"?>").map_or(bytes.len(), |e| e + 2);
                includes.push(Include {
                    line,
                    text: String::from_utf8_lossy(&bytes[i..end]).into_owned(),
                });
                line += blank(&mut out, i, end);
                i = end;
            }
            _ => i += 1,
        }
    }
    // Only ASCII bytes outside strings were replaced by ASCII spaces, so the text stays UTF-8;
    // the lossy conversion never replaces anything.
    (String::from_utf8_lossy(&out).into_owned(), includes)
}

/// Index just past the string starting at `start` (a `"`); a string left open runs to the end.
fn skip_string(bytes: &[u8], start: usize, line: &mut usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => {
                *line += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn blank_to_eol(out: &mut [u8], start: usize) -> usize {
    let end = out[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(out.len(), |p| start + p);
    blank(out, start, end);
    end
}

/// Spaces over `out[start..end]`, newlines kept; returns how many newlines it kept.
fn blank(out: &mut [u8], start: usize, end: usize) -> usize {
    let mut newlines = 0;
    for b in &mut out[start..end] {
        if *b == b'\n' {
            newlines += 1;
        } else if *b != b'\r' {
            *b = b' ';
        }
    }
    newlines
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_become_spaces_and_strings_stay() {
        let src = "{ # hash\n  \"a\": \"x // not a comment # nor this\", // tail\n  /* multi\n line */ \"b\": 1 }";
        let (json, inc) = strip(src);
        assert!(inc.is_empty());
        assert_eq!(json.len(), src.len());
        assert_eq!(json.lines().count(), src.lines().count());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["a"], "x // not a comment # nor this");
        assert_eq!(v["b"], 1);
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        let (json, _) = strip(r##"{"a": "q\"#x", "b": 2}"##);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["a"], "q\"#x");
    }

    #[test]
    fn includes_are_reported_with_their_line() {
        let src = "{\n\"Dhcp6\": {\n<?include \"/etc/kea/subnets.json\"?>\n}}";
        let (json, inc) = strip(src);
        assert_eq!(
            inc,
            vec![Include {
                line: 3,
                text: "<?include \"/etc/kea/subnets.json\"?>".into()
            }]
        );
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
    }

    #[test]
    fn unterminated_constructs_do_not_panic() {
        for src in [
            "/* open",
            "\"open",
            "<?include",
            "{\"a\":1} //",
            "/",
            "\"\\",
        ] {
            let (json, _) = strip(src);
            assert_eq!(json.len(), src.len());
        }
        let (json, _) = strip("é /* ü */ \"ö\"");
        assert!(json.contains('é') && json.contains('ö') && !json.contains('ü'));
    }
}
