//! Finds credentials in text and redacts them, keeping the kind: `[REDACTED:github-token]`.
//!
//! zdrive runs it on every intent summary, artifact and metadata value before storing them;
//! snapshots and perth's scrollback persistence run it on everything that leaves a pane.
//!
//! Two sets of formats: this crate's own (the kinds zdrive has always named, first, so they win
//! ties), then one per rule of gitleaks' default configuration (`formats`), named by gitleaks'
//! rule id. One Aho-Corasick pass finds every format's keywords (case-insensitively), so clean
//! text costs one scan; a format's regex then runs only on the lines around its keywords. Each
//! format says which part is the secret: a URL keeps its user and host and loses only the
//! password, an assignment keeps its name, a PEM block goes whole.
//!
//! gitleaks rules without a format here, and why:
//! - `pkcs12-file`: it matches a file's path (`*.p12`, `*.pfx`), not text; the filter sees only
//!   text.
//! - `generic-api-key`: its counterpart is this crate's `generic-secret`: a name such as
//!   `password`, `secret`, `token` or `api_key`, an assignment, and a value that looks random
//!   (more than 3.5 bits a character, gitleaks' cut). Where gitleaks keeps a list of stop words
//!   and of names, this crate reads the name and the value: a name that only describes a
//!   credential (`credentialsId`, `SECRET_NAME`, `access_token_url`, `secret_length`,
//!   `TokenFile`), a public or CSRF token, a vault's name, and a value that reads as words
//!   (`ACCESS_TOKEN`, `var.db_password`), names a stand-in (`test`, `example`, `your`), ends in a
//!   version, or stops at a `:` (URLs, `host:port`) are not credentials.
//! - `gcp-service-account`: its sample is the marker `"type": "service_account"`, which is not a
//!   secret; the secret of a service-account key file is its `private_key`, which `private-key`
//!   redacts.
//!
//! Every format leaves placeholders alone: variables (`${TOKEN}`), values masked with `x`, `*`
//! or `#` (`ghp_xxxx...`, `sha256~XXXX_PUT_YOUR_TOKEN_HERE`), elided values (`ops_eyJ...`),
//! and values nearly all one character (`AIzaaaaa...`); generic assignments, Anthropic keys and
//! Google keys also leave values typed by hand alone (the alphabet typed out, eight letters in
//! a row, or `0123456789`), as gitleaks' samples of those rules ask. AWS's published example
//! keys (`...EXAMPLE`) and keys published on purpose (Google's sample apps' keys, yarn's Algolia
//! search key, the sample passwords of NuGet's documentation) are not redacted.
//!
//! The labelled corpus is `tests/corpus/`: our own cases (`positives.tsv`, `negatives.tsv`) and
//! gitleaks' samples for every rule (`gitleaks/`); its test prints recall and the false-positive
//! rate. `gitleaks/exceptions.tsv` lists, each with its reason, the samples treated otherwise
//! than gitleaks' test does:
//! - 3 true positives left alone: two Anthropic keys typed by hand (`abc123xyz-...-
//!   klmnopqrstuvwx`) and the service-account marker above; none is a secret.
//! - 30 false positives redacted, each one gitleaks' own configuration flags too or cannot tell
//!   from a secret: 16 Cloudflare samples that are, word for word, true positives of a sibling
//!   Cloudflare rule; 3 that are true positives of the same rule told apart only by a file's
//!   path (Freemius, Terraform, NuGet); 9 token-shaped values assigned to token or key names
//!   (Meraki, Settlemint, Slack, Databricks), which gitleaks' `generic-api-key` flags; a signed
//!   JWT in a curl header, which gitleaks' `jwt` flags; and a Mailchimp key passed to its SDK,
//!   which gitleaks' own test calls a false negative of its rule.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexBuilder};

mod formats;

