//! `stats --html`: one self-contained page — inline CSS and SVG, a few
//! lines of inline script for sorting the channel table, and a Content
//! Security Policy that forbids loading anything, so opening the report
//! never touches the network.
//!
//! Every name and id in an export is untrusted: each goes through [`esc`]
//! before it reaches the page, in text and in attributes alike.

use super::text::duration;
use std::fmt::Write as _;
use stream_chat_export::StatsReport;

/// Rows of the per-channel table at most (the busiest); the JSON output
/// has them all.
const TABLE_ROWS: usize = 2000;

/// Escapes text for HTML text and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no business in a label.
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to `max` characters (with an ellipsis), then escaped.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        esc(&format!("{cut}…"))
    } else {
        esc(s)
    }
}

fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

const PALETTE: [&str; 8] = [
    "#3b6ef5", "#16a394", "#f2a93b", "#e4572e", "#8e6bd8", "#5bb0e8", "#c9577f", "#7a8a99",
];

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;background:#f4f6fa;color:#1d2433}
header{background:linear-gradient(120deg,#1b2a4e,#3b6ef5);color:#fff;padding:28px 40px 24px}
header h1{margin:0 0 4px;font-size:24px;font-weight:650;letter-spacing:.2px}
header p{margin:0;opacity:.85}
main{max-width:1200px;margin:0 auto;padding:24px 24px 48px}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:14px;margin:-44px 0 22px}
.kpi{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(20,30,60,.12)}
.kpi b{display:block;font-size:22px;font-weight:650;color:#1b2a4e}
.kpi span{color:#5b6578;font-size:12px;text-transform:uppercase;letter-spacing:.6px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.card{background:#fff;border-radius:10px;padding:16px 18px 12px;box-shadow:0 1px 3px rgba(20,30,60,.12);min-width:0}
.card.wide{grid-column:1/-1}
.card h2{margin:0 0 2px;font-size:15px;font-weight:650}
.card .sub{margin:0 0 10px;color:#5b6578;font-size:12px}
svg{display:block;width:100%;height:auto}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#3d4657}
svg .axis{stroke:#c9cfdb;stroke-width:1}
svg .grid{stroke:#eceff5;stroke-width:1}
table{width:100%;border-collapse:collapse;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid #eceff5;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal;word-break:break-all}
th{position:sticky;top:0;background:#f7f8fb;cursor:pointer;user-select:none;color:#3d4657;font-weight:600}
th[aria-sort=ascending]::after{content:" \25B2";font-size:9px}
th[aria-sort=descending]::after{content:" \25BC";font-size:9px}
tbody tr:hover{background:#f4f7ff}
.scroll{max-height:560px;overflow:auto}
.facts{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:6px 0 12px}
.facts div{background:#f4f6fa;border-radius:8px;padding:8px 10px}
.facts b{display:block;font-size:17px;color:#1b2a4e}
.facts span{font-size:12px;color:#5b6578}
footer{color:#5b6578;font-size:12px;margin-top:22px}
footer li{margin:2px 0}
.empty{color:#8a93a5;font-style:italic;padding:16px 0}
"#;

/// Sorts the channel table by a clicked header (numbers by their
/// `data-v`), and marks the page as drawn for the browser check: how many
/// charts it holds and how many resources it loaded (none is allowed).
const SCRIPT: &str = r#"
(function(){
  var t=document.getElementById('channels');
  if(t){
    var hs=t.tHead.rows[0].cells;
    for(var i=0;i<hs.length;i++){(function(i){hs[i].addEventListener('click',function(){
      var asc=this.getAttribute('aria-sort')!=='ascending';
      for(var j=0;j<hs.length;j++)hs[j].removeAttribute('aria-sort');
      this.setAttribute('aria-sort',asc?'ascending':'descending');
      var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
      rows.sort(function(x,y){
        var a=x.cells[i].getAttribute('data-v'),c=y.cells[i].getAttribute('data-v');
        var r=(i===0)?a.localeCompare(c):(parseFloat(a)-parseFloat(c));
        return asc?r:-r;});
      rows.forEach(function(r){b.appendChild(r);});
    });})(i);}
  }
  document.body.setAttribute('data-charts',String(document.querySelectorAll('svg.chart').length));
  var res=(window.performance&&performance.getEntriesByType)?performance.getEntriesByType('resource').length:0;
  document.body.setAttribute('data-resources',String(res));
  document.body.setAttribute('data-ready','1');
})();
"#;

/// The whole page.
pub fn render(r: &StatsReport) -> String {
    let mut h = String::with_capacity(64 << 10);
    let m = &r.messages;
    let inputs: Vec<String> = r.inputs.iter().map(|i| i.file.clone()).collect();
    let range = match (&m.first, &m.last) {
        (Some(a), Some(b)) => format!("{} – {}", &a[..a.len().min(10)], &b[..b.len().min(10)]),
        _ => "no dated messages".to_string(),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <title>Chat export statistics</title><style>{CSS}</style></head><body>\n\
         <header><h1>Chat export statistics</h1><p>{} · {} · zone {}</p></header><main>\n",
        short(&inputs.join(", "), 160),
        esc(&range),
        esc(&r.zone)
    );
    let median = r
        .threads
        .first_reply
        .median_seconds
        .map_or("–".to_string(), duration);
    let kpis = [
        (num(m.total), "messages"),
        (num(r.by_channel.len() as u64), "channels"),
        (num(r.by_user.len() as u64), "users"),
        (num(r.reactions.total), "reactions"),
        (num(r.threads.threads), "threads"),
        (median, "median first reply"),
    ];
    h.push_str("<section class=\"kpis\">");
    for (v, label) in kpis {
        let _ = write!(h, "<div class=\"kpi\"><b>{v}</b><span>{label}</span></div>");
    }
    h.push_str("</section><div class=\"grid\">\n");

    // Messages over time.
    let (unit, series) = time_series(r);
    card(
        &mut h,
        true,
        "Messages over time",
        &format!("messages per {unit}"),
        &columns(&series, 1120, 240, PALETTE[0]),
    );
    card(
        &mut h,
        true,
        "When people write",
        &format!("messages by weekday and hour ({})", esc(&r.zone)),
        &heat_map(&r.hour_weekday),
    );
    let channels: Vec<(String, u64)> = r
        .top
        .channels
        .iter()
        .map(|n| (n.name.clone(), n.count))
        .collect();
    card(
        &mut h,
        false,
        "Top channels",
        "by messages",
        &hbars(&channels, PALETTE[0]),
    );
    let users: Vec<(String, u64)> = r
        .top
        .users
        .iter()
        .map(|n| (n.name.clone(), n.count))
        .collect();
    card(
        &mut h,
        false,
        "Top users",
        "by messages written",
        &hbars(&users, PALETTE[1]),
    );
    let mut types: Vec<(String, u64)> = m.by_type.iter().map(|(k, v)| (k.clone(), *v)).collect();
    types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    card(
        &mut h,
        false,
        "Message types",
        &format!(
            "{} edited · {} pinned · {} deleted · {} with attachments",
            num(m.edited),
            num(m.pinned),
            num(m.deleted),
            num(m.with_attachments)
        ),
        &hbars(&types, PALETTE[4]),
    );
    let reactions: Vec<(String, u64)> = r
        .top
        .reaction_types
        .iter()
        .map(|n| (n.name.clone(), n.count))
        .collect();
    let source = match r.reactions.source.as_str() {
        "reaction_records" => "counted from reaction records",
        "reaction_counts" => "counted from the messages' reaction_counts (no reaction records)",
        "mixed" => "reaction records where present, else reaction_counts",
        _ => "no reactions",
    };
    card(
        &mut h,
        false,
        "Reaction types",
        source,
        &hbars(&reactions, PALETTE[2]),
    );
    threads_card(&mut h, r);
    let lengths: Vec<(String, u64)> = m
        .text_length
        .buckets
        .iter()
        .map(|b| {
            let label = match b.max {
                Some(max) if max == b.min => format!("{max}"),
                Some(max) => format!("{}–{max}", b.min),
                None => format!("{}+", b.min),
            };
            (label, b.messages)
        })
        .collect();
    card(
        &mut h,
        false,
        "Text length",
        &format!("characters per message, mean {:.1}", m.text_length.mean),
        &columns(&lengths, 540, 200, PALETTE[5]),
    );
    top_messages_card(&mut h, r);
    channel_table(&mut h, r);
    h.push_str("</div>\n<footer><ul>");
    let _ = write!(
        h,
        "<li>Distinct counts (active users, channels per user) are exact up to {} values per counter, then estimated (standard error {:.1}%); {} in this report are estimates.</li>\
         <li>First-reply times come from a log histogram (relative error {:.0}%); every other number is exact.</li>",
        r.accuracy.distinct_exact_up_to,
        r.accuracy.distinct_sketch_error * 100.0,
        r.accuracy.distinct_estimated,
        r.accuracy.first_reply_relative_error * 100.0
    );
    for i in &r.inputs {
        let _ = write!(
            h,
            "<li>{}: {} ({} records, {} bad records skipped; reactions from {})</li>",
            esc(&i.file),
            esc(&i.format),
            num(i.records),
            num(i.errors),
            esc(&i.reaction_source)
        );
    }
    let _ = writeln!(
        h,
        "</ul>Generated by stream-chat-export.</footer></main><script>{SCRIPT}</script></body></html>"
    );
    h
}

fn card(h: &mut String, wide: bool, title: &str, sub: &str, body: &str) {
    let _ = writeln!(
        h,
        "<section class=\"card{}\"><h2>{}</h2><p class=\"sub\">{}</p>{}</section>",
        if wide { " wide" } else { "" },
        esc(title),
        sub,
        body
    );
}

/// Per day for up to four months, per week up to three years, else per
/// month.
fn time_series(r: &StatsReport) -> (&'static str, Vec<(String, u64)>) {
    if r.by_day.len() <= 120 {
        (
            "day",
            r.by_day
                .iter()
                .map(|(k, d)| (k.clone(), d.messages))
                .collect(),
        )
    } else if r.by_week.len() <= 160 {
        (
            "ISO week",
            r.by_week
                .iter()
                .map(|(k, d)| (k.clone(), d.messages))
                .collect(),
        )
    } else {
        (
            "month",
            r.by_month
                .iter()
                .map(|(k, d)| (k.clone(), d.messages))
                .collect(),
        )
    }
}

/// A "nice" upper bound and step for an axis up to `max`.
fn ticks(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let raw = max as f64 / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|f| f * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0) as u64;
    (max.div_ceil(step) * step, step)
}

/// Vertical columns with a y axis; labels thinned to fit.
fn columns(items: &[(String, u64)], w: u32, hgt: u32, color: &str) -> String {
    if items.is_empty() {
        return "<p class=\"empty\">nothing to show</p>".to_string();
    }
    let max = items.iter().map(|i| i.1).max().unwrap_or(0);
    let (ymax, step) = ticks(max);
    // Room for the longest axis label (about 6.5 px per character).
    let left = 14.0 + 6.5 * num(ymax).chars().count() as f64;
    let (bottom, top) = (34.0, 8.0);
    let (wf, hf) = (f64::from(w), f64::from(hgt));
    let plot_w = wf - left - 8.0;
    let plot_h = hf - bottom - top;
    let mut s = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"column chart\">"
    );
    let mut y = 0;
    while y <= ymax {
        let py = top + plot_h - (y as f64 / ymax as f64) * plot_h;
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            wf - 8.0,
            left - 6.0,
            py + 4.0,
            num(y)
        );
        y += step;
    }
    let n = items.len() as f64;
    let slot = plot_w / n;
    // Few columns stay columns, not slabs.
    let bar = (slot * 0.8).clamp(1.0, 56.0);
    // Room for about one label per 64 px.
    let every = ((64.0 / slot).ceil() as usize).max(1);
    for (i, (label, v)) in items.iter().enumerate() {
        let bh = (*v as f64 / ymax as f64) * plot_h;
        let x = left + i as f64 * slot + (slot - bar) / 2.0;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" rx=\"{}\" fill=\"{color}\"><title>{}: {}</title></rect>",
            top + plot_h - bh,
            if bar > 6.0 { 2 } else { 0 },
            esc(label),
            num(*v)
        );
        if i % every == 0 {
            let cx = left + i as f64 * slot + slot / 2.0;
            // A label near the right edge ends at its column instead of
            // running off the chart.
            let anchor = if cx > wf - 40.0 { "end" } else { "middle" };
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                if anchor == "end" { cx + slot / 2.0 } else { cx },
                hf - bottom + 16.0,
                short(label, 12)
            );
        }
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\"/></svg>",
        wf - 8.0,
        top + plot_h,
        top + plot_h
    );
    s
}

/// Horizontal bars with names on the left (cut to fit; the full name in
/// the tooltip) and values on the right.
fn hbars(items: &[(String, u64)], color: &str) -> String {
    if items.is_empty() {
        return "<p class=\"empty\">nothing to show</p>".to_string();
    }
    let (w, row, label_w) = (540.0, 26.0, 176.0);
    let hgt = row * items.len() as f64 + 4.0;
    let max = items.iter().map(|i| i.1).max().unwrap_or(1).max(1) as f64;
    let bar_w = w - label_w - 70.0;
    let mut s = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"bar chart\">"
    );
    for (i, (name, v)) in items.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let len = (*v as f64 / max * bar_w).max(2.0);
        let _ = write!(
            s,
            "<g><title>{}: {}</title><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"#eef1f7\"/>\
             <rect x=\"{label_w}\" y=\"{:.1}\" width=\"{len:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            esc(name),
            num(*v),
            label_w - 8.0,
            y + row / 2.0 + 4.0,
            short(name, 24),
            y + 4.0,
            row - 8.0,
            y + 4.0,
            row - 8.0,
            label_w + bar_w + 8.0,
            y + row / 2.0 + 4.0,
            num(*v)
        );
    }
    s.push_str("</svg>");
    s
}

/// 7 rows (Monday first) of 24 hours, shaded by messages.
fn heat_map(grid: &[Vec<u64>]) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let (left, top, cell_w, cell_h) = (44.0, 18.0, 44.0, 26.0);
    let w = left + 24.0 * cell_w + 8.0;
    let hgt = top + 7.0 * cell_h + 26.0;
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    // Shade from the quietest non-empty hour to the busiest: a week of
    // fairly even activity must still show its pattern.
    let min = grid
        .iter()
        .flatten()
        .copied()
        .filter(|&v| v > 0)
        .min()
        .unwrap_or(0) as f64;
    let mut s = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"heat map\">"
    );
    for hour in (0..24).step_by(2) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"12\" text-anchor=\"middle\">{hour:02}:00</text>",
            left + hour as f64 * cell_w + cell_w / 2.0
        );
    }
    for (d, row) in grid.iter().enumerate().take(7) {
        let y = top + d as f64 * cell_h;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + cell_h / 2.0 + 4.0,
            DAYS[d]
        );
        for (hour, &v) in row.iter().enumerate().take(24) {
            let k = if max > min {
                0.08 + 0.92 * (v as f64 - min) / (max - min)
            } else {
                1.0
            };
            let fill = if v == 0 {
                "#f0f2f7".to_string()
            } else {
                let mix = |a: f64, b: f64| (a + (b - a) * k).round() as u8;
                format!(
                    "#{:02x}{:02x}{:02x}",
                    mix(222.0, 27.0),
                    mix(232.0, 62.0),
                    mix(255.0, 190.0)
                )
            };
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"{fill}\"><title>{} {hour:02}:00 – {}</title></rect>",
                left + hour as f64 * cell_w + 1.0,
                cell_w - 2.0,
                cell_h - 2.0,
                DAYS[d],
                num(v)
            );
        }
    }
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"{:.1}\">fewer</text><rect x=\"{:.1}\" y=\"{:.1}\" width=\"120\" height=\"8\" rx=\"4\" fill=\"url(#heat)\"/><text x=\"{:.1}\" y=\"{:.1}\">more (max {})</text>\
         <defs><linearGradient id=\"heat\"><stop offset=\"0\" stop-color=\"#dee8ff\"/><stop offset=\"1\" stop-color=\"#1b3ebe\"/></linearGradient></defs></svg>",
        hgt - 6.0,
        left + 42.0,
        hgt - 14.0,
        left + 170.0,
        hgt - 6.0,
        num(max as u64)
    );
    s
}

