//! The access log on disk: `.godepot/access/log`, one line per noted access, appended.
//!
//! ```text
//! # godepot access times v1 since 1767225600
//! 1767229200 example.com/!some!module v1.2.3
//! ```
//!
//! The first line says since when recording has been on: without it (the file deleted, or
//! damaged) every access time is unknown, never "unused". Appends are one `write` of whole
//! lines under the lock file `.godepot/access/lock`, so two processes serving one data
//! directory interleave lines, never bytes. Compaction (one line per version, the latest
//! time) rewrites the file atomically under the same lock. A crash mid-append can leave a
//! partial last line: it is ignored, like an access that was never flushed.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use godepot_module::{ModulePath, Version};

use crate::StoreError;
use crate::atomic;
use crate::local::{META_DIR, lock_file};

const HEADER: &str = "# godepot access times v1 since ";

/// One noted access: this version was asked for at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord {
    pub module: ModulePath,
    pub version: Version,
    pub at: SystemTime,
}

/// What the log says, read whole.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Recording has been on since `since`; `times` holds the latest noted access of every
    /// version asked for since then.
    Known(AccessData),
    /// Nothing can be said about any version (the log is missing or damaged: why).
    Unknown(String),
}

/// The access times of a store, since recording began.
#[derive(Debug, Clone)]
pub struct AccessData {
    /// When recording began: every access since then was noted (but see the module docs of
    /// [`crate::access`] for the hour's resolution and a crash's loss).
    pub since: SystemTime,
    times: HashMap<ModulePath, BTreeMap<Version, SystemTime>>,
}

impl AccessData {
    /// The latest noted access of `module@version`, if any since [`AccessData::since`].
    pub fn last(&self, module: &ModulePath, version: &Version) -> Option<SystemTime> {
        self.times.get(module)?.get(version).copied()
    }

    /// Every version noted, with its latest access (for an index of the store).
    pub fn iter(&self) -> impl Iterator<Item = (&ModulePath, &Version, SystemTime)> {
        self.times
            .iter()
            .flat_map(|(m, vs)| vs.iter().map(move |(v, t)| (m, v, *t)))
    }

    /// Nothing noted yet, recording since `since`.
    pub(super) fn new(since: SystemTime) -> Self {
        AccessData {
            since,
            times: HashMap::new(),
        }
    }

    pub(super) fn note(&mut self, module: ModulePath, version: Version, at: SystemTime) {
        let slot = self.times.entry(module).or_default().entry(version);
        let held = slot.or_insert(at);
        *held = (*held).max(at);
    }
}

/// The access log of the store at a data directory.
#[derive(Debug, Clone)]
pub struct AccessTimes {
    dir: PathBuf,
}

impl AccessTimes {
    pub fn new(data_dir: &Path) -> Self {
        AccessTimes {
            dir: data_dir.join(META_DIR).join("access"),
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Starts the log (recording is on from `now`) unless it exists. Cheap: no read.
    pub fn begin(&self, now: SystemTime) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let path = self.log_path();
        if path.exists() {
            return Ok(());
        }
        self.start_fresh(now)
    }

    /// Appends these accesses in one write. A log that went missing is started afresh
    /// from `now` first: what it held is lost, and recording is complete only from then.
    pub fn append(&self, records: &[AccessRecord], now: SystemTime) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let text: String = records.iter().map(line).collect();
        let _lock = self.lock()?;
        let path = self.log_path();
        if !path.exists() {
            self.start_fresh(now)?;
        }
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(StoreError::io(&path))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(StoreError::io(&path))
    }

    /// The log's size in bytes (0 when missing).
    pub fn size(&self) -> Result<u64, StoreError> {
        let path = self.log_path();
        match fs::metadata(&path) {
            Ok(meta) => Ok(meta.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(StoreError::io(&path)(e)),
        }
    }

    /// Reads the whole log.
    pub fn read(&self) -> Result<Recorded, StoreError> {
        let path = self.log_path();
        let mut text = String::new();
        match File::open(&path) {
            Ok(mut file) => file
                .read_to_string(&mut text)
                .map_err(StoreError::io(&path))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Recorded::Unknown(format!(
                    "no access log at {} (is this store served by godepot serve?)",
                    path.display()
                )));
            }
            Err(e) => return Err(StoreError::io(&path)(e)),
        };
        Ok(match parse(&text) {
            Ok(data) => Recorded::Known(data),
            Err(why) => Recorded::Unknown(format!("{}: {why}", path.display())),
        })
    }

    /// Rewrites the log with one line per version (its latest access); a damaged log is
    /// started afresh from `now`, since what it said can no longer be trusted. Returns the
    /// new size in bytes.
    pub fn compact(&self, now: SystemTime) -> Result<u64, StoreError> {
        let _lock = self.lock()?;
        self.remove_scratch();
        let data = match self.read()? {
            Recorded::Known(data) => data,
            Recorded::Unknown(why) => {
                tracing::warn!(%why, "access log unreadable: recording starts afresh");
                self.start_fresh(now)?;
                return Ok(HEADER.len() as u64);
            }
        };
        let text = compacted(&data);
        let path = self.log_path();
        atomic::write_replace(&self.dir, &path, text.as_bytes()).map_err(StoreError::io(&path))?;
        Ok(text.len() as u64)
    }

    fn start_fresh(&self, now: SystemTime) -> Result<(), StoreError> {
        let path = self.log_path();
        atomic::write_replace(&self.dir, &path, header(now).as_bytes())
            .map_err(StoreError::io(&path))
    }

    /// Scratch files a crash left in the directory (only ever made under the lock).
    fn remove_scratch(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn lock(&self) -> Result<File, StoreError> {
        fs::create_dir_all(&self.dir).map_err(StoreError::io(&self.dir))?;
        lock_file(&self.dir.join("lock"))
    }
}

/// The header, then one line per version (its latest time), sorted: a compacted log.
pub(super) fn compacted(data: &AccessData) -> String {
    let mut text = header(data.since);
    let mut sorted: Vec<_> = data.iter().collect();
    sorted.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
    for (module, version, at) in sorted {
        text.push_str(&line(&AccessRecord {
            module: module.clone(),
            version: version.clone(),
            at,
        }));
    }
    text
}

pub(super) fn header(since: SystemTime) -> String {
    format!("{HEADER}{}\n", unix(since))
}

fn line(r: &AccessRecord) -> String {
    format!(
        "{} {} {}\n",
        unix(r.at),
        r.module.escaped(),
        r.version.escaped()
    )
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub(super) fn parse(text: &str) -> Result<AccessData, String> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    let since = first
        .strip_prefix(HEADER)
        .and_then(|rest| rest.trim_end().parse::<u64>().ok())
        .ok_or("no header line")?;
    let mut data = AccessData::new(UNIX_EPOCH + Duration::from_secs(since));
    for (n, raw) in lines.enumerate() {
        let Some(content) = raw.strip_suffix('\n') else {
            // A partial last line: a crash mid-append. That access is simply not known.
            break;
        };
        let record = parse_line(content).ok_or_else(|| format!("line {}: damaged", n + 2))?;
        data.note(record.module, record.version, record.at);
    }
    Ok(data)
}

fn parse_line(line: &str) -> Option<AccessRecord> {
    let mut fields = line.split(' ');
    let at = fields.next()?.parse::<u64>().ok()?;
    let module = ModulePath::from_escaped(fields.next()?).ok()?;
    let version = Version::from_escaped(fields.next()?).ok()?;
    if fields.next().is_some() {
        return None;
    }
    Some(AccessRecord {
        module,
        version,
        at: UNIX_EPOCH + Duration::from_secs(at),
    })
}