/// How a credential is written.
pub(crate) enum Shape {
    /// A value assigned to one of `names` (a regex alternation): `NAME_token = "VALUE"`,
    /// `"name": "VALUE"`, `NAME: VALUE`. The names match in any case; the value too when
    /// `any_case`.
    Assigned {
        names: &'static str,
        value: &'static str,
        any_case: bool,
    },
    /// A token that says what it is (`ghp_...`), standing on its own.
    Token { value: &'static str, any_case: bool },
    /// A pattern of its own; its group `secret`, or `secret_group`, or its first group that
    /// matched, is the secret.
    Pattern(&'static str),
}

/// A match that is not a credential after all.
pub(crate) enum Allow {
    /// The secret matches this.
    Secret(&'static str),
    /// The whole match matches this.
    Match(&'static str),
}

/// How far from a keyword a format's match can reach.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// The keyword's line and the next one.
    Line,
    /// A block of lines around the keyword (a PEM key, a YAML document, a curl command).
    Block,
}

/// One kind of credential and how to recognise it.
pub(crate) struct Format {
    /// What the redaction says, for example `github-token`.
    pub(crate) id: &'static str,
    /// Words one of which every match holds (lowercase; found in any case).
    pub(crate) keywords: &'static [&'static str],
    pub(crate) shape: Shape,
    /// The group that holds the secret (0: the `secret` group, else the first that matched).
    pub(crate) secret_group: usize,
    /// Bits per character the secret needs (0: any).
    pub(crate) min_entropy: f64,
    pub(crate) allow: &'static [Allow],
    pub(crate) span: Span,
}

impl Format {
    /// Returns the regex this format runs.
    fn pattern(&self) -> Cow<'static, str> {
        // What may stand between a name and its value: more of the name (`_API_TOKEN`),
        // quotes and spaces, and an assignment (`=`, `:`, `:=`, `=>`, `?=`, `||`, `,`).
        const BETWEEN: &str =
            r#"[ \t\w.-]{0,20}[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)[\x60'"\s=]{0,5}"#;
        // What may follow a value: a quote, a space, `;`, an escaped line end or the end.
        const AFTER: &str = r#"(?:[\x60'"\s;]|\\[nr]|$)"#;
        match self.shape {
            Shape::Assigned {
                names,
                value,
                any_case,
            } => {
                let case = if any_case { "(?i)" } else { "" };
                Cow::Owned(format!(
                    "{case}(?i:{names}){BETWEEN}(?P<secret>{value}){AFTER}"
                ))
            }
            Shape::Token { value, any_case } => {
                let case = if any_case { "(?i)" } else { "" };
                Cow::Owned(format!(r"{case}\b(?P<secret>{value}){AFTER}"))
            }
            Shape::Pattern(p) => Cow::Borrowed(p),
        }
    }
}

const fn own(
    id: &'static str,
    keywords: &'static [&'static str],
    pattern: &'static str,
    min_entropy: f64,
) -> Format {
    Format {
        id,
        keywords,
        shape: Shape::Pattern(pattern),
        secret_group: 0,
        min_entropy,
        allow: &[],
        span: Span::Line,
    }
}

