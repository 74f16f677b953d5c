//! `epocd profiles`: list, export and import, moving a trained profile between data dirs.

mod common;

use common::epocd;

#[test]
fn a_profile_moves_between_machines_and_damage_is_named() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = cortex_profile::ProfileStore::open(&a.path().join("profiles")).unwrap();
    let mut p = store.create("alice").unwrap();
    p.mental_command.training.add(
        "push",
        epoc_mental::Epoch {
            windows: vec![vec![1.0; 105]],
        },
    );
    store.save(&p).unwrap();
    let dir = |d: &tempfile::TempDir| d.path().to_str().unwrap().to_owned();
    let file = a.path().join("alice.json");
    let o = epocd(&[
        "profiles",
        "--data-dir",
        &dir(&a),
        "export",
        "alice",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = epocd(&[
        "profiles",
        "--data-dir",
        &dir(&b),
        "import",
        file.to_str().unwrap(),
        "--as",
        "alice (lab 2)",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(b.path().join("profiles/broken.json"), "{").unwrap();
    let o = epocd(&["profiles", "--data-dir", &dir(&b)]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("alice (lab 2)\tpush×1\t"), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("broken.json is damaged"));
    // Importing the same name again is refused, with exit status 2.
    let o = epocd(&[
        "profiles",
        "--data-dir",
        &dir(&b),
        "import",
        file.to_str().unwrap(),
        "--as",
        "alice (lab 2)",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
}
