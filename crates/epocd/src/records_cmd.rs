//! `epocd records` and `epocd export`: the record store from the command line, readable while
//! the daemon runs (SQLite WAL) and without it.

use std::path::{Path, PathBuf};

use cortex_record::{CsvVersion, EdfFormat, ExportFormat, ExportRequest, RecordMeta, Store, StreamTypes};
use cortex_service::records::{record_object, record_object_with_markers};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{CsvVersionArg, ExportArgs, ExportFormatArg, RecordsArgs, StreamArg};
use crate::config::Config;
use crate::error::CliError;
use crate::serve_cmd::data_dir;

fn open_store(flag: Option<&PathBuf>, config: &Config) -> Result<(Store, PathBuf), CliError> {
    let dir = data_dir(flag, config)?;
    let db = dir.join("epocd.sqlite");
    if !db.exists() {
        return Err(CliError::Usage(format!(
            "no record store in {}: records appear there once `epocd serve` has recorded one (or pass --data-dir)",
            dir.display()
        )));
    }
    Ok((Store::open(&db)?, dir))
}

pub(crate) fn duration(r: &RecordMeta) -> String {
    match r.end {
        Some(end) => {
            let s = (end - r.start).max(0.0).round() as u64;
            format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        }
        None => "-".into(),
    }
}

/// Run `epocd records`.
pub fn list(args: &RecordsArgs, config: &Config) -> Result<(), CliError> {
    let (store, dir) = open_store(args.data_dir.as_ref(), config)?;
    let records = store.records()?;
    if args.json {
        for r in &records {
            println!("{}", record_object(r));
        }
        return Ok(());
    }
    if records.is_empty() {
        eprintln!("epocd: no records in {}", dir.display());
        return Ok(());
    }
    println!(
        "{:<36}  {:<9}  {:<25}  {:>8}  TITLE",
        "ID", "STATE", "START", "LENGTH"
    );
    for r in &records {
        let start = cortex_record::time::local_from_unix(r.start).format("%Y-%m-%d %H:%M:%S %:z");
        println!(
            "{:<36}  {:<9}  {:<25}  {:>8}  {}",
            r.uuid,
            r.state.name(),
            start.to_string(),
            duration(r),
            r.title
        );
    }
    Ok(())
}

fn find(store: &Store, id: &str) -> Result<RecordMeta, CliError> {
    let all = store.records()?;
    let matches: Vec<&RecordMeta> = all.iter().filter(|r| r.uuid.starts_with(id)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CliError::Usage(format!(
            "no record {id}: `epocd records` lists them"
        ))),
        _ => Err(CliError::Usage(format!(
            "{id} matches {} records: give more of the id",
            matches.len()
        ))),
    }
}

/// Run `epocd export`.
pub fn export(args: &ExportArgs, config: &Config) -> Result<(), CliError> {
    let (store, dir) = open_store(args.data_dir.as_ref(), config)?;
    let record = find(&store, &args.record)?;
    if record.end.is_none() {
        return Err(CliError::Usage(format!(
            "record {} is still recording: stop it first (if epocd died while recording, start `epocd serve` once and it closes the record)",
            record.uuid
        )));
    }
    let markers = store.markers(&record.uuid)?;
    let format = match args.format {
        ExportFormatArg::Edfplus => ExportFormat::Edf(EdfFormat::EdfPlus),
        ExportFormatArg::Bdfplus => ExportFormat::Edf(EdfFormat::BdfPlus),
        ExportFormatArg::Edf => ExportFormat::Edf(EdfFormat::Edf),
        ExportFormatArg::Csv => ExportFormat::Csv(match args.csv_version {
            CsvVersionArg::V1 => CsvVersion::V1,
            CsvVersionArg::V2 => CsvVersion::V2,
        }),
    };
    let streams = StreamTypes {
        eeg: args.streams.contains(&StreamArg::Eeg),
        motion: args.streams.contains(&StreamArg::Motion),
        band_power: args.streams.contains(&StreamArg::Bp),
        performance_metrics: args.streams.contains(&StreamArg::Pm),
    };
    let folder = absolute(&args.out)?;
    let req = ExportRequest {
        format,
        streams,
        folder,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {percent:>3}% {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("exporting {}", record.title));
    let files = cortex_record::export_record(
        &record,
        &markers,
        &dir.join("records").join(&record.uuid),
        &req,
        &record_object_with_markers(&record, &markers),
        &mut |p| {
            bar.set_length(p.total);
            bar.set_position(p.done);
        },
    );
    bar.finish_and_clear();
    for f in files? {
        println!("{}", f.display());
    }
    Ok(())
}

fn absolute(p: &Path) -> Result<PathBuf, CliError> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir()
        .map_err(CliError::io("cannot read the current directory"))?
        .join(p))
}