/// This crate's own formats, in priority order: when two findings overlap, the earlier format
/// wins on ties. `generic-secret` is last and also needs a random-looking value.
const OWN: &[Format] = &[
    Format {
        span: Span::Block,
        ..own(
            "private-key",
            &["-----begin"],
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?s:.{64,}?)-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
            0.0,
        )
    },
    Format {
        // AWS's documentation writes its example keys with this ending (`AKIAIOSFODNN7EXAMPLE`).
        allow: &[Allow::Secret("EXAMPLE$")],
        ..own(
            "aws-access-key",
            &[
                "akia", "asia", "abia", "acca", "aida", "aroa", "aipa", "anpa", "anva", "agpa",
            ],
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[0-9A-Z]{16}\b",
            0.0,
        )
    },
    own(
        "aws-secret-key",
        &["aws"],
        r#"(?i)\baws_?(?:secret_?access_?key|secret_?key|secret)["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        0.0,
    ),
    own(
        "github-token",
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_\w{82})\b",
        0.0,
    ),
    own(
        "gitlab-token",
        &[
            "glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glsoat-",
        ],
        r"\b(?:glpat|gldt|glrt|glptt|glcbt|glft|glsoat)-[A-Za-z0-9_\-]{20,}",
        0.0,
    ),
    own(
        "anthropic-key",
        &["sk-ant-"],
        r"\bsk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_\-]{32,}",
        0.0,
    ),
    own(
        "openai-key",
        &["sk-proj-", "sk-svcacct-", "sk-admin-", "t3blbkfj"],
        r"\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
        0.0,
    ),
    own(
        "slack-webhook",
        &["hooks.slack.com"],
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,}/[A-Z0-9]{6,}/[A-Za-z0-9]{16,}",
        0.0,
    ),
    Format {
        // Slack's ids are 8 to 13 digits, and a token's random part is not digits alone
        // (`xoxp-1234-1234-...`, `...-572331691188-####` are stand-ins).
        allow: &[Allow::Secret("-[0-9]+$")],
        ..own(
            "slack-token",
            &["xox"],
            r"\bxox[abposre]-(?:[0-9]{8,13}-){1,3}[A-Za-z0-9]{10,}",
            0.0,
        )
    },
    own(
        "stripe-key",
        &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
        r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,}\b",
        0.0,
    ),
    Format {
        allow: formats::PUBLISHED_GOOGLE_KEYS,
        ..own(
            "google-api-key",
            &["aiza"],
            r"\bAIza[A-Za-z0-9_\-]{35}(?:[^A-Za-z0-9_\-]|$)",
            0.0,
        )
    },
    own(
        "jwt",
        &["eyj"],
        r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,}",
        0.0,
    ),
    own("npm-token", &["npm_"], r"\bnpm_[A-Za-z0-9]{36}\b", 0.0),
    own(
        "sendgrid-key",
        &["sg."],
        r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?:[^A-Za-z0-9_\-]|$)",
        0.0,
    ),
    own(
        "huggingface-token",
        &["hf_"],
        r"\bhf_[A-Za-z0-9]{34,40}\b",
        0.0,
    ),
    own(
        "url-password",
        &["://"],
        r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:(?P<secret>[^\s@/]+)@[A-Za-z0-9\[]",
        0.0,
    ),
    own(
        "generic-secret",
        &["pass", "pwd", "secret", "token", "key", "cred", "auth"],
        // A name holding one of the words, maybe a type (`var apiToken string = ...`), an
        // assignment, and a value of 10 characters or more that ends where values end. The
        // value stops at `:` (a URL, a `host:port`, an `id:rest` pair are not one secret) and
        // does not run onto the next line, except into an XML element's body. Names are ASCII:
        // Unicode's word class would make the automaton hundreds of times larger.
        r#"(?i)(?P<kw>password|passwd|pwd|passphrase|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|client[_\-]?secret|private[_\-]?key|credentials?|creds|auth)[0-9A-Za-z_.-]{0,20}["']?[ \t0-9A-Za-z_.-]{0,20}?["']?[ \t]*(?::{1,3}=|\?=|\.=|=>|=|:|,|>\s*)[ \t]*["'`]?(?P<secret>[^\s"'`,;<>\[\]{}()$:\\]{10,})(?:["'`\s,;<>\[\]{}()]|\\[nrt]|$)"#,
        0.0,
    ),
];

/// Values published on purpose, which a generic assignment may hold: yarn's Algolia search key
/// (read-only, in every copy of yarn's source; yarnpkg/berry#6201) and the sample passwords of
/// NuGet's documentation of `nuget.config`.
const PUBLISHED_KEYS: &[&str] = &[
    "6fe4476ee5a1832882e326b506d14126",
    "hal+9ooo_da!sY",
    "33f!!lloppa",
];

/// The format whose value must also look random ([`looks_random`]).
const GENERIC: &str = "generic-secret";

/// Bits per character a generic assignment's value needs to exceed to count as a secret:
/// gitleaks' cut for its generic rule (sixteen random lower-case letters and digits fall on
/// either side of it).
const MIN_ENTROPY_BITS: f64 = 3.5;

/// How far a line reaches from a keyword at most, each way (longer lines are cut there).
const LINE_REACH: usize = 4096;

/// How many lines a block reaches back from its keyword's (a YAML document names its `kind`
/// after its `data`).
const BLOCK_LINES: usize = 64;

/// How far a block reaches from a keyword at most, each way.
const BLOCK_REACH: usize = 64 * 1024;

