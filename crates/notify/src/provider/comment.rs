//! Change request comments (`githubpullrequestcomment`, `gitlabmergerequestcomment`,
//! `giteapullrequestcomment`), as notification-controller v1.9's
//! `*_pull_request_comment.go`, `gitlab_merge_request_comment.go` and
//! `git_change_request_comment.go` post them: the change request is the number in the event's
//! `change_request` metadata; the comment is a key marker
//! (`<!-- flux-pr-comment-key:<provider uid>/<kind>/<namespace>/<name> -->`, `flux-mr-...` on
//! GitLab) and Flux's Markdown post. The forge is asked who the token belongs to, then for the
//! first 100 comments of the change request (oldest first); the first comment by that user
//! holding the marker is edited, else a new one is created.
//!
//! Each request is the call the SDK Flux uses makes (go-github v64, GitLab client-go, the
//! Gitea SDK): its path, query (Go's `Values.Encode`, keys sorted), headers and body encoding.
//! Gitea's version probe and GitHub App tokens are not reproduced: a token is required.

use serde::{Deserialize, Serialize};
use tether_api::notification::v1beta3::ProviderType;

use super::{
    HttpRequest, PayloadError, ProviderSettings, canonical_header_key,
    forge::{github_api_base, github_request, owner_and_repo, path_escape, token_or_password},
    git_host_and_id, markdown_post,
};
use crate::{
    event::{Event, metadata_keys},
    gojson,
    send::{SendError, Sender},
};

/// Where the change request lives and how the forge's SDK addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Forge {
    /// `<api base>repos/<owner>/<repo>/...` (the base ends with `/`).
    GitHub { api: String, repo: String },
    /// `<host>/api/v4/projects/<escaped project>/...`.
    GitLab { api: String },
    /// `<host>/api/v1/repos/<owner>/<repo>/...`.
    Gitea { api: String },
}

/// A comment to put on one change request; build its requests, then feed it the answers.
#[derive(Clone, PartialEq, Eq)]
pub struct ChangeRequestComment {
    forge: Forge,
    token: String,
    number: i64,
    marker: String,
    body: String,
}

impl std::fmt::Debug for ChangeRequestComment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeRequestComment")
            .field("forge", &self.forge)
            .field("number", &self.number)
            .field("marker", &self.marker)
            .finish_non_exhaustive()
    }
}

/// Why a comment was not posted; never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    /// A request failed (`step` says which, in Flux's words).
    #[error("{step}: {source}")]
    Send {
        /// `failed to list pull request comments`, ...
        step: &'static str,
        /// The delivery error, secrets masked.
        source: SendError,
    },
    /// The forge's answer is not the JSON its API documents.
    #[error("{step}: unreadable answer: {detail}")]
    Answer {
        /// The step whose answer it was.
        step: &'static str,
        /// The decoding error.
        detail: String,
    },
}

impl CommentError {
    /// Whether a later delivery with the same settings cannot succeed either.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Send { source, .. } => source.is_terminal(),
            Self::Answer { .. } => false,
        }
    }
}

impl ChangeRequestComment {
    /// The comment `provider` puts on the change request of `event` (metadata merged, keys
    /// unprefixed), or why it cannot.
    pub fn new(
        provider: ProviderType,
        event: &Event,
        settings: &ProviderSettings,
    ) -> Result<Self, PayloadError> {
        if settings.provider_uid.is_empty() {
            return Err(PayloadError::MissingSetting {
                provider,
                setting: "provider UID",
            });
        }
        let token = token_or_password(settings);
        if token.is_empty() {
            return Err(PayloadError::MissingSetting {
                provider,
                setting: "token",
            });
        }
        let (host, id) = git_host_and_id(provider, &settings.address)?;
        let (forge, prefix) = match provider {
            ProviderType::GitHubPullRequestComment => {
                let (owner, repo) = owner_and_repo(&id)?;
                let forge = Forge::GitHub {
                    api: github_api_base(&host),
                    repo: format!("{owner}/{repo}"),
                };
                (forge, "flux-pr-comment-key")
            }
            ProviderType::GitLabMergeRequestComment => {
                let api = format!("{host}/api/v4/projects/{}", path_escape(&id));
                (Forge::GitLab { api }, "flux-mr-comment-key")
            }
            ProviderType::GiteaPullRequestComment => {
                let (owner, repo) = owner_and_repo(&id)?;
                let api = format!(
                    "{host}/api/v1/repos/{}/{}",
                    path_escape(owner),
                    path_escape(repo)
                );
                (Forge::Gitea { api }, "flux-pr-comment-key")
            }
            other => return Err(PayloadError::Unsupported(other)),
        };
        let number = change_request_number(event)?;
        let object = &event.involved_object;
        let marker = format!(
            "<!-- {prefix}:{}/{}/{}/{} -->",
            settings.provider_uid, object.kind, object.namespace, object.name
        );
        let body = format!("{marker}\n\n{}", markdown_post(event));
        Ok(Self {
            forge,
            token: token.to_owned(),
            number,
            marker,
            body,
        })
    }

