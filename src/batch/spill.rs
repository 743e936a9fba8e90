//! The records of a run written once, read by every file that reports them: an identity
//! change of a person known to 3 receivers is serialised once and copied into 3 files. The
//! records go to an unnamed temporary file (created in the outbox and unlinked at once, so
//! nothing is left behind whatever happens) with an index by sequence number, so memory
//! holds 20 bytes per record however many there are.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

pub struct Spill {
    out: BufWriter<File>,
    written: u64,
    /// (sequence number, offset, length), by sequence number.
    index: Vec<(i64, u64, u32)>,
}

impl Spill {
    pub fn create(dir: &Path) -> io::Result<Spill> {
        let path = dir.join(format!(
            ".raas-spill-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(Spill {
            out: BufWriter::with_capacity(1 << 20, file),
            written: 0,
            index: Vec::new(),
        })
    }

    /// Keeps the record of `seq` (records come in increasing sequence numbers).
    pub fn push(&mut self, seq: i64, record: &[u8]) -> io::Result<()> {
        debug_assert!(self.index.last().is_none_or(|(last, _, _)| *last < seq));
        let len = u32::try_from(record.len()).map_err(io::Error::other)?;
        self.out.write_all(record)?;
        self.index.push((seq, self.written, len));
        self.written += u64::from(len);
        Ok(())
    }

    /// Done writing: the records can be read.
    pub fn seal(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Copies the record of `seq` to `out`; `false` if there is none.
    pub fn copy_to(
        &self,
        seq: i64,
        buffer: &mut Vec<u8>,
        out: &mut impl Write,
    ) -> io::Result<bool> {
        let Ok(i) = self.index.binary_search_by_key(&seq, |(s, _, _)| *s) else {
            return Ok(false);
        };
        let (_, offset, len) = self.index[i];
        buffer.resize(len as usize, 0);
        self.out.get_ref().read_exact_at(buffer, offset)?;
        out.write_all(buffer)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_by_sequence_number() {
        let dir = tempfile::tempdir().unwrap();
        let mut spill = Spill::create(dir.path()).unwrap();
        spill.push(3, b"<a/>").unwrap();
        spill.push(9, b"<bb/>").unwrap();
        spill.seal().unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no file is left"
        );
        let (mut buffer, mut out) = (Vec::new(), Vec::new());
        assert!(spill.copy_to(9, &mut buffer, &mut out).unwrap());
        assert!(spill.copy_to(3, &mut buffer, &mut out).unwrap());
        assert!(!spill.copy_to(4, &mut buffer, &mut out).unwrap());
        assert_eq!(out, b"<bb/><a/>");
    }
}
