//! The engine protocol's messages (specs/protocol.md part 3): how megaloop hands one
//! epoch to an external megakernel runtime and reads its answer. One JSON object per
//! line each way; buffers travel as their words little-endian, base64-encoded.
//!
//! megaloop's side (the `exec:` engine) lives in the conformance crate; an external
//! runtime written in Rust may use these types to speak the protocol (the
//! `examples/native-runtime` one does), a runtime in another language follows part 3.

use crate::builder::{BuildOptions, Mode};
use crate::host::Outcome;
use crate::ir::{Program, WordRange};
use crate::protocol::error::{words_from_le_bytes, words_to_le_bytes};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const ENGINE_PROTOCOL_VERSION: u32 = 1;

/// A message from megaloop to the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The first message: the version, and the engine's own fault switch to turn on
    /// (`megaloop mutants` starts one process per fault the engine declares).
    Hello {
        /// [`ENGINE_PROTOCOL_VERSION`].
        protocol: u32,
        /// One of the engine's declared `faults`, or none.
        #[serde(default)]
        fault: Option<String>,
    },
    /// Run one epoch.
    Run(Box<RunRequest>),
}

/// One epoch for the engine to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// What megaloop is running, for the engine's own logs (`opcode/nop [once]`, or a
    /// generated case's name).
    pub case: String,
    /// The megakernel the program was built as (mode, ring size, layout, user handlers),
    /// or `None` for a plain IR program (engines that declare `programs` run those).
    pub kernel: Option<BuildOptions>,
    /// Lanes per workgroup and workgroups to launch; `slots` is the ring's slot count.
    pub geometry: crate::geometry::Geometry,
    /// A number naming the program for the life of the process: equal ids, equal programs.
    pub program_id: u64,
    /// The program as IR JSON, sent with the first request of its id to an engine that
    /// declares `programs` (and never to one that does not).
    #[serde(default)]
    pub program: Option<Program>,
    /// Every buffer in binding order, with its initial words.
    pub buffers: Vec<WireBuffer>,
}

/// One buffer of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireBuffer {
    /// Its name in the program (`control`, `ring`, `heap`, `io_queue`, `debug_log`).
    pub name: String,
    /// Its binding.
    pub binding: u32,
    /// Its words, little-endian, base64 (standard alphabet, padded).
    pub words: String,
    /// The words megaloop reads back after the run (the engine may answer only these; the
    /// rest of its answer is ignored).
    pub readback: Option<WordRange>,
}

/// A message from the engine to megaloop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// The answer to `hello`.
    Hello(Hello),
    /// The epoch ran: every buffer's final words, in the request's order.
    Ran {
        /// Final words per buffer, encoded as in the request.
        buffers: Vec<String>,
        /// Lanes out of fuel, lanes cut off, or completed.
        outcome: Outcome,
        /// How long the lanes ran, in nanoseconds, if the engine measured it.
        #[serde(default)]
        device_time_ns: Option<u64>,
    },
    /// The engine cannot run this epoch (a mode, a size, a feature it lacks): a Skip, never
    /// a pass.
    Declined {
        /// Why.
        reason: String,
    },
    /// The engine failed to run the epoch.
    Error {
        /// What went wrong.
        message: String,
    },
}

/// What an engine is and can run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// [`ENGINE_PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The engine's name and version, for reports.
    pub name: String,
    /// What it can run.
    pub capabilities: Capabilities,
}

/// What an engine declares it can run; megaloop declines, as a Skip, every run outside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// The modes it runs.
    pub modes: Vec<Mode>,
    /// Whether it runs LOAD_MISS and user handlers with IO (the device side of 2.8).
    #[serde(default)]
    pub io: bool,
    /// Whether it runs user handlers (IR blocks, in the kernel's `user_handlers`).
    #[serde(default)]
    pub user_handlers: bool,
    /// Whether it runs plain IR programs without a kernel (`kernel: null`).
    #[serde(default)]
    pub programs: bool,
    /// The largest ring it runs, in slots.
    pub max_slots: u32,
    /// The workgroup sizes it runs (empty: any the IR allows).
    #[serde(default)]
    pub workgroup_sizes: Vec<u32>,
    /// The most workgroups of a persistent launch whose lanes all make progress.
    pub max_workgroups: u32,
    /// The engine's own fault switches, for `megaloop mutants`.
    #[serde(default)]
    pub faults: Vec<String>,
}