    /// `GET` of the token's user (`Users.Get`, `CurrentUser`, `GetMyUserInfo`).
    pub fn user_request(&self) -> HttpRequest {
        let url = match &self.forge {
            Forge::GitHub { api, .. } => format!("{api}user"),
            Forge::GitLab { api } => format!("{}/user", api_root(api, "/projects/")),
            Forge::Gitea { api } => format!("{}/user", api_root(api, "/repos/")),
        };
        self.get(url)
    }

    /// `GET` of the change request's first 100 comments, oldest first.
    pub fn list_request(&self) -> HttpRequest {
        let number = self.number;
        let url = match &self.forge {
            Forge::GitHub { api, repo } => format!(
                "{api}repos/{repo}/issues/{number}/comments?direction=asc&per_page=100&sort=created"
            ),
            Forge::GitLab { api } => format!(
                "{api}/merge_requests/{number}/notes?order_by=created_at&per_page=100&sort=asc"
            ),
            Forge::Gitea { api } => {
                format!("{api}/issues/{number}/comments?limit=100&page=1")
            }
        };
        self.get(url)
    }

    /// The login in the answer to [`Self::user_request`].
    pub fn user_login(&self, answer: &str) -> Result<String, CommentError> {
        let step = "failed to get authenticated user info";
        let user: User = serde_json::from_str(answer).map_err(|e| CommentError::Answer {
            step,
            detail: e.to_string(),
        })?;
        Ok(user.login())
    }

    /// The edit of `login`'s comment with the marker among the listed `comments` (the answer
    /// to [`Self::list_request`]), else the creation of a new comment.
    pub fn write_request(&self, login: &str, comments: &str) -> Result<HttpRequest, CommentError> {
        let step = match self.forge {
            Forge::GitLab { .. } => "failed to list merge request notes",
            _ => "failed to list pull request comments",
        };
        let comments: Vec<Comment> =
            serde_json::from_str(comments).map_err(|e| CommentError::Answer {
                step,
                detail: e.to_string(),
            })?;
        let existing = comments
            .iter()
            .find(|c| c.author() == login && c.body.contains(&self.marker))
            .map(|c| c.id);
        let number = self.number;
        let (method, url) = match (&self.forge, existing) {
            (Forge::GitHub { api, repo }, Some(id)) => {
                ("PATCH", format!("{api}repos/{repo}/issues/comments/{id}"))
            }
            (Forge::GitHub { api, repo }, None) => (
                "POST",
                format!("{api}repos/{repo}/issues/{number}/comments"),
            ),
            (Forge::GitLab { api }, Some(id)) => {
                ("PUT", format!("{api}/merge_requests/{number}/notes/{id}"))
            }
            (Forge::GitLab { api }, None) => {
                ("POST", format!("{api}/merge_requests/{number}/notes"))
            }
            (Forge::Gitea { api }, Some(id)) => ("PATCH", format!("{api}/issues/comments/{id}")),
            (Forge::Gitea { api }, None) => ("POST", format!("{api}/issues/{number}/comments")),
        };
        let payload = CommentBody { body: &self.body };
        // go-github encodes bodies without HTML escaping, with a newline; the GitLab and
        // Gitea clients use json.Marshal.
        let encoded = match self.forge {
            Forge::GitHub { .. } => gojson::encode_plain(&payload),
            _ => gojson::marshal(&payload),
        }
        .map_err(|e| CommentError::Answer {
            step,
            detail: e.to_string(),
        })?;
        let mut request = self.with_auth(HttpRequest::json_post(url, encoded));
        request.method = method;
        Ok(request)
    }

