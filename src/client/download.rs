//! Downloading a task's file: streamed to `DEST.part`, resumed with a
//! range request after a break, re-signed when the URL has expired,
//! hashed on the way, and renamed to `DEST` only when whole.

use super::error::{Error, Result};
use super::retry::server_delay;
use super::types::{Completed, Downloaded};
use super::{Client, scrub, shown_url};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Fresh URLs fetched for one download before giving up: an expired link
/// is renewed by a status request, so a second 403 in a row is a real one.
const MAX_REFRESHES: u32 = 3;
/// The copy buffer.
const BUFFER: usize = 256 << 10;

/// The partial file beside `dest`.
pub(crate) fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// What one request brought.
enum Attempt {
    /// The body ended where the file ends.
    Whole,
    /// It broke off (or the server went wrong) and may be resumed; the
    /// pause the server asked for, if any.
    Broken(String, Option<std::time::Duration>),
    /// The URL is no longer valid (expired).
    Expired(u16),
}

/// The partial file and what is known about it.
struct Part {
    path: PathBuf,
    file: File,
    have: u64,
    hasher: Sha256,
    /// The file's full length, once a response said.
    total: Option<u64>,
    /// Responses that continued the file where it broke off.
    resumes: u32,
}

impl Part {
    /// Opens (or creates) the partial file and hashes what it holds, so a
    /// resumed download ends with the hash of the whole file.
    fn open(path: PathBuf) -> Result<Part> {
        let io_err = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(io_err(io::Error::other(
                "exists and is not a regular file; not writing through it",
            )));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        let mut hasher = Sha256::new();
        let mut have = 0u64;
        let mut buf = vec![0u8; BUFFER];
        loop {
            let n = file.read(&mut buf).map_err(io_err)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            have += n as u64;
        }
        Ok(Part {
            path,
            file,
            have,
            hasher,
            total: None,
            resumes: 0,
        })
    }

    fn io(&self, source: io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Drops what the file holds: the server sent the whole file again.
    fn restart(&mut self) -> Result<()> {
        self.file.set_len(0).map_err(|e| self.io(e))?;
        self.file.seek(SeekFrom::Start(0)).map_err(|e| self.io(e))?;
        self.have = 0;
        self.hasher = Sha256::new();
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).map_err(|e| self.io(e))?;
        self.hasher.update(bytes);
        self.have += bytes.len() as u64;
        Ok(())
    }
}

/// `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL`): the start
/// and the total, when stated.
fn content_range(v: &str) -> (Option<u64>, Option<u64>) {
    let Some(spec) = v.trim().strip_prefix("bytes") else {
        return (None, None);
    };
    let (range, total) = spec.trim().split_once('/').unwrap_or((spec.trim(), "*"));
    let start = range
        .split_once('-')
        .and_then(|(s, _)| s.trim().parse().ok());
    (start, total.trim().parse().ok())
}

