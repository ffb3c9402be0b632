//! The executor tables of `report`: our `EventLoop` against tokio (current-thread runtime) and
//! channel + thread peers, with one remote submitting thread (workloads in
//! `eventloop_bench::remote`).
//!
//! What it measures and prints, as markdown:
//!
//! 1. submission throughput: ns per task for 200 000 back-to-back remote submissions, timed until
//!    the last task ran; median and min–max over the repetitions, and for ours the loop's
//!    sleeps / parks / unparks per round;
//! 2. ping-pong latency: median and p99 µs per round trip (all repetitions pooled), next to the
//!    CPU time the process spent per round trip and the executor side's share of it (process
//!    minus the spinning caller thread), and for ours the loop's counters per round trip. Ours
//!    runs with `spin_before_sleep` 0, 20, 50 (default) and 200 µs;
//! 3. the same ping-pong with a pause between round trips (the executor goes idle each time),
//!    which is where a spin-before-sleep costs CPU without buying latency;
//! 4. the design targets, and the goal of issue 3 on its own lines: ours (default config)
//!    against the two peers that issue names (tokio current-thread spawned into, and
//!    `std::sync::mpsc` with a thread) on the throughput row and the back-to-back ping-pong row.
//!    The other peers (tokio mpsc, crossbeam-channel) are in the tables and in the "fastest
//!    peer" ratios, not in that goal.
//!
//! Repetitions go round-robin over the executors (each repetition starts a fresh one), after one
//! untimed pass, so slow drift of a shared machine hits all alike. Ratios are fastest peer ÷
//! ours: above 1, ours is faster.

use std::fmt::Write as _;
use std::time::Duration;

use eventloop_bench::median;
use eventloop_bench::remote::{
    POLLS_PER_YIELD, Peer, PingPongSample, SUBMIT_TASKS, SubmitSample, ping_pong_round, quantile,
    submit_round,
};
use eventloop_core::driver::LoopStats;

/// `spin_before_sleep` values of our ping-pong rows, in µs (50 is the default).
const SPINS_US: [u64; 4] = [0, 20, 50, 200];
/// Our default `spin_before_sleep`, in µs.
const DEFAULT_SPIN_US: u64 = 50;

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Throughput repetitions per executor.
    pub reps: usize,
    /// Ping-pong repetitions per executor (each a fresh executor).
    pub ping_reps: usize,
    /// Timed round trips per ping-pong repetition.
    pub ping_rounds: usize,
    /// Timed round trips per paced ping-pong repetition.
    pub paced_rounds: usize,
    /// The pause between paced round trips.
    pub think: Duration,
}

impl Settings {
    /// Derived from the report's repetition count.
    pub fn from_reps(reps: usize) -> Self {
        Self {
            reps,
            ping_reps: reps,
            ping_rounds: 1_500,
            paced_rounds: 300,
            think: Duration::from_micros(100),
        }
    }
}

fn ours(spin_us: u64) -> Peer {
    Peer::Ours {
        spin: Duration::from_micros(spin_us),
    }
}

/// Runs every measurement and returns the markdown.
pub fn run(settings: &Settings) -> String {
    let mut out = String::new();
    let (throughput, throughput_medians) = throughput(settings);
    eprintln!("report: remote submission throughput done");
    let ping = ping_pong(settings, Duration::ZERO, settings.ping_rounds, PING_WARM);
    eprintln!("report: ping-pong done");
    let paced = ping_pong(settings, settings.think, settings.paced_rounds, PACED_WARM);
    eprintln!("report: paced ping-pong done");

    let _ = writeln!(
        out,
        "One submitting thread (the bench's), one executor thread that runs every task. Tasks are \
         closures capturing one word (so every path allocates a box or a task cell) with the \
         same body for every executor. Peers: tokio current-thread runtime in `block_on` on its \
         own thread, fed either by `Handle::spawn` of `async move {{ f() }}` (\"tokio spawn\") or \
         by an unbounded `tokio::sync::mpsc` of boxed closures run inline by the `block_on` \
         future (\"tokio mpsc\"; no `LocalSet` needed: the closures are `Send`); and unbounded \
         `std::sync::mpsc` / `crossbeam_channel` of boxed closures with a thread in a blocking \
         `recv` loop. Ours: `EventLoop` built and `run` on its own thread, `Handle::submit` \
         from the caller. Ratio = fastest peer ÷ ours (> 1: ours is faster).\n"
    );
    out.push_str(&throughput);
    out.push('\n');
    let _ = writeln!(
        out,
        "### Ping-pong latency (back to back)\n\n\
         Submit one task, spin until it has run (it stores its sequence number into an atomic \
         the caller polls, yielding every {POLLS_PER_YIELD} polls: the same signal for every \
         executor), repeat. {} repetitions × {} timed round trips per executor (after \
         {PING_WARM} untimed; fresh executor each repetition, round-robin), pooled for median, \
         p99 and mean. CPU = process user+sys time (`getrusage(RUSAGE_SELF)`) over the timed \
         rounds ÷ round trips; \"executor side\" subtracts the caller thread's own time \
         (`RUSAGE_THREAD`), which polls for the whole round trip. Counters per round trip: ours \
         only (`Handle::stats`). Per-rep medians that span from a fraction of a µs to several µs \
         mean that in some repetitions other work on the machine left the two threads one core \
         between them: a spinning executor then runs only when the caller yields.\n",
        settings.ping_reps, settings.ping_rounds
    );
    out.push_str(&render_ping(&ping));
    out.push('\n');
    let _ = writeln!(
        out,
        "### Ping-pong latency, paced (`thread::sleep({} µs)` between round trips)\n\n\
         As above, but the caller sleeps after each round trip (Linux makes that ≥ {} µs, \
         usually some 50 µs more), so the executor runs dry every time: a spin shorter than the \
         pause is paid in full and then the loop parks anyway; a longer one never parks. {} \
         repetitions × {} round trips (after {PACED_WARM} untimed). The caller sleeps instead \
         of spinning here, so process CPU is mostly the executor's.\n",
        settings.think.as_micros(),
        settings.think.as_micros(),
        settings.ping_reps,
        settings.paced_rounds
    );
    out.push_str(&render_ping(&paced));
    out.push('\n');
    out.push_str(&targets(&throughput_medians, &ping));
    out
}

