//! git's smart-HTTP protocol, version 2, client side: the capability handshake, `ls-refs`
//! and `fetch` (see git's gitprotocol-v2 and gitprotocol-http documentation).
//!
//! We always end negotiation at once (`done` after our `have` lines) and never ask for a
//! thin pack, so the server sends one self-contained pack that can be indexed alone. The
//! pack is streamed to a file as it arrives: memory stays bounded by one HTTP chunk.

use std::collections::BTreeMap;
use std::path::Path;

use gix_hash::ObjectId;
use tokio::io::AsyncWriteExt;

use crate::error::GitError;
use crate::http::{Http, redact, transport_error};
use crate::pktline::{self, Packet};

const UPLOAD_PACK: &str = "git-upload-pack";

/// One ref as the server listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefTip {
    /// What the ref names (a tag object for an annotated tag).
    pub oid: ObjectId,
    /// The commit an annotated tag finally points to.
    pub peeled: Option<ObjectId>,
}

impl RefTip {
    /// The commit (or other non-tag object) the ref resolves to.
    pub(crate) fn target(&self) -> ObjectId {
        self.peeled.unwrap_or(self.oid)
    }
}

/// The refs that matter for modules: `HEAD`, branches and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RemoteRefs {
    /// `HEAD`'s commit, if the repository has one.
    pub head: Option<ObjectId>,
    /// The branch `HEAD` points to (`refs/heads/main`), when the server says.
    pub head_target: Option<String>,
    /// Full ref names (`refs/heads/x`, `refs/tags/v1.0.0`).
    pub refs: BTreeMap<String, RefTip>,
}

/// A repository's smart-HTTP endpoint.
pub(crate) struct Remote<'a> {
    pub http: &'a Http,
    /// The repository URL as discovered (credentials, if any, stay out of messages).
    pub url: &'a str,
}