/// A credential found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The format that found it, for example `github-token`.
    pub kind: &'static str,
    /// The byte range that redaction replaces.
    pub range: Range<usize>,
}

/// A format ready to run: its regex (compiled on first use) and its exceptions.
struct Compiled {
    format: &'static Format,
    regex: OnceLock<Option<Regex>>,
    allow: OnceLock<Vec<(u8, Regex)>>,
}

impl Compiled {
    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| {
                // Formats are constants covered by this crate's tests; one that fails to
                // compile finds nothing rather than taking the caller down.
                RegexBuilder::new(&self.format.pattern())
                    .size_limit(64 << 20)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    fn allowed(&self, secret: &str, whole: &str) -> bool {
        let allow = self.allow.get_or_init(|| {
            self.format
                .allow
                .iter()
                .filter_map(|a| {
                    let (target, p) = match a {
                        Allow::Secret(p) => (0, p),
                        Allow::Match(p) => (1, p),
                    };
                    Regex::new(p).ok().map(|r| (target, r))
                })
                .collect()
        });
        allow
            .iter()
            .any(|(target, r)| r.is_match(if *target == 0 { secret } else { whole }))
    }
}

/// The length from which a text is scanned with the keyword DFA.
const DFA_FROM: usize = 64 << 10;

/// Returns the case-insensitive scan for `words` as an automaton of `kind`.
fn keyword_scan(words: &[&'static str], kind: AhoCorasickKind) -> AhoCorasick {
    // The keywords are constants covered by this crate's tests, so building cannot fail.
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(kind))
        .build(words)
        .expect("keywords build")
}

/// A compiled set of formats; build it once ([`SecretFilter::global`]) and share it.
pub struct SecretFilter {
    /// Every format's keywords, in the order of the automata's pattern ids.
    words: Vec<&'static str>,
    /// The keyword scan for short texts: a contiguous NFA, quick to build (a one-line `zdrive
    /// pane log` is done before a DFA of all keywords would be built).
    keywords: AhoCorasick,
    /// The same scan as a DFA, built on the first text of [`DFA_FROM`] bytes or more: the
    /// fastest per byte, for snapshots of whole panes.
    keywords_dfa: OnceLock<AhoCorasick>,
    /// For each keyword, the formats that hold it.
    keyword_formats: Vec<Vec<usize>>,
    formats: Vec<Compiled>,
}

impl std::fmt::Debug for SecretFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretFilter")
            .field("formats", &self.formats.len())
            .finish()
    }
}

impl Default for SecretFilter {
    fn default() -> Self {
        Self::new()
    }
}

fn all_formats() -> impl Iterator<Item = &'static Format> {
    OWN.iter().chain(formats::FORMATS)
}

impl SecretFilter {
    /// Compiles the keyword scan; each format's regex is compiled the first time it can match.
    pub fn new() -> Self {
        let mut words: Vec<&'static str> = Vec::new();
        let mut keyword_formats: Vec<Vec<usize>> = Vec::new();
        let formats: Vec<Compiled> = all_formats()
            .map(|format| Compiled {
                format,
                regex: OnceLock::new(),
                allow: OnceLock::new(),
            })
            .collect();
        for (i, c) in formats.iter().enumerate() {
            for &k in c.format.keywords {
                match words.iter().position(|w| *w == k) {
                    Some(at) => keyword_formats[at].push(i),
                    None => {
                        words.push(k);
                        keyword_formats.push(vec![i]);
                    }
                }
            }
        }
        Self {
            keywords: keyword_scan(&words, AhoCorasickKind::ContiguousNFA),
            keywords_dfa: OnceLock::new(),
            words,
            keyword_formats,
            formats,
        }
    }

