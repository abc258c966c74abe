//! `export`: request channel or user exports from Stream, wait for the
//! tasks, download the files into a folder with a manifest, and read each
//! file back with our reader.

mod events;
mod manifest;
mod session;

use crate::args::{ids, parse_duration};
use clap::{Args as ClapArgs, Subcommand};
use session::Session;
use std::path::PathBuf;
use std::time::Duration;
use stream_chat_export::Timestamp;
use stream_chat_export::client::{ChannelSpec, ExportChannels, ExportVersion};

/// Request exports from Stream's API, wait for them, and download them
/// (credentials from STREAM_KEY and STREAM_SECRET; STREAM_CHAT_URL
/// overrides the API's address).
#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Channels(ChannelsArgs),
    Users(UsersArgs),
    Wait(WaitArgs),
}

/// Options of every `export` command.
#[derive(ClapArgs)]
struct Common {
    /// The folder for the files and `manifest.json` (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Give up waiting after this long, for the whole run (90s, 15m, 2h;
    /// 0: no limit). Tasks still running can be resumed with `export
    /// wait`.
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = parse_duration)]
    timeout: Duration,
    /// The first pause between two status requests; it doubles up to 15 s.
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_duration_ms)]
    poll_interval: Duration,
    /// Only problems on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// Export channels (messages, members, reactions); at most --batch-size
/// channels per request, longer lists become several requests.
#[derive(ClapArgs)]
#[command(after_long_help = CHANNELS_HELP)]
struct ChannelsArgs {
    /// A channel cid (`type:id`); repeat for more.
    #[arg(long = "channel", value_name = "CID")]
    channels: Vec<String>,
    /// Read channel cids from FILE, one per line (blank lines ignored).
    #[arg(long = "channels-file", value_name = "FILE")]
    channels_files: Vec<PathBuf>,
    /// Only messages created at or after T (RFC3339, or YYYY-MM-DD).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    since: Option<Timestamp>,
    /// Only messages created before T (RFC3339, or YYYY-MM-DD).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    until: Option<Timestamp>,
    /// The file format: v1 (one JSON document) or v2 (one entity per
    /// line); Stream's default when not given.
    #[arg(long = "version", value_name = "v1|v2", value_parser = parse_version)]
    format_version: Option<ExportVersion>,
    /// Include messages removed by truncating a channel.
    #[arg(long)]
    include_truncated_messages: bool,
    /// Include soft-deleted channels.
    #[arg(long)]
    include_soft_deleted_channels: bool,
    /// Blank the text of deleted messages.
    #[arg(long)]
    clear_deleted_message_text: bool,
    /// Include the channels' users.
    #[arg(long)]
    export_users: bool,
    /// Channels per export request (Stream's documented limit is 25).
    #[arg(long, default_value_t = 25, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100))]
    batch_size: u16,
    #[command(flatten)]
    common: Common,
}

/// Export users' data (GDPR access requests); 25 users per request.
#[derive(ClapArgs)]
#[command(after_long_help = USERS_HELP)]
struct UsersArgs {
    /// A user id; repeat for more.
    #[arg(long = "user", value_name = "ID")]
    users: Vec<String>,
    /// Read user ids from FILE, one per line (blank lines ignored).
    #[arg(long = "users-file", value_name = "FILE")]
    users_files: Vec<PathBuf>,
    #[command(flatten)]
    common: Common,
}

/// Wait for tasks requested earlier and download their files; no new
/// export is requested. Without task ids: every unfinished task of the
/// folder's manifest.
#[derive(ClapArgs)]
#[command(after_long_help = WAIT_HELP)]
struct WaitArgs {
    /// Task ids (as printed, or in DIR/manifest.json).
    #[arg(value_name = "TASK_ID")]
    tasks: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// The exit codes, shared by the three commands' help.
macro_rules! exit_codes {
    () => {
        "

Exit codes:
  0  every task completed and every file was downloaded whole
  1  a task failed, timed out, or could not be requested or downloaded
     (the others are still finished; see DIR/manifest.json)
  2  usage error, missing or rejected credentials, or the folder could
     not be written"
    };
}

const CHANNELS_HELP: &str = concat!(
    "\
Examples:
  export STREAM_KEY=... STREAM_SECRET=...
  stream-chat-export export channels --channel messaging:general --version v2 --out exports/
  stream-chat-export export channels --channels-file cids.txt --since 2024-01-01 --out exports/

Each task's file lands in DIR as TASK_ID.json (a v1 document) or
TASK_ID.jsonl (lines), plus .gz when compressed, and is listed in
DIR/manifest.json with its size, SHA-256, and what our reader found in it.
Requests that create exports are never retried (a retry could start a
second export); if a run is interrupted, `export wait --out DIR` resumes.",
    exit_codes!()
);

const USERS_HELP: &str = concat!(
    "\
Examples:
  stream-chat-export export users --user alice --user bob --out gdpr/
  stream-chat-export export users --users-file requests.txt --out gdpr/",
    exit_codes!()
);

const WAIT_HELP: &str = concat!(
    "\
Examples:
  stream-chat-export export wait 8a3f2c1e-... --out exports/
  stream-chat-export export wait --out exports/      # every unfinished task in the manifest

A task already downloaded whole (per the manifest) is not fetched again.",
    exit_codes!()
);

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_date_or_time(text).ok_or_else(|| {
        format!("not an RFC3339 time or a date: {text:?} (e.g. 2024-03-01T00:00:00Z or 2024-03-01)")
    })
}

