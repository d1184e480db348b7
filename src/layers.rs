//! The layer rule, checked: the core never names a front-end, and the
//! front-ends never open a table (ARCHITECTURE.md, "Layers").

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The front-ends: they parse, call the core and render (the jobs are
    /// the front-end of the clock).
    const FRONT_ENDS: [&str; 3] = ["web", "bot", "jobs"];

    /// What the core must never name.
    const FRONT_END_NAMES: [&str; 10] =
        ["axum", "maud", "tower", "teloxide", "crate::web", "crate::bot", "utoipa::path", "IntoParams", "utoipa::openapi", "OpenApi"];

    /// What a front-end must never touch: the store's tables and transactions.
    const STORAGE: [&str; 9] =
        ["open_table", ".open(&tx)", ".open(tx)", ".read()?", "db.read()", ".write(move", "redb::", "WriteTransaction", "ReadTransaction"];

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Code lines: comments and the file's own test module left out.
    fn code(path: &Path) -> Vec<(usize, String)> {
        let text = std::fs::read_to_string(path).unwrap();
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            out.push((i + 1, line.to_string()));
        }
        out
    }

    fn layer_of(src: &Path, path: &Path) -> &'static str {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
        if FRONT_ENDS.contains(&first.as_str()) {
            "front-end"
        } else if first == "main.rs" || first == "layers.rs" {
            "entry"
        } else {
            "core"
        }
    }

    fn violations() -> Vec<String> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut bad = Vec::new();
        for f in &files {
            let words: &[&str] = match layer_of(&src, f) {
                "core" => &FRONT_END_NAMES,
                "front-end" => &STORAGE,
                _ => continue,
            };
            for (n, line) in code(f) {
                for w in words {
                    if line.contains(w) {
                        bad.push(format!("{}:{n}: names `{w}`: {}", f.strip_prefix(&src).unwrap().display(), line.trim()));
                    }
                }
            }
        }
        bad
    }

    #[test]
    fn the_core_names_no_front_end_and_front_ends_open_no_table() {
        let bad = violations();
        assert!(bad.is_empty(), "layer rule broken ({} places):\n{}", bad.len(), bad.join("\n"));
    }

    #[test]
    fn the_check_sees_a_violation() {
        // The rule would be worthless if it could not see anything.
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        assert_eq!(layer_of(&src, &src.join("tasks/service.rs")), "core");
        assert_eq!(layer_of(&src, &src.join("web/pages/tasks.rs")), "front-end");
        assert!(FRONT_END_NAMES.iter().any(|w| "use axum::Router;".contains(w)));
        assert!(STORAGE.iter().any(|w| "let t = tx.open_table(TASKS)?;".contains(w)));
    }
}
