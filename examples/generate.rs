//! Deterministic generator of realistic Stream Chat data exports, for tests
//! and benchmarks.
//!
//! ```text
//! cargo run --release --example generate -- --size 1GiB --format v2 --out FILE
//!     [--seed N] [--profile default|stream|reactions]
//!     [--envelope item|data|bare] [--shape object|array|wrapper|sequence]
//!     [--gzip] [--stats-json FILE] [--users N] [--channels N] [--track-user ID] [--quiet]
//! ```
//!
//! Profiles (every one works with both formats, every envelope and shape,
//! and `--gzip`; the `--stats-json` oracle is exact for each):
//! - `default`: the original shape, the same bytes for the same seed as
//!   before profiles existed.
//! - `stream`: messages with Stream's key order (`id, text, html, type,
//!   user, attachments, latest_reactions, own_reactions, reaction_counts,
//!   reaction_scores, reaction_groups, reply_count, deleted_reply_count,
//!   cid, created_at, updated_at, shadowed, mentioned_users, silent,
//!   pinned, pinned_at, pinned_by, pin_expires`, then the optional fields),
//!   a Go-escaped `html` (`\u003cp\u003e...\u003c/p\u003e\n`) on every
//!   message (soft-deleted ones keep their text, as Stream does), user
//!   objects in Stream's order (`id, role, created_at, updated_at,
//!   last_active, [deleted_at,] banned, online`, then the custom fields
//!   `name, image, language, ...`), twice the mentions of `default` and
//!   ~3% pinned messages; `mentioned_users` and `pinned_by` hold full
//!   user objects.
//! - `reactions`: many short lines: ~70% reaction lines, ~17% member and
//!   read lines (every member's read state), ~10% messages with short
//!   texts and ~7 reactions each; reactions, members and reads name their
//!   user by `user_id` only (no embedded user object), so the average line
//!   is ~480 bytes (a reaction line ~210). More, smaller channels than
//!   `default`.
//!
//! The same arguments always give the same bytes (own splitmix64 PRNG, no
//! hashing with random state, no clock). Only `std` and `flate2` are used, so
//! the example never depends on the library it is meant to test.
//!
//! Layout of a v2 file: every user line first, then channel after channel:
//! the channel line, its member lines, its message lines (oldest first), the
//! reaction lines of those messages, and a few read-state lines. Channels are
//! kept contiguous on purpose: members, reactions and reads carry no `cid`, so
//! by FORMAT.md they belong to the most recent channel line; interleaving
//! channels would make that resolution wrong. Instead each channel gets a
//! Zipf-skewed share of the size budget (re-planned after every channel from
//! the bytes actually written), so a 1 GiB file holds all ~2,000 channels.
//!
//! Each channel's messages run forward through 2024 (from the channel's start
//! to the end of the year), so every month of 2024 — and the benchmark window
//! 2024-03-01..2024-04-01 — holds messages from every busy channel.
//!
//! `--stats-json` writes the ground truth for tests that compare the crate's
//! readers against it: `counts` per kind (`user channel member message
//! reaction read`; v1 has no user, reaction or read entities — its reactions
//! live only in `latest_reactions`, counted in `latest_reactions`),
//! `messages_by_type`, `messages_per_channel` (cid → n), `messages_per_user`
//! (id → n), `track_user_counts` (entities per kind whose user is
//! `--track-user`, default `user-17`: user line id, channel `created_by`,
//! member `user_id`, message `user.id`, reaction `user_id`, read `user.id`),
//! and `window.counts` (entities whose `created_at` is in
//! [2024-03-01, 2024-04-01); reads and users have none in range).
//!
//! The size budget counts every v2 line as if it had the `item` envelope, so
//! `item`, `data` and `bare` files with the same seed hold the same entities;
//! `--gzip` compresses exactly the bytes of the plain file.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

const NS: i64 = 1_000_000_000;
const DAY: i64 = 86_400 * NS;
/// 2024-01-01T00:00:00Z
const YEAR_START: i64 = 1_704_067_200 * NS;
/// 2025-01-01T00:00:00Z
const YEAR_END: i64 = 1_735_689_600 * NS;
/// 2024-03-01T00:00:00Z, start of the benchmark's one-month window.
const WIN_START: i64 = 1_709_251_200 * NS;
/// 2024-04-01T00:00:00Z, end (exclusive) of the window.
const WIN_END: i64 = 1_711_929_600 * NS;

const KINDS: [&str; 6] = ["user", "channel", "member", "message", "reaction", "read"];
const K_USER: usize = 0;
const K_CHANNEL: usize = 1;
const K_MEMBER: usize = 2;
const K_MESSAGE: usize = 3;
const K_REACTION: usize = 4;
const K_READ: usize = 5;

const MSG_TYPES: [&str; 4] = ["regular", "reply", "deleted", "system"];
const T_REGULAR: usize = 0;
const T_REPLY: usize = 1;
const T_DELETED: usize = 2;
const T_SYSTEM: usize = 3;

const REACTION_TYPES: [&str; 10] = [
    "like",
    "love",
    "haha",
    "thumbsup",
    "wow",
    "sad",
    "fire",
    "clap",
    "angry",
    "custom:party",
];

// ---------------------------------------------------------------- PRNG ----

/// splitmix64: tiny, fast, and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    #[inline]
    fn u128(&mut self) -> u128 {
        ((self.next_u64() as u128) << 64) | self.next_u64() as u128
    }
    /// Uniform in `0..n` (n > 0).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    #[inline]
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    #[inline]
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    #[inline]
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    #[inline]
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    #[inline]
    fn pick_str<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
    /// Exponential with the given mean.
    fn exp(&mut self, mean: f64) -> f64 {
        -(1.0 - self.unit()).ln() * mean
    }
}

/// Zipf sampler over ranks `0..n` for any `n <= max`: one table of prefix
/// sums of `1/k^s` serves every population size.
struct Zipf {
    prefix: Vec<f64>,
}

impl Zipf {
    fn new(max: usize, s: f64) -> Self {
        let mut prefix = Vec::with_capacity(max + 1);
        prefix.push(0.0);
        let mut acc = 0.0;
        for k in 1..=max {
            acc += 1.0 / (k as f64).powf(s);
            prefix.push(acc);
        }
        Zipf { prefix }
    }
    #[inline]
    fn sample(&self, rng: &mut Rng, n: usize) -> usize {
        let n = n.clamp(1, self.prefix.len() - 1);
        let u = rng.unit() * self.prefix[n];
        self.prefix[1..=n].partition_point(|&p| p <= u).min(n - 1)
    }
}

// ------------------------------------------------------- JSON writing ----

#[inline]
fn put(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(s.as_bytes());
}

