//! Charts of a report, drawn on the server: SVG for pages, the same SVG
//! rasterised to PNG (resvg, with an embedded font so it looks the same on
//! every box) for Telegram and exports.
//!
//! Calm on purpose: flat shapes, light gridlines at round values, a
//! colour-blind-safe palette (Okabe–Ito), values written where they fit,
//! a legend when there is more than one series. The SVG scales to its
//! container (`viewBox`, `width="100%"`, at most its own width), and its
//! font size grows with the width asked so that text is at least 12 px on
//! a 360 px phone.

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use super::{Chart, ChartKind, Kind};
use crate::error::AppError;
use crate::i18n::{Lang, t, tf};
use crate::queue::stats::num;

/// Okabe–Ito: distinguishable with every common colour-vision deficiency.
const PALETTE: [&str; 7] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#7F7F7F"];
const INK: &str = "#1F2933";
const MUTED: &str = "#5F6B7A";
const GRID: &str = "#E4E7EB";
const FONT: &str = "DejaVu Sans, Verdana, Arial, sans-serif";

/// The embedded font (Latin and Cyrillic), see `assets/fonts/LICENSE-DejaVu.txt`.
static FONT_DATA: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

static FONTS: LazyLock<Arc<resvg::usvg::fontdb::Database>> = LazyLock::new(|| {
    let mut db = resvg::usvg::fontdb::Database::new();
    db.load_font_data(FONT_DATA.to_vec());
    db.set_sans_serif_family("DejaVu Sans");
    Arc::new(db)
});

fn colour(i: usize) -> &'static str {
    PALETTE.get(i % PALETTE.len()).copied().unwrap_or("#0072B2")
}

/// Text safe inside SVG elements and attributes (names come from users).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n.saturating_sub(1)).collect::<String>()) }
}

/// A value in the unit shown: durations in minutes, the rest as they are.
fn shown(unit: Kind, v: f64) -> f64 {
    if unit == Kind::Duration { v / 60.0 } else { v }
}

/// A shown value as text in `lang`, with its unit.
fn fmt(unit: Kind, lang: Lang, v: f64) -> String {
    let v = if unit == Kind::Integer { v.round() } else { v };
    match unit {
        Kind::Percent => format!("{}%", num(lang, v)),
        Kind::Duration => tf(lang, "chart.minutes", &[("n", &num(lang, v))]),
        _ => num(lang, v),
    }
}

/// Round gridline values covering `[lo, hi]`: steps of 1, 2 or 5 × 10ⁿ, about
/// `want` of them; the first is ≤ lo, the last ≥ hi.
fn ticks(lo: f64, hi: f64, want: usize, integer: bool) -> Vec<f64> {
    let (lo, hi) = if (hi - lo).abs() < f64::EPSILON { (lo.min(0.0), lo.max(0.0) + 1.0) } else { (lo, hi) };
    let raw = (hi - lo) / want.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let mut step = mag
        * if norm <= 1.0 {
            1.0
        } else if norm <= 2.0 {
            2.0
        } else if norm <= 5.0 {
            5.0
        } else {
            10.0
        };
    if integer && step < 1.0 {
        step = 1.0;
    }
    let first = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut v = first;
    while out.len() < 50 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        if v >= hi - step * 1e-9 {
            break;
        }
        v += step;
    }
    out
}

/// Roughly how wide `s` is at font size `fs` (DejaVu Sans averages a little under 0.64 em).
fn width_of(s: &str, fs: f64) -> f64 {
    s.chars().count() as f64 * fs * 0.64
}

/// The finite values of the chart in shown units (NaN and infinities are no value).
struct Data {
    labels: Vec<String>,
    series: Vec<(String, Vec<Option<f64>>)>,
}

