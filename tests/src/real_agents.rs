//! The real coding agents' command lines (Claude Code, Gemini CLI, Codex CLI, aider), installed
//! from their package registries into a cache shared by test runs, and set up to run a whole
//! turn offline against [`FakeAgentsApi`].
//!
//! Installing needs the npm and PyPI registries; it happens once per cache
//! (`~/.cache/perth-tests/agents`, or `PERTH_AGENTS_CACHE`). Everything else here is offline:
//! each agent is pointed at the fake by its base-URL variable or configuration, with telemetry,
//! update checks and first-run dialogs turned off where the agent allows it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

use crate::fake_agents_api::FakeAgentsApi;
use crate::isolate::IsolatedEnv;

/// A real agent the harness can install and run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealAgent {
    /// `@anthropic-ai/claude-code` from npm.
    Claude,
    /// `@google/gemini-cli` from npm.
    Gemini,
    /// `@openai/codex` from npm.
    Codex,
    /// `aider-chat` from PyPI, in a virtual environment.
    Aider,
}

/// Every agent, in the order tests usually run them.
pub const ALL: [RealAgent; 4] = [
    RealAgent::Claude,
    RealAgent::Gemini,
    RealAgent::Codex,
    RealAgent::Aider,
];

/// The key every agent is given; the fake accepts anything.
const FAKE_KEY: &str = "sk-ant-perth-fake";

impl RealAgent {
    /// Returns the agent's program name (what `perth agents` shows).
    pub fn name(self) -> &'static str {
        match self {
            RealAgent::Claude => "claude",
            RealAgent::Gemini => "gemini",
            RealAgent::Codex => "codex",
            RealAgent::Aider => "aider",
        }
    }

    /// Returns the agent's executable in `cache`, whether or not it is installed.
    pub fn executable(self, cache: &Path) -> PathBuf {
        match self {
            RealAgent::Aider => cache.join("aider-venv/bin/aider"),
            _ => cache
                .join(self.name())
                .join("node_modules/.bin")
                .join(self.name()),
        }
    }
}

/// Returns the folder agents are installed in: `PERTH_AGENTS_CACHE`, else
/// `~/.cache/perth-tests/agents`.
pub fn cache_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PERTH_AGENTS_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; set PERTH_AGENTS_CACHE")?;
    Ok(PathBuf::from(home).join(".cache/perth-tests/agents"))
}