#[inline]
fn put_u(b: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = 20;
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&tmp[i..]);
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A quoted RFC3339 UTC timestamp: 6 fractional digits when the value is a
/// whole microsecond, 9 otherwise, none when it is a whole second.
fn put_ts(b: &mut Vec<u8>, ns: i64) {
    let secs = ns.div_euclid(NS);
    let frac = ns.rem_euclid(NS);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = [0u8; 34];
    let two = |s: &mut [u8], at: usize, v: u32| {
        s[at] = b'0' + (v / 10) as u8;
        s[at + 1] = b'0' + (v % 10) as u8;
    };
    s[0] = b'"';
    let y = y as u32;
    two(&mut s, 1, y / 100);
    two(&mut s, 3, y % 100);
    s[5] = b'-';
    two(&mut s, 6, m);
    s[8] = b'-';
    two(&mut s, 9, d);
    s[11] = b'T';
    two(&mut s, 12, (sod / 3600) as u32);
    s[14] = b':';
    two(&mut s, 15, (sod / 60 % 60) as u32);
    s[17] = b':';
    two(&mut s, 18, (sod % 60) as u32);
    let mut n = 20;
    if frac != 0 {
        let (mut f, digits) = if frac % 1000 == 0 {
            (frac / 1000, 6)
        } else {
            (frac, 9)
        };
        s[n] = b'.';
        for i in (0..digits).rev() {
            s[n + 1 + i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        n += 1 + digits;
    }
    s[n] = b'Z';
    s[n + 1] = b'"';
    b.extend_from_slice(&s[..n + 2]);
}

fn put_uuid(b: &mut Vec<u8>, u: u128) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let u = (u & !(0xF << 76)) | (0x4 << 76); // version 4
    let u = (u & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    for i in 0..32 {
        if i == 8 || i == 12 || i == 16 || i == 20 {
            b.push(b'-');
        }
        b.push(HEX[((u >> (124 - 4 * i)) & 0xF) as usize]);
    }
}

/// JSON-escape the way Go's encoding/json does (Stream's servers are Go):
/// `<`, `>`, `&`, U+2028 and U+2029 become `\uXXXX`; other non-ASCII stays raw.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// What the markdown renderer does to text before it lands in `html`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ------------------------------------------------------------ content ----

// Word pools, `|`-separated (kept as one string each so the file stays short).
// Repeated words are deliberate: they weight the draw.

const EN: &str = "hey|hi|hello|thanks|thank|you|ok|okay|sure|yes|no|maybe|lol|haha|great|good|\
nice|cool|awesome|see|the|the|the|a|a|an|and|and|or|but|so|to|to|for|of|in|on|at|with|from|this|\
that|it|is|is|are|was|be|have|has|do|does|did|will|would|can|could|should|we|I|I|me|my|our|your|\
they|them|meeting|tomorrow|today|tonight|morning|afternoon|later|soon|now|please|check|review|\
deploy|build|release|bug|fix|issue|ticket|PR|merge|branch|test|tests|passing|failing|docs|update|\
updated|send|sent|file|link|call|chat|channel|team|project|deadline|Friday|Monday|lunch|coffee|\
weekend|plan|idea|question|answer|problem|works|working|broken|done|ready|waiting|on it|ASAP|FYI|\
btw|np|ty|gg|wow|omg|really|exactly|agreed|interesting|thoughts?|anyone?|what|when|where|why|how|\
who|here|there|just|still|already|again|also|too|very|much|more|less|time|day|week|month|2024|\
v2.3.1|10:30|#general|customer|dashboard|latency|p99|server|client|API|SDK|iOS|Android|web|push|\
notification|screenshot|slides|budget|invoice|order|shipping|refund|ticket #4821|don't|can't|\
it's|I'm|we're|let's|...|!|?|ok.|sounds good.|makes sense,|no worries!|on my way|brb";
const LATIN: &str = "café|déjà|vu|très|bien|merci|où|ça|été|garçon|à|bientôt|señor|mañana|niño|\
año|pingüino|¿qué|tal?|está|¡hola!|über|schön|grüß|Straße|Zürich|Łódź|źdźbło|Ørsted|Ærø|naïve|\
crème|brûlée|façade|résumé|São|Paulo|ação|coração|İstanbul|şehir|Dvořák|čeština|réunion|demain|\
à|la|de|le|y|el|que|und|die|der|oui|non|vielen|Dank|gracias|obrigado|dziękuję";
const AR: &str = "مرحبا|كيف|حالك|شكرا|جزيلا|نعم|لا|صباح|الخير|مساء|إن|شاء|الله|أهلا|وسهلا|\
اجتماع|غدا|الساعة|ممتاز|في|من|على|هذا|الفريق|المشروع|تم|؟";
const HE: &str = "שלום|מה|שלומך|תודה|רבה|כן|לא|בוקר|טוב|ערב|להתראות|פגישה|מחר|בשעה|מצוין|\
של|את|על|זה|הצוות|הפרויקט";
const CJK: &str = "你好|谢谢|再见|没问题|明天开会|こんにちは|ありがとう|よろしく|了解です|안녕하세요|\
감사합니다|Привет|спасибо|Ελλάδα|नमस्ते|สวัสดี";
const EMOJI: &str = "😀|😂|😂|👍|👍|👍🏽|❤️|🎉|🔥|🙏|😅|🤔|👀|🚀|✅|💯|😭|🥳|👨‍👩‍👧‍👦|🏳️‍🌈|🇫🇷|🇯🇵|\
🤷‍♀️|1️⃣|☕|✨|🙌🏿|😍😍😍";
/// Tokens that exercise escaping: quotes, backslashes, `<>&` (Go escapes them
/// as `\u003c` ...), a tab, U+2028, a no-break space, markdown.
const SPECIAL: &str = "\"quoted\"|he said \"ship it\"|Tom & Jerry|R&D|<3|a < b && b > c|\
<script>alert(1)</script>|C:\\Users\\me\\notes.txt|tab\tseparated|\
https://example.com/search?q=stream&page=2|`code`|**bold**|_italic_|~strike~|50% off!|\
{\"json\": true}|\\o/|¯\\_(ツ)_/¯|100\u{a0}€|line\u{2028}sep|'single'|a/b/c|x=1;y=2";

/// First and last names per culture: en, latin, ar, he, cjk.
const FIRST: [&str; 5] = [
    "James|Mary|John|Patricia|Robert|Jennifer|Michael|Linda|David|Emily|Chris|Sarah|Alex|Sam|\
     Taylor|Jordan",
    "José|Zoë|Renée|Søren|François|Łukasz|Björn|Inês|Chloé|Ayşe|Jürgen",
    "محمد|أحمد|فاطمة|عائشة|علي|ليلى|يوسف|مريم",
    "דוד|שרה|יוסף|רחל|משה|נועה",
    "李|王|张|さくら|ひろし|민준|서연",
];
const LAST: [&str; 5] = [
    "Smith|Johnson|Brown|Taylor|Miller|Wilson|Moore|Clark|O'Brien|Lee",
    "García|Müller|Núñez|Dvořák|Øberg|Lefèvre|Wójcik|Gonçalves|Çelik",
    "العلي|حداد|الخطيب|منصور|ناصر",
    "כהן|לוי|מזרחי|פרץ",
    "雷|芳|伟|田中|佐藤|김|박",
];

const LANG: [&str; 5] = ["en", "fr", "ar", "he", "zh"];

struct Tok {
    json: String,
    html: String,
    chars: u32,
}

fn toks(words: &str) -> Vec<Tok> {
    words
        .split('|')
        .map(|w| Tok {
            json: esc(w),
            html: esc(&html_escape(w)),
            chars: w.chars().count() as u32,
        })
        .collect()
}

struct Pools {
    /// Indexed like the cultures: en, latin, ar, he, cjk.
    lang: [Vec<Tok>; 5],
    emoji: Vec<Tok>,
    special: Vec<Tok>,
}

impl Pools {
    fn new() -> Self {
        Pools {
            lang: [toks(EN), toks(LATIN), toks(AR), toks(HE), toks(CJK)],
            emoji: toks(EMOJI),
            special: toks(SPECIAL),
        }
    }
}

/// Writes a message text (JSON-escaped, no quotes) into `text` and the body
/// of its `html` rendering into `html`.
fn gen_text(
    rng: &mut Rng,
    pools: &Pools,
    culture: usize,
    target_chars: u32,
    mentions: &[(&str, &str)],
    text: &mut Vec<u8>,
    html: &mut Vec<u8>,
) {
    text.clear();
    html.clear();
    let flavor = if culture == 0 || rng.chance(0.3) {
        0
    } else {
        culture
    };
    let emoji_p = if rng.chance(0.05) { 0.5 } else { 0.05 };
    let mut chars = 0u32;
    let mut fresh = true; // at start or right after a newline: no separator
    for &(name, html_name) in mentions {
        if !fresh {
            text.push(b' ');
            html.push(b' ');
        }
        text.push(b'@');
        put(text, name);
        put(html, "\\u003ca href=\\\"#\\\"\\u003e@");
        put(html, html_name);
        put(html, "\\u003c/a\\u003e");
        chars += 1 + name.chars().count() as u32;
        fresh = false;
    }
    while chars < target_chars {
        let r = rng.unit();
        if r < 0.025 && !fresh {
            put(text, "\\n");
            put(html, "\\n");
            chars += 1;
            fresh = true;
            continue;
        }
        let tok = if r < 0.04 {
            rng.pick(&pools.special)
        } else if r < 0.04 + emoji_p {
            rng.pick(&pools.emoji)
        } else if r < 0.965 {
            rng.pick(&pools.lang[flavor])
        } else {
            let l = rng.below(5) as usize;
            rng.pick(&pools.lang[l])
        };
        if !fresh {
            text.push(b' ');
            html.push(b' ');
            chars += 1;
        }
        put(text, &tok.json);
        put(html, &tok.html);
        chars += tok.chars;
        fresh = false;
    }
}

fn text_len(rng: &mut Rng) -> u32 {
    let r = rng.unit();
    (if r < 0.6 {
        rng.range(5, 30)
    } else if r < 0.92 {
        rng.range(30, 120)
    } else {
        rng.range(120, 400)
    }) as u32
}

// ---------------------------------------------------------- entities ----

struct User {
    id: String,
    /// The full user object, as embedded everywhere (and as the user line).
    obj: String,
    /// Display name, JSON-escaped (for mentions and system messages).
    name: String,
    /// Display name, HTML-escaped then JSON-escaped (for `html`).
    html_name: String,
    culture: usize,
}

fn make_users(rng: &mut Rng, n: usize, profile: Profile) -> Vec<User> {
    let mut users = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(512);
    let mut image = Vec::with_capacity(160);
    let mut custom = Vec::with_capacity(160);
    for i in 0..n {
        let id = format!("user-{}", i + 1);
        let r = rng.below(100);
        let culture = match r {
            0..60 => 0,
            60..80 => 1,
            80..88 => 2,
            88..94 => 3,
            _ => 4,
        };
        let first: Vec<&str> = FIRST[culture].split('|').collect();
        let last: Vec<&str> = LAST[culture].split('|').collect();
        let raw_name = format!("{} {}", rng.pick(&first), rng.pick(&last));
        let name = esc(&raw_name);
        let role = match rng.below(100) {
            0..2 => "admin",
            2..5 => "moderator",
            5..10 => "guest",
            _ => "user",
        };
        let created = YEAR_START - 730 * DAY + rng.below(700 * 86_400_000_000) as i64 * 1000;
        let updated = created + rng.below(300 * 86_400_000_000) as i64 * 1000;
        let last_active = YEAR_START + rng.below(365 * 86_400 * NS as u64) as i64;
        // Every value is drawn in the same order whatever the profile (the
        // default profile's bytes depend on it); only the layout differs.
        let has_name = !rng.chance(0.03);
        image.clear();
        if rng.chance(0.7) {
            put(&mut image, "https://getstream.io/random_png/?id=");
            put(&mut image, &id);
            put(&mut image, "\\u0026name=");
            put(&mut image, &id);
        } else {
            put(
                &mut image,
                "https://us-east.stream-io-cdn.com/102399/images/",
            );
            put_uuid(&mut image, rng.u128());
            put(&mut image, ".avatar.jpg?ro=0\\u0026s=128");
        }
        let banned = rng.chance(0.005);
        // Custom fields after `language`, in the order they are written.
        custom.clear();
        if rng.chance(0.2) {
            put(&mut custom, ",\"teams\":[\"blue\",\"red\"]");
        }
        if rng.chance(0.3) {
            put(&mut custom, ",\"country\":\"");
            put(
                &mut custom,
                rng.pick_str(&["NL", "US", "FR", "DE", "IL", "EG", "JP", "BR", "IN"]),
            );
            put(&mut custom, "\"");
        }
        if rng.chance(0.1) {
            put(&mut custom, ",\"profile\":{\"title\":\"");
            put(
                &mut custom,
                rng.pick_str(&["Engineer", "Designer", "Support \\u0026 Success", "Sales"]),
            );
            put(
                &mut custom,
                "\",\"skills\":[\"go\",\"rust\",\"ux\"],\"manager\":null}",
            );
        }
        let deleted = rng.chance(0.005);
        b.clear();
        put(&mut b, "{\"id\":\"");
        put(&mut b, &id);
        put(&mut b, "\"");
        if profile == Profile::Stream {
            // Stream's order: the Go struct's fields, then the custom
            // fields (`name` and `image` are custom fields to Stream).
            put(&mut b, ",\"role\":\"");
            put(&mut b, role);
            put(&mut b, "\",\"created_at\":");
            put_ts(&mut b, created);
            put(&mut b, ",\"updated_at\":");
            put_ts(&mut b, updated);
            put(&mut b, ",\"last_active\":");
            put_ts(&mut b, last_active);
            if deleted {
                put(&mut b, ",\"deleted_at\":");
                put_ts(&mut b, updated + DAY);
            }
            put(&mut b, ",\"banned\":");
            put(&mut b, if banned { "true" } else { "false" });
            put(&mut b, ",\"online\":false");
            if has_name {
                put(&mut b, ",\"name\":\"");
                put(&mut b, &name);
                put(&mut b, "\"");
            }
            put(&mut b, ",\"image\":\"");
            b.extend_from_slice(&image);
            put(&mut b, "\",\"language\":\"");
            put(&mut b, LANG[culture]);
            put(&mut b, "\"");
            b.extend_from_slice(&custom);
        } else {
            if has_name {
                put(&mut b, ",\"name\":\"");
                put(&mut b, &name);
                put(&mut b, "\"");
            }
            put(&mut b, ",\"role\":\"");
            put(&mut b, role);
            put(&mut b, "\",\"image\":\"");
            b.extend_from_slice(&image);
            put(&mut b, "\",\"created_at\":");
            put_ts(&mut b, created);
            put(&mut b, ",\"updated_at\":");
            put_ts(&mut b, updated);
            put(&mut b, ",\"last_active\":");
            put_ts(&mut b, last_active);
            put(&mut b, ",\"banned\":");
            put(&mut b, if banned { "true" } else { "false" });
            put(&mut b, ",\"online\":false,\"language\":\"");
            put(&mut b, LANG[culture]);
            put(&mut b, "\"");
            b.extend_from_slice(&custom);
            if deleted {
                put(&mut b, ",\"deleted_at\":");
                put_ts(&mut b, updated + DAY);
            }
        }
        b.push(b'}');
        users.push(User {
            id,
            obj: String::from_utf8(b.clone()).unwrap(),
            name,
            html_name: esc(&html_escape(&raw_name)),
            culture,
        });
    }
    users
}

struct Channel {
    id: String,
    ctype: usize, // 0 messaging, 1 team, 2 livestream
    cid: String,
    name: Option<String>,
    members: Vec<u32>,
    weight: f64,
    created: i64,
    /// Time of the first message.
    start: i64,
}

const CTYPES: [&str; 3] = ["messaging", "team", "livestream"];

fn make_channels(
    rng: &mut Rng,
    n: usize,
    single: bool,
    users: usize,
    uzipf: &Zipf,
) -> Vec<Channel> {
    // Activity rank: a random permutation, so the heavy channels sit anywhere.
    let mut rank: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        rank.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut stamp = vec![0u32; users];
    let mut epoch = 0u32;
    let mut out = Vec::with_capacity(n);
    let cap = (users / 2).max(2);
    for (c, &rk) in rank.iter().enumerate() {
        let num = c + 1;
        let r = rng.unit();
        let (ctype, distinct) = if single || r < 0.55 {
            (0, false)
        } else if r < 0.72 {
            (0, true)
        } else if r < 0.86 {
            (1, false)
        } else {
            (2, false)
        };
        let id = if distinct {
            const B64: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut s = String::from("!members-");
            for _ in 0..43 {
                s.push(B64[rng.below(64) as usize] as char);
            }
            s
        } else {
            match ctype {
                0 => format!(
                    "{}-{num}",
                    rng.pick(&[
                        "general",
                        "random",
                        "support",
                        "project",
                        "design",
                        "sales",
                        "ops",
                        "watercooler",
                        "book_club",
                        "announcements"
                    ])
                ),
                1 => format!(
                    "team-{}-{num}",
                    rng.pick(&["eng", "design", "ops", "sales", "hr"])
                ),
                _ => format!("{}{num}", rng.pick(&["live_", "stream-", "event-"])),
            }
        };
        let name = if distinct {
            None
        } else {
            Some(esc(&match ctype {
                0 => match rng.below(6) {
                    0 => format!("café-talk ☕ {num}"),
                    1 => format!("فريق الدعم {num}"),
                    2 => format!("צוות פיתוח {num}"),
                    _ => format!("General #{num}"),
                },
                1 => format!("Team room {num} (R&D)"),
                _ => format!("Live: launch \"{num}\" 🚀"),
            }))
        };
        let m = if single {
            200
        } else if distinct {
            2
        } else {
            match ctype {
                0 => 3 + rng.below(58) as usize,
                1 => 5 + rng.below(100) as usize,
                _ => 20 + (rng.unit() * rng.unit() * 380.0) as usize,
            }
        }
        .min(cap);
        epoch += 1;
        let mut members = Vec::with_capacity(m);
        let mut tries = 0;
        while members.len() < m {
            tries += 1;
            let u = if tries < 40 * m {
                uzipf.sample(rng, users)
            } else {
                rng.below(users as u64) as usize
            };
            if stamp[u] != epoch {
                stamp[u] = epoch;
                members.push(u as u32);
            }
        }
        let heavy = rk < 10;
        let start = if heavy {
            YEAR_START + rng.below(5 * 86_400_000_000) as i64 * 1000
        } else {
            let u = rng.unit();
            YEAR_START + ((u * u * 240.0 * 86_400_000_000.0) as i64) * 1000
        };
        let created = start - rng.below(30 * 86_400_000_000) as i64 * 1000;
        let factor = if distinct {
            0.5
        } else if ctype == 2 {
            1.5
        } else {
            1.0
        };
        out.push(Channel {
            cid: format!("{}:{id}", CTYPES[ctype]),
            id,
            ctype,
            name,
            members,
            weight: factor / (rk as f64 + 1.0),
            created,
            start,
        });
    }
    out
}

fn make_config(ctype: usize) -> String {
    let live = ctype == 2;
    let mut b = Vec::new();
    put(&mut b, "{\"created_at\":");
    put_ts(&mut b, YEAR_START - 400 * DAY + 9 * 3600 * NS);
    put(&mut b, ",\"updated_at\":");
    put_ts(&mut b, YEAR_START - 20 * DAY + 123_456_000);
    put(&mut b, ",\"name\":\"");
    put(&mut b, CTYPES[ctype]);
    let flag = |b: &mut Vec<u8>, k: &str, v: bool| {
        put(b, ",\"");
        put(b, k);
        put(b, if v { "\":true" } else { "\":false" });
    };
    put(&mut b, "\"");
    flag(&mut b, "typing_events", !live);
    flag(&mut b, "read_events", !live);
    flag(&mut b, "connect_events", !live);
    flag(&mut b, "search", true);
    flag(&mut b, "reactions", true);
    flag(&mut b, "replies", !live);
    flag(&mut b, "quotes", true);
    flag(&mut b, "mutes", true);
    flag(&mut b, "uploads", true);
    flag(&mut b, "url_enrichment", true);
    flag(&mut b, "custom_events", true);
    flag(&mut b, "push_notifications", !live);
    flag(&mut b, "reminders", false);
    flag(&mut b, "mark_messages_pending", false);
    flag(&mut b, "polls", ctype == 1);
    put(
        &mut b,
        ",\"message_retention\":\"infinite\",\"max_message_length\":5000,\"automod\":\"",
    );
    put(&mut b, if live { "AI" } else { "disabled" });
    put(
        &mut b,
        "\",\"automod_behavior\":\"flag\",\"blocklist_behavior\":\"flag\",\
         \"automod_thresholds\":{\"explicit\":{\"flag\":0.6,\"block\":0.9},\"spam\":{\"flag\":0.7,\"block\":0.95},\"toxic\":{\"flag\":0.6,\"block\":0.85}},\
         \"allowed_flag_reasons\":[\"spam\",\"harassment\",\"other\"],\
         \"blocklists\":[{\"blocklist\":\"profanity_en_2020_v1\",\"action\":\"flag\"}],\
         \"commands\":[{\"name\":\"giphy\",\"description\":\"Post a random gif to the channel\",\"args\":\"[text]\",\"set\":\"fun_set\"},\
         {\"name\":\"mute\",\"description\":\"Mute a user\",\"args\":\"[@username]\",\"set\":\"moderation_set\"}],\
         \"grants\":{\"channel_member\":[\"read-channel\",\"create-message\",\"update-message-owner\",\"delete-message-owner\",\"create-reaction\"],\
         \"guest\":[\"read-channel\"],\"user\":[\"read-channel\",\"create-channel\"]},\
         \"partition_size\":0,\"partition_ttl\":null}",
    );
    String::from_utf8(b).unwrap()
}

#[derive(Clone, Copy)]
struct MsgId {
    uuid: u128,
    /// Client-generated ids are `<user_id>-<uuid>`; `NO_USER` for plain uuids.
    user: u32,
}
const NO_USER: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Rx {
    user: u32,
    typ: u8,
    score: u32,
    t: i64,
}

// -------------------------------------------------------------- output ----

enum Out {
    Plain(BufWriter<Box<dyn Write>>),
    Gz(BufWriter<GzEncoder<BufWriter<Box<dyn Write>>>>),
}

impl Out {
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Out::Plain(w) => w.write_all(b),
            Out::Gz(w) => w.write_all(b),
        }
    }
    fn finish(self) -> io::Result<()> {
        match self {
            Out::Plain(mut w) => w.flush(),
            Out::Gz(w) => {
                let gz = w.into_inner().map_err(|e| e.into_error())?;
                gz.finish()?.flush()
            }
        }
    }
}

