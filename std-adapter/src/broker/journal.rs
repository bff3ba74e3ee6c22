//! [`Journal`]: the append-only file behind durable queues, in the core's record format
//! ([`sockwire_core::broker::journal`]). Records are buffered as the broker holds and lets
//! go of messages and written with one `fdatasync` for all of them ([`Journal::sync`]),
//! before any receipt leaves; when most of the file is messages already let go, it is
//! rewritten with what is still held.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sockwire_core::broker::journal::{self, Decoded, Record};
use sockwire_core::broker::Message;

/// The file's name in the data directory.
const FILE: &str = "queues.journal";
/// A file smaller than this is never rewritten.
const COMPACT_FROM: u64 = 4 << 20;

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: File,
    /// Records not yet written.
    pending: Vec<u8>,
    /// Bytes in the file.
    file_bytes: u64,
}

/// A message replayed from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Its sequence number.
    pub seq: u64,
    /// Its destination.
    pub destination: String,
    /// Its header lines, as published.
    pub headers: Vec<u8>,
    /// How they are escaped.
    pub escaping: sockwire_core::stomp::Escaping,
    /// Its body.
    pub body: Vec<u8>,
}

impl Journal {
    /// Opens (or creates) the journal in `dir` and replays it: the messages still held, in
    /// sequence order. A torn last record (a crash mid-write) is cut off.
    pub fn open(dir: &Path) -> io::Result<(Journal, Vec<Recovered>)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (held, good) = replay(&bytes);
        if good < bytes.len() {
            log::warn!(
                "{}: {} bytes after the last whole record cut off",
                path.display(),
                bytes.len() - good
            );
            file.set_len(good as u64)?;
            file.sync_data()?;
        }
        file.seek(SeekFrom::End(0))?;
        let journal = Journal {
            dir: dir.to_path_buf(),
            file,
            pending: Vec::new(),
            file_bytes: good as u64,
        };
        Ok((journal, held.into_values().collect()))
    }

    /// Notes that the broker holds `message` under `seq`.
    pub fn put(&mut self, seq: u64, message: Message<'_>) {
        self.append(&Record::Put { seq, message });
    }

    /// Notes that the message under `seq` is gone.
    pub fn remove(&mut self, seq: u64) {
        self.append(&Record::Remove { seq });
    }

    fn append(&mut self, record: &Record<'_>) {
        let at = self.pending.len();
        self.pending.resize(at + journal::encoded_len(record), 0);
        match journal::encode(record, &mut self.pending[at..]) {
            Ok(n) => self.pending.truncate(at + n),
            // Too large for the format (a destination over 64 KiB): the record is not
            // written and the message is not durable; the broker's limits keep messages
            // far below this.
            Err(_) => self.pending.truncate(at),
        }
    }

    /// Whether records wait to be written.
    pub fn is_dirty(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes the records noted so far and waits until the disk has them.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.pending)?;
        self.file.sync_data()?;
        self.file_bytes += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Whether the file is mostly messages let go: `live` bytes of records would hold
    /// what is still held.
    pub fn wants_compaction(&self, live: u64) -> bool {
        self.file_bytes >= COMPACT_FROM && self.file_bytes > live.saturating_mul(2)
    }

    /// Rewrites the file with `held` only (written to a new file, synced, renamed over
    /// the old one). Records noted and not synced are synced first.
    pub fn compact<'m>(
        &mut self,
        held: impl Iterator<Item = (u64, Message<'m>)>,
    ) -> io::Result<()> {
        self.sync()?;
        let fresh = self.dir.join(format!("{FILE}.new"));
        let mut out = Vec::new();
        for (seq, message) in held {
            let record = Record::Put { seq, message };
            let at = out.len();
            out.resize(at + journal::encoded_len(&record), 0);
            if let Ok(n) = journal::encode(&record, &mut out[at..]) {
                out.truncate(at + n);
            } else {
                out.truncate(at);
            }
        }
        let mut file = File::create(&fresh)?;
        file.write_all(&out)?;
        file.sync_data()?;
        std::fs::rename(&fresh, self.dir.join(FILE))?;
        File::open(&self.dir)?.sync_all()?;
        self.file = OpenOptions::new().append(true).open(self.dir.join(FILE))?;
        self.file_bytes = out.len() as u64;
        Ok(())
    }
}

/// The messages `bytes` leave held, and how many bytes were whole records.
fn replay(bytes: &[u8]) -> (std::collections::BTreeMap<u64, Recovered>, usize) {
    let mut held = std::collections::BTreeMap::new();
    let mut at = 0;
    while let Decoded::Record(record, used) = journal::decode(bytes.get(at..).unwrap_or_default()) {
        at += used;
        match record {
            Record::Put { seq, message } => {
                held.insert(
                    seq,
                    Recovered {
                        seq,
                        destination: message.destination.to_string(),
                        headers: message.headers.as_bytes().to_vec(),
                        escaping: message.headers.escaping(),
                        body: message.body.to_vec(),
                    },
                );
            }
            Record::Remove { seq } => {
                held.remove(&seq);
            }
        }
    }
    (held, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockwire_core::broker::HeaderLines;

    fn message(body: &[u8]) -> Message<'_> {
        Message {
            destination: "/queue/j",
            headers: HeaderLines::new(b"k:v"),
            body,
        }
    }

    #[test]
    fn what_was_synced_comes_back_and_a_torn_tail_is_cut() {
        let dir = std::env::temp_dir().join(format!("sockwire-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut j, held) = Journal::open(&dir).unwrap();
        assert!(held.is_empty());
        j.put(1, message(b"one"));
        j.put(2, message(b"two"));
        j.remove(1);
        j.sync().unwrap();
        j.put(3, message(b"three"));
        // Not synced: lost with the process, as its receipt was never sent.
        drop(j);
        // A crash mid-write leaves half a record.
        let path = dir.join(FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (mut j, held) = Journal::open(&dir).unwrap();
        let bodies: Vec<&[u8]> = held.iter().map(|r| r.body.as_slice()).collect();
        assert_eq!(bodies, [&b"two"[..]]);
        assert_eq!(held[0].seq, 2);
        // Appends after the cut are read back.
        j.put(4, message(b"four"));
        j.sync().unwrap();
        j.compact([(4, message(b"four"))].into_iter()).unwrap();
        let (_, held) = Journal::open(&dir).unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].body, b"four");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