fn threads_card(h: &mut String, r: &StatsReport) {
    let th = &r.threads;
    let fr = &th.first_reply;
    let mut body = String::from("<div class=\"facts\">");
    let facts = [
        (num(th.threads), "threads"),
        (num(th.replies), "replies"),
        (
            format!("{:.1}", th.replies_per_thread_mean),
            "replies per thread",
        ),
        (
            fr.median_seconds.map_or("–".to_string(), duration),
            "median first reply",
        ),
    ];
    for (v, label) in facts {
        let _ = write!(body, "<div><b>{v}</b><span>{label}</span></div>");
    }
    body.push_str("</div>");
    let (unit, _) = time_series(r);
    let replies: Vec<(String, u64)> = if unit == "day" {
        r.by_day
            .iter()
            .map(|(k, d)| (k.clone(), d.replies))
            .collect()
    } else {
        // Replies are kept per day; sum them into the chart's periods.
        let mut per: std::collections::BTreeMap<String, u64> = Default::default();
        for (k, d) in &r.by_day {
            let key = if unit == "month" {
                k[..k.len().min(7)].to_string()
            } else {
                week_of(k)
            };
            *per.entry(key).or_default() += d.replies;
        }
        per.into_iter().collect()
    };
    body.push_str(&columns(&replies, 540, 170, PALETTE[1]));
    let sub = match (fr.median_seconds, fr.p90_seconds) {
        (Some(_), Some(p90)) => format!(
            "replies per {unit}; 90% of first replies within {} ({} threads measured)",
            duration(p90),
            num(fr.measured)
        ),
        _ => format!("replies per {unit}"),
    };
    card(h, false, "Thread activity", &sub, &body);
}