    /// What the step after a failed write says, as Flux words it.
    fn write_step(&self, update: bool) -> &'static str {
        match (&self.forge, update) {
            (Forge::GitLab { .. }, true) => "failed to update merge request note",
            (Forge::GitLab { .. }, false) => "failed to create merge request note",
            (_, true) => "failed to update pull request comment",
            (_, false) => "failed to create pull request comment",
        }
    }

    fn get(&self, url: String) -> HttpRequest {
        let mut request = self.with_auth(HttpRequest::json_post(url, Vec::new()));
        request.method = "GET";
        let content_type = canonical_header_key("content-type");
        request.headers.retain(|(name, _)| *name != content_type);
        request
    }

    /// The SDK's headers and authentication on `request`.
    fn with_auth(&self, request: HttpRequest) -> HttpRequest {
        match self.forge {
            Forge::GitHub { .. } => github_request(request.url, request.body, &self.token),
            Forge::GitLab { .. } => {
                let mut request = request;
                request.set_header("Accept", "application/json");
                request.set_header("PRIVATE-TOKEN", self.token.as_str());
                request
            }
            Forge::Gitea { .. } => {
                let mut request = request;
                request.set_header("Authorization", format!("token {}", self.token));
                request
            }
        }
    }
}

/// Posts `comment` through `sender`: who am I, list, then edit or create. `secrets` are
/// masked in errors.
pub async fn post_comment(
    sender: &Sender,
    comment: &ChangeRequestComment,
    secrets: &[&str],
) -> Result<(), CommentError> {
    let send = |step: &'static str| move |source| CommentError::Send { step, source };
    let (_, user) = sender
        .exchange(&comment.user_request(), secrets)
        .await
        .map_err(send("failed to get authenticated user info"))?;
    let login = comment.user_login(&user)?;
    let list_step = match comment.forge {
        Forge::GitLab { .. } => "failed to list merge request notes",
        _ => "failed to list pull request comments",
    };
    let (_, listed) = sender
        .exchange(&comment.list_request(), secrets)
        .await
        .map_err(send(list_step))?;
    let write = comment.write_request(&login, &listed)?;
    let step = comment.write_step(write.method != "POST");
    sender.send(&write, secrets).await.map_err(send(step))?;
    Ok(())
}

/// `https://host/api/v4` from `https://host/api/v4/projects/<project>`.
fn api_root<'a>(api: &'a str, marker: &str) -> &'a str {
    api.rfind(marker).map_or(api, |at| &api[..at])
}

/// The change request number from the `change_request` metadata (Go's `strconv.Atoi`).
fn change_request_number(event: &Event) -> Result<i64, PayloadError> {
    let key = metadata_keys::CHANGE_REQUEST;
    let value = event
        .metadata
        .get(key)
        .ok_or(PayloadError::MissingChangeRequest)?;
    value
        .parse()
        .map_err(|_| PayloadError::InvalidChangeRequest {
            value: value.clone(),
        })
}

#[derive(Serialize)]
struct CommentBody<'a> {
    body: &'a str,
}

/// A user as the forges return it: `login` (GitHub, Gitea) or `username` (GitLab).
#[derive(Deserialize, Default)]
struct User {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

impl User {
    fn login(&self) -> String {
        self.login
            .clone()
            .or_else(|| self.username.clone())
            .unwrap_or_default()
    }
}

/// A comment (GitHub, Gitea: `user`) or note (GitLab: `author`).
#[derive(Deserialize)]
struct Comment {
    id: i64,
    #[serde(default)]
    body: String,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    author: Option<User>,
}

impl Comment {
    fn author(&self) -> String {
        self.user
            .as_ref()
            .or(self.author.as_ref())
            .map(User::login)
            .unwrap_or_default()
    }
}