impl Remote<'_> {
    fn endpoint(&self, tail: &str) -> String {
        format!("{}/{tail}", self.url.trim_end_matches('/'))
    }

    /// Checks that the server speaks protocol v2 for upload-pack.
    pub(crate) async fn handshake(&self) -> Result<(), GitError> {
        let url = self.endpoint(&format!("info/refs?service={UPLOAD_PACK}"));
        let req = self
            .http
            .request(reqwest::Method::GET, &url)?
            .header("Git-Protocol", "version=2");
        let resp = self.http.send(req, &url).await?;
        let smart = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-git-upload-pack-advertisement"));
        if !smart {
            return Err(GitError::Unsupported {
                reason: format!(
                    "{}: not a smart-HTTP git server (the dumb protocol is not supported)",
                    redact(self.url)
                ),
            });
        }
        let body = read_limited(resp, &url, 1 << 20).await?;
        let packets =
            pktline::split_all(&body).map_err(|e| GitError::protocol(&redact(&url), e))?;
        let mut lines = packets.iter().filter_map(|p| match p {
            Packet::Data(d) => Some(pktline::text(d)),
            _ => None,
        });
        let mut first = lines.next().unwrap_or_default();
        if first.starts_with("# service=") {
            first = lines.next().unwrap_or_default();
        }
        if first != "version 2" {
            return Err(GitError::Unsupported {
                reason: format!(
                    "{}: the server does not speak git protocol version 2",
                    redact(self.url)
                ),
            });
        }
        Ok(())
    }

    /// Lists `HEAD`, branches and tags, with annotated tags peeled.
    pub(crate) async fn ls_refs(&self) -> Result<RemoteRefs, GitError> {
        let mut body = Vec::new();
        pktline::write_line(&mut body, "command=ls-refs");
        pktline::write_delim(&mut body);
        for arg in [
            "peel",
            "symrefs",
            "ref-prefix HEAD",
            "ref-prefix refs/heads/",
            "ref-prefix refs/tags/",
        ] {
            pktline::write_line(&mut body, arg);
        }
        pktline::write_flush(&mut body);
        let url = self.endpoint(UPLOAD_PACK);
        let resp = self.post(&url, body).await?;
        let data = read_limited(resp, &url, 64 << 20).await?;
        parse_ls_refs(&data).map_err(|e| GitError::protocol(&redact(&url), e))
    }

    /// Fetches the objects reachable from `wants` but not from `haves` into a pack file at
    /// `dest`, refusing packs over `limit` bytes.
    pub(crate) async fn fetch_pack(
        &self,
        wants: &[ObjectId],
        haves: &[ObjectId],
        dest: &Path,
        limit: u64,
    ) -> Result<u64, GitError> {
        let mut body = Vec::new();
        pktline::write_line(&mut body, "command=fetch");
        pktline::write_delim(&mut body);
        pktline::write_line(&mut body, "ofs-delta");
        pktline::write_line(&mut body, "no-progress");
        for w in wants {
            pktline::write_line(&mut body, &format!("want {w}"));
        }
        for h in haves {
            pktline::write_line(&mut body, &format!("have {h}"));
        }
        pktline::write_line(&mut body, "done");
        pktline::write_flush(&mut body);
        let url = self.endpoint(UPLOAD_PACK);
        let shown = redact(&url);
        let mut resp = self.post(&url, body).await?;
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| GitError::mirror(dest, e))?;
        let mut demux = Demux::default();
        let mut written: u64 = 0;
        loop {
            let chunk = resp
                .chunk()
                .await
                .map_err(|e| transport_error(&shown, &e))?;
            let Some(chunk) = chunk else { break };
            demux.buf.extend_from_slice(&chunk);
            let pack = demux.drain().map_err(|e| GitError::protocol(&shown, e))?;
            written += pack.len() as u64;
            if written > limit {
                return Err(GitError::TooLarge {
                    what: format!("the repository {}", redact(self.url)),
                    reason: format!("its pack exceeds the limit of {limit} bytes"),
                });
            }
            file.write_all(&pack)
                .await
                .map_err(|e| GitError::mirror(dest, e))?;
        }
        if !demux.done {
            return Err(GitError::protocol(&shown, "pack stream ended early"));
        }
        file.flush().await.map_err(|e| GitError::mirror(dest, e))?;
        file.sync_all()
            .await
            .map_err(|e| GitError::mirror(dest, e))?;
        Ok(written)
    }

    async fn post(&self, url: &str, body: Vec<u8>) -> Result<reqwest::Response, GitError> {
        let req = self
            .http
            .request(reqwest::Method::POST, url)?
            .header("Git-Protocol", "version=2")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-git-upload-pack-request",
            )
            .header(
                reqwest::header::ACCEPT,
                "application/x-git-upload-pack-result",
            )
            .body(body);
        self.http.send(req, url).await
    }
}

/// Reads a whole (small) body, refusing more than `limit` bytes.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    url: &str,
    limit: usize,
) -> Result<Vec<u8>, GitError> {
    let shown = redact(url);
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(&shown, &e))?
    {
        out.extend_from_slice(&chunk);
        if out.len() > limit {
            return Err(GitError::TooLarge {
                what: format!("the answer of {shown}"),
                reason: format!("over {limit} bytes"),
            });
        }
    }
    Ok(out)
}

fn parse_oid(hex: &str) -> Result<ObjectId, String> {
    ObjectId::from_hex(hex.as_bytes()).map_err(|_| format!("bad object id {hex:?}"))
}

