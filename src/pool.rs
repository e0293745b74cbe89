//! The worker threads: how many there are, and the one way work is spread
//! over them.
//!
//! Every command that visits many files (scan-trials, status, migrate, list,
//! archive, verify) maps them on one rayon pool and gets the results back in
//! input order. `RK_THREADS` sets the number of threads (default: the number
//! of cores, at most 8); `RK_THREADS=1` does all the work on the calling
//! thread, which is how the speed-up from one thread to two is measured.
//!
//! A worker that panics never loses its results quietly: the panic ends the
//! whole map and comes back as [`Panicked`], which fails the command.

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

impl From<Panicked> for crate::error::Error {
    fn from(e: Panicked) -> Self {
        crate::error::Error::usage(
            e,
            Some("this is a bug in rk: please report it with the panic message above".into()),
        )
    }
}

/// `RK_THREADS` is set but is not a whole number from 1 up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RK_THREADS={0:?} is not a number of threads")]
pub struct BadThreads(pub String);

/// The number of threads `RK_THREADS` asks for, if set; an error when it is
/// set to anything but a whole number from 1 up.
pub fn threads_from_env() -> Result<Option<usize>, BadThreads> {
    match std::env::var_os("RK_THREADS") {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => {
            let text = v.to_string_lossy();
            match text.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => Err(BadThreads(text.into_owned())),
            }
        }
    }
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

/// `f` on `0..n` in batches of `batch`, handing each result to `each` on the
/// calling thread in order, as soon as its batch is done. The next batch is
/// computed while `each` consumes the current one, so at most two batches of
/// results are held, whatever `n` is. An error from `each` stops the work
/// (after the batch in flight) and is returned.
pub fn stream<R, S, E>(
    what: &'static str,
    n: usize,
    batch: usize,
    parallel_from: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, usize) -> R + Sync + Send,
    mut each: impl FnMut(R) -> Result<(), E>,
) -> Result<Result<(), E>, Panicked>
where
    R: Send,
{
    let pool = match pool() {
        Some(pool) if n >= parallel_from.max(2) => pool,
        _ => {
            return guard(what, || {
                let mut scratch = init();
                for i in 0..n {
                    each(f(&mut scratch, i))?;
                }
                Ok(())
            })
        }
    };
    let batch = batch.max(1);
    let compute = |start: usize| -> Vec<R> {
        (start..n.min(start + batch))
            .into_par_iter()
            .map_init(&init, &f)
            .collect()
    };
    guard(what, || {
        let mut current = pool.install(|| compute(0));
        let mut start = batch;
        loop {
            let mut next = Vec::new();
            let mut failed = None;
            pool.in_place_scope(|s| {
                if start < n {
                    s.spawn(|_| next = compute(start));
                }
                for r in current.drain(..) {
                    if let Err(e) = each(r) {
                        failed = Some(e);
                        break;
                    }
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            if start >= n {
                return Ok(());
            }
            current = next;
            start += batch;
        }
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
    fn stream_hands_every_result_in_order() {
        for n in [0, 1, 63, 64, 1000, 1025] {
            let mut out = Vec::new();
            let r = stream(
                "testing",
                n,
                100,
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
            100,
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
            100,
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
