//! `epocd capture`: raw reports from a headset into a file, so users can make test data that
//! `decode` and `--replay` read.

use std::io::Write;
use std::time::{Duration, Instant};

use epoc_driver::{DriverError, discovery};
use epoc_protocol::{KeyLayout, detect};

use crate::cli::CaptureArgs;
use crate::error::CliError;

/// Run `epocd capture`.
pub fn run(args: &CaptureArgs) -> Result<(), CliError> {
    let mut source = discovery::open(args.device.as_deref())?;
    let mut file = crate::error::create_output(&args.out, args.force)?;
    let identity = source.identity().clone();
    eprintln!(
        "epocd: capturing {} ({}, serial {}) into {}{}",
        identity.location,
        identity.connection.cortex_name(),
        identity.serial,
        args.out.display(),
        args.seconds
            .map_or(" until Ctrl-C".to_owned(), |s| format!(" for {s} s")),
    );
    let start = Instant::now();
    let end = args.seconds.map(|s| start + Duration::from_secs_f64(s.max(0.0)));
    let mut first = Vec::with_capacity(1024);
    let (mut n, mut last_report, mut last_progress, mut warned) =
        (0u64, Instant::now(), Instant::now(), false);
    while end.is_none_or(|e| Instant::now() < e) {
        match source.read(Duration::from_millis(100)) {
            Ok(Some(report)) => {
                // Unbuffered: a Ctrl-C loses nothing that was read.
                file.write_all(&report)
                    .map_err(CliError::io(format!("cannot write {}", args.out.display())))?;
                if first.len() < first.capacity() {
                    first.push(report);
                }
                n += 1;
                last_report = Instant::now();
                warned = false;
            }
            Ok(None) => {
                if !warned && last_report.elapsed() > Duration::from_secs(2) {
                    eprintln!(
                        "epocd: no reports for 2 s: is the headset switched on and paired with the dongle?"
                    );
                    warned = true;
                }
            }
            Err(DriverError::Ended) => break,
            Err(e) => {
                eprintln!("epocd: {e}; waiting for the device to come back");
                while source.reconnect().is_err() {
                    if end.is_some_and(|e| Instant::now() >= e) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            eprint!("\repocd: {n} reports in {:.0} s", start.elapsed().as_secs_f64());
            last_progress = Instant::now();
        }
    }
    file.sync_all()
        .map_err(CliError::io(format!("cannot flush {}", args.out.display())))?;
    if start.elapsed() >= Duration::from_secs(1) {
        eprintln!(); // end the progress line
    }
    eprintln!("epocd: {n} reports written to {}", args.out.display());
    match detect(&identity.serial, &first, &KeyLayout::ALL) {
        Ok(d) => eprintln!(
            "epocd: they decode as {} {}-bit {} Hz; read them back with: epocd decode --serial {} {}",
            d.mode.model.cortex_prefix(),
            d.mode.resolution.bits(),
            d.mode.eeg_rate.hz(),
            identity.serial,
            args.out.display()
        ),
        Err(e) => eprintln!("epocd: warning: the captured reports do not decode yet ({e})"),
    }
    Ok(())
}
