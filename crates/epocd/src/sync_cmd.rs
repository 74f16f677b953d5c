//! `epocd sync` (the uploads to the lab's bucket and their state) and `epocd records
//! --remote` (what the bucket holds).

use cortex_record::archive;
use cortex_sync::Layout;

use crate::cli::{RecordsArgs, SyncArgs};
use crate::config::Config;
use crate::error::CliError;
use crate::records_cmd::duration;
use crate::serve_cmd::{data_dir, sync_settings};

fn io(context: String) -> impl FnOnce(std::io::Error) -> CliError {
    move |source| CliError::Io { context, source }
}

/// Run `epocd sync`.
pub fn status(args: &SyncArgs, config: &Config) -> Result<(), CliError> {
    let dir = data_dir(args.data_dir.as_ref(), config)?;
    if config.sync.is_none() {
        eprintln!("epocd: no [sync] bucket is configured: records stay on this machine (docs/sync.md)");
    }
    if args.retry {
        let n = cortex_service::retry_failed(&dir)
            .map_err(io(format!("cannot update {}/sync", dir.display())))?;
        eprintln!(
            "epocd: {n} failed upload(s) will be tried again (a running epocd takes them up within a minute)"
        );
    }
    let entries =
        cortex_service::sync_entries(&dir).map_err(io(format!("cannot read {}/sync", dir.display())))?;
    if entries.is_empty() {
        eprintln!("epocd: no upload or download in {}", dir.display());
        return Ok(());
    }
    println!("{:<36}  {:<10}  {:>16}  DETAIL", "ID", "STATUS", "PROGRESS");
    for e in &entries {
        let (done, total) = e.progress;
        let progress = if e.status == "downloaded" {
            "-".to_owned()
        } else {
            format!(
                "{:.1}/{:.1} MiB",
                done as f64 / 1048576.0,
                total as f64 / 1048576.0
            )
        };
        println!(
            "{:<36}  {:<10}  {:>16}  {}",
            e.uuid,
            e.status,
            progress,
            e.failed.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

/// Run `epocd records --remote`.
pub fn remote(args: &RecordsArgs, config: &Config) -> Result<(), CliError> {
    let settings = sync_settings(config)?.ok_or_else(|| {
        CliError::Usage(
            "no [sync] bucket is configured: add a [sync] table to the configuration (docs/sync.md)".into(),
        )
    })?;
    let fail = |e: cortex_sync::SyncError| CliError::Usage(format!("the lab's bucket: {e}"));
    let store = settings.target.store().map_err(fail)?;
    let layout = Layout::new(&settings.target.prefix);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io("cannot start the runtime".into()))?;
    let ids = runtime
        .block_on(cortex_sync::list_records(&store, &layout))
        .map_err(fail)?;
    let dir = data_dir(args.data_dir.as_ref(), config)?;
    let local = cortex_record::Store::open(&dir.join("epocd.sqlite")).ok();
    if ids.is_empty() {
        eprintln!("epocd: no records in the bucket");
        return Ok(());
    }
    if !args.json {
        println!(
            "{:<36}  {:<4}  {:<25}  {:>8}  TITLE",
            "ID", "HERE", "START", "LENGTH"
        );
    }
    for id in ids {
        let here = local
            .as_ref()
            .and_then(|s| s.record(&id).ok())
            .flatten()
            .is_some();
        let archived = runtime
            .block_on(cortex_sync::fetch_file(&store, &layout, &id, "record.json"))
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .and_then(|v: serde_json::Value| {
                let a = archive::from_json(&v).map_err(|e| e.to_string())?;
                Ok((a, v))
            });
        match archived {
            Ok((_, v)) if args.json => println!("{}", v["cortex"]),
            Ok((a, _)) => {
                let r = &a.record;
                let start = cortex_record::time::local_from_unix(r.start).format("%Y-%m-%d %H:%M:%S %:z");
                println!(
                    "{:<36}  {:<4}  {:<25}  {:>8}  {}",
                    r.uuid,
                    if here { "yes" } else { "no" },
                    start.to_string(),
                    duration(r),
                    r.title
                );
            }
            Err(e) => eprintln!("epocd: record {id} in the bucket: unreadable record.json ({e})"),
        }
    }
    Ok(())
}
