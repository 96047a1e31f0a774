//! Seeded, shrinkable generators of differential cases: random valid workloads and
//! random deterministic user handlers, as proptest strategies. They work inside
//! proptest (shrinking included) and outside it: [`Case::from_seed`] draws one case from
//! a seed, which is how the CLI, the fuzz targets and the tests reproduce a case.

mod handler;
pub mod layout;
mod workload;

pub use handler::handler;
pub use workload::{overflowing, workload, FIRST_USER_OPCODE, PRINTF_BURST, SLOT_COUNTS, SMALL_IO_QUEUE};

use megaloop::builder::Mode;
use megaloop::host::runner::RunConfig;
use megaloop::host::workload::Workload;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::{Deserialize, Serialize};

pub use crate::vectors::InitialStatus;
use std::path::Path;

/// One differential case: a workload, the mode and the launch shape to run it with.
/// Saved as JSON, it is the replayable file `megaloop diff --workload FILE` takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The seed it was drawn from, when it was.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Execution mode.
    pub mode: Mode,
    /// Lanes per workgroup.
    pub workgroup_size: u32,
    /// Most workgroups.
    pub workgroups: u32,
    /// The workload.
    pub workload: Workload,
    /// Raw statuses set after publishing (slot streams start from any status).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initial_status: Vec<InitialStatus>,
    /// Persistent fuel per lane per epoch (default: derived from the ring size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u32>,
    /// Most epochs of the drain (default: the runner's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epochs: Option<u32>,
}

/// A random case; one in [`OVERFLOWING_ONE_IN`] is made to overflow the IO queue and the
/// debug log ([`overflowing`]), so the main stream crosses the bounded resources too.
pub fn case() -> impl Strategy<Value = Case> {
    let overflow = proptest::bool::weighted(1.0 / f64::from(OVERFLOWING_ONE_IN));
    (select(Mode::ALL.to_vec()), select(vec![8u32, 64]), 1u32..=4, workload(), overflow).prop_map(
        |(mode, workgroup_size, workgroups, workload, overflow)| Case {
            seed: None,
            mode,
            workgroup_size,
            workgroups,
            workload: if overflow { overflowing(workload) } else { workload },
            initial_status: vec![],
            fuel: None,
            max_epochs: None,
        },
    )
}

/// One generated case in this many overflows the bounded resources.
pub const OVERFLOWING_ONE_IN: u32 = 10;

/// A deterministic proptest runner for `seed` (ChaCha, so the stream is stable across
/// platforms and proptest versions that keep the algorithm).
pub fn runner(seed: u64, cases: u32) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

impl Case {
    /// The case drawn from `seed`.
    pub fn from_seed(seed: u64) -> Case {
        let mut runner = runner(seed, 1);
        let mut case = match case().new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            // The strategies above never reject.
            Err(reason) => unreachable!("case generation rejected: {reason}"),
        };
        case.seed = Some(seed);
        case.workload.name = format!("generated-seed-{seed}");
        case
    }

    /// The run configuration the case names.
    pub fn config(&self) -> RunConfig {
        let mut c = RunConfig::new(self.mode);
        c.workgroup_size = self.workgroup_size;
        c.max_workgroups = self.workgroups;
        c.fuel = self.fuel;
        if let Some(max_epochs) = self.max_epochs {
            c.max_epochs = max_epochs;
        }
        c
    }

    /// Read a case file.
    pub fn from_file(path: &Path) -> Result<Case, String> {
        let text = megaloop::json::read_document(path).map_err(|e| format!("cannot read: {e}"))?;
        megaloop::json::from_str(&text).map_err(|e| format!("{} is not a case file: {e}", path.display()))
    }

    /// Write the case as JSON into `dir`, returning the path.
    pub fn save(&self, dir: &Path) -> std::io::Result<std::path::PathBuf> {
        std::fs::create_dir_all(dir)?;
        let name = match self.seed {
            Some(seed) => format!("case-seed-{seed}.json"),
            None => format!("case-{}.json", self.workload.name),
        };
        let path = dir.join(name);
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, json)?;
        Ok(path)
    }
}
