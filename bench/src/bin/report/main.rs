//! The comparison tables, as markdown: the ring against peer queues, and the event loop against
//! peer executors (the latter in `remote.rs`).
//!
//! What it measures for the ring: the five rows of the criterion benchmarks (same workload code, from the
//! library), each timed here with `std::time::Instant` and summarised as the median over
//! several repetitions, in nanoseconds per item. Repetitions go round-robin over the queues,
//! so slow drift of a shared, noisy machine hits every queue alike. The burst row also reports
//! heap bytes per item at the peak and the bytes still held after the drain, measured by the
//! counting allocator installed below (counting is switched on only for that measurement).
//! Last, a diagnostic for the ring alone: in untimed producer rounds, how often its overflow
//! is in use and how deep the queue gets (whether rows 2–4 exercise the lock-free ring or
//! the overflow behind it).
//!
//! Why a separate program: criterion reports each benchmark on its own; the question here is
//! "how does the ring compare with the fastest peer", which needs all numbers side by side
//! with ratios (fastest peer / ours: above 1 means the ring is faster).
//!
//! The executor part (remote submission throughput, ping-pong latency and its CPU cost) is
//! described in `remote.rs`, the timer part (our timer pool against a `BinaryHeap` baseline and
//! tokio-util's `DelayQueue`) in `timers.rs`; all parts run in one invocation by default.
//!
//! Usage:
//!
//! - `report [ring] [remote] [timers] [--reps N] [--ops N]`: time every row of the parts named
//!   (all three by default; 15 repetitions by default; `--ops`: timed operations per timer
//!   window) and print the tables;
//! - `report criterion DIR`: the ring table built from criterion's saved estimates under `DIR`
//!   (usually `target/criterion`), one median per benchmark; `report criterion-timers DIR`:
//!   the same for the timer benchmarks.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, process};

use eventloop_bench::counting::CountingAlloc;
use eventloop_bench::{
    BURST_ITEMS, Backoff, BurstMemory, Ours, PRODUCER_ROUND_ITEMS, Queue, QueueVisitor,
    RING_ROWS_CAPACITY, Task, burst, burst_memory, for_each_queue, median, producers_round,
    single_thread, spawn_producers,
};
use eventloop_core::ring;

mod remote;
mod timers;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Push+pop pairs per repetition of the single-thread row.
const SINGLE_THREAD_OPS: u64 = 200_000;
/// Untimed push+pop pairs before each single-thread repetition.
const SINGLE_THREAD_WARMUP: u64 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    SingleThread,
    Producers(usize),
    Burst,
}

const ROWS: [Row; 5] = [
    Row::SingleThread,
    Row::Producers(1),
    Row::Producers(2),
    Row::Producers(4),
    Row::Burst,
];

impl Row {
    fn label(self) -> String {
        match self {
            Row::SingleThread => "1. single thread push+pop".to_owned(),
            Row::Producers(1) => "2. 1 producer / 1 consumer".to_owned(),
            Row::Producers(p) => {
                format!("{}. {p} producers / 1 consumer", if p == 2 { 3 } else { 4 })
            }
            Row::Burst => format!("5. burst {}k push, then drain", BURST_ITEMS / 1000),
        }
    }

    /// The criterion group holding this row.
    fn criterion_group(self) -> &'static str {
        match self {
            Row::SingleThread => "1_single_thread",
            Row::Producers(1) => "2_spsc_1p1c",
            Row::Producers(2) => "3_mpsc_2p1c",
            Row::Producers(_) => "4_mpsc_4p1c",
            Row::Burst => "5_burst_100k",
        }
    }
}

/// Names and ids of the queues, in table order (ours first).
#[derive(Default)]
struct Columns(Vec<(&'static str, &'static str)>);

impl QueueVisitor for Columns {
    fn visit<Q: Queue>(&mut self) {
        self.0.push((Q::NAME, Q::ID));
    }
}

