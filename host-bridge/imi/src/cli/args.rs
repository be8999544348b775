//! The command line's arguments (clap): commands, flags and their help.

use std::path::PathBuf;

use clap::{CommandFactory as _, Parser, Subcommand};
use clap_complete::ArgValueCompleter;

use super::complete;

pub(super) const EXAMPLES: &str = "\
Examples:
  iMi init                          register the repository you are in (trunk-<branch>/ layout)
  iMi init --repo https://github.com/o/r.git   clone into r/trunk-main/ and register it
  iMi feat login                    branch feat/login in ../feat-login/
  iMi add fix crash --from v1.2 --agent claude-1
  iMi review 123                    check out pull request 123 into ../pr-123/
  iMi status                        every worktree: branch, dirty files, ahead/behind, agent
  iMi --json list                   the database's view, as JSON
  iMi claim login codex-2           the worktree now belongs to agent codex-2
  iMi remove feat-login --delete-branch
  cd \"$(iMi go login)\"               or: eval \"$(iMi shell-init bash)\" and then `iMi go login`

Exit codes: 0 ok, 1 refused or bad input, 2 usage, 3 git, the database, GitHub or the perth
session unavailable (git work done, database not updated or tab not opened), 4 internal error.
Environment: IMI_DATABASE_URL or DATABASE_URL (default: SQLite at ~/.config/iMi/iMi.db),
IMI_AGENT_ID (default agent for add), GITHUB_TOKEN and IMI_GITHUB_API_URL (pull request
metadata, `project create`), PERTH_CALL_TIMEOUT (seconds a call to the perth session waits,
default 10), IMI_LOG (log filter).";

