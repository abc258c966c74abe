//! The same-file guard: an output must never be one of the inputs.

use crate::{Error, ErrorKind, Result};
use std::io;
use std::path::Path;

/// Refuses to write `output` when it is one of `inputs`.
///
/// Call it before anything is opened for writing. Files are compared by
/// identity (device and inode on Unix), not by name, so `./x`, a symlink
/// to `x`, a hard link and `x.gz` spelled two ways are all caught; `-`
/// among the inputs is standard input, and an `output` of `-` is standard
/// output, each compared by what it is open on (`filter x > x`,
/// `filter -o x - < x`). Only regular files are compared: a device or a
/// pipe is not truncated or replaced by [`Output`](crate::Output), and a
/// terminal is both stdin and stdout of an interactive run.
///
/// The error is a usage error ([`Category::Usage`](crate::Category)) that
/// names both paths.
pub fn ensure_not_an_input<P: AsRef<Path>>(output: &Path, inputs: &[P]) -> Result<()> {
    let is_stdout = output == Path::new("-");
    let out_id = if is_stdout {
        stdio_id(Stdio::Out)
    } else {
        path_id(output)
    };
    let Some(out_id) = out_id.ok().flatten() else {
        return Ok(());
    };
    for input in inputs {
        let input = input.as_ref();
        let in_id = if input == Path::new("-") {
            stdio_id(Stdio::In)
        } else {
            path_id(input)
        };
        if in_id.ok().flatten() == Some(out_id) {
            let what = if is_stdout {
                "standard output"
            } else {
                "the output"
            };
            let input_name = if input == Path::new("-") {
                "standard input".to_string()
            } else {
                input.display().to_string()
            };
            let message = format!(
                "{what} is the same file as the input {input_name}; refusing to overwrite an input"
            );
            let error = Error::new(ErrorKind::Usage(message));
            return Err(if is_stdout {
                error
            } else {
                error.with_path(output)
            });
        }
    }
    Ok(())
}

/// A regular file's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    device: u64,
    inode: u64,
}

enum Stdio {
    In,
    Out,
}

/// The identity of the regular file at `path` (symlinks followed); `None`
/// when there is none.
fn path_id(path: &Path) -> io::Result<Option<FileId>> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(id_of(&meta, path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn id_of(meta: &std::fs::Metadata, _path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    meta.is_file().then(|| FileId {
        device: meta.dev(),
        inode: meta.ino(),
    })
}

/// Without inode numbers in std, the canonical path stands in for the
/// identity (hard links are then not recognized).
#[cfg(not(unix))]
fn id_of(meta: &std::fs::Metadata, path: &Path) -> Option<FileId> {
    use std::hash::{Hash, Hasher};
    if !meta.is_file() {
        return None;
    }
    let canonical = std::fs::canonicalize(path).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    canonical.hash(&mut h);
    Some(FileId {
        device: 0,
        inode: h.finish(),
    })
}

/// What standard input or output is open on, by `fstat` of the
/// descriptor: no path is opened, so a FIFO never blocks the check.
#[cfg(unix)]
fn stdio_id(which: Stdio) -> io::Result<Option<FileId>> {
    use std::os::fd::AsFd;
    let fd = match which {
        Stdio::In => io::stdin().as_fd().try_clone_to_owned()?,
        Stdio::Out => io::stdout().as_fd().try_clone_to_owned()?,
    };
    let meta = std::fs::File::from(fd).metadata()?;
    Ok(id_of(&meta, Path::new("")))
}

#[cfg(not(unix))]
fn stdio_id(_: Stdio) -> io::Result<Option<FileId>> {
    Ok(None)
}