    /// Returns the process-wide filter, compiled on first use.
    pub fn global() -> &'static SecretFilter {
        static FILTER: OnceLock<SecretFilter> = OnceLock::new();
        FILTER.get_or_init(SecretFilter::new)
    }

    /// Returns the kinds this filter knows, in priority order: its own, then gitleaks' rule ids.
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        all_formats().map(|f| f.id)
    }

    /// Returns the kinds of this crate's own formats.
    pub fn own_kinds() -> impl Iterator<Item = &'static str> {
        OWN.iter().map(|f| f.id)
    }

    /// Returns every credential in `text`, in order, without overlaps.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let bytes = text.as_bytes();
        // For each format, the stretches of text around its keywords.
        let mut windows: Vec<(usize, Range<usize>)> = Vec::new();
        let keywords = if text.len() >= DFA_FROM {
            self.keywords_dfa
                .get_or_init(|| keyword_scan(&self.words, AhoCorasickKind::DFA))
        } else {
            &self.keywords
        };
        for hit in keywords.find_overlapping_iter(text) {
            for &f in &self.keyword_formats[hit.pattern().as_usize()] {
                let window = match self.formats[f].format.span {
                    // The line before too: an XML element names a value on the next line
                    // (`<lobToken>\n    test_...`).
                    Span::Line => line_window(bytes, hit.start(), hit.end(), LINE_REACH, 1, 2),
                    Span::Block => {
                        line_window(bytes, hit.start(), hit.end(), BLOCK_REACH, BLOCK_LINES, 64)
                    }
                };
                windows.push((f, window));
            }
        }
        if windows.is_empty() {
            return Vec::new();
        }
        windows.sort_by_key(|(f, w)| (*f, w.start));
        let mut merged: Vec<(usize, Range<usize>)> = Vec::with_capacity(windows.len());
        for (f, w) in windows {
            match merged.last_mut() {
                Some((lf, lw)) if *lf == f && w.start <= lw.end => lw.end = lw.end.max(w.end),
                _ => merged.push((f, w)),
            }
        }
        let mut found: Vec<(usize, Finding)> = Vec::new();
        for (index, window) in merged {
            self.find_in(index, text, window, &mut found);
        }
        // Earliest first; at the same start the longer one, then the higher-priority format.
        found.sort_by(|(ia, a), (ib, b)| {
            a.range
                .start
                .cmp(&b.range.start)
                .then(b.range.end.cmp(&a.range.end))
                .then(ia.cmp(ib))
        });
        found.dedup_by(|(_, b), (_, a)| a.range == b.range);
        let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
        for (_, finding) in found {
            match kept.last_mut() {
                Some(last) if finding.range.start < last.range.end => {
                    // Overlapping: a specific format inside a generic one names the kind better.
                    if last.kind == GENERIC && finding.kind != GENERIC {
                        last.kind = finding.kind;
                    }
                    last.range.end = last.range.end.max(finding.range.end);
                }
                _ => kept.push(finding),
            }
        }
        kept
    }

    /// Runs format `index` over `window` of `text`, adding what it finds.
    fn find_in(
        &self,
        index: usize,
        text: &str,
        window: Range<usize>,
        found: &mut Vec<(usize, Finding)>,
    ) {
        let compiled = &self.formats[index];
        let format = compiled.format;
        let Some(regex) = compiled.regex() else {
            return;
        };
        let Some(hay) = text.get(window.clone()) else {
            return;
        };
        for caps in regex.captures_iter(hay) {
            let Some(whole) = caps.get(0) else { continue };
            let secret = if format.secret_group > 0 {
                caps.get(format.secret_group)
            } else {
                caps.name("secret")
                    .or_else(|| caps.iter().skip(1).flatten().find(|m| !m.is_empty()))
            };
            let own_group = secret.is_some();
            let Some(m) = secret.or(Some(whole)) else {
                continue;
            };
            let mut range = m.range();
            if !own_group && format.id != "private-key" {
                // A pattern that ends on a non-token character to bound the secret must not
                // eat it.
                let trimmed = m.as_str().trim_end_matches(|c: char| {
                    !(c.is_ascii_alphanumeric() || c == '_' || c == '-')
                });
                range.end = range.start + trimmed.len();
            }
            let value = &hay[range.clone()];
            if value.is_empty() {
                continue;
            }
            if format.min_entropy > 0.0 && shannon_entropy(value) < format.min_entropy {
                continue;
            }
            if format.id == GENERIC {
                let name = caps
                    .name("kw")
                    .map_or("", |kw| identifier_around(hay, kw.range()));
                if !names_a_secret(name) || !looks_random(value) {
                    continue;
                }
            }
            if is_placeholder(value)
                || (TYPED_EXAMPLES.contains(&format.id) && typed_sequence(value))
            {
                continue;
            }
            if !format.allow.is_empty() && compiled.allowed(value, whole.as_str()) {
                continue;
            }
            found.push((
                index,
                Finding {
                    kind: format.id,
                    range: window.start + range.start..window.start + range.end,
                },
            ));
        }
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

/// Returns the lines around `start..end`: from the start of the `before`-th line before the one
/// holding `start` to the end of the `lines`-th line after it, at most `reach` bytes each way,
/// on char boundaries.
fn line_window(
    bytes: &[u8],
    start: usize,
    end: usize,
    reach: usize,
    before: usize,
    lines: usize,
) -> Range<usize> {
    let floor = start.saturating_sub(reach);
    let from = bytes[floor..start]
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, &b)| b == b'\n')
        .nth(before)
        .map_or(floor, |(i, _)| floor + i + 1);
    let ceiling = (end + reach).min(bytes.len());
    let mut to = end;
    let mut seen = 0;
    while to < ceiling {
        if bytes[to] == b'\n' {
            seen += 1;
            if seen == lines {
                break;
            }
        }
        to += 1;
    }
    let boundary = |mut i: usize, up: bool| {
        while i > 0 && i < bytes.len() && (bytes[i] & 0xC0) == 0x80 {
            if up {
                i += 1;
            } else {
                i -= 1;
            }
        }
        i
    };
    boundary(from, false)..boundary(to, true)
}