impl Data {
    fn of(chart: &Chart) -> Data {
        let n = chart.labels.len();
        let series = chart
            .series
            .iter()
            .map(|s| {
                let mut v: Vec<Option<f64>> = s.values.iter().map(|v| v.filter(|x| x.is_finite()).map(|x| shown(chart.unit, x))).collect();
                v.resize(n, None);
                (s.name.clone(), v)
            })
            .collect();
        Data { labels: chart.labels.clone(), series }
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.series.iter().flat_map(|(_, v)| v.iter().flatten().copied())
    }

    fn empty(&self) -> bool {
        self.labels.is_empty() || self.values().next().is_none()
    }

    fn value(&self, s: usize, i: usize) -> Option<f64> {
        self.series.get(s).and_then(|(_, v)| v.get(i).copied().flatten())
    }

    fn label(&self, i: usize) -> &str {
        self.labels.get(i).map(String::as_str).unwrap_or("")
    }
}

/// The drawing: the SVG body and its frame.
struct Canvas {
    w: f64,
    h: f64,
    fs: f64,
    body: String,
}

impl Canvas {
    fn text(&mut self, x: f64, y: f64, anchor: &str, size: f64, fill: &str, s: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size:.1}" fill="{fill}">{}</text>"#,
            esc(s)
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        let _ = write!(self.body, r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#, w.max(0.0), h.max(0.0));
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str) {
        let _ = write!(self.body, r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="1"/>"#);
    }

    /// A row of legend items from `(x, y)`; returns its height.
    fn legend(&mut self, x: f64, y: f64, items: &[(String, &str)]) -> f64 {
        let fs = self.fs;
        let (mut cx, mut cy) = (x, y);
        for (name, col) in items {
            let name = clip(name, 24);
            let wide = fs * 1.4 + width_of(&name, fs) + fs;
            if cx > x && cx + wide > self.w - 8.0 {
                cx = x;
                cy += fs * 1.5;
            }
            self.rect(cx, cy - fs, fs, fs, col);
            let fsz = fs;
            self.text(cx + fs * 1.3, cy, "start", fsz, INK, &name);
            cx += wide;
        }
        cy - y + fs * 1.5
    }
}

/// The chart as an SVG document `width`×`height` (CSS pixels), with a
/// title and a text description for screen readers.
pub fn svg(chart: &Chart, lang: Lang, width: u32, height: u32) -> String {
    let (w, h) = (f64::from(width.max(120)), f64::from(height.max(90)));
    // At least 12 px when the chart is shrunk to a 360 px phone.
    let fs = ((12.0 * w / 360.0).max(12.0) * 10.0).ceil() / 10.0;
    let data = Data::of(chart);
    let mut c = Canvas { w, h, fs, body: String::new() };
    c.text(8.0, fs * 1.3, "start", fs * 1.1, INK, &clip(&chart.title, ((w - 16.0) / (fs * 0.66)) as usize));
    let top = fs * 2.2;
    let desc = if data.empty() {
        let msg = t(lang, "chart.empty");
        c.rect(8.0, top, w - 16.0, h - top - 8.0, "#F5F7FA");
        c.text(w / 2.0, top + (h - top) / 2.0, "middle", fs, MUTED, msg);
        msg.to_string()
    } else {
        match chart.kind {
            ChartKind::Line => line(&mut c, &data, chart.unit, lang, top),
            ChartKind::Bars => bars(&mut c, &data, chart.unit, lang, top, false),
            ChartKind::StackedBars => bars(&mut c, &data, chart.unit, lang, top, true),
            ChartKind::HBars => hbars(&mut c, &data, chart.unit, lang, top),
            ChartKind::Heat => heat(&mut c, &data, chart.unit, lang, top),
        };
        describe(chart, &data, lang)
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="chart-{key}-t chart-{key}-d" font-family="{FONT}"><title id="chart-{key}-t">{title}</title><desc id="chart-{key}-d">{desc}</desc><rect width="{w}" height="{h}" fill="#FFFFFF"/>{body}</svg>"##,
        key = chart.key,
        title = esc(&chart.title),
        desc = esc(&desc),
        body = c.body,
    )
}

/// The text summary: per series its highest point (and for trends the total).
fn describe(chart: &Chart, data: &Data, lang: Lang) -> String {
    let mut parts = Vec::new();
    for (s, (name, values)) in data.series.iter().enumerate().take(6) {
        let best = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).fold(None::<(usize, f64)>, |b, (i, v)| match b {
            Some((_, bv)) if bv >= v => b,
            _ => Some((i, v)),
        });
        let Some((i, v)) = best else { continue };
        let label = match chart.kind {
            ChartKind::Heat => format!("{name} {}", data.label(i)),
            _ => data.label(i).to_string(),
        };
        let mut line = tf(lang, "chart.highest", &[("name", &label), ("value", &fmt(chart.unit, lang, v))]);
        if data.series.len() > 1 && chart.kind != ChartKind::Heat {
            line = format!("{name}: {line}");
        }
        if chart.kind == ChartKind::Line && matches!(chart.unit, Kind::Integer | Kind::Number) {
            let total: f64 = values.iter().flatten().sum();
            line.push_str("; ");
            line.push_str(&tf(lang, "chart.total", &[("value", &fmt(chart.unit, lang, total))]));
        }
        if chart.kind == ChartKind::Heat {
            parts.push(line);
            break;
        }
        let _ = s;
        parts.push(line);
    }
    format!("{}. {}.", chart.title, parts.join(". "))
}

