//! `native-runtime`: a second, independent implementation of megaloop's megakernel
//! protocol (specs/protocol.md part 2) in plain Rust, std threads as lanes and std atomics
//! as memory, that speaks the engine protocol (part 3) on stdin and stdout. It is the
//! worked example of checking your own runtime:
//!
//! ```text
//! megaloop conformance --engine exec:target/release/native-runtime
//! megaloop mutants --engine exec:target/release/native-runtime
//! ```
//!
//! It declares what it runs (every mode, user handlers, which it interprets, and the
//! device side of IO; not plain IR programs) and two fault switches,
//! `trusting-claim` and `unbounded-tenant`, that `megaloop mutants` turns on to show the
//! corpus catches them.

mod interp;
mod kernel;

use kernel::{Fault, Memory, Run};
use megaloop::builder::Mode;
use megaloop::host::engine_protocol::{
    decode_words, encode_words, Capabilities, Hello, Request, Response, RunRequest, ENGINE_PROTOCOL_VERSION,
};
use std::io::{BufRead, Write};
use std::time::Instant;

/// The most workgroups of a persistent launch: each lane is an OS thread.
const MAX_WORKGROUPS: u32 = 16;

fn capabilities() -> Capabilities {
    Capabilities {
        modes: Mode::ALL.to_vec(),
        io: true,
        user_handlers: true,
        programs: false,
        max_slots: 1 << 22,
        workgroup_sizes: vec![],
        max_workgroups: MAX_WORKGROUPS,
        faults: Fault::ALL.iter().map(|(name, _)| name.to_string()).collect(),
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    let mut fault = None;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(Request::Hello { protocol, fault: switch }) => {
                match switch.as_deref().map(|name| Fault::ALL.iter().find(|(n, _)| *n == name)) {
                    Some(None) => {
                        Response::Error { message: format!("no fault switch `{}`", switch.unwrap_or_default()) }
                    }
                    found => {
                        fault = found.flatten().map(|(_, f)| *f);
                        if protocol != ENGINE_PROTOCOL_VERSION {
                            eprintln!("native-runtime: megaloop speaks engine protocol {protocol}, this runtime {ENGINE_PROTOCOL_VERSION}");
                        }
                        Response::Hello(Hello {
                            protocol: ENGINE_PROTOCOL_VERSION,
                            name: format!("native-runtime {}", env!("CARGO_PKG_VERSION")),
                            capabilities: capabilities(),
                        })
                    }
                }
            }
            Ok(Request::Run(request)) => run(&request, fault),
            Err(e) => Response::Error { message: format!("a request the engine protocol does not allow: {e}") },
        };
        let Ok(mut text) = serde_json::to_string(&answer) else { return };
        text.push('\n');
        if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_err() {
            return;
        }
    }
}

/// One epoch: decline what this runtime does not run, else run every lane and answer the
/// final words.
fn run(request: &RunRequest, fault: Option<Fault>) -> Response {
    let Some(kernel) = &request.kernel else {
        return Response::Declined { reason: "plain IR programs: this runtime runs only the megakernel".into() };
    };
    let mut buffers = Vec::with_capacity(request.buffers.len());
    for b in &request.buffers {
        match decode_words(&b.words) {
            Ok(words) => buffers.push(words),
            Err(e) => return Response::Error { message: format!("buffer `{}`: {e}", b.name) },
        }
    }
    if request.geometry.workgroup_size == 0 || request.geometry.workgroups == 0 {
        return Response::Error { message: format!("no lanes to run: {:?}", request.geometry) };
    }
    let lanes = request.geometry.workgroups.saturating_mul(request.geometry.workgroup_size);
    if kernel.mode.is_persistent() && request.geometry.workgroups > MAX_WORKGROUPS {
        return Response::Declined {
            reason: format!("{} workgroups (at most {MAX_WORKGROUPS})", request.geometry.workgroups),
        };
    }
    let memory = Memory::new(&buffers);
    let start = Instant::now();
    let buffer_names: Vec<String> = request.buffers.iter().map(|b| b.name.clone()).collect();
    let outcome = Run {
        kernel,
        memory: &memory,
        buffer_names: &buffer_names,
        lanes,
        workgroup_size: request.geometry.workgroup_size,
        fault,
        failure: Default::default(),
    }
    .run();
    let device_time_ns = Some(start.elapsed().as_nanos() as u64);
    match outcome {
        Ok(outcome) => Response::Ran {
            buffers: memory.into_words().iter().map(|w| encode_words(w)).collect(),
            outcome,
            device_time_ns,
        },
        Err(message) => Response::Error { message },
    }
}
