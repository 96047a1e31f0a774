//! The `exec:COMMAND` engine: an external megakernel runtime in a subprocess, speaking the
//! engine protocol (specs/protocol.md part 3) on its stdin and stdout. One process serves
//! every epoch and case; a process that dies, hangs past the timeout or answers what the
//! protocol does not allow is a clear error naming the engine, never a hang or a panic,
//! and the next run starts a fresh process.

use megaloop::builder::BuildOptions;
use megaloop::geometry::Geometry;
use megaloop::host::engine_protocol::{
    decode_words, encode_words, Capabilities, Hello, Request, Response, RunRequest, WireBuffer, ENGINE_PROTOCOL_VERSION,
};
use megaloop::host::{check_buffers, Backend, BackendError, HostService, RunReport, DEFAULT_RUN_TIMEOUT};
use megaloop::ir::ValidProgram;
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an engine may take to answer `hello`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest line an engine may answer (a ring of 2^22 slots fits with room to spare).
const MAX_LINE_BYTES: u64 = 1 << 30;
/// How much of the engine's stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 4096;

/// One running engine process.
struct Process {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Result<String, String>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    /// Program ids whose IR this process has been sent.
    programs_sent: HashSet<u64>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An external runtime as a [`Backend`].
pub struct ExecBackend {
    /// The shell command that starts the engine.
    command: String,
    /// The engine's own fault switch turned on, if any.
    fault: Option<String>,
    hello: Hello,
    process: Option<Process>,
    timeout: Duration,
    runs: u64,
}

impl ExecBackend {
    /// Start `command` (run by `sh -c`) and shake hands, turning on its fault switch
    /// `fault` if given (it must be one the engine declares).
    pub fn start(command: &str, fault: Option<&str>) -> Result<ExecBackend, String> {
        let mut process = spawn(command)?;
        let hello = handshake(command, &mut process, fault)?;
        if let Some(f) = fault {
            if !hello.capabilities.faults.iter().any(|d| d == f) {
                return Err(format!(
                    "engine `exec:{command}` declares no fault `{f}` (it declares {:?})",
                    hello.capabilities.faults
                ));
            }
        }
        Ok(ExecBackend {
            command: command.to_string(),
            fault: fault.map(str::to_string),
            hello,
            process: Some(process),
            timeout: DEFAULT_RUN_TIMEOUT,
            runs: 0,
        })
    }

    /// The engine's capabilities.
    pub fn capabilities(&self) -> &Capabilities {
        &self.hello.capabilities
    }

    fn engine(&self) -> String {
        format!("engine `exec:{}`", self.command)
    }

    /// The running process, started afresh if the last one failed.
    fn process(&mut self) -> Result<&mut Process, BackendError> {
        if self.process.is_none() {
            let mut process = spawn(&self.command).map_err(BackendError::External)?;
            let hello =
                handshake(&self.command, &mut process, self.fault.as_deref()).map_err(BackendError::External)?;
            if hello.capabilities != self.hello.capabilities {
                return Err(BackendError::External(format!(
                    "{} restarted with other capabilities than it first declared",
                    self.engine()
                )));
            }
            self.process = Some(process);
        }
        Ok(self.process.as_mut().expect("started above"))
    }

