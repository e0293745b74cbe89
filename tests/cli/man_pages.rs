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