/// One timed repetition of `row` for every queue, appended to `samples[queue]` (ns/item).
struct Measure<'a> {
    row: Row,
    samples: &'a mut [Vec<f64>],
    next: usize,
}

impl QueueVisitor for Measure<'_> {
    fn visit<Q: Queue>(&mut self) {
        let ns_per_item = match self.row {
            Row::SingleThread => {
                let (tx, mut rx) = Q::make(RING_ROWS_CAPACITY);
                single_thread::<Q>(&tx, &mut rx, SINGLE_THREAD_WARMUP);
                let elapsed = single_thread::<Q>(&tx, &mut rx, SINGLE_THREAD_OPS);
                elapsed.as_nanos() as f64 / SINGLE_THREAD_OPS as f64
            }
            Row::Producers(producers) => {
                let elapsed =
                    producers_round::<Q>(producers, PRODUCER_ROUND_ITEMS, RING_ROWS_CAPACITY);
                elapsed.as_nanos() as f64 / PRODUCER_ROUND_ITEMS as f64
            }
            Row::Burst => {
                let (tx, mut rx) = Q::make(BURST_ITEMS);
                burst::<Q>(&tx, &mut rx, BURST_ITEMS);
                let elapsed = burst::<Q>(&tx, &mut rx, BURST_ITEMS);
                elapsed.as_nanos() as f64 / BURST_ITEMS as f64
            }
        };
        self.samples[self.next].push(ns_per_item);
        self.next += 1;
    }
}

/// Ours only: how much of a producers round the ring spends spilled (diagnostic, untimed).
struct SpillSample {
    producers: usize,
    samples: usize,
    spilled: usize,
    max_len: usize,
}

/// Runs one round of `producers` into the ring like [`producers_round`], checking every 1024th
/// pop whether the overflow holds a buffer (i.e. the ring is spilled) and how deep the queue
/// is. The checks take the overflow lock, so this round is not timed.
fn spill_round(producers: usize, total: usize) -> SpillSample {
    let (tx, mut rx) = ring::new::<Task>();
    let (start_line, handles) = spawn_producers::<Ours>(tx, producers, total);
    start_line.wait();
    let mut sample = SpillSample {
        producers,
        samples: 0,
        spilled: 0,
        max_len: 0,
    };
    let mut popped = 0;
    let mut backoff = Backoff::new();
    while popped < total {
        match rx.pop() {
            Some(task) => {
                task();
                popped += 1;
                backoff.reset();
                if popped % 1024 == 0 {
                    sample.samples += 1;
                    sample.spilled += usize::from(rx.overflow_allocation() > 0);
                    sample.max_len = sample.max_len.max(rx.len());
                }
            }
            None => backoff.snooze(),
        }
    }
    for handle in handles {
        handle.join().expect("producer thread panicked");
    }
    sample
}

fn render_spill(samples: &[SpillSample]) -> String {
    let mut out = String::from(
        "Diagnostic, ours only (untimed rounds): in rows 2–4, is the ring spilled? Every 1024th pop \
         checks whether the overflow holds a buffer and how many items are queued.\n\n\
         | producers | checks with overflow in use | deepest queue seen (items) |\n|---:|---:|---:|\n",
    );
    for s in samples {
        let _ = writeln!(
            out,
            "| {} | {} of {} ({:.0} %) | {} |",
            s.producers,
            s.spilled,
            s.samples,
            100.0 * s.spilled as f64 / s.samples.max(1) as f64,
            s.max_len
        );
    }
    out
}

fn render_spread(spreads: &[(Row, Vec<(f64, f64)>)], names: &[&str]) -> String {
    let mut out = String::from("Spread over the repetitions (min–max ns/item):\n\n");
    let _ = write!(out, "| row | {} |\n|---|", names.join(" | "));
    for _ in names {
        out.push_str("---:|");
    }
    out.push('\n');
    for (row, ranges) in spreads {
        let _ = write!(out, "| {} |", row.label());
        for (min, max) in ranges {
            let _ = write!(out, " {min:.1}–{max:.1} |");
        }
        out.push('\n');
    }
    out
}

