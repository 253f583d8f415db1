//! A minimal reader of a zip's central directory names.
//!
//! The zip crate indexes entries by name and so collapses duplicates; the go
//! command rejects duplicates by name, so to say *which* name repeats we list the
//! central directory ourselves. Only classic (non-zip64) archives are handled,
//! which covers every module zip small enough to accept in the first place,
//! except ones with more than 65535 entries (then the caller reports duplicates
//! without naming them).

use std::io::{Read, Seek, SeekFrom};

const END_SIGNATURE: u32 = 0x0605_4b50;
const ENTRY_SIGNATURE: u32 = 0x0201_4b50;
/// End record (22 bytes) plus the longest possible comment.
const MAX_TAIL: u64 = 22 + 0xffff;

/// Entry names in central-directory order, or `None` if the layout is not a
/// classic zip this reader understands.
pub(crate) fn names<R: Read + Seek>(mut reader: R) -> Option<Vec<Vec<u8>>> {
    let len = reader.seek(SeekFrom::End(0)).ok()?;
    let tail_start = len.saturating_sub(MAX_TAIL);
    reader.seek(SeekFrom::Start(tail_start)).ok()?;
    let mut tail = Vec::new();
    reader.read_to_end(&mut tail).ok()?;
    let end = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(&tail, i) == Some(END_SIGNATURE))?;
    let count = u16_at(&tail, end + 10)?;
    let size = u32_at(&tail, end + 12)?;
    let offset = u32_at(&tail, end + 16)?;
    reader.seek(SeekFrom::Start(u64::from(offset))).ok()?;
    let mut directory = vec![0; usize::try_from(size).ok()?];
    reader.read_exact(&mut directory).ok()?;
    parse_entries(&directory, count)
}

fn parse_entries(directory: &[u8], count: u16) -> Option<Vec<Vec<u8>>> {
    let mut names = Vec::with_capacity(usize::from(count));
    let mut at = 0;
    for _ in 0..count {
        if u32_at(directory, at)? != ENTRY_SIGNATURE {
            return None;
        }
        let name_len = usize::from(u16_at(directory, at + 28)?);
        let extra_len = usize::from(u16_at(directory, at + 30)?);
        let comment_len = usize::from(u16_at(directory, at + 32)?);
        names.push(directory.get(at + 46..at + 46 + name_len)?.to_vec());
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(names)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