/// Per executor, one entry per repetition.
struct ThroughputRow {
    peer: Peer,
    samples: Vec<SubmitSample>,
}

impl ThroughputRow {
    /// The median of one field over the repetitions (`None` if any repetition lacks it).
    fn median_of(&self, field: impl Fn(&SubmitSample) -> Option<f64>) -> Option<f64> {
        let mut values: Vec<f64> = self.samples.iter().map(field).collect::<Option<_>>()?;
        (!values.is_empty()).then(|| median(&mut values))
    }
}

fn throughput_rows() -> Vec<Peer> {
    let mut peers = vec![ours(DEFAULT_SPIN_US), ours(0)];
    peers.extend(Peer::PEERS);
    peers
}

/// The throughput table (markdown) and each executor's median ns/task.
fn throughput(settings: &Settings) -> (String, Vec<(Peer, f64)>) {
    let mut rows: Vec<ThroughputRow> = throughput_rows()
        .into_iter()
        .map(|peer| ThroughputRow {
            peer,
            samples: Vec::new(),
        })
        .collect();
    // Repetition 0 is untimed: thread stacks, allocator arenas and caches warm up.
    for rep in 0..=settings.reps {
        for row in &mut rows {
            let sample = submit_round(row.peer, SUBMIT_TASKS);
            if rep > 0 {
                row.samples.push(sample);
            }
        }
    }
    let medians: Vec<(Peer, f64)> = rows
        .iter()
        .map(|row| {
            (
                row.peer,
                row.median_of(|s| Some(s.ns_per_task)).unwrap_or(f64::NAN),
            )
        })
        .collect();
    let fastest_peer = fastest_peer(&medians);
    let mut out = format!(
        "### Remote submission throughput\n\n\
         The caller submits {SUBMIT_TASKS} tasks back to back (each bumps a counter), then \
         polls the counter until all have run; ns per task from the first submit to that \
         moment. Median of {} repetitions (fresh executor each), with the extremes. \
         \"Submit phase\": when the caller had submitted the last task (≈ total: the caller is \
         the bottleneck; well below: the executor is, working off a backlog). CPU per task: the \
         caller thread (`RUSAGE_THREAD`; includes its final polling) and the rest of the \
         process, i.e. the executor thread (`RUSAGE_SELF` minus caller). Counters: ours only, \
         median per round.\n\n\
         | executor | ns/task (median) | min–max | ratio peer/ours | submit phase ns/task | CPU ns/task caller / executor | sleeps / parks / unparks per round |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        settings.reps
    );
    for (row, &(peer, ns)) in rows.iter().zip(&medians) {
        let (min, max) = row
            .samples
            .iter()
            .map(|s| s.ns_per_task)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let ratio = match fastest_peer {
            Some((_, peer_ns)) if peer.is_ours() => format!("**{:.2}×**", peer_ns / ns),
            _ => "–".to_owned(),
        };
        let submit = row
            .median_of(|s| Some(s.submit_ns_per_task))
            .unwrap_or(f64::NAN);
        let cpu = match row.median_of(|s| s.caller_cpu_ns_per_task) {
            Some(caller) => {
                let executor = row
                    .median_of(|s| {
                        s.caller_cpu_ns_per_task
                            .map(|c| s.process_cpu_ns_per_task - c)
                    })
                    .unwrap_or(f64::NAN);
                format!("{caller:.0} / {executor:.0}")
            }
            None => "–".to_owned(),
        };
        let counters = match (
            row.median_of(|s| s.stats.map(|s| s.sleeps as f64)),
            row.median_of(|s| s.stats.map(|s| s.parks as f64)),
            row.median_of(|s| s.stats.map(|s| s.unparks as f64)),
        ) {
            (Some(sleeps), Some(parks), Some(unparks)) => {
                format!("{sleeps:.0} / {parks:.0} / {unparks:.0}")
            }
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {ns:.1} | {min:.1}–{max:.1} | {ratio} | {submit:.1} | {cpu} | {counters} |",
            peer.name()
        );
    }
    if let Some((peer, ns)) = fastest_peer {
        let _ = writeln!(out, "\nFastest peer: {} ({ns:.1} ns/task).", peer.name());
    }
    (out, medians)
}

