//! What every bench target shares: criterion's configuration for the quick runs of
//! `scripts/bench.sh` (the knobs that set the workload sizes are the targets' own).

use std::time::Duration;

use criterion::Criterion;

/// Short warm-up and measurement: enough for the medians the reports print, on a noisy machine.
pub fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}
