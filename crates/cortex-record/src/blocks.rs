//! Append-only, checksummed block files: how a record's samples reach the disk.
//!
//! A file is an 8-byte magic, `EPOCDBK` and one ASCII digit (the payload's encoding
//! version, e.g. `epoc_sample::ENCODING_VERSION`), followed by blocks. Each block is
//! `magic u32 | payload length u32 | sequence u64 | payload | CRC-32 u32` (little-endian; the
//! CRC covers sequence and payload). After a crash (kill -9, power loss) the file may end
//! inside a block or with unwritten pages: readers keep every block up to the first one that
//! is incomplete or fails its checksum, and reopening for append cuts the file there, so the
//! store is never corrupted by a torn tail and never returns damaged data.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The file magic without its last byte, the payload version digit.
const MAGIC_PREFIX: &[u8; 7] = b"EPOCDBK";
const MAGIC_LEN: usize = 8;
const BLOCK_MAGIC: u32 = 0x4B4C_4231; // "1BLK"
const BLOCK_OVERHEAD: usize = 4 + 4 + 8 + 4;
/// Largest payload a block may carry (a sanity bound when reading damaged files).
pub const MAX_PAYLOAD: usize = 16 << 20;

/// Why a block file could not be used.
#[derive(Debug, Error)]
pub enum BlockError {
    /// The OS refused (disk full, permissions, I/O error).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not a block file at all (never recovered automatically: it may be someone's data).
    #[error("{0}: not an epocd block file")]
    NotABlockFile(PathBuf),
    /// A payload version this epocd does not know (a newer epocd wrote it), or appending
    /// one version to a file of another.
    #[error(
        "{path}: payload version {found} (this epocd reads version {expected}): use the epocd that wrote it, or a newer one"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u8,
        /// The version wanted.
        expected: u8,
    },
    /// A payload over [`MAX_PAYLOAD`].
    #[error("block payload of {0} bytes is over the limit")]
    TooLarge(usize),
}

/// What reading a file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The intact blocks' payloads, in order, with their sequence numbers.
    pub blocks: Vec<(u64, Vec<u8>)>,
    /// Byte length of the intact part (where appending resumes).
    pub valid_len: u64,
    /// Bytes after the intact part (a torn or damaged tail), 0 for a clean file.
    pub damaged_tail: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BlockError + '_ {
    move |source| BlockError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Read every intact block of `path`.
pub fn scan(path: &Path) -> Result<Scan, BlockError> {
    let mut blocks = Vec::new();
    let (valid_len, damaged_tail) = visit(path, |seq, payload| blocks.push((seq, payload.to_vec())))?;
    Ok(Scan {
        blocks,
        valid_len,
        damaged_tail,
    })
}

/// Call `f` with the sequence number and payload of every intact block of `path`, in order,
/// without copying payloads. Returns the intact length and the damaged tail's length.
pub fn visit(path: &Path, mut f: impl FnMut(u64, &[u8])) -> Result<(u64, u64), BlockError> {
    let mut cursor = BlockCursor::open(path)?;
    while let Some((seq, payload)) = cursor.next_payload()? {
        f(seq, &cursor.buffer()[payload]);
    }
    cursor.extent()
}

