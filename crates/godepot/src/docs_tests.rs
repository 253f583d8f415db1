//! The documentation generated from, or kept in step with, the clap definitions: both READMEs
//! name every flag `--help` shows, and every command has a man page that `man` renders. The
//! command tree is walked through clap, not by reading help text.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command as Process;

use clap::CommandFactory;

/// The READMEs kept in step, relative to the workspace root.
const READMES: [&str; 2] = ["README.md", "README.zh-CN.md"];

/// Every visible command (`godepot`, `godepot serve`, `godepot token add`, …), with clap's
/// own `help` left out, each with the long flags its `--help` shows.
fn visible_commands() -> Vec<(Vec<String>, Vec<String>)> {
    fn walk(
        cmd: &clap::Command,
        path: &mut Vec<String>,
        out: &mut Vec<(Vec<String>, Vec<String>)>,
    ) {
        let flags = cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long())
            .filter(|long| !matches!(*long, "help" | "version"))
            .map(|long| format!("--{long}"))
            .collect();
        out.push((path.clone(), flags));
        for sub in cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        {
            path.push(sub.get_name().to_string());
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut vec!["godepot".to_string()], &mut out);
    out
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

/// Whether `text` has `word` with no name character (letter, digit, `-`, `_`) right after
/// it, so `--json` is not found inside `--jsonl`.
fn mentions(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        !text[at + word.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

#[test]
fn every_flag_and_command_is_in_both_readmes() {
    let readmes: Vec<(&str, String)> = READMES
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(workspace_root().join(name))
                .unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
            (*name, text)
        })
        .collect();
    let mut missing = BTreeSet::new();
    for (path, flags) in visible_commands() {
        let command = path.join(" ");
        let words = std::iter::once(command.clone()).chain(flags.iter().cloned());
        for word in words.filter(|w| w != "godepot") {
            for (name, text) in &readmes {
                if !mentions(text, &word) {
                    let what = if word.starts_with("--") {
                        format!("{word} (of `{command}`)")
                    } else {
                        format!("`{word}`")
                    };
                    missing.insert(format!("{what} is missing from {name}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "`godepot --help` shows what a README does not name:\n  {}",
        missing.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn mentions_needs_a_word_boundary() {
    assert!(mentions("use `--json` here", "--json"));
    assert!(mentions("--json", "--json"));
    assert!(!mentions("--jsonl only", "--json"));
    assert!(!mentions("--json-lines only", "--json"));
}

#[test]
fn every_command_has_a_man_page_that_man_renders() {
    let dir = tempfile::tempdir().unwrap();
    crate::commands::man::write_pages(dir.path()).unwrap();
    let expected: BTreeSet<String> = visible_commands()
        .into_iter()
        .map(|(path, _)| format!("{}.1", path.join("-")))
        .collect();
    let written: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        written, expected,
        "one page per visible command, and no other"
    );
    for page in &written {
        let out = Process::new("man")
            .arg("-l")
            .arg(dir.path().join(page))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap_or_else(|e| panic!("cannot run `man -l` (install Debian's man-db): {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "man -l {page}: {}\n{stderr}",
            out.status
        );
        let name = page.trim_end_matches(".1");
        assert!(
            stdout.contains("NAME") && stdout.contains(name) && stdout.contains("OPTIONS"),
            "man -l {page} rendered:\n{stdout}"
        );
    }
}

#[test]
fn the_version_line_names_version_commit_and_date() {
    let line = crate::version::LINE.as_str();
    assert!(
        line.starts_with(concat!(env!("CARGO_PKG_VERSION"), " (commit ")),
        "{line}"
    );
    let built = crate::version::BUILD_DATE.as_str();
    assert!(
        built == "unknown" || (built.len() == 10 && built.as_bytes()[4] == b'-'),
        "{built}"
    );
    assert!(line.ends_with(&format!(", built {built})")), "{line}");
}