/// The value axis of a vertical chart: gridlines and tick labels; returns
/// the plot's left edge and a value→y mapping.
struct Axis {
    lo: f64,
    hi: f64,
    y0: f64,
    y1: f64,
}

impl Axis {
    fn y(&self, v: f64) -> f64 {
        let span = (self.hi - self.lo).max(f64::EPSILON);
        self.y1 - (v - self.lo) / span * (self.y1 - self.y0)
    }
}

/// Draws gridlines of `[lo, hi]` between `y0` (top) and `y1` (bottom);
/// returns the plot's left edge and the axis.
fn value_axis(c: &mut Canvas, lo: f64, hi: f64, unit: Kind, lang: Lang, y0: f64, y1: f64) -> (f64, Axis) {
    let want = (((y1 - y0) / (c.fs * 3.0)) as usize).clamp(2, 6);
    let ts = ticks(lo.min(0.0), hi.max(0.0), want, unit == Kind::Integer);
    let (lo, hi) = (ts.first().copied().unwrap_or(0.0), ts.last().copied().unwrap_or(1.0));
    let labels: Vec<String> = ts.iter().map(|v| fmt(unit, lang, *v)).collect();
    let left = 8.0 + labels.iter().map(|l| width_of(l, c.fs)).fold(0.0, f64::max) + 6.0;
    let axis = Axis { lo, hi, y0, y1 };
    let fs = c.fs;
    for (v, l) in ts.iter().zip(&labels) {
        let y = axis.y(*v);
        c.line(left, y, c.w - 8.0, y, if *v == 0.0 { "#9AA5B1" } else { GRID });
        c.text(left - 4.0, y + fs * 0.35, "end", fs, MUTED, l);
    }
    (left, axis)
}

/// Category labels under a plot from `left` to `right`, thinned so they
/// do not overlap; slot `i` centred at `x(i)`.
fn category_labels(c: &mut Canvas, data: &Data, left: f64, right: f64, y: f64, x: impl Fn(usize) -> f64) {
    let n = data.labels.len().max(1);
    let widest = data.labels.iter().map(|l| width_of(&clip(l, 12), c.fs)).fold(0.0, f64::max) + c.fs;
    let fit = (((right - left) / widest).floor() as usize).max(1);
    let every = n.div_ceil(fit).max(1);
    let fs = c.fs;
    for i in (0..n).step_by(every) {
        let l = clip(data.label(i), 12);
        c.text(x(i), y, "middle", fs, MUTED, &l);
    }
}

fn legend_items(data: &Data) -> Vec<(String, &'static str)> {
    data.series.iter().enumerate().map(|(i, (n, _))| (n.clone(), colour(i))).collect()
}

