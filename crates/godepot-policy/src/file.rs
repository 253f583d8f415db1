//! Reading the TOML file into a [`Policy`], and deciding with it.

use std::fmt;
use std::ops::Range;

use godepot_module::{ModulePath, Version, is_valid_glob, pick_latest};
use serde::Deserialize;
use toml::Spanned;

use crate::facts::{Facts, License};
use crate::range::VersionRange;
use crate::rule::{Action, Blocked, DecidedBy, Decision, Matcher, Rule, RuleRef};

/// The file as written. `deny_unknown_fields` everywhere: unknown keys are errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    default: Option<DefaultSpec>,
    #[serde(default, rename = "default-license")]
    default_license: Option<DefaultSpec>,
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
    #[serde(default)]
    module: Option<Spanned<String>>,
    #[serde(default)]
    versions: Option<Spanned<String>>,
    #[serde(default)]
    vulnerable: Option<Spanned<bool>>,
    #[serde(default)]
    ids: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    aliases: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    licenses: Option<Spanned<Vec<Spanned<String>>>>,
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
    /// What happens to a version whose licence is unknown when no rule matches it.
    default_license: Action,
    rules: Vec<Rule>,
}

impl Policy {
    /// The policy in force when there is no policy file: everything is allowed.
    pub fn allow_all() -> Self {
        Self {
            file: String::new(),
            default: Action::Allow,
            default_license: Action::Allow,
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
                let header = spec.span().start;
                build_rule(rule_ref, header, spec.into_inner(), text)
                    .map_err(|(offset, message)| at(Some(offset..offset), message))
            })
            .collect::<Result<_, _>>()?;
        let action = |d: Option<DefaultSpec>| match d {
            Some(DefaultSpec::Deny) => Action::Deny,
            Some(DefaultSpec::Allow) | None => Action::Allow,
        };
        Ok(Self {
            file: file.to_owned(),
            default: action(spec.default),
            default_license: action(spec.default_license),
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

    /// `default-license`: what happens to a version whose licence is unknown (its zip is
    /// held, nothing identified) when no rule matches it.
    pub fn default_license(&self) -> Action {
        self.default_license
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether some rule has `vulnerable = true`: the caller must then look up the
    /// advisories of each version it asks about.
    pub fn uses_advisories(&self) -> bool {
        self.rules.iter().any(Rule::uses_advisories)
    }

    /// Whether some rule has `licenses`, or `default-license = "deny"`: the caller must
    /// then find each version's licence (which needs its zip).
    pub fn uses_license(&self) -> bool {
        self.default_license == Action::Deny || self.rules.iter().any(Rule::uses_license)
    }

    /// Whether the policy allows everything whatever the facts (no rule, `default` and
    /// `default-license` "allow"): lets callers skip all look-ups.
    pub fn is_allow_all(&self) -> bool {
        self.rules.is_empty()
            && self.default == Action::Allow
            && self.default_license == Action::Allow
    }

    /// [`Policy::decide_with`] knowing nothing beyond the path and version: no advisory,
    /// licence not known yet. Rules on facts then never match.
    pub fn decide(&self, module: &ModulePath, version: &Version) -> Decision {
        self.decide_with(module, version, &Facts::default())
    }

    /// The first rule that matches decides; when none does, `default-license` for a
    /// version whose licence is [`License::Unknown`], else `default`.
    pub fn decide_with(&self, module: &ModulePath, version: &Version, facts: &Facts) -> Decision {
        let rule = (self.rules.iter()).find(|r| r.matches(module, version, facts));
        let (action, by, reason) = match rule {
            Some(rule) => (
                rule.at.action,
                DecidedBy::Rule(rule.at),
                rule.reason.clone(),
            ),
            None if facts.license == License::Unknown && self.default_license == Action::Deny => {
                (Action::Deny, DecidedBy::DefaultLicense, None)
            }
            None => (self.default, DecidedBy::Default, None),
        };
        let (advisories, licenses) = rule.map(|r| r.evidence(facts)).unwrap_or_default();
        match action {
            Action::Allow => Decision::Allow(by),
            Action::Deny => Decision::Deny(Blocked {
                module: module.clone(),
                version: version.clone(),
                by,
                reason,
                advisories,
                licenses,
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
        self.filter_versions_with(module, versions, |_| Facts::default())
    }

    /// [`Policy::filter_versions`] with the facts of each version (`facts`).
    pub fn filter_versions_with<'v>(
        &self,
        module: &ModulePath,
        versions: impl IntoIterator<Item = &'v Version>,
        facts: impl Fn(&Version) -> Facts,
    ) -> Vec<&'v Version> {
        versions
            .into_iter()
            .filter(|v| self.decide_with(module, v, &facts(v)).is_allowed())
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
    ) -> Result<Option<&'v Version>, Box<Blocked>> {
        self.latest_with(module, versions, |_| Facts::default())
    }

    /// [`Policy::latest`] with the facts of each version (`facts`).
    pub fn latest_with<'v>(
        &self,
        module: &ModulePath,
        versions: &'v [Version],
        facts: impl Fn(&Version) -> Facts,
    ) -> Result<Option<&'v Version>, Box<Blocked>> {
        let allowed = self.filter_versions_with(module, versions, &facts);
        if let Some(latest) = pick_latest(allowed) {
            return Ok(Some(latest));
        }
        match pick_latest(versions).map(|v| self.decide_with(module, v, &facts(v))) {
            Some(Decision::Deny(blocked)) => Err(Box::new(blocked)),
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
        if self.default_license == Action::Deny {
            writeln!(
                f,
                "default-license = {}",
                quote(self.default_license.as_str())
            )?;
        }
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
                    Matcher::Vulnerable { ids, aliases } => {
                        writeln!(f, "vulnerable = true")?;
                        if !ids.is_empty() {
                            writeln!(f, "ids = {}", quote_list(ids))?;
                        }
                        if !aliases.is_empty() {
                            writeln!(f, "aliases = {}", quote_list(aliases))?;
                        }
                    }
                    Matcher::Licenses(names) => writeln!(f, "licenses = {}", quote_list(names))?,
                }
            }
            if let Some(reason) = &rule.reason {
                writeln!(f, "reason = {}", quote(reason))?;
            }
        }
        Ok(())
    }
}

