//! GitHub's REST API through octocrab: pull request metadata for review worktrees, and repository creation.
//!
//! The base URL is configurable (the binary passes `IMI_GITHUB_API_URL`, default
//! `https://api.github.com`), which is also how tests point it at a local fake server.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// How to reach GitHub.
#[derive(Clone, Debug)]
pub struct GitHubConfig {
    /// The REST API's base URL.
    pub api_url: String,
    /// A token (`GITHUB_TOKEN`); required for creating repositories.
    pub token: Option<String>,
}

/// What a review worktree records about its pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PullRequestInfo {
    /// The number.
    pub number: u64,
    /// The title.
    pub title: String,
    /// The author's login.
    pub author: String,
    /// The web page.
    pub url: String,
    /// The branch it comes from.
    pub head_ref: String,
    /// The branch it targets.
    pub base_ref: String,
}

/// A repository GitHub created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreatedRepository {
    /// `owner/name`.
    pub full_name: String,
    /// What `git clone` takes.
    pub clone_url: String,
    /// The web page.
    pub html_url: String,
}

fn client(config: &GitHubConfig) -> Result<octocrab::Octocrab> {
    // The workspace links rustls with both the ring and the aws-lc-rs providers (other crates
    // ask for the latter), so rustls cannot pick one by itself; ring is the suite's choice. An
    // error only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = octocrab::Octocrab::builder()
        .base_uri(config.api_url.as_str())
        .map_err(|e| {
            Error::Refused(format!(
                "invalid GitHub API URL {:?}: {}; fix IMI_GITHUB_API_URL",
                config.api_url,
                cause(&e)
            ))
        })?
        .set_connect_timeout(Some(Duration::from_secs(5)))
        .set_read_timeout(Some(Duration::from_secs(15)));
    if let Some(token) = &config.token {
        builder = builder.personal_token(token.clone());
    }
    builder.build().map_err(|e| {
        Error::Refused(format!(
            "cannot set up the GitHub client for {}: {}; check IMI_GITHUB_API_URL and GITHUB_TOKEN",
            config.api_url,
            cause(&e)
        ))
    })
}

/// Returns why `e` happened, from the errors it wraps.
///
/// octocrab's own `Display` of most of its errors appends a backtrace that it always captures
/// ("Found at ..."), so it is never shown: only what it wraps is (for a failed connection:
/// `client error (Connect): tcp connect error: Connection refused (os error 111)`).
fn cause(e: &octocrab::Error) -> String {
    let mut text = String::new();
    let mut next = std::error::Error::source(e);
    while let Some(inner) = next {
        let message = inner.to_string();
        // Some errors repeat what they wrap in their own message.
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
        next = inner.source();
    }
    if text.is_empty() {
        // Only errors that wrap nothing get here: their variant's name, which their Debug
        // starts with (the rest is the backtrace).
        text = format!("{e:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or("unknown error")
            .to_owned();
    }
    text
}

fn github_error(config: &GitHubConfig, what: &str, e: octocrab::Error) -> Error {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let hint = match source.status_code.as_u16() {
                401 => "; check GITHUB_TOKEN",
                403 => "; the token lacks the permission, or the rate limit was hit",
                404 => "; check the name and that the token can see it",
                422 => "; GitHub refused the request as invalid",
                _ => "",
            };
            Error::Refused(format!(
                "GitHub refused to {what}: {} (HTTP {}){hint}",
                source.message, source.status_code
            ))
        }
        octocrab::Error::Service { .. } | octocrab::Error::Hyper { .. } => {
            Error::GitHubUnreachable {
                api_url: config.api_url.clone(),
                what: what.to_owned(),
                cause: cause(&e),
            }
        }
        octocrab::Error::Serde { .. } | octocrab::Error::Json { .. } => {
            Error::Unavailable(format!(
                "GitHub at {} answered a request to {what} with something that is not GitHub's JSON: {}; check IMI_GITHUB_API_URL",
                config.api_url,
                cause(&e)
            ))
        }
        other => Error::Unavailable(format!(
            "cannot ask GitHub at {} to {what}: {}; check IMI_GITHUB_API_URL and GITHUB_TOKEN",
            config.api_url,
            cause(&other)
        )),
    }
}

/// Returns `owner/repo` from a remote URL (`https://github.com/o/r.git`, `git@github.com:o/r.git`, `/srv/o/r.git`).
pub fn owner_repo(remote: &str) -> Option<(String, String)> {
    let trimmed = remote.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = trimmed.rsplit(['/', ':']);
    let repo = parts.next().filter(|s| !s.is_empty())?;
    let owner = parts.next().filter(|s| !s.is_empty())?;
    Some((owner.to_owned(), repo.to_owned()))
}

/// Returns pull request `number` of `owner/repo`.
pub async fn pull_request(
    config: &GitHubConfig,
    owner: &str,
    repo: &str,
    number: u64,
) -> Result<PullRequestInfo> {
    let route = format!("/repos/{owner}/{repo}/pulls/{number}");
    let pr: Value = client(config)?.get(route, None::<&()>).await.map_err(|e| {
        github_error(
            config,
            &format!("look up pull request {owner}/{repo}#{number}"),
            e,
        )
    })?;
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok(PullRequestInfo {
        number,
        title: s(&pr["title"]),
        author: s(&pr["user"]["login"]),
        url: s(&pr["html_url"]),
        head_ref: s(&pr["head"]["ref"]),
        base_ref: s(&pr["base"]["ref"]),
    })
}

/// Creates repository `name` for the token's user, from `template` (`owner/repo`) when given.
pub async fn create_repository(
    config: &GitHubConfig,
    name: &str,
    template: Option<&str>,
    private: bool,
) -> Result<CreatedRepository> {
    if config.token.is_none() {
        return Err(Error::Refused(
            "creating a GitHub repository needs a token: set GITHUB_TOKEN".into(),
        ));
    }
    let octocrab = client(config)?;
    let repo: Value = match template {
        None => octocrab
            .post(
                "/user/repos",
                Some(&serde_json::json!({"name": name, "private": private})),
            )
            .await
            .map_err(|e| github_error(config, &format!("create repository {name}"), e))?,
        Some(template) => {
            let (owner, repo) = template.split_once('/').ok_or_else(|| {
                Error::InvalidName(format!("template {template:?} is not OWNER/REPO"))
            })?;
            octocrab
                .post(
                    format!("/repos/{owner}/{repo}/generate"),
                    Some(&serde_json::json!({"name": name, "private": private})),
                )
                .await
                .map_err(|e| {
                    github_error(
                        config,
                        &format!("create repository {name} from {template}"),
                        e,
                    )
                })?
        }
    };
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let created = CreatedRepository {
        full_name: s(&repo["full_name"]),
        clone_url: s(&repo["clone_url"]),
        html_url: s(&repo["html_url"]),
    };
    if created.clone_url.is_empty() {
        return Err(Error::Refused(format!(
            "GitHub created {name} but did not say where to clone it from; clone it yourself and run `iMi init`"
        )));
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::owner_repo;

    #[test]
    fn owner_and_repo_come_from_any_remote_form() {
        let want = Some(("o".to_owned(), "r".to_owned()));
        assert_eq!(owner_repo("https://github.com/o/r.git"), want);
        assert_eq!(owner_repo("https://github.com/o/r"), want);
        assert_eq!(owner_repo("git@github.com:o/r.git"), want);
        assert_eq!(owner_repo("/srv/git/o/r.git"), want);
        assert_eq!(owner_repo("r"), None);
    }
}
