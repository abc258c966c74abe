//! Waiting for a task: poll with backoff until it completes, fails, or
//! the deadline passes.

use super::Client;
use super::error::{Error, Result};
use super::types::{Completed, Task, TaskId, TaskStatus};
use std::time::{Duration, Instant};

/// How a task is waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long (`None`: wait as long as it takes).
    pub timeout: Option<Duration>,
    /// The first pause between two polls, doubled after each poll.
    pub first_interval: Duration,
    /// The longest pause between two polls.
    pub max_interval: Duration,
}

impl Default for WaitOptions {
    /// Polls after 1 s, 2 s, 4 s, 8 s, then every 15 s, for up to an hour.
    fn default() -> WaitOptions {
        WaitOptions {
            timeout: Some(Duration::from_secs(3600)),
            first_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(15),
        }
    }
}

impl Client {
    /// Polls the task until it completes (then returns its fresh download
    /// URL) or fails (the task's error description). `on_poll` sees every
    /// status read. Each poll is a read, retried on 429 and transport
    /// errors within the deadline.
    pub fn wait(
        &self,
        id: &TaskId,
        options: &WaitOptions,
        on_poll: &mut dyn FnMut(&Task),
    ) -> Result<Completed> {
        let started = Instant::now();
        let deadline = options.timeout.map(|t| started + t);
        let mut interval = options.first_interval;
        loop {
            let task = self.task_before(id, deadline)?;
            on_poll(&task);
            match (&task.status, &task.url) {
                (TaskStatus::Completed, Some(url)) => {
                    let url = url.clone();
                    return Ok(Completed { task, url });
                }
                (TaskStatus::Failed, _) => {
                    let (kind, description) = match task.error {
                        Some(e) => (e.kind, e.description),
                        None => (None, "no reason given".to_string()),
                    };
                    return Err(Error::TaskFailed {
                        task_id: id.0.clone(),
                        kind,
                        description,
                    });
                }
                // Completed without a URL yet, or still running: poll on.
                _ => {}
            }
            let now = Instant::now();
            let pause = match deadline {
                Some(d) if now >= d => {
                    return Err(Error::Timeout {
                        task_id: id.0.clone(),
                        status: task.status.as_str().to_string(),
                        waited: now - started,
                    });
                }
                // The last poll falls on the deadline itself.
                Some(d) => interval.min(d - now),
                None => interval,
            };
            std::thread::sleep(pause);
            interval = (interval * 2).min(options.max_interval);
        }
    }
}
