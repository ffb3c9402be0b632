//! The timer rows as a plain program, for counting instructions under callgrind rather than
//! timing them.
//!
//! `timer_ops IMPL N [OPS]` fills one implementation (`ours`, `baseline`, `wheel`) with N live
//! timers and runs one window of each row (schedule, cancel, fire) through the same harness as
//! `report` (`eventloop_bench::timers`), with OPS timed operations per window (default 20 000;
//! the cancel window is at least N, so it contains the baseline's compaction). It prints the
//! number of operations of each row as `ROW OPS` lines. The timed parts are exactly the calls
//! of `batch_schedule`, `batch_cancel` and `batch_fire`; under
//! `valgrind --tool=callgrind`, the inclusive instruction count of each ÷ its operations is the
//! instructions per operation, with filling, refills, victim choice and callback boxing
//! (which run in other functions) left out.
//!
//! Why: instruction counts are deterministic, so they show the algorithmic growth from 1k to
//! 1M timers without the cache-miss and noise components of the wall-clock rows.

use std::{env, process};

use eventloop_bench::timers::{
    DEFAULT_OPS, Row, SEED, TimerBench, Timers, TimersVisitor, for_each_timers,
};

struct Run {
    wanted: String,
    n: usize,
    ops: usize,
    ran: bool,
}

impl TimersVisitor for Run {
    fn visit<T: Timers>(&mut self) {
        if self.ran || self.wanted != T::ID {
            return;
        }
        let mut bench = TimerBench::<T>::new(self.n, SEED);
        for row in Row::ALL {
            let measured = bench.run(row, row.window(self.n, self.ops));
            println!("{} {}", row.name(), measured.ops);
        }
        self.ran = true;
    }
}

fn usage() -> ! {
    eprintln!("usage: timer_ops IMPL N [OPS]   (IMPL: ours|baseline|wheel)");
    process::exit(2);
}

fn main() {
    let mut args = env::args().skip(1);
    let Some(wanted) = args.next() else { usage() };
    let parse = |text: Option<String>, default: Option<usize>| -> usize {
        match text {
            None => default.unwrap_or_else(|| usage()),
            Some(text) => text
                .parse()
                .ok()
                .filter(|&n: &usize| n > 0)
                .unwrap_or_else(|| usage()),
        }
    };
    let n = parse(args.next(), None);
    let ops = parse(args.next(), Some(DEFAULT_OPS));
    let mut run = Run {
        wanted,
        n,
        ops,
        ran: false,
    };
    for_each_timers(&mut run);
    if !run.ran {
        eprintln!("timer_ops: unknown implementation {:?}", run.wanted);
        process::exit(2);
    }
}
