//! From a byte offset in the file to what an error message names: the line and the key path.
//!
//! Every error starts as a byte span: the TOML parser's error span, or the [`toml::Spanned`]
//! span of the raw value a check rejected. [`Source`] keeps a second, span-preserving parse of
//! the same text (`toml_edit`, the parser under `toml`) and finds the innermost key, table or
//! array element whose span holds the offset, so one mechanism names keys for syntax, schema
//! and validation errors alike.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, Value};

use crate::error::{ConfigError, ErrorKind, Invalid, Place};

/// The text of one config file, for turning spans into lines and key paths.
pub(crate) struct Source<'a> {
    file: &'a str,
    text: &'a str,
    /// `None` when the text is not valid TOML (then only lines are reported).
    doc: Option<ImDocument<&'a str>>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Self {
            file,
            text,
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// 1-based line holding byte `offset` (offsets past the end count as the last line).
    pub(crate) fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    /// Key path of the innermost key or value whose span holds `offset`.
    pub(crate) fn key_path(&self, offset: usize) -> Option<String> {
        self.search(Target::Offset(offset))
    }

    fn search(&self, target: Target) -> Option<String> {
        let doc = self.doc.as_ref()?;
        let mut best = Best {
            target,
            len: usize::MAX,
            path: None,
        };
        let mut path = Vec::new();
        visit_table(doc.as_table(), &mut path, &mut best);
        best.path.map(|segments| format_path(&segments))
    }

    /// Where a span is, for errors that point at a second key.
    pub(crate) fn place(&self, span: &Range<usize>) -> Place {
        Place {
            line: self.line(span.start),
            key: self.key_path(span.start).unwrap_or_default(),
        }
    }

    /// A validation error at `span`.
    pub(crate) fn invalid(&self, span: &Range<usize>, invalid: Invalid) -> ConfigError {
        let key = self.key_path(span.start);
        ConfigError::new(
            self.file,
            Some(self.line(span.start)),
            key,
            ErrorKind::Invalid(invalid),
        )
    }

    /// A validation error about key `name`, missing from the table at `table`: reported on
    /// the table's first line and named `TABLE.NAME`, as the parser names a missing key.
    pub(crate) fn missing(
        &self,
        table: &Range<usize>,
        name: &str,
        invalid: Invalid,
    ) -> ConfigError {
        let key = match self.key_path(table.start) {
            Some(table) => format!("{table}.{name}"),
            None => name.to_owned(),
        };
        ConfigError::new(
            self.file,
            Some(self.line(table.start)),
            Some(key),
            ErrorKind::Invalid(invalid),
        )
    }

    /// A syntax or schema error from the TOML parser.
    pub(crate) fn parse_error(&self, e: &toml::de::Error) -> ConfigError {
        // One line, as `check-config` prints it ("invalid string\nexpected `\"`" → "...: ...").
        let lines: Vec<&str> = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let message = lines.join(": ");
        let Some(span) = e.span() else {
            return ConfigError::new(self.file, None, None, ErrorKind::Parse(message));
        };
        let key = match missing_field(&message) {
            // A missing key is reported with the span of its table (`0..0` for the root);
            // name the key itself.
            Some(missing) => match self.search(Target::Exact(span.clone())) {
                Some(table) => Some(format!("{table}.{missing}")),
                None => Some(missing.to_owned()),
            },
            None => self.key_path(span.start),
        };
        ConfigError::new(
            self.file,
            Some(self.line(span.start)),
            key,
            ErrorKind::Parse(message),
        )
    }
}

/// `Some("path")` for serde's "missing field `path`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

fn format_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What a search looks for.
enum Target {
    /// The innermost key or value whose span holds this offset.
    Offset(usize),
    /// A key, table or value with exactly this span.
    Exact(Range<usize>),
}

/// The smallest span found so far that matches the target.
struct Best {
    target: Target,
    len: usize,
    path: Option<Vec<Segment>>,
}

