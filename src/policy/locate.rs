//! Finding where a field lives in a YAML file. serde_norway reports a line for parse errors,
//! but checks made after parsing (ranges, cross-field rules) only know the field's path; this
//! maps a path such as `fanout.high.max_workers` or `roles.lead.tools[2]` back to its line so
//! every profile error can point at the exact place to fix.

/// One step of a field path.
#[derive(Debug, PartialEq, Eq)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

/// A content line: its 1-based number, the column where its content starts (after any `- `
/// sequence markers) and that content.
struct Line<'a> {
    no: usize,
    indent: usize,
    dash: bool,
    text: &'a str,
}

fn content_lines(src: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for (i, raw) in src.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let mut indent = raw.len() - trimmed.len();
        let mut text = trimmed;
        let mut dash = false;
        while let Some(rest) = text.strip_prefix("- ") {
            dash = true;
            let rest_trim = rest.trim_start();
            indent += text.len() - rest_trim.len();
            text = rest_trim;
        }
        if text == "-" {
            dash = true;
        }
        out.push(Line {
            no: i + 1,
            indent,
            dash,
            text,
        });
    }
    out
}

fn key_of(text: &str) -> Option<&str> {
    let (key, _) = text.split_once(':')?;
    let key = key.trim();
    Some(key.trim_matches(|c| c == '"' || c == '\''))
}

