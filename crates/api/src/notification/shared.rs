//! Notification parts that more than one served version uses: the provider, receiver and
//! severity value sets, the event-source reference (v1 and beta forms), and the beta statuses.
//! Each version module re-exports the ones it uses.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{meta::conditions::conditions_schema, string_enum::string_enum};

string_enum! {
    /// Which Provider implementation sends the alerts (v1beta3, notification-controller v1.9).
    pub enum ProviderType {
        /// Slack incoming webhook or `chat.postMessage` API.
        Slack = "slack",
        /// Discord webhook, in its Slack-compatible form.
        Discord = "discord",
        /// Microsoft Teams incoming webhook or workflow.
        MsTeams = "msteams",
        /// Rocket.Chat incoming webhook.
        Rocket = "rocket",
        /// The event as JSON, posted to `address`.
        Generic = "generic",
        /// The event as JSON, posted to `address` and signed with the token (`X-Signature`).
        GenericHmac = "generic-hmac",
        /// GitHub commit status.
        GitHub = "github",
        /// GitLab commit status.
        GitLab = "gitlab",
        /// Gitea commit status.
        Gitea = "gitea",
        /// Gitea pull request comment.
        GiteaPullRequestComment = "giteapullrequestcomment",
        /// Bitbucket Server / Data Center build status.
        BitbucketServer = "bitbucketserver",
        /// Bitbucket Cloud commit status.
        Bitbucket = "bitbucket",
        /// Azure DevOps commit status.
        AzureDevOps = "azuredevops",
        /// Google Chat webhook.
        GoogleChat = "googlechat",
        /// Google Cloud Pub/Sub topic.
        GooglePubSub = "googlepubsub",
        /// Webex room message.
        Webex = "webex",
        /// Sentry event or transaction.
        Sentry = "sentry",
        /// Azure Event Hub.
        AzureEventHub = "azureeventhub",
        /// Telegram bot message.
        Telegram = "telegram",
        /// Lark (Feishu) webhook card.
        Lark = "lark",
        /// Matrix room message.
        Matrix = "matrix",
        /// Opsgenie alert.
        Opsgenie = "opsgenie",
        /// Prometheus Alertmanager alert.
        Alertmanager = "alertmanager",
        /// Grafana annotation.
        Grafana = "grafana",
        /// GitHub `repository_dispatch` event.
        GitHubDispatch = "githubdispatch",
        /// GitHub pull request comment.
        GitHubPullRequestComment = "githubpullrequestcomment",
        /// GitLab merge request comment.
        GitLabMergeRequestComment = "gitlabmergerequestcomment",
        /// PagerDuty event and change event.
        PagerDuty = "pagerduty",
        /// Datadog event.
        DataDog = "datadog",
        /// NATS subject.
        Nats = "nats",
        /// Zulip stream message.
        Zulip = "zulip",
        /// OpenTelemetry trace span (OTLP over HTTP).
        Otel = "otel",
        /// Zoom incoming webhook message.
        Zoom = "zoom",
        /// incident.io alert event (HTTP alert source).
        IncidentIo = "incident.io",
    }
}

impl ProviderType {
    /// Whether this provider sets commit statuses on a Git forge (Flux's
    /// `isCommitStatusProvider`).
    pub const fn is_commit_status(self) -> bool {
        matches!(
            self,
            Self::GitHub
                | Self::GitLab
                | Self::Gitea
                | Self::BitbucketServer
                | Self::Bitbucket
                | Self::AzureDevOps
        )
    }

    /// Whether this provider forwards the event as is (`generic`, `generic-hmac`).
    pub const fn is_generic(self) -> bool {
        matches!(self, Self::Generic | Self::GenericHmac)
    }

    /// Whether this provider comments on change requests (pull or merge requests).
    pub const fn is_change_request(self) -> bool {
        matches!(
            self,
            Self::GitHubPullRequestComment
                | Self::GitLabMergeRequestComment
                | Self::GiteaPullRequestComment
        )
    }
}

/// The provider types a v1beta2 Provider accepts (notification-controller v1.2).
pub const V1BETA2_PROVIDER_TYPES: &[&str] = &[
    "slack",
    "discord",
    "msteams",
    "rocket",
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "gitea",
    "bitbucketserver",
    "bitbucket",
    "azuredevops",
    "googlechat",
    "googlepubsub",
    "webex",
    "sentry",
    "azureeventhub",
    "telegram",
    "lark",
    "matrix",
    "opsgenie",
    "alertmanager",
    "grafana",
    "githubdispatch",
    "pagerduty",
    "datadog",
];