    fn exchange(
        &mut self,
        kernel: Option<&BuildOptions>,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
    ) -> Result<RunReport, BackendError> {
        check_buffers(program, buffers)?;
        if let Some(reason) = self.hello.capabilities.declines_epoch(kernel, &geometry, buffers) {
            return Err(BackendError::Declined(reason));
        }
        let engine = self.engine();
        let programs = self.hello.capabilities.programs;
        let timeout = self.timeout;
        self.runs += 1;
        let case = format!("{} (run {})", program.name, self.runs);
        let process = self.process()?;
        let send_program = programs && process.programs_sent.insert(program.key());
        let request = Request::Run(Box::new(RunRequest {
            case: case.clone(),
            kernel: kernel.cloned(),
            geometry,
            program_id: program.key(),
            program: send_program.then(|| program.program().clone()),
            buffers: program
                .buffers
                .iter()
                .zip(buffers.iter())
                .map(|(decl, words)| WireBuffer {
                    name: decl.name.clone(),
                    binding: decl.binding,
                    words: encode_words(words),
                    readback: decl.readback,
                })
                .collect(),
        }));
        let start = Instant::now();
        let answer = send(process, &request).and_then(|()| receive(process, timeout));
        let answer = match answer {
            Ok(answer) => answer,
            Err(failure) => {
                let stderr = stderr_tail(process);
                // The process is in an unknown state: the next run starts a fresh one.
                self.process = None;
                return Err(match failure {
                    Failure::Timeout => BackendError::Timeout(timeout),
                    Failure::Broken(why) => BackendError::External(format!("{engine}, {case}: {why}{stderr}")),
                });
            }
        };
        let elapsed = start.elapsed();
        match answer {
            Response::Ran { buffers: words, outcome, device_time_ns } => {
                let decoded = decode_answer(&words, program, buffers)
                    .map_err(|why| BackendError::External(format!("{engine}, {case}: {why}")))?;
                for ((decl, host), answer) in program.buffers.iter().zip(buffers.iter_mut()).zip(decoded) {
                    if let Some(range) = decl.readback {
                        let range = range.start as usize..range.end as usize;
                        host[range.clone()].copy_from_slice(&answer[range]);
                    }
                }
                Ok(RunReport { outcome, elapsed, device_time: device_time_ns.map(Duration::from_nanos) })
            }
            Response::Declined { reason } => Err(BackendError::Declined(reason)),
            Response::Error { message } => Err(BackendError::External(format!("{engine}, {case}: {message}"))),
            Response::Hello(_) => {
                self.process = None;
                Err(BackendError::External(format!("{engine}, {case}: answered a run with `hello`")))
            }
        }
    }
}

/// Every answered buffer decoded and checked against the request's sizes.
fn decode_answer(words: &[String], program: &ValidProgram, buffers: &[Vec<u32>]) -> Result<Vec<Vec<u32>>, String> {
    if words.len() != buffers.len() {
        return Err(format!("answered {} buffers, the run has {}", words.len(), buffers.len()));
    }
    program
        .buffers
        .iter()
        .zip(words)
        .zip(buffers)
        .map(|((decl, text), sent)| {
            let answer = decode_words(text).map_err(|e| format!("buffer `{}`: {e}", decl.name))?;
            if answer.len() != sent.len() {
                return Err(format!("buffer `{}`: answered {} words, it has {}", decl.name, answer.len(), sent.len()));
            }
            Ok(answer)
        })
        .collect()
}

/// Why an exchange with the process failed.
enum Failure {
    Timeout,
    Broken(String),
}

fn spawn(command: &str) -> Result<Process, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start engine `exec:{command}`: {e}"))?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let stderr_pipe = child.stderr.take().expect("piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = Vec::new();
            let read = (&mut reader).take(MAX_LINE_BYTES).read_until(b'\n', &mut line);
            let item = match read {
                Ok(0) => Err("the engine closed its stdout (it exited?)".to_string()),
                Ok(_) if !line.ends_with(b"\n") && line.len() as u64 >= MAX_LINE_BYTES => {
                    Err(format!("the engine answered a line longer than {MAX_LINE_BYTES} bytes"))
                }
                Ok(_) => {
                    String::from_utf8(line).map_err(|_| "the engine answered a line that is not UTF-8".to_string())
                }
                Err(e) => Err(format!("reading the engine's stdout: {e}")),
            };
            let last = item.is_err();
            if tx.send(item).is_err() || last {
                return;
            }
        }
    });
    let stderr = Arc::new(Mutex::new(VecDeque::new()));
    let tail = Arc::clone(&stderr);
    std::thread::spawn(move || {
        let mut pipe = stderr_pipe;
        let mut chunk = [0u8; 1024];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                return;
            }
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            tail.extend(&chunk[..n]);
            let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
            tail.drain(..excess);
        }
    });
    Ok(Process { child, stdin, lines, stderr, programs_sent: HashSet::new() })
}