impl Client {
    /// Downloads a completed task's file to `dest`, through `DEST.part`
    /// (resumed if a previous run left one). `progress` is called with the
    /// bytes so far and the total when known. Breaks are resumed with a
    /// range request; an expired URL (403, 404, 410) is replaced by the
    /// one a fresh status request returns. `dest` appears only when the
    /// file is whole: as many bytes as the server said, synced to disk.
    pub fn download(
        &self,
        completed: &Completed,
        dest: &Path,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Downloaded> {
        let task_id = completed.task.id.0.clone();
        let mut part = Part::open(part_path(dest))?;
        let mut url = completed.url.clone();
        let (mut refreshed, mut failures) = (0u32, 0u32);
        loop {
            let before = part.have;
            let attempt = self.fetch(&task_id, &url, &mut part, progress)?;
            match attempt {
                Attempt::Whole => break,
                Attempt::Expired(status) => {
                    refreshed += 1;
                    if refreshed > MAX_REFRESHES {
                        return Err(Error::Download {
                            task_id,
                            message: format!(
                                "HTTP {status} from {} even after {MAX_REFRESHES} fresh URLs",
                                shown_url(&url)
                            ),
                        });
                    }
                    let task = self.task(&completed.task.id)?;
                    url = task.url.ok_or_else(|| Error::Download {
                        task_id: task_id.clone(),
                        message: format!(
                            "the URL expired and the task (now {}) has no new one",
                            task.status.as_str()
                        ),
                    })?;
                }
                Attempt::Broken(why, hint) => {
                    // Progress since the last break earns fresh attempts:
                    // a long download over a flaky link still finishes.
                    if part.have > before {
                        failures = 0;
                    }
                    failures += 1;
                    if failures >= self.retry.max_attempts {
                        return Err(Error::Download {
                            task_id,
                            message: format!(
                                "{why}; gave up after {failures} attempts with {} bytes (run again to resume)",
                                part.have
                            ),
                        });
                    }
                    std::thread::sleep(self.retry.delay(failures - 1, hint));
                }
            }
        }
        part.file.sync_all().map_err(|e| part.io(e))?;
        let bytes = part.have;
        let resumes = part.resumes;
        let sha256 = hex(&part.hasher.finalize());
        drop(part.file);
        fs::rename(&part.path, dest).map_err(|source| Error::Io {
            path: dest.to_path_buf(),
            source,
        })?;
        Ok(Downloaded {
            bytes,
            sha256,
            resumed: resumes,
            refreshed,
        })
    }

    /// One request for the rest of the file.
    fn fetch(
        &self,
        task_id: &str,
        url: &str,
        part: &mut Part,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Attempt> {
        // The URL is signed by its query: no credentials go with it.
        let mut request = self.agent.get(url);
        if part.have > 0 {
            request = request.header("Range", format!("bytes={}-", part.have));
        }
        let mut resp = match request.call() {
            Ok(resp) => resp,
            Err(e) => {
                let e = scrub(&e.to_string(), &self.key);
                return Ok(Attempt::Broken(format!("{}: {e}", shown_url(url)), None));
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let length: Option<u64> = text("content-length").and_then(|v| v.trim().parse().ok());
        let (range_start, range_total) = text("content-range").map_or((None, None), content_range);
        let hint = server_delay(text("retry-after"), None);
        match status {
            200 => {
                // The whole file (a server may ignore the range).
                part.restart()?;
                part.total = length;
            }
            206 => {
                let total = range_total.or(part.total);
                if range_start != Some(part.have) || (part.total.is_some() && total != part.total) {
                    // Not the piece asked for, or another file: start over.
                    part.restart()?;
                    part.total = None;
                    return Ok(Attempt::Broken(
                        "the server resumed at the wrong place; starting over".into(),
                        None,
                    ));
                }
                part.total = total;
                part.resumes += 1;
            }
            416 if range_total == Some(part.have) => {
                // Asked for the bytes after the last one: already whole.
                part.total = range_total;
                return Ok(Attempt::Whole);
            }
            416 => {
                part.restart()?;
                return Ok(Attempt::Broken(
                    "the range was refused; starting over".into(),
                    None,
                ));
            }
            401 | 403 | 404 | 410 => return Ok(Attempt::Expired(status)),
            429 | 500..=599 => {
                return Ok(Attempt::Broken(format!("HTTP {status}"), hint));
            }
            _ => {
                return Err(Error::Download {
                    task_id: task_id.to_string(),
                    message: format!("HTTP {status} from {}", shown_url(url)),
                });
            }
        }
        progress(part.have, part.total);
        let mut body = resp.body_mut().with_config().limit(u64::MAX).reader();
        let mut buf = vec![0u8; BUFFER];
        loop {
            match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    part.append(&buf[..n])?;
                    progress(part.have, part.total);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Ok(Attempt::Broken(
                        format!(
                            "the connection broke after {} bytes: {}",
                            part.have,
                            scrub(&e.to_string(), &self.key)
                        ),
                        None,
                    ));
                }
            }
        }
        match part.total {
            Some(total) if part.have < total => Ok(Attempt::Broken(
                format!("the body ended at {} of {total} bytes", part.have),
                None,
            )),
            Some(total) if part.have > total => {
                part.restart()?;
                Ok(Attempt::Broken(
                    format!("more bytes than the {total} announced; starting over"),
                    None,
                ))
            }
            _ => Ok(Attempt::Whole),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(content_range("bytes 100-199/200"), (Some(100), Some(200)));
        assert_eq!(content_range("bytes 0-9/*"), (Some(0), None));
        assert_eq!(content_range("bytes */55"), (None, Some(55)));
        assert_eq!(content_range("items 1-2/3"), (None, None));
    }

    #[test]
    fn part_files_sit_beside_the_destination() {
        assert_eq!(
            part_path(Path::new("/d/x.json")),
            PathBuf::from("/d/x.json.part")
        );
    }
}
