//! The registered files: handle `h` is the `h`-th file registered. Engines read and write
//! through this table; io_uring registers its descriptors as fixed files.

use crate::host::io::IoFailure;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

/// How a file is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAccess {
    /// READ only (the file must exist).
    Read,
    /// READ and WRITE (created if missing, never truncated).
    ReadWrite,
}

/// One registered file.
#[derive(Debug)]
pub struct RegisteredFile {
    /// Where it was opened from.
    pub path: PathBuf,
    /// The open file.
    pub file: File,
    /// Its access.
    pub access: FileAccess,
}

/// Registered files, by handle. A file that could not be opened can still hold its handle
/// ([`FileTable::register_or_record`]): requests on it then fail with the reason.
#[derive(Debug, Default)]
pub struct FileTable {
    files: Vec<Result<RegisteredFile, Unavailable>>,
}

/// A handle whose file could not be opened.
#[derive(Debug)]
struct Unavailable {
    path: PathBuf,
    reason: String,
}

impl FileTable {
    /// Open `path` for reading and register it; returns its handle. The error names the
    /// path.
    pub fn register(&mut self, path: &Path) -> std::io::Result<u32> {
        self.register_with(path, FileAccess::Read)
    }

    /// Open `path` with `access` and register it; returns its handle. Only regular files
    /// (or a path that does not exist yet, for a WRITE file) are taken: requests address a
    /// file by offset and a read past its length is an error, so a file must have a length
    /// that means what it says. A pipe, socket or device is refused before it is opened
    /// (opening a FIFO without a writer would block for ever).
    pub fn register_with(&mut self, path: &Path, access: FileAccess) -> std::io::Result<u32> {
        check_regular(path)?;
        let opened = match access {
            FileAccess::Read => File::open(path),
            FileAccess::ReadWrite => OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path),
        };
        let file = opened.map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(self.register_open(path.to_path_buf(), file, access))
    }

    /// Register a file that is already open (an unnamed temporary file, say); `label`
    /// names it in messages. Returns its handle.
    pub fn register_open(&mut self, label: PathBuf, file: File, access: FileAccess) -> u32 {
        self.files.push(Ok(RegisteredFile { path: label, file, access }));
        self.files.len() as u32 - 1
    }

    /// Register `path`, or, if it cannot be opened, keep its handle with the reason so that
    /// every request on it fails with that reason (a workload's missing file is an IO
    /// error of the slots that use it, not of the whole run). Returns the handle and the
    /// open error, if any.
    pub fn register_or_record(&mut self, path: &Path, access: FileAccess) -> (u32, Option<std::io::Error>) {
        match self.register_with(path, access) {
            Ok(handle) => (handle, None),
            Err(e) => {
                self.files.push(Err(Unavailable { path: path.to_path_buf(), reason: e.to_string() }));
                (self.files.len() as u32 - 1, Some(e))
            }
        }
    }

    /// The file behind a handle, or why there is none.
    pub fn get(&self, handle: u32) -> Result<&RegisteredFile, IoFailure> {
        match self.files.get(handle as usize) {
            None => Err(IoFailure::BadHandle(handle)),
            Some(Ok(file)) => Ok(file),
            Some(Err(u)) => Err(IoFailure::Unavailable { handle, reason: u.reason.clone() }),
        }
    }

    /// The path behind a handle.
    pub fn path(&self, handle: u32) -> Option<&Path> {
        self.files.get(handle as usize).map(|f| match f {
            Ok(f) => f.path.as_path(),
            Err(u) => u.path.as_path(),
        })
    }

    /// How many files are registered.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether some handle has an open file.
    pub fn has_open_files(&self) -> bool {
        self.files.iter().any(|f| f.is_ok())
    }

    /// The descriptors, in handle order (-1 for a file that could not be opened: a sparse
    /// io_uring slot).
    pub fn raw_fds(&self) -> Vec<RawFd> {
        self.files.iter().map(|f| f.as_ref().map_or(-1, |f| f.file.as_raw_fd())).collect()
    }

    /// The current length of the file behind `handle`.
    pub fn len_of(&self, handle: u32) -> Result<u64, IoFailure> {
        let f = self.get(handle)?;
        f.file.metadata().map(|m| m.len()).map_err(|source| IoFailure::Os { handle, offset: 0, source })
    }

    /// Check that a READ of `handle` at `offset` may start (at most at the end of the file).
    pub fn check_read(&self, handle: u32, offset: u64) -> Result<(), IoFailure> {
        let len = self.len_of(handle)?;
        if offset > len {
            return Err(IoFailure::OffsetPastEnd { handle, offset, len });
        }
        Ok(())
    }

    /// Check that `handle` may be written.
    pub fn check_write(&self, handle: u32) -> Result<(), IoFailure> {
        match self.get(handle)?.access {
            FileAccess::ReadWrite => Ok(()),
            FileAccess::Read => Err(IoFailure::NotWritable(handle)),
        }
    }
}

/// `Ok` when `path` is a regular file or does not exist; an error naming the path and its
/// kind otherwise.
pub fn check_regular(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::metadata(path) else { return Ok(()) };
    let t = meta.file_type();
    // A directory opens and every read of it fails in the kernel (EISDIR), a clear error.
    let kind = if t.is_file() || t.is_dir() {
        return Ok(());
    } else if t.is_fifo() {
        "a pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "{}: is {kind}; IO requests address a file by offset and length, so only regular files are taken \
             (copy the data to a file first)",
            path.display()
        ),
    ))
}
