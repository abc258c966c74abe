//! Option groups shared by the subcommands, and their value parsers.

use std::path::PathBuf;
use stream_chat_export::{Error, ErrorKind, Filter, Parallel, ReaderBuilder};

/// How inputs are read: limits, repairs and whether files are mapped.
#[derive(clap::Args, Clone, Debug)]
pub struct ReadOptions {
    /// Longest line accepted in line files (suffixes: KiB, MiB, GiB, KB,
    /// MB, GB; plain bytes without).
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_line: usize,
    /// Largest single entity accepted in a v1 document (suffixes as
    /// --max-line).
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_entity: usize,
    /// Deepest nesting of objects and arrays accepted (at most 127).
    #[arg(long, default_value_t = 64, value_name = "LEVELS")]
    pub max_depth: usize,
    /// Replace invalid UTF-8 with U+FFFD instead of rejecting the record.
    #[arg(long)]
    pub lossy_utf8: bool,
    /// Read plain files instead of mapping them into memory. A mapped file
    /// that another process truncates meanwhile kills this process
    /// (SIGBUS): use this for files that may change while they are read.
    #[arg(long)]
    pub no_mmap: bool,
}

impl ReadOptions {
    /// A reader configured with these options.
    pub fn builder(&self) -> ReaderBuilder {
        let mut b = ReaderBuilder::new();
        b.max_line(self.max_line)
            .max_entity(self.max_entity)
            .max_depth(self.max_depth)
            .lossy_utf8(self.lossy_utf8);
        b
    }
}

/// The worker threads, on every subcommand.
#[derive(clap::Args, Clone, Debug)]
pub struct ThreadOptions {
    /// Worker threads; 0 (the default) uses every core.
    #[arg(short = 'j', long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
}

impl ThreadOptions {
    /// The executor's settings for these options.
    pub fn parallel(&self) -> Parallel {
        let mut p = Parallel::new();
        // 0 means every core, in the library as on the command line.
        p.threads(self.threads);
        p
    }
}

/// The predicates of `filter`, shared by every command that selects
/// entities (`filter`, `stats`, `convert`). Repeated options of one kind
/// are alternatives (any user, any channel, any kind).
#[derive(clap::Args, Clone, Debug)]
pub struct FilterOptions {
    /// Entities belonging to this user id (author, reacting user, member,
    /// the user record, channel creator).
    #[arg(long = "user", value_name = "ID")]
    pub users: Vec<String>,
    /// Read user ids from FILE, one per line (surrounding whitespace and
    /// blank lines ignored): for requests naming many users. A file
    /// without any id is an error, never "every user".
    #[arg(long = "users-file", value_name = "FILE")]
    pub users_files: Vec<PathBuf>,
    /// Entities of this channel cid (`type:id`); members and reactions
    /// resolve their channel as in the reader.
    #[arg(long = "channel", value_name = "CID")]
    pub channels: Vec<String>,
    /// Read channel cids from FILE, one per line, as --users-file.
    #[arg(long = "channels-file", value_name = "FILE")]
    pub channels_files: Vec<PathBuf>,
    /// Only created_at >= T (RFC3339, or a date YYYY-MM-DD for its
    /// midnight UTC); entities without created_at fail any time predicate.
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only created_at < T (RFC3339, or a date YYYY-MM-DD for its midnight
    /// UTC).
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only these kinds (message, member, reaction, channel, user, read,
    /// device, or another type name).
    #[arg(long = "kind", value_name = "K")]
    pub kinds: Vec<String>,
}

impl FilterOptions {
    /// The predicates of the command line.
    pub fn filter(&self) -> stream_chat_export::Result<Filter> {
        let mut f = Filter::new();
        for u in ids(&self.users, &self.users_files, "--user", "user ids")? {
            f.user(u);
        }
        for c in ids(
            &self.channels,
            &self.channels_files,
            "--channel",
            "channel cids",
        )? {
            f.channel(c);
        }
        for k in &self.kinds {
            f.kind(k);
        }
        if let Some(t) = &self.since {
            f.since(t)?;
        }
        if let Some(t) = &self.until {
            f.until(t)?;
        }
        Ok(f)
    }
}

/// Parses a size: plain bytes, or a number with a decimal (`KB`, `MB`,
/// `GB`, `TB`) or binary (`KiB`, `MiB`, `GiB`, `TiB`) suffix, `B` allowed
/// (case is ignored, a space before the suffix too).
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    if digits.is_empty() {
        return Err(format!("`{text}` is not a size (try 512KiB, 64MiB, 10MB)"));
    }
    let unit: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        // No single-letter units: whether `64M` means MB or MiB differs
        // between tools, so it is refused rather than guessed.
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use KiB, MiB, GiB, KB, MB, GB or plain bytes)"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// The ids given with `option` plus those listed in `files`, one per line
/// (surrounding whitespace and blank lines ignored).
///
/// An empty id, or a list file that yields none, is refused: without it a
/// filter's predicate would silently vanish (a per-user extract would
/// export everyone's data), and an export would name nothing.
pub fn ids(
    given: &[String],
    files: &[PathBuf],
    option: &str,
    what: &str,
) -> Result<Vec<String>, Error> {
    let usage = |m: String| Error::new(ErrorKind::Usage(m));
    if given.iter().any(|id| id.trim().is_empty()) {
        return Err(usage(format!("{option} needs a non-empty value")));
    }
    let mut ids = given.to_vec();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| usage(format!("cannot read {what} from {}: {e}", file.display())))?;
        let before = ids.len();
        ids.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
        if ids.len() == before {
            return Err(usage(format!(
                "{}: no {what} in the file (only blank lines); refusing to run without them",
                file.display()
            )));
        }
    }
    Ok(ids)
}

/// Parses a duration: plain seconds, or numbers with `s`, `m`, `h` or `d`
/// units, combined (`90s`, `15m`, `2h`, `1h30m`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a duration (try 90s, 15m, 2h, 1h30m)");
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, parse_size};

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64 mib"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("3kb"), Ok(3000));
        assert_eq!(parse_size("7B"), Ok(7));
        for bad in [
            "",
            "MiB",
            "lots",
            "1.5MiB",
            "-1",
            "12XB",
            "64M",
            "99999999999999999999",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_size("20000000TiB").is_err(), "overflow");
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        for bad in ["", "h", "1x", "1h30", "-5s", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
