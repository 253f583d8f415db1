//! Reading the TOML file into a [`Policy`], and deciding with it.

use std::fmt;
use std::ops::Range;

use godepot_module::{ModulePath, Version, is_valid_glob, pick_latest};
use serde::Deserialize;
use toml::Spanned;

use crate::range::VersionRange;
use crate::rule::{Action, Blocked, DecidedBy, Decision, Matcher, Rule, RuleRef};

/// The file as written. `deny_unknown_fields` everywhere: unknown keys are errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    default: Option<DefaultSpec>,
    #[serde(default)]
    deny: Vec<Spanned<RuleSpec>>,
    #[serde(default)]
    allow: Vec<Spanned<RuleSpec>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum DefaultSpec {
    Allow,
    Deny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    module: Spanned<String>,
    #[serde(default)]
    versions: Option<Spanned<String>>,
    #[serde(default)]
    reason: Option<Spanned<String>>,
}

/// A policy file that failed to parse: `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A parsed policy: the rules in file order and the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    file: String,
    default: Action,
    rules: Vec<Rule>,
}

impl Policy {
    /// The policy in force when there is no policy file: everything is allowed.
    pub fn allow_all() -> Self {
        Self {
            file: String::new(),
            default: Action::Allow,
            rules: Vec::new(),
        }
    }

    /// Parses the policy file's `text`; `file` is only used in error messages.
    pub fn parse(file: &str, text: &str) -> Result<Self, PolicyError> {
        let at = |span: Option<Range<usize>>, message: String| {
            let (line, column) = line_column(text, span.map_or(0, |s| s.start));
            PolicyError {
                file: file.to_owned(),
                line,
                column,
                message,
            }
        };
        let spec: FileSpec =
            toml::from_str(text).map_err(|e| at(e.span(), e.message().to_owned()))?;
        let mut specs: Vec<(Action, Spanned<RuleSpec>)> = (spec.deny.into_iter())
            .map(|r| (Action::Deny, r))
            .chain(spec.allow.into_iter().map(|r| (Action::Allow, r)))
            .collect();
        // The two arrays lose their interleaving; the position in the text restores it.
        specs.sort_by_key(|(_, r)| r.span().start);
        let rules = specs
            .into_iter()
            .enumerate()
            .map(|(i, (action, spec))| {
                // A table's span is its `[[deny]]`/`[[allow]]` header.
                let rule_ref = RuleRef {
                    index: i + 1,
                    action,
                    line: line_column(text, spec.span().start).0,
                };
                build_rule(rule_ref, spec.into_inner(), text)
                    .map_err(|(offset, message)| at(Some(offset..offset), message))
            })
            .collect::<Result<_, _>>()?;
        let default = match spec.default {
            Some(DefaultSpec::Deny) => Action::Deny,
            Some(DefaultSpec::Allow) | None => Action::Allow,
        };
        Ok(Self {
            file: file.to_owned(),
            default,
            rules,
        })
    }

    /// The name the policy was parsed under (empty for [`Policy::allow_all`]).
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn default_action(&self) -> Action {
        self.default
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule that matches decides; when none does, the default.
    pub fn decide(&self, module: &ModulePath, version: &Version) -> Decision {
        let (action, by, reason) = match self.rules.iter().find(|r| r.matches(module, version)) {
            Some(rule) => (
                rule.at.action,
                DecidedBy::Rule(rule.at),
                rule.reason.clone(),
            ),
            None => (self.default, DecidedBy::Default, None),
        };
        match action {
            Action::Allow => Decision::Allow(by),
            Action::Deny => Decision::Deny(Blocked {
                module: module.clone(),
                version: version.clone(),
                by,
                reason,
            }),
        }
    }

    /// The versions of `module` that the policy allows, in their given order: what a
    /// `list` answer keeps.
    pub fn filter_versions<'v>(
        &self,
        module: &ModulePath,
        versions: impl IntoIterator<Item = &'v Version>,
    ) -> Vec<&'v Version> {
        versions
            .into_iter()
            .filter(|v| self.decide(module, v).is_allowed())
            .collect()
    }

    /// What `@latest` answers among `versions` (the go command's preference, see
    /// [`pick_latest`]) once blocked versions are left out. `Ok(None)` when there are
    /// no versions at all; `Err` when every one is blocked, carrying the refusal of
    /// the version that would have been latest, whose reason the 403 answer gives.
    pub fn latest<'v>(
        &self,
        module: &ModulePath,
        versions: &'v [Version],
    ) -> Result<Option<&'v Version>, Blocked> {
        let allowed = self.filter_versions(module, versions);
        if let Some(latest) = pick_latest(allowed) {
            return Ok(Some(latest));
        }
        match pick_latest(versions).map(|v| self.decide(module, v)) {
            Some(Decision::Deny(blocked)) => Err(blocked),
            _ => Ok(None),
        }
    }
}