impl Best {
    fn consider(&mut self, span: Option<Range<usize>>, path: &[Segment]) {
        let Some(span) = span else { return };
        let holds = match &self.target {
            Target::Offset(at) => span.start <= *at && (*at < span.end || span.is_empty()),
            Target::Exact(want) => span == *want,
        };
        let len = span.end.saturating_sub(span.start);
        // `<=`: on equal spans the deeper path (visited later) wins.
        if holds && len <= self.len && !path.is_empty() {
            self.len = len;
            self.path = Some(path.to_vec());
        }
    }
}

fn visit_table(table: &Table, path: &mut Vec<Segment>, best: &mut Best) {
    for (name, item) in table.iter() {
        path.push(Segment::Key(name.to_owned()));
        best.consider(table.key(name).and_then(|k| k.span()), path);
        visit_item(item, path, best);
        path.pop();
    }
}

fn visit_item(item: &Item, path: &mut Vec<Segment>, best: &mut Best) {
    match item {
        Item::None => {}
        Item::Value(value) => visit_value(value, path, best),
        Item::Table(table) => {
            best.consider(table.span(), path);
            visit_table(table, path, best);
        }
        Item::ArrayOfTables(tables) => {
            for (i, table) in tables.iter().enumerate() {
                path.push(Segment::Index(i));
                best.consider(table.span(), path);
                visit_table(table, path, best);
                path.pop();
            }
        }
    }
}

fn visit_value(value: &Value, path: &mut Vec<Segment>, best: &mut Best) {
    best.consider(value.span(), path);
    match value {
        Value::Array(array) => {
            for (i, element) in array.iter().enumerate() {
                path.push(Segment::Index(i));
                visit_value(element, path, best);
                path.pop();
            }
        }
        Value::InlineTable(table) => {
            for (name, element) in table.iter() {
                path.push(Segment::Key(name.to_owned()));
                best.consider(table.key(name).and_then(|k| k.span()), path);
                visit_value(element, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[server]\ninterfaces = [\"a\", \"b\"]\n\n[[subnet]]\nid = 1\n\
                        [[subnet]]\nid = 2\npd-pools = [{ prefix = \"x\" }, { prefix = \"y\" }]\n";

    fn path_at(needle: &str) -> Option<String> {
        let source = Source::new("t.toml", TEXT);
        source.key_path(TEXT.find(needle).unwrap())
    }

    #[test]
    fn lines_count_from_one() {
        let source = Source::new("t.toml", TEXT);
        assert_eq!(source.line(0), 1);
        assert_eq!(source.line(TEXT.find("interfaces").unwrap()), 2);
        assert_eq!(source.line(TEXT.find("id = 2").unwrap()), 7);
        assert_eq!(source.line(usize::MAX), TEXT.lines().count() + 1);
    }

    #[test]
    fn innermost_key_paths() {
        assert_eq!(path_at("interfaces").as_deref(), Some("server.interfaces"));
        assert_eq!(path_at("\"b\"").as_deref(), Some("server.interfaces[1]"));
        assert_eq!(path_at("id = 2").as_deref(), Some("subnet[1].id"));
        assert_eq!(path_at("2\npd").as_deref(), Some("subnet[1].id"));
        assert_eq!(
            path_at("\"y\"").as_deref(),
            Some("subnet[1].pd-pools[1].prefix")
        );
        assert_eq!(
            path_at("{ prefix = \"y").as_deref(),
            Some("subnet[1].pd-pools[1]")
        );
    }

    #[test]
    fn invalid_toml_still_has_lines() {
        let source = Source::new("t.toml", "a = \n");
        assert_eq!(source.key_path(0), None);
        assert_eq!(source.line(4), 1);
    }

    #[test]
    fn missing_field_names() {
        assert_eq!(missing_field("missing field `path`"), Some("path"));
        assert_eq!(missing_field("unknown field `path`"), None);
    }
}
