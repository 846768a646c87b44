//! Reading documents: YAML (marked-yaml, which keeps every node's line), the document's
//! shape, then [`check`]; every problem with its file, line and field. A folder of files
//! (one per kind, say) reads as one document.

use super::{ConfigDoc, Known, MAX_BYTES, VERSION, check};

/// A document that cannot be used, with where: the file (when several are read), the
/// line (from 1) when known, and the field as a path
/// (`schedules[0].layers[1].participants[2]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}{}{}{message}",
    file.as_ref().map(|f| format!("{f}: ")).unwrap_or_default(),
    line.map(|l| format!("line {l}: ")).unwrap_or_default(),
    if path.is_empty() { String::new() } else { format!("{path}: ") }
)]
pub struct DocError {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub path: String,
    pub message: String,
}

impl DocError {
    fn at(line: Option<usize>, path: String, message: String) -> DocError {
        DocError {
            file: None,
            line,
            path,
            message,
        }
    }
}

/// Reads a document: its YAML, its shape, then [`check`] against what exists outside it
/// (`known`). Every problem found is returned, each with its line and field; nothing is
/// half-read.
pub fn read(text: &str, known: &Known) -> Result<ConfigDoc, Vec<DocError>> {
    let (doc, node) = parse(text)?;
    let errors = check(&doc, known);
    if errors.is_empty() {
        return Ok(doc);
    }
    Err(errors
        .into_iter()
        .map(|(path, message)| DocError::at(line_of(&node, &path), path, message))
        .collect())
}

/// Reads several files (`name`, text) as one document: their lists joined in the order
/// given. Each problem names its file, and its line and field there.
pub fn read_files(files: &[(String, String)], known: &Known) -> Result<ConfigDoc, Vec<DocError>> {
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in files {
        match parse(text) {
            Ok(found) => parsed.push((name, found)),
            Err(found) => errors.extend(found.into_iter().map(|e| DocError {
                file: Some(name.clone()),
                ..e
            })),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Where each joined entry came from: its list, file and place there.
    let mut merged = ConfigDoc {
        version: VERSION,
        ..ConfigDoc::default()
    };
    let mut origins: Vec<(&'static str, usize, usize)> = Vec::new();
    for (f, (_, (doc, _))) in parsed.iter().enumerate() {
        let lists: [(&'static str, usize); 6] = [
            ("users", doc.users.len()),
            ("teams", doc.teams.len()),
            ("schedules", doc.schedules.len()),
            ("escalation_policies", doc.escalation_policies.len()),
            ("services", doc.services.len()),
            ("status_pages", doc.status_pages.len()),
        ];
        for (list, len) in lists {
            origins.extend((0..len).map(|i| (list, f, i)));
        }
        merged.users.extend(doc.users.iter().cloned());
        merged.teams.extend(doc.teams.iter().cloned());
        merged.schedules.extend(doc.schedules.iter().cloned());
        merged
            .escalation_policies
            .extend(doc.escalation_policies.iter().cloned());
        merged.services.extend(doc.services.iter().cloned());
        merged.status_pages.extend(doc.status_pages.iter().cloned());
    }
    let problems = check(&merged, known);
    if problems.is_empty() {
        return Ok(merged);
    }
    Err(problems
        .into_iter()
        .map(|(path, message)| {
            // `users[7].email` in the joined document is `users[2].email` in its file.
            let (list, rest) = path.split_once('[').unwrap_or((path.as_str(), ""));
            let index = rest
                .split_once(']')
                .and_then(|(i, _)| i.parse::<usize>().ok());
            let origin = index.and_then(|i| {
                origins
                    .iter()
                    .filter(|(l, _, _)| *l == list)
                    .nth(i)
                    .copied()
            });
            match origin {
                Some((_, f, local)) => {
                    let (name, (_, node)) = &parsed[f];
                    let tail = rest.split_once(']').map_or("", |(_, t)| t);
                    let path = format!("{list}[{local}]{tail}");
                    DocError {
                        file: Some((*name).clone()),
                        line: line_of(node, &path),
                        path,
                        message,
                    }
                }
                None => DocError::at(None, path, message),
            }
        })
        .collect())
}

/// A document's YAML and shape only, without [`check`]: for splitting onduty's own
/// export into files.
pub fn parse_only(text: &str) -> Result<ConfigDoc, Vec<DocError>> {
    parse(text).map(|(doc, _)| doc)
}

/// Deepest nesting read (a deeper document could exhaust the reader's stack).
const MAX_DEPTH: usize = 64;

/// How deep a block document nests, about: indentation and sequence dashes per line.
fn depth(text: &str) -> usize {
    text.lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let dashes = line
                .trim_start()
                .split_inclusive(' ')
                .take_while(|w| w.trim() == "-")
                .count();
            indent / 2 + dashes
        })
        .max()
        .unwrap_or(0)
}

/// One text's YAML and shape, with the nodes that say where everything is.
fn parse(text: &str) -> Result<(ConfigDoc, marked_yaml::Node), Vec<DocError>> {
    if text.len() > MAX_BYTES {
        return Err(vec![DocError::at(
            None,
            String::new(),
            format!("the document is larger than {} MB", MAX_BYTES / 1024 / 1024),
        )]);
    }
    if depth(text) > MAX_DEPTH {
        return Err(vec![DocError::at(
            None,
            String::new(),
            format!("the document nests deeper than {MAX_DEPTH} levels"),
        )]);
    }
    let options = marked_yaml::LoaderOptions::default().error_on_duplicate_keys(true);
    let node = marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| {
        vec![DocError::at(
            load_error_line(&e),
            String::new(),
            format!("not YAML onduty can read: {e}"),
        )]
    })?;
    let doc: ConfigDoc = marked_yaml::from_node(&node).map_err(|e| {
        let path = e
            .path()
            .unwrap_or_default()
            .trim_start_matches('.')
            .to_owned();
        let mark = e.start_mark().map(|m| m.line());
        // The field's own line when it is there (an unknown one), else where the reader
        // stopped.
        let line = line_of(&node, &path).max(mark);
        vec![DocError::at(line, path, e.into_inner().to_string())]
    })?;
    if doc.version != VERSION {
        return Err(vec![DocError::at(
            line_of(&node, "version"),
            "version".to_owned(),
            format!("this onduty reads version {VERSION}"),
        )]);
    }
    Ok((doc, node))
}

fn load_error_line(e: &marked_yaml::LoadError) -> Option<usize> {
    use marked_yaml::LoadError::*;
    match e {
        TopLevelMustBeMapping(m)
        | TopLevelMustBeSequence(m)
        | UnexpectedAnchor(m)
        | MappingKeyMustBeScalar(m)
        | UnexpectedTag(m)
        | ScanError(m, _) => Some(m.line()),
        DuplicateKey(inner) => inner.key.span().start().map(|m| m.line()),
    }
}

/// The line of the node at `path` (`a[0].b`), or of its nearest ancestor found.
fn line_of(root: &marked_yaml::Node, path: &str) -> Option<usize> {
    let mut node = root;
    let mut line = root.span().start().map(|m| m.line());
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            node = match node.as_mapping().and_then(|m| m.get_node(key)) {
                Some(n) => n,
                None => return line,
            };
            line = node.span().start().map(|m| m.line()).or(line);
        }
        for index in indexes
            .split(['[', ']'])
            .filter(|i| !i.is_empty())
            .filter_map(|i| i.parse::<usize>().ok())
        {
            node = match node.as_sequence().and_then(|s| s.get_node(index)) {
                Some(n) => n,
                None => return line,
            };
            line = node.span().start().map(|m| m.line()).or(line);
        }
    }
    line
}
