//! The architecture invariants of ARCHITECTURE.md, checked on the source tree: a change that
//! breaks one fails here instead of being noticed in a review.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                out.push((path, text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    walk(&root, &mut out);
    assert!(!out.is_empty(), "no source file under {}", root.display());
    out
}

/// The file's path relative to the crate, with `/` separators.
fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The code of a line: what comes before a `//` comment (doc comments included).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

/// `(file, line number, line)` of every code line of `files` that `offends`.
fn offending(files: &[(PathBuf, String)], offends: impl Fn(&str, &str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files {
        let file = relative(path);
        for (number, line) in text.lines().enumerate() {
            if offends(&file, code(line)) {
                found.push(format!("{file}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_domain_uses_no_other_module_of_the_crate() {
    let found = offending(&sources("src/domain"), |_, line| {
        let uses_crate = line.match_indices("crate::").any(|(at, _)| {
            !line[at..].starts_with("crate::domain") && !line[..at].ends_with("raas_")
        });
        uses_crate || line.contains("super::super") || line.contains("raas::")
    });
    assert!(
        found.is_empty(),
        "domain/ must import nothing but itself:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_domain_does_no_io() {
    let found = offending(&sources("src/domain"), |_, line| {
        [
            "std::fs",
            "std::net",
            "std::process",
            "diesel",
            "quick_xml",
            "actix",
            "tokio",
        ]
        .iter()
        .any(|forbidden| line.contains(forbidden))
    });
    assert!(
        found.is_empty(),
        "domain/ is pure: no files, network, SQL, XML or runtime:\n{}",
        found.join("\n")
    );
}

#[test]
fn diesel_appears_only_in_the_store() {
    let found = offending(&sources("src"), |file, line| {
        !file.starts_with("src/store/") && line.contains("diesel")
    });
    assert!(
        found.is_empty(),
        "only store/ speaks SQL (diesel's types included: store functions map their errors):\n{}",
        found.join("\n")
    );
}

#[test]
fn sql_text_appears_only_in_the_store() {
    let statements = [
        "SELECT ",
        "INSERT INTO",
        "UPDATE ",
        "DELETE FROM",
        "PRAGMA ",
    ];
    let found = offending(&sources("src"), |file, line| {
        !file.starts_with("src/store/")
            && line.contains('"')
            && statements.iter().any(|s| line.contains(s))
    });
    assert!(
        found.is_empty(),
        "SQL statements belong in store/:\n{}",
        found.join("\n")
    );
}

/// The public functions of a store file that write its tables.
fn writers(store_file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(store_file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut writers = Vec::new();
    // Each `pub fn` up to the next one is its body (enough for these flat files).
    let parts: Vec<&str> = text.split("\npub fn ").collect();
    for part in parts.iter().skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let writes = ["insert_into", "diesel::update", "diesel::delete", "COPY "]
            .iter()
            .any(|w| part.contains(w));
        if writes {
            writers.push(name);
        }
    }
    writers
}

#[test]
fn register_tables_are_written_only_by_the_use_cases() {
    let writers = writers("src/store/relation.rs");
    assert!(
        writers.iter().any(|w| w == "replace_lines"),
        "the register's writers were not found in src/store/relation.rs: {writers:?}"
    );
    let found = offending(&sources("src"), |file, line| {
        !file.starts_with("src/service/")
            && !file.starts_with("src/store/")
            && writers
                .iter()
                .any(|w| line.contains(&format!("relation::{w}")))
    });
    assert!(
        found.is_empty(),
        "register lines are written only through service/, which records the call:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_soap_knows_the_services_xml() {
    let found = offending(&sources("src/service"), |_, line| {
        line.contains("crate::soap") || line.contains("crate::xml") || line.contains("quick_xml")
    });
    assert!(
        found.is_empty(),
        "service/ knows nothing of SOAP or XML:\n{}",
        found.join("\n")
    );
    let found = offending(&sources("src/service"), |_, line| line.contains("actix"));
    assert!(
        found.is_empty(),
        "service/ knows nothing of HTTP:\n{}",
        found.join("\n")
    );
}