/// Row 5's memory for every queue.
#[derive(Default)]
struct Memory(Vec<Option<BurstMemory>>);

impl QueueVisitor for Memory {
    fn visit<Q: Queue>(&mut self) {
        self.0.push(burst_memory::<Q>(BURST_ITEMS, BURST_ITEMS));
    }
}

fn columns() -> Vec<(&'static str, &'static str)> {
    let mut columns = Columns::default();
    for_each_queue(&mut columns);
    columns.0
}

/// Per row, per queue (table order): ns/item, if measured.
type Table = Vec<(Row, Vec<Option<f64>>)>;

fn render_table(table: &Table, names: &[&str]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "| row | {} | fastest peer | ratio peer/ours |\n|---|",
        names.join(" | ")
    );
    for _ in 0..names.len() + 2 {
        out.push_str("---:|");
    }
    out.push('\n');
    for (row, values) in table {
        let _ = write!(out, "| {} |", row.label());
        for value in values {
            match value {
                Some(ns) => {
                    let _ = write!(out, " {ns:.1} |");
                }
                None => out.push_str(" – |"),
            }
        }
        match (values[0], fastest_peer(values, names)) {
            (Some(ours), Some((peer, peer_ns))) => {
                let _ = writeln!(out, " {peer} | **{:.2}×** |", peer_ns / ours);
            }
            _ => out.push_str(" – | – |\n"),
        }
    }
    out
}