/// What the entities look like (see the module docs).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Profile {
    Default,
    Stream,
    Reactions,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Stream => "stream",
            Profile::Reactions => "reactions",
        }
    }
    fn parse(s: &str) -> Option<Profile> {
        match s {
            "default" => Some(Profile::Default),
            "stream" => Some(Profile::Stream),
            "reactions" => Some(Profile::Reactions),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    V1,
    V2,
}
#[derive(Clone, Copy, PartialEq)]
enum Envelope {
    Item,
    Data,
    Bare,
}
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Object,
    Array,
    Wrapper,
    Sequence,
}

struct Args {
    size: u64,
    format: Format,
    profile: Profile,
    out: String,
    seed: u64,
    envelope: Envelope,
    shape: Shape,
    gzip: bool,
    stats_json: Option<String>,
    users: Option<usize>,
    channels: Option<usize>,
    track_user: String,
    quiet: bool,
}

#[derive(Default)]
struct Stats {
    counts: [u64; 6],
    by_type: [u64; 4],
    msg_line_bytes: u64,
    latest_reactions: u64,
    attachments: u64,
    track: [u64; 6],
    window: [u64; 6],
    per_channel: Vec<u64>,
    per_user: Vec<u64>,
    first_msg: Option<i64>,
    last_msg: Option<i64>,
}

