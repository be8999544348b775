//! The command line's arguments (clap): commands, flags and their help.

use clap::{Parser, Subcommand};

pub(super) const EXAMPLES: &str = "\
Examples:
  zdrive pane api-server --tab backend --meta issue=42   focus or create the pane 'api-server'
  zdrive pane log api-server \"login bug fixed\" --type milestone --artifacts src/auth.rs
  ZDRIVE_SOURCE=agent zdrive pane log api-server \"trying a new parser\" --type exploration
  zdrive pane history api-server --last 20 --format context --max-bytes 4000
  zdrive config consent --grant && zdrive pane snapshot api-server     LLM summary (see --dry-run)
  zdrive config set llm.provider ollama && zdrive pane snapshot --all
  zdrive pane info api-server --json
  zdrive pane rename api-server api                      history and snapshots follow the name
  zdrive pane tag api issue=42 owner=me --remove draft   metadata, without navigating
  zdrive list --json
  zdrive reconcile
  zdrive config set redis_url redis://127.0.0.1:6379/0
  zdrive config set agents.log_transitions true        agent states (waiting, idle, ...) into the log
  zdrive migrate --dry-run
  zdrive completions bash > ~/.local/share/bash-completion/completions/zdrive

Exit codes: 0 ok, 1 user error, 2 usage, 3 unavailable dependency (Redis, database, session), 4 internal.
Configuration: ~/.config/zellij-driver/config.toml (ZDRIVE_CONFIG overrides the path;
ZDRIVE_REDIS_URL, ZDRIVE_REDIS_CA_FILE, ZDRIVE_REDIS_CERT_FILE, ZDRIVE_REDIS_KEY_FILE,
ZDRIVE_REDIS_KEY_PREFIX and ZDRIVE_STORE override its keys). Without redis_url, panes live in the
embedded store ~/.local/share/zellij-driver/zdrive.db, which also holds the event outbox. On a
Redis shared by several users each sets redis_key_prefix (default perth:) to the prefix their
ACL user may use (ACL SETUSER alice on >PASSWORD ~alice:* +@all: redis_key_prefix alice:).";

