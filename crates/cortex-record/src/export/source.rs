//! Where exported samples come from: a record's block files, read ahead on a thread of their
//! own so that checking and decoding overlap writing, or any in-memory sequence.

use std::path::Path;

use epoc_sample::Sample;

use crate::RecordError;
use crate::writer::SampleCursor;

/// Samples in stream order, as a file or a decoder yields them.
pub type SampleSource<'a> = Box<dyn Iterator<Item = Result<Sample, RecordError>> + 'a>;

/// Samples handed from the reading thread at a time (small enough to stay off `mmap`).
const PREFETCH_CHUNK: usize = 1024;

/// A stream file of a record as a sample source (`None` if the record has no such file).
/// The file is read and checked on a thread of its own, so reading overlaps writing.
pub(crate) fn open_source(path: &Path) -> Result<Option<SampleSource<'static>>, RecordError> {
    let Some(cursor) = SampleCursor::open(path)? else {
        return Ok(None);
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Sample>, RecordError>>(8);
    std::thread::Builder::new()
        .name("export-read".into())
        .spawn(move || {
            let mut chunk = Vec::with_capacity(PREFETCH_CHUNK);
            for s in cursor {
                match s {
                    Ok(s) => chunk.push(s),
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                        return;
                    }
                }
                if chunk.len() == PREFETCH_CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(PREFETCH_CHUNK));
                    if tx.send(Ok(full)).is_err() {
                        return; // the export stopped early
                    }
                }
            }
            let _ = tx.send(Ok(chunk));
        })
        .map_err(RecordError::io(path))?;
    Ok(Some(Box::new(Prefetched {
        rx,
        chunk: Vec::new().into_iter(),
    })))
}

/// The receiving end of [`open_source`]'s reading thread.
struct Prefetched {
    rx: std::sync::mpsc::Receiver<Result<Vec<Sample>, RecordError>>,
    chunk: std::vec::IntoIter<Sample>,
}

impl Iterator for Prefetched {
    type Item = Result<Sample, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(s) = self.chunk.next() {
                return Some(Ok(s));
            }
            match self.rx.recv().ok()? {
                Ok(chunk) => self.chunk = chunk.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