/// The fastest peer (any column but the first): name and ns/item.
fn fastest_peer<'n>(values: &[Option<f64>], names: &[&'n str]) -> Option<(&'n str, f64)> {
    values
        .iter()
        .zip(names)
        .skip(1)
        .filter_map(|(value, name)| value.map(|ns| (*name, ns)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

fn render_memory(memory: &[Option<BurstMemory>], times: &[Option<f64>], names: &[&str]) -> String {
    let mut out = String::new();
    let task_bytes = memory
        .iter()
        .flatten()
        .map(|m| m.task_bytes)
        .next()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "Burst row, heap use (counted from just before the queue is created; one task's own box is \
         {task_bytes} B and is included in \"total\", excluded in \"queue\"; `ArrayQueue` has \
         capacity {BURST_ITEMS} here, the ring its default {RING_ROWS_CAPACITY} slots):\n"
    );
    out.push_str(
        "| queue | ns/item | peak B/item total | peak B/item queue | queue, if realloc copies | \
         held after drain (bytes) |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for ((name, mem), time) in names.iter().zip(memory).zip(times) {
        let time = time.map_or_else(|| "–".to_owned(), |ns| format!("{ns:.1}"));
        match mem {
            Some(m) => {
                let _ = writeln!(
                    out,
                    "| {name} | {time} | {:.1} | {:.1} | {:.1} | {} |",
                    m.peak_per_item(),
                    m.queue_peak_per_item(),
                    m.queue_peak_per_item_if_copy(),
                    m.held_after_drain
                );
            }
            None => {
                let _ = writeln!(out, "| {name} | {time} | – | – | – | – |");
            }
        }
    }
    out
}

fn render_targets(table: &Table, memory: &[Option<BurstMemory>], names: &[&str]) -> String {
    let mut out = String::from("Design targets (as measured in this run):\n\n");
    let verdict = |met: bool| if met { "met" } else { "**missed**" };
    for (row, values) in table {
        let Some(ours) = values[0] else { continue };
        let line = match row {
            Row::SingleThread => {
                let Some(array) = values[1] else { continue };
                format!(
                    "- {}: ours ≤ ArrayQueue — {} ({ours:.1} vs {array:.1} ns/item)",
                    row.label(),
                    verdict(ours <= array)
                )
            }
            Row::Producers(_) => {
                let Some((peer, peer_ns)) = fastest_peer(values, names) else {
                    continue;
                };
                let ratio = peer_ns / ours;
                format!(
                    "- {}: ≥ 1.5× the fastest peer — {} ({ratio:.2}× vs {peer}: {ours:.1} vs {peer_ns:.1} ns/item)",
                    row.label(),
                    verdict(ratio >= 1.5)
                )
            }
            Row::Burst => {
                let Some((peer, peer_ns)) = fastest_peer(values, names) else {
                    continue;
                };
                let ratio = peer_ns / ours;
                let mut line = format!(
                    "- {}: faster than every peer — {} ({ratio:.2}× vs {peer})",
                    row.label(),
                    verdict(ratio > 1.0)
                );
                if let Some(m) = memory[0] {
                    let per_item = m.queue_peak_per_item();
                    let per_item_copy = m.queue_peak_per_item_if_copy();
                    let peak_queue = m.peak.saturating_sub(m.task_bytes * m.items);
                    let returned =
                        m.held_after_drain >= 0 && (m.held_after_drain as usize) * 4 <= peak_queue;
                    let _ = write!(
                        line,
                        "; ≤ 24 B/item (queue only) — {} ({per_item:.1} B/item; {per_item_copy:.1} if \
                         every realloc copies: {}); memory returned (held after drain ≤ ¼ of the \
                         queue's peak) — {} ({} of {peak_queue} bytes still held)",
                        verdict(per_item <= 24.0),
                        verdict(per_item_copy <= 24.0),
                        verdict(returned),
                        m.held_after_drain
                    );
                }
                line
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn run_timing(reps: usize) {
    let columns = columns();
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let mut table: Table = Vec::new();
    let mut burst_times = Vec::new();
    let mut spreads = Vec::new();
    for row in ROWS {
        let mut samples = vec![Vec::new(); columns.len()];
        // One untimed pass first: thread stacks, allocator arenas and caches warm up.
        for_each_queue(&mut Measure {
            row,
            samples: &mut vec![Vec::new(); columns.len()],
            next: 0,
        });
        for _ in 0..reps {
            for_each_queue(&mut Measure {
                row,
                samples: &mut samples,
                next: 0,
            });
        }
        let medians: Vec<Option<f64>> = samples.iter_mut().map(|s| Some(median(s))).collect();
        // `median` sorted each list: first and last are the extremes.
        spreads.push((
            row,
            samples.iter().map(|s| (s[0], s[s.len() - 1])).collect(),
        ));
        eprintln!("report: {} done", row.label());
        if row == Row::Burst {
            burst_times.clone_from(&medians);
        }
        table.push((row, medians));
    }
    let mut memory = Memory::default();
    for_each_queue(&mut memory);
    let spills: Vec<SpillSample> = [1, 2, 4]
        .iter()
        .map(|&producers| {
            let rounds: Vec<SpillSample> = (0..3)
                .map(|_| spill_round(producers, PRODUCER_ROUND_ITEMS))
                .collect();
            SpillSample {
                producers,
                samples: rounds.iter().map(|r| r.samples).sum(),
                spilled: rounds.iter().map(|r| r.spilled).sum(),
                max_len: rounds.iter().map(|r| r.max_len).max().unwrap_or(0),
            }
        })
        .collect();

    println!(
        "Own timing (`report`): median of {reps} repetitions, ns per item (lower is better); ratio = \
         fastest peer / ours (> 1: ours is faster). Rows 1–4: `ArrayQueue` capacity \
         {RING_ROWS_CAPACITY} (same as the ring's slots); rows 2–4: {PRODUCER_ROUND_ITEMS} items per \
         round split across the producers; row 5: `ArrayQueue` capacity {BURST_ITEMS}.\n"
    );
    println!("{}", render_table(&table, &names));
    println!("{}", render_spread(&spreads, &names));
    if memory.0.iter().all(Option::is_none) {
        println!("Burst memory: not measured (the counting allocator is not installed).\n");
    } else {
        println!("{}", render_memory(&memory.0, &burst_times, &names));
    }
    println!("{}", render_targets(&table, &memory.0, &names));
    println!("{}", render_spill(&spills));
}

/// Reads criterion's `benchmark.json` + `estimates.json` pairs under `dir`:
/// (group, function) → median ns per item.
fn read_criterion(dir: &Path) -> BTreeMap<(String, String), f64> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let entry_path = entry.path();
            if entry_path.is_dir() {
                stack.push(entry_path);
            } else if entry_path
                .file_name()
                .is_some_and(|n| n == "benchmark.json")
                && entry_path
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == "new")
            {
                if let Some((key, ns)) = read_estimate(&entry_path) {
                    found.insert(key, ns);
                }
            }
        }
    }
    found
}

fn read_estimate(benchmark_json: &Path) -> Option<((String, String), f64)> {
    let id: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(benchmark_json).ok()?).ok()?;
    let estimates_path: PathBuf = benchmark_json.with_file_name("estimates.json");
    let estimates: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(estimates_path).ok()?).ok()?;
    let group = id.get("group_id")?.as_str()?.to_owned();
    let function = id.get("function_id")?.as_str()?.to_owned();
    let elements = id
        .get("throughput")
        .and_then(|t| t.get("Elements"))
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(1.0);
    let median_ns = estimates.get("median")?.get("point_estimate")?.as_f64()?;
    Some(((group, function), median_ns / elements))
}