fn handshake(command: &str, process: &mut Process, fault: Option<&str>) -> Result<Hello, String> {
    let engine = format!("engine `exec:{command}`");
    let hello = Request::Hello { protocol: ENGINE_PROTOCOL_VERSION, fault: fault.map(str::to_string) };
    let answer = send(process, &hello).and_then(|()| receive(process, HELLO_TIMEOUT));
    let answer = answer.map_err(|failure| match failure {
        Failure::Timeout => format!("{engine} did not answer `hello` within {HELLO_TIMEOUT:?}"),
        Failure::Broken(why) => format!("{engine}, hello: {why}{}", stderr_tail(process)),
    })?;
    match answer {
        Response::Hello(hello) if hello.protocol == ENGINE_PROTOCOL_VERSION => Ok(hello),
        Response::Hello(hello) => Err(format!(
            "{engine} speaks engine protocol {}, this megaloop speaks {ENGINE_PROTOCOL_VERSION}",
            hello.protocol
        )),
        other => Err(format!("{engine} answered `hello` with {other:?}")),
    }
}

fn send(process: &mut Process, request: &Request) -> Result<(), Failure> {
    let mut line = serde_json::to_vec(request).map_err(|e| Failure::Broken(format!("encoding the request: {e}")))?;
    line.push(b'\n');
    process
        .stdin
        .write_all(&line)
        .and_then(|()| process.stdin.flush())
        .map_err(|e| Failure::Broken(format!("writing to the engine: {e}")))
}

fn receive(process: &mut Process, timeout: Duration) -> Result<Response, Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if megaloop::host::interrupt::requested() {
            return Err(Failure::Broken("interrupted".into()));
        }
        // Short waits, so an interrupt is seen while a slow engine runs.
        let line = match process.lines.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(Ok(line)) => line,
            Ok(Err(why)) => return Err(Failure::Broken(exit_note(process, why))),
            Err(RecvTimeoutError::Timeout) if left.is_zero() => return Err(Failure::Timeout),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Failure::Broken(exit_note(process, "the engine's stdout ended".into())))
            }
        };
        return serde_json::from_str(line.trim_end()).map_err(|e| {
            let shown: String = line.chars().take(200).collect();
            Failure::Broken(format!("answered what the engine protocol does not allow ({e}): `{}`", shown.trim_end()))
        });
    }
}

/// `why`, with the process's exit status when it has exited.
fn exit_note(process: &mut Process, why: String) -> String {
    // Give an exiting process a moment to be reaped, so its status can be named.
    for _ in 0..20 {
        if let Ok(Some(status)) = process.child.try_wait() {
            return format!("{why}; it exited with {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    why
}

fn stderr_tail(process: &Process) -> String {
    let tail = process.stderr.lock().unwrap_or_else(|e| e.into_inner());
    let bytes: Vec<u8> = tail.iter().copied().collect();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if text.is_empty() {
        String::new()
    } else {
        format!("; the end of its stderr:\n{text}")
    }
}

impl Backend for ExecBackend {
    fn name(&self) -> String {
        match &self.fault {
            Some(f) => format!("exec:{} ({}, fault {f})", self.command, self.hello.name),
            None => format!("exec:{} ({})", self.command, self.hello.name),
        }
    }

    fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// A failed process was dropped; the next run starts a fresh one. The failed epoch is
    /// not run again: an engine that died or hung on it would again.
    fn recover(&mut self, _error: &BackendError) -> Result<bool, BackendError> {
        Ok(false)
    }

    fn co_resident_workgroups(&mut self, _workgroup_size: u32) -> Result<Option<u32>, BackendError> {
        Ok(Some(self.hello.capabilities.max_workgroups))
    }

    fn run(
        &mut self,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        _service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        self.exchange(None, program, geometry, buffers)
    }

    fn run_kernel(
        &mut self,
        kernel: &BuildOptions,
        program: &ValidProgram,
        geometry: Geometry,
        buffers: &mut [Vec<u32>],
        _service: Option<&mut dyn HostService>,
    ) -> Result<RunReport, BackendError> {
        self.exchange(Some(kernel), program, geometry, buffers)
    }
}
