//! `.netrc`: credentials per host, as the go command and git read them (`$NETRC`, else
//! `~/.netrc`).
//!
//! Tokens are `machine NAME`, `login NAME`, `password SECRET`, `default` (any host not named
//! by a `machine`), and `macdef NAME` (a macro, skipped up to the next blank line). An entry
//! applies to the host name alone, without a port, as in curl.

use std::path::PathBuf;

use crate::url::Credentials;

/// The parsed file: `machine` entries in order, and the `default` entry, if any.
#[derive(Debug, Clone, Default)]
pub struct Netrc {
    machines: Vec<(String, Credentials)>,
    default: Option<Credentials>,
}

impl Netrc {
    /// Reads `$NETRC`, else `~/.netrc`. A missing or unreadable file holds no credentials:
    /// the go command treats it the same way.
    pub fn from_environment() -> Netrc {
        let path = match std::env::var_os("NETRC").filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => match std::env::var_os("HOME").filter(|p| !p.is_empty()) {
                Some(home) => PathBuf::from(home).join(".netrc"),
                None => return Netrc::default(),
            },
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Netrc::parse(&text),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read .netrc; no credentials from it");
                }
                Netrc::default()
            }
        }
    }

    /// Parses netrc text. Unknown tokens are skipped; an entry without a login is ignored.
    pub fn parse(text: &str) -> Netrc {
        let mut netrc = Netrc::default();
        // The entry being read: `Some(host)` for a machine, `None` for default.
        let mut current: Option<(Option<String>, String, String)> = None;
        let finish = |entry: Option<(Option<String>, String, String)>, netrc: &mut Netrc| {
            if let Some((host, login, password)) = entry
                && !login.is_empty()
            {
                let creds = Credentials { login, password };
                match host {
                    Some(host) => netrc.machines.push((host, creds)),
                    None => netrc.default = netrc.default.take().or(Some(creds)),
                }
            }
        };
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let mut tokens = line.split_whitespace();
            while let Some(token) = tokens.next() {
                match token {
                    "machine" => {
                        finish(current.take(), &mut netrc);
                        let host = tokens.next().unwrap_or("").to_string();
                        current = Some((Some(host), String::new(), String::new()));
                    }
                    "default" => {
                        finish(current.take(), &mut netrc);
                        current = Some((None, String::new(), String::new()));
                    }
                    "login" | "password" => {
                        let value = tokens.next().unwrap_or("").to_string();
                        if let Some((_, login, password)) = current.as_mut() {
                            *(if token == "login" { login } else { password }) = value;
                        }
                    }
                    "macdef" => {
                        finish(current.take(), &mut netrc);
                        for macro_line in lines.by_ref() {
                            if macro_line.trim().is_empty() {
                                break;
                            }
                        }
                        break;
                    }
                    _ => {}
                }
            }
        }
        finish(current.take(), &mut netrc);
        netrc
    }

    /// The credentials for `host` (a host name, no port): its first `machine` entry, else
    /// the `default` entry.
    pub fn lookup(&self, host: &str) -> Option<&Credentials> {
        self.machines
            .iter()
            .find(|(machine, _)| machine.eq_ignore_ascii_case(host))
            .map(|(_, creds)| creds)
            .or(self.default.as_ref())
    }

    /// Puts `entries` ahead of the file's own (per-host credentials from configuration win
    /// over `.netrc`, as they are more specific).
    pub fn prefer(&mut self, entries: impl IntoIterator<Item = (String, Credentials)>) {
        let mut machines: Vec<_> = entries.into_iter().collect();
        machines.append(&mut self.machines);
        self.machines = machines;
    }

    /// Every entry in order, `machine`s first (`Some(host)`), then `default` (`None`): for
    /// handing the same credentials to another client.
    pub fn entries(&self) -> impl Iterator<Item = (Option<&str>, &Credentials)> {
        self.machines
            .iter()
            .map(|(host, c)| (Some(host.as_str()), c))
            .chain(self.default.iter().map(|c| (None, c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(netrc: &Netrc, host: &str) -> Option<(String, String)> {
        netrc
            .lookup(host)
            .map(|c| (c.login.clone(), c.password.clone()))
    }

    #[test]
    fn machines_default_and_macros() {
        let netrc = Netrc::parse(
            "machine git.corp.example login alice password s3cret\n\
             machine proxy.corp.example\n  login bob\n  password hunter2\n\
             macdef init\nmachine evil.example login x password y\n\n\
             machine nologin.example password p\n\
             default login anon password guest\n",
        );
        let p = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(pair(&netrc, "git.corp.example"), p("alice", "s3cret"));
        assert_eq!(pair(&netrc, "PROXY.corp.example"), p("bob", "hunter2"));
        // Inside a macro: not an entry.
        assert_eq!(pair(&netrc, "evil.example"), p("anon", "guest"));
        assert_eq!(pair(&netrc, "other.example"), p("anon", "guest"));
        assert_eq!(pair(&Netrc::parse("machine a login u"), "b"), None);
        assert_eq!(pair(&Netrc::parse("machine a login u"), "a"), p("u", ""));
        let mut preferred = netrc.clone();
        let creds = |login: &str| Credentials {
            login: login.into(),
            password: "t".into(),
        };
        preferred.prefer([("git.corp.example".to_string(), creds("ci"))]);
        assert_eq!(pair(&preferred, "git.corp.example"), p("ci", "t"));
        assert_eq!(preferred.entries().count(), netrc.entries().count() + 1);
    }
}
