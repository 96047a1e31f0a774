//! The simulator's watchdog: one process-wide thread that stops runs past their deadline
//! (`--timeout`) or when an interrupt is requested ([`megaloop::host::interrupt`]).
//!
//! A run registers its [`StopFlag`] with a deadline and unregisters when its lanes return
//! (the [`Watch`] guard); registering costs a lock and a push, so the many short runs of
//! fuzzing and the test suites pay no thread start. Lanes test the flag at every loop
//! iteration ([`crate::exec`]) and leave when it is set.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Why a run was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// It ran past its deadline.
    Timeout,
    /// A stop was requested.
    Interrupt,
}

/// A run's stop flag: lanes read it, the watchdog sets it once.
#[derive(Debug, Default)]
pub struct StopFlag(AtomicU8);

impl StopFlag {
    const RUNNING: u8 = 0;
    const TIMEOUT: u8 = 1;
    const INTERRUPT: u8 = 2;

    /// Stop the run (the first reason given stays).
    pub fn stop(&self, why: Stop) {
        let word = match why {
            Stop::Timeout => Self::TIMEOUT,
            Stop::Interrupt => Self::INTERRUPT,
        };
        let _ = self.0.compare_exchange(Self::RUNNING, word, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Whether the run was stopped.
    #[inline]
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed) != Self::RUNNING
    }

    /// Why the run was stopped, if it was.
    pub fn reason(&self) -> Option<Stop> {
        match self.0.load(Ordering::Relaxed) {
            Self::TIMEOUT => Some(Stop::Timeout),
            Self::INTERRUPT => Some(Stop::Interrupt),
            _ => None,
        }
    }
}

/// How often the watchdog looks at its runs (the resolution of a timeout and how soon an
/// interrupt stops the lanes).
const TICK: Duration = Duration::from_millis(20);

struct Entry {
    id: u64,
    deadline: Instant,
    flag: Arc<StopFlag>,
}

#[derive(Default)]
struct Runs {
    next_id: u64,
    entries: Vec<Entry>,
}

fn runs() -> &'static Mutex<Runs> {
    static RUNS: OnceLock<Mutex<Runs>> = OnceLock::new();
    RUNS.get_or_init(|| {
        // The thread lives as long as the process; if it cannot start, runs simply have
        // no watchdog (said once).
        let started = std::thread::Builder::new().name("megaloop-sim-watchdog".into()).spawn(|| loop {
            std::thread::sleep(TICK);
            let now = Instant::now();
            let interrupted = megaloop::host::interrupt::requested();
            let runs = runs().lock().unwrap_or_else(|e| e.into_inner());
            for e in &runs.entries {
                if interrupted {
                    e.flag.stop(Stop::Interrupt);
                } else if now >= e.deadline {
                    e.flag.stop(Stop::Timeout);
                }
            }
        });
        if let Err(e) = started {
            eprintln!("megaloop: the simulator's watchdog thread could not start ({e}); runs have no timeout");
        }
        Mutex::new(Runs::default())
    })
}

/// A registered run; dropping it unregisters the run.
pub struct Watch {
    id: u64,
}

/// Watch `flag`'s run: stop it once `timeout` has passed or an interrupt is requested.
pub fn watch(flag: Arc<StopFlag>, timeout: Duration) -> Watch {
    let deadline =
        Instant::now().checked_add(timeout).unwrap_or_else(|| Instant::now() + Duration::from_secs(u32::MAX.into()));
    let mut runs = runs().lock().unwrap_or_else(|e| e.into_inner());
    let id = runs.next_id;
    runs.next_id += 1;
    runs.entries.push(Entry { id, deadline, flag });
    Watch { id }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut runs = runs().lock().unwrap_or_else(|e| e.into_inner());
        runs.entries.retain(|e| e.id != self.id);
    }
}
