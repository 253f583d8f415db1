/// Progress reports from long operations; the CLI draws bars from them. Every method has a
/// do-nothing default, so an implementation picks what it shows.
pub trait Progress: Sync {
    /// A phase starts ("hashing", "writing", "checking", ...) over `total_bytes`.
    fn phase(&self, _name: &str, _total_bytes: u64) {}
    /// Work moved on to this file.
    fn file(&self, _rel_path: &str) {}
    /// This many more bytes were processed in the current phase.
    fn advance(&self, _bytes: u64) {}
    /// The current phase is over.
    fn finish_phase(&self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
