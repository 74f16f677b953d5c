use super::*;

fn store() -> (tempfile::TempDir, ProfileStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = ProfileStore::open(&dir.path().join("profiles")).unwrap();
    (dir, s)
}

#[test]
fn create_list_rename_delete() {
    let (_d, s) = store();
    let p = s.create("alice").unwrap();
    assert!(matches!(s.create("alice"), Err(ProfileError::Exists(_))));
    s.create("bob").unwrap();
    let names: Vec<String> = s.list().unwrap().profiles.into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["alice", "bob"]);
    let renamed = s.rename("alice", "carol").unwrap();
    assert_eq!(renamed.uuid, p.uuid, "a rename keeps the file");
    assert!(matches!(s.get("alice"), Err(ProfileError::NotFound(_))));
    assert!(matches!(s.rename("carol", "bob"), Err(ProfileError::Exists(_))));
    s.delete("carol").unwrap();
    assert_eq!(s.list().unwrap().profiles.len(), 1);
}

#[test]
fn names_are_checked() {
    let (_d, s) = store();
    for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
        assert!(
            matches!(s.create(bad), Err(ProfileError::InvalidName(_))),
            "{bad:?}"
        );
    }
    assert!(s.create("Zoë's profile (2)").is_ok());
}

#[test]
fn settings_and_training_survive_a_save_exactly() {
    let (_d, s) = store();
    let mut p = s.create("alice").unwrap();
    p.mental_command.active_actions = vec!["push".into()];
    p.mental_command.sensitivity = [7, 5, 5, 5];
    p.mental_command.training.add(
        "push",
        epoc_mental::Epoch {
            windows: vec![vec![0.1 + 0.2, 1.0 / 3.0]],
        },
    );
    p.facial_expression.thresholds = vec![("smile".into(), 300)];
    s.save(&p).unwrap();
    let back = s.get("alice").unwrap();
    assert_eq!(back.mental_command, p.mental_command);
    assert_eq!(back.facial_expression, p.facial_expression);
    assert_eq!(back.format, FORMAT);
}

#[test]
fn a_damaged_or_newer_file_is_reported_by_name_and_the_rest_still_listed() {
    let (d, s) = store();
    s.create("good").unwrap();
    let dir = d.path().join("profiles");
    std::fs::write(dir.join("broken.json"), "{\"format\": 1, \"name\": ").unwrap();
    std::fs::write(dir.join("future.json"), "{\"format\": 99}").unwrap();
    let l = s.list().unwrap();
    assert_eq!(l.profiles.len(), 1);
    assert_eq!(l.problems.len(), 2);
    let text: Vec<String> = l.problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("broken.json") && t.contains("damaged")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("future.json") && t.contains("upgrade epocd")),
        "{text:?}"
    );
}

#[test]
fn a_save_leaves_no_temporary_file_and_replaces_whole() {
    let (d, s) = store();
    let mut p = s.create("alice").unwrap();
    for i in 0..5 {
        p.mental_command.sensitivity = [i, 5, 5, 5];
        s.save(&p).unwrap();
    }
    let files: Vec<String> = std::fs::read_dir(d.path().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, [format!("{}.json", p.uuid)]);
    assert_eq!(s.get("alice").unwrap().mental_command.sensitivity, [4, 5, 5, 5]);
}

#[test]
fn export_then_import_moves_a_profile() {
    let (d, s) = store();
    let mut p = s.create("alice").unwrap();
    p.mental_command.active_actions = vec!["pull".into()];
    s.save(&p).unwrap();
    let file = d.path().join("alice.epocd-profile.json");
    s.export("alice", &file).unwrap();
    let (_d2, other) = store();
    let got = other.import(&file, None).unwrap();
    assert_eq!(got.name, "alice");
    assert_eq!(got.mental_command.active_actions, ["pull"]);
    assert!(matches!(other.import(&file, None), Err(ProfileError::Exists(_))));
    assert_eq!(other.import(&file, Some("alice 2")).unwrap().name, "alice 2");
}
