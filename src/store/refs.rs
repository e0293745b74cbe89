//! HEAD and the log of HEAD moves (docs/FORMATS.md#the-store).
//!
//! HEAD is replaced atomically. The log is appended with `O_APPEND` and
//! fsynced; only a writer holding `.state.lock` appends, so a torn last line
//! (a crash mid-append) can be cut off by the next writer, and readers ignore
//! an unterminated last line.

use super::atomic::{self, FILE_MODE};
use super::{io_err, Error, ObjectId, Store};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;

/// One line of `.rk/log`: `<old|-> <new> <unix_ms> <op>\t<message>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub old: Option<ObjectId>,
    pub new: ObjectId,
    pub unix_ms: i64,
    pub op: String,
    pub message: String,
}

/// One line of `rk log --json` (format_version 1), as rk-log(1) describes
/// it: the log entry of docs/FORMATS.md#head-and-log with its time in RFC
/// 3339 beside the milliseconds. The fields are in output order.
#[derive(Debug, serde::Serialize)]
pub struct LogLineDocument<'a> {
    format_version: u32,
    old: Option<&'a str>,
    new: &'a str,
    unix_ms: i64,
    time: String,
    op: &'a str,
    message: &'a str,
}

impl<'a> From<&'a LogEntry> for LogLineDocument<'a> {
    fn from(e: &'a LogEntry) -> Self {
        LogLineDocument {
            format_version: 1,
            old: e.old.as_ref().map(ObjectId::as_str),
            new: e.new.as_str(),
            unix_ms: e.unix_ms,
            time: crate::clock::Timestamp::from_unix_micros(e.unix_ms.saturating_mul(1000))
                .to_string(),
            op: &e.op,
            message: &e.message,
        }
    }
}

impl LogEntry {
    /// The line as stored, without its newline. Control characters of the
    /// message become spaces so one entry is always one line.
    pub fn to_line(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        };
        format!(
            "{} {} {} {}\t{}",
            self.old.as_ref().map_or("-", |o| o.as_str()),
            self.new,
            self.unix_ms,
            clean(&self.op).replace(' ', "_"),
            clean(&self.message)
        )
    }

    /// Parse one complete line.
    pub fn parse(line: &str) -> Result<LogEntry, String> {
        let (head, message) = line
            .split_once('\t')
            .ok_or("no tab between the op and the message")?;
        let fields: Vec<&str> = head.split(' ').collect();
        let [old, new, ms, op] = fields[..] else {
            return Err(format!(
                "expected `<old|-> <new> <unix_ms> <op>`, found {} field(s)",
                fields.len()
            ));
        };
        let old = match old {
            "-" => None,
            s => Some(ObjectId::parse(s).ok_or_else(|| format!("{s:?} is not an object id"))?),
        };
        Ok(LogEntry {
            old,
            new: ObjectId::parse(new).ok_or_else(|| format!("{new:?} is not an object id"))?,
            unix_ms: ms
                .parse()
                .map_err(|_| format!("{ms:?} is not a time in milliseconds"))?,
            op: op.to_string(),
            message: message.to_string(),
        })
    }
}

impl Store {
    /// The id HEAD names; `None` when there is no HEAD yet.
    pub fn read_head(&self) -> Result<Option<ObjectId>, Error> {
        let path = self.head_path();
        let text = match super::atomic::read_regular(&path, super::atomic::limit::SMALL) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let text = String::from_utf8_lossy(&text);
        ObjectId::parse(text.trim_end_matches('\n'))
            .map(Some)
            .ok_or_else(|| Error::CorruptHead {
                path: path.display().to_string(),
                reason: format!(
                    "expected one line holding a 64-hex snapshot id, found {:?}",
                    text.chars().take(80).collect::<String>()
                ),
                rid: self.rid.clone(),
                last_good: self.last_good_from_log(),
            })
    }

    /// Point HEAD at `id` (atomic replace).
    pub fn write_head(&self, id: &ObjectId) -> Result<(), Error> {
        let path = self.head_path();
        self.ensure_dir(self.dir())?;
        atomic::write_atomic(&path, format!("{id}\n").as_bytes(), FILE_MODE)
            .map_err(|e| io_err(&path, e))
    }

    /// Append one entry to the log (O_APPEND, fsync). A torn last line left
    /// by a crash is cut off first. Call only while holding `.state.lock`.
    pub fn append_log(&self, entry: &LogEntry) -> Result<(), Error> {
        let path = self.log_path();
        self.ensure_dir(self.dir())?;
        atomic::refuse_symlink(&path).map_err(|e| io_err(&path, e))?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        let result = (|| -> std::io::Result<()> {
            let len = file.metadata()?.len();
            if len > 0 {
                let mut content = Vec::new();
                file.seek(SeekFrom::Start(0))?;
                file.read_to_end(&mut content)?;
                if content.last() != Some(&b'\n') {
                    let keep = content
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(0, |p| p + 1);
                    file.set_len(keep as u64)?;
                }
            }
            file.write_all(format!("{}\n", entry.to_line()).as_bytes())?;
            file.sync_all()
        })();
        result.map_err(|e| io_err(&path, e))
    }

    /// Every complete log entry, oldest first. An unterminated last line is
    /// a torn append and is ignored; any other bad line is corruption.
    pub fn read_log(&self) -> Result<Vec<LogEntry>, Error> {
        let path = self.log_path();
        let bytes = match super::atomic::read_regular(&path, super::atomic::limit::LOG) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&path, e)),
        };
        let text = String::from_utf8_lossy(&bytes);
        let complete = match text.rfind('\n') {
            Some(p) => &text[..p],
            None => return Ok(Vec::new()),
        };
        complete
            .split('\n')
            .enumerate()
            .map(|(i, line)| {
                LogEntry::parse(line).map_err(|reason| Error::CorruptLog {
                    path: path.display().to_string(),
                    line: i + 1,
                    reason,
                    rid: self.rid.clone(),
                    last_good: self.intact_head_unchecked(),
                })
            })
            .collect()
    }

    /// The newest log entry whose snapshot reads back intact (HEAD aside).
    /// HEAD's id when HEAD reads as one id naming an intact snapshot; for
    /// messages about a damaged log (never reads the log itself).
    fn intact_head_unchecked(&self) -> Option<ObjectId> {
        let bytes =
            super::atomic::read_regular(&self.head_path(), super::atomic::limit::SMALL).ok()?;
        let id = ObjectId::parse(String::from_utf8_lossy(&bytes).trim_end_matches('\n'))?;
        self.snapshot_intact(&id).then_some(id)
    }

    fn last_good_from_log(&self) -> Option<ObjectId> {
        let entries = self.read_log().ok()?;
        entries
            .into_iter()
            .rev()
            .map(|e| e.new)
            .find(|id| self.snapshot_intact(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_line_round_trips() {
        let e = LogEntry {
            old: None,
            new: ObjectId::of(b"x"),
            unix_ms: 1_756_893_600_000,
            op: "write-state".into(),
            message: "hello world".into(),
        };
        assert_eq!(LogEntry::parse(&e.to_line()).unwrap(), e);
    }
}