/// zdrive: semantic pane names, an intent log per pane, and context for people and LLMs.
#[derive(Debug, Parser)]
#[command(name = "zdrive", version = store::PRODUCT_VERSION, after_help = EXAMPLES)]
pub(super) struct Cli {
    /// Print the `{success, data, error}` JSON envelope instead of text.
    #[arg(long, global = true)]
    pub(super) json: bool,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Focus the pane tracked under NAME, creating it if needed; or log, history, info.
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  zdrive pane api-server\n  zdrive pane bugfix --tab backend --meta issue=42\n  zdrive pane log api-server \"Implemented OAuth\" --type milestone\n  zdrive pane history api-server --last 20"
    )]
    Pane {
        #[command(subcommand)]
        action: Option<PaneAction>,
        /// The pane's name (letters, digits, '-', '_', '.', '/').
        #[arg(required = true)]
        name: Option<String>,
        /// The tab to create the pane in (created if missing); default: the active tab.
        #[arg(long)]
        tab: Option<String>,
        /// Metadata to record, KEY=VALUE (repeatable).
        #[arg(long = "meta", value_name = "KEY=VALUE")]
        meta: Vec<String>,
    },
    /// Create or switch to a tab.
    Tab {
        /// The tab's name.
        name: String,
    },
    /// List tracked panes with their status.
    List,
    /// Compare the store with the live session: mark vanished panes stale, follow moved ones.
    Reconcile,
    /// Show or change the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Move a zdrive v1.0 keyspace (znav:*) into the current one (Redis only; idempotent).
    Migrate {
        /// Report what would move without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum PaneAction {
    /// Append an intent entry to a pane's log.
    #[command(
        after_help = "Examples:\n  zdrive pane log api-server \"Implemented OAuth\"\n  zdrive pane log bugfix \"Fixed token validation\" --source agent --artifacts src/auth.rs\n  zdrive pane log api-server \"v2 released\" --type milestone\n  zdrive pane log api-server \"- fixed the login bug\"\n  git log -1 --format=%B | zdrive pane log api-server -"
    )]
    Log {
        /// The pane's name.
        name: String,
        /// What happened (at most 4 KB; secrets are redacted before storage). Text that starts
        /// with '-' (a markdown bullet, a pasted key) is taken as it is; '-' alone reads the
        /// summary from standard input.
        #[arg(allow_hyphen_values = true)]
        summary: String,
        /// checkpoint, milestone or exploration.
        #[arg(long = "type", default_value = "checkpoint")]
        entry_type: String,
        /// human or agent (default: ZDRIVE_SOURCE, else human).
        #[arg(long)]
        source: Option<String>,
        /// Files the entry refers to.
        #[arg(long, num_args = 1..)]
        artifacts: Vec<String>,
    },
    /// Show a pane's intent log.
    #[command(
        after_help = "Examples:\n  zdrive pane history api-server --last 10\n  zdrive pane history api-server --format json | jq '.entries[0]'\n  zdrive pane history api-server --format context --max-bytes 4000"
    )]
    History {
        /// The pane's name.
        name: String,
        /// Only the newest N entries (with --format context: how many "Recent Activity" shows,
        /// 5 by default).
        #[arg(long)]
        last: Option<usize>,
        /// text (for people), json (the seed's shape) or context (markdown for an LLM prompt).
        #[arg(long, default_value = "text", value_parser = ["text", "json", "context"])]
        format: String,
        /// Cap of the context format in bytes (default: context_max_bytes, 4096).
        #[arg(long)]
        max_bytes: Option<usize>,
    },
    /// Summarise a pane's recent work with an LLM and store it in its history (needs consent:
    /// zdrive config consent --grant). Sends the intent log, the screen's last lines and the
    /// git state of the pane's folder, secrets redacted, cut to llm.context_tokens.
    #[command(
        after_help = "Examples:\n  zdrive config consent --grant\n  zdrive pane snapshot api-server --dry-run\n  zdrive pane snapshot api-server\n  zdrive pane snapshot --all --jobs 2"
    )]
    Snapshot {
        /// The pane's name.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Snapshot every tracked pane, a few at a time.
        #[arg(long)]
        all: bool,
        /// Print exactly what would be sent (endpoint, headers with the key masked, body) and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Ask the provider even when nothing changed since the last snapshot.
        #[arg(long)]
        force: bool,
        /// With --all: how many panes are asked about at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
        jobs: u16,
    },
    /// Show a pane's stored snapshots, newest first (the last 20 are kept).
    #[command(after_help = "Examples:\n  zdrive pane snapshots api-server --last 3")]
    Snapshots {
        /// The pane's name.
        name: String,
        /// Only the newest N.
        #[arg(long)]
        last: Option<usize>,
    },
    /// Show a pane's record.
    #[command(
        after_help = "Examples:\n  zdrive pane info api-server\n  zdrive pane info api-server --json"
    )]
    Info {
        /// The pane's name.
        name: String,
    },
    /// Rename a tracked pane: its record, history and snapshots move to the new name, and its
    /// title in the live session follows when the pane is there.
    #[command(after_help = "Examples:\n  zdrive pane rename api-server api")]
    Rename {
        /// The pane's name.
        old: String,
        /// The new name (letters, digits, '-', '_', '.', '/'); refused when it is tracked.
        new: String,
    },
    /// Set or remove a tracked pane's metadata without navigating to it.
    #[command(
        after_help = "Examples:\n  zdrive pane tag api issue=42 owner=me\n  zdrive pane tag api --remove draft"
    )]
    Tag {
        /// The pane's name.
        name: String,
        /// Metadata to set.
        #[arg(value_name = "KEY=VALUE")]
        pairs: Vec<String>,
        /// A metadata key to remove (repeatable).
        #[arg(long, value_name = "KEY")]
        remove: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum ConfigAction {
    /// Show the configuration (secrets masked) and which store is active.
    Show,
    /// Show one key's value (secrets masked), e.g. `zdrive config get agents.log_transitions`.
    Get {
        /// The key, as `config show` names it.
        key: String,
    },
    /// Set a key: redis_url, redis_ca_file, redis_cert_file, redis_key_file, redis_key_prefix
    /// (the prefix of every Redis key, default perth:; on a shared Redis the one your ACL user
    /// may use, such as alice: for ~alice:*), store, database_path, amqp_url, history_cap, context_max_bytes,
    /// llm.* (see `config show`), agents.log_transitions (true: each change of an agent's
    /// state in a tracked pane, such as "agent waiting: <question>", is logged to that pane's
    /// intent log by host-bridge).
    #[command(
        after_help = "Examples:\n  zdrive config set redis_url redis://127.0.0.1:6379/0\n  zdrive config set redis_key_prefix alice:   (a shared Redis: ACL user alice with ~alice:*)\n  zdrive config set llm.provider ollama\n  zdrive config set agents.log_transitions true\n  zdrive config set history_cap ''          (empty: back to the default)"
    )]
    Set {
        /// The key.
        key: String,
        /// The value (empty clears it; may start with '-').
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Grant or revoke consent to send redacted pane context to an LLM.
    Consent {
        /// Grant consent.
        #[arg(long, conflicts_with = "revoke", required_unless_present = "revoke")]
        grant: bool,
        /// Revoke consent.
        #[arg(long)]
        revoke: bool,
    },
}
