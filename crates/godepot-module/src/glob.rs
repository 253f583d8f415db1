//! Shell-style pattern matching over one slash-separated path, with the semantics
//! of Go's `path.Match`: `*` and `?` never cross a `/`, classes are `[a-z]` with
//! `^` for negation, `\` escapes. A malformed pattern matches nothing, which is
//! how the go command treats a bad GOPRIVATE entry.

/// Reports whether the whole of `name` matches `pattern`.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    well_formed(&pattern) && match_here(&pattern, &name)
}

fn match_here(pattern: &[char], name: &[char]) -> bool {
    let Some((&first, rest)) = pattern.split_first() else {
        return name.is_empty();
    };
    match first {
        // Try every split of the current element, shortest first.
        '*' => (0..=name.len())
            .take_while(|&n| n == 0 || name[n - 1] != '/')
            .any(|n| match_here(rest, &name[n..])),
        _ => match name.split_first() {
            None => false,
            Some((&c, name_rest)) => match match_one(pattern, c) {
                Some(consumed) => match_here(&pattern[consumed..], name_rest),
                None => false,
            },
        },
    }
}

/// Matches the single-character pattern item at the start of `pattern` against
/// `c`; returns how many pattern chars it used, or `None` on mismatch.
fn match_one(pattern: &[char], c: char) -> Option<usize> {
    match pattern[0] {
        '?' => (c != '/').then_some(1),
        '\\' => (pattern.get(1) == Some(&c)).then_some(2),
        '[' => {
            let (matched, used) = match_class(&pattern[1..], c)?;
            (matched && c != '/').then_some(used + 1)
        }
        p => (p == c).then_some(1),
    }
}

/// Evaluates a class body (after `[`); returns (whether `c` is in it, chars used
/// including the closing `]`). `None` if the class is unterminated.
fn match_class(body: &[char], c: char) -> Option<(bool, usize)> {
    let negated = body.first() == Some(&'^');
    let mut i = usize::from(negated);
    let mut found = false;
    let mut first = true;
    loop {
        let &ch = body.get(i)?;
        if ch == ']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        let (lo, used) = class_char(&body[i..])?;
        i += used;
        let mut hi = lo;
        if body.get(i) == Some(&'-') && body.get(i + 1) != Some(&']') {
            let (h, used) = class_char(&body[i + 1..])?;
            hi = h;
            i += 1 + used;
        }
        found |= lo <= c && c <= hi;
    }
}

/// One (possibly escaped) character inside a class.
fn class_char(s: &[char]) -> Option<(char, usize)> {
    match s {
        ['\\', c, ..] => Some((*c, 2)),
        ['\\'] | [] => None,
        ['-' | ']', ..] => None,
        [c, ..] => Some((*c, 1)),
    }
}

/// Reports whether `pattern` is well formed (see [`well_formed`]): what a caller that
/// must not let a typo silently match nothing (a policy file) checks up front.
pub(crate) fn is_well_formed(pattern: &str) -> bool {
    well_formed(&pattern.chars().collect::<Vec<_>>())
}

/// Rejects unterminated classes, empty classes and trailing backslashes anywhere in
/// the pattern, even past the point where matching would stop (as Go does).
fn well_formed(pattern: &[char]) -> bool {
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            '\\' if i + 1 >= pattern.len() => return false,
            '\\' => i += 2,
            '[' => match match_class(&pattern[i + 1..], '\0') {
                Some((_, used)) => i += used + 1,
                None => return false,
            },
            _ => i += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn match_table() {
        fn check(pattern: &str, name: &str, expect: bool) {
            assert_eq!(matches(pattern, name), expect, "{pattern:?} vs {name:?}");
        }
        check("abc", "abc", true);
        check("*", "abc", true);
        check("*c", "abc", true);
        check("a*", "a", true);
        check("a*/b", "abc/b", true);
        check("a*b*c*d*e*/f", "axbxcxdxe/f", true);
        check("a*b*c*d*e*/f", "axbxcxdxexxx/f", true);
        check("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false);
        check("a*", "ab/c", false);
        check("a?b", "a/b", false);
        check("a?b", "acb", true);
        check("[a-ζ]*", "α", true);
        check("[^a-c]", "b", false);
        check("[^a-c]", "d", true);
        check("a[", "a", false);
        check("[]a]", "]", false);
        check("[-]", "-", false);
        check("[x-]", "x", false);
        check("\\*", "*", true);
        check("a\\", "a", false);
        check("*x", "xxx", true);
        check("a[b]c[", "abc", false);
    }
}