/// The fastest of the rows that are not ours.
fn fastest_peer(rows: &[(Peer, f64)]) -> Option<(Peer, f64)> {
    rows.iter()
        .filter(|(peer, _)| !peer.is_ours())
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// One ping-pong row, all repetitions pooled.
struct PingRow {
    peer: Peer,
    /// All round trips, ns, sorted once measuring ends.
    latencies: Vec<f64>,
    /// Median of each repetition, ns.
    rep_medians: Vec<f64>,
    rounds: usize,
    cpu_process: Duration,
    cpu_caller: Option<Duration>,
    stats: Option<LoopStats>,
}

impl PingRow {
    fn add(&mut self, mut sample: PingPongSample) {
        self.rep_medians.push(median(&mut sample.latencies_ns));
        self.latencies.extend_from_slice(&sample.latencies_ns);
        self.rounds += sample.rounds;
        self.cpu_process += sample.cpu_process;
        self.cpu_caller = match (self.cpu_caller, sample.cpu_caller) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        self.stats = match (self.stats, sample.stats) {
            (None, s) => s,
            (Some(a), Some(b)) => Some(a + b),
            (Some(a), None) => Some(a),
        };
    }

    fn median_us(&self) -> f64 {
        quantile(&self.latencies, 0.5) / 1000.0
    }
}

/// Warm-up round trips before each timed repetition (back to back).
const PING_WARM: usize = 200;
/// Warm-up round trips before each timed repetition (paced).
const PACED_WARM: usize = 20;

fn ping_pong(settings: &Settings, think: Duration, rounds: usize, warm: usize) -> Vec<PingRow> {
    let mut peers: Vec<Peer> = SPINS_US.iter().map(|&us| ours(us)).collect();
    peers.extend(Peer::PEERS);
    let mut rows: Vec<PingRow> = peers
        .into_iter()
        .map(|peer| PingRow {
            peer,
            latencies: Vec::new(),
            rep_medians: Vec::new(),
            rounds: 0,
            cpu_process: Duration::ZERO,
            cpu_caller: Some(Duration::ZERO),
            stats: None,
        })
        .collect();
    // One short untimed pass first, then round-robin repetitions.
    for row in &rows {
        let _ = ping_pong_round(row.peer, rounds / 4, warm, think);
    }
    for _ in 0..settings.ping_reps {
        for row in &mut rows {
            row.add(ping_pong_round(row.peer, rounds, warm, think));
        }
    }
    for row in &mut rows {
        row.latencies.sort_by(f64::total_cmp);
        row.rep_medians.sort_by(f64::total_cmp);
    }
    rows
}

fn render_ping(rows: &[PingRow]) -> String {
    let fastest = rows
        .iter()
        .filter(|r| !r.peer.is_ours())
        .map(|r| (r.peer, r.median_us()))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let mut out = String::from(
        "| executor | median µs | p99 µs | mean µs | per-rep medians µs | ratio peer/ours (median) | CPU µs / rt, process | CPU µs / rt, executor side | sleeps / rt | parks / rt | unparks / rt |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let n = row.rounds.max(1) as f64;
        let median_us = row.median_us();
        let p99 = quantile(&row.latencies, 0.99) / 1000.0;
        let mean = row.latencies.iter().sum::<f64>() / row.latencies.len().max(1) as f64 / 1000.0;
        let reps = format!(
            "{:.2}–{:.2}",
            row.rep_medians[0] / 1000.0,
            row.rep_medians[row.rep_medians.len() - 1] / 1000.0
        );
        let ratio = match fastest {
            Some((_, peer_us)) if row.peer.is_ours() => format!("**{:.2}×**", peer_us / median_us),
            _ => "–".to_owned(),
        };
        let cpu_process = row.cpu_process.as_nanos() as f64 / 1000.0 / n;
        let executor = row.cpu_caller.map_or_else(
            || "–".to_owned(),
            |caller| {
                let side = row.cpu_process.saturating_sub(caller);
                format!("{:.1}", side.as_nanos() as f64 / 1000.0 / n)
            },
        );
        let (sleeps, parks, unparks) = match row.stats {
            Some(s) => (
                format!("{:.2}", s.sleeps as f64 / n),
                format!("{:.2}", s.parks as f64 / n),
                format!("{:.2}", s.unparks as f64 / n),
            ),
            None => ("–".to_owned(), "–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {} | {median_us:.2} | {p99:.2} | {mean:.2} | {reps} | {ratio} | {cpu_process:.1} | {executor} | {sleeps} | {parks} | {unparks} |",
            row.peer.name()
        );
    }
    if let Some((peer, us)) = fastest {
        let _ = writeln!(out, "\nFastest peer: {} ({us:.2} µs median).", peer.name());
    }
    out
}

/// The peers issue 3 names for its goal ("ahead of both on both rows"): a tokio current-thread
/// runtime spawned into from another thread, and `std::sync::mpsc` with a dedicated thread.
const GOAL_PEERS: [Peer; 2] = [Peer::TokioSpawn, Peer::StdMpsc];

/// One goal line: ours (default config) against each of [`GOAL_PEERS`] on one row (lower is
/// better), with the ratios.
fn goal_line(row: &str, unit: &str, ours: f64, peers: &[(Peer, f64)]) -> String {
    let mut ahead = true;
    let mut parts = Vec::new();
    for goal in GOAL_PEERS {
        if let Some(&(peer, theirs)) = peers.iter().find(|(p, _)| *p == goal) {
            ahead &= ours < theirs;
            parts.push(format!(
                "{:.2}× vs {} ({theirs:.2} {unit})",
                theirs / ours,
                peer.name()
            ));
        } else {
            ahead = false;
            parts.push(format!("{} not measured", goal.name()));
        }
    }
    format!(
        "- {row}: ours (default config, {ours:.2} {unit}) ahead of tokio spawn and std mpsc — {}: {}",
        if ahead { "met" } else { "**missed**" },
        parts.join(", ")
    )
}

fn targets(throughput: &[(Peer, f64)], ping: &[PingRow]) -> String {
    let verdict = |met: bool| if met { "met" } else { "**missed**" };
    let mut out = String::from("Design targets, executor rows (as measured in this run):\n\n");
    let default = ours(DEFAULT_SPIN_US);
    if let (Some(&(_, ns)), Some((peer, peer_ns))) = (
        throughput.iter().find(|(p, _)| *p == default),
        fastest_peer(throughput),
    ) {
        let _ = writeln!(
            out,
            "- remote submit ≤ 65 ns/task — {} ({ns:.1} ns/task, default config); ahead of every \
             peer — {} ({:.2}× vs {}, {peer_ns:.1} ns/task)",
            verdict(ns <= 65.0),
            verdict(peer_ns > ns),
            peer_ns / ns,
            peer.name()
        );
    }
    if let Some(&(_, ns)) = throughput.iter().find(|(p, _)| *p == default) {
        let _ = writeln!(
            out,
            "{}",
            goal_line("remote submit (issue 3 goal)", "ns/task", ns, throughput)
        );
    }
    if let Some(row) = ping.iter().find(|r| r.peer == default) {
        let medians: Vec<(Peer, f64)> = ping.iter().map(|r| (r.peer, r.median_us())).collect();
        let _ = writeln!(
            out,
            "{}",
            goal_line(
                "ping-pong, back to back (issue 3 goal)",
                "µs median",
                row.median_us(),
                &medians
            )
        );
    }
    for row in ping.iter().filter(|r| r.peer.is_ours()) {
        let Peer::Ours { spin } = row.peer else {
            continue;
        };
        if spin.is_zero() {
            continue;
        }
        let median_us = row.median_us();
        let cpu = row
            .cpu_caller
            .map(|caller| row.cpu_process.saturating_sub(caller))
            .unwrap_or(row.cpu_process);
        let _ = writeln!(
            out,
            "- ping-pong ≤ 4 µs with a bounded spin ({} µs) — {} ({median_us:.2} µs median, \
             {:.2} µs p99; executor-side CPU {:.1} µs per round trip)",
            spin.as_micros(),
            verdict(median_us <= 4.0),
            quantile(&row.latencies, 0.99) / 1000.0,
            cpu.as_nanos() as f64 / 1000.0 / row.rounds.max(1) as f64
        );
    }
    out
}