/// A trend: a line per series, points when there are few, the last value written.
fn line(c: &mut Canvas, data: &Data, unit: Kind, lang: Lang, mut top: f64) {
    if data.series.len() > 1 {
        top += c.legend(8.0, top + c.fs, &legend_items(data));
    }
    let bottom = c.h - c.fs * 2.0;
    let (lo, hi) = data.values().fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (left, axis) = value_axis(c, lo, hi, unit, lang, top + c.fs, bottom);
    let right = c.w - 12.0;
    let n = data.labels.len();
    let step = if n > 1 { (right - left - 8.0) / (n - 1) as f64 } else { 0.0 };
    let x = |i: usize| if n > 1 { left + 4.0 + step * i as f64 } else { (left + right) / 2.0 };
    for (s, (_, values)) in data.series.iter().enumerate() {
        let col = colour(s);
        let mut path = String::new();
        let mut pen = false;
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(path, "{}{:.1},{:.1} ", if pen { "L" } else { "M" }, x(i), axis.y(*v));
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(
            c.body,
            r#"<path d="{}" fill="none" stroke="{col}" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>"#,
            path.trim_end()
        );
        if n <= 31 {
            for (i, v) in values.iter().enumerate() {
                if let Some(v) = v {
                    let _ = write!(c.body, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{col}"/>"#, x(i), axis.y(*v));
                }
            }
        }
        if let Some((i, v)) = values.iter().enumerate().rev().find_map(|(i, v)| v.map(|v| (i, v))) {
            let fs = c.fs;
            c.text(x(i).min(right - 2.0), axis.y(v) - 8.0, "end", fs, col, &fmt(unit, lang, v));
        }
    }
    category_labels(c, data, left, right, bottom + c.fs * 1.4, x);
}

/// Vertical bars per label: grouped side by side, or stacked (parts of a whole).
fn bars(c: &mut Canvas, data: &Data, unit: Kind, lang: Lang, mut top: f64, stacked: bool) {
    if data.series.len() > 1 {
        top += c.legend(8.0, top + c.fs, &legend_items(data));
    }
    let bottom = c.h - c.fs * 2.0;
    let n = data.labels.len();
    let sums: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let vs = (0..data.series.len()).filter_map(|s| data.value(s, i));
            if stacked {
                vs.fold((0.0, 0.0), |(neg, pos), v| if v < 0.0 { (neg + v, pos) } else { (neg, pos + v) })
            } else {
                vs.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)))
            }
        })
        .collect();
    let lo = sums.iter().map(|s| s.0).fold(0.0, f64::min);
    let hi = sums.iter().map(|s| s.1).fold(0.0, f64::max);
    let (left, axis) = value_axis(c, lo, hi, unit, lang, top + c.fs * 1.2, bottom);
    let right = c.w - 8.0;
    let slot = (right - left) / n.max(1) as f64;
    let groups = if stacked { 1 } else { data.series.len().max(1) };
    let bar = (slot * 0.7 / groups as f64).max(1.0);
    let x0 = |i: usize| left + slot * i as f64 + (slot - bar * groups as f64) / 2.0;
    let fs = c.fs;
    for i in 0..n {
        let (mut up, mut down) = (0.0, 0.0);
        for s in 0..data.series.len() {
            let Some(v) = data.value(s, i) else { continue };
            let col = colour(s);
            if stacked {
                let (a, b) = if v >= 0.0 {
                    up += v;
                    (up, up - v)
                } else {
                    down += v;
                    (down - v, down)
                };
                c.rect(x0(i), axis.y(a), bar, axis.y(b) - axis.y(a), col);
            } else {
                let x = x0(i) + bar * s as f64;
                let (a, b) = if v >= 0.0 { (v, 0.0) } else { (0.0, v) };
                c.rect(x, axis.y(a), bar, axis.y(b) - axis.y(a), col);
                let text = fmt(unit, lang, v);
                if width_of(&text, fs) <= bar + 4.0 && v >= 0.0 {
                    c.text(x + bar / 2.0, axis.y(a) - 4.0, "middle", fs, INK, &text);
                }
            }
        }
        if stacked && up > 0.0 {
            let text = fmt(unit, lang, up);
            if width_of(&text, fs) <= slot {
                c.text(x0(i) + bar / 2.0, axis.y(up) - 4.0, "middle", fs, INK, &text);
            }
        }
    }
    category_labels(c, data, left, right, bottom + fs * 1.4, |i| left + slot * (i as f64 + 0.5));
}

