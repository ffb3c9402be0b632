//! The timer tables of `report`: our `TimerPool` against a `BinaryHeap` + lazy-cancel baseline
//! and tokio-util's `DelayQueue`, at 1k, 100k and 1M live timers (workload and its rationale:
//! `eventloop_bench::timers`).
//!
//! For each size, one instance per implementation is built (same seed) and kept for the whole
//! size; after one untimed pass over the rows, every repetition runs each row once per
//! implementation in turn (round-robin, so drift of a noisy machine hits all alike), and the
//! table shows the median ns/op over the repetitions. Ratios: baseline ÷ ours and wheel ÷ ours
//! (> 1: ours is faster). Then heap bytes per timer at 1M live timers (counting allocator), and
//! the design targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use eventloop_bench::median;
use eventloop_bench::timers::{
    HORIZON_MS, HeapBaseline, Ours, Row, SEED, SIZES, TimerBench, TimerMemory, Timers, Wheel,
    batch_len, size_label, timer_memory,
};

/// Column order of every table.
const NAMES: [&str; 3] = [Ours::NAME, HeapBaseline::NAME, Wheel::NAME];
/// Criterion function ids, same order.
const IDS: [&str; 3] = [Ours::ID, HeapBaseline::ID, Wheel::ID];

/// Knobs of the timer part.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Repetitions per row and size.
    pub reps: usize,
    /// Timed operations per window (the cancel row: at least n).
    pub ops: usize,
}

/// One table cell: median and extremes over the repetitions, ns/op.
#[derive(Debug, Clone, Copy)]
struct Cell {
    median: f64,
    min: f64,
    max: f64,
}

/// (row, size) → one cell per implementation.
type Table = BTreeMap<(usize, usize), [Option<Cell>; 3]>;

fn row_index(row: Row) -> usize {
    Row::ALL
        .iter()
        .position(|r| *r == row)
        .unwrap_or_else(|| unreachable!("every row is in ALL"))
}

struct Trio {
    ours: TimerBench<Ours>,
    baseline: TimerBench<HeapBaseline>,
    wheel: TimerBench<Wheel>,
}

impl Trio {
    fn new(n: usize) -> Self {
        Self {
            ours: TimerBench::new(n, SEED),
            baseline: TimerBench::new(n, SEED),
            wheel: TimerBench::new(n, SEED),
        }
    }

    /// One window of `row` for each implementation: ns/op.
    fn run(&mut self, row: Row, ops: usize) -> [f64; 3] {
        [
            self.ours.run(row, ops).ns_per_op(),
            self.baseline.run(row, ops).ns_per_op(),
            self.wheel.run(row, ops).ns_per_op(),
        ]
    }

    fn fire_logs_agree(&self) -> bool {
        self.ours.fire_log() == self.baseline.fire_log()
            && self.ours.fire_log() == self.wheel.fire_log()
    }
}

/// Measures every row at every size; returns the table and notes on each size.
fn measure(settings: &Settings) -> (Table, Vec<String>) {
    let mut table = Table::new();
    let mut notes = Vec::new();
    for n in SIZES {
        let mut trio = Trio::new(n);
        for row in Row::ALL {
            trio.run(row, row.window(n, settings.ops));
        }
        let mut samples: Vec<[Vec<f64>; 3]> = vec![Default::default(); Row::ALL.len()];
        for _ in 0..settings.reps {
            for row in Row::ALL {
                let ns = trio.run(row, row.window(n, settings.ops));
                for (column, value) in ns.into_iter().enumerate() {
                    samples[row_index(row)][column].push(value);
                }
            }
        }
        for row in Row::ALL {
            let cells = samples[row_index(row)].clone().map(|mut s| {
                let median = median(&mut s);
                Some(Cell {
                    median,
                    min: s[0],
                    max: s[s.len() - 1],
                })
            });
            table.insert((row_index(row), n), cells);
        }
        if !trio.fire_logs_agree() {
            notes.push(format!(
                "**Warning:** at {}, the implementations fired different numbers of timers per \
                 batch: the workloads diverged, so this size's rows are not comparable.",
                size_label(n)
            ));
        }
        let stale = trio.baseline.timers().stale();
        notes.push(format!(
            "At {} (batch k = {}): fire batches {}, {:.0} timers each on average; the baseline's \
             heap held {stale} cancelled entries ({:.0} % of live) at the end.",
            size_label(n),
            batch_len(n),
            trio.ours.fire_log().len(),
            trio.ours
                .fire_log()
                .iter()
                .map(|&m| f64::from(m))
                .sum::<f64>()
                / trio.ours.fire_log().len().max(1) as f64,
            100.0 * stale as f64 / n as f64,
        ));
        eprintln!("report: timers at {} done", size_label(n));
    }
    (table, notes)
}

