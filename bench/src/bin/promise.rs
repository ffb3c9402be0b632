//! The promise rows (`eventloop_bench::promises`): a comparison table, and a plain runner for
//! callgrind.
//!
//! - `promise report [--reps N] [--ops N]`: times every row of every implementation that has it
//!   (ours; tokio's and futures' oneshot for the comparable rows), `--ops` ops per repetition
//!   (default 100 000; the remote row uses a tenth of it), `--reps` repetitions round-robin over
//!   the implementations (default 11), and prints a markdown table: median ns per op,
//!   allocations per op (counted by the global allocator below, in one untimed run), and the
//!   ratio fastest peer / ours (above 1: ours is faster).
//! - `promise ops IMPL ROW N`: runs N ops of ROW (`local`, `remote`, `chain`, `all`) with IMPL
//!   (`ours`, `tokio`, `futures`) once, after one warm-up batch. Under
//!   `valgrind --tool=callgrind`, (total(N) − total(0)) / N is the instructions per op.

use std::{env, process};

use eventloop_bench::median;
use eventloop_bench::promises::{
    Bench, CountingCalls, Impl, LOCAL_BATCH, Measured, Row, count_allocations,
};

#[global_allocator]
static ALLOC: CountingCalls = CountingCalls;

fn usage() -> ! {
    eprintln!("usage: promise report [--reps N] [--ops N] | promise ops IMPL ROW N");
    process::exit(2)
}

fn row_named(name: &str) -> Row {
    Row::ALL
        .into_iter()
        .find(|row| row.name() == name)
        .unwrap_or_else(|| usage())
}

fn ops_for(row: Row, ops: usize) -> usize {
    match row {
        // A batch is created before any of it is resolved: keep it small enough to stay in cache.
        Row::Remote => (ops / 10).max(LOCAL_BATCH),
        _ => ops,
    }
}

fn report(reps: usize, ops: usize) {
    let mut bench = Bench::new();
    let mut table = String::new();
    table.push_str("| row | ours ns/op | tokio oneshot ns/op | futures oneshot ns/op | ours allocs/op | tokio allocs/op | futures allocs/op | fastest peer / ours |\n");
    table.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut local_ours = None;
    let mut local_peer = None;
    for row in Row::ALL {
        let n = ops_for(row, ops);
        let imps: Vec<Impl> = Impl::ALL.into_iter().filter(|imp| imp.has(row)).collect();
        // Warm-up, then repetitions round-robin over the implementations.
        for &imp in &imps {
            bench.run(imp, row, n / 10 + 1);
        }
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); imps.len()];
        for _ in 0..reps {
            for (k, &imp) in imps.iter().enumerate() {
                let elapsed = bench.run(imp, row, n);
                samples[k].push(elapsed.as_nanos() as f64 / n as f64);
            }
        }
        let mut measured: Vec<Option<Measured>> = vec![None; Impl::ALL.len()];
        for (k, &imp) in imps.iter().enumerate() {
            let counted = n.min(10_000);
            let allocs = count_allocations(|| {
                bench.run(imp, row, counted);
            });
            let slot = Impl::ALL.iter().position(|i| *i == imp).expect("known");
            measured[slot] = Some(Measured {
                ns: median(&mut samples[k]),
                allocs: allocs as f64 / counted as f64,
            });
        }
        let ours = measured[0].expect("ours has every row");
        let fastest_peer = measured[1..]
            .iter()
            .flatten()
            .map(|m| m.ns)
            .fold(f64::INFINITY, f64::min);
        let cell = |m: &Option<Measured>, f: fn(&Measured) -> String| {
            m.as_ref().map_or_else(|| "–".to_owned(), f)
        };
        let ratio = if fastest_peer.is_finite() {
            format!("**{:.2}×**", fastest_peer / ours.ns)
        } else {
            "–".to_owned()
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.label(),
            cell(&measured[0], |m| format!("{:.1}", m.ns)),
            cell(&measured[1], |m| format!("{:.1}", m.ns)),
            cell(&measured[2], |m| format!("{:.1}", m.ns)),
            cell(&measured[0], |m| format!("{:.2}", m.allocs)),
            cell(&measured[1], |m| format!("{:.2}", m.allocs)),
            cell(&measured[2], |m| format!("{:.2}", m.allocs)),
            ratio,
        ));
        if row == Row::Local {
            local_ours = Some(ours.ns);
            local_peer = Some(fastest_peer);
        }
    }
    println!("## Promises vs oneshot channels");
    println!();
    println!(
        "Median over {reps} repetitions of {ops} ops (remote row: {} ops; a batch of promises is \
         created, then resolved by a worker thread while the loop runs their reactions). One op \
         is one promise with one `then` reaction (ours: the reaction runs as a microtask and \
         fulfils the derived promise `then` returns) or one oneshot send + receive (peers: no \
         reaction is scheduled). Allocations: allocation calls per op in one untimed run.",
        ops_for(Row::Remote, ops)
    );
    println!();
    print!("{table}");
    if let (Some(ours), Some(peer)) = (local_ours, local_peer) {
        let target = 40.0_f64.max(1.5 * peer);
        println!();
        println!(
            "Design target (one thread, create + settle + reaction run ≤ 40 ns, 1.5× of a plain \
             oneshot): ours {ours:.1} ns, fastest oneshot {peer:.1} ns — {}",
            if ours <= target { "met" } else { "**missed**" }
        );
    }
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("report") => {
            let mut reps = 11;
            let mut ops = 100_000;
            let mut rest = args[1..].iter();
            while let Some(flag) = rest.next() {
                let value = rest
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
                match flag.as_str() {
                    "--reps" => reps = value,
                    "--ops" => ops = value,
                    _ => usage(),
                }
            }
            report(reps.max(1), ops.max(LOCAL_BATCH));
        }
        Some("ops") if args.len() == 4 => {
            let imp = Impl::parse(&args[1]).unwrap_or_else(|| usage());
            let row = row_named(&args[2]);
            let n: usize = args[3].parse().unwrap_or_else(|_| usage());
            if !imp.has(row) {
                usage();
            }
            let mut bench = Bench::new();
            bench.run(imp, row, LOCAL_BATCH.max(100)); // warm-up: the loop's queues, the worker
            if n > 0 {
                bench.run(imp, row, n);
            }
        }
        _ => usage(),
    }
}
