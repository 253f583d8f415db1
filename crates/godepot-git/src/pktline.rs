//! git's pkt-line framing: a 4-hex-digit length (which counts itself) and the payload, or
//! one of the special packets `0000` (flush), `0001` (delimiter), `0002` (response end).

/// One packet read from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Packet<'a> {
    Data(&'a [u8]),
    Flush,
    Delim,
    ResponseEnd,
}

/// Largest payload a pkt-line can carry.
pub(crate) const MAX_PAYLOAD: usize = 65_516;

/// Appends one data packet.
pub(crate) fn write_data(out: &mut Vec<u8>, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_PAYLOAD);
    out.extend_from_slice(format!("{:04x}", payload.len() + 4).as_bytes());
    out.extend_from_slice(payload);
}

/// Appends a text line (newline added).
pub(crate) fn write_line(out: &mut Vec<u8>, line: &str) {
    let mut payload = Vec::with_capacity(line.len() + 1);
    payload.extend_from_slice(line.as_bytes());
    payload.push(b'\n');
    write_data(out, &payload);
}

pub(crate) fn write_flush(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0000");
}

pub(crate) fn write_delim(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0001");
}

/// Reads the packet at the start of `buf`: `Ok(None)` when `buf` holds only part of one,
/// else the packet and the number of bytes it took.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Packet<'_>, usize)>, String> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let hex = std::str::from_utf8(&buf[..4]).map_err(|_| "bad pkt-line length".to_owned())?;
    let len = usize::from_str_radix(hex, 16).map_err(|_| format!("bad pkt-line length {hex:?}"))?;
    let packet = match len {
        0 => Packet::Flush,
        1 => Packet::Delim,
        2 => Packet::ResponseEnd,
        3 => return Err("bad pkt-line length 3".into()),
        n if buf.len() < n => return Ok(None),
        n => Packet::Data(&buf[4..n]),
    };
    Ok(Some((packet, len.max(4))))
}

/// A text payload without its trailing newline.
pub(crate) fn text(payload: &[u8]) -> &str {
    let s = std::str::from_utf8(payload).unwrap_or("");
    s.strip_suffix('\n').unwrap_or(s)
}

/// Splits a complete buffer into packets (for small responses such as ref listings).
pub(crate) fn split_all(mut buf: &[u8]) -> Result<Vec<Packet<'_>>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (packet, used) = parse(buf)?.ok_or_else(|| "truncated pkt-line".to_owned())?;
        out.push(packet);
        buf = &buf[used..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        write_line(&mut out, "command=ls-refs");
        write_delim(&mut out);
        write_flush(&mut out);
        assert_eq!(out, b"0014command=ls-refs\n00010000");
        let packets = split_all(&out).unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::Data(b"command=ls-refs\n"),
                Packet::Delim,
                Packet::Flush
            ]
        );
        assert_eq!(parse(b"00").unwrap(), None);
        assert_eq!(parse(b"0009abc").unwrap(), None);
        assert!(parse(b"zzzz").is_err());
    }
}
