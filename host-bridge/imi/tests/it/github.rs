//! Pull request reviews and `project create` against a local server speaking GitHub's REST
//! format, and without a network: GitHub's API and origin at a closed port and at a host name
//! that does not resolve.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::{run_output, run_text, text_mode, Sandbox};

/// GitHub API URLs no request can reach: a closed local port, a name that does not resolve.
const UNREACHABLE: [&str; 2] = ["http://127.0.0.1:1", "http://nonexistent.invalid"];

/// Asserts that `message` is one line that says GitHub at `url` could not be reached and what
/// to check, with no backtrace (octocrab's errors carry one in their `Display`).
fn assert_says_github_is_unreachable(message: &str, url: &str) {
    assert!(
        message.contains(&format!("cannot reach GitHub at {url} to ")),
        "{message}"
    );
    assert!(
        message.ends_with("; check the network or IMI_GITHUB_API_URL"),
        "{message}"
    );
    assert!(
        !message.contains('\n') && !message.contains("Found at") && !message.contains("backtrace"),
        "{message}"
    );
}

/// One request the fake GitHub received.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    path: String,
    authorization: Option<String>,
    body: Value,
}

/// A GitHub REST API on a loopback port: answers with `route(method, path, body)`, records every request.
struct FakeGitHub {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeGitHub {
    fn start(route: impl Fn(&str, &str, &Value) -> (u16, Value) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let route = Arc::new(route);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                let route = route.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    // Keep-alive: serve requests until the client closes the connection.
                    loop {
                        let mut request_line = String::new();
                        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = request_line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_owned();
                        let path = parts.next().unwrap_or_default().to_owned();
                        let mut length = 0usize;
                        let mut authorization = None;
                        loop {
                            let mut line = String::new();
                            reader.read_line(&mut line).unwrap();
                            let line = line.trim_end();
                            if line.is_empty() {
                                break;
                            }
                            let (name, value) = line.split_once(':').unwrap_or((line, ""));
                            match name.to_ascii_lowercase().as_str() {
                                "content-length" => length = value.trim().parse().unwrap_or(0),
                                "authorization" => authorization = Some(value.trim().to_owned()),
                                _ => {}
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let (status, answer) = route(&method, &path, &body);
                        log.lock().unwrap().push(Received {
                            method,
                            path,
                            authorization,
                            body,
                        });
                        let answer = answer.to_string();
                        let reason = if status < 300 { "OK" } else { "Error" };
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                        let _ = stream.flush();
                    }
                });
            }
        });
        Self { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
    )
}

fn pull(number: u64) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/acme/widgets/pulls/{number}"),
        "id": 1000 + number,
        "number": number,
        "state": "open",
        "title": "Add the contribution",
        "user": {"login": "octo-dev", "id": 1},
        "html_url": format!("https://github.com/acme/widgets/pull/{number}"),
        "head": {"ref": "contributor", "sha": "abc"},
        "base": {"ref": "main", "sha": "def"},
    })
}

#[test]
fn review_records_the_pull_requests_title_author_and_url() {
    let sb = Sandbox::new();
    sb.origin();
    // GitHub's layout for the remote: OWNER/REPO.git, with pull requests 7 and 9 as refs.
    let widgets = sb.root().join("acme/widgets.git");
    sb.git(
        sb.root(),
        &[
            "clone",
            "--quiet",
            "--mirror",
            &sb.origin_path().display().to_string(),
            &widgets.display().to_string(),
        ],
    );
    sb.git(
        &widgets,
        &["update-ref", "refs/pull/9/head", "refs/pull/7/head"],
    );
    let github = FakeGitHub::start(|method, path, _| match (method, path) {
        ("GET", "/repos/acme/widgets/pulls/7") => (200, pull(7)),
        _ => not_found(),
    });
    let work = sb.root().join("work");
    std::fs::create_dir_all(&work).unwrap();
    sb.imi_in(&work, &["init", "--repo", &widgets.display().to_string()])
        .data();
    let trunk = work.join("widgets/trunk-main");
    let run = |args: &[&str]| {
        let mut cmd = sb.imi_command(&trunk, args);
        cmd.env("GITHUB_TOKEN", "ghp_test_token")
            .env("IMI_GITHUB_API_URL", &github.url);
        run_output(cmd.output().unwrap())
    };

    let review = run(&["add", "review", "https://github.com/acme/widgets/pull/7"]);
    let data = review.data();
    assert_eq!(data["worktree"]["worktree_name"], "pr-7");
    assert_eq!(data["metadata"]["pr_title"], "Add the contribution");
    assert_eq!(data["metadata"]["pr_author"], "octo-dev");
    assert_eq!(
        data["metadata"]["pr_url"],
        "https://github.com/acme/widgets/pull/7"
    );
    assert!(work.join("widgets/pr-7/PR.md").is_file());
    let listed = run(&["list"]);
    assert_eq!(
        listed.data()["worktrees"][0]["metadata"]["pr_title"],
        "Add the contribution"
    );
    let requests = github.received();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/repos/acme/widgets/pulls/7");
    assert!(requests[0]
        .authorization
        .as_deref()
        .unwrap_or_default()
        .contains("ghp_test_token"));

    // GitHub does not know PR 9 (git has it): the worktree is made, the metadata is missing, and the output says why.
    let partial = run(&["review", "#9"]);
    let data = partial.data();
    assert_eq!(data["worktree"]["worktree_name"], "pr-9");
    let why = data["pr_metadata_error"].as_str().unwrap();
    assert!(why.contains("Not Found") && why.contains("404"), "{why}");
    // A pull request that exists nowhere is refused before anything is made.
    let missing = run(&["review", "12"]);
    assert_eq!(missing.error_kind(), "not_found");
    assert!(!work.join("widgets/pr-12").exists());
}

