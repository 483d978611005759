//! The book names tests; these tests keep it honest. `docs/rfc-conformance.md`
//! maps every RFC requirement to the test that proves it, as
//! `path/to/file.rs::test_name`: every such test must exist (the file, and a
//! `fn` of that name marked as a test), every row must name one or say
//! "not tested", and the summary table must count the rows as they are.
//! Elsewhere in `README.md` and `docs/`, every `path.rs::name` reference must
//! still name an existing function.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The repository root (this package lives in `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package is inside the workspace")
        .to_owned()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A reference to a function: `path/to/file.rs::name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct FnRef {
    path: String,
    name: String,
}

/// Every backticked `path.rs::name` in `text`.
fn fn_refs(text: &str) -> Vec<FnRef> {
    let mut refs = Vec::new();
    for (index, quoted) in text.split('`').enumerate() {
        // Odd pieces are inside backticks.
        if index % 2 == 0 {
            continue;
        }
        let Some((path, name)) = quoted.split_once(".rs::") else { continue };
        let plausible = |s: &str, extra: &[char]| {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c))
        };
        if plausible(path, &['/', '-', '.']) && plausible(name, &[]) {
            refs.push(FnRef { path: format!("{path}.rs"), name: name.to_owned() });
        }
    }
    refs
}

/// `text` without its fenced code blocks (whose backticks are not inline
/// code), so that inline code spans pair up.
fn prose(text: &str) -> String {
    let mut inside = false;
    let mut kept = String::with_capacity(text.len());
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
            continue;
        }
        if !inside {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// Where `fn name(` is declared in the file's text, as line indices.
fn declarations(text: &str, name: &str) -> Vec<usize> {
    let needle = format!("fn {name}(");
    let generic = format!("fn {name}<");
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains(&needle) || line.contains(&generic))
        .map(|(index, _)| index)
        .collect()
}

/// Whether the function declared at `line` carries a test attribute
/// (`#[test]`, `#[tokio::test]`, `#[actix_web::test]`, …) among the
/// attributes and doc comments right above it.
fn is_test(lines: &[&str], line: usize) -> bool {
    let mut index = line;
    while index > 0 {
        index -= 1;
        let above = lines[index].trim();
        if above.starts_with("#[") {
            if above.contains("test") {
                return true;
            }
        } else if !(above.starts_with("///") || above.starts_with("//")) {
            return false;
        }
    }
    false
}

/// Problems with `refs`, each a line of the failure message.
fn check(refs: &[FnRef], must_be_tests: bool) -> Vec<String> {
    let mut problems = Vec::new();
    for r in refs {
        let path = root().join(&r.path);
        let Ok(text) = fs::read_to_string(&path) else {
            problems.push(format!("`{}::{}`: no file {}", r.path, r.name, r.path));
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let found = declarations(&text, &r.name);
        if found.is_empty() {
            problems.push(format!("`{}::{}`: no `fn {}` in {}", r.path, r.name, r.name, r.path));
        } else if must_be_tests && !found.iter().any(|&line| is_test(&lines, line)) {
            problems.push(format!("`{}::{}`: `fn {}` is not marked as a test", r.path, r.name, r.name));
        }
    }
    problems
}

/// One requirement row of the map: its RFC, its text, and its test cell.
struct Row {
    rfc: String,
    line: String,
    tests: String,
}

/// The requirement rows of `docs/rfc-conformance.md`, section by section
/// (`## RFC NNNN: …`), without header and separator rows.
fn requirement_rows(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut rfc: Option<String> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            rfc = heading
                .strip_prefix("RFC ")
                .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect());
            continue;
        }
        let Some(rfc) = &rfc else { continue };
        if !line.starts_with("| ") || line.starts_with("| § ") || line.starts_with("| ---") {
            continue;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").map(str::trim).collect();
        let tests = cells.last().copied().unwrap_or_default().to_owned();
        rows.push(Row { rfc: rfc.clone(), line: line.to_owned(), tests });
    }
    rows
}

#[test]
fn every_test_named_in_the_rfc_conformance_map_exists() {
    let text = read("docs/rfc-conformance.md");
    let rows = requirement_rows(&text);
    assert!(rows.len() >= 100, "only {} requirement rows found: is the table still parsed?", rows.len());

    let mut problems = Vec::new();
    let mut refs = Vec::new();
    for row in &rows {
        let named = fn_refs(&row.tests);
        if row.tests != "not tested" && named.is_empty() {
            problems.push(format!("a row names no test and does not say \"not tested\": {}", row.line));
        }
        if row.tests != "not tested" {
            let listed = row.tests.split(", ").count();
            if listed != named.len() {
                problems.push(format!(
                    "a test cell holds something else than `path.rs::name` items: {}",
                    row.line
                ));
            }
        }
        refs.extend(named);
    }
    refs.sort();
    refs.dedup();
    assert!(refs.len() >= 80, "only {} distinct tests named", refs.len());
    problems.extend(check(&refs, true));
    assert!(problems.is_empty(), "docs/rfc-conformance.md is stale:\n{}", problems.join("\n"));
}

#[test]
fn the_summary_counts_the_rows_as_they_are() {
    let text = read("docs/rfc-conformance.md");
    let mut counted: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for row in requirement_rows(&text) {
        let entry = counted.entry(row.rfc).or_default();
        if row.tests == "not tested" {
            entry.1 += 1;
        } else {
            entry.0 += 1;
        }
    }
    let expected =
        ["6750", "7515", "7517", "7518", "7519", "7638", "8414", "8725", "9068", "9449", "7662", "9728"];
    for rfc in expected {
        assert!(counted.contains_key(rfc), "no section for RFC {rfc}");
    }
    // Summary rows: `| [NNNN](#anchor) Title | rows | tested | not tested |`.
    let mut summarised = 0;
    for line in text.lines().filter(|line| line.starts_with("| [")) {
        let rfc: String = line[3..].chars().take_while(char::is_ascii_digit).collect();
        let numbers: Vec<usize> = line
            .trim()
            .trim_matches('|')
            .split(" | ")
            .skip(1)
            .map(|n| n.trim().parse().expect(line))
            .collect();
        let (tested, untested) =
            counted.get(&rfc).copied().unwrap_or_else(|| panic!("no section for {line}"));
        assert_eq!(
            numbers,
            [tested + untested, tested, untested],
            "summary row of RFC {rfc} is stale: {line}"
        );
        summarised += 1;
    }
    assert_eq!(summarised, expected.len(), "the summary lists every RFC once");
}

#[test]
fn every_function_named_in_the_book_exists() {
    let mut pages = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("a docs/ entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    pages.extend(docs);
    let mut problems = Vec::new();
    for page in &pages {
        let refs = fn_refs(&prose(&read(page)));
        problems.extend(check(&refs, false).into_iter().map(|problem| format!("{page}: {problem}")));
    }
    assert!(problems.is_empty(), "the book names functions that do not exist:\n{}", problems.join("\n"));
}