/// The provider types a v1beta1 Provider accepts (notification-controller v0.x).
pub const V1BETA1_PROVIDER_TYPES: &[&str] = &[
    "slack",
    "discord",
    "msteams",
    "rocket",
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "bitbucket",
    "azuredevops",
    "googlechat",
    "webex",
    "sentry",
    "azureeventhub",
    "telegram",
    "lark",
    "matrix",
    "opsgenie",
    "alertmanager",
    "grafana",
    "githubdispatch",
];

string_enum! {
    /// The kind of webhook sender a Receiver verifies (v1, notification-controller v1.9).
    pub enum ReceiverType {
        /// Any caller that knows the webhook path.
        Generic = "generic",
        /// A caller that signs the body with the token (`X-Signature`).
        GenericHmac = "generic-hmac",
        /// A caller with an OIDC token from a configured issuer.
        GenericOidc = "generic-oidc",
        /// GitHub (`X-Hub-Signature-256`, `X-GitHub-Event`).
        GitHub = "github",
        /// GitLab (`X-Gitlab-Token`, `X-Gitlab-Event`).
        GitLab = "gitlab",
        /// Bitbucket Server (`X-Hub-Signature`, `X-Event-Key`).
        Bitbucket = "bitbucket",
        /// Harbor (`Authorization` equal to the token).
        Harbor = "harbor",
        /// Docker Hub.
        DockerHub = "dockerhub",
        /// Quay.
        Quay = "quay",
        /// Google Container Registry through a Pub/Sub push subscription.
        Gcr = "gcr",
        /// Sonatype Nexus (`X-Nexus-Webhook-Signature`).
        Nexus = "nexus",
        /// Azure Container Registry.
        Acr = "acr",
        /// CDEvents (`Ce-Type`).
        CdEvents = "cdevents",
    }
}

/// The receiver types a v1beta2 Receiver accepts (notification-controller v1.2).
pub const V1BETA2_RECEIVER_TYPES: &[&str] = &[
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "bitbucket",
    "harbor",
    "dockerhub",
    "quay",
    "gcr",
    "nexus",
    "acr",
];

string_enum! {
    /// Which events an Alert lets through by severity.
    #[derive(Default)]
    pub enum EventSeverity {
        /// Every event (`info` and `error`).
        #[default]
        Info = "info",
        /// Only `error` events.
        Error = "error",
    }
}

/// The kinds an Alert event source or a Receiver resource may name (v1, v1beta3).
pub const OBJECT_KINDS: &[&str] = &[
    "Bucket",
    "GitRepository",
    "Kustomization",
    "HelmRelease",
    "HelmChart",
    "HelmRepository",
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
    "OCIRepository",
    "ArtifactGenerator",
    "ExternalArtifact",
];

/// The kinds a beta event source or Receiver resource may name.
pub const BETA_OBJECT_KINDS: &[&str] = &[
    "Bucket",
    "GitRepository",
    "Kustomization",
    "HelmRelease",
    "HelmChart",
    "HelmRepository",
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
    "OCIRepository",
];

/// Locates Flux objects by kind, name (or `*` with `matchLabels`) and namespace: an Alert's
/// event source (v1beta3) or the basis of a Receiver's resource (v1).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the referent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    #[schemars(extend("enum" = OBJECT_KINDS))]
    pub kind: String,
    /// Name of the referent; `*` targets every object of the kind (with `matchLabels`).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the referent; the referrer's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,
    /// Labels the referent must all carry (ANDed); requires `name: "*"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

/// The beta form of [`CrossNamespaceObjectReference`]: shorter names and fewer kinds.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BetaCrossNamespaceObjectReference {
    /// API version of the referent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    #[schemars(extend("enum" = BETA_OBJECT_KINDS))]
    pub kind: String,
    /// Name of the referent; `*` targets every object of the kind (with `matchLabels`).
    #[schemars(length(min = 1, max = 53))]
    pub name: String,
    /// Namespace of the referent; the referrer's namespace when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 53))]
    pub namespace: Option<String>,
    /// Labels the referent must all carry (ANDed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

impl From<BetaCrossNamespaceObjectReference> for CrossNamespaceObjectReference {
    fn from(beta: BetaCrossNamespaceObjectReference) -> Self {
        Self {
            api_version: beta.api_version,
            kind: beta.kind,
            name: beta.name,
            namespace: beta.namespace,
            match_labels: beta.match_labels,
        }
    }
}

/// The observed state of a v1beta2 Provider or Alert, or of a Receiver (without its webhook
/// path, see the version modules).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationStatus {
    /// The value of the `reconcile.fluxcd.io/requestedAt` annotation last handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The conditions of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The observed state of a v1beta1 Provider or Alert.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BetaOneStatus {
    /// The last generation of the object the controller acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
}
