//! The outbox: `<outbox>/<cbe>/` folders of data files, vouchers and signatures, and the
//! order they are made durable in.
//!
//! Each file is first written under a temporary name (`.<name>.partial`) and renamed only
//! once its bytes are on disk, so a name in the outbox always holds a complete file. A run
//! writes its files in three waves — every data file, then every voucher, then every
//! signature — each wave made durable by one `syncfs` of the outbox's file system before its
//! renames, and the last renames made durable before the database records the files (one
//! call per wave instead of one `fsync` per file: thousands of receivers would otherwise
//! cost thousands of journal commits). So a voucher's presence means its data file is
//! complete, and a signature's presence means its voucher is.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// The suffix of a voucher beside its data file, and of the voucher's signature.
pub const VOUCHER_SUFFIX: &str = ".voucher.xml";
pub const SIGNATURE_SUFFIX: &str = ".voucher.sig";

/// The variable that makes a run abort the process (as `kill -9` would) after that many
/// steps — for the crash tests: every moment of a run can be tried.
pub const ABORT_AFTER_VAR: &str = "RAAS_BATCH_ABORT_AFTER_STEPS";

pub struct Outbox {
    root: PathBuf,
}

fn io_context(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl Outbox {
    /// The outbox at `root` (created if missing).
    pub fn open(root: &Path) -> io::Result<Outbox> {
        fs::create_dir_all(root).map_err(|e| io_context(root, e))?;
        Ok(Outbox {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a receiver (created if missing).
    pub fn folder(&self, receiver: &str) -> io::Result<PathBuf> {
        let dir = self.root.join(receiver);
        fs::create_dir_all(&dir).map_err(|e| io_context(&dir, e))?;
        Ok(dir)
    }

    /// Makes everything written to the outbox's file system durable (data, names).
    pub fn sync(&self) -> io::Result<()> {
        let dir = File::open(&self.root).map_err(|e| io_context(&self.root, e))?;
        sync_file_system(&dir).map_err(|e| io_context(&self.root, e))
    }
}

#[cfg(target_os = "linux")]
fn sync_file_system(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call.
    if unsafe { libc::syncfs(file.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_file_system(_file: &File) -> io::Result<()> {
    // No syncfs: flush everything.
    // SAFETY: sync takes no argument and cannot fail.
    unsafe { libc::sync() };
    Ok(())
}

/// The temporary name a file is written under.
pub fn partial(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

pub fn voucher_path(data: &Path) -> PathBuf {
    with_suffix(data, VOUCHER_SUFFIX)
}

pub fn signature_path(data: &Path) -> PathBuf {
    with_suffix(data, SIGNATURE_SUFFIX)
}

fn with_suffix(data: &Path, suffix: &str) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Moves a written temporary file to its name.
pub fn publish(path: &Path) -> io::Result<()> {
    fs::rename(partial(path), path).map_err(|e| io_context(path, e))
}

/// Removes a file if it is there.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_context(path, e)),
        _ => Ok(()),
    }
}

/// Writes `bytes` under the temporary name of `path`.
pub fn write_partial(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = partial(path);
    fs::write(&temporary, bytes).map_err(|e| io_context(&temporary, e))
}

/// A data file being written under its temporary name: counts its bytes and computes its
/// SHA-256 on the way.
pub struct DataFile {
    out: BufWriter<File>,
    digest: Sha256,
    bytes: u64,
}

impl DataFile {
    pub fn create(path: &Path) -> io::Result<DataFile> {
        let temporary = partial(path);
        let file = File::create(&temporary).map_err(|e| io_context(&temporary, e))?;
        Ok(DataFile {
            out: BufWriter::with_capacity(1 << 16, file),
            digest: Sha256::new(),
            bytes: 0,
        })
    }

    /// Flushes the file; its size and lowercase hex SHA-256.
    pub fn finish(mut self) -> io::Result<(u64, String)> {
        self.out.flush()?;
        let digest = self.digest.finalize();
        Ok((self.bytes, hex(&digest)))
    }
}

impl Write for DataFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.digest.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 and size of a file, read in a stream.
pub fn digest_of(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path).map_err(|e| io_context(path, e))?;
    let mut digest = Sha256::new();
    let bytes = io::copy(&mut file, &mut digest)?;
    Ok((bytes, hex(&digest.finalize())))
}

/// Counts a run's steps and aborts the process at the one [`ABORT_AFTER_VAR`] names.
pub struct Steps {
    abort_after: Option<u64>,
    done: AtomicU64,
}

impl Steps {
    pub fn from_environment() -> Steps {
        Steps {
            abort_after: std::env::var(ABORT_AFTER_VAR)
                .ok()
                .and_then(|v| v.trim().parse().ok()),
            done: AtomicU64::new(0),
        }
    }

    /// One more step is done.
    pub fn step(&self) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        if self.abort_after == Some(done) {
            eprintln!("{ABORT_AFTER_VAR}={done}: aborting");
            std::process::abort();
        }
    }
}
