//! The worker threads: how many there are, and the one way work is spread
//! over them.
//!
//! Every command that visits many files (scan-trials, status, migrate, list,
//! archive, verify) spreads them over worker threads here and gets the
//! results back in input order: [`map`] and [`join`] on one rayon pool,
//! [`stream`] (results handed on while the next are read, memory flat in the
//! number of items) on a window of threads of its own. `RK_THREADS` sets the number of threads (default: the number
//! of cores, at most 8); `RK_THREADS=1` does all the work on the calling
//! thread, which is how the speed-up from one thread to two is measured.
//!
//! A worker that panics never loses its results quietly: the panic ends the
//! whole map and comes back as [`Panicked`], which fails the command.
//! [`background`] is not a pool: it starts one piece of work beside the
//! calling thread (which that work may spread over the pool), and a panic in
//! it panics the caller at [`Background::wait`], as a direct call would.

use rayon::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

/// The most threads rk starts when `RK_THREADS` does not say.
const DEFAULT_MAX: usize = 8;

/// A worker thread panicked: a bug in rk, reported instead of a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("internal error: a worker thread panicked while {what}; stopped rather than give an incomplete answer")]
pub struct Panicked {
    /// What the workers were doing ("hashing files").
    pub what: &'static str,
}

/// `RK_THREADS` is set but is not a whole number from 1 up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RK_THREADS={0:?} is not a number of threads")]
pub struct BadThreads(pub String);

/// The number of threads `RK_THREADS` asks for, if set; an error when it is
/// set to anything but a whole number from 1 up.
pub fn threads_from_env() -> Result<Option<usize>, BadThreads> {
    crate::environment::whole_number("RK_THREADS", |&n: &usize| n >= 1).map_err(BadThreads)
}

/// The number of worker threads: `RK_THREADS`, else the cores (at most 8).
/// An invalid `RK_THREADS` is refused by the CLI before any work starts; here
/// it falls back to the default.
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        threads_from_env().ok().flatten().unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(DEFAULT_MAX)
        })
    })
}