#[test]
fn project_create_makes_the_repository_clones_and_registers_it() {
    let sb = Sandbox::new();
    sb.origin();
    // What GitHub would have made: a repository to clone.
    let made = sb.root().join("gh/octo-dev/gadgets.git");
    sb.git(
        sb.root(),
        &[
            "clone",
            "--quiet",
            "--bare",
            &sb.origin_path().display().to_string(),
            &made.display().to_string(),
        ],
    );
    let clone_url = made.display().to_string();
    let github = FakeGitHub::start(move |method, path, body| match (method, path) {
        ("POST", "/user/repos") | ("POST", "/repos/acme/service-template/generate") => (
            201,
            json!({
                "id": 42,
                "name": body["name"],
                "full_name": format!("octo-dev/{}", body["name"].as_str().unwrap_or_default()),
                "private": body["private"],
                "clone_url": clone_url,
                "html_url": "https://github.com/octo-dev/gadgets",
            }),
        ),
        _ => not_found(),
    });
    let work = sb.root().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let run = |args: &[&str], token: bool| {
        let mut cmd = sb.imi_command(&work, args);
        cmd.env("IMI_GITHUB_API_URL", &github.url);
        if token {
            cmd.env("GITHUB_TOKEN", "ghp_test_token");
        }
        run_output(cmd.output().unwrap())
    };

    let refused = run(&["project", "create", "gadgets"], false);
    assert_eq!(refused.code, 1);
    assert!(
        refused.error_message().contains("GITHUB_TOKEN"),
        "{}",
        refused.error_message()
    );
    assert!(
        github.received().is_empty(),
        "nothing is sent without a token"
    );

    let created = run(
        &[
            "project",
            "create",
            "gadgets",
            "--private",
            "--template",
            "acme/service-template",
        ],
        true,
    );
    let data = created.data();
    assert_eq!(data["repository"]["full_name"], "octo-dev/gadgets");
    assert_eq!(data["init"]["cloned"], true);
    assert!(work.join("gadgets/trunk-main/src/m5/f5.rs").is_file());
    let requests = github.received();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/repos/acme/service-template/generate");
    assert_eq!(
        requests[0].body,
        json!({"name": "gadgets", "private": true})
    );
    // It is a registered project: worktrees can be added right away.
    let mut cmd = sb.imi_command(&work.join("gadgets/trunk-main"), &["feat", "first"]);
    cmd.env("GITHUB_TOKEN", "ghp_test_token");
    run_output(cmd.output().unwrap()).data();

    let exists = run(&["project", "create", "gadgets"], true);
    assert_eq!(exists.error_kind(), "already_exists");
    assert_eq!(
        github.received().len(),
        1,
        "an existing folder is refused before GitHub is asked"
    );
    let bad = run(&["project", "create", "../evil"], true);
    assert_eq!(bad.error_kind(), "invalid_name");
}

