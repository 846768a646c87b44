//! The web UI is a door of its own: its pages call the application layer, never the REST
//! API's handlers, and never pretend to be an API caller. Reading `src/`, this test finds
//! every handler (a function under `#[utoipa::path]`) and fails if UI code names one, or
//! builds the API's `Caller` extractor.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The names of the functions declared right after a `#[utoipa::path(…)]` attribute.
fn handlers(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("#[utoipa::path") {
        let rest = &text[i..];
        if let Some(at) = rest.find("async fn ") {
            let name: String = rest[at + "async fn ".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

/// Every name a file imports from `crate::api` (through `use`) or names by a path into
/// it (`api::module::name`).
fn api_names(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("api::") {
        let mut rest = &text[i + "api::".len()..];
        // Walk down the path: `schedules::{a, b}` or `maintenance::create`.
        loop {
            let head = ident(rest);
            let after = &rest[head.len()..];
            if let Some(deeper) = after.strip_prefix("::") {
                if let Some(group) = deeper.strip_prefix('{') {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    for item in group.split(',') {
                        let item = item.trim();
                        let name = ident(item.rsplit("::").next().unwrap_or(item));
                        out.insert(name);
                    }
                    break;
                }
                rest = deeper;
                continue;
            }
            out.insert(head);
            break;
        }
    }
    out
}

#[test]
fn ui_code_names_no_api_handler_and_fakes_no_caller() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all_handlers = BTreeSet::new();
    for file in rust_files(&src) {
        all_handlers.extend(handlers(&std::fs::read_to_string(&file).unwrap()));
    }
    assert!(
        ["create_service", "acknowledge", "add_override", "enqueue"]
            .iter()
            .all(|h| all_handlers.contains(*h)),
        "the handlers were found: {all_handlers:?}"
    );
    let mut problems = Vec::new();
    for file in rust_files(&src.join("ui")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let named: Vec<String> = api_names(&text)
            .intersection(&all_handlers)
            .cloned()
            .collect();
        if !named.is_empty() {
            problems.push(format!("{} names API handlers {named:?}", file.display()));
        }
        if text.contains("Caller(") || text.contains("api::Caller") {
            problems.push(format!("{} builds the API's Caller", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_finds_a_handler_named_from_ui_code() {
    let api =
        "/// Create.\n#[utoipa::path(post, path = \"/x\")]\npub(crate) async fn create_thing(\n";
    assert_eq!(handlers(api), BTreeSet::from(["create_thing".to_owned()]));
    let ui =
        "use crate::api::things::{ThingBody, create_thing};\nlet v = crate::api::other::view(&s);";
    let names = api_names(ui);
    assert!(
        names.contains("create_thing") && names.contains("view"),
        "{names:?}"
    );
    assert!(names.contains("ThingBody"));
}