/// The pool, or `None` when one thread is asked for (or it cannot start).
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let n = threads();
        if n < 2 {
            return None;
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("rk-worker-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Whether work is spread over more than one thread.
pub fn parallel() -> bool {
    pool().is_some()
}

/// `f` on every item, in parallel when there are at least `parallel_from`
/// items; results in the order of `items`. `init` makes each worker's scratch
/// state (a read buffer), handed to `f` with the item.
pub fn map<T, R, S>(
    what: &'static str,
    items: &[T],
    parallel_from: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, &T) -> R + Sync + Send,
) -> Result<Vec<R>, Panicked>
where
    T: Sync,
    R: Send,
{
    let progress = crate::output::pool_items();
    progress.add_total(items.len() as u64);
    let f = |scratch: &mut S, t: &T| {
        let r = f(scratch, t);
        progress.add_done(1);
        r
    };
    guard(what, || match pool() {
        Some(pool) if items.len() >= parallel_from.max(2) => {
            pool.install(|| items.par_iter().map_init(&init, &f).collect())
        }
        _ => {
            let mut scratch = init();
            items.iter().map(|t| f(&mut scratch, t)).collect()
        }
    })
}

/// `f` on `0..n`, handing each result to `each` on the calling thread, in
/// order, as soon as its turn comes (with at least `parallel_from` items, on
/// `threads()` workers of their own).
///
/// Workers take chunks of `CHUNK` consecutive items and stay within a window
/// of `WINDOW` chunks ahead of the calling thread, so memory is flat in `n`
/// and a worker that the machine preempts holds up the others only once the
/// window is full. (A rayon batch-and-barrier version of this loop measured
/// slower on a loaded machine, hence threads of its own.) An error from
/// `each` stops the work and is returned; a panic in `f` stops it too and
/// becomes [`Panicked`].
pub fn stream<R, S, E>(
    what: &'static str,
    n: usize,
    parallel_from: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize) -> R + Sync,
    mut each: impl FnMut(R) -> Result<(), E>,
) -> Result<Result<(), E>, Panicked>
where
    R: Send,
{
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc;
    const CHUNK: usize = 16;
    const WINDOW: usize = 32;
    let progress = crate::output::pool_items();
    progress.add_total(n as u64);
    let f = |scratch: &mut S, i: usize| {
        let r = f(scratch, i);
        progress.add_done(1);
        r
    };
    let workers = threads();
    if workers < 2 || n < parallel_from.max(2) {
        return guard(what, || {
            let mut scratch = init();
            for i in 0..n {
                each(f(&mut scratch, i))?;
            }
            Ok(())
        });
    }
    let chunks = n.div_ceil(CHUNK);
    let next = AtomicUsize::new(0);
    let emitted = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // `None`: the chunk's worker panicked.
        let (tx, rx) = mpsc::sync_channel::<(usize, Option<Vec<R>>)>(WINDOW);
        for _ in 0..workers.min(chunks) {
            let tx = tx.clone();
            let (next, emitted, stop, init, f) = (&next, &emitted, &stop, &init, &f);
            s.spawn(move || {
                let mut scratch = None;
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks {
                        return;
                    }
                    // Stay within the reorder window of the calling thread.
                    while c >= emitted.load(Ordering::Acquire) + WINDOW {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::park_timeout(std::time::Duration::from_micros(100));
                    }
                    let results = catch_unwind(AssertUnwindSafe(|| {
                        let scratch = scratch.get_or_insert_with(init);
                        (c * CHUNK..n.min((c + 1) * CHUNK))
                            .map(|i| f(scratch, i))
                            .collect::<Vec<R>>()
                    }))
                    .ok();
                    let failed = results.is_none();
                    if stop.load(Ordering::Relaxed) || tx.send((c, results)).is_err() || failed {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut slots: Vec<Option<Vec<R>>> = (0..WINDOW).map(|_| None).collect();
        let mut done = 0;
        for (c, results) in rx {
            let Some(results) = results else {
                stop.store(true, Ordering::Relaxed);
                return Err(Panicked { what });
            };
            slots[c % WINDOW] = Some(results);
            while let Some(results) = slots[done % WINDOW].take() {
                done += 1;
                emitted.store(done, Ordering::Release);
                for r in results {
                    if let Err(e) = each(r) {
                        stop.store(true, Ordering::Relaxed);
                        return Ok(Err(e));
                    }
                }
            }
        }
        if done < chunks {
            // Every worker ended without the remaining chunks: never drop them quietly.
            return Err(Panicked { what });
        }
        Ok(Ok(()))
    })
}

/// `a` and `b`, on two threads when the pool has them.
pub fn join<A, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B)
where
    A: Send,
    B: Send,
{
    match pool() {
        Some(pool) => pool.join(a, b),
        None => (a(), b()),
    }
}

/// `work` started on a thread of its own, so that the calling thread can do
/// something else meanwhile (status reads the state, asks git and the
/// scheduler while the trials are scanned); [`Background::wait`] gives its
/// result. With one thread (`RK_THREADS=1`) nothing starts: `work` runs on
/// the calling thread, in `wait`.
pub fn background<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Background<T> {
    if threads() < 2 {
        return Background(Pending::Later(Box::new(work)));
    }
    let handle = std::thread::Builder::new()
        .name("rk-background".into())
        .spawn(work)
        // As `std::thread::spawn` (and the worker pools) would.
        .expect("failed to spawn thread");
    Background(Pending::Started(handle))
}

/// Work started by [`background`].
pub struct Background<T>(Pending<T>);

enum Pending<T> {
    Started(std::thread::JoinHandle<T>),
    Later(Box<dyn FnOnce() -> T + Send>),
}

impl<T> Background<T> {
    /// The work's result, once it is done. A panic in the work panics here,
    /// as it would have had the work run on this thread.
    pub fn wait(self) -> T {
        match self.0 {
            Pending::Started(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Pending::Later(work) => work(),
        }
    }
}

/// Run `work`, turning a panic on any thread of it into [`Panicked`].
fn guard<T>(what: &'static str, work: impl FnOnce() -> T) -> Result<T, Panicked> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|_| Panicked { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_order_and_uses_scratch() {
        let items: Vec<usize> = (0..5000).collect();
        let got = map("testing", &items, 1, Vec::<usize>::new, |seen, i| {
            seen.push(*i);
            i * 2
        })
        .unwrap();
        assert_eq!(got, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_worker_fails_the_map() {
        let items: Vec<usize> = (0..5000).collect();
        let got = map(
            "testing",
            &items,
            1,
            || (),
            |_, i| {
                if *i == 4321 {
                    panic!("worker bug");
                }
                *i
            },
        );
        assert_eq!(got, Err(Panicked { what: "testing" }));
        assert!(got
            .unwrap_err()
            .to_string()
            .contains("panicked while testing"));
    }

    #[test]
    fn background_work_gives_its_result_or_its_panic() {
        let owned = String::from("background");
        let len = background(move || owned.len());
        assert_eq!(len.wait(), 10);
        let bad = background(|| -> i32 { panic!("background bug") });
        let caught = catch_unwind(AssertUnwindSafe(|| bad.wait())).unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"background bug"));
    }

    #[test]
    fn stream_hands_every_result_in_order() {
        for n in [0, 1, 63, 64, 1000, 1025] {
            let mut out = Vec::new();
            let r = stream(
                "testing",
                n,
                64,
                || (),
                |_, i| i,
                |i| {
                    out.push(i);
                    Ok::<(), ()>(())
                },
            );
            assert_eq!(r, Ok(Ok(())));
            assert_eq!(out, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
    }

    #[test]
    fn stream_stops_at_the_first_error_of_each() {
        let mut seen = 0;
        let r = stream(
            "testing",
            10_000,
            64,
            || (),
            |_, i| i,
            |i| {
                seen += 1;
                if i == 250 {
                    Err(i)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r, Ok(Err(250)));
        assert_eq!(seen, 251);
    }

    #[test]
    fn a_panicking_worker_fails_the_stream() {
        let mut out = 0;
        let r = stream(
            "testing",
            5000,
            64,
            || (),
            |_, i| {
                if i == 3210 {
                    panic!("worker bug");
                }
                i
            },
            |_| {
                out += 1;
                Ok::<(), ()>(())
            },
        );
        assert_eq!(r, Err(Panicked { what: "testing" }));
        assert!(out < 5000);
    }
}
