//! [`Chunks`]: an artifact's bytes as they arrive from an async source (an object store's
//! GET), in order, through a bounded channel.
//!
//! An async consumer (the server) takes each chunk as it comes ([`Chunks::next`]): no
//! blocking thread, no copy. A synchronous one reads it as a [`Read`] on a blocking thread
//! (never on an async worker thread: a blocking receive there panics). Either way the length
//! is checked: a source that ends short, or gives more, is an error, never a wrong artifact.

use std::io::{self, Read};

use bytes::Bytes;
use tokio::sync::mpsc;

/// The sending half, held by the task that reads the source.
pub type ChunkSender = mpsc::Sender<io::Result<Bytes>>;

/// The bytes of one artifact arriving as chunks.
pub struct Chunks {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    /// Received, not yet given out (what a [`Read`] left of a chunk).
    current: Bytes,
    done: bool,
    /// Bytes the artifact still has to arrive.
    left: u64,
}

impl std::fmt::Debug for Chunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunks").field("left", &self.left).finish()
    }
}

impl Chunks {
    /// A channel for an artifact of `len` bytes that keeps at most `ahead` chunks between
    /// the source and the reader: the memory a read holds is bounded by the source's chunk
    /// size, whatever the length.
    pub fn channel(len: u64, ahead: usize) -> (ChunkSender, Chunks) {
        let (tx, rx) = mpsc::channel(ahead.max(1));
        let chunks = Chunks {
            rx,
            current: Bytes::new(),
            done: false,
            left: len,
        };
        (tx, chunks)
    }

    /// The next chunk (never empty), `None` at the end. An error when the source failed or
    /// its length was wrong.
    pub async fn next(&mut self) -> Option<io::Result<Bytes>> {
        if !self.current.is_empty() {
            return Some(Ok(std::mem::take(&mut self.current)));
        }
        loop {
            if self.done {
                return None;
            }
            let got = self.rx.recv().await;
            match self.arrived(got) {
                Some(Ok(chunk)) if chunk.is_empty() => continue,
                other => return other,
            }
        }
    }

    /// Accounts for what the channel gave.
    fn arrived(&mut self, got: Option<io::Result<Bytes>>) -> Option<io::Result<Bytes>> {
        let result = match got {
            Some(Ok(chunk)) if chunk.len() as u64 > self.left => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the object is longer than the {} bytes it said", self.left),
            )),
            Some(Ok(chunk)) => {
                self.left -= chunk.len() as u64;
                return Some(Ok(chunk));
            }
            Some(Err(e)) => Err(e),
            None if self.left > 0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the object ended {} bytes short", self.left),
            )),
            None => {
                self.done = true;
                return None;
            }
        };
        self.done = true;
        Some(result)
    }
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            let got = self.rx.blocking_recv();
            match self.arrived(got) {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(len: u64, chunks: &[&'static [u8]], end: Option<io::Error>) -> Chunks {
        let (tx, rx) = Chunks::channel(len, chunks.len() + 1);
        for c in chunks {
            tx.try_send(Ok(Bytes::from_static(c))).unwrap();
        }
        if let Some(e) = end {
            tx.try_send(Err(e)).unwrap();
        }
        rx
    }

    #[test]
    fn read_gives_every_byte_then_the_end() {
        let mut got = Vec::new();
        filled(6, &[b"ab", b"", b"cdef"], None)
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, b"abcdef");
    }

    #[test]
    fn a_short_or_long_source_is_an_error_either_way() {
        let mut got = Vec::new();
        let e = filled(7, &[b"abc"], None)
            .read_to_end(&mut got)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        let e = filled(2, &[b"abc"], None)
            .read_to_end(&mut got)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        let source = io::Error::other("connection reset");
        let e = filled(9, &[b"abc"], Some(source))
            .read_to_end(&mut got)
            .unwrap_err();
        assert!(e.to_string().contains("connection reset"), "{e}");
    }

    #[tokio::test]
    async fn next_gives_the_chunks_as_they_came() {
        let mut chunks = filled(5, &[b"ab", b"", b"cde"], None);
        assert_eq!(chunks.next().await.unwrap().unwrap(), "ab");
        assert_eq!(chunks.next().await.unwrap().unwrap(), "cde");
        assert!(chunks.next().await.is_none());
        let mut short = filled(5, &[b"ab"], None);
        assert_eq!(short.next().await.unwrap().unwrap(), "ab");
        assert!(short.next().await.unwrap().is_err());
        assert!(short.next().await.is_none());
    }
}
