//! Streaming SHA-256, so that no file is ever held in memory whole.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// Lower-case hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(digest.len() * 2);
    for b in digest {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Lower-case hex SHA-256 of bytes in memory.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&godepot_module::sha256(data))
}

/// Why a copy failed: the source could not be read (a damaged bundle, a vanished file) or
/// the destination could not be written (a full disk). The two call for different remedies,
/// so they are never reported alike.
#[derive(Debug)]
pub(crate) enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

const SMALL_BUF: usize = 16 * 1024;
const LARGE_BUF: usize = 256 * 1024;

/// Copies `reader` to `writer`, returning (bytes copied, hex SHA-256 of them).
pub(crate) fn copy_hashing(
    reader: &mut impl Read,
    writer: &mut impl Write,
    mut on_chunk: impl FnMut(u64),
) -> Result<(u64, String), CopyError> {
    let mut hasher = Sha256::new();
    // Small to start with: most artifacts are a few KiB, and a large zeroed buffer for each
    // of them costs more than the copy. A source that fills it gets large reads.
    let mut buf = vec![0u8; SMALL_BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n]).map_err(CopyError::Write)?;
        total += n as u64;
        on_chunk(n as u64);
        if n == buf.len() && buf.len() < LARGE_BUF {
            buf = vec![0u8; LARGE_BUF];
        }
    }
    Ok((total, hex(&hasher.finalize())))
}

/// Hashes `reader` to its end.
pub(crate) fn hash_reader(
    reader: &mut impl Read,
    on_chunk: impl FnMut(u64),
) -> io::Result<(u64, String)> {
    copy_hashing(reader, &mut io::sink(), on_chunk).map_err(|e| match e {
        CopyError::Read(e) | CopyError::Write(e) => e,
    })
}

/// A reader that hashes and counts what passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    pub(crate) count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    pub(crate) fn finish(self) -> (u64, String) {
        (self.count, hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that fills up after a few bytes.
    struct FullDisk(usize);

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::Error::from_raw_os_error(28));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_errors_are_told_from_read_errors() {
        let mut data: &[u8] = &[7; 1000];
        let err = copy_hashing(&mut data, &mut FullDisk(10), |_| {}).unwrap_err();
        assert!(matches!(err, CopyError::Write(e) if e.raw_os_error() == Some(28)));

        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("truncated"))
            }
        }
        let err = copy_hashing(&mut Broken, &mut FullDisk(10), |_| {}).unwrap_err();
        assert!(matches!(err, CopyError::Read(_)));
    }
}
