//! Criterion benchmark: one epoch of the `trivial` workload (1,000,000 NOP slots) on the
//! parallel simulator, once and persistent mode. Each iteration runs on a fresh copy of
//! the published ring; the time includes upload and readback (`megaloop bench` reports
//! lane time separately).

#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use megaloop_sim::{Schedule, SimBackend};

fn trivial(c: &mut Criterion) {
    let slots = 1_000_000;
    let workload = Workload::trivial(slots);
    let mut group = c.benchmark_group("trivial_1M");
    group.sample_size(10).throughput(Throughput::Elements(u64::from(slots)));
    for mode in [Mode::Once, Mode::Persistent] {
        let config = RunConfig::new(mode);
        let geometry = config.geometry(slots).expect("geometry");
        let ring = workload.ring(workload.build_options(mode), config.fuel_for(&geometry)).expect("ring");
        let mut backend = SimBackend::new(Schedule::Parallel);
        group.bench_function(mode.name(), |b| {
            b.iter_batched(
                || ring.clone(),
                |mut r| {
                    let epoch = r.run_epoch(&mut backend, geometry, None).expect("epoch");
                    assert_eq!(epoch.settled, slots);
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, trivial);
criterion_main!(benches);