/// No policy: everything allowed.
impl Default for Policy {
    fn default() -> Self {
        Policy::allow_all()
    }
}

/// The policy in force, as a TOML file equivalent to the one parsed (normal form,
/// one comment per rule with its number and line): what "show the policy" answers.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "default = {}", quote(self.default.as_str()))?;
        for rule in &self.rules {
            let RuleRef { index, line, .. } = rule.at;
            writeln!(
                f,
                "\n[[{}]] # rule {index}, line {line}",
                rule.at.action.as_str()
            )?;
            writeln!(f, "module = {}", quote(&rule.module))?;
            for matcher in &rule.matchers {
                match matcher {
                    Matcher::Versions(range) => {
                        writeln!(f, "versions = {}", quote(&range.to_string()))?
                    }
                }
            }
            if let Some(reason) = &rule.reason {
                writeln!(f, "reason = {}", quote(reason))?;
            }
        }
        Ok(())
    }
}

/// Checks one rule's values; errors carry the byte offset they point at.
fn build_rule(at: RuleRef, spec: RuleSpec, text: &str) -> Result<Rule, (usize, String)> {
    let module_at = spec.module.span().start;
    let module = spec.module.into_inner();
    let globs: Vec<&str> = module.split(',').map(str::trim).collect();
    if globs.iter().all(|g| g.is_empty()) {
        return Err((module_at, "`module` is empty".into()));
    }
    if let Some(bad) = globs.iter().find(|g| !is_valid_glob(g)) {
        return Err((module_at, format!("{bad:?} is not a valid glob pattern")));
    }
    let mut matchers = Vec::new();
    if let Some(versions) = spec.versions {
        let start = versions.span().start;
        let range = VersionRange::parse(versions.get_ref()).map_err(|e| {
            (
                offset_in_string(text, start, versions.get_ref(), e.offset),
                e.to_string(),
            )
        })?;
        matchers.push(Matcher::Versions(range));
    }
    let reason = match spec.reason {
        Some(r) if r.get_ref().chars().any(char::is_control) => {
            return Err((r.span().start, "`reason` must be one line of text".into()));
        }
        Some(r) if r.get_ref().trim().is_empty() => None,
        Some(r) => Some(r.into_inner().trim().to_owned()),
        None => None,
    };
    Ok(Rule {
        at,
        module: globs.join(","),
        matchers,
        reason,
    })
}

/// The byte offset in the file of byte `offset` of a string value whose token starts
/// at `token_start`. Exact for strings written without escapes (the usual case);
/// otherwise the token itself is pointed at.
fn offset_in_string(text: &str, token_start: usize, value: &str, offset: usize) -> usize {
    let quote_len =
        if text[token_start..].starts_with("\"\"\"") || text[token_start..].starts_with("'''") {
            3
        } else {
            1
        };
    let body = token_start + quote_len;
    match text.get(body..body + value.len()) {
        Some(raw) if raw == value => body + offset,
        _ => token_start,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