/// Whether a value is a placeholder rather than a credential: a variable (`${TOKEN}`,
/// `$TOKEN`, `%TOKEN%`, `{{ secrets.X }}`), a literal (`true`, `null`), one repeated character
/// (`xxxx`, `****`) or a path.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    if v.eq_ignore_ascii_case("true")
        || v.eq_ignore_ascii_case("false")
        || v.eq_ignore_ascii_case("null")
    {
        return true;
    }
    // Documentation's stand-ins: `ghp_xxxx...`, `AKIAXXXX...`. AWS's published example key
    // (`...EXAMPLE`) is redacted all the same: over-redacting a sample costs nothing.
    if mostly_one_character(v) || masked(v) {
        return true;
    }
    // An elided value (`ops_eyJzaWdu...`, `ops_eyJzaWduSW5B..[Redacted]`) is a shortened
    // example, not the credential.
    if v.ends_with("..") || v.ends_with('\u{2026}') {
        return true;
    }
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if let Some(rest) = v.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return word(rest);
    }
    if let Some(rest) = v.strip_prefix('$') {
        return word(rest)
            && (rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
                || rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    }
    if v.starts_with("{{") && v.ends_with("}}") {
        return true;
    }
    if let Some(rest) = v.strip_prefix('%').and_then(|r| r.strip_suffix('%')) {
        return word(rest);
    }
    [
        "/bin/", "/etc/", "/home/", "/opt/", "/tmp/", "/usr/", "/var/", "/Users/",
    ]
    .iter()
    .any(|p| v.starts_with(p))
}

/// The characters documentation masks a credential with.
const MASKS: &[u8] = b"xX*#";

/// Whether a value is nearly all one character (`AIzaaaaa...`), or mostly a masking character
/// (`ghp_xxxx...`). A random part that repeats another letter after a prefix
/// (`AGE-SECRET-KEY-1QQQ...`, 78 %) still counts.
fn mostly_one_character(v: &str) -> bool {
    let mut counts = [0usize; 128];
    let mut n = 0;
    for b in v.bytes() {
        counts[usize::from(b & 0x7f)] += 1;
        n += 1;
    }
    let most = counts.iter().max().copied().unwrap_or(0);
    let masking: usize = MASKS.iter().map(|&m| counts[usize::from(m)]).sum();
    n > 1 && (most * 100 >= n * 85 || masking * 10 >= n * 6)
}

