//! `epocd stream`: decoded, timestamped samples printed live, through the same acquisition
//! thread and ring the daemon uses.

use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use epoc_driver::replay::{ReplayOptions, ReplaySource};
use epoc_driver::virtual_headset::VirtualHeadset;
use epoc_driver::{Acquisition, AcquisitionConfig, EventKind, Source, discovery};
use epoc_protocol::serial_in_file_name;
use sample_ring::Next;

use crate::cli::{FormatArg, StreamArgs};
use crate::error::CliError;
use crate::output;

fn open_source(args: &StreamArgs) -> Result<Box<dyn Source>, CliError> {
    if let Some(n) = args.virtual_headset {
        return Ok(Box::new(VirtualHeadset::new(n.max(1), true)?));
    }
    if let Some(path) = &args.replay {
        let from_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(serial_in_file_name);
        let serial = args.serial.as_deref().or(from_name).ok_or_else(|| {
            CliError::Usage(format!(
                "--serial is required: the key comes from the dongle serial, which {} does not name",
                path.display()
            ))
        })?;
        let options = ReplayOptions {
            real_time: !args.fast,
            looping: args.looping,
        };
        return Ok(Box::new(ReplaySource::open(path, serial, options)?));
    }
    Ok(discovery::open(args.device.as_deref())?)
}

/// Run `epocd stream`.
pub fn run(args: &StreamArgs) -> Result<(), CliError> {
    let source = open_source(args)?;
    let (tx, events) = unbounded();
    let config = AcquisitionConfig {
        ring_capacity: 1 << 16,
        ..AcquisitionConfig::default()
    };
    let acq = Acquisition::start(source, config, tx)?;
    let mut reader = acq.ring().reader_from_oldest();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match pump(args, &acq, &mut reader, &events, &mut out) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Io {
            context: "cannot write output".into(),
            source: e,
        }),
        Ok(()) => Ok(()),
    }
}

fn pump(
    args: &StreamArgs,
    acq: &Acquisition,
    reader: &mut sample_ring::Reader<epoc_driver::Sample>,
    events: &crossbeam_channel::Receiver<epoc_driver::HeadsetEvent>,
    out: &mut impl Write,
) -> io::Result<()> {
    let deadline = args
        .seconds
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let (mut printed, mut ended, mut header_done) = (0u64, false, args.format != FormatArg::Csv);
    loop {
        while let Ok(ev) = events.try_recv() {
            match &ev.kind {
                EventKind::Connected { mode, layout } => eprintln!(
                    "epocd: {} connected: {} {}-bit {} Hz (key layout {})",
                    ev.headset_id,
                    mode.model.cortex_prefix(),
                    mode.resolution.bits(),
                    mode.eeg_rate.hz(),
                    layout.name()
                ),
                EventKind::DetectionFailed { reason } => eprintln!("epocd: {}: {reason}", ev.headset_id),
                EventKind::Disconnected { reason } => {
                    eprintln!("epocd: {} disconnected: {reason}", ev.headset_id)
                }
                EventKind::Reconnected => eprintln!("epocd: {} is back", ev.headset_id),
                EventKind::Ended { reason } => {
                    if let Some(r) = reason {
                        eprintln!("epocd: {}: {r}", ev.headset_id);
                    }
                    ended = true;
                }
            }
        }
        match reader.try_next() {
            Next::Item(s) => {
                if !header_done {
                    output::write_csv_header(out, s.report.mode, true)?;
                    header_done = true;
                }
                let row = output::Row {
                    index: s.index,
                    time: Some(s.time),
                    lost: s.lost,
                    report: &s.report,
                };
                match args.format {
                    FormatArg::Jsonl => output::write_jsonl(out, &row)?,
                    FormatArg::Csv => output::write_csv_row(out, &row)?,
                }
                printed += 1;
                if args.count.is_some_and(|c| printed >= c) {
                    break;
                }
            }
            Next::Missed(n) => eprintln!("epocd: output too slow: {n} samples skipped"),
            Next::Empty => {
                if ended && reader.lag() == 0 {
                    break;
                }
                out.flush()?;
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    out.flush()?;
    let stats = acq.stats();
    eprintln!(
        "epocd: {printed} samples printed; {} reports read, {} samples lost, {} reports rejected",
        stats.reports, stats.samples_lost, stats.rejected
    );
    Ok(())
}