/// Returns the agent's executable, installing the agent from its registry first when it is not
/// in the cache. Concurrent test processes wait for one another's install.
pub fn ensure_installed(agent: RealAgent) -> anyhow::Result<PathBuf> {
    let cache = cache_dir()?;
    let exe = agent.executable(&cache);
    if exe.is_file() {
        return Ok(exe);
    }
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let lock_path = cache.join(format!(".{}.lock", agent.name()));
    let lock_file = std::fs::File::create(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("locking {}", lock_path.display()))?;
    if exe.is_file() {
        return Ok(exe);
    }
    match agent {
        RealAgent::Aider => {
            let venv = cache.join("aider-venv");
            run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
            run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "aider-chat"]))?;
        }
        _ => {
            let package = match agent {
                RealAgent::Claude => "@anthropic-ai/claude-code",
                RealAgent::Gemini => "@google/gemini-cli",
                _ => "@openai/codex",
            };
            run(Command::new("npm")
                .arg("install")
                .arg("--prefix")
                .arg(cache.join(agent.name()))
                .args(["--no-audit", "--no-fund", package]))?;
        }
    }
    anyhow::ensure!(
        exe.is_file(),
        "installing {} left no {}",
        agent.name(),
        exe.display()
    );
    Ok(exe)
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Sets `env` up for `agent` to run in `project` against `api`: its configuration files in the
/// isolated home, its variables in `env`. Returns the command line to run (in `project`).
///
/// What makes each one run offline:
/// - Claude Code: `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`, the four `DISABLE_*` /
///   `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC` variables, and `~/.claude.json` saying that
///   onboarding is done, the project is trusted and the key from the environment approved.
/// - Gemini CLI: `GOOGLE_GEMINI_BASE_URL`, `GEMINI_API_KEY`, and `~/.gemini/settings.json`
///   choosing the API key, folder trust off, no updates, no usage statistics.
/// - Codex CLI: `~/.codex/config.toml` with a model provider at the fake (`wire_api =
///   "responses"`), `approval_policy = "on-request"` and a read-only sandbox, so a command
///   the model asks to run outside the sandbox needs the user's approval.
/// - aider: `OPENAI_API_BASE`, `OPENAI_API_KEY`, `LITELLM_LOCAL_MODEL_COST_MAP=True`, litellm's
///   bundled price list copied to where aider caches the one it would download, and
///   `--no-git --no-check-update --analytics-disable --no-show-release-notes`.
pub fn prepare(
    agent: RealAgent,
    exe: &Path,
    env: &mut IsolatedEnv,
    api: &FakeAgentsApi,
    project: &Path,
) -> anyhow::Result<Vec<String>> {
    let home = env.home();
    let write = |path: PathBuf, text: String| -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    let exe = exe.to_string_lossy().into_owned();
    match agent {
        RealAgent::Claude => {
            for (k, v) in [
                ("ANTHROPIC_BASE_URL", api.url.as_str()),
                ("ANTHROPIC_API_KEY", FAKE_KEY),
                ("DISABLE_TELEMETRY", "1"),
                ("DISABLE_AUTOUPDATER", "1"),
                ("DISABLE_ERROR_REPORTING", "1"),
                ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ] {
                env.set_var(k, v);
            }
            let config = serde_json::json!({
                "hasCompletedOnboarding": true,
                "customApiKeyResponses": {"approved": [FAKE_KEY], "rejected": []},
                "projects": {project.to_string_lossy(): {"hasTrustDialogAccepted": true}},
            });
            write(home.join(".claude.json"), config.to_string())?;
            Ok(vec![exe])
        }
        RealAgent::Gemini => {
            env.set_var("GOOGLE_GEMINI_BASE_URL", api.url.as_str());
            env.set_var("GEMINI_API_KEY", FAKE_KEY);
            let settings = serde_json::json!({
                "security": {"auth": {"selectedType": "gemini-api-key"},
                    "folderTrust": {"enabled": false}},
                "general": {"disableAutoUpdate": true, "disableUpdateNag": true},
                "privacy": {"usageStatisticsEnabled": false},
                "telemetry": {"enabled": false},
            });
            write(home.join(".gemini/settings.json"), settings.to_string())?;
            Ok(vec![exe])
        }
        RealAgent::Codex => {
            env.set_var("PERTH_FAKE_KEY", FAKE_KEY);
            let config = format!(
                "model = \"gpt-5\"\nmodel_provider = \"perth\"\napproval_policy = \"on-request\"\n\
                 sandbox_mode = \"read-only\"\ncheck_for_update_on_startup = false\n\n\
                 [model_providers.perth]\nname = \"perth fake\"\nbase_url = \"{}/v1\"\n\
                 env_key = \"PERTH_FAKE_KEY\"\nwire_api = \"responses\"\n\n\
                 [analytics]\nenabled = false\n",
                api.url
            );
            write(home.join(".codex/config.toml"), config)?;
            Ok(vec![exe])
        }
        RealAgent::Aider => {
            env.set_var("OPENAI_API_BASE", format!("{}/v1", api.url));
            env.set_var("OPENAI_API_KEY", FAKE_KEY);
            env.set_var("LITELLM_LOCAL_MODEL_COST_MAP", "True");
            // aider downloads litellm's price list at start and prints the failure offline.
            let venv = Path::new(&exe)
                .parent()
                .and_then(Path::parent)
                .context("aider's executable is not in a virtual environment")?;
            if let Some(prices) = find_file(
                &venv.join("lib"),
                "model_prices_and_context_window_backup.json",
            ) {
                let text = std::fs::read_to_string(&prices)
                    .with_context(|| format!("reading {}", prices.display()))?;
                write(
                    home.join(".aider/caches/model_prices_and_context_window.json"),
                    text,
                )?;
            }
            Ok([
                exe.as_str(),
                "--model",
                "openai/gpt-4o",
                "--no-git",
                "--no-check-update",
                "--analytics-disable",
                "--no-show-release-notes",
                "--no-show-model-warnings",
            ]
            .map(str::to_string)
            .to_vec())
        }
    }
}

/// Finds a file by name below `dir` (depth first, a few levels of a virtual environment).
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name() == name {
                return Some(path);
            }
            if depth < 5 && entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((path, depth + 1));
            }
        }
    }
    None
}