/// Horizontal bars: a row per label (names along the side), the value at each bar's end.
fn hbars(c: &mut Canvas, data: &Data, unit: Kind, lang: Lang, mut top: f64) {
    if data.series.len() > 1 {
        top += c.legend(8.0, top + c.fs, &legend_items(data));
    }
    let fs = c.fs;
    let n = data.labels.len();
    let names: Vec<String> = data.labels.iter().map(|l| clip(l, 18)).collect();
    let left = 8.0 + names.iter().map(|l| width_of(l, fs)).fold(0.0, f64::max).min(c.w * 0.4) + 8.0;
    let hi = data.values().fold(0.0, f64::max);
    let lo = data.values().fold(0.0, f64::min);
    let widest = fmt(unit, lang, hi).chars().count().max(fmt(unit, lang, lo).chars().count());
    let right = c.w - 12.0 - widest as f64 * fs * 0.6;
    let row = (c.h - top - 8.0) / n.max(1) as f64;
    let groups = data.series.len().max(1);
    let bar = (row * 0.7 / groups as f64).max(1.0);
    let span = (hi - lo).max(f64::EPSILON);
    let x = |v: f64| left + (v - lo) / span * (right - left);
    c.line(x(0.0), top, x(0.0), c.h - 8.0, "#9AA5B1");
    for (i, name) in names.iter().enumerate() {
        let y = top + row * i as f64;
        c.text(left - 6.0, y + row / 2.0 + fs * 0.35, "end", fs, INK, name);
        for s in 0..groups {
            let Some(v) = data.value(s, i) else { continue };
            let by = y + (row - bar * groups as f64) / 2.0 + bar * s as f64;
            let (a, b) = (x(v.min(0.0)), x(v.max(0.0)));
            c.rect(a, by, b - a, bar, colour(s));
            let text = fmt(unit, lang, v);
            c.text(b + 4.0, by + bar / 2.0 + fs * 0.35, "start", fs, INK, &text);
        }
    }
}

