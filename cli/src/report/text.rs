//! The terminal view of `stats`: aligned tables and a bar chart of
//! activity over time, within 80 columns.

use super::clean;
use std::collections::BTreeMap;
use std::io::{self, Write};
use stream_chat_export::StatsReport;
use stream_chat_export::stats::PeriodStats;

/// Width of the bar chart's bars.
const BAR: usize = 44;

/// Writes the report.
pub fn write(out: &mut impl Write, r: &StatsReport) -> io::Result<()> {
    let m = &r.messages;
    let files = r.inputs.len();
    writeln!(
        out,
        "{} input{}, {} entities, {} messages (zone {})",
        files,
        if files == 1 { "" } else { "s" },
        r.counts.values().sum::<u64>(),
        m.total,
        clean(&r.zone, 40)
    )?;
    if let (Some(a), Some(b)) = (&m.first, &m.last) {
        writeln!(out, "messages from {a} to {b}")?;
    }
    let errors: u64 = r.inputs.iter().map(|i| i.errors).sum();
    if errors > 0 {
        writeln!(out, "{errors} bad records skipped (not counted)")?;
    }

    section(out, "Entities")?;
    pairs(out, r.counts.iter().map(|(k, v)| (k.as_str(), *v)))?;

    section(out, "Messages")?;
    let flags = [
        ("replies", m.replies),
        ("edited", m.edited),
        ("pinned", m.pinned),
        ("deleted", m.deleted),
        ("shadowed", m.shadowed),
        ("silent", m.silent),
        ("with attachments", m.with_attachments),
        ("mentions", m.mentions),
    ];
    pairs(out, flags.into_iter())?;
    writeln!(out, "  by type:")?;
    pairs(out, m.by_type.iter().map(|(k, v)| (k.as_str(), *v)))?;
    if !m.attachments.is_empty() {
        writeln!(out, "  attachments by type:")?;
        pairs(out, m.attachments.iter().map(|(k, v)| (k.as_str(), *v)))?;
    }
    writeln!(
        out,
        "  text length: mean {:.1} characters",
        m.text_length.mean
    )?;

    section(out, "Activity")?;
    activity(out, r)?;

    section(out, "Top channels")?;
    writeln!(
        out,
        "  {:<36} {:>9} {:>7} {:>7} {:>9}",
        "channel", "messages", "users", "threads", "reactions"
    )?;
    for t in &r.top.channels {
        let c = &r.by_channel[&t.name];
        writeln!(
            out,
            "  {:<36} {:>9} {:>7} {:>7} {:>9}",
            clean(&t.name, 36),
            c.messages,
            c.active_users,
            c.threads,
            c.reactions
        )?;
    }
    section(out, "Top users")?;
    writeln!(
        out,
        "  {:<36} {:>9} {:>8} {:>9} {:>9}",
        "user", "messages", "channels", "given", "received"
    )?;
    for t in &r.top.users {
        let u = &r.by_user[&t.name];
        writeln!(
            out,
            "  {:<36} {:>9} {:>8} {:>9} {:>9}",
            clean(&t.name, 36),
            u.messages,
            u.channels,
            u.reactions_given,
            u.reactions_received
        )?;
    }

    section(out, "Reactions")?;
    writeln!(
        out,
        "  {} reactions, counted from {}",
        r.reactions.total,
        source_text(&r.reactions.source)
    )?;
    pairs(
        out,
        r.top
            .reaction_types
            .iter()
            .map(|n| (n.name.as_str(), n.count)),
    )?;
    if !r.top.messages.is_empty() {
        writeln!(out, "  most reacted messages:")?;
        for t in &r.top.messages {
            writeln!(
                out,
                "  {:>7}  {:<22} {}",
                t.reactions,
                clean(t.cid.as_deref().unwrap_or("-"), 22),
                clean(&t.text, 40)
            )?;
        }
    }

    section(out, "Threads")?;
    let th = &r.threads;
    write!(
        out,
        "  {} threads, {} replies, {:.1} replies per thread (most {})",
        th.threads, th.replies, th.replies_per_thread_mean, th.replies_per_thread_max
    )?;
    writeln!(out)?;
    if let Some(median) = th.first_reply.median_seconds {
        writeln!(
            out,
            "  first reply: median {}, 90% within {} ({} threads measured, ±{:.0}%)",
            duration(median),
            duration(th.first_reply.p90_seconds.unwrap_or(median)),
            th.first_reply.measured,
            th.first_reply.relative_error * 100.0
        )?;
    }
    if r.accuracy.distinct_estimated > 0 {
        writeln!(
            out,
            "\nnote: {} distinct counts are estimates (±{:.1}%), past {} values",
            r.accuracy.distinct_estimated,
            r.accuracy.distinct_sketch_error * 100.0,
            r.accuracy.distinct_exact_up_to
        )?;
    }
    Ok(())
}

fn source_text(source: &str) -> &str {
    match source {
        "reaction_records" => "reaction records",
        "reaction_counts" => "the messages' reaction_counts (no reaction records)",
        "mixed" => "records where present, else reaction_counts",
        _ => "nothing (no reactions)",
    }
}

fn section(out: &mut impl Write, title: &str) -> io::Result<()> {
    writeln!(out, "\n{title}")
}

/// Name/count pairs, two columns of 38.
fn pairs<'a>(out: &mut impl Write, items: impl Iterator<Item = (&'a str, u64)>) -> io::Result<()> {
    let items: Vec<(&str, u64)> = items.collect();
    for row in items.chunks(2) {
        let mut line = String::new();
        for (name, n) in row {
            line.push_str(&format!("  {:<24} {:>11}", clean(name, 24), n));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A duration in the largest unit that keeps it readable.
pub fn duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0}s")
    } else if secs < 5400.0 {
        format!("{:.0}min", secs / 60.0)
    } else if secs < 172_800.0 {
        format!("{:.1}h", secs / 3600.0)
    } else {
        format!("{:.1}d", secs / 86_400.0)
    }
}

/// Messages over time: per day for a month or less, per ISO week up to
/// half a year, else per month; at most 36 rows (the latest).
fn activity(out: &mut impl Write, r: &StatsReport) -> io::Result<()> {
    let days: BTreeMap<String, PeriodStats> = r
        .by_day
        .iter()
        .map(|(k, d)| {
            (
                k.clone(),
                PeriodStats {
                    messages: d.messages,
                },
            )
        })
        .collect();
    let (unit, rows) = if days.len() <= 31 {
        ("day", &days)
    } else if r.by_week.len() <= 26 {
        ("week", &r.by_week)
    } else {
        ("month", &r.by_month)
    };
    if rows.is_empty() {
        return writeln!(out, "  no dated messages");
    }
    let max = rows.values().map(|p| p.messages).max().unwrap_or(0).max(1);
    let skip = rows.len().saturating_sub(36);
    if skip > 0 {
        writeln!(out, "  ({skip} earlier {unit}s not shown)")?;
    }
    writeln!(out, "  messages per {unit}:")?;
    for (label, p) in rows.iter().skip(skip) {
        let len = (p.messages as f64 / max as f64 * BAR as f64).round() as usize;
        let bar = if p.messages > 0 { len.max(1) } else { 0 };
        writeln!(
            out,
            "  {:<10} {:<BAR$} {:>9}",
            clean(label, 10),
            "█".repeat(bar),
            p.messages
        )?;
    }
    Ok(())
}
