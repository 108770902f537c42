//! The README's crate map names exactly the workspace members, so it cannot drift from the
//! tree (house style §13).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Paths in the `members = [...]` list of the root Cargo.toml.
fn workspace_members(manifest: &str) -> BTreeSet<String> {
    let start = manifest.find("members = [").expect("a members list");
    let list = &manifest[start..];
    let end = list.find(']').expect("the members list ends");
    list[..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Paths in the first column of the README's crate map table.
fn readme_paths(readme: &str) -> BTreeSet<String> {
    let section = readme
        .split("## Crate map")
        .nth(1)
        .expect("a Crate map section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn readme_crate_map_matches_the_workspace() {
    let members = workspace_members(&fs::read_to_string(root().join("Cargo.toml")).unwrap());
    let readme = readme_paths(&fs::read_to_string(root().join("README.md")).unwrap());
    assert!(members.len() >= 8, "parsed too few members: {members:?}");
    assert_eq!(readme, members, "README crate map vs workspace members");
}

#[test]
fn the_parsers_see_what_they_should() {
    let manifest = "[workspace]\nmembers = [\n    \"a/b\",\n    \"c\",\n]\n";
    assert_eq!(
        workspace_members(manifest),
        ["a/b", "c"].map(String::from).into()
    );
    let readme =
        "## Crate map\n\n| path | crate |\n|---|---|\n| `a/b` | `x` |\n\n## Next\n| `z` | `y` |\n";
    assert_eq!(readme_paths(readme), ["a/b"].map(String::from).into());
}