struct Gen {
    rng: Rng,
    fmt: Format,
    profile: Profile,
    env: Envelope,
    target: u64,
    pools: Pools,
    users: Vec<User>,
    configs: [String; 3],
    mzipf: Zipf,
    tzipf: Zipf,
    kzipf: Zipf,
    /// Reactions per message (when it has any).
    rzipf: Zipf,
    out: Out,
    bytes: u64,
    /// `bytes` plus the envelope bytes a bare file leaves out: what the size
    /// target is compared with.
    budget: u64,
    lines: u64,
    /// Bytes of reaction lines written (v2), for the budget planner.
    rx_bytes: u64,
    st: Stats,
    track: u32,
    // scratch
    buf: Vec<u8>,
    text: Vec<u8>,
    html: Vec<u8>,
    rbuf: Vec<u8>,
    roffs: Vec<(usize, usize)>,
    rx: Vec<Rx>,
    stamp: Vec<u32>,
    epoch: u32,
}

/// Per-channel state while its messages are generated.
struct ChanState {
    /// Open threads: parent id and replies still to come.
    threads: Vec<(MsgId, u32)>,
    recent: Vec<MsgId>,
    last: Option<(MsgId, i64)>,
    /// v2: this channel's reaction lines, written after its messages.
    reactions: Vec<u8>,
    reaction_lines: u64,
}

impl Gen {
    fn emit(&mut self, b: &[u8]) -> io::Result<()> {
        self.bytes += b.len() as u64;
        self.budget += b.len() as u64;
        self.out.write_all(b)
    }

    /// How many bytes shorter a line of `kind` is than with the `item`
    /// envelope. The size budget counts every line as if it had the `item`
    /// envelope, so the three envelopes carry exactly the same entities.
    fn pad(&self, kind: &str) -> u64 {
        if self.fmt == Format::V2 && self.env == Envelope::Bare {
            (r#"{"type":"","item":}"#.len() + kind.len()) as u64
        } else {
            0
        }
    }

    fn open(&self, b: &mut Vec<u8>, kind: &str) {
        if self.fmt == Format::V2 {
            match self.env {
                Envelope::Item => {
                    put(b, "{\"type\":\"");
                    put(b, kind);
                    put(b, "\",\"item\":");
                }
                Envelope::Data => {
                    put(b, "{\"type\":\"");
                    put(b, kind);
                    put(b, "\",\"data\":");
                }
                Envelope::Bare => {}
            }
        }
    }

    fn close(&self, b: &mut Vec<u8>) {
        if self.fmt == Format::V2 {
            if self.env != Envelope::Bare {
                b.push(b'}');
            }
            b.push(b'\n');
        }
    }

    fn count(&mut self, kind: usize, user: u32, t: Option<i64>) {
        self.st.counts[kind] += 1;
        if user == self.track {
            self.st.track[kind] += 1;
        }
        if let Some(t) = t
            && (WIN_START..WIN_END).contains(&t)
        {
            self.st.window[kind] += 1;
        }
    }

    fn put_msg_id(&self, b: &mut Vec<u8>, id: MsgId) {
        if id.user != NO_USER {
            put(b, &self.users[id.user as usize].id);
            b.push(b'-');
        }
        put_uuid(b, id.uuid);
    }

    fn user_line(&mut self, u: usize) -> io::Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        self.open(&mut b, "user");
        put(&mut b, &self.users[u].obj);
        self.close(&mut b);
        self.emit(&b)?;
        self.budget += self.pad("user");
        self.buf = b;
        self.lines += 1;
        self.count(K_USER, u as u32, None);
        Ok(())
    }

    fn channel_obj(&mut self, b: &mut Vec<u8>, ch: &Channel, planned: u64) {
        let updated = ch.created + self.rng.below(10 * 86_400_000_000) as i64 * 1000;
        put(b, "{\"id\":\"");
        put(b, &ch.id);
        put(b, "\",\"type\":\"");
        put(b, CTYPES[ch.ctype]);
        put(b, "\",\"cid\":\"");
        put(b, &ch.cid);
        put(b, "\",\"created_at\":");
        put_ts(b, ch.created);
        put(b, ",\"updated_at\":");
        put_ts(b, updated);
        put(b, ",\"created_by\":");
        put(b, &self.users[ch.members[0] as usize].obj);
        put(b, ",\"frozen\":");
        put(
            b,
            if self.rng.chance(0.01) {
                "true"
            } else {
                "false"
            },
        );
        put(b, ",\"disabled\":false,\"member_count\":");
        put_u(b, ch.members.len() as u64);
        put(b, ",\"config\":");
        put(b, &self.configs[ch.ctype]);
        if planned > 0 {
            put(b, ",\"last_message_at\":");
            put_ts(
                b,
                YEAR_END - self.rng.below(3 * 86_400_000_000) as i64 * 1000,
            );
        }
        if let Some(name) = &ch.name {
            put(b, ",\"name\":\"");
            put(b, name);
            put(b, "\"");
            if self.rng.chance(0.5) {
                put(b, ",\"image\":\"https://picsum.photos/seed/");
                put(b, &ch.id);
                put(b, "/200\"");
            }
        }
        if ch.ctype == 1 {
            put(b, ",\"team\":\"");
            put(b, self.rng.pick_str(&["blue", "red"]));
            put(b, "\",\"tags\":[\"internal\",\"q3\"]");
        }
        if self.rng.chance(0.02) {
            put(b, ",\"truncated_at\":");
            put_ts(b, ch.start - DAY);
        }
        b.push(b'}');
    }

    fn member_obj(&mut self, b: &mut Vec<u8>, ch: &Channel, i: usize) -> i64 {
        let u = ch.members[i] as usize;
        let t = if i == 0 {
            ch.created
        } else {
            ch.created
                + self
                    .rng
                    .below(((ch.start - ch.created) / 1000).max(1) as u64) as i64
                    * 1000
        };
        put(b, "{\"user_id\":\"");
        put(b, &self.users[u].id);
        if self.profile == Profile::Reactions {
            // Short lines: the user is known by id only.
            put(b, "\"");
        } else {
            put(b, "\",\"user\":");
            put(b, &self.users[u].obj);
        }
        put(b, ",\"status\":\"member\",\"created_at\":");
        put_ts(b, t);
        put(b, ",\"updated_at\":");
        put_ts(b, t);
        put(b, ",\"banned\":false,\"shadow_banned\":false,\"role\":\"");
        let moderator = i > 0 && self.rng.chance(0.05);
        put(
            b,
            if i == 0 {
                "owner"
            } else if moderator {
                "moderator"
            } else {
                "member"
            },
        );
        put(b, "\",\"channel_role\":\"");
        put(
            b,
            if moderator {
                "channel_moderator"
            } else {
                "channel_member"
            },
        );
        put(b, "\",\"notifications_muted\":");
        put(
            b,
            if self.rng.chance(0.1) {
                "true"
            } else {
                "false"
            },
        );
        if i > 0 && self.rng.chance(0.1) {
            put(b, ",\"invited\":true,\"invite_accepted_at\":");
            put_ts(b, t);
        }
        b.push(b'}');
        t
    }

