//! The one progress bar: on stderr, only when stderr is a terminal, and only
//! once the work has taken more than a second. Library code counts into an
//! [`output::Progress`](crate::output::Progress); this draws it.

use crate::output::{Progress, Unit};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Run `work`, drawing `progress` on stderr while it runs.
pub fn with_progress<T>(progress: &Progress, work: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        let finished = &finished;
        s.spawn(move || {
            let start = Instant::now();
            let mut drawn = false;
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if start.elapsed() < Duration::from_secs(1) {
                    continue;
                }
                eprint!("\r{}", line(progress));
                drawn = true;
            }
            if drawn {
                eprint!("\r\x1b[K");
            }
        });
        let result = work();
        finished.store(true, Ordering::Relaxed);
        result
    })
}

/// `███░░░  42% 120 / 288 MiB`, or `… 42% 420 / 1000` for items.
fn line(progress: &Progress) -> String {
    let total = progress.total.load(Ordering::Relaxed).max(1);
    let done = progress.done.load(Ordering::Relaxed).min(total);
    let width = 30;
    let filled = (done * width / total) as usize;
    let amount = match progress.unit {
        Unit::Bytes => format!("{} / {} MiB", done >> 20, total >> 20),
        Unit::Items => format!("{done} / {total}"),
    };
    format!(
        "{}{} {:>3}% {amount}",
        "█".repeat(filled),
        "░".repeat(width as usize - filled),
        done * 100 / total,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_mib_for_bytes_and_counts_items() {
        let bytes = Progress::default();
        bytes.add_total(300 << 20);
        bytes.add_done(150 << 20);
        assert!(
            line(&bytes).ends_with(" 50% 150 / 300 MiB"),
            "{}",
            line(&bytes)
        );
        let items = Progress::items();
        items.add_total(1000);
        items.add_done(420);
        assert!(
            line(&items).ends_with(" 42% 420 / 1000"),
            "{}",
            line(&items)
        );
    }
}
