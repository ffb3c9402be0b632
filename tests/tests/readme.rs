//! Every Rust block of the README is a file in `core/examples/` (compiled by `cargo test`): the
//! block is preceded by `<!-- example: PATH -->`, and this test keeps it identical to the code
//! between the file's `// README-BEGIN` and `// README-END` markers.

#[test]
fn readme_examples_match_core_examples() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let mut checked = 0;
    let mut rest = readme.as_str();
    while let Some(at) = rest.find("<!-- example: ") {
        rest = &rest[at + "<!-- example: ".len()..];
        let path = &rest[..rest.find(" -->").expect("closing -->")];
        let start = rest
            .find("```rust\n")
            .expect("a rust block after the marker")
            + "```rust\n".len();
        let end = start + rest[start..].find("```\n").expect("end of the rust block");
        let block = &rest[start..end];
        let example = std::fs::read_to_string(format!("{root}/{path}"))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let begin = example
            .find("// README-BEGIN\n")
            .expect("README-BEGIN marker")
            + "// README-BEGIN\n".len();
        let stop = example
            .find("    // README-END")
            .expect("README-END marker");
        let from_example: String = example[begin..stop]
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
            .collect();
        assert_eq!(block, from_example, "README.md and {path} differ");
        checked += 1;
        rest = &rest[end..];
    }
    let blocks = readme.matches("```rust\n").count();
    assert_eq!(
        checked, blocks,
        "every rust block of the README must name its example file"
    );
    assert!(checked >= 2);
}