    fn member_entities(&mut self, ch: &Channel, v1: bool) -> io::Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        for i in 0..ch.members.len() {
            b.clear();
            if v1 && i > 0 {
                b.push(b',');
            }
            self.open(&mut b, "member");
            let t = self.member_obj(&mut b, ch, i);
            self.close(&mut b);
            self.emit(&b)?;
            self.budget += self.pad("member");
            if !v1 {
                self.lines += 1;
            }
            self.count(K_MEMBER, ch.members[i], Some(t));
        }
        self.buf = b;
        Ok(())
    }

    fn reaction_obj(&self, b: &mut Vec<u8>, msg: MsgId, r: &Rx) {
        let u = &self.users[r.user as usize];
        put(b, "{\"message_id\":\"");
        self.put_msg_id(b, msg);
        put(b, "\",\"user_id\":\"");
        put(b, &u.id);
        if self.profile == Profile::Reactions {
            put(b, "\"");
        } else {
            put(b, "\",\"user\":");
            put(b, &u.obj);
        }
        put(b, ",\"type\":\"");
        put(b, REACTION_TYPES[r.typ as usize]);
        put(b, "\",\"score\":");
        put_u(b, r.score as u64);
        put(b, ",\"created_at\":");
        put_ts(b, r.t);
        put(b, ",\"updated_at\":");
        put_ts(b, r.t);
        b.push(b'}');
    }

    fn attachment(&mut self, b: &mut Vec<u8>) {
        let rng = &mut self.rng;
        let uuid = rng.u128();
        let sig = |rng: &mut Rng, b: &mut Vec<u8>| {
            const B64: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            put(b, "?Key-Pair-Id=APKAIHG36VEWPDULE23Q\\u0026Signature=");
            for _ in 0..48 {
                b.push(B64[rng.below(64) as usize]);
            }
            put(b, "\\u0026Expires=1735689600");
        };
        let n = rng.range(1000, 9999);
        match rng.below(100) {
            0..55 => {
                put(
                    b,
                    "{\"type\":\"image\",\"image_url\":\"https://us-east.stream-io-cdn.com/102399/images/",
                );
                put_uuid(b, uuid);
                put(b, ".IMG_");
                put_u(b, n);
                put(b, ".jpeg");
                sig(rng, b);
                put(b, "\",\"fallback\":\"IMG_");
                put_u(b, n);
                put(
                    b,
                    ".jpeg\",\"original_width\":4032,\"original_height\":3024,\"mime_type\":\"image/jpeg\",\"file_size\":",
                );
                put_u(b, rng.range(80_000, 6_000_000));
                b.push(b'}');
            }
            55..70 => {
                put(b, "{\"type\":\"file\",\"title\":\"");
                put(
                    b,
                    rng.pick_str(&[
                        "Q3-report (final).pdf",
                        "notes.txt",
                        "Résumé_2024.docx",
                        "budget \\u0026 plan.xlsx",
                    ]),
                );
                put(
                    b,
                    "\",\"asset_url\":\"https://us-east.stream-io-cdn.com/102399/attachments/",
                );
                put_uuid(b, uuid);
                put(b, ".file");
                sig(rng, b);
                put(b, "\",\"mime_type\":\"application/pdf\",\"file_size\":");
                put_u(b, rng.range(10_000, 20_000_000));
                b.push(b'}');
            }
            70..80 => {
                put(b, "{\"type\":\"video\",\"title\":\"clip-");
                put_u(b, n);
                put(
                    b,
                    ".mp4\",\"asset_url\":\"https://us-east.stream-io-cdn.com/102399/attachments/",
                );
                put_uuid(b, uuid);
                put(b, ".clip.mp4");
                sig(rng, b);
                put(
                    b,
                    "\",\"thumb_url\":\"https://us-east.stream-io-cdn.com/102399/thumbs/",
                );
                put_uuid(b, uuid);
                put(b, ".jpg\",\"mime_type\":\"video/mp4\",\"file_size\":");
                put_u(b, rng.range(1_000_000, 90_000_000));
                b.push(b'}');
            }
            80..90 => {
                put(
                    b,
                    "{\"type\":\"giphy\",\"title\":\"party\",\"title_link\":\"https://giphy.com/gifs/",
                );
                put_u(b, n);
                put(b, "\",\"thumb_url\":\"https://media.giphy.com/media/");
                put_u(b, n);
                put(
                    b,
                    "/giphy.gif\",\"giphy\":{\"original\":{\"url\":\"https://media.giphy.com/media/",
                );
                put_u(b, n);
                put(
                    b,
                    "/giphy.gif\",\"width\":\"480\",\"height\":\"270\",\"size\":\"1534278\"},\"fixed_height\":{\"url\":\"https://media.giphy.com/media/",
                );
                put_u(b, n);
                put(
                    b,
                    "/200.gif\",\"width\":\"356\",\"height\":\"200\",\"size\":\"601321\"}}}",
                );
            }
            _ => {
                put(
                    b,
                    "{\"type\":\"article\",\"og_scrape_url\":\"https://example.com/blog/post-",
                );
                put_u(b, n);
                put(
                    b,
                    "?utm_source=chat\\u0026utm_medium=link\",\"title_link\":\"https://example.com/blog/post-",
                );
                put_u(b, n);
                put(
                    b,
                    "\",\"title\":\"Ten things about \\\"streams\\\"\",\"text\":\"A short preview of the article — with a dash and an ellipsis…\",\"author_name\":\"Example Blog\",\"image_url\":\"https://example.com/img/",
                );
                put_u(b, n);
                put(b, ".png\"}");
            }
        }
    }

    /// Renders one message (with its envelope in v2) into `self.buf`, and
    /// appends its reaction lines to `cs.reactions` in v2.
    fn message(&mut self, ch: &Channel, ci: usize, cs: &mut ChanState, t: i64) {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        let rng = &mut self.rng;
        let author_i = self.mzipf.sample(rng, ch.members.len());
        let author = ch.members[author_i];
        let r = rng.unit();
        let mtype = if !cs.threads.is_empty() && r < 0.12 {
            T_REPLY
        } else if r < 0.14 {
            T_DELETED
        } else if r < 0.15 {
            T_SYSTEM
        } else {
            T_REGULAR
        };
        let id = MsgId {
            uuid: rng.u128(),
            user: if rng.chance(0.15) { author } else { NO_USER },
        };
        let parent = if mtype == T_REPLY {
            let n = cs.threads.len();
            let k = n - 1 - rng.below(n.min(6) as u64) as usize;
            let p = cs.threads[k].0;
            cs.threads[k].1 -= 1;
            if cs.threads[k].1 == 0 {
                cs.threads.remove(k);
            }
            Some(p)
        } else {
            None
        };
        let live = mtype == T_REGULAR || mtype == T_REPLY;
        let profile = self.profile;
        // Text and html.
        let mut mentions: [u32; 3] = [0; 3];
        let mut n_mentions = 0;
        let mention_p = if profile == Profile::Stream {
            0.08
        } else {
            0.04
        };
        if live && rng.chance(mention_p) {
            n_mentions = rng.range(1, 3) as usize;
            for m in mentions.iter_mut().take(n_mentions) {
                *m = ch.members[rng.below(ch.members.len() as u64) as usize];
            }
        }
        // Stream keeps a soft-deleted message's text (unless the export
        // asked `clear_deleted_message_text`): the stream profile does too.
        match mtype {
            T_DELETED if profile != Profile::Stream => {
                self.text.clear();
                self.html.clear();
            }
            T_SYSTEM => {
                self.text.clear();
                let what = rng.pick_str(&[
                    " joined the channel",
                    " left the channel",
                    " changed the channel name",
                    " pinned a message",
                ]);
                put(&mut self.text, &self.users[author as usize].name);
                put(&mut self.text, what);
                self.html.clear();
                if profile == Profile::Stream {
                    put(&mut self.html, &self.users[author as usize].html_name);
                    put(&mut self.html, what);
                } else {
                    self.html.extend_from_slice(&self.text);
                }
            }
            _ => {
                let names: Vec<(&str, &str)> = mentions[..n_mentions]
                    .iter()
                    .map(|&u| {
                        let u = &self.users[u as usize];
                        if profile == Profile::Stream {
                            (u.name.as_str(), u.html_name.as_str())
                        } else {
                            (u.name.as_str(), u.name.as_str())
                        }
                    })
                    .collect();
                let len = if profile == Profile::Reactions {
                    rng.range(3, 40) as u32
                } else {
                    text_len(rng)
                };
                gen_text(
                    rng,
                    &self.pools,
                    self.users[author as usize].culture,
                    len,
                    &names,
                    &mut self.text,
                    &mut self.html,
                );
            }
        }
        // Reactions.
        self.rx.clear();
        if profile == Profile::Reactions {
            // Many reactions on almost every live message (~7 per message
            // overall); a user may give several types, each (user, type)
            // once.
            if live && rng.chance(0.95) {
                let k = rng.range(2, 15) as usize;
                let mut tries = 0;
                while self.rx.len() < k && tries < 8 * k {
                    tries += 1;
                    let u = ch.members[self.mzipf.sample(rng, ch.members.len())];
                    let typ = self.tzipf.sample(rng, REACTION_TYPES.len()) as u8;
                    if self.rx.iter().any(|r| r.user == u && r.typ == typ) {
                        continue;
                    }
                    let score = if REACTION_TYPES[typ as usize] == "clap" {
                        rng.range(1, 20) as u32
                    } else {
                        1
                    };
                    let dt = (rng.exp(1800.0) * 1e6) as i64 * 1000 + 1000;
                    self.rx.push(Rx {
                        user: u,
                        typ,
                        score,
                        t: t + dt,
                    });
                }
                self.rx.sort_by_key(|r| r.t);
            }
        } else if live && rng.chance(0.10) {
            let k = (1 + self.rzipf.sample(rng, 25)).min(ch.members.len());
            self.epoch += 1;
            let mut tries = 0;
            while self.rx.len() < k && tries < 8 * k {
                tries += 1;
                let u = ch.members[self.mzipf.sample(rng, ch.members.len())];
                if self.stamp[u as usize] == self.epoch {
                    continue;
                }
                self.stamp[u as usize] = self.epoch;
                let typ = self.tzipf.sample(rng, REACTION_TYPES.len()) as u8;
                let score = if REACTION_TYPES[typ as usize] == "clap" {
                    rng.range(1, 20) as u32
                } else {
                    1
                };
                let dt = (rng.exp(1800.0) * 1e6) as i64 * 1000 + 1000;
                self.rx.push(Rx {
                    user: u,
                    typ,
                    score,
                    t: t + dt,
                });
            }
            self.rx.sort_by_key(|r| r.t);
        }

        // The message object.
        let v2 = self.fmt == Format::V2;
        self.open(&mut b, "message");
        put(&mut b, "{\"id\":\"");
        self.put_msg_id(&mut b, id);
        put(&mut b, "\",\"text\":\"");
        b.extend_from_slice(&self.text);
        put(&mut b, "\",\"html\":\"");
        if mtype != T_DELETED || profile == Profile::Stream {
            put(&mut b, "\\u003cp\\u003e");
            b.extend_from_slice(&self.html);
            put(&mut b, "\\u003c/p\\u003e\\n");
        }
        put(&mut b, "\",\"type\":\"");
        put(&mut b, MSG_TYPES[mtype]);
        put(&mut b, "\",\"user\":");
        put(&mut b, &self.users[author as usize].obj);
        put(&mut b, ",\"attachments\":[");
        if live && self.rng.chance(0.06) {
            let n = if self.rng.chance(0.8) {
                1
            } else {
                self.rng.range(2, 4)
            };
            for i in 0..n {
                if i > 0 {
                    b.push(b',');
                }
                self.attachment(&mut b);
            }
            self.st.attachments += n;
        }
        // Render every reaction once; reuse the text for latest_reactions
        // and for the reaction lines.
        self.rbuf.clear();
        self.roffs.clear();
        for i in 0..self.rx.len() {
            let s = self.rbuf.len();
            let rx = self.rx[i];
            let mut rb = std::mem::take(&mut self.rbuf);
            self.reaction_obj(&mut rb, id, &rx);
            self.rbuf = rb;
            self.roffs.push((s, self.rbuf.len()));
        }
        put(&mut b, "],\"latest_reactions\":[");
        let nl = self.rx.len().min(10);
        for j in 0..nl {
            if j > 0 {
                b.push(b',');
            }
            let (s, e) = self.roffs[self.rx.len() - 1 - j];
            b.extend_from_slice(&self.rbuf[s..e]);
        }
        self.st.latest_reactions += nl as u64;
        let put_mentions = |b: &mut Vec<u8>| {
            put(b, "\"mentioned_users\":[");
            for (i, &u) in mentions[..n_mentions].iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                put(b, &self.users[u as usize].obj);
            }
            b.push(b']');
        };
        // Stream's order has `mentioned_users` between `shadowed` and
        // `silent`; the other profiles keep it after `own_reactions`.
        put(&mut b, "],\"own_reactions\":[],");
        if profile != Profile::Stream {
            put_mentions(&mut b);
            b.push(b',');
        }
        put(&mut b, "\"reaction_counts\":{");
        // Aggregate per type, in order of first appearance.
        let mut agg: [(u8, u64, u64, i64, i64); 10] = [(0, 0, 0, 0, 0); 10];
        let mut na = 0;
        for r in &self.rx {
            match agg[..na].iter_mut().find(|a| a.0 == r.typ) {
                Some(a) => {
                    a.1 += 1;
                    a.2 += r.score as u64;
                    a.4 = r.t;
                }
                None => {
                    agg[na] = (r.typ, 1, r.score as u64, r.t, r.t);
                    na += 1;
                }
            }
        }
        for (i, a) in agg[..na].iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            b.push(b'"');
            put(&mut b, REACTION_TYPES[a.0 as usize]);
            put(&mut b, "\":");
            put_u(&mut b, a.1);
        }
        put(&mut b, "},\"reaction_scores\":{");
        for (i, a) in agg[..na].iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            b.push(b'"');
            put(&mut b, REACTION_TYPES[a.0 as usize]);
            put(&mut b, "\":");
            put_u(&mut b, a.2);
        }
        put(&mut b, "},\"reaction_groups\":");
        if na == 0 {
            put(&mut b, if self.rng.chance(0.5) { "null" } else { "{}" });
        } else {
            b.push(b'{');
            for (i, a) in agg[..na].iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                b.push(b'"');
                put(&mut b, REACTION_TYPES[a.0 as usize]);
                put(&mut b, "\":{\"count\":");
                put_u(&mut b, a.1);
                put(&mut b, ",\"sum_scores\":");
                put_u(&mut b, a.2);
                put(&mut b, ",\"first_reaction_at\":");
                put_ts(&mut b, a.3);
                put(&mut b, ",\"last_reaction_at\":");
                put_ts(&mut b, a.4);
                b.push(b'}');
            }
            b.push(b'}');
        }
        // Replies planned for this message (a thread root).
        let mut reply_count = 0;
        if mtype == T_REGULAR && ch.ctype != 2 && self.rng.chance(0.05) {
            reply_count = 1 + self.kzipf.sample(&mut self.rng, 30) as u32;
            cs.threads.push((id, reply_count));
        }
        put(&mut b, ",\"reply_count\":");
        put_u(&mut b, reply_count as u64);
        put(&mut b, ",\"deleted_reply_count\":0,\"cid\":\"");
        put(&mut b, &ch.cid);
        put(&mut b, "\",\"created_at\":");
        put_ts(&mut b, t);
        let edited = live && self.rng.chance(0.03);
        let updated = if edited {
            t + self.rng.below(2 * 86_400_000_000) as i64 * 1000 + 1000
        } else {
            t
        };
        put(&mut b, ",\"updated_at\":");
        put_ts(&mut b, updated);
        put(&mut b, ",\"shadowed\":");
        put(
            &mut b,
            if self.rng.chance(0.002) {
                "true"
            } else {
                "false"
            },
        );
        if profile == Profile::Stream {
            b.push(b',');
            put_mentions(&mut b);
        }
        put(&mut b, ",\"silent\":");
        put(
            &mut b,
            if mtype == T_SYSTEM && self.rng.chance(0.5) {
                "true"
            } else {
                "false"
            },
        );
        let pin_p = if profile == Profile::Stream {
            0.03
        } else {
            0.005
        };
        if live && self.rng.chance(pin_p) {
            let by = ch.members[self.rng.below(ch.members.len() as u64) as usize];
            put(&mut b, ",\"pinned\":true,\"pinned_at\":");
            put_ts(&mut b, t + 60 * NS);
            put(&mut b, ",\"pinned_by\":");
            put(&mut b, &self.users[by as usize].obj);
            put(&mut b, ",\"pin_expires\":null");
        } else {
            put(
                &mut b,
                ",\"pinned\":false,\"pinned_at\":null,\"pinned_by\":null,\"pin_expires\":null",
            );
        }
        if let Some(p) = parent {
            put(&mut b, ",\"parent_id\":\"");
            self.put_msg_id(&mut b, p);
            put(&mut b, "\",\"show_in_channel\":");
            put(
                &mut b,
                if self.rng.chance(0.1) {
                    "true"
                } else {
                    "false"
                },
            );
        }
        if live && !cs.recent.is_empty() && self.rng.chance(0.01) {
            let q = cs.recent[self.rng.below(cs.recent.len() as u64) as usize];
            put(&mut b, ",\"quoted_message_id\":\"");
            self.put_msg_id(&mut b, q);
            put(&mut b, "\"");
        }
        if mtype == T_DELETED {
            put(&mut b, ",\"deleted_at\":");
            put_ts(
                &mut b,
                t + self.rng.below(3_600_000_000) as i64 * 1000 + 1000,
            );
        }
        if edited {
            put(&mut b, ",\"message_text_updated_at\":");
            put_ts(&mut b, updated);
        }
        if live && self.rng.chance(0.02) {
            put(&mut b, ",\"i18n\":{\"");
            put(&mut b, LANG[self.users[author as usize].culture]);
            put(&mut b, "_text\":\"");
            b.extend_from_slice(&self.text);
            put(&mut b, "\",\"nl_text\":\"vertaald: ");
            b.extend_from_slice(&self.text);
            put(&mut b, "\",\"language\":\"");
            put(&mut b, LANG[self.users[author as usize].culture]);
            put(&mut b, "\"}");
        }
        if live && self.rng.chance(0.03) {
            put(
                &mut b,
                ",\"priority\":\"high\",\"client\":{\"platform\":\"ios\",\"version\":\"4.2.1\",\"flags\":[\"beta\"]}",
            );
        }
        b.push(b'}');
        self.close(&mut b);

        // Bookkeeping.
        if cs.recent.len() < 64 {
            cs.recent.push(id);
        } else {
            let k = self.rng.below(64) as usize;
            cs.recent[k] = id;
        }
        cs.last = Some((id, t));
        self.count(K_MESSAGE, author, Some(t));
        self.st.by_type[mtype] += 1;
        self.st.per_channel[ci] += 1;
        self.st.per_user[author as usize] += 1;
        self.st.first_msg = Some(self.st.first_msg.map_or(t, |f| f.min(t)));
        self.st.last_msg = Some(self.st.last_msg.map_or(t, |l| l.max(t)));
        if v2 {
            for i in 0..self.rx.len() {
                let (s, e) = self.roffs[i];
                let mut rl = std::mem::take(&mut cs.reactions);
                self.open(&mut rl, "reaction");
                rl.extend_from_slice(&self.rbuf[s..e]);
                self.close(&mut rl);
                cs.reactions = rl;
                cs.reaction_lines += 1;
                let rx = self.rx[i];
                self.count(K_REACTION, rx.user, Some(rx.t));
            }
        }
        self.buf = b;
    }

    fn reads(&mut self, ch: &Channel, cs: &ChanState) -> io::Result<()> {
        let short = self.profile == Profile::Reactions;
        let n = if short {
            // Every member's read state, each a short line.
            ch.members.len()
        } else {
            (1 + self.rng.below(4) as usize).min(ch.members.len())
        };
        let mut b = std::mem::take(&mut self.buf);
        for i in 0..n {
            let u = ch.members[i];
            b.clear();
            self.open(&mut b, "read");
            if short {
                put(&mut b, "{\"user_id\":\"");
                put(&mut b, &self.users[u as usize].id);
                put(&mut b, "\"");
            } else {
                put(&mut b, "{\"user\":");
                put(&mut b, &self.users[u as usize].obj);
            }
            put(&mut b, ",\"last_read\":");
            match cs.last {
                Some((id, t)) => {
                    put_ts(&mut b, t + self.rng.below(86_400_000_000) as i64 * 1000);
                    put(&mut b, ",\"unread_messages\":");
                    put_u(&mut b, self.rng.below(if i == 0 { 1 } else { 25 }));
                    put(&mut b, ",\"last_read_message_id\":\"");
                    self.put_msg_id(&mut b, id);
                    put(&mut b, "\"}");
                }
                None => {
                    put_ts(&mut b, ch.created);
                    put(&mut b, ",\"unread_messages\":0}");
                }
            }
            self.close(&mut b);
            self.emit(&b)?;
            self.budget += self.pad("read");
            self.lines += 1;
            self.count(K_READ, u, None);
        }
        self.buf = b;
        Ok(())
    }

    /// Writes one channel. `planned` messages unless the size target is hit
    /// first; `last` keeps going until the target. Returns true once the
    /// target has been crossed.
    fn channel(
        &mut self,
        ch: &Channel,
        ci: usize,
        planned: u64,
        last: bool,
        comma: bool,
    ) -> io::Result<bool> {
        let v1 = self.fmt == Format::V1;
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        if v1 {
            if comma {
                b.push(b',');
            }
            put(&mut b, "{\"channel\":");
        } else {
            self.open(&mut b, "channel");
        }
        self.channel_obj(&mut b, ch, planned.max(last as u64));
        if v1 {
            put(&mut b, ",\"messages\":[");
        } else {
            self.close(&mut b);
            self.lines += 1;
        }
        self.emit(&b)?;
        self.budget += self.pad("channel");
        self.buf = b;
        self.count(K_CHANNEL, ch.members[0], Some(ch.created));
        if !v1 {
            self.member_entities(ch, false)?;
        }

        let mut cs = ChanState {
            threads: Vec::new(),
            recent: Vec::new(),
            last: None,
            reactions: Vec::new(),
            reaction_lines: 0,
        };
        let span = (YEAR_END - DAY / 2 - ch.start).max(DAY);
        let step = (span / planned.max(1) as i64).max(1000);
        let mut t_us = ch.start / 1000;
        let mut k: u64 = 0;
        let mut crossed = false;
        let rx_pad = self.pad("reaction");
        loop {
            let pending = cs.reactions.len() as u64 + rx_pad * cs.reaction_lines;
            if self.budget + pending >= self.target {
                crossed = true;
                break;
            }
            if !last && k >= planned {
                break;
            }
            let base = if k < planned {
                (ch.start + step * k as i64) / 1000 + self.rng.below((step / 1000) as u64) as i64
            } else {
                t_us + self.rng.range(1_000_000, 90_000_000) as i64
            };
            t_us = base.max(t_us + 1);
            let t = t_us * 1000
                + if self.rng.chance(0.05) {
                    self.rng.range(1, 999) as i64
                } else {
                    0
                };
            self.message(ch, ci, &mut cs, t);
            let mut b = std::mem::take(&mut self.buf);
            if v1 && k > 0 {
                self.emit(b",")?;
            }
            self.emit(&b)?;
            self.budget += self.pad("message");
            self.st.msg_line_bytes += b.len() as u64;
            if !v1 {
                self.lines += 1;
            }
            b.clear();
            self.buf = b;
            k += 1;
        }
        if v1 {
            self.emit(b"],\"members\":[")?;
            self.member_entities(ch, true)?;
            self.emit(b"]}")?;
        } else {
            let r = std::mem::take(&mut cs.reactions);
            self.emit(&r)?;
            self.budget += rx_pad * cs.reaction_lines;
            self.rx_bytes += r.len() as u64 + rx_pad * cs.reaction_lines;
            self.lines += cs.reaction_lines;
            self.reads(ch, &cs)?;
        }
        Ok(crossed || self.budget >= self.target)
    }
}

