//! One progress line for the whole run, on stderr, only when stderr is a
//! terminal (and not `--no-progress`): bytes done over bytes in total.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The run's progress: files already done plus the position in the current
/// one. Byte counts are of the files as stored (compressed, for gzip).
pub struct Progress {
    enabled: bool,
    /// The total of the inputs' sizes; 0 when some size is unknown (stdin,
    /// a pipe), when only the bytes done are shown.
    total: u64,
    /// The sizes of the files already done.
    done: u64,
    started: Instant,
    last_drawn: Option<Instant>,
    /// Calls since the clock was last read: reading it per entity would
    /// cost more than the entity.
    calls: u32,
}

/// Nothing is drawn during the first moments, so quick runs stay silent.
const QUIET_START: Duration = Duration::from_millis(300);
/// The line is redrawn at most this often.
const REDRAW: Duration = Duration::from_millis(100);

impl Progress {
    /// Progress over inputs of `total` bytes (0: unknown); drawn only when
    /// `wanted` and stderr is a terminal.
    pub fn new(wanted: bool, total: u64) -> Progress {
        Progress {
            enabled: wanted && std::io::stderr().is_terminal(),
            total,
            done: 0,
            started: Instant::now(),
            last_drawn: None,
            calls: 0,
        }
    }

    /// The current file is at byte `at`.
    pub fn at(&mut self, at: u64) {
        if !self.enabled {
            return;
        }
        self.calls += 1;
        if self.calls < 256 {
            return;
        }
        self.calls = 0;
        let now = Instant::now();
        let due = match self.last_drawn {
            None => now.duration_since(self.started) >= QUIET_START,
            Some(last) => now.duration_since(last) >= REDRAW,
        };
        if due {
            self.last_drawn = Some(now);
            self.draw(self.done + at);
        }
    }

    /// As [`Progress::at`], for callers that report rarely (once per
    /// chunk): the clock is read on every call.
    pub fn at_rarely(&mut self, at: u64) {
        self.calls = self.calls.max(255);
        self.at(at);
    }

    /// The current file, of `size` bytes, is done.
    pub fn file_done(&mut self, size: u64) {
        self.done += size;
    }

    fn draw(&self, at: u64) {
        let pct = at
            .min(self.total)
            .saturating_mul(100)
            .checked_div(self.total);
        let line = match pct {
            Some(pct) => format!("{} / {} ({pct}%)", human(at), human(self.total)),
            None => human(at),
        };
        // Padded so a shorter line covers a longer one drawn before.
        let _ = write!(std::io::stderr(), "\r{line:<40}");
    }

    /// Removes the line, before anything else is printed on stderr.
    pub fn clear(&mut self) {
        if self.last_drawn.take().is_some() {
            let _ = write!(std::io::stderr(), "\r{:<40}\r", "");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_sizes() {
        assert_eq!(super::human(512), "512 B");
        assert_eq!(super::human(1536), "1.5 KiB");
        assert_eq!(super::human(64 << 20), "64.0 MiB");
        assert_eq!(super::human(3 << 30), "3.0 GiB");
    }
}