/// A `YYYY-MM-DD` date as a number for sorting (0 when missing).
fn sortable_date(date: &str) -> String {
    let digits: String = date.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    }
}

/// The ISO week label of a `YYYY-MM-DD` date.
fn week_of(date: &str) -> String {
    let parse = |a: usize, b: usize| date.get(a..b).and_then(|s| s.parse::<i64>().ok());
    match (parse(0, 4), parse(5, 7), parse(8, 10)) {
        (Some(y), Some(m), Some(d)) => {
            let ord = |y: i64, m: i64, d: i64| {
                // Days since 1970-01-01 (civil calendar).
                let y = if m <= 2 { y - 1 } else { y };
                let era = y.div_euclid(400);
                let yoe = y.rem_euclid(400);
                let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
                era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
            };
            let day = ord(y, m, d);
            let wd = (day + 3).rem_euclid(7);
            let thu = day - wd + 3;
            // The year of that Thursday.
            let mut year = y;
            if ord(y + 1, 1, 1) <= thu {
                year = y + 1;
            } else if thu < ord(y, 1, 1) {
                year = y - 1;
            }
            format!("{year:04}-W{:02}", (thu - ord(year, 1, 1)) / 7 + 1)
        }
        _ => date.to_string(),
    }
}

fn top_messages_card(h: &mut String, r: &StatsReport) {
    let mut body = String::new();
    if r.top.messages.is_empty() {
        body.push_str("<p class=\"empty\">no reactions on messages</p>");
    } else {
        body.push_str("<table><thead><tr><th>message</th><th>channel</th><th>author</th><th>sent</th><th>reactions</th></tr></thead><tbody>");
        for t in &r.top.messages {
            let text = if t.text.is_empty() { &t.id } else { &t.text };
            let sent: String = t
                .created_at
                .as_deref()
                .unwrap_or("")
                .chars()
                .take(16)
                .collect();
            let _ = write!(
                body,
                "<tr><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.id),
                short(text, 80),
                short(t.cid.as_deref().unwrap_or("–"), 32),
                short(t.user.as_deref().unwrap_or("–"), 24),
                esc(&sent.replace('T', " ")),
                num(t.reactions)
            );
        }
        body.push_str("</tbody></table>");
    }
    card(
        h,
        true,
        "Most reacted messages",
        "by the messages' reaction_counts",
        &body,
    );
}

