//! A folder output that appears under its final name only when complete.

use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

/// A temporary folder beside a destination folder, renamed over it by
/// [`Staging::commit`].
///
/// The folder is created exclusively under an unpredictable name
/// (`.NAME.XXXXXX.tmp`) in the destination's parent, so the final rename
/// never crosses file systems and nothing planted there beforehand is
/// written through; files inside it are created by the writers with
/// ordinary names. Dropped without `commit` (an error, a panic), the
/// folder and everything in it is removed and the destination is left as
/// it was.
///
/// The destination must not exist, or be an empty folder: a conversion
/// never deletes data it did not write.
#[derive(Debug)]
pub struct Staging {
    dir: Option<tempfile::TempDir>,
    destination: PathBuf,
}

impl Staging {
    /// Creates the temporary folder for `destination`.
    pub fn new(destination: &Path) -> Result<Staging> {
        let usage = |m: String| Error::new(ErrorKind::Usage(m)).with_path(destination);
        match std::fs::symlink_metadata(destination) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::new(ErrorKind::Write(e)).with_path(destination)),
            Ok(meta) if meta.is_dir() => {
                let empty = std::fs::read_dir(destination)
                    .map_err(|e| Error::new(ErrorKind::Write(e)).with_path(destination))?
                    .next()
                    .is_none();
                if !empty {
                    return Err(usage(
                        "exists and is not empty; the tables go into a new folder (remove it or choose another --out)"
                            .into(),
                    ));
                }
            }
            Ok(_) => {
                return Err(usage(
                    "exists and is not a folder; the tables go into a new folder".into(),
                ));
            }
        }
        let parent = match destination.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = destination
            .file_name()
            .unwrap_or(destination.as_os_str())
            .to_string_lossy();
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempdir_in(parent)
            .map_err(|e| Error::new(ErrorKind::Write(e)).with_path(destination))?;
        Ok(Staging {
            dir: Some(dir),
            destination: destination.to_path_buf(),
        })
    }

    /// Where the files go until [`Staging::commit`].
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    /// The final folder.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Renames the temporary folder over the destination (an empty folder
    /// there is replaced; anything else is refused by the rename itself).
    pub fn commit(mut self) -> Result<PathBuf> {
        let Some(dir) = self.dir.take() else {
            return Ok(self.destination.clone());
        };
        let kept = dir.keep();
        // The temporary folder was created 0700; the dataset is for its
        // readers as any other output is.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o755));
        }
        std::fs::rename(&kept, &self.destination).map_err(|e| {
            let _ = std::fs::remove_dir_all(&kept);
            Error::new(ErrorKind::Write(e)).with_path(&self.destination)
        })?;
        Ok(self.destination.clone())
    }
}

/// Makes `dir` and its parents inside a staging folder.
#[cfg(feature = "parquet")]
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::new(ErrorKind::Write(e)).with_path(dir))
}

/// A write error naming `path`.
pub(crate) fn write_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::new(ErrorKind::Write(e)).with_path(path)
}
