//! The committed man pages must equal what the clap definitions generate.
//! Regenerate with `RK_UPDATE_MAN=1 cargo test --test cli man_pages`.

use std::path::Path;

#[test]
fn man_pages_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = rk::cli::man::pages();
    if std::env::var_os("RK_UPDATE_MAN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            std::fs::remove_file(entry.path()).unwrap();
        }
        for (name, bytes) in &pages {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (name, bytes) in &pages {
        if std::fs::read(dir.join(name)).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(name.clone());
        }
    }
    let mut committed: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    committed.retain(|n| !pages.iter().any(|(p, _)| p == n));
    assert!(
        stale.is_empty() && committed.is_empty(),
        "man pages are stale: {stale:?}, not generated any more: {committed:?}; \
         run `RK_UPDATE_MAN=1 cargo test --test cli man_pages` and commit man/"
    );
}

/// Every page has the sections a man page reader expects, and every page
/// one refers to (`rk-status(1)`, `rk.yaml(5)`) is generated.
#[test]
fn every_page_is_whole_and_every_reference_resolves() {
    let pages = rk::cli::man::pages();
    let names: Vec<String> = pages
        .iter()
        .map(|(file, _)| {
            let (stem, section) = file.rsplit_once('.').unwrap();
            format!("{stem}({section})")
        })
        .collect();
    for (file, bytes) in &pages {
        let text = String::from_utf8_lossy(bytes).replace("\\-", "-");
        let mut sections = vec![
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH SEE ALSO",
        ];
        if file.ends_with(".1") {
            sections.extend([".SH EXIT STATUS", ".SH EXAMPLES"]);
        }
        for section in sections {
            assert!(text.contains(section), "{file} lacks {section}");
        }
        // References look like \fBrk-status\fR(1).
        for (i, _) in text.match_indices("\\fR(") {
            let before = &text[..i];
            let start = before.rfind("\\fB").expect("a bold name") + 3;
            let name = &before[start..];
            let section = &text[i + 4..i + 5];
            let reference = format!("{name}({section})");
            assert!(
                names.contains(&reference),
                "{file} refers to {reference}, which is not generated"
            );
        }
    }
    // The synopsis shows every value's placeholder.
    let rk = String::from_utf8_lossy(&pages[0].1).replace("\\-", "-");
    assert!(rk.contains("[\\fB-C\\fR \\fIDIR\\fR]"), "{rk}");
}

/// The full example of rk.yaml(5) (every key at its default) is a valid
/// rk.yaml: rk reads it and behaves as with no file at all.
#[test]
fn the_rk_yaml_example_is_valid_and_all_defaults() {
    let page = rk::cli::man::pages()
        .into_iter()
        .find(|(f, _)| f == "rk.yaml.5")
        .unwrap()
        .1;
    let page = String::from_utf8(page).unwrap();
    let start = page.find("Every key at its default:").unwrap();
    let block = &page[start..];
    let block = &block[block.find(".nf\n").unwrap() + 4..block.find(".fi\n").unwrap()];
    let example = block.replace("\\-", "-");
    let env = crate::common::TestEnv::new();
    env.write("rk.yaml", &example);
    std::fs::create_dir_all(env.root().join("experiments")).unwrap();
    let with = rk::project::Project::open(env.root().to_path_buf()).expect("the example parses");
    let without =
        rk::project::Project::open(tempfile::tempdir().unwrap().path().to_path_buf()).unwrap();
    assert_eq!(
        with.settings, without.settings,
        "the example is every default"
    );
    // docs/FORMATS.md shows the same file.
    let formats = include_str!("../../docs/FORMATS.md");
    let section = &formats[formats.find("<a id=\"rk-yaml\"></a>").unwrap()..];
    let yaml = &section[section.find("```yaml\n").unwrap() + 8..];
    let yaml = &yaml[..yaml.find("```").unwrap()];
    env.write("rk.yaml", yaml);
    let documented =
        rk::project::Project::open(env.root().to_path_buf()).expect("FORMATS.md's rk.yaml parses");
    assert_eq!(documented.settings, without.settings);
}
