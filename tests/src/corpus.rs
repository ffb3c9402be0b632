//! Replaying a committed fuzz corpus from `cargo test`.

use std::fs;
use std::path::PathBuf;

/// Runs `body` on every file of `fuzz/corpus/<target>/`, in name order, and returns how many
/// there were. Fails if the directory is missing or empty, so a corpus cannot vanish silently.
pub fn replay(target: &str, body: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    for path in &files {
        let data = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        eprintln!("{target}: {} ({} bytes)", path.display(), data.len());
        body(&data);
    }
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    files.len()
}