/// iMi: git worktrees for parallel agents, with persistence and agent attribution.
#[derive(Debug, Parser)]
#[command(name = "iMi", version = store::PRODUCT_VERSION, after_help = EXAMPLES)]
pub(super) struct Cli {
    /// Prints one JSON document `{success, data, error}` instead of text.
    #[arg(long, global = true)]
    pub(super) json: bool,
    /// The database: postgres://..., sqlite://PATH or a path (overrides env and config file).
    #[arg(long, global = true, value_name = "URL")]
    pub(super) database_url: Option<String>,
    /// Runs as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub(super) dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, clap::Args)]
pub(super) struct AddArgs {
    /// The worktree name (for review: a PR number or URL).
    pub(super) name: String,
    /// What to branch from (default: the trunk branch).
    #[arg(long, value_name = "REF")]
    pub(super) from: Option<String>,
    /// The agent that owns the worktree (default: $IMI_AGENT_ID).
    #[arg(long, value_name = "ID")]
    pub(super) agent: Option<String>,
    /// Does not open the worktree's tab (inside a perth session, `add` opens one from perth's
    /// `worktree` layout, named after the worktree and in its folder).
    #[arg(long)]
    pub(super) no_tab: bool,
    /// Skips linking sync/ folders and running post-create hooks.
    #[arg(long)]
    pub(super) no_hooks: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Registers a repository as a project and sets up the trunk-<branch>/ layout.
    #[command(
        after_help = "Examples:\n  iMi init\n  iMi init --repo ../other-checkout --force\n  iMi init --repo https://github.com/o/r.git"
    )]
    Init {
        /// A checkout to register, or a URL (or bare repository) to clone into the layout.
        #[arg(long, value_name = "PATH|URL")]
        repo: Option<String>,
        /// Moves a checkout that is not in the layout into PROJECT/trunk-<branch>/.
        #[arg(long)]
        force: bool,
    },
    /// Creates a typed worktree: branch TYPE/NAME in folder TYPE-NAME/ next to trunk.
    #[command(
        after_help = "Examples:\n  iMi add feat login\n  iMi add review 123\n  iMi add hotfix db --from v2.0 --agent claude-2"
    )]
    Add {
        /// The worktree type (feat, fix, review, aiops, devops or your own: `iMi types`).
        #[arg(value_name = "TYPE")]
        kind: String,
        #[command(flatten)]
        args: AddArgs,
    },
    /// Shortcut for `iMi add feat NAME`.
    Feat(AddArgs),
    /// Shortcut for `iMi add fix NAME`.
    Fix(AddArgs),
    /// Shortcut for `iMi add review NUMBER|URL|NAME`.
    Review(AddArgs),
    /// Shortcut for `iMi add aiops NAME`.
    Aiops(AddArgs),
    /// Shortcut for `iMi add devops NAME`.
    Devops(AddArgs),
    /// Shows trunk and every worktree: branch, dirty files, ahead/behind, last commit, agent.
    Status,
    /// Lists the live worktrees from the database, without running git.
    List,
    /// Removes a worktree; refuses to lose uncommitted or unpushed work without --force.
    #[command(
        after_help = "Examples:\n  iMi remove feat-login\n  iMi remove login --delete-branch\n  iMi remove spike --force --delete-branch"
    )]
    Remove {
        /// The worktree (folder name such as feat-x, or x).
        #[arg(add = ArgValueCompleter::new(complete::worktree_names))]
        name: String,
        /// Discards uncommitted and unpushed work and allows deleting an unmerged branch.
        #[arg(long)]
        force: bool,
        /// Deletes the local branch (only when merged into trunk, unless --force).
        #[arg(long)]
        delete_branch: bool,
        /// Also deletes the branch on origin (only when merged, unless --force).
        #[arg(long)]
        remote: bool,
    },
    /// Lists worktrees whose branches are merged, stale entries and interrupted adds; --yes removes them.
    Prune {
        /// Removes what is listed (dirty worktrees are always kept).
        #[arg(long)]
        yes: bool,
    },
    /// Sets the agent that owns a worktree.
    #[command(
        after_help = "Examples:\n  iMi claim login codex-2\n  iMi claim feat-login --agent codex-2"
    )]
    Claim {
        /// The worktree.
        #[arg(add = ArgValueCompleter::new(complete::worktree_names))]
        name: String,
        /// The agent id (or --agent ID).
        #[arg(value_name = "AGENT", required_unless_present = "agent_flag")]
        agent: Option<String>,
        /// The agent id, as a flag (the same as AGENT).
        #[arg(long = "agent", id = "agent_flag", value_name = "ID")]
        agent_flag: Option<String>,
    },
    /// Prints the trunk folder (for `cd "$(iMi trunk)"`).
    Trunk,
    /// Prints a worktree's folder (for `cd "$(iMi go NAME)"`).
    Go {
        /// The worktree (feat-x or x).
        #[arg(add = ArgValueCompleter::new(complete::worktree_names))]
        name: String,
    },
    /// Inside perth: opens a worktree's tab from the `worktree` layout, or one per active
    /// worktree with --all; a tab already open comes to the front instead.
    #[command(
        after_help = "Examples:\n  iMi open login     the tab of feat-login (or login)\n  iMi open --all     a tab for every active worktree of the project"
    )]
    Open {
        /// The worktree (feat-x or x).
        #[arg(add = ArgValueCompleter::new(complete::worktree_names))]
        name: Option<String>,
        /// Every active worktree of the project.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// Prints a shell function that makes `iMi go` and `iMi trunk` change directory.
    #[command(after_help = "Example (in ~/.bashrc):\n  eval \"$(iMi shell-init bash)\"")]
    ShellInit {
        /// bash, zsh or fish.
        shell: ShellKind,
    },
    /// Checks git, the database, the config file and companions; each line says what to do.
    Doctor,
    /// Prints the script that makes TAB complete `iMi` and `imi`, worktree names included.
    #[command(
        after_help = "Example (in ~/.bashrc; zsh and fish alike):\n  source <(iMi completions bash)"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Prints file changes across all worktrees as they happen (with --json: one JSON object per line).
    #[command(
        after_help = "Examples:\n  iMi monitor\n  iMi monitor --json | jq 'select(.event == \"change\")'"
    )]
    Monitor {
        /// Stops after this many changes (for scripts and tests).
        #[arg(long, value_name = "N")]
        max_events: Option<u64>,
    },
    /// Creates projects on GitHub.
    Project {
        #[command(subcommand)]
        action: ProjectAction,
    },
    /// Trusts the repository's .imi.toml so its post-create hooks run (again after every change).
    Trust,
    /// Lists worktree types, or adds your own.
    Types {
        #[command(subcommand)]
        action: Option<TypesAction>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum TypesAction {
    /// Adds a worktree type (branch prefix NAME/, folder prefix NAME- unless given).
    Add {
        /// The type's name.
        name: String,
        /// The branch prefix.
        #[arg(long)]
        branch_prefix: Option<String>,
        /// The folder prefix.
        #[arg(long)]
        worktree_prefix: Option<String>,
        /// What it is for (free text, which may start with '-').
        #[arg(long, allow_hyphen_values = true)]
        description: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum ProjectAction {
    /// Creates a GitHub repository (needs GITHUB_TOKEN), clones it into NAME/trunk-<branch>/ and registers it.
    #[command(
        after_help = "Examples:\n  iMi project create widgets --private\n  iMi project create api --template acme/service-template"
    )]
    Create {
        /// The repository's name.
        name: String,
        /// Creates it from this template repository (OWNER/REPO).
        #[arg(long, value_name = "OWNER/REPO")]
        template: Option<String>,
        /// Makes it private.
        #[arg(long)]
        private: bool,
    },
}

#[derive(Copy, Clone, Debug, clap::ValueEnum)]
pub(super) enum ShellKind {
    Bash,
    Zsh,
    Fish,
}

impl Cli {
    /// Returns the command line once the rules clap cannot express hold: `claim`'s agent, given
    /// as AGENT, as `--agent` or as both with the same value, ends up in `agent`.
    pub(super) fn checked(mut self) -> Result<Self, clap::Error> {
        if let Command::Claim {
            agent, agent_flag, ..
        } = &mut self.command
        {
            match (agent.as_deref(), agent_flag.take()) {
                (Some(positional), Some(flag)) if positional != flag => {
                    // Built, so that the error shows `claim`'s usage under the binary's name.
                    let mut cli = Cli::command();
                    cli.build();
                    let mut claim = cli.find_subcommand("claim").cloned().unwrap_or(cli);
                    return Err(claim.error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!("claim got two agents, {positional} and --agent {flag}; give one"),
                    ));
                }
                (None, flag) => *agent = flag,
                (Some(_), _) => {}
            }
        }
        Ok(self)
    }
}