#[test]
fn review_without_github_makes_the_worktree_says_why_and_exits_3() {
    let sb = Sandbox::new();
    sb.project_from_origin();
    let review = |url: &str| {
        let mut cmd = sb.imi_command(&sb.trunk(), &["review", "7"]);
        // A backtrace would be captured with this set; none may reach the user.
        cmd.env("GITHUB_TOKEN", "ghp_test_token")
            .env("IMI_GITHUB_API_URL", url)
            .env("RUST_BACKTRACE", "1");
        cmd
    };
    for url in UNREACHABLE {
        let run = run_output(review(url).output().unwrap());
        // git had the pull request: the worktree is made, GitHub's part is missing and said so.
        assert_eq!(run.code, 3, "{url}: {}\nstderr: {}", run.stdout, run.stderr);
        assert_eq!(run.json["success"], true, "{url}: {}", run.stdout);
        let data = &run.json["data"];
        assert_eq!(data["worktree"]["worktree_name"], "pr-7");
        assert_eq!(data["metadata"]["pr_number"], 7);
        assert_eq!(data["metadata"].get("pr_title"), None);
        let why = data["pr_metadata_error"].as_str().unwrap();
        assert_says_github_is_unreachable(why, url);
        assert!(why.contains("to look up pull request "), "{why}");
        assert!(sb.project().join("pr-7/PR.md").is_file());
        sb.imi(&["remove", "pr-7", "--force", "--delete-branch"])
            .data();
    }
    // In text, the warning goes to stderr (after the progress lines); stdout says what was made.
    let text = run_text(text_mode(&review(UNREACHABLE[0])));
    assert_eq!(text.code, 3, "{}", text.stderr);
    assert!(text.stdout.starts_with("Created pr-7"), "{}", text.stdout);
    let warning = text
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("iMi: warning: pull request metadata not recorded: "))
        .unwrap_or_else(|| panic!("{}", text.stderr));
    assert_says_github_is_unreachable(warning, UNREACHABLE[0]);
    assert!(!text.stderr.contains("Found at"), "{}", text.stderr);
}

#[test]
fn review_with_origin_unreachable_is_unavailable_not_missing() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    // Without a network, origin on GitHub fails like these do.
    for (origin, cause) in [
        (
            "http://nonexistent.invalid/acme/widgets.git",
            "Could not resolve host: nonexistent.invalid",
        ),
        ("http://127.0.0.1:1/acme/widgets.git", "127.0.0.1"),
    ] {
        sb.git(&trunk, &["remote", "set-url", "origin", origin]);
        let run = sb.imi(&["review", "123"]);
        assert_eq!(run.code, 3, "{origin}: {}", run.stdout);
        assert_eq!(run.error_kind(), "remote_unavailable");
        assert_eq!(run.json["data"], Value::Null);
        let message = run.error_message();
        assert!(
            message.starts_with("cannot reach origin to fetch pull request 123: ")
                && message.contains(cause)
                && message.ends_with("; check the network and the remote's URL (`git remote -v`)"),
            "{message}"
        );
        assert!(
            !message.contains("not found") && !message.contains('\n'),
            "{message}"
        );
        assert!(!sb.project().join("pr-123").exists());
        assert!(!sb.branch_exists("pr/123"));

        let text = run_text(text_mode(&sb.imi_command(&trunk, &["review", "123"])));
        assert_eq!(text.code, 3);
        assert_eq!(text.stdout, "");
        assert_eq!(text.stderr.trim_end(), format!("iMi: {message}"));
    }
    // A pull request origin does not have is still the user's mistake.
    let origin = sb.origin_path().display().to_string();
    sb.git(&trunk, &["remote", "set-url", "origin", &origin]);
    let missing = sb.imi(&["review", "123"]);
    assert_eq!((missing.code, missing.error_kind()), (1, "not_found"));
    assert!(
        missing
            .error_message()
            .contains("origin has no refs/pull/123/head"),
        "{}",
        missing.error_message()
    );
}

#[test]
fn project_create_without_github_says_so_without_a_backtrace() {
    let sb = Sandbox::new();
    let work = sb.root().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let create = |url: &str| {
        let mut cmd = sb.imi_command(&work, &["project", "create", "gadgets"]);
        cmd.env("GITHUB_TOKEN", "ghp_test_token")
            .env("IMI_GITHUB_API_URL", url)
            .env("RUST_BACKTRACE", "1");
        cmd
    };
    for url in UNREACHABLE {
        let run = run_output(create(url).output().unwrap());
        assert_eq!(run.code, 3, "{url}: {}\nstderr: {}", run.stdout, run.stderr);
        assert_eq!(run.error_kind(), "github_unavailable");
        assert_eq!(run.json["data"], Value::Null);
        let message = run.error_message();
        assert_says_github_is_unreachable(message, url);
        assert!(
            message.contains("to create repository gadgets: "),
            "{message}"
        );
        assert!(run.stderr.is_empty(), "{}", run.stderr);
        assert!(!work.join("gadgets").exists());

        let text = run_text(text_mode(&create(url)));
        assert_eq!(text.code, 3);
        assert_eq!(text.stdout, "");
        assert_eq!(text.stderr.trim_end(), format!("iMi: {message}"));
    }
}
