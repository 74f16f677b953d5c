//! The record writer: a thread with its own ring cursor that appends a headset's samples to a
//! record's block files (`eeg.blk`, `mot.blk`), fsyncing at most one second apart.
//!
//! It never blocks the acquisition thread (it only reads the ring). A block holds the samples
//! of up to ~0.25 s, in the on-disk sample encoding (`epoc_sample::to_disk`, its version in the file magic), so after a crash everything
//! up to the last complete block is readable. A writer that falls a whole ring lap behind, or
//! a full disk, stops the record with an error the caller hears about; what was written stays.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use epoc_protocol::ReportKind;
use epoc_sample::{ENCODED_LEN, ENCODING_VERSION, Sample};
use sample_ring::{Next, Reader};

use crate::blocks::{self, BlockError, BlockWriter};

/// Samples per block at most (a quarter second of 256 Hz EEG).
const SAMPLES_PER_BLOCK: usize = 64;
/// Longest time between fsyncs (what a power loss can cost).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Longest time before written samples reach the OS (what killing the process can cost).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// Why a record stopped by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterFailure {
    /// Writing failed (typically a full disk); the text says where.
    Storage(String),
    /// The writer fell more than a ring lap behind and lost samples.
    FellBehind(u64),
}

/// Counters of a running writer.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Samples appended.
    pub samples: AtomicU64,
    /// Samples made durable (fsynced).
    pub durable: AtomicU64,
}

/// A running record writer. `stop` flushes, fsyncs and returns how it ended.
pub struct RecordWriter {
    stop: Arc<AtomicBool>,
    stats: Arc<WriterStats>,
    thread: Option<JoinHandle<Result<(), WriterFailure>>>,
}

struct StreamFile {
    writer: BlockWriter,
    pending: Vec<u8>,
    count: usize,
}

impl StreamFile {
    fn open(path: &Path) -> Result<Self, BlockError> {
        Ok(StreamFile {
            writer: BlockWriter::open(path, ENCODING_VERSION)?.0,
            pending: Vec::with_capacity(SAMPLES_PER_BLOCK * ENCODED_LEN),
            count: 0,
        })
    }

    fn push(&mut self, s: &Sample) -> Result<(), BlockError> {
        epoc_sample::to_disk(s, &mut self.pending);
        self.count += 1;
        if self.count >= SAMPLES_PER_BLOCK {
            self.seal()?;
        }
        Ok(())
    }

    fn seal(&mut self) -> Result<(), BlockError> {
        if self.count > 0 {
            self.writer.append(&self.pending)?;
            self.pending.clear();
            self.count = 0;
        }
        Ok(())
    }
}

impl RecordWriter {
    /// Start writing what `reader` yields into `dir` (created if needed).
    pub fn start(mut reader: Reader<Sample>, dir: &Path) -> Result<Self, BlockError> {
        // A recording is the subject's data: the owner's only, whatever the umask.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(dir)
            .map_err(|source| BlockError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        let mut eeg = StreamFile::open(&dir.join(EEG_FILE))?;
        let mut mot = StreamFile::open(&dir.join(MOTION_FILE))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(WriterStats::default());
        let (stop2, stats2) = (Arc::clone(&stop), Arc::clone(&stats));
        let name = format!(
            "record-{}",
            dir.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        );
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let storage = |e: BlockError| WriterFailure::Storage(e.to_string());
                let mut last_sync = Instant::now();
                let mut last_flush = Instant::now();
                let mut written = 0u64;
                loop {
                    let stopping = stop2.load(Ordering::Acquire);
                    loop {
                        match reader.try_next() {
                            Next::Item(s) => {
                                let file = if s.report.kind == ReportKind::Motion {
                                    &mut mot
                                } else {
                                    &mut eeg
                                };
                                file.push(&s).map_err(storage)?;
                                written += 1;
                                stats2.samples.store(written, Ordering::Relaxed);
                            }
                            Next::Missed(n) => {
                                // Keep what was written durable, then report the loss.
                                for f in [&mut eeg, &mut mot] {
                                    f.seal().map_err(storage)?;
                                    f.writer.sync().map_err(storage)?;
                                }
                                return Err(WriterFailure::FellBehind(n));
                            }
                            Next::Empty => break,
                        }
                    }
                    if stopping || last_sync.elapsed() >= SYNC_INTERVAL {
                        for f in [&mut eeg, &mut mot] {
                            f.seal().map_err(storage)?;
                            f.writer.sync().map_err(storage)?;
                        }
                        stats2.durable.store(written, Ordering::Relaxed);
                        last_sync = Instant::now();
                        last_flush = last_sync;
                    } else if last_flush.elapsed() >= FLUSH_INTERVAL {
                        for f in [&mut eeg, &mut mot] {
                            f.seal().map_err(storage)?;
                            f.writer.flush().map_err(storage)?;
                        }
                        last_flush = Instant::now();
                    }
                    if stopping {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
            .map_err(|source| BlockError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        Ok(RecordWriter {
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// Counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Whether the writer stopped by itself (failure); `stop` tells why.
    pub fn has_stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Write what is left, fsync, and end.
    pub fn stop(mut self) -> Result<(), WriterFailure> {
        self.stop.store(true, Ordering::Release);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(WriterFailure::Storage("the record writer thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for RecordWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read back a record's samples (EEG-carrying, then motion), up to the last intact block of
/// each file: what survives a crash.
pub fn read_samples(dir: &Path) -> Result<(Vec<Sample>, Vec<Sample>), BlockError> {
    let read = |name: &str| -> Result<Vec<Sample>, BlockError> {
        let Some(cursor) = SampleCursor::open(&dir.join(name))? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(cursor.estimated_len());
        for s in cursor {
            out.push(s?);
        }
        Ok(out)
    };
    Ok((read(EEG_FILE)?, read(MOTION_FILE)?))
}

/// The block file of a record's EEG-carrying samples.
pub const EEG_FILE: &str = "eeg.blk";
/// The block file of a record's motion samples (16-bit modes).
pub const MOTION_FILE: &str = "mot.blk";

/// The samples of one block file, one at a time, up to the last intact block: lets exports
/// stream a record of any length in constant memory.
pub struct SampleCursor {
    blocks: blocks::BlockCursor,
    payload: std::ops::Range<usize>,
    estimated: usize,
}

impl SampleCursor {
    /// Open a stream file; `None` if the record has no such file.
    pub fn open(path: &Path) -> Result<Option<SampleCursor>, BlockError> {
        let len = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(BlockError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let blocks = blocks::BlockCursor::open(path)?;
        if let Some(found) = blocks.version().filter(|v| *v != ENCODING_VERSION) {
            return Err(BlockError::Version {
                path: path.to_path_buf(),
                found,
                expected: ENCODING_VERSION,
            });
        }
        Ok(Some(SampleCursor {
            blocks,
            payload: 0..0,
            estimated: usize::try_from(len).unwrap_or(usize::MAX) / ENCODED_LEN,
        }))
    }

    /// About how many samples the file holds (from its size), for capacity and progress.
    pub fn estimated_len(&self) -> usize {
        self.estimated
    }
}

impl Iterator for SampleCursor {
    type Item = Result<Sample, BlockError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.payload.len() < ENCODED_LEN {
            match self.blocks.next_payload() {
                Ok(Some((_, range))) => self.payload = range,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let at = self.payload.start;
        let mut bytes = [0u8; ENCODED_LEN];
        bytes.copy_from_slice(&self.blocks.buffer()[at..at + ENCODED_LEN]);
        self.payload.start += ENCODED_LEN;
        Some(Ok(epoc_sample::from_disk(&bytes)))
    }
}