fn channel_table(h: &mut String, r: &StatsReport) {
    let mut rows: Vec<(&String, &stream_chat_export::stats::ChannelStats)> =
        r.by_channel.iter().collect();
    rows.sort_by(|a, b| b.1.messages.cmp(&a.1.messages).then_with(|| a.0.cmp(b.0)));
    let total = rows.len();
    rows.truncate(TABLE_ROWS);
    let mut body = String::from(
        "<div class=\"scroll\"><table id=\"channels\"><thead><tr><th>channel</th><th aria-sort=\"descending\">messages</th><th>replies</th><th>threads</th><th>active users</th><th>members</th><th>reactions</th><th>first message</th><th>last message</th></tr></thead><tbody>",
    );
    for (cid, c) in &rows {
        let date = |t: &Option<String>| {
            t.as_deref()
                .map_or(String::new(), |t| t.chars().take(10).collect())
        };
        let first = date(&c.first_message);
        let last = date(&c.last_message);
        let _ = write!(
            body,
            "<tr><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td></tr>",
            esc(cid),
            esc(cid),
            c.messages,
            num(c.messages),
            c.replies,
            num(c.replies),
            c.threads,
            num(c.threads),
            c.active_users,
            num(c.active_users),
            c.members,
            num(c.members),
            c.reactions,
            num(c.reactions),
            sortable_date(&first),
            esc(&first),
            sortable_date(&last),
            esc(&last),
        );
    }
    body.push_str("</tbody></table></div>");
    let sub = if total > TABLE_ROWS {
        format!("the {TABLE_ROWS} busiest of {total} channels; click a column to sort")
    } else {
        format!("{total} channels; click a column to sort")
    };
    card(h, true, "Channels", &sub, &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_weeks() {
        assert_eq!(
            esc("<img src=x onerror=\"a('b')\">&"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
        assert_eq!(week_of("2024-03-01"), "2024-W09");
        assert_eq!(week_of("2021-01-03"), "2020-W53");
        assert_eq!(week_of("2024-12-30"), "2025-W01");
        assert_eq!(ticks(0), (1, 1));
        assert_eq!(ticks(3), (3, 1));
        assert_eq!(ticks(97), (100, 25));
    }
}
