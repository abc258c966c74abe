//! One `export` run: the client, the output folder and its manifest, and
//! the steps every task goes through — requested, waited for, downloaded,
//! read back, renamed into place.

use super::Common;
use super::events::{Events, human};
use super::manifest::{Entry, Manifest, file_stem};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use stream_chat_export::client::{Client, Error as ClientError, TaskId, WaitOptions};
use stream_chat_export::{
    Compression, Engine, Format, Input, MmapChoice, Parallel, ReaderBuilder, inspect,
};

pub struct Session {
    client: Client,
    dir: PathBuf,
    manifest: Manifest,
    events: Events,
    deadline: Option<Instant>,
    first_interval: Duration,
    engine: Engine,
    /// Tasks this run created, in order.
    created: Vec<String>,
    /// Something did not complete: exit 1.
    incomplete: bool,
    /// Credentials rejected or the folder unwritable: exit 2, stop.
    fatal: bool,
}

impl Session {
    /// Checks credentials are present and prepares the folder; on failure
    /// the message is printed and the exit code returned.
    pub fn open(common: &Common) -> Result<Session, u8> {
        let fail = |m: String| {
            eprintln!("stream-chat-export: {m}");
            2
        };
        let client = Client::from_env().map_err(|e| fail(e.to_string()))?;
        let dir = common.out.clone();
        if dir.exists() && !dir.is_dir() {
            return Err(fail(format!("{}: --out must be a folder", dir.display())));
        }
        std::fs::create_dir_all(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        let manifest = Manifest::load(&dir).map_err(fail)?;
        let engine = Engine::new(&Parallel::new()).map_err(|e| fail(e.to_string()))?;
        Ok(Session {
            client,
            dir,
            manifest,
            events: Events::new(common.quiet),
            deadline: (!common.timeout.is_zero()).then(|| Instant::now() + common.timeout),
            first_interval: common.poll_interval,
            engine,
            created: Vec::new(),
            incomplete: false,
            fatal: false,
        })
    }

    /// Sends one export request (once: it is never retried) and records
    /// the new task in the manifest at once. False when the request
    /// failed: the caller requests nothing more.
    pub fn request(
        &mut self,
        kind: &str,
        names: Vec<String>,
        send: impl FnOnce(&Client) -> Result<TaskId, ClientError>,
    ) -> bool {
        match send(&self.client) {
            Ok(id) => {
                self.events.note(&format!(
                    "requested an export of {}: task {id}",
                    counted(names.len(), kind)
                ));
                self.manifest
                    .tasks
                    .push(Entry::requested(&id.0, kind, names));
                self.created.push(id.0);
                self.save()
            }
            Err(e) => {
                self.events.problem(&format!(
                    "the export request for {} ({}) failed: {e}",
                    counted(names.len(), kind),
                    preview(&names)
                ));
                self.events
                    .problem("it was sent once and not retried; nothing was requested after it");
                self.fail(&e);
                false
            }
        }
    }

    /// Waits for and downloads the tasks this run created.
    pub fn finish_requested(mut self) -> u8 {
        let created = std::mem::take(&mut self.created);
        if self.fatal {
            return 2;
        }
        self.finish(&created)
    }

    /// Waits for and downloads `tasks` (none: every unfinished task of the
    /// manifest), skipping those already downloaded whole.
    pub fn finish(mut self, tasks: &[String]) -> u8 {
        let tasks: Vec<String> = if tasks.is_empty() && self.created.is_empty() {
            let pending: Vec<String> = self
                .manifest
                .tasks
                .iter()
                .filter(|e| !e.is_done(&self.dir))
                .map(|e| e.task_id.clone())
                .collect();
            if self.manifest.tasks.is_empty() {
                eprintln!(
                    "stream-chat-export: no task ids given and {} lists none",
                    Manifest::path(&self.dir).display()
                );
                return 2;
            }
            if pending.is_empty() {
                self.events
                    .note("every task in the manifest is already downloaded");
            }
            pending
        } else {
            tasks.to_vec()
        };
        for id in &tasks {
            if self.fatal {
                break;
            }
            if let Some(entry) = self.manifest.get(id)
                && entry.is_done(&self.dir)
            {
                let file = entry.file.clone().unwrap_or_default();
                self.events
                    .note(&format!("task {id}: already downloaded ({file})"));
                continue;
            }
            self.complete(&TaskId(id.clone()));
        }
        if self.fatal {
            2
        } else if self.incomplete {
            1
        } else {
            0
        }
    }

    fn fail(&mut self, e: &ClientError) {
        if e.is_fatal() {
            self.fatal = true;
        } else {
            self.incomplete = true;
        }
    }

    /// Writes the manifest; a folder that cannot be written ends the run.
    fn save(&mut self) -> bool {
        match self.manifest.save(&self.dir) {
            Ok(()) => true,
            Err(m) => {
                self.events.problem(&m);
                self.fatal = true;
                false
            }
        }
    }

    /// One task from waiting to a verified file under its final name.
    fn complete(&mut self, id: &TaskId) {
        let mut options = WaitOptions::default();
        options.first_interval = self.first_interval;
        options.timeout = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        let Session {
            client,
            manifest,
            events,
            dir,
            ..
        } = self;
        let waited = client.wait(id, &options, &mut |task| {
            events.status(&id.0, task.status.as_str());
            let entry = manifest.entry(&id.0);
            if entry.status != task.status.as_str() && task.status.as_str() != "completed" {
                entry.status = task.status.as_str().to_string();
                // Best effort: the status is informative, the files are
                // what matters; a write failure shows at the next save.
                let _ = manifest.save(dir);
            }
        });
        let done = match waited {
            Ok(done) => done,
            Err(e) => return self.task_failed(id, &e),
        };
        let stem = file_stem(&id.0);
        let staging = self.dir.join(format!(".{stem}.download"));
        let events = &mut self.events;
        let got = match self.client.download(&done, &staging, &mut |have, total| {
            events.bytes(&id.0, have, total)
        }) {
            Ok(got) => got,
            Err(e) => return self.task_failed(id, &e),
        };
        // Read it back: the manifest says what is in the file, and the
        // extension says how to open it.
        let inspection = Input::open(&staging, MmapChoice::never())
            .and_then(|input| inspect(&self.engine, &ReaderBuilder::new(), input, Some(&staging)));
        let (format, compression, counts, errors) = match &inspection {
            Ok(i) => (
                Some(i.format),
                i.compression,
                Some(i.summary.counts.clone()),
                Some(i.report.errors),
            ),
            Err(e) => {
                self.events.problem(&format!(
                    "task {id}: the downloaded file could not be read: {e}"
                ));
                (None, Compression::None, None, None)
            }
        };
        let extension = match (format, compression) {
            (Some(Format::V1), Compression::Gzip) => "json.gz",
            (Some(Format::V1), _) => "json",
            (_, Compression::Gzip) => "jsonl.gz",
            _ => "jsonl",
        };
        let name = format!("{stem}.{extension}");
        if let Err(e) = std::fs::rename(&staging, self.dir.join(&name)) {
            self.events
                .problem(&format!("{}: {e}", self.dir.join(&name).display()));
            self.fatal = true;
            return;
        }
        let entry = self.manifest.entry(&id.0);
        entry
            .kind
            .get_or_insert_with(|| kind_of_url(&done.url).into());
        entry.status = "completed".into();
        entry.error = None;
        entry.file = Some(name.clone());
        entry.bytes = Some(got.bytes);
        entry.sha256 = Some(got.sha256.clone());
        entry.format = format.map(|f| f.as_str().to_string());
        entry.compression = Some(compression.as_str().to_string());
        entry.counts = counts.clone();
        entry.errors = errors;
        let mut notes = Vec::new();
        if got.resumed > 0 {
            notes.push(format!("resumed {}x", got.resumed));
        }
        if got.refreshed > 0 {
            notes.push(format!("URL renewed {}x", got.refreshed));
        }
        let counted: Vec<String> = counts
            .iter()
            .flatten()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        self.events.note(&format!(
            "task {id}: downloaded {} ({}, sha256 {}{}){}",
            name,
            human(got.bytes),
            &got.sha256[..16],
            if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join(", "))
            },
            match format {
                Some(f) => format!(": {} with {}", f.as_str(), counted.join(", ")),
                None => String::new(),
            }
        ));
        if let Some(n) = errors.filter(|n| *n > 0) {
            self.events.problem(&format!(
                "task {id}: {n} bad records in {name} (see `stream-chat-export validate {}`)",
                self.dir.join(&name).display()
            ));
        }
        self.save();
    }

    fn task_failed(&mut self, id: &TaskId, e: &ClientError) {
        self.events.problem(&e.to_string());
        let entry = self.manifest.entry(&id.0);
        match e {
            ClientError::TaskFailed { description, .. } => {
                entry.status = "failed".into();
                entry.error = Some(description.clone());
            }
            ClientError::Timeout { status, .. } => {
                entry.status = status.clone();
                entry.error = Some(e.to_string());
            }
            _ => entry.error = Some(e.to_string()),
        }
        self.fail(e);
        self.save();
    }
}

/// What a task exported, from its file's URL when the manifest does not
/// say (a task first seen by `export wait`): user exports are stored
/// under `/exports/users/`.
fn kind_of_url(url: &str) -> &'static str {
    let path = url.split('?').next().unwrap_or("");
    if path.contains("/exports/users/") {
        "users"
    } else {
        "channels"
    }
}

/// `1 channel`, `25 channels` (`kind` is the plural).
fn counted(n: usize, kind: &str) -> String {
    if n == 1 {
        format!("1 {}", kind.strip_suffix('s').unwrap_or(kind))
    } else {
        format!("{n} {kind}")
    }
}

/// The first few names of a list, for messages.
fn preview(names: &[String]) -> String {
    let mut shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
    if names.len() > 3 {
        shown.push("...");
    }
    shown.join(", ")
}
