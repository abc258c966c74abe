//! Where output goes: stdout, or a file that appears under its final name
//! only once it is complete.

use crate::{Compression, Error, ErrorKind, Result};
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An output destination: standard output or a file, plain or gzip.
///
/// A file is written under a temporary name in its destination folder
/// (unpredictable, created exclusively, so a symlink planted there is never
/// followed) and renamed over the final name by [`Output::finish`], after
/// the gzip trailer, the flush and an `fsync` succeeded. On any error, or
/// when the `Output` is dropped without `finish`, the temporary file is
/// removed and the final name is left as it was: a reader of the final name
/// never sees a half-written or truncated file, and a full disk is an
/// error, never a silently corrupt archive.
///
/// A destination that exists and is not a regular file (`/dev/null`, a
/// FIFO, a terminal, `/dev/stdout`) is opened and written directly, never
/// replaced.
///
/// Errors are [`ErrorKind::Write`] errors whose path names the output.
pub struct Output {
    sink: Sink,
    path: PathBuf,
}

/// The compression layer over the buffered target.
enum Sink {
    Plain(BufWriter<Target>),
    Gzip(GzEncoder<BufWriter<Target>>),
}

/// The bytes' final destination.
enum Target {
    Stdout(io::Stdout),
    /// A regular file in the making, renamed over `final_path` at the end.
    Temporary {
        file: tempfile::NamedTempFile,
        final_path: PathBuf,
    },
    /// A device or pipe: written in place.
    Direct(File),
}

/// The name errors give standard output.
const STDOUT_NAME: &str = "<stdout>";

/// Output is handed to the operating system in blocks of this size.
const BUFFER: usize = 1 << 20;

impl Output {
    /// Standard output, uncompressed.
    pub fn stdout() -> Output {
        Output::new(Target::Stdout(io::stdout()), Compression::None, STDOUT_NAME)
    }

    /// A file at `path`, gzip-compressed when its name ends in `.gz`;
    /// `-` is standard output.
    pub fn create(path: impl AsRef<Path>) -> Result<Output> {
        let path = path.as_ref();
        if path == Path::new("-") {
            return Ok(Output::stdout());
        }
        let compression = if path.extension().is_some_and(|e| e == "gz") {
            Compression::Gzip
        } else {
            Compression::None
        };
        Output::create_with(path, compression)
    }

    /// A file at `path` with the given compression, whatever its name.
    pub fn create_with(path: impl AsRef<Path>, compression: Compression) -> Result<Output> {
        let path = path.as_ref();
        let error = |e: io::Error| Error::new(ErrorKind::Write(e)).with_path(path);
        let target = match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(error(io::Error::other("is a directory")));
            }
            Ok(meta) if !meta.is_file() => Target::Direct(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(error)?,
            ),
            _ => Target::Temporary {
                file: temporary_beside(path).map_err(error)?,
                final_path: path.to_path_buf(),
            },
        };
        Ok(Output::new(target, compression, path))
    }

    fn new(target: Target, compression: Compression, path: impl Into<PathBuf>) -> Output {
        let buffered = BufWriter::with_capacity(BUFFER, target);
        let sink = match compression {
            // Fast compression: the output of a filter is usually an
            // intermediate file; level 1 keeps gzip off the critical path.
            Compression::Gzip => Sink::Gzip(GzEncoder::new(buffered, flate2::Compression::fast())),
            Compression::None => Sink::Plain(buffered),
        };
        Output {
            sink,
            path: path.into(),
        }
    }

    /// The output's name as errors give it (`<stdout>` for standard output).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True for standard output.
    pub fn is_stdout(&self) -> bool {
        matches!(self.target(), Target::Stdout(_))
    }

    fn target(&self) -> &Target {
        match &self.sink {
            Sink::Plain(w) => w.get_ref(),
            Sink::Gzip(w) => w.get_ref().get_ref(),
        }
    }

    /// Completes the output: writes the gzip trailer, flushes, syncs a file
    /// to disk and renames it over its final name. Every step's error is
    /// returned; after an error the final name is untouched.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let error = |e: io::Error| Error::new(ErrorKind::Write(e)).with_path(&path);
        let buffered = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish().map_err(error)?,
        };
        let target = buffered.into_inner().map_err(|e| error(e.into_error()))?;
        match target {
            Target::Stdout(mut out) => out.flush().map_err(error),
            Target::Direct(mut file) => file.flush().map_err(error),
            Target::Temporary { file, final_path } => {
                file.as_file().sync_all().map_err(error)?;
                file.persist(&final_path).map_err(|e| error(e.error))?;
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.write_all(buf),
            Sink::Gzip(w) => w.write_all(buf),
        }
    }

    /// Flushes what is buffered; [`Output::finish`] completes the file.
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output").field("path", &self.path).finish()
    }
}

impl Write for Target {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Target::Stdout(out) => out.write(buf),
            Target::Temporary { file, .. } => file.write(buf),
            Target::Direct(file) => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::Stdout(out) => out.flush(),
            Target::Temporary { file, .. } => file.flush(),
            Target::Direct(file) => file.flush(),
        }
    }
}

/// A new, empty, exclusively created file with an unpredictable name in
/// `path`'s folder (so the final rename never crosses file systems), named
/// after it for whoever finds it after a crash.
fn temporary_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or(path.as_os_str());
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // tempfile creates 0600 files; ask for 0666 as `File::create` does, so
    // the umask, not the temporary name, decides who may read the output.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // tempfile's error names the random temporary path, which means
    // nothing to the user: say which folder could not take the output.
    builder.tempfile_in(folder).map_err(|e| {
        let reason = match e.kind() {
            io::ErrorKind::NotFound => "no such folder".to_string(),
            io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            io::ErrorKind::NotADirectory => "not a folder".to_string(),
            other => other.to_string(),
        };
        io::Error::new(
            e.kind(),
            format!(
                "cannot create the output in folder {}: {reason}",
                folder.display()
            ),
        )
    })
}