/// Reads a block file front to back through a small reusable buffer, so reading a long
/// record costs neither its size in memory nor a copy per block.
pub struct BlockCursor {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`; `buf[0]` is at file offset `base`.
    start: usize,
    end: usize,
    base: u64,
    eof: bool,
    /// The first incomplete or damaged block was met: nothing after it is returned.
    stopped: bool,
    /// The payload version of the file's magic (`None` for a file cut inside its magic).
    version: Option<u8>,
}

/// Bytes read from the file at a time.
const READ_CHUNK: usize = 256 << 10;

impl BlockCursor {
    /// Open `path` and check its magic (a file cut inside the magic is empty, not foreign).
    pub fn open(path: &Path) -> Result<BlockCursor, BlockError> {
        let file = File::open(path).map_err(io(path))?;
        let mut c = BlockCursor {
            path: path.to_path_buf(),
            file,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            stopped: false,
            version: None,
        };
        if !c.fill(MAGIC_LEN)? {
            if c.end <= MAGIC_PREFIX.len() && MAGIC_PREFIX.starts_with(&c.buf[..c.end])
                || c.end == MAGIC_PREFIX.len() + 1 && c.buf[..c.end].starts_with(MAGIC_PREFIX)
            {
                c.stopped = true;
                return Ok(c);
            }
            return Err(BlockError::NotABlockFile(path.to_path_buf()));
        }
        match c.buf[..MAGIC_LEN].split_last() {
            Some((&digit, prefix)) if prefix == MAGIC_PREFIX && digit.is_ascii_digit() && digit != b'0' => {
                c.version = Some(digit - b'0');
            }
            _ => return Err(BlockError::NotABlockFile(path.to_path_buf())),
        }
        c.start = MAGIC_LEN;
        Ok(c)
    }

    /// The payload version named by the file's magic; `None` for a file cut inside its magic
    /// (it holds no blocks).
    pub fn version(&self) -> Option<u8> {
        self.version
    }

    /// Make at least `n` unread bytes available; false if the file ends first.
    fn fill(&mut self, n: usize) -> Result<bool, BlockError> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.base += self.start as u64;
        self.end -= self.start;
        self.start = 0;
        if self.buf.len() < n {
            self.buf.resize(n.max(READ_CHUNK), 0);
        }
        while self.end < n && !self.eof {
            let got = self
                .file
                .read(&mut self.buf[self.end..])
                .map_err(io(&self.path))?;
            self.end += got;
            self.eof = got == 0;
        }
        Ok(self.end >= n)
    }

    /// The next intact block: its sequence number and where its payload lies in
    /// [`BlockCursor::buffer`] (valid until the next call). `None` at the end of the intact
    /// part.
    pub fn next_payload(&mut self) -> Result<Option<(u64, Range<usize>)>, BlockError> {
        if self.stopped || !self.fill(BLOCK_OVERHEAD)? {
            self.stopped = true;
            return Ok(None);
        }
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let (magic, len) = (
            u32_at(&self.buf, self.start),
            u32_at(&self.buf, self.start + 4) as usize,
        );
        if magic != BLOCK_MAGIC || len > MAX_PAYLOAD || !self.fill(BLOCK_OVERHEAD + len)? {
            self.stopped = true;
            return Ok(None);
        }
        let at = self.start;
        let body = &self.buf[at + 8..at + 16 + len];
        if crc32fast::hash(body) != u32_at(&self.buf, at + 16 + len) {
            self.stopped = true;
            return Ok(None);
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&body[..8]);
        self.start += BLOCK_OVERHEAD + len;
        Ok(Some((u64::from_le_bytes(seq), at + 16..at + 16 + len)))
    }

    /// The buffer that [`BlockCursor::next_payload`]'s ranges point into.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// The intact length read so far (where appending resumes once the end was reached) and
    /// the bytes after it.
    pub fn extent(&self) -> Result<(u64, u64), BlockError> {
        let valid = self.base + self.start as u64;
        let len = self.file.metadata().map_err(io(&self.path))?.len();
        Ok((valid, len.saturating_sub(valid)))
    }
}

/// Appends blocks to one file.
pub struct BlockWriter {
    path: PathBuf,
    out: BufWriter<File>,
    next_seq: u64,
}

impl BlockWriter {
    /// Open `path` for appending payloads of `version` (1..=9): create it, or recover it (cut
    /// a damaged tail, continue the sequence). A file of another version is refused. Returns
    /// the writer and what recovery found.
    pub fn open(path: &Path, version: u8) -> Result<(BlockWriter, Scan), BlockError> {
        let exists = path.exists();
        let scan = if exists {
            let found = BlockCursor::open(path)?.version();
            if let Some(found) = found.filter(|f| *f != version) {
                return Err(BlockError::Version {
                    path: path.to_path_buf(),
                    found,
                    expected: version,
                });
            }
            scan(path)?
        } else {
            Scan {
                blocks: Vec::new(),
                valid_len: 0,
                damaged_tail: 0,
            }
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io(path))?;
        if scan.valid_len == 0 {
            file.set_len(0).map_err(io(path))?;
            let mut magic = [0u8; MAGIC_LEN];
            magic[..MAGIC_PREFIX.len()].copy_from_slice(MAGIC_PREFIX);
            magic[MAGIC_PREFIX.len()] = b'0' + version.clamp(1, 9);
            file.write_all(&magic).map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
        } else if scan.damaged_tail > 0 {
            file.set_len(scan.valid_len).map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(path))?;
        let next_seq = scan.blocks.last().map_or(0, |(s, _)| s + 1);
        Ok((
            BlockWriter {
                path: path.to_path_buf(),
                out: BufWriter::with_capacity(1 << 16, file),
                next_seq,
            },
            scan,
        ))
    }

    /// Append one block (buffered; call [`BlockWriter::sync`] to make it durable).
    pub fn append(&mut self, payload: &[u8]) -> Result<u64, BlockError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(BlockError::TooLarge(payload.len()));
        }
        let seq = self.next_seq;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&seq.to_le_bytes());
        hasher.update(payload);
        let crc = hasher.finalize();
        let w = &mut self.out;
        let path = &self.path;
        w.write_all(&BLOCK_MAGIC.to_le_bytes()).map_err(io(path))?;
        w.write_all(&(payload.len() as u32).to_le_bytes())
            .map_err(io(path))?;
        w.write_all(&seq.to_le_bytes()).map_err(io(path))?;
        w.write_all(payload).map_err(io(path))?;
        w.write_all(&crc.to_le_bytes()).map_err(io(path))?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Hand what was appended to the OS (no fsync): it then survives the process being
    /// killed, though not a power loss.
    pub fn flush(&mut self) -> Result<(), BlockError> {
        self.out.flush().map_err(io(&self.path))
    }

    /// Flush and fsync: everything appended so far survives a crash or power loss.
    pub fn sync(&mut self) -> Result<(), BlockError> {
        self.out.flush().map_err(io(&self.path))?;
        self.out.get_ref().sync_data().map_err(io(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(i: u64) -> Vec<u8> {
        (0..(i % 50 + 1)).map(|k| (i * 31 + k) as u8).collect()
    }

    #[test]
    fn blocks_round_trip_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eeg.blk");
        let (mut w, scan0) = BlockWriter::open(&path, 1).unwrap();
        assert!(scan0.blocks.is_empty());
        for i in 0..100 {
            assert_eq!(w.append(&payload(i)).unwrap(), i);
        }
        w.sync().unwrap();
        drop(w);
        let (mut w, s) = BlockWriter::open(&path, 1).unwrap();
        assert_eq!(s.blocks.len(), 100);
        assert_eq!(s.damaged_tail, 0);
        assert_eq!(w.append(b"more").unwrap(), 100, "the sequence continues");
        w.sync().unwrap();
        let s = scan(&path).unwrap();
        assert_eq!(s.blocks[37], (37, payload(37)));
        assert_eq!(s.blocks[100], (100, b"more".to_vec()));
    }

    #[test]
    fn blocks_larger_than_the_read_buffer_and_many_buffers_of_blocks_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.blk");
        let (mut w, _) = BlockWriter::open(&path, 1).unwrap();
        let big: Vec<u8> = (0..READ_CHUNK * 3 + 17).map(|i| (i * 7) as u8).collect();
        w.append(&payload(1)).unwrap();
        w.append(&big).unwrap();
        for i in 0..20_000 {
            w.append(&payload(i)).unwrap();
        }
        w.sync().unwrap();
        let s = scan(&path).unwrap();
        assert_eq!(s.blocks.len(), 20_002);
        assert_eq!(s.blocks[1].1, big);
        assert_eq!(s.blocks[20_001], (20_001, payload(19_999)));
        assert_eq!(
            (s.valid_len, s.damaged_tail),
            (std::fs::metadata(&path).unwrap().len(), 0)
        );
    }

    #[test]
    fn a_torn_tail_at_every_byte_keeps_all_complete_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.blk");
        let (mut w, _) = BlockWriter::open(&path, 1).unwrap();
        let mut ends = vec![8u64];
        for i in 0..5 {
            w.append(&payload(i)).unwrap();
            ends.push(ends.last().unwrap() + (BLOCK_OVERHEAD + payload(i).len()) as u64);
        }
        w.sync().unwrap();
        let full = std::fs::read(&path).unwrap();
        for cut in 0..=full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let complete = ends
                .iter()
                .filter(|e| **e as usize <= cut)
                .count()
                .saturating_sub(1);
            let s = scan(&path).unwrap();
            assert_eq!(s.blocks.len(), complete, "cut at {cut}");
            // Reopening cuts the torn tail and appends after the last complete block.
            let (mut w, _) = BlockWriter::open(&path, 1).unwrap();
            w.append(b"after").unwrap();
            w.sync().unwrap();
            let s = scan(&path).unwrap();
            assert_eq!(s.blocks.len(), complete + 1);
            assert_eq!(s.blocks.last().unwrap().1, b"after");
            assert_eq!(s.damaged_tail, 0);
        }
    }

    #[test]
    fn a_damaged_block_is_never_returned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.blk");
        let (mut w, _) = BlockWriter::open(&path, 1).unwrap();
        for i in 0..10 {
            w.append(&payload(i)).unwrap();
        }
        w.sync().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let fifth = 8 + (0..4).map(|i| BLOCK_OVERHEAD + payload(i).len()).sum::<usize>();
        bytes[fifth + 17] ^= 0x40; // a bit flip inside block 4's payload
        std::fs::write(&path, &bytes).unwrap();
        let s = scan(&path).unwrap();
        assert_eq!(s.blocks.len(), 4, "blocks before the damage, none after it");
        assert!(s.damaged_tail > 0);
        std::fs::write(&path, b"not a block file at all").unwrap();
        assert!(matches!(scan(&path), Err(BlockError::NotABlockFile(_))));
        assert!(
            matches!(BlockWriter::open(&path, 1), Err(BlockError::NotABlockFile(_))),
            "someone's data is not truncated"
        );
    }

    #[test]
    fn the_magic_carries_the_payload_version_and_versions_are_never_mixed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.blk");
        let (mut w, _) = BlockWriter::open(&path, 3).unwrap();
        w.append(b"three").unwrap();
        w.sync().unwrap();
        drop(w);
        assert_eq!(&std::fs::read(&path).unwrap()[..8], b"EPOCDBK3");
        assert_eq!(BlockCursor::open(&path).unwrap().version(), Some(3));
        match BlockWriter::open(&path, 1) {
            Err(BlockError::Version {
                found: 3,
                expected: 1,
                ..
            }) => {}
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a version-3 file must not get version-1 blocks"),
        }
        assert_eq!(
            scan(&path).unwrap().blocks.len(),
            1,
            "the refused open changed nothing"
        );
        std::fs::write(&path, b"EPOCDBK0").unwrap();
        assert!(matches!(scan(&path), Err(BlockError::NotABlockFile(_))));
        std::fs::write(&path, b"EPOCDBK").unwrap();
        assert_eq!(
            BlockCursor::open(&path).unwrap().version(),
            None,
            "cut inside the magic: empty"
        );
    }
}