/// Checks one rule's values; errors carry the byte offset they point at (`header`: the
/// rule's `[[deny]]`/`[[allow]]`).
fn build_rule(
    at: RuleRef,
    header: usize,
    spec: RuleSpec,
    text: &str,
) -> Result<Rule, (usize, String)> {
    if spec.module.is_none() && spec.vulnerable.is_none() && spec.licenses.is_none() {
        return Err((
            header,
            "a rule needs `module`, `vulnerable = true` or `licenses`".into(),
        ));
    }
    let globs: Vec<String> = match spec.module {
        None => vec!["*".into()],
        Some(module) => {
            let module_at = module.span().start;
            let module = module.into_inner();
            let globs: Vec<String> = module.split(',').map(|g| g.trim().to_owned()).collect();
            if globs.iter().all(|g| g.is_empty()) {
                return Err((module_at, "`module` is empty".into()));
            }
            if let Some(bad) = globs.iter().find(|g| !is_valid_glob(g)) {
                return Err((module_at, format!("{bad:?} is not a valid glob pattern")));
            }
            globs
        }
    };
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
    let vulnerable = match spec.vulnerable {
        Some(v) if !*v.get_ref() => {
            return Err((
                v.span().start,
                "`vulnerable = false` matches nothing; write `vulnerable = true` or leave it out"
                    .into(),
            ));
        }
        Some(_) => true,
        None => false,
    };
    let ids = advisory_names("ids", spec.ids, vulnerable)?;
    let aliases = advisory_names("aliases", spec.aliases, vulnerable)?;
    if vulnerable {
        matchers.push(Matcher::Vulnerable { ids, aliases });
    }
    if let Some(list) = spec.licenses {
        let list_at = list.span().start;
        let list = list.into_inner();
        if list.is_empty() {
            return Err((list_at, "`licenses` is empty".into()));
        }
        let mut names = Vec::new();
        for name in list {
            let at = name.span().start;
            let name = name.into_inner();
            // Exact: `+` is no part of an identifier the detection reports.
            let Some(id) = spdx::license_id(&name).filter(|id| id.name == name) else {
                let hint = match spdx::imprecise_license_id(&name) {
                    Some((id, _)) => format!(" (did you mean {:?}?)", id.name),
                    None => String::new(),
                };
                return Err((
                    at,
                    format!("{name:?} is not an SPDX licence identifier{hint}"),
                ));
            };
            if !names.iter().any(|n| n == id.name) {
                names.push(id.name.to_owned());
            }
        }
        matchers.push(Matcher::Licenses(names));
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

/// The names of an `ids`/`aliases` list: non-empty words, which need `vulnerable = true`.
fn advisory_names(
    key: &str,
    list: Option<Spanned<Vec<Spanned<String>>>>,
    vulnerable: bool,
) -> Result<Vec<String>, (usize, String)> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let list_at = list.span().start;
    if !vulnerable {
        return Err((
            list_at,
            format!("`{key}` needs `vulnerable = true` in the same rule"),
        ));
    }
    let list = list.into_inner();
    if list.is_empty() {
        return Err((list_at, format!("`{key}` is empty")));
    }
    let mut names = Vec::new();
    for name in list {
        let bad = name.get_ref().is_empty()
            || name
                .get_ref()
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if bad {
            return Err((
                name.span().start,
                format!("{:?} is not an advisory id", name.get_ref()),
            ));
        }
        if !names.contains(name.get_ref()) {
            names.push(name.into_inner());
        }
    }
    Ok(names)
}

/// A TOML array of basic strings.
fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
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
