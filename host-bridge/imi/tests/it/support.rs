//! Test fixtures: iMi's sandbox from the harness crate (generated git repositories, the iMi
//! binary, databases) and the macro that runs a test on both database backends.

pub use tests::imi_sandbox::{postgres_url, run_output, Backend, Run, Sandbox, FILES};

/// Expands each named test into `postgres::NAME` and `sqlite::NAME`, each given a [`Sandbox`].
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(sb) = crate::support::Sandbox::for_backend(
                        crate::support::Backend::Postgres,
                        stringify!($name),
                    ) else {
                        return;
                    };
                    super::$name(sb);
                }
            )*
        }
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let Some(sb) = crate::support::Sandbox::for_backend(
                        crate::support::Backend::Sqlite,
                        stringify!($name),
                    ) else {
                        return;
                    };
                    super::$name(sb);
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// Returns `json` (an `iMi --json ...` command from [`Sandbox::imi_command`], with whatever
/// environment the test added) as the same command printing text: without `--json`.
pub fn text_mode(json: &std::process::Command) -> std::process::Command {
    let mut cmd = std::process::Command::new(json.get_program());
    cmd.env_clear();
    for (key, value) in json.get_envs() {
        if let Some(value) = value {
            cmd.env(key, value);
        }
    }
    if let Some(dir) = json.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd.args(json.get_args().filter(|a| *a != "--json"))
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs `cmd` (a text-mode iMi command) and returns its output as a [`Run`] with no JSON.
pub fn run_text(mut cmd: std::process::Command) -> Run {
    let out = cmd.output().expect("running iMi");
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::Value::Null,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
