//! What `export` tells the person running it, on stderr: on a terminal,
//! status changes and a live byte count on one redrawn line; otherwise
//! (a log, CI) one line per event and no byte counter.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The line is redrawn at most this often.
const REDRAW: Duration = Duration::from_millis(100);

pub struct Events {
    quiet: bool,
    terminal: bool,
    /// A progress line is on screen and must be cleared before the next
    /// message.
    drawn: bool,
    last_drawn: Option<Instant>,
    last_status: Option<(String, String)>,
}

impl Events {
    pub fn new(quiet: bool) -> Events {
        Events {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            drawn: false,
            last_drawn: None,
            last_status: None,
        }
    }

    /// A line of its own (not shown under `-q`).
    pub fn note(&mut self, text: &str) {
        if !self.quiet {
            self.line(text);
        }
    }

    /// An error or warning: shown even under `-q`.
    pub fn problem(&mut self, text: &str) {
        self.line(&format!("stream-chat-export: {text}"));
    }

    fn line(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.drawn {
            let _ = write!(err, "\r\x1b[2K");
            self.drawn = false;
        }
        let _ = writeln!(err, "{text}");
    }

    /// A task's status, shown when it changed.
    pub fn status(&mut self, task: &str, status: &str) {
        let now = (task.to_string(), status.to_string());
        if self.last_status.as_ref() != Some(&now) {
            self.note(&format!("task {task}: {status}"));
            self.last_status = Some(now);
        }
    }

    /// Bytes downloaded so far (terminal only).
    pub fn bytes(&mut self, task: &str, have: u64, total: Option<u64>) {
        if self.quiet || !self.terminal {
            return;
        }
        let now = Instant::now();
        if self
            .last_drawn
            .is_some_and(|t| now.duration_since(t) < REDRAW)
            && total != Some(have)
        {
            return;
        }
        self.last_drawn = Some(now);
        let text = match total {
            Some(t) if t > 0 => format!(
                "task {task}: downloading {} of {} ({:.0}%)",
                human(have),
                human(t),
                have as f64 * 100.0 / t as f64
            ),
            _ => format!("task {task}: downloading {}", human(have)),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
        self.drawn = true;
    }
}

/// Bytes for people: `812 B`, `12.4 MiB`.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