fn ratio(values: &[Option<f64>; 3], column: usize) -> Option<f64> {
    match (values[0], values[column]) {
        (Some(ours), Some(peer)) if ours > 0.0 => Some(peer / ours),
        _ => None,
    }
}

fn fmt_value(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

fn fmt_ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |r| format!("**{r:.2}×**"))
}

/// Median table, from any source of (row, size) → ns/op per implementation.
fn render_table(values: &BTreeMap<(usize, usize), [Option<f64>; 3]>) -> String {
    let mut out = format!(
        "| row | live timers | {} | baseline/ours | wheel/ours |\n|---|---:|---:|---:|---:|---:|---:|\n",
        NAMES.join(" | ")
    );
    for (&(row, n), cells) in values {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            Row::ALL[row].name(),
            size_label(n),
            fmt_value(cells[0]),
            fmt_value(cells[1]),
            fmt_value(cells[2]),
            fmt_ratio(ratio(cells, 1)),
            fmt_ratio(ratio(cells, 2)),
        );
    }
    out
}

fn medians(table: &Table) -> BTreeMap<(usize, usize), [Option<f64>; 3]> {
    table
        .iter()
        .map(|(key, cells)| (*key, cells.map(|c| c.map(|c| c.median))))
        .collect()
}

fn render_spread(table: &Table) -> String {
    let mut out = format!(
        "Spread over the repetitions (min–max ns/op):\n\n| row | live timers | {} |\n|---|---:|---:|---:|---:|\n",
        NAMES.join(" | ")
    );
    for (&(row, n), cells) in table {
        let _ = write!(out, "| {} | {} |", Row::ALL[row].name(), size_label(n));
        for cell in cells {
            match cell {
                Some(c) => {
                    let _ = write!(out, " {:.1}–{:.1} |", c.min, c.max);
                }
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    out
}

fn render_memory(memory: &[Option<TimerMemory>; 3]) -> String {
    let Some(first) = memory.iter().flatten().next() else {
        return "Memory: not measured (the counting allocator is not installed).\n".to_owned();
    };
    let mut out = format!(
        "Heap bytes per timer at {} live timers, counted by the counting allocator around the \
         structure only (the callbacks are boxed before counting starts; each box is {} B more \
         per timer, for every implementation alike). \"Fill\": a fresh instance, {} timers \
         scheduled one by one (no `reserve`; growth by doubling). \"Churn\": then {} cancel + \
         schedule pairs of random live timers (the baseline's heap keeps cancelled entries until \
         they surface or a compaction runs). Peaks count a `realloc` as the allocator reports it.\n\n\
         | implementation | after fill B/timer | peak during fill | after churn B/timer | peak during churn |\n\
         |---|---:|---:|---:|---:|\n",
        size_label(first.n),
        first.callback_bytes,
        first.n,
        first.n
    );
    for (name, m) in NAMES.iter().zip(memory) {
        match m {
            Some(m) => {
                let _ = writeln!(
                    out,
                    "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    m.fill_per_timer(),
                    m.fill_peak_per_timer(),
                    m.churn_per_timer(),
                    m.churn_peak_per_timer()
                );
            }
            None => {
                let _ = writeln!(out, "| {name} | – | – | – | – |");
            }
        }
    }
    out
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

/// log2(n) / log2(smallest size): the growth an O(log n) cost may show.
fn log_bound(n: usize) -> f64 {
    (n as f64).log2() / (SIZES[0] as f64).log2()
}

fn render_targets(table: &Table, memory: &[Option<TimerMemory>; 3]) -> String {
    let mut out = String::from("Design targets (as measured in this run):\n\n");
    let values = medians(table);
    for (&(row, n), cells) in &values {
        let (Some(ours), Some(base)) = (cells[0], cells[1]) else {
            continue;
        };
        let wheel = cells[2].map_or_else(String::new, |w| {
            format!("; vs the wheel {:.2}× ({w:.1} ns/op)", w / ours)
        });
        let _ = writeln!(
            out,
            "- {} at {}: ours faster than the BinaryHeap baseline — {} ({:.2}×: {ours:.1} vs \
             {base:.1} ns/op{wheel})",
            Row::ALL[row].name(),
            size_label(n),
            verdict(ours < base),
            base / ours,
        );
    }
    for (index, row) in Row::ALL.iter().enumerate() {
        let growth = |column: usize, n: usize| -> Option<f64> {
            let small = values.get(&(index, SIZES[0]))?[column]?;
            let large = values.get(&(index, n))?[column]?;
            Some(large / small)
        };
        let mid = SIZES[1];
        let large = SIZES[SIZES.len() - 1];
        let (Some(ours_mid), Some(ours_large)) = (growth(0, mid), growth(0, large)) else {
            continue;
        };
        let peers: Vec<String> = [1, 2]
            .iter()
            .filter_map(|&c| {
                Some(format!(
                    "{} {:.2}× / {:.2}×",
                    if c == 1 { "baseline" } else { "wheel" },
                    growth(c, mid)?,
                    growth(c, large)?
                ))
            })
            .collect();
        let _ = writeln!(
            out,
            "- {}: ns/op grows no faster than log n, i.e. {} → {} ≤ {:.2}× and {} → {} ≤ {:.2}× — \
             {} (ours {ours_mid:.2}× / {ours_large:.2}×; {})",
            row.name(),
            size_label(SIZES[0]),
            size_label(mid),
            log_bound(mid),
            size_label(SIZES[0]),
            size_label(large),
            log_bound(large),
            verdict(ours_mid <= log_bound(mid) && ours_large <= log_bound(large)),
            peers.join("; "),
        );
    }
    if let [Some(ours), Some(base), Some(wheel)] = memory {
        let _ = writeln!(
            out,
            "- memory per timer at {} (reported, no target): ours {:.1} B, baseline {:.1} B \
             ({:.1} B after churn), wheel {:.1} B (plus the callback's own box in each)",
            size_label(ours.n),
            ours.fill_per_timer(),
            base.fill_per_timer(),
            base.churn_per_timer(),
            wheel.fill_per_timer(),
        );
    }
    out
}

/// Runs the timer part and returns it as markdown (the `##` heading included).
pub fn run(settings: &Settings) -> String {
    let (table, notes) = measure(settings);
    let memory = [
        timer_memory::<Ours>(SIZES[SIZES.len() - 1], SEED),
        timer_memory::<HeapBaseline>(SIZES[SIZES.len() - 1], SEED),
        timer_memory::<Wheel>(SIZES[SIZES.len() - 1], SEED),
    ];
    eprintln!("report: timer memory done");
    let mut out =
        String::from("## Timers vs a BinaryHeap baseline and a timer wheel (own timing)\n\n");
    let _ = writeln!(
        out,
        "Each row measures one operation at a steady pool size of about n live timers (within \
         ±10 %): **schedule** k new timers (timed), then cancel k random live ones (untimed); \
         **cancel** k random live timers (timed), then schedule k new ones (untimed); **fire**: \
         advance the clock until about k timers are due, then take each due timer, run its \
         callback and finish it (timed), then schedule as many new ones (untimed). k = n/10, at \
         most 1000. Deadlines are whole ms, now + 1 ms + uniform[0, {} s), from one seeded \
         generator, so every implementation sees the same operations (the number fired per \
         batch is checked to agree). The callback is a `Box<dyn FnMut()>` capturing one word, \
         boxed and dropped outside the timed batches. One window is {} timed operations, except \
         cancel: at least n (the baseline compacts its heap once per ≈ n cancels, and the \
         window must contain that deferred work). Median of {} repetitions, ns per operation \
         (lower is better); baseline/ours and wheel/ours > 1: ours is faster.\n",
        HORIZON_MS / 1000,
        settings.ops,
        settings.reps,
    );
    let _ = writeln!(
        out,
        "Implementations: **ours** `eventloop_core::timer::TimerPool` (indexed 4-ary heap, ID \
         map, slot table); **baseline** `std::collections::BinaryHeap<Reverse<(deadline_ns, seq, \
         id)>>` + `hashbrown::HashMap<id, callback>` (same map and hasher as ours), cancel \
         removes from the map only, fire pops and skips cancelled IDs, `retain` compaction when \
         cancelled entries outnumber live ones; **wheel** tokio-util `DelayQueue` (hierarchical \
         timing wheel, 1 ms resolution) in a current-thread runtime with the clock paused, \
         advanced to `now` (untimed) before each fire batch, polled with a no-op waker. The \
         wheel's fire row includes what `DelayQueue` does per expiry in real use (it re-arms a \
         boxed tokio `Sleep` for the next deadline each time); its keys are reused slab \
         indices, so a JS runtime on it would still need its own ID map: its rows are a lower \
         bound for that use.\n"
    );
    let _ = writeln!(
        out,
        "How to read it: at 1k everything is in cache and instructions and branch \
         mispredictions decide; at 100k and 1M (a few MB to 120 MB of structure) each random \
         memory touch is a likely cache and TLB miss, and the count of those decides. Per \
         operation, ours touches: schedule — a map bucket, the new slot, the heap end and one \
         slot per entry its sift moves; cancel — a map bucket, the slot, the heap entry at its \
         position, and one slot per moved entry; fire — the heap path from the root down (one \
         slot per level moved) and a map bucket. The baseline: schedule — a map bucket and the \
         heap end; cancel — a map bucket only (plus its share of a compaction); fire — the heap \
         path and a map bucket. The wheel: schedule and cancel — a slab entry and its \
         neighbours in a slot list; fire — the same plus a tokio `Sleep` re-armed per expiry. \
         Wall-clock rows at 100k and 1M also move by ±30 % or more between runs on this VM \
         (placement of the large tables, huge pages), and more when other work shares the \
         cores; the instruction counts below do not.\n"
    );
    out.push_str(&render_table(&medians(&table)));
    out.push('\n');
    out.push_str(&render_spread(&table));
    out.push('\n');
    for note in &notes {
        let _ = writeln!(out, "- {note}");
    }
    out.push('\n');
    out.push_str(&render_memory(&memory));
    out.push('\n');
    out.push_str(&render_targets(&table, &memory));
    out
}

/// The same median table from criterion's estimates (groups `timer_{row}_{size}`, function ids
/// `ours`, `baseline`, `wheel`), or `None` if there are none.
pub fn from_criterion(found: &BTreeMap<(String, String), f64>) -> Option<String> {
    let mut values = BTreeMap::new();
    for (index, row) in Row::ALL.iter().enumerate() {
        for n in SIZES {
            let group = format!("timer_{}_{}", row.name(), size_label(n));
            let cells = IDS.map(|id| found.get(&(group.clone(), id.to_owned())).copied());
            if cells.iter().any(Option::is_some) {
                values.insert((index, n), cells);
            }
        }
    }
    if values.is_empty() {
        return None;
    }
    Some(format!(
        "Criterion (`cargo bench --bench timer`): median estimate per benchmark, ns per operation; \
         ratios as above.\n\n{}",
        render_table(&values)
    ))
}