fn run(a: &Args) -> io::Result<()> {
    let started = Instant::now();
    let mut rng = Rng::new(a.seed);
    let single = a.format == Format::V1 && a.shape == Shape::Object;
    let n_users = a
        .users
        .unwrap_or((a.size / 16_384).clamp(20, 5000) as usize)
        .max(2);
    let n_channels = if single {
        1
    } else {
        let default = if a.profile == Profile::Reactions {
            // About as many messages as members per channel, so that
            // member and read lines are ~20% of the lines.
            (a.size / 220_000).clamp(3, 20_000)
        } else {
            (a.size / 524_288).clamp(3, 2000)
        };
        a.channels.unwrap_or(default as usize).max(1)
    };
    let uzipf = Zipf::new(n_users, 0.9);
    let users = make_users(&mut rng, n_users, a.profile);
    let channels = make_channels(&mut rng, n_channels, single, n_users, &uzipf);
    let track = users
        .iter()
        .position(|u| u.id == a.track_user)
        .map_or(u32::MAX - 1, |p| p as u32);

    let gzip = a.gzip || a.out.ends_with(".gz");
    let sink: Box<dyn Write> = if a.out == "-" {
        Box::new(io::stdout())
    } else {
        Box::new(File::create(&a.out)?)
    };
    let out = if gzip {
        Out::Gz(BufWriter::with_capacity(
            4 << 20,
            GzEncoder::new(BufWriter::with_capacity(1 << 20, sink), Compression::fast()),
        ))
    } else {
        Out::Plain(BufWriter::with_capacity(4 << 20, sink))
    };
    let mut g = Gen {
        rng,
        fmt: a.format,
        profile: a.profile,
        env: a.envelope,
        target: a.size,
        pools: Pools::new(),
        configs: [make_config(0), make_config(1), make_config(2)],
        mzipf: Zipf::new(1000, 1.1),
        tzipf: Zipf::new(REACTION_TYPES.len(), 1.2),
        kzipf: Zipf::new(40, 1.4),
        rzipf: Zipf::new(25, 2.0),
        out,
        bytes: 0,
        budget: 0,
        lines: 0,
        rx_bytes: 0,
        st: Stats {
            per_channel: vec![0; n_channels],
            per_user: vec![0; n_users],
            ..Stats::default()
        },
        track,
        buf: Vec::with_capacity(1 << 16),
        text: Vec::with_capacity(4096),
        html: Vec::with_capacity(4096),
        rbuf: Vec::with_capacity(1 << 16),
        roffs: Vec::new(),
        rx: Vec::new(),
        stamp: vec![0; n_users],
        epoch: 0,
        users,
    };

    let mut done = false;
    if a.format == Format::V2 {
        for u in 0..n_users {
            g.user_line(u)?;
            if g.budget >= g.target {
                done = true;
                break;
            }
        }
    } else {
        match a.shape {
            Shape::Array => g.emit(b"[")?,
            Shape::Wrapper => g.emit(b"{\"channels\":[")?,
            _ => {}
        }
    }

    // Budget planning: every channel gets a share of the remaining bytes
    // proportional to its Zipf weight, re-estimated after each channel from
    // what was actually written.
    let mut w_rem: f64 = channels.iter().map(|c| c.weight).sum();
    let mut members_rem: u64 = channels.iter().map(|c| c.members.len() as u64).sum();
    let (mut msg_bytes, mut msgs) = (0u64, 0u64);
    let (mut overhead_bytes, mut overhead_members) = (0u64, 0u64);
    for (ci, ch) in channels.iter().enumerate() {
        if done {
            break;
        }
        let per_msg = if msgs > 20 {
            msg_bytes as f64 / msgs as f64
        } else {
            1400.0
        };
        let per_member = if overhead_members > 0 {
            overhead_bytes as f64 / overhead_members as f64
        } else {
            700.0
        };
        let remaining = g.target.saturating_sub(g.budget) as f64;
        let overhead = per_member * members_rem as f64 + 3000.0 * (channels.len() - ci) as f64;
        let for_msgs = (remaining - overhead).max(0.0);
        let planned = (for_msgs * ch.weight / w_rem / per_msg).round() as u64;
        let planned = if for_msgs > 0.0 { planned.max(1) } else { 0 };
        let last = ci + 1 == channels.len();

        let b0 = g.budget;
        let m0 = g.st.counts[K_MESSAGE];
        let o0 = g.st.msg_line_bytes;
        let r0 = g.rx_bytes;
        let comma = ci > 0 && matches!(a.shape, Shape::Array | Shape::Wrapper);
        done = g.channel(ch, ci, planned, last, comma)?;
        if a.format == Format::V1 && a.shape == Shape::Sequence {
            g.emit(b"\n")?;
            g.lines += 1;
        }
        let spent = g.budget - b0;
        let new_msgs = g.st.counts[K_MESSAGE] - m0;
        let msg_part = g.st.msg_line_bytes - o0 + new_msgs * g.pad("message");
        // Reaction lines count as message cost; the rest is per-channel overhead.
        let non_msg = spent.saturating_sub(msg_part);
        let rx_part = g.rx_bytes - r0;
        msgs += new_msgs;
        msg_bytes += msg_part + rx_part;
        overhead_bytes += non_msg - rx_part;
        overhead_members += ch.members.len() as u64;
        w_rem -= ch.weight;
        members_rem -= ch.members.len() as u64;
    }
    if a.format == Format::V1 {
        match a.shape {
            Shape::Array => g.emit(b"]\n")?,
            Shape::Wrapper => g.emit(b"]}\n")?,
            Shape::Object => g.emit(b"\n")?,
            Shape::Sequence => {}
        }
        if a.shape != Shape::Sequence {
            g.lines += 1;
        }
    }
    let bytes = g.bytes;
    let lines = g.lines;
    let st = std::mem::take(&mut g.st);
    let users = std::mem::take(&mut g.users);
    g.out.finish()?;
    let elapsed = started.elapsed().as_secs_f64();
    let compressed = if gzip && a.out != "-" {
        std::fs::metadata(&a.out).ok().map(|m| m.len())
    } else {
        None
    };

    let avg_msg = if st.counts[K_MESSAGE] > 0 {
        st.msg_line_bytes as f64 / st.counts[K_MESSAGE] as f64
    } else {
        0.0
    };
    if !a.quiet {
        let fmt = match (a.format, a.envelope, a.shape) {
            (Format::V2, Envelope::Item, _) => "v2, item envelope",
            (Format::V2, Envelope::Data, _) => "v2, data envelope",
            (Format::V2, Envelope::Bare, _) => "v2, bare",
            (Format::V1, _, Shape::Object) => "v1 object",
            (Format::V1, _, Shape::Array) => "v1 array",
            (Format::V1, _, Shape::Wrapper) => "v1 wrapper",
            (Format::V1, _, Shape::Sequence) => "v1 sequence",
        };
        eprintln!(
            "generate: {} bytes ({:.1} MiB, {fmt}{}{}) to {} in {:.2} s = {:.0} MB/s",
            bytes,
            bytes as f64 / 1048576.0,
            if a.profile == Profile::Default {
                String::new()
            } else {
                format!(", profile {}", a.profile.name())
            },
            compressed.map_or(String::new(), |c| format!(", gzip {c} bytes")),
            a.out,
            elapsed,
            bytes as f64 / elapsed / 1e6
        );
        eprintln!(
            "  lines {lines}; user {}, channel {}, member {}, message {}, reaction {}, read {}",
            st.counts[0], st.counts[1], st.counts[2], st.counts[3], st.counts[4], st.counts[5]
        );
        eprintln!(
            "  messages: regular {}, reply {}, deleted {}, system {}; avg message {} {:.0} bytes; latest_reactions {}; attachments {}",
            st.by_type[0],
            st.by_type[1],
            st.by_type[2],
            st.by_type[3],
            if a.format == Format::V2 {
                "line"
            } else {
                "object"
            },
            avg_msg,
            st.latest_reactions,
            st.attachments
        );
        eprintln!(
            "  {}: {} messages; 2024-03 window: {} messages; {} users, {} channels (largest {} messages)",
            a.track_user,
            st.track[K_MESSAGE],
            st.window[K_MESSAGE],
            n_users,
            n_channels,
            st.per_channel.iter().max().copied().unwrap_or(0)
        );
    }

    if let Some(path) = &a.stats_json {
        let kinds = |c: &[u64; 6]| {
            let mut s = String::from("{");
            for (i, k) in KINDS.iter().enumerate() {
                let _ = write!(s, "{}\"{k}\":{}", if i > 0 { "," } else { "" }, c[i]);
            }
            s.push('}');
            s
        };
        let mut s = String::new();
        let _ = write!(
            s,
            "{{\n  \"generator\": \"examples/generate.rs\",\n  \"seed\": {},\n  \"format\": \"{}\",\n",
            a.seed,
            if a.format == Format::V2 { "v2" } else { "v1" }
        );
        // Only for the new profiles, so that a default file's stats stay
        // byte for byte what they were.
        if a.profile != Profile::Default {
            let _ = writeln!(s, "  \"profile\": \"{}\",", a.profile.name());
        }
        let _ = write!(
            s,
            "  \"envelope\": {},\n  \"shape\": {},\n  \"gzip\": {gzip},\n  \"bytes\": {bytes},\n  \"compressed_bytes\": {},\n  \"lines\": {lines},\n",
            if a.format == Format::V2 {
                format!("\"{}\"", ["item", "data", "bare"][a.envelope as usize])
            } else {
                "null".into()
            },
            if a.format == Format::V1 {
                format!(
                    "\"{}\"",
                    ["object", "array", "wrapper", "sequence"][a.shape as usize]
                )
            } else {
                "null".into()
            },
            compressed.map_or("null".into(), |c| c.to_string()),
        );
        let _ = write!(
            s,
            "  \"counts\": {},\n  \"entities\": {},\n",
            kinds(&st.counts),
            st.counts.iter().sum::<u64>()
        );
        let _ = writeln!(
            s,
            "  \"messages_by_type\": {{\"regular\":{},\"reply\":{},\"deleted\":{},\"system\":{}}},",
            st.by_type[0], st.by_type[1], st.by_type[2], st.by_type[3]
        );
        let _ = write!(
            s,
            "  \"avg_message_bytes\": {:.1},\n  \"latest_reactions\": {},\n  \"attachments\": {},\n",
            avg_msg, st.latest_reactions, st.attachments
        );
        let ts = |t: Option<i64>| {
            t.map_or("null".to_string(), |t| {
                let mut b = Vec::new();
                put_ts(&mut b, t);
                String::from_utf8(b).unwrap()
            })
        };
        let _ = write!(
            s,
            "  \"first_message_at\": {},\n  \"last_message_at\": {},\n",
            ts(st.first_msg),
            ts(st.last_msg)
        );
        let _ = write!(
            s,
            "  \"track_user\": \"{}\",\n  \"track_user_counts\": {},\n",
            esc(&a.track_user),
            kinds(&st.track)
        );
        let _ = writeln!(
            s,
            "  \"window\": {{\"since\":\"2024-03-01T00:00:00Z\",\"until\":\"2024-04-01T00:00:00Z\",\"counts\":{}}},",
            kinds(&st.window)
        );
        s.push_str("  \"messages_per_channel\": {");
        let mut first = true;
        for (ci, ch) in channels.iter().enumerate() {
            if st.per_channel[ci] > 0 {
                let _ = write!(
                    s,
                    "{}\"{}\":{}",
                    if first { "" } else { "," },
                    ch.cid,
                    st.per_channel[ci]
                );
                first = false;
            }
        }
        s.push_str("},\n  \"messages_per_user\": {");
        let mut first = true;
        for (ui, u) in users.iter().enumerate() {
            if st.per_user[ui] > 0 {
                let _ = write!(
                    s,
                    "{}\"{}\":{}",
                    if first { "" } else { "," },
                    u.id,
                    st.per_user[ui]
                );
                first = false;
            }
        }
        s.push_str("}\n}\n");
        std::fs::write(path, s)?;
    }
    Ok(())
}