fn parse_version(text: &str) -> Result<ExportVersion, String> {
    match text {
        "v1" | "1" => Ok(ExportVersion::V1),
        "v2" | "2" => Ok(ExportVersion::V2),
        _ => Err(format!("`{text}` is not an export version (v1 or v2)")),
    }
}

/// A duration that may also be given in milliseconds (`250ms`), for the
/// poll interval.
fn parse_duration_ms(text: &str) -> Result<Duration, String> {
    match text.trim().strip_suffix("ms") {
        Some(ms) => ms
            .trim()
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| format!("`{text}` is not a duration")),
        None => parse_duration(text),
    }
}

pub fn run(args: &Args) -> u8 {
    match &args.command {
        Command::Channels(a) => channels(a),
        Command::Users(a) => users(a),
        Command::Wait(a) => wait(a),
    }
}

fn usage(message: &str) -> u8 {
    eprintln!("stream-chat-export: {message}");
    2
}

fn channels(args: &ChannelsArgs) -> u8 {
    let cids = match ids(
        &args.channels,
        &args.channels_files,
        "--channel",
        "channel cids",
    ) {
        Ok(c) if c.is_empty() => return usage("name channels with --channel or --channels-file"),
        Ok(c) => dedup(c),
        Err(e) => return usage(&e.to_string()),
    };
    let mut specs = Vec::with_capacity(cids.len());
    for cid in &cids {
        let Some(mut spec) = ChannelSpec::from_cid(cid) else {
            return usage(&format!("`{cid}` is not a channel cid (type:id)"));
        };
        spec.messages_since = args.since;
        spec.messages_until = args.until;
        specs.push(spec);
    }
    if let (Some(s), Some(u)) = (args.since, args.until)
        && s >= u
    {
        return usage("--since must be before --until");
    }
    let mut session = match Session::open(&args.common) {
        Ok(s) => s,
        Err(code) => return code,
    };
    for batch in specs.chunks(usize::from(args.batch_size)) {
        let mut request = ExportChannels::new(batch.to_vec());
        request.version = args.format_version;
        request.include_truncated_messages = args.include_truncated_messages;
        request.include_soft_deleted_channels = args.include_soft_deleted_channels;
        request.clear_deleted_message_text = args.clear_deleted_message_text;
        request.export_users = args.export_users;
        let names = batch.iter().map(ChannelSpec::cid).collect();
        if !session.request("channels", names, |c| c.export_channels(&request)) {
            break;
        }
    }
    session.finish_requested()
}

fn users(args: &UsersArgs) -> u8 {
    let users = match ids(&args.users, &args.users_files, "--user", "user ids") {
        Ok(u) if u.is_empty() => return usage("name users with --user or --users-file"),
        Ok(u) => dedup(u),
        Err(e) => return usage(&e.to_string()),
    };
    let mut session = match Session::open(&args.common) {
        Ok(s) => s,
        Err(code) => return code,
    };
    for batch in users.chunks(stream_chat_export::client::MAX_USERS_PER_REQUEST) {
        if !session.request("users", batch.to_vec(), |c| c.export_users(batch)) {
            break;
        }
    }
    session.finish_requested()
}

fn wait(args: &WaitArgs) -> u8 {
    if args.tasks.iter().any(|t| t.trim().is_empty()) {
        return usage("a task id is empty");
    }
    let session = match Session::open(&args.common) {
        Ok(s) => s,
        Err(code) => return code,
    };
    session.finish(&dedup(args.tasks.clone()))
}

/// The list without repeats, in first-seen order: the same channel twice
/// would be exported twice.
fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}
