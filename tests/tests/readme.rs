//! The README's usage example is `core/examples/quickstart.rs` (compiled by `cargo test`): this
//! test keeps the README's code block identical to the example between its README markers.

#[test]
fn readme_example_matches_core_examples_quickstart() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example = std::fs::read_to_string(format!("{root}/core/examples/quickstart.rs"))
        .expect("quickstart.rs");
    let begin = example
        .find("// README-BEGIN\n")
        .expect("README-BEGIN marker")
        + "// README-BEGIN\n".len();
    let end = example
        .find("    // README-END")
        .expect("README-END marker");
    let from_example: String = example[begin..end]
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let block_start =
        readme.find("```rust\n").expect("a rust block in README.md") + "```rust\n".len();
    let block_end = block_start
        + readme[block_start..]
            .find("```\n")
            .expect("end of the rust block");
    assert_eq!(
        &readme[block_start..block_end],
        from_example,
        "README.md and core/examples/quickstart.rs differ"
    );
}
