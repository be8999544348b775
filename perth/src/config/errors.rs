//! What went wrong while building the configuration, each error naming its file, line and
//! column the way a compiler does.

use std::path::{Path, PathBuf};

use zellij_utils::input::config::ConfigError;

use crate::settings::line_and_column;

/// Errors while building the configuration; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    #[error("perth's built-in configuration is invalid: {0}")]
    BuiltIn(Box<ConfigError>),
    #[error("config file {path} does not exist; create it or drop --config", path = .0.display())]
    Missing(PathBuf),
    #[error("{}", describe_user_error(path, text, source))]
    User {
        path: PathBuf,
        text: String,
        #[source]
        source: Box<ConfigError>,
    },
    #[error("invalid perth settings in {path}: {}; fix the file or move it aside", problems.join("; "), path = path.display())]
    PerthBlock {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error(
        "invalid layout in {}; fix the file",
        describe_syntax_error(path, text, source)
    )]
    Layout {
        path: PathBuf,
        text: String,
        #[source]
        source: Box<kdl::KdlError>,
    },
    #[error("cannot read {path}: {source}", path = path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write generated configuration under {path}: {source}; check that the cache directory is writable", path = path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigLoadError {
    /// Returns a detailed, user-facing report: the one-line summary and, for errors in a file's
    /// text, the offending source lines with a pointer (miette).
    pub fn report(&self) -> String {
        let mut out = format!("perth: {self}");
        let pointer = match self {
            ConfigLoadError::User { path, text, source } => match source.as_ref() {
                ConfigError::KdlError(kdl) => kdl.offset.map(|offset| SourcePointer {
                    message: kdl.error_message.clone(),
                    source_code: miette::NamedSource::new(path.display().to_string(), text.clone()),
                    span: (offset, kdl.len.unwrap_or(0)).into(),
                    label: "here".into(),
                    help: kdl.help_message.clone(),
                }),
                ConfigError::KdlDeserializationError(kdl) => {
                    Some(SourcePointer::of_syntax_error(path, text, kdl))
                }
                _ => None,
            },
            ConfigLoadError::Layout { path, text, source } => {
                Some(SourcePointer::of_syntax_error(path, text, source))
            }
            _ => None,
        };
        if let Some(pointer) = pointer {
            out.push_str(&format!("\n{:?}", miette::Report::new(pointer)));
        }
        out
    }
}

/// What is wrong at one place of a file, drawn by miette: the lines around it and a pointer.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
struct SourcePointer {
    message: String,
    #[source_code]
    source_code: miette::NamedSource<String>,
    #[label("{label}")]
    span: miette::SourceSpan,
    label: String,
    #[help]
    help: Option<String>,
}

impl SourcePointer {
    fn of_syntax_error(path: &Path, text: &str, error: &kdl::KdlError) -> SourcePointer {
        SourcePointer {
            message: kdl_syntax_message(error, text),
            source_code: miette::NamedSource::new(path.display().to_string(), text.to_string()),
            span: (error.span.offset(), error.span.len()).into(),
            label: match error.kind {
                kdl::KdlErrorKind::Context("closing '}' in node children block") => {
                    "the block opened here is not closed".to_string()
                }
                _ => error.label.unwrap_or("here").to_string(),
            },
            help: error.help.map(str::to_string),
        }
    }
}

/// Returns what the KDL parser says is wrong, in one line: its own message (an unclosed
/// brace, a value it cannot read, a node not ended where it should be) and, where it stopped
/// on something it did not expect, that token.
pub fn kdl_syntax_message(error: &kdl::KdlError, text: &str) -> String {
    let token_at = |offset: usize| -> String {
        let rest = text
            .get(text.floor_char_boundary(offset.min(text.len()))..)
            .unwrap_or_default()
            .trim_start_matches([' ', '\t']);
        match rest.chars().next() {
            None => "the end of the file".into(),
            Some('\n' | '\r') => "the end of the line".into(),
            Some(_) => {
                let token: String = rest
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(24)
                    .collect();
                format!("`{token}`")
            }
        }
    };
    match &error.kind {
        // The parser stopped on something that starts no node (a stray `}`, say).
        kdl::KdlErrorKind::Other => format!("unexpected {}", token_at(error.span.offset())),
        // Its span is the node that was read; what follows it is what does not belong.
        kdl::KdlErrorKind::Context("valid node terminator") => format!(
            "{}, found {}",
            error.kind.to_string().trim_end_matches('.'),
            token_at(error.span.offset() + error.span.len())
        ),
        kind => kind.to_string().trim_end_matches('.').to_string(),
    }
}

/// Returns `PATH:LINE:COLUMN: KDL syntax error: MESSAGE` for a syntax error in `text`.
fn describe_syntax_error(path: &Path, text: &str, error: &kdl::KdlError) -> String {
    let (line, column) = line_and_column(text, error.span.offset());
    format!(
        "{}:{line}:{column}: KDL syntax error: {}",
        path.display(),
        kdl_syntax_message(error, text)
    )
}

fn describe_user_error(path: &Path, text: &str, source: &ConfigError) -> String {
    let location = |offset: Option<usize>| match offset {
        Some(offset) => {
            let (line, column) = line_and_column(text, offset);
            format!("{}:{line}:{column}", path.display())
        }
        None => path.display().to_string(),
    };
    match source {
        ConfigError::KdlError(kdl) => format!(
            "invalid configuration in {}: {}; fix the file or move it aside",
            location(kdl.offset),
            kdl.error_message
        ),
        ConfigError::KdlDeserializationError(kdl) => format!(
            "invalid configuration in {}; fix the file or move it aside",
            describe_syntax_error(path, text, kdl)
        ),
        other => format!(
            "invalid configuration in {}: {other}; fix the file or move it aside",
            path.display()
        ),
    }
}
