//! The one input policy: how a path becomes bytes — mapped, or streamed —
//! for the reader, the engine and the command-line tool alike.

use crate::error::{Error, ErrorKind, Result};
use crate::io::source::{GZIP_MAGIC, MappedFile};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;

/// Whether plain files may be memory-mapped.
///
/// Mapping is fast (no copy, no read calls) but it rests on a contract the
/// library cannot check: **if another process truncates a mapped file
/// while it is read, the next access to a lost page kills the process with
/// `SIGBUS`**, and if it rewrites the file in place, bytes change under
/// safe code. So mapping is an explicit, `unsafe` choice, as in ripgrep's
/// `grep-searcher`: the default ([`MmapChoice::never`]) reads in blocks;
/// [`MmapChoice::auto`] maps regular files when the caller promises they
/// will not change while read. When mapping fails, the file is read in
/// blocks instead, quietly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MmapChoice {
    map: bool,
}

impl MmapChoice {
    /// Never map; read files in blocks (the default).
    pub fn never() -> MmapChoice {
        MmapChoice { map: false }
    }

    /// Map regular, non-empty, uncompressed files.
    ///
    /// # Safety
    /// The caller promises that no file read with this choice is truncated
    /// or modified while it is mapped (see the type's documentation): a
    /// truncation kills the process with `SIGBUS`, a modification is
    /// undefined behaviour.
    pub unsafe fn auto() -> MmapChoice {
        MmapChoice { map: true }
    }

    /// Does this choice map files?
    pub fn maps(&self) -> bool {
        self.map
    }
}

/// An input, opened by the one policy ([`Input::open`]): a mapped file,
/// read as a slice (in parallel, zero-copy), or a stream (a file read in
/// blocks, gzip, stdin), read on a thread of its own.
#[non_exhaustive]
pub enum Input {
    /// A mapped plain file.
    Mapped(MappedFile),
    /// Anything else; gzip is detected from the first bytes when read.
    Stream(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Mapped(m) => write!(f, "Input::Mapped({} bytes)", m.bytes().len()),
            Input::Stream(_) => f.write_str("Input::Stream"),
        }
    }
}

impl Input {
    /// Opens `path`: `-` is stdin; a directory is an error; a regular,
    /// non-empty file that is not gzip is mapped when `mmap` allows it;
    /// everything else (gzip files, pipes, devices, empty files) is a
    /// stream. Errors name the path.
    pub fn open(path: impl AsRef<Path>, mmap: MmapChoice) -> Result<Input> {
        let path = path.as_ref();
        Input::open_unnamed(path, mmap).map_err(|e| e.with_path(path))
    }

    fn open_unnamed(path: &Path, mmap: MmapChoice) -> Result<Input> {
        if path == Path::new("-") {
            return Ok(Input::Stream(Box::new(io::stdin())));
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(Error::new(ErrorKind::Io(io::Error::other(
                "is a directory",
            ))));
        }
        if !meta.is_file() || meta.len() == 0 || !mmap.maps() {
            // A pipe or device cannot be mapped or rewound; it is sniffed
            // while it is read.
            return Ok(Input::Stream(Box::new(file)));
        }
        let mut head = [0u8; 2];
        let n = read_full(&mut &file, &mut head)?;
        let mut file = file;
        file.seek(io::SeekFrom::Start(0))?;
        if n == 2 && head == GZIP_MAGIC {
            return Ok(Input::Stream(Box::new(file)));
        }
        // SAFETY: the caller of `MmapChoice::auto` promised the file is not
        // changed while mapped.
        match unsafe { MappedFile::from_file(&file) } {
            Ok(map) => Ok(Input::Mapped(map)),
            Err(_) => Ok(Input::Stream(Box::new(file))),
        }
    }

    /// Standard input, as a stream.
    pub fn stdin() -> Input {
        Input::Stream(Box::new(io::stdin()))
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
