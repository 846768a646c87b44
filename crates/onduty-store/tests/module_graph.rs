//! The store's modules import each other without cycles: reading `src/`, every
//! `crate::<module>` a module names is an edge, and the graph must have no cycle.
//! (`lib.rs` is the root every module may use: `Store`, `StoreError`, `begin`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → the modules it names, from the sources in `dir`.
fn graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            modules.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .filter(|(name, _)| name.as_str() != "lib")
        .map(|(name, text)| {
            let used = named_modules(text)
                .into_iter()
                .filter(|m| m != name && m != "lib" && names.contains(m))
                .collect();
            (name.clone(), used)
        })
        .collect()
}

/// Every `crate::x` in `text`, and every `x::` at the top of a `use crate::{…}` group.
fn named_modules(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 && c == ',' {
                    item.clear();
                    continue;
                }
                item.push(c);
                if depth == 0 && item.trim_start().contains("::") {
                    out.insert(ident(item.trim_start()));
                    item = String::from("\u{0}");
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// A cycle in `graph`, if there is one (as the modules on it).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(found) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(found);
        }
    }
    None
}

#[test]
fn the_store_modules_import_each_other_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.len() > 10, "the store's modules were read: {graph:?}");
    assert!(
        graph["commands"].contains("effects"),
        "edges are found: {graph:?}"
    );
    if let Some(found) = cycle(&graph) {
        panic!(
            "store modules import each other in a cycle: {}",
            found.join(" → ")
        );
    }
}

#[test]
fn a_cycle_is_found() {
    let named = named_modules(
        "use crate::effects::{a, b};\nuse crate::{Store, rows::{x, y}, sql::Val};\nfn f() { crate::paging::g() }",
    );
    assert_eq!(
        named,
        ["effects", "paging", "rows", "sql"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    g.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    g.insert("c".to_owned(), BTreeSet::new());
    assert_eq!(cycle(&g), None);
}