/// Parses an `ls-refs` answer: `<oid> <name>[ symref-target:<t>][ peeled:<oid>]` lines.
fn parse_ls_refs(data: &[u8]) -> Result<RemoteRefs, String> {
    let mut out = RemoteRefs::default();
    for packet in pktline::split_all(data)? {
        let Packet::Data(payload) = packet else {
            continue;
        };
        let line = pktline::text(payload);
        if let Some(err) = line.strip_prefix("ERR ") {
            return Err(format!("server error: {err}"));
        }
        let mut fields = line.split(' ');
        let (Some(oid), Some(name)) = (fields.next(), fields.next()) else {
            return Err(format!("bad ls-refs line {line:?}"));
        };
        if oid == "unborn" {
            continue;
        }
        let oid = parse_oid(oid)?;
        let mut tip = RefTip { oid, peeled: None };
        let mut symref = None;
        for attr in fields {
            if let Some(p) = attr.strip_prefix("peeled:") {
                tip.peeled = Some(parse_oid(p)?);
            } else if let Some(t) = attr.strip_prefix("symref-target:") {
                symref = Some(t.to_owned());
            }
        }
        if name == "HEAD" {
            out.head = Some(tip.target());
            out.head_target = symref;
        } else {
            out.refs.insert(name.to_owned(), tip);
        }
    }
    Ok(out)
}

/// Takes a `fetch` response apart: skips sections until `packfile`, then unwraps
/// side-band-64k (band 1 pack data, band 2 progress, band 3 fatal error).
#[derive(Default)]
struct Demux {
    buf: Vec<u8>,
    in_pack: bool,
    done: bool,
}

impl Demux {
    /// Consumes the complete packets in the buffer; returns the pack bytes they carried.
    fn drain(&mut self) -> Result<Vec<u8>, String> {
        let mut pack = Vec::new();
        let mut used_total = 0;
        while let Some((packet, used)) = pktline::parse(&self.buf[used_total..])? {
            used_total += used;
            match packet {
                Packet::Flush | Packet::ResponseEnd if self.in_pack => self.done = true,
                Packet::Flush | Packet::Delim | Packet::ResponseEnd => {}
                Packet::Data(d) if !self.in_pack => {
                    let line = pktline::text(d);
                    if let Some(err) = line.strip_prefix("ERR ") {
                        return Err(format!("server error: {err}"));
                    }
                    if line == "packfile" {
                        self.in_pack = true;
                    }
                }
                Packet::Data(d) => match d.first() {
                    Some(1) => pack.extend_from_slice(&d[1..]),
                    Some(2) => {}
                    Some(3) => {
                        return Err(format!("server error: {}", pktline::text(&d[1..])));
                    }
                    _ => return Err("bad side-band packet".into()),
                },
            }
        }
        self.buf.drain(..used_total);
        Ok(pack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_refs_lines() {
        let a = "1".repeat(40);
        let b = "2".repeat(40);
        let mut data = Vec::new();
        pktline::write_line(
            &mut data,
            &format!("{a} HEAD symref-target:refs/heads/main"),
        );
        pktline::write_line(&mut data, &format!("{a} refs/heads/main"));
        pktline::write_line(&mut data, &format!("{b} refs/tags/v1.0.0 peeled:{a}"));
        pktline::write_flush(&mut data);
        let refs = parse_ls_refs(&data).unwrap();
        assert_eq!(refs.head.unwrap().to_string(), a);
        assert_eq!(refs.head_target.as_deref(), Some("refs/heads/main"));
        assert_eq!(refs.refs["refs/tags/v1.0.0"].target().to_string(), a);
        assert_eq!(refs.refs["refs/tags/v1.0.0"].oid.to_string(), b);
    }

    #[test]
    fn demux_splits_pack_from_chatter() {
        let mut data = Vec::new();
        pktline::write_line(&mut data, "packfile");
        pktline::write_data(&mut data, b"\x02counting objects");
        pktline::write_data(&mut data, b"\x01PACK");
        pktline::write_data(&mut data, b"\x01rest");
        pktline::write_flush(&mut data);
        let mut demux = Demux::default();
        // Fed in two pieces, splitting a packet.
        demux.buf.extend_from_slice(&data[..20]);
        let mut got = demux.drain().unwrap();
        demux.buf.extend_from_slice(&data[20..]);
        got.extend(demux.drain().unwrap());
        assert_eq!(got, b"PACKrest");
        assert!(demux.done);
    }
}
