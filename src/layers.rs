//! The folders of `src/` import only downward: no circle of imports spans two of them. This
//! test reads the sources (outside their test modules) for `crate::<folder>` paths and fails
//! naming the circle and the files that close it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// folder → folder it imports → files that do.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The folder (or single-file module) a source file belongs to.
fn layer_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main" | "layers")).then(|| name.to_owned())
}

/// The folders a source names as `crate::<folder>`, its test module and comments left out.
fn imports(text: &str) -> BTreeSet<String> {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at]);
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    code.match_indices("crate::")
        .filter_map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (end > 0).then(|| rest[..end].to_owned())
        })
        .collect()
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let (Some(layer), Ok(text)) = (layer_of(src, &file), std::fs::read_to_string(&file)) else {
            continue;
        };
        let shown = file
            .strip_prefix(src)
            .unwrap_or(&file)
            .display()
            .to_string();
        for target in imports(&text).into_iter().filter(|t| *t != layer) {
            graph
                .entry(layer.clone())
                .or_default()
                .entry(target)
                .or_default()
                .insert(shown.clone());
        }
    }
    graph
}

/// A path from `from` back to `to` through the graph, if there is one.
fn path_back(
    graph: &Graph,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if from == to {
        return Some(vec![to.to_owned()]);
    }
    if !seen.insert(from.to_owned()) {
        return None;
    }
    for next in graph.get(from).into_iter().flat_map(|t| t.keys()) {
        if let Some(mut rest) = path_back(graph, next, to, seen) {
            rest.insert(0, from.to_owned());
            return Some(rest);
        }
    }
    None
}

/// Every circle, as the folders on it with the files of each step.
fn circles(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    for (from, targets) in graph {
        for (to, files) in targets {
            if let Some(back) = path_back(graph, to, from, &mut BTreeSet::new()) {
                found.push(format!(
                    "{from} → {} (the first step by {})",
                    back.join(" → "),
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    found
}

#[test]
fn the_folders_of_src_import_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.len() > 10, "the sources were read: {graph:?}");
    let found = circles(&graph);
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn a_circle_is_found_and_named() {
    fn edge(graph: &mut Graph, a: &str, b: &str) {
        graph
            .entry(a.into())
            .or_default()
            .entry(b.into())
            .or_default()
            .insert(format!("{a}/x.rs"));
    }
    let mut graph = Graph::new();
    edge(&mut graph, "proxy", "format");
    edge(&mut graph, "usage", "proxy");
    assert!(circles(&graph).is_empty());
    edge(&mut graph, "format", "usage");
    let found = circles(&graph);
    assert!(
        found
            .iter()
            .any(|c| c.contains("format → usage → proxy → format")),
        "{found:?}"
    );
    assert_eq!(
        imports(
            "use crate::a::B;\nfn f() { crate::b::c(); }\n#[cfg(test)]\nmod tests { use crate::z; }"
        ),
        ["a".to_owned(), "b".to_owned()].into_iter().collect()
    );
}