impl Capabilities {
    /// Why a kernel of `options` on `geometry` is outside these capabilities, if it is.
    pub fn declines(&self, kernel: Option<&BuildOptions>, geometry: &crate::geometry::Geometry) -> Option<String> {
        if !self.workgroup_sizes.is_empty() && !self.workgroup_sizes.contains(&geometry.workgroup_size) {
            return Some(format!(
                "workgroup size {} (the engine runs {:?})",
                geometry.workgroup_size, self.workgroup_sizes
            ));
        }
        let Some(kernel) = kernel else {
            return (!self.programs).then(|| "plain IR programs (the engine declares no `programs`)".to_string());
        };
        if !self.modes.contains(&kernel.mode) {
            let runs: Vec<&str> = self.modes.iter().map(|m| m.name()).collect();
            return Some(format!("{} mode (the engine runs {})", kernel.mode.name(), runs.join(", ")));
        }
        if kernel.slots > self.max_slots {
            return Some(format!("{} slots (the engine runs at most {})", kernel.slots, self.max_slots));
        }
        if !kernel.user_handlers.is_empty() && !self.user_handlers {
            return Some("user handlers (the engine declares no `user_handlers`)".to_string());
        }
        None
    }

    /// Why one epoch (a kernel of `kernel` on `geometry` with these initial `buffers`) is
    /// outside these capabilities, if it is: [`Capabilities::declines`], and IO (a ring
    /// with a LOAD_MISS slot, or a user handler that requests IO) for an engine that
    /// declares no `io`.
    pub fn declines_epoch(
        &self,
        kernel: Option<&BuildOptions>,
        geometry: &crate::geometry::Geometry,
        buffers: &[Vec<u32>],
    ) -> Option<String> {
        self.declines(kernel, geometry).or_else(|| {
            let kernel = kernel?;
            (!self.io && requests_io(kernel, buffers))
                .then(|| "IO (LOAD_MISS or a user handler's IO; the engine declares no `io`)".to_string())
        })
    }
}

/// Whether an epoch of `kernel` with these initial `buffers` may request IO: its ring
/// holds a LOAD_MISS slot, or one of its user handlers requests IO.
fn requests_io(kernel: &BuildOptions, buffers: &[Vec<u32>]) -> bool {
    use crate::host::io::buffer_index::RING;
    use crate::protocol::layout::{SLOT_OPCODE, SLOT_WORDS};
    let ring = buffers.get(RING).map_or(&[][..], Vec::as_slice);
    kernel.user_handlers.iter().any(|h| h.io.is_some())
        || ring
            .chunks(SLOT_WORDS as usize)
            .any(|slot| slot.get(SLOT_OPCODE as usize) == Some(&crate::protocol::opcode::LOAD_MISS))
}

/// Words as the protocol sends them: little-endian, base64.
pub fn encode_words(words: &[u32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(words_to_le_bytes(words))
}

/// Words from their protocol form, or what is wrong with it.
pub fn decode_words(text: &str) -> Result<Vec<u32>, String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| format!("not base64: {e}"))?;
    words_from_le_bytes("buffer", &bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_little_endian() {
        let words = [0, 1, 0xDEAD_BEEF, u32::MAX];
        let text = encode_words(&words);
        assert_eq!(decode_words(&text).unwrap(), words);
        assert_eq!(encode_words(&[1]), "AQAAAA==", "little-endian bytes 01 00 00 00");
        assert!(decode_words("AQAA").unwrap_err().contains("3 bytes"));
        assert!(decode_words("!!").unwrap_err().contains("base64"));
    }

    #[test]
    fn messages_read_as_the_spec_writes_them() {
        let hello: Request = serde_json::from_str(r#"{"hello":{"protocol":1}}"#).unwrap();
        assert_eq!(hello, Request::Hello { protocol: 1, fault: None });
        let ran: Response = serde_json::from_str(r#"{"ran":{"buffers":["AQAAAA=="],"outcome":"completed"}}"#).unwrap();
        assert!(matches!(ran, Response::Ran { outcome: Outcome::Completed, .. }));
        let fuel: Response = serde_json::from_str(
            r#"{"ran":{"buffers":[],"outcome":{"fuel_exhausted":{"lanes":[{"lane":3,"loop_path":"lane loop"}]}}}}"#,
        )
        .unwrap();
        assert!(matches!(fuel, Response::Ran { outcome: Outcome::FuelExhausted { .. }, .. }));
        assert!(serde_json::from_str::<Response>(r#"{"ran":{"buffers":[],"outcome":"completed","extra":1}}"#).is_err());
    }
}
