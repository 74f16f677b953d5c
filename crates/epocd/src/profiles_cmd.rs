//! `epocd profiles`: the training profiles of a data dir, listed, exported and imported (to
//! move a trained user to another machine). Safe while the daemon runs: every write is
//! atomic, and a running daemon reads profiles when an app loads one.

use cortex_profile::ProfileStore;

use crate::cli::{ProfilesAction, ProfilesArgs};
use crate::config::Config;
use crate::error::CliError;
use crate::serve_cmd::data_dir;

/// Run `epocd profiles`.
pub fn run(args: &ProfilesArgs, config: &Config) -> Result<(), CliError> {
    let dir = data_dir(args.data_dir.as_ref(), config)?;
    let store = ProfileStore::open(&dir.join("profiles"))?;
    match &args.action {
        None | Some(ProfilesAction::List) => {
            let listing = store.list()?;
            for problem in &listing.problems {
                eprintln!("epocd: {problem}");
            }
            if listing.profiles.is_empty() {
                eprintln!("epocd: no profiles in {}", dir.join("profiles").display());
            }
            for p in &listing.profiles {
                let trained: Vec<String> = p
                    .mental_command
                    .training
                    .actions
                    .iter()
                    .map(|a| format!("{}×{}", a.action, a.epochs.len()))
                    .collect();
                println!(
                    "{}\t{}\t{}",
                    p.name,
                    if trained.is_empty() {
                        "untrained".to_owned()
                    } else {
                        trained.join(" ")
                    },
                    p.modified
                );
            }
        }
        Some(ProfilesAction::Show { name }) => {
            let p = store.get(name)?;
            println!("{}", show(&p));
        }
        Some(ProfilesAction::Export { name, file }) => {
            store.export(name, file)?;
            eprintln!("epocd: profile {name:?} written to {}", file.display());
        }
        Some(ProfilesAction::Import { file, rename }) => {
            let p = store.import(file, rename.as_deref())?;
            eprintln!("epocd: profile {:?} imported", p.name);
        }
    }
    Ok(())
}

/// The learnt state of a profile, as JSON.
fn show(p: &cortex_profile::Profile) -> serde_json::Value {
    let mc = &p.mental_command;
    let trained: Vec<String> = mc.training.actions.iter().map(|a| a.action.clone()).collect();
    let active: Vec<String> = trained.iter().filter(|a| *a != "neutral").cloned().collect();
    let accuracy = mc.training.cross_validate(&active);
    let means = mc.training.fit(&active).map(|c| c.means()).unwrap_or_default();
    let actions: Vec<serde_json::Value> = mc
        .training
        .actions
        .iter()
        .map(|a| {
            serde_json::json!({
                "action": a.action,
                "epochs": a.epochs.len(),
                "windows": a.epochs.iter().map(|e| e.windows.len()).sum::<usize>(),
                "crossValidatedAccuracy": accuracy.iter().find(|(x, _)| *x == a.action).and_then(|(_, s)| *s),
                "riemannMean": means.iter().find(|(x, _)| *x == a.action).map(|(_, m)| m),
            })
        })
        .collect();
    serde_json::json!({
        "name": p.name,
        "uuid": p.uuid,
        "modified": p.modified,
        "mentalCommand": {
            "activeActions": mc.active_actions,
            "sensitivity": mc.sensitivity,
            "lastTrainingScore": mc.last_training_score,
            "actions": actions,
        },
        "facialExpression": {
            "signature": p.facial_expression.signature,
            "thresholds": p.facial_expression.thresholds,
        },
    })
}
