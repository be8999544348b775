//! Finds credentials in text and redacts them, keeping the kind: `[REDACTED:github-token]`.
//!
//! zdrive runs it on every intent summary, artifact and metadata value before storing them;
//! snapshots and perth's scrollback persistence run it on everything that leaves a pane.
//!
//! One [`RegexSet`] pass tells which rules can match at all; only those rules' own regexes
//! then run to find positions, so clean text (the common case) costs one scan. Each rule
//! names the capture group that holds the secret: a URL keeps its user and host and loses
//! only the password, an assignment keeps its key, a PEM block goes whole.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};

/// One kind of credential and how to recognise it.
struct Rule {
    /// What the redaction says, for example `github-token`.
    kind: &'static str,
    /// The pattern; group `secret` (if present) is the part to replace, else the whole match.
    pattern: &'static str,
    /// Whether the secret must look random (generic assignments only).
    needs_entropy: bool,
}

/// Every rule, in priority order: when two findings overlap, the earlier rule wins on ties.
const RULES: &[Rule] = &[
    Rule {
        kind: "private-key",
        pattern: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
        needs_entropy: false,
    },
    Rule {
        kind: "aws-access-key",
        pattern: r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[0-9A-Z]{16}\b",
        needs_entropy: false,
    },
    Rule {
        kind: "aws-secret-key",
        pattern: r#"(?i)\baws_?(?:secret_?access_?key|secret_?key|secret)["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        needs_entropy: false,
    },
    Rule {
        kind: "github-token",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        needs_entropy: false,
    },
    Rule {
        kind: "gitlab-token",
        pattern: r"\b(?:glpat|gldt|glrt|glptt|glcbt|glft|glsoat)-[A-Za-z0-9_\-]{20,}",
        needs_entropy: false,
    },
    Rule {
        kind: "anthropic-key",
        pattern: r"\bsk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_\-]{32,}",
        needs_entropy: false,
    },
    Rule {
        kind: "openai-key",
        pattern: r"\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
        needs_entropy: false,
    },
    Rule {
        kind: "slack-webhook",
        pattern: r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,}/[A-Z0-9]{6,}/[A-Za-z0-9]{16,}",
        needs_entropy: false,
    },
    Rule {
        kind: "slack-token",
        pattern: r"\bxox[abposre]-(?:[0-9]+-){1,3}[A-Za-z0-9]{10,}",
        needs_entropy: false,
    },
    Rule {
        kind: "stripe-key",
        pattern: r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,}\b",
        needs_entropy: false,
    },
    Rule {
        kind: "google-api-key",
        pattern: r"\bAIza[A-Za-z0-9_\-]{35}(?:[^A-Za-z0-9_\-]|$)",
        needs_entropy: false,
    },
    Rule {
        kind: "jwt",
        pattern: r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,}",
        needs_entropy: false,
    },
    Rule {
        kind: "npm-token",
        pattern: r"\bnpm_[A-Za-z0-9]{36}\b",
        needs_entropy: false,
    },
    Rule {
        kind: "sendgrid-key",
        pattern: r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?:[^A-Za-z0-9_\-]|$)",
        needs_entropy: false,
    },
    Rule {
        kind: "huggingface-token",
        pattern: r"\bhf_[A-Za-z0-9]{34,40}\b",
        needs_entropy: false,
    },
    Rule {
        kind: "url-password",
        pattern: r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:(?P<secret>[^\s@/]+)@[A-Za-z0-9\[]",
        needs_entropy: false,
    },
    Rule {
        kind: "generic-secret",
        pattern: r#"(?i)(?:\b|_)(?:password|passwd|pwd|passphrase|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|client[_\-]?secret|private[_\-]?key)["']?\s*(?::|=|:=|=>)\s*["']?(?P<secret>[^\s"'`,;<>\[\]{}()$]{8,})"#,
        needs_entropy: true,
    },
];

/// Bits per character a generic assignment's value needs to count as a secret.
const MIN_ENTROPY_BITS: f64 = 3.0;

/// A credential found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule that found it, for example `github-token`.
    pub kind: &'static str,
    /// The byte range that redaction replaces.
    pub range: Range<usize>,
}

/// A compiled set of rules; build it once ([`SecretFilter::global`]) and share it.
pub struct SecretFilter {
    prefilter: RegexSet,
    /// Each rule's own regex, compiled the first time the prefilter says it can match.
    rules: Vec<(&'static Rule, OnceLock<Regex>)>,
}

impl std::fmt::Debug for SecretFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretFilter")
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl Default for SecretFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretFilter {
    /// Compiles every rule.
    pub fn new() -> Self {
        // The patterns are constants covered by this crate's tests, so compiling cannot fail.
        let prefilter = RegexSet::new(RULES.iter().map(|r| r.pattern)).expect("rules compile");
        let rules = RULES.iter().map(|r| (r, OnceLock::new())).collect();
        Self { prefilter, rules }
    }

    /// Returns the process-wide filter, compiled on first use.
    pub fn global() -> &'static SecretFilter {
        static FILTER: OnceLock<SecretFilter> = OnceLock::new();
        FILTER.get_or_init(SecretFilter::new)
    }

