//! The figures of one workload on one backend, the goals they are held to, the table and the
//! JSON file.

use std::fmt::Write as _;

use crate::measure::{Sample, median};

/// The bound a workload's figures are held to.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub enum Goal {
    /// Wall and CPU ratios to sqlx at most these.
    Ratios { wall: f64, cpu: f64 },
    /// Wall ratio at most this (to sqlx, or of a deep page to page 1).
    Wall(f64),
    /// Throughput at least this fraction of sqlx's.
    Throughput(f64),
    /// Peak RSS of the large stream at most this multiple of the small one's.
    PeakRss(f64),
    /// Throughput at least `throughput` times sqlx's, and a median call at most `p50_us` µs.
    Hits { throughput: f64, p50_us: f64 },
    /// A median call at most `p50_us` µs.
    Latency { p50_us: f64 },
    /// Reported only.
    None,
}

/// One row of the table.
#[derive(Debug, serde::Serialize)]
pub struct Record {
    pub workload: String,
    pub backend: String,
    /// What the framework's figures are compared with: `sqlx`, `page 1`, `10k rows`.
    pub baseline: String,
    /// Rows read or written per run by the measured (framework) side.
    pub rows: u64,
    pub framework: Vec<Sample>,
    pub base: Vec<Sample>,
    pub framework_wall: f64,
    pub base_wall: f64,
    pub ratio_wall: f64,
    pub ratio_cpu: f64,
    pub rows_per_second: f64,
    /// Median peak RSS in KiB of the framework and baseline runs (stream workload only).
    pub peak_rss_kib: Option<(u64, u64)>,
    /// The median latency of one framework call, in µs (cache workloads).
    pub latency_p50_us: Option<f64>,
    /// Memory the process took per cached row, in bytes (the in-process cache workload).
    pub bytes_per_row: Option<f64>,
    pub goal: Goal,
    pub goal_text: String,
    pub goal_met: Option<bool>,
}

impl Record {
    pub fn new(
        workload: &str,
        backend: &str,
        baseline: &str,
        rows: u64,
        framework: Vec<Sample>,
        base: Vec<Sample>,
        goal: Goal,
    ) -> Self {
        let framework_wall = median(framework.iter().map(|s| s.wall));
        let base_wall = median(base.iter().map(|s| s.wall));
        let framework_cpu = median(framework.iter().map(|s| s.cpu));
        let base_cpu = median(base.iter().map(|s| s.cpu));
        let mut record = Self {
            workload: workload.to_owned(),
            backend: backend.to_owned(),
            baseline: baseline.to_owned(),
            rows,
            framework,
            base,
            framework_wall,
            base_wall,
            ratio_wall: ratio(framework_wall, base_wall),
            ratio_cpu: ratio(framework_cpu, base_cpu),
            rows_per_second: ratio(rows as f64, framework_wall),
            peak_rss_kib: None,
            latency_p50_us: None,
            bytes_per_row: None,
            goal,
            goal_text: String::new(),
            goal_met: None,
        };
        record.judge();
        record
    }

    pub fn with_peak_rss(mut self, framework: u64, base: u64) -> Self {
        self.peak_rss_kib = Some((framework, base));
        self.judge();
        self
    }

    pub fn with_latency(mut self, p50_us: f64) -> Self {
        self.latency_p50_us = Some(p50_us);
        self.judge();
        self
    }

    pub fn with_bytes_per_row(mut self, bytes: Option<f64>) -> Self {
        self.bytes_per_row = bytes;
        self.judge();
        self
    }

    fn judge(&mut self) {
        let (mut text, met) = match self.goal {
            Goal::Ratios { wall, cpu } => (
                format!("wall ≤{wall:.2}× cpu ≤{cpu:.2}×"),
                Some(self.ratio_wall <= wall && self.ratio_cpu <= cpu),
            ),
            Goal::Wall(max) => (format!("wall ≤{max:.2}×"), Some(self.ratio_wall <= max)),
            Goal::Throughput(min) => {
                let throughput = ratio(1.0, self.ratio_wall);
                (
                    format!("throughput {throughput:.2}× ≥{min:.2}×"),
                    Some(throughput >= min),
                )
            }
            Goal::PeakRss(max) => match self.peak_rss_kib {
                Some((big, small)) => {
                    let r = ratio(big as f64, small as f64);
                    (
                        format!("peak RSS {r:.2}× ({big}/{small} KiB) ≤{max:.2}×"),
                        Some(r <= max),
                    )
                }
                None => (format!("peak RSS ≤{max:.2}×"), None),
            },
            Goal::Hits { throughput, p50_us } => {
                let faster = ratio(1.0, self.ratio_wall);
                let p50 = self.latency_p50_us.unwrap_or(f64::NAN);
                (
                    format!(
                        "throughput {faster:.1}× ≥{throughput:.0}×, p50 {p50:.2} µs ≤{p50_us:.0} µs"
                    ),
                    Some(faster >= throughput && p50 <= p50_us),
                )
            }
            Goal::Latency { p50_us } => {
                let p50 = self.latency_p50_us.unwrap_or(f64::NAN);
                (
                    format!("p50 {p50:.1} µs ≤{p50_us:.0} µs"),
                    Some(p50 <= p50_us),
                )
            }
            Goal::None => ("report only".to_owned(), None),
        };
        if let Some(bytes) = self.bytes_per_row {
            let _ = write!(text, ", {bytes:.0} B/row");
        }
        self.goal_text = text;
        self.goal_met = met;
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

fn duration(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.3} s")
    } else {
        format!("{:.2} ms", seconds * 1e3)
    }
}

/// The table: one row per workload and backend.
pub fn table(records: &[Record]) -> String {
    let header = [
        "workload",
        "backend",
        "framework",
        "baseline",
        "base wall",
        "wall ×",
        "cpu ×",
        "rows/s",
        "goal",
        "",
    ];
    let rows: Vec<[String; 10]> = records
        .iter()
        .map(|r| {
            [
                r.workload.clone(),
                r.backend.clone(),
                duration(r.framework_wall),
                r.baseline.clone(),
                duration(r.base_wall),
                format!("{:.3}", r.ratio_wall),
                format!("{:.3}", r.ratio_cpu),
                format!("{:.0}", r.rows_per_second),
                r.goal_text.clone(),
                match r.goal_met {
                    Some(true) => "ok".to_owned(),
                    Some(false) => "MISSED".to_owned(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let pad = width - cell.chars().count();
            // Names left-aligned, figures right-aligned.
            if (2..8).contains(&i) {
                let _ = write!(text, "{}{cell}  ", " ".repeat(pad));
            } else {
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.map(str::to_owned));
    for row in &rows {
        line(row);
    }
    out
}
