//! The behavioural checks on the wgpu backend (lavapipe in CI), and the simulator and the
//! GPU agreeing on every schedule-independent word of the `mixed` workload in every mode.
//! Skipped, with the reason printed, only where no adapter exists at all.

use megaloop::builder::Mode;
use megaloop::host::runner::{run_workload, RunConfig};
use megaloop::host::workload::Workload;
use megaloop_conformance::behaviour::*;
use megaloop_conformance::snapshot::Snapshot;
use megaloop_gpu::GpuBackend;
use megaloop_sim::{Schedule, SimBackend};

fn gpu() -> Option<GpuBackend> {
    match GpuBackend::new(None) {
        Ok(g) => Some(g),
        Err(e) => {
            println!("SKIPPED: no GPU adapter at all ({e})");
            None
        }
    }
}

fn ok(check: Check) {
    if let Err(e) = check {
        panic!("{e}");
    }
}

/// Left to choose (as `run` and `bench` let it), the backend advises a grid with a reason
/// (host threads on lavapipe, a share of the co-resident workgroups on a GPU), persistent
/// launches stay within the co-resident count, and the drain is complete and trusted.
#[test]
fn gpu_advised_geometry_drains_and_says_why() {
    use megaloop::geometry::GeometryRule;
    use megaloop::host::runner::prepare;
    let Some(mut g) = gpu() else { return };
    for mode in Mode::ALL {
        let mut config = RunConfig::new(mode);
        config.auto_workgroups = true;
        config.max_workgroups = megaloop::geometry::MAX_WORKGROUPS;
        let p = prepare(&Workload::trivial(20_000), &config, &mut g).unwrap();
        let rule = p.geometry_rule;
        match rule {
            GeometryRule::HostThreads { .. } => assert!(!mode.is_persistent(), "{mode:?}: {rule}"),
            GeometryRule::CoResidentShare { co_resident, .. } => {
                assert!(p.geometry.workgroups <= co_resident, "{mode:?}: {:?} for {rule}", p.geometry)
            }
            GeometryRule::WidenedForLoopLimit { .. } => assert!(!mode.is_persistent()),
            other => panic!("{mode:?}: the GPU gave no advice: {other}"),
        }
        if !matches!(rule, GeometryRule::WidenedForLoopLimit { .. }) {
            let one_lane_per_slot = 20_000u32.div_ceil(p.geometry.workgroup_size);
            assert_eq!(p.geometry.workgroups, rule.workgroups().min(one_lane_per_slot), "{mode:?}: {rule}");
        }
        let run = p.drain(&mut g, 64).unwrap();
        assert!(run.trust().is_ok(), "{mode:?} at {:?} ({rule}): {:?}", run.geometry, run.trust().err());
        assert_eq!(run.ring.runnable().unwrap(), 0, "{mode:?} at {:?} ({rule})", run.geometry);
    }
}

/// The heater keeps the device busy for the time asked (and not much longer: no dispatch
/// runs far past its slice).
#[test]
fn gpu_heater_runs_for_the_time_asked() {
    use megaloop::host::Backend;
    use std::time::{Duration, Instant};
    let Some(mut g) = gpu() else { return };
    let start = Instant::now();
    g.heat(Duration::from_millis(100)).unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn gpu_opcode_effects_every_mode() {
    let Some(mut g) = gpu() else { return };
    for mode in Mode::ALL {
        ok(opcode_effects(&mut g, mode));
    }
}

#[test]
fn gpu_exactly_once() {
    let Some(mut g) = gpu() else { return };
    for mode in [Mode::Once, Mode::Persistent] {
        for _ in 0..3 {
            ok(exactly_once(&mut g, mode, 10_000));
        }
    }
}

#[test]
fn gpu_tenant_denial() {
    let Some(mut g) = gpu() else { return };
    for mode in Mode::ALL {
        ok(tenant_denial(&mut g, mode));
    }
}

#[test]
fn gpu_priority_shutdown_drain_fuel() {
    let Some(mut g) = gpu() else { return };
    ok(priority_and_starvation(&mut g, 4));
    ok(shutdown_ends_epoch(&mut g));
    for mode in [Mode::Persistent, Mode::Priority] {
        ok(drain_target_and_fuel(&mut g, mode));
    }
}

#[test]
fn gpu_and_simulator_agree_on_mixed() {
    let Some(mut g) = gpu() else { return };
    let w = Workload::mixed(200);
    for mode in Mode::ALL {
        let config = RunConfig::new(mode);
        let sim = run_workload(&w, &mut SimBackend::new(Schedule::Parallel), &config).unwrap();
        let dev = run_workload(&w, &mut g, &config).unwrap();
        assert_eq!(Snapshot::of(&dev.ring).unwrap(), Snapshot::of(&sim.ring).unwrap(), "{mode:?}: gpu and sim differ");
        assert_eq!(dev.ring.runnable().unwrap(), 0);
    }
}

#[test]
fn gpu_timeout_is_an_error_and_leaves_host_buffers_untouched() {
    let Some(mut g) = gpu() else { return };
    // A long once-mode run with a timeout far shorter than it.
    let w = Workload::trivial(200_000);
    let config = RunConfig::new(Mode::Once);
    let p = megaloop::host::runner::prepare(&w, &config, &mut g).unwrap();
    let mut buffers = p.ring.buffers().to_vec();
    let before = buffers.clone();
    g.timeout = std::time::Duration::from_micros(1);
    use megaloop::host::Backend;
    match g.run(p.ring.program(), p.geometry, &mut buffers, None) {
        Err(megaloop::host::BackendError::Timeout(t)) => assert_eq!(t, std::time::Duration::from_micros(1)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(buffers, before, "a failed run must not touch the host's buffers");
}

#[test]
fn gpu_io_bad_inputs_and_writes() {
    let Some(mut g) = gpu() else { return };
    for mode in [Mode::Once, Mode::Persistent] {
        ok(io_bad_inputs(&mut g, mode));
        ok(io_write_and_fence(&mut g, mode));
    }
}