    /// Returns the kinds this filter knows, in priority order.
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        RULES.iter().map(|r| r.kind)
    }

    /// Returns every credential in `text`, in order, without overlaps.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let candidates = self.prefilter.matches(text);
        if !candidates.matched_any() {
            return Vec::new();
        }
        let mut found: Vec<(usize, Finding)> = Vec::new();
        for index in candidates.iter() {
            let (rule, regex) = &self.rules[index];
            // The same pattern compiled in the set above, so it compiles here too.
            let regex = regex.get_or_init(|| Regex::new(rule.pattern).expect("rule compiles"));
            for caps in regex.captures_iter(text) {
                let Some(m) = caps.name("secret").or_else(|| caps.get(0)) else {
                    continue;
                };
                let mut range = m.range();
                if caps.name("secret").is_none() {
                    // Rules that end on a non-token character to bound the secret must not eat it.
                    let trimmed = m.as_str().trim_end_matches(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    });
                    if rule.kind != "private-key" {
                        range.end = range.start + trimmed.len();
                    }
                }
                if rule.needs_entropy && !looks_random(&text[range.clone()]) {
                    continue;
                }
                found.push((
                    index,
                    Finding {
                        kind: rule.kind,
                        range,
                    },
                ));
            }
        }
        // Earliest first; at the same start the longer one, then the higher-priority rule.
        found.sort_by(|(ia, a), (ib, b)| {
            a.range
                .start
                .cmp(&b.range.start)
                .then(b.range.end.cmp(&a.range.end))
                .then(ia.cmp(ib))
        });
        let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
        for (_, finding) in found {
            match kept.last_mut() {
                Some(last) if finding.range.start < last.range.end => {
                    // Overlapping: a specific rule inside a generic one names the kind better.
                    if last.kind == "generic-secret" && finding.kind != "generic-secret" {
                        let end = last.range.end.max(finding.range.end);
                        last.kind = finding.kind;
                        last.range.end = end;
                    } else {
                        last.range.end = last.range.end.max(finding.range.end);
                    }
                }
                _ => kept.push(finding),
            }
        }
        kept
    }

    /// Returns `text` with every credential replaced by `[REDACTED:<kind>]`; borrows when clean.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let findings = self.find(text);
        if findings.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in findings {
            out.push_str(&text[at..f.range.start]);
            out.push_str("[REDACTED:");
            out.push_str(f.kind);
            out.push(']');
            at = f.range.end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }
}

/// Redacts `text` with the process-wide filter.
pub fn redact(text: &str) -> Cow<'_, str> {
    SecretFilter::global().redact(text)
}

/// Returns the Shannon entropy of `s` in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a generic assignment's value looks like a credential rather than a word or placeholder.
fn looks_random(value: &str) -> bool {
    // Paths (`pwd: /home/dev/x`) and placeholders are not credentials.
    if value.starts_with(['/', '~', '.'])
        || value.starts_with("REDACTED")
        || value.chars().all(|c| c == '*' || c == 'x' || c == 'X')
    {
        return false;
    }
    let classes = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
        value.bytes().any(|b| !b.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|&&c| c)
    .count();
    classes >= 2 && shannon_entropy(value) >= MIN_ENTROPY_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            redact("fixed the login bug in api/auth.rs"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn redaction_keeps_the_kind_and_the_surroundings() {
        let token = format!("ghp_{}", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");
        assert_eq!(
            redact(&format!("pushed with {token} today")),
            "pushed with [REDACTED:github-token] today"
        );
    }

    #[test]
    fn url_passwords_lose_only_the_password() {
        assert_eq!(
            redact("redis://zdrive:Sup3r-s3cret@cache.local:6379/0"),
            "redis://zdrive:[REDACTED:url-password]@cache.local:6379/0"
        );
        assert_eq!(
            redact("postgres://:pw@db/x"),
            "postgres://:[REDACTED:url-password]@db/x"
        );
    }

    #[test]
    fn pem_blocks_go_whole() {
        let text = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\ndef==\n-----END RSA PRIVATE KEY-----\nafter";
        assert_eq!(redact(text), "key:\n[REDACTED:private-key]\nafter");
    }

    #[test]
    fn generic_assignments_need_entropy() {
        assert_eq!(
            redact("password=Xk9#mQ2vLp7w"),
            "password=[REDACTED:generic-secret]"
        );
        assert_eq!(redact("password=changeme"), "password=changeme");
        assert_eq!(redact("token: ${GITHUB_TOKEN}"), "token: ${GITHUB_TOKEN}");
    }

    #[test]
    fn entropy_of_simple_strings() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
    }
}