const USAGE: &str = "usage: generate --size SIZE --out FILE [--format v2|v1] [--seed N]
         [--profile default|stream|reactions] [--envelope item|data|bare] [--shape object|array|wrapper|sequence]
         [--gzip] [--stats-json FILE] [--users N] [--channels N]
         [--track-user ID] [--quiet]
  SIZE: 123, 64KiB, 100MiB, 1GiB, 500MB, 1.5GB (uncompressed target; the file
        ends after the entity that crosses it, structure always closed)
  --out -  writes to stdout; a name ending in .gz implies --gzip
  v1 shapes: object = one channel; array (default) = [ch, ...];
             wrapper = {\"channels\":[...]}; sequence = one object per line
  profiles:  default = the original shape (same bytes for the same seed);
             stream = Stream's key order, html on every message, more
                      mentions and pins (full user objects);
             reactions = mostly short reaction and read lines";

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "kb" => 1e3,
        "m" | "mib" => 1048576.0,
        "mb" => 1e6,
        "g" | "gib" => 1073741824.0,
        "gb" => 1e9,
        "t" | "tib" => 1099511627776.0,
        "tb" => 1e12,
        _ => return Err(format!("bad size unit in {s:?}")),
    };
    Ok((n * mult).round() as u64)
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        size: 0,
        format: Format::V2,
        profile: Profile::Default,
        out: String::new(),
        seed: 1,
        envelope: Envelope::Item,
        shape: Shape::Array,
        gzip: false,
        stats_json: None,
        users: None,
        channels: None,
        track_user: "user-17".into(),
        quiet: false,
    };
    let mut have_size = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut val = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or(format!("{key} needs a value"))
        };
        match key.as_str() {
            "--size" => {
                a.size = parse_size(&val()?)?;
                have_size = true;
            }
            "--format" => {
                a.format = match val()?.as_str() {
                    "v1" => Format::V1,
                    "v2" => Format::V2,
                    v => return Err(format!("--format: v1 or v2, not {v:?}")),
                }
            }
            "--out" | "-o" => a.out = val()?,
            "--profile" => {
                let v = val()?;
                a.profile = Profile::parse(&v).ok_or(format!(
                    "--profile: default, stream or reactions, not {v:?}"
                ))?
            }
            "--seed" => a.seed = val()?.parse().map_err(|_| "--seed: an integer")?,
            "--envelope" => {
                a.envelope = match val()?.as_str() {
                    "item" => Envelope::Item,
                    "data" => Envelope::Data,
                    "bare" => Envelope::Bare,
                    v => return Err(format!("--envelope: item, data or bare, not {v:?}")),
                }
            }
            "--shape" => {
                a.shape = match val()?.as_str() {
                    "object" => Shape::Object,
                    "array" => Shape::Array,
                    "wrapper" => Shape::Wrapper,
                    "sequence" => Shape::Sequence,
                    v => {
                        return Err(format!(
                            "--shape: object, array, wrapper or sequence, not {v:?}"
                        ));
                    }
                }
            }
            "--gzip" => a.gzip = true,
            "--stats-json" => a.stats_json = Some(val()?),
            "--users" => a.users = Some(val()?.parse().map_err(|_| "--users: an integer")?),
            "--channels" => {
                a.channels = Some(val()?.parse().map_err(|_| "--channels: an integer")?)
            }
            "--track-user" => a.track_user = val()?,
            "--quiet" | "-q" => a.quiet = true,
            "--help" | "-h" => return Err(String::new()),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if !have_size || a.out.is_empty() {
        return Err("--size and --out are required".into());
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("generate: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("generate: {e}");
        std::process::exit(1);
    }
}

/// The generator as a function, for benches and tests that include this
/// file with `#[path = "../examples/generate.rs"] mod generate;`: writes an
/// export of about `size` bytes to `out` and its counts to `stats_json`.
#[allow(dead_code, clippy::too_many_arguments)]
pub fn generate_file(
    out: &str,
    size: u64,
    v1: bool,
    envelope: &str,
    shape: &str,
    gzip: bool,
    seed: u64,
    stats_json: Option<&str>,
) -> io::Result<()> {
    generate_file_profile(
        out, size, v1, envelope, shape, gzip, seed, stats_json, "default",
    )
}

/// [`generate_file`] with a `--profile` (`default`, `stream`, `reactions`).
#[allow(dead_code, clippy::too_many_arguments)]
pub fn generate_file_profile(
    out: &str,
    size: u64,
    v1: bool,
    envelope: &str,
    shape: &str,
    gzip: bool,
    seed: u64,
    stats_json: Option<&str>,
    profile: &str,
) -> io::Result<()> {
    let profile = Profile::parse(profile).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown profile {profile:?}"),
        )
    })?;
    let envelope = match envelope {
        "data" => Envelope::Data,
        "bare" => Envelope::Bare,
        _ => Envelope::Item,
    };
    let shape = match shape {
        "object" => Shape::Object,
        "wrapper" => Shape::Wrapper,
        "sequence" => Shape::Sequence,
        _ => Shape::Array,
    };
    run(&Args {
        size,
        format: if v1 { Format::V1 } else { Format::V2 },
        profile,
        out: out.to_string(),
        seed,
        envelope,
        shape,
        gzip,
        stats_json: stats_json.map(str::to_string),
        users: None,
        channels: None,
        track_user: "user-17".to_string(),
        quiet: true,
    })
}