fn run_criterion(dir: &Path) {
    let found = read_criterion(dir);
    if found.is_empty() {
        println!("No criterion results under {}.", dir.display());
        return;
    }
    let columns = columns();
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let table: Table = ROWS
        .iter()
        .map(|row| {
            let values = columns
                .iter()
                .map(|(_, id)| {
                    found
                        .get(&(row.criterion_group().to_owned(), (*id).to_owned()))
                        .copied()
                })
                .collect();
            (*row, values)
        })
        .collect();
    println!(
        "Criterion (`cargo bench`): median estimate per benchmark, ns per item; ratio = fastest peer / \
         ours.\n"
    );
    println!("{}", render_table(&table, &names));
}

fn usage() -> ! {
    eprintln!(
        "usage: report [ring] [remote] [timers] [--reps N] [--ops N] | report criterion DIR | \
         report criterion-timers DIR"
    );
    process::exit(2);
}

/// Which tables a timing run prints.
#[derive(Debug, Clone, Copy, Default)]
struct Parts {
    ring: bool,
    remote: bool,
    timers: bool,
}

fn run_parts(parts: Parts, reps: usize, timer_ops: usize) {
    if parts.ring {
        println!("## Ring vs peer queues (own timing)\n");
        run_timing(reps);
    }
    if parts.remote {
        println!("## Event loop vs peer executors (own timing)\n");
        println!("{}", remote::run(&remote::Settings::from_reps(reps)));
    }
    if parts.timers {
        println!(
            "{}",
            timers::run(&timers::Settings {
                reps,
                ops: timer_ops
            })
        );
    }
}

fn parse_count(n: &str) -> usize {
    n.parse()
        .ok()
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| usage())
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["criterion", dir] => return run_criterion(Path::new(dir)),
        ["criterion-timers", dir] => {
            match timers::from_criterion(&read_criterion(Path::new(dir))) {
                Some(table) => println!("{table}"),
                None => println!("No criterion timer results under {dir}."),
            }
            return;
        }
        _ => {}
    }
    let mut parts = Parts::default();
    let mut reps = 15;
    let mut timer_ops = eventloop_bench::timers::DEFAULT_OPS;
    let mut args = args.iter().map(String::as_str);
    while let Some(arg) = args.next() {
        match arg {
            "ring" => parts.ring = true,
            "remote" => parts.remote = true,
            "timers" => parts.timers = true,
            "--reps" => reps = parse_count(args.next().unwrap_or_else(|| usage())),
            "--ops" => timer_ops = parse_count(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    if !(parts.ring || parts.remote || parts.timers) {
        parts = Parts {
            ring: true,
            remote: true,
            timers: true,
        };
    }
    run_parts(parts, reps, timer_ops);
}