/// Whether `line` holds `key:` inside a flow mapping (`{ key: v }`) or as its own key.
fn mentions_key(text: &str, key: &str) -> bool {
    text.split(['{', ',', ' ']).any(|w| {
        w.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

/// The 1-based line of the field at `path` in `src`, or of its deepest ancestor that exists
/// there; `None` when not even the first key is in the file.
pub fn line_of(src: &str, path: &str) -> Option<usize> {
    let lines = content_lines(src);
    let segs = segments(path);
    // The block being searched: lines[start..], children deeper than `parent_indent`.
    let mut start = 0usize;
    let mut parent_indent: Option<usize> = None;
    let mut best: Option<usize> = None;
    let mut current: Option<usize> = None; // index into `lines` of the last match
    for seg in segs {
        let in_scope = |l: &Line<'_>| parent_indent.is_none_or(|p| l.indent > p);
        let mut found = None;
        let mut child_indent = None;
        let mut count = 0usize;
        for (j, l) in lines.iter().enumerate().skip(start) {
            if !in_scope(l) {
                break;
            }
            let ci = *child_indent.get_or_insert(l.indent);
            if l.indent != ci {
                continue;
            }
            match seg {
                Seg::Key(k) => {
                    if key_of(l.text) == Some(k) {
                        found = Some(j);
                        break;
                    }
                }
                Seg::Index(i) => {
                    if l.dash {
                        if count == i {
                            found = Some(j);
                            break;
                        }
                        count += 1;
                    }
                }
            }
        }
        match found {
            Some(j) => {
                best = Some(lines[j].no);
                current = Some(j);
                parent_indent = Some(match seg {
                    // Keys of a mapping item start on the dash line at the item's indent.
                    Seg::Index(_) => lines[j].indent.saturating_sub(1),
                    Seg::Key(_) => lines[j].indent,
                });
                start = match seg {
                    Seg::Index(_) => j,
                    Seg::Key(_) => j + 1,
                };
            }
            None => {
                // A flow collection on the parent's own line (`high: { max_workers: 7 }`,
                // `tools: [a, b]`): that line is the answer.
                if let (Some(j), Seg::Key(k)) = (current, &seg)
                    && mentions_key(lines[j].text, k)
                {
                    return Some(lines[j].no);
                }
                return best;
            }
        }
    }
    best
}

/// The parts of a serde_norway error: field path (if it names one), 1-based line, and the
/// message without serde's own path prefix and position suffix.
pub fn split_serde_error(
    err: &serde_norway::Error,
    src: &str,
) -> (Option<String>, Option<usize>, String) {
    let mut line = err.location().map(|l| l.line());
    let mut text = err.to_string();
    if let Some(loc) = err.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = text.strip_suffix(&suffix) {
            text = stripped.to_string();
        }
    }
    // serde_norway prefixes messages with the path of the value (`a.b[1]: ...`).
    let mut path: Option<String> = None;
    if let Some((head, rest)) = text.split_once(": ")
        && !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-' | '?'))
    {
        path = Some(head.to_string());
        text = rest.to_string();
    }
    // An unknown or missing key belongs to the field it names, not to its parent mapping.
    for marker in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(rest) = text.strip_prefix(marker)
            && let Some((name, _)) = rest.split_once('`')
        {
            let full = match path {
                Some(p) => format!("{p}.{name}"),
                None => name.to_string(),
            };
            // serde points a duplicate at its mapping; the second occurrence is the one to fix.
            if marker.starts_with("duplicate")
                && let Some(second) = second_occurrence(src, &full)
            {
                line = Some(second);
            }
            path = Some(full);
        }
    }
    // A syntax error has no path: name the key on the line it points at, if any.
    if path.is_none()
        && let Some(n) = line
    {
        path = path_at_line(src, n);
    }
    (path, line, text)
}

/// The 1-based line of the second definition of the key at `path` (a duplicate key).
fn second_occurrence(src: &str, path: &str) -> Option<usize> {
    let first = line_of(src, path)?;
    let lines = content_lines(src);
    let at = lines.iter().position(|l| l.no == first)?;
    let (indent, key) = (lines[at].indent, key_of(lines[at].text)?);
    lines[at + 1..]
        .iter()
        .take_while(|l| l.indent >= indent)
        .find(|l| l.indent == indent && key_of(l.text) == Some(key))
        .map(|l| l.no)
}

/// The dotted path of the key defined on 1-based line `n`, from indentation.
pub fn path_at_line(src: &str, n: usize) -> Option<String> {
    let lines = content_lines(src);
    let pos = lines.iter().rposition(|l| l.no <= n)?;
    let mut chain = Vec::new();
    let mut indent = usize::MAX;
    for l in lines[..=pos].iter().rev() {
        if l.indent < indent
            && let Some(k) = key_of(l.text)
            && !k.is_empty()
            && !k.contains(' ')
        {
            chain.push(k.to_string());
            indent = l.indent;
            if indent == 0 {
                break;
            }
        }
    }
    if chain.is_empty() {
        return None;
    }
    chain.reverse();
    Some(chain.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "\
# a profile
name: x
fanout:
  small:
    max_workers: 2
  high:
    min_workers: 5   # comment
    max_workers: 7
  medium: { min_workers: 3, max_workers: 4 }
roles:
  lead:
    tools:
      - team_wait
      - team_fly
  tester:
    tools: [team_wait, team_fly]
list:
  - name: a
    v: 1
  - name: b
    v: 2
";

    #[test]
    fn finds_the_line_of_a_path() {
        let cases: &[(&str, Option<usize>)] = &[
            ("name", Some(2)),
            ("fanout", Some(3)),
            ("fanout.small.max_workers", Some(5)),
            ("fanout.high.max_workers", Some(8)),
            ("fanout.high.min_workers", Some(7)),
            ("fanout.medium.max_workers", Some(9)),
            ("roles.lead.tools[1]", Some(14)),
            ("roles.lead.tools[0]", Some(13)),
            ("roles.tester.tools[1]", Some(16)),
            ("list[1].v", Some(21)),
            ("list[0].name", Some(18)),
            ("list[1]", Some(20)),
            // Missing leaves fall back to their deepest existing ancestor.
            ("fanout.high.min_ready", Some(6)),
            ("fanout.large", Some(3)),
            ("nothing", None),
        ];
        for (path, want) in cases {
            assert_eq!(line_of(SRC, path), *want, "{path}");
        }
    }

    #[test]
    fn names_the_key_on_a_line() {
        assert_eq!(
            path_at_line(SRC, 8).as_deref(),
            Some("fanout.high.max_workers")
        );
        assert_eq!(path_at_line(SRC, 2).as_deref(), Some("name"));
        assert_eq!(path_at_line(SRC, 16).as_deref(), Some("roles.tester.tools"));
    }
}