/// A sequential blue from very light to dark for `k` in 0..=1.
fn heat_colour(k: f64) -> String {
    let k = k.clamp(0.0, 1.0);
    let (a, b) = ((0xEF, 0xF3, 0xFF), (0x08, 0x45, 0x94));
    let mix = |x: i32, y: i32| (f64::from(x) + (f64::from(y) - f64::from(x)) * k).round() as i32;
    format!("#{:02X}{:02X}{:02X}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A heat map: rows are the series, columns the labels, darker is more;
/// a scale from the least to the most underneath.
fn heat(c: &mut Canvas, data: &Data, unit: Kind, lang: Lang, top: f64) {
    let fs = c.fs;
    let rows = data.series.len().max(1);
    let cols = data.labels.len().max(1);
    let names: Vec<String> = data.series.iter().map(|(n, _)| clip(n, 14)).collect();
    let left = 8.0 + names.iter().map(|l| width_of(l, fs)).fold(0.0, f64::max) + 6.0;
    let right = c.w - 8.0;
    let bottom = c.h - fs * 4.2;
    let cw = (right - left) / cols as f64;
    let ch = (bottom - top) / rows as f64;
    let lo = data.values().fold(f64::INFINITY, f64::min);
    let hi = data.values().fold(f64::NEG_INFINITY, f64::max);
    let span = (hi - lo).max(f64::EPSILON);
    for (r, name) in names.iter().enumerate() {
        let y = top + ch * r as f64;
        c.text(left - 6.0, y + ch / 2.0 + fs * 0.35, "end", fs, INK, name);
        for i in 0..cols {
            let x = left + cw * i as f64;
            match data.value(r, i) {
                Some(v) => {
                    let k = (v - lo) / span;
                    c.rect(x + 0.5, y + 0.5, cw - 1.0, ch - 1.0, &heat_colour(k));
                    let text = fmt(unit, lang, v);
                    if width_of(&text, fs) <= cw - 2.0 && ch >= fs {
                        let ink = if k > 0.55 { "#FFFFFF" } else { INK };
                        c.text(x + cw / 2.0, y + ch / 2.0 + fs * 0.3, "middle", fs, ink, &text);
                    }
                }
                None => c.rect(x + 0.5, y + 0.5, cw - 1.0, ch - 1.0, "#F5F7FA"),
            }
        }
    }
    category_labels(c, data, left, right, bottom + fs * 1.2, |i| left + cw * (i as f64 + 0.5));
    // The scale: five steps from the least to the most.
    let ly = bottom + fs * 2.0;
    let lw = ((right - left) / 2.0).min(fs * 15.0);
    let lo_text = fmt(unit, lang, lo);
    c.text(left, ly + fs * 0.9, "start", fs, MUTED, &lo_text);
    let sx = left + width_of(&lo_text, fs) + 6.0;
    for k in 0..5 {
        c.rect(sx + lw / 5.0 * f64::from(k), ly, lw / 5.0, fs, &heat_colour(f64::from(k) / 4.0));
    }
    c.text(sx + lw + 6.0, ly + fs * 0.9, "start", fs, MUTED, &fmt(unit, lang, hi));
}

/// The same chart as a PNG image `width`×`height` pixels.
pub fn png(chart: &Chart, lang: Lang, width: u32, height: u32) -> Result<Vec<u8>, AppError> {
    let text = svg(chart, lang, width, height);
    let opt = resvg::usvg::Options { fontdb: FONTS.clone(), font_family: "DejaVu Sans".into(), ..Default::default() };
    let tree = resvg::usvg::Tree::from_str(&text, &opt).map_err(|e| AppError::internal(anyhow::anyhow!("chart svg: {e}")))?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(width.max(120), height.max(90))
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("chart size {width}×{height}")))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    let size = tree.size();
    let sx = pixmap.width() as f32 / size.width().max(1.0);
    let sy = pixmap.height() as f32 / size.height().max(1.0);
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(sx, sy), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| AppError::internal(anyhow::anyhow!("chart png: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use crate::reports::Series;

    fn chart(kind: ChartKind, unit: Kind, labels: &[&str], series: &[(&str, &[Option<f64>])]) -> Chart {
        Chart {
            key: "t",
            title: "Points <by> day".into(),
            kind,
            unit,
            labels: labels.iter().map(|s| s.to_string()).collect(),
            series: series.iter().map(|(n, v)| Series { name: n.to_string(), values: v.to_vec() }).collect(),
        }
    }

    fn all() -> Vec<Chart> {
        let days: Vec<String> = (1..=90).map(|d| format!("{d:02}.12")).collect();
        let day_refs: Vec<&str> = days.iter().map(String::as_str).collect();
        let trend: Vec<Option<f64>> = (0..90).map(|i| if i % 7 == 3 { None } else { Some(f64::from(i % 13) * 1.5) }).collect();
        vec![
            chart(ChartKind::Line, Kind::Integer, &day_refs, &[("Points", &trend)]),
            chart(
                ChartKind::Bars,
                Kind::Duration,
                &["Mon", "Tue", "Wed"],
                &[("Wait", &[Some(120.0), Some(f64::NAN), Some(610.0)]), ("Service", &[Some(300.0), None, Some(90.0)])],
            ),
            chart(
                ChartKind::HBars,
                Kind::Integer,
                &["Bekzod <b>&", "Малика", "Jasur"],
                &[("Points", &[Some(45.0), Some(30.0), Some(30.0)])],
            ),
            chart(
                ChartKind::StackedBars,
                Kind::Integer,
                &["Credit", "Cards"],
                &[("On time", &[Some(8.0), Some(3.0)]), ("Late", &[Some(2.0), Some(5.0)])],
            ),
            chart(
                ChartKind::Heat,
                Kind::Percent,
                &["9", "10", "11", "12"],
                &[("Mon", &[Some(10.0), Some(50.5), None, Some(99.0)]), ("Tue", &[Some(0.0), Some(5.0), Some(7.0), Some(f64::INFINITY)])],
            ),
            chart(ChartKind::Line, Kind::Integer, &[], &[]),
            chart(ChartKind::Bars, Kind::Integer, &["a"], &[("x", &[None])]),
        ]
    }

    #[test]
    fn every_kind_is_well_formed_svg_with_title_and_desc() {
        let opt = resvg::usvg::Options { fontdb: FONTS.clone(), ..Default::default() };
        for lang in [Lang::En, Lang::Ru, Lang::Uz] {
            for c in all() {
                for (w, h) in [(360, 240), (800, 400)] {
                    let s = svg(&c, lang, w, h);
                    resvg::usvg::Tree::from_str(&s, &opt).unwrap_or_else(|e| panic!("{:?}: {e}\n{s}", c.kind));
                    assert!(s.contains(r#"role="img""#));
                    assert!(s.contains("<title id=\"chart-t-t\">Points &lt;by&gt; day</title>"), "{s}");
                    assert!(s.contains("<desc"));
                    assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
                    assert!(!s.contains("<b>"), "user text escaped");
                }
            }
        }
    }

    #[test]
    fn the_description_names_the_highest_and_empty_says_so() {
        let c = &all()[2];
        let s = svg(c, Lang::En, 480, 300);
        assert!(s.contains("Highest: Bekzod &lt;b&gt;&amp;, 45"), "{s}");
        let empty = svg(&all()[5], Lang::En, 480, 300);
        assert!(empty.contains("No data for this period"), "{empty}");
        let bars = svg(&all()[1], Lang::Ru, 480, 300);
        assert!(bars.contains("10,2 мин"), "durations in minutes with a Russian comma: {bars}");
        let heat = svg(&all()[4], Lang::En, 480, 300);
        assert!(heat.contains("99%"));
    }

    #[test]
    fn text_is_at_least_12px_on_a_phone() {
        for w in [360u32, 480, 640, 800] {
            let s = svg(&all()[0], Lang::En, w, 300);
            for part in s.split("font-size=\"").skip(1) {
                let size: f64 = part.split('"').next().unwrap().parse().unwrap();
                assert!(size * 360.0 / f64::from(w) >= 12.0, "font {size} at width {w}");
            }
        }
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0.0, 45.0, 5, true), vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(ticks(0.0, 3.0, 5, true), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(ticks(0.0, 0.0, 4, true), vec![0.0, 1.0]);
        let t = ticks(0.0, 0.7, 4, false);
        assert_eq!(t.len(), 5);
        assert!((t[4] - 0.8).abs() < 1e-9);
    }

    #[test]
    fn png_decodes_at_the_asked_size() {
        for c in all() {
            let bytes = png(&c, Lang::Ru, 640, 360).unwrap();
            let img = image::load_from_memory(&bytes).unwrap();
            assert_eq!((img.width(), img.height()), (640, 360));
        }
        // The text is drawn (dark pixels where the title is).
        let img = image::load_from_memory(&png(&all()[2], Lang::En, 640, 360).unwrap()).unwrap().to_rgb8();
        let dark = (0..200).flat_map(|x| (0..30).map(move |y| (x, y))).filter(|(x, y)| img.get_pixel(*x, *y).0[0] < 100).count();
        assert!(dark > 50, "title text rendered: {dark}");
    }
}
