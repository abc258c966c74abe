//! The one place that decides how an input is opened: mapped, or read as a
//! stream (gzip, stdin, pipes, devices, `--no-mmap`).

use std::io;
use std::path::Path;
use stream_chat_export::{Error, ErrorKind, MappedFile, Result};

/// An opened input.
pub enum Input {
    /// A non-empty plain regular file, mapped: decoded in parallel chunks
    /// without copying.
    Mapped(MappedFile),
    /// Anything else, read in order: gzip files (inflated on a thread of
    /// their own by the parallel executor, rather than on the decoding
    /// thread from a mapping), stdin, pipes, empty files, and every file
    /// under `--no-mmap`.
    Stream {
        /// The bytes, compressed or not (the reader detects gzip).
        reader: Box<dyn io::Read + Send>,
        /// The size of a regular file (for progress); 0 when unknown.
        size: u64,
    },
}

/// The first bytes of a gzip file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `file` (`-` is stdin); maps plain regular files when `mmap`.
pub fn open(file: &Path, mmap: bool) -> Result<Input> {
    if file == Path::new("-") {
        return Ok(Input::Stream {
            reader: Box::new(io::stdin()),
            size: 0,
        });
    }
    let with_path = |e: io::Error| Error::from(e).with_path(file);
    let handle = std::fs::File::open(file).map_err(with_path)?;
    let meta = handle.metadata().map_err(with_path)?;
    if meta.is_dir() {
        // As the library's `from_path` reports it.
        let e = io::Error::other("is a directory");
        return Err(Error::new(ErrorKind::Io(e)).with_path(file));
    }
    if mmap
        && meta.is_file()
        && meta.len() > 0
        && let Ok(map) = MappedFile::open(file)
        && !map.bytes().starts_with(&GZIP_MAGIC)
    {
        return Ok(Input::Mapped(map));
    }
    let size = if meta.is_file() { meta.len() } else { 0 };
    Ok(Input::Stream {
        reader: Box::new(handle),
        size,
    })
}

/// The size of `file` if it is a regular file (progress totals), else 0.
pub fn size_of(file: &Path) -> u64 {
    if file == Path::new("-") {
        return 0;
    }
    std::fs::metadata(file).map_or(0, |m| if m.is_file() { m.len() } else { 0 })
}
