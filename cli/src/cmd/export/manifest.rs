//! `DIR/manifest.json`: every task this folder has seen, written as soon
//! as a task is created (so an interrupted run can be resumed with
//! `export wait`) and again after every change, always whole (a temporary
//! file renamed into place).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use stream_chat_export::Output;

/// The manifest's file name inside the output folder.
pub const FILE_NAME: &str = "manifest.json";

/// The manifest.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub tasks: Vec<Entry>,
}

/// One task: what was asked, where it is, and what was downloaded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub task_id: String,
    /// `channels` or `users`; for a task first seen by `export wait`,
    /// known once its file's URL says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// The task's last status seen; `completed` only once the file is
    /// downloaded whole and read back.
    pub status: String,
    /// Why the task or its download failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The downloaded file, relative to the folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// What our reader found in the file: its format, compression, counts
    /// per kind and the number of bad records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<BTreeMap<String, u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
}

impl Entry {
    /// A task just created.
    pub fn requested(task_id: &str, kind: &str, names: Vec<String>) -> Entry {
        let (channels, users) = match kind {
            "users" => (None, Some(names)),
            _ => (Some(names), None),
        };
        Entry {
            task_id: task_id.to_string(),
            kind: Some(kind.to_string()),
            channels,
            users,
            status: "requested".into(),
            error: None,
            file: None,
            bytes: None,
            sha256: None,
            format: None,
            compression: None,
            counts: None,
            errors: None,
        }
    }

    /// True when the task's file is in `dir`, whole as recorded: nothing
    /// to fetch again.
    pub fn is_done(&self, dir: &Path) -> bool {
        self.status == "completed"
            && match (&self.file, self.bytes) {
                (Some(file), Some(bytes)) => {
                    std::fs::metadata(dir.join(file)).is_ok_and(|m| m.is_file() && m.len() == bytes)
                }
                _ => false,
            }
    }
}

impl Manifest {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// The folder's manifest, or an empty one when there is none yet.
    pub fn load(dir: &Path) -> Result<Manifest, String> {
        let path = Manifest::path(dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{}: not a manifest of this tool ({e}); move it away or choose another --out",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the manifest whole, replacing the old one only when done.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let path = Manifest::path(dir);
        let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let mut out = Output::create(&path).map_err(|e| fail(&e))?;
        let mut text = serde_json::to_vec_pretty(self).map_err(|e| fail(&e))?;
        text.push(b'\n');
        out.write_all(&text).map_err(|e| fail(&e))?;
        out.finish().map_err(|e| fail(&e))
    }

    pub fn get(&self, task_id: &str) -> Option<&Entry> {
        self.tasks.iter().find(|e| e.task_id == task_id)
    }

    /// The entry of `task_id`, added (as seen by `export wait`) when the
    /// manifest has none.
    pub fn entry(&mut self, task_id: &str) -> &mut Entry {
        match self.tasks.iter().position(|e| e.task_id == task_id) {
            Some(i) => &mut self.tasks[i],
            None => {
                let mut entry = Entry::requested(task_id, "channels", Vec::new());
                entry.kind = None;
                entry.channels = None;
                entry.status = "unknown".into();
                self.tasks.push(entry);
                self.tasks.last_mut().expect("just pushed")
            }
        }
    }
}

/// A task id as a file name: letters, digits, `-` and `_` kept, anything
/// else `_`, so an id from the server cannot name a path outside the
/// folder.
pub fn file_stem(task_id: &str) -> String {
    let stem: String = task_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    if stem.is_empty() { "task".into() } else { stem }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_stay_in_the_folder() {
        assert_eq!(file_stem("a1b2-c3_d"), "a1b2-c3_d");
        assert_eq!(file_stem("../../etc/passwd"), "______etc_passwd");
        assert_eq!(file_stem(""), "task");
    }

    #[test]
    fn manifests_round_trip_and_replace_whole() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Manifest::load(dir.path()).unwrap().tasks.is_empty());
        let mut m = Manifest::default();
        m.tasks
            .push(Entry::requested("t1", "users", vec!["ann".into()]));
        m.save(dir.path()).unwrap();
        let back = Manifest::load(dir.path()).unwrap();
        assert_eq!(back.tasks, m.tasks);
        let text = std::fs::read_to_string(Manifest::path(dir.path())).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["tasks"][0]["users"][0], "ann");
        assert!(v["tasks"][0].get("channels").is_none());
        std::fs::write(Manifest::path(dir.path()), "{not json").unwrap();
        assert!(Manifest::load(dir.path()).is_err());
    }
}