/// Whether a value holds a run of four masking characters (`sha256~XXXX_PUT_YOUR_TOKEN_HERE`,
/// `...-####`): a random value has one by chance about once in a million.
fn masked(v: &str) -> bool {
    v.as_bytes()
        .windows(4)
        .any(|w| MASKS.contains(&w[0]) && w.iter().all(|&b| b == w[0]))
}

/// The formats that leave a value typed by hand ([`typed_sequence`]) alone: those whose
/// gitleaks samples list typed values as false positives (`sk-ant-api03-abc123xyz-...-
/// klmnopqrstuvwx...`, `AIzaSyabcdefghij...`, `sk_abcdefghijklmnop...`). Elsewhere a typed token
/// (`ghp_abcdefghij...`) is redacted like any other: tests across the workspace plant those.
const TYPED_EXAMPLES: &[&str] = &[
    GENERIC,
    "anthropic-key",
    "anthropic-api-key",
    "anthropic-admin-api-key",
    "google-api-key",
    "gcp-api-key",
];

/// Whether a value holds the alphabet typed out (`abcdefghij...`, `klMnopqrst`: eight letters
/// in a row, in any case) or all ten digits in order: an example typed by hand. Shorter runs
/// (`12345678-ABCD-...`) stay credentials, as in gitleaks' samples.
fn typed_sequence(v: &str) -> bool {
    let mut letters = 1;
    for w in v.as_bytes().windows(2) {
        let (a, b) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        if a.is_ascii_lowercase() && b == a + 1 {
            letters += 1;
            if letters >= 8 {
                return true;
            }
        } else {
            letters = 1;
        }
    }
    v.contains("0123456789")
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

/// Returns the name a generic assignment's keyword stands in: the identifier around it
/// (`credentialsId` for `Credentials`, `io.jsonwebtoken` for `token`).
fn identifier_around(hay: &str, keyword: Range<usize>) -> &str {
    let bytes = hay.as_bytes();
    let part = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    let mut start = keyword.start;
    while start > 0 && part(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = keyword.end;
    while end < bytes.len() && part(bytes[end]) {
        end += 1;
    }
    &hay[start..end]
}

/// Splits a name into lowercase words at separators and case changes (`keyVaultToStoreSecrets`:
/// key, vault, to, store, secrets), without trailing digits (`token1`: token).
fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            words.push(std::mem::take(&mut word));
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        word.push(c.to_ascii_lowercase());
    }
    words.push(word);
    words
        .into_iter()
        .map(|w| w.trim_end_matches(|c: char| c.is_ascii_digit()).to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether a word of a name says its value is a credential: `password`, `token`, `apikey`, or
/// a word ending in one of the unambiguous ones (`dbpassword`, `githubtoken`).
fn secret_word(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "pass",
        "passwd",
        "password",
        "passwords",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "key",
        "keys",
        "credential",
        "credentials",
        "cred",
        "creds",
        "auth",
        "apikey",
        "accesskey",
        "authkey",
        "privatekey",
        "secretkey",
        "clientsecret",
    ];
    WORDS.contains(&w)
        || ["password", "passwd", "secret", "token"]
            .iter()
            .any(|end| w.len() > end.len() && w.ends_with(end))
}

/// Whether a name that holds a credential's word names the credential itself, not something
/// about it: `credentialsId`, `SECRET_NAME`, `access_token_url`, `secret_length`, `TokenFile`
/// and `AuthSource` name or measure one; a public or CSRF token (Rails' `authenticity_token`)
/// is no credential; a vault's
/// name or address is not the vault's token. A name with no such word (`author`,
/// `Authentication-Results`) is none either.
fn names_a_secret(name: &str) -> bool {
    const ABOUT: &[&str] = &[
        "id",
        "ids",
        "name",
        "names",
        "url",
        "uri",
        "urls",
        "endpoint",
        "file",
        "files",
        "path",
        "length",
        "len",
        "size",
        "type",
        "source",
        "results",
        "count",
        "version",
        "header",
        "field",
        "prefix",
        "format",
        "expiry",
        "expires",
        "expiration",
        "ttl",
        "timeout",
        "policy",
        "label",
    ];
    const NOT_SECRET: &[&str] = &[
        "public",
        "pub",
        "publishable",
        "csrf",
        "xsrf",
        "authenticity",
    ];
    let words = name_words(name);
    let Some(last) = words.iter().rposition(|w| secret_word(w)) else {
        return false;
    };
    if words[last + 1..]
        .iter()
        .any(|w| ABOUT.contains(&w.as_str()))
    {
        return false;
    }
    if words.iter().any(|w| NOT_SECRET.contains(&w.as_str())) {
        return false;
    }
    !(words.iter().any(|w| w == "vault") && words[last] != "token")
}

/// Words that show a value was written as a stand-in (`sk_test_...`, `your-api-key-here`).
const STAND_INS: &[&str] = &[
    "example",
    "sample",
    "dummy",
    "fake",
    "test",
    "placeholder",
    "changeme",
    "redacted",
    "your",
];

/// Whether a value without digits reads as words: one case throughout (`ACCESS_TOKEN`,
/// `var.db_password`) or camel case (`AgencyIdentificationCode`), where random letters change
/// case every character or two.
fn reads_as_words(value: &str) -> bool {
    let letters = || value.bytes().filter(u8::is_ascii_alphabetic);
    if letters().all(|b| b.is_ascii_lowercase()) || letters().all(|b| b.is_ascii_uppercase()) {
        return true;
    }
    let mut lower_run = 0;
    let mut runs_ok = true;
    for b in value.bytes().chain(std::iter::once(b' ')) {
        if b.is_ascii_lowercase() {
            lower_run += 1;
        } else {
            if lower_run > 0 && lower_run < 3 {
                runs_ok = false;
            }
            lower_run = 0;
        }
    }
    runs_ok
}

/// Whether a value ends in a version number (`jjwt-jackson-0.11.2`): a package, not a secret.
fn ends_in_version(value: &str) -> bool {
    let tail = value.rsplit(['-', '@', ':']).next().unwrap_or("");
    let parts: Vec<&str> = tail.split('.').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
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
    let lower = value.to_ascii_lowercase();
    if STAND_INS.iter().any(|w| lower.contains(w))
        || PUBLISHED_KEYS.contains(&value)
        || ends_in_version(value)
        || (!value.bytes().any(|b| b.is_ascii_digit()) && reads_as_words(value))
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
    classes >= 2 && shannon_entropy(value) > MIN_ENTROPY_BITS
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
    fn long_texts_scanned_by_the_dfa_find_what_short_ones_do() {
        let token = format!("ghp_{}", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5");
        let line = format!("pushed with {token}, then redis://zdrive:Sup3r-s3cret@cache:6379/0\n");
        let filter = SecretFilter::new();
        let short = filter.find(&line);
        assert_eq!(short.len(), 2, "{short:?}");
        let filler = "nothing to see here, just a build log line\n".repeat(DFA_FROM / 40);
        let long = format!("{filler}{line}");
        assert!(long.len() >= DFA_FROM);
        let found = filter.find(&long);
        assert!(
            filter.keywords_dfa.get().is_some(),
            "the long text used the DFA"
        );
        let kinds = |f: &[Finding]| f.iter().map(|f| f.kind).collect::<Vec<_>>();
        assert_eq!(kinds(&found), kinds(&short));
        let shift = filler.len();
        let spans = |f: &[Finding], by: usize| {
            f.iter()
                .map(|f| (f.range.start - by, f.range.end - by))
                .collect::<Vec<_>>()
        };
        assert_eq!(spans(&found, shift), spans(&short, 0));
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
        let text = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi2fj2EbdjK+cWuMTUQ5t5zPxaL\ndef==\n-----END RSA PRIVATE KEY-----\nafter";
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

    /// A pattern that does not compile finds nothing, silently: each must compile.
    #[test]
    fn every_format_and_exception_compiles() {
        let mut bad = Vec::new();
        for f in all_formats() {
            if let Err(e) = RegexBuilder::new(&f.pattern()).size_limit(64 << 20).build() {
                bad.push(format!("{}: {e}", f.id));
            }
            for a in f.allow {
                let (Allow::Secret(p) | Allow::Match(p)) = a;
                if let Err(e) = Regex::new(p) {
                    bad.push(format!("{} allow {p}: {e}", f.id));
                }
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
