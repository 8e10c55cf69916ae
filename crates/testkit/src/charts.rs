//! Test charts written by this project: [`write_chart`] lays out a podinfo-like application
//! chart (Deployment, Service, ServiceAccount, optional HorizontalPodAutoscaler, values with
//! `replicas`) under a name, version and appVersion of the test's choosing, for chart
//! repositories ([`crate::chartrepo`]), OCI chart pushes, the e2e seed flow and `bench/helm`.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// What [`write_chart`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartSpec {
    /// `name` in Chart.yaml, and the directory name.
    pub name: String,
    /// `version` in Chart.yaml.
    pub version: String,
    /// `appVersion` in Chart.yaml, also the default image tag.
    pub app_version: String,
}

impl ChartSpec {
    /// A chart spec; `app_version` defaults to the version when empty.
    pub fn new(name: &str, version: &str, app_version: &str) -> Self {
        let app_version = if app_version.is_empty() {
            version
        } else {
            app_version
        };
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            app_version: app_version.to_owned(),
        }
    }
}

/// Writes the chart directory `<parent>/<name>` (replacing one left there) and returns it.
pub fn write_chart(parent: &Path, spec: &ChartSpec) -> anyhow::Result<PathBuf> {
    let dir = parent.join(&spec.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates)
        .with_context(|| format!("cannot create {}", templates.display()))?;
    let files = [
        ("Chart.yaml", chart_yaml(spec)),
        ("values.yaml", VALUES.to_owned()),
        (".helmignore", "*.orig\n*.tmp\n.git/\n".to_owned()),
        ("templates/_helpers.tpl", HELPERS.to_owned()),
        ("templates/deployment.yaml", DEPLOYMENT.to_owned()),
        ("templates/service.yaml", SERVICE.to_owned()),
        ("templates/serviceaccount.yaml", SERVICE_ACCOUNT.to_owned()),
        ("templates/hpa.yaml", HPA.to_owned()),
        ("templates/NOTES.txt", NOTES.to_owned()),
    ];
    for (path, text) in files {
        let file = dir.join(path);
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(dir)
}

fn chart_yaml(spec: &ChartSpec) -> String {
    format!(
        "apiVersion: v2\n\
         name: {name}\n\
         description: A small web application chart written for tether's tests\n\
         type: application\n\
         version: {version}\n\
         appVersion: \"{app}\"\n\
         keywords:\n  - tether\n  - test\n",
        name = spec.name,
        version = spec.version,
        app = spec.app_version,
    )
}

const VALUES: &str = r#"# Values of tether's test chart.
replicas: 1

image:
  repository: ghcr.io/tether-test/webapp
  # Defaults to the chart's appVersion.
  tag: ""
  pullPolicy: IfNotPresent

serviceAccount:
  create: true
  name: ""

service:
  type: ClusterIP
  port: 9898

containerPort: 9898

resources:
  requests:
    cpu: 1m
    memory: 16Mi

hpa:
  enabled: false
  minReplicas: 1
  maxReplicas: 4
  cpuUtilization: 80

podAnnotations: {}
extraEnv: []
"#;

const HELPERS: &str = r#"{{- define "app.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "app.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "app.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "app.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "app.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  {{- if not .Values.hpa.enabled }}
  replicas: {{ .Values.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "app.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "app.selector" . | nindent 8 }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "app.serviceAccount" . }}
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ .Values.containerPort }}
              protocol: TCP
          env:
            - name: APP_VERSION
              value: {{ .Chart.AppVersion | quote }}
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
      name: http
  selector:
    {{- include "app.selector" . | nindent 4 }}
"#;

const SERVICE_ACCOUNT: &str = r#"{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "app.serviceAccount" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
{{- end }}
"#;

const HPA: &str = r#"{{- if .Values.hpa.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "app.fullname" . }}
  minReplicas: {{ .Values.hpa.minReplicas }}
  maxReplicas: {{ .Values.hpa.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.hpa.cpuUtilization }}
{{- end }}
"#;

const NOTES: &str = r#"{{ .Chart.Name }} {{ .Chart.Version }} is installed as {{ .Release.Name }}.
Reach it with: kubectl -n {{ .Release.Namespace }} port-forward svc/{{ include "app.fullname" . }} {{ .Values.service.port }}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_chart_directory_with_the_requested_metadata() {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = ChartSpec::new("kube-prometheus-stack", "61.0.0", "");
        let chart = write_chart(dir.path(), &spec).expect("chart written");
        let chart_yaml = std::fs::read_to_string(chart.join("Chart.yaml")).expect("Chart.yaml");
        assert!(chart_yaml.contains("name: kube-prometheus-stack\n"));
        assert!(chart_yaml.contains("version: 61.0.0\n"));
        assert!(chart_yaml.contains("appVersion: \"61.0.0\"\n"));
        for template in ["deployment", "service", "serviceaccount", "hpa"] {
            assert!(chart.join(format!("templates/{template}.yaml")).is_file());
        }
        let again = write_chart(
            dir.path(),
            &ChartSpec::new("kube-prometheus-stack", "61.1.0", "v0.75.0"),
        );
        let chart_yaml = std::fs::read_to_string(again.expect("rewritten").join("Chart.yaml"));
        assert!(
            chart_yaml
                .expect("Chart.yaml")
                .contains("version: 61.1.0\n")
        );
    }

    #[test]
    fn helm_lints_and_renders_the_chart() -> anyhow::Result<()> {
        let helm = crate::chartrepo::helm_binary()?;
        let dir = tempfile::tempdir()?;
        let chart = write_chart(dir.path(), &ChartSpec::new("rabbitmq", "3.3.6", "3.13.0"))?;
        let run = |args: &[&str]| -> anyhow::Result<String> {
            let output = std::process::Command::new(&helm)
                .args(args)
                .arg(&chart)
                .env("HELM_CONFIG_HOME", dir.path().join("h"))
                .env("HELM_CACHE_HOME", dir.path().join("h"))
                .env("HELM_DATA_HOME", dir.path().join("h"))
                .output()?;
            let stderr = String::from_utf8_lossy(&output.stderr);
            anyhow::ensure!(output.status.success(), "helm {args:?}: {stderr}");
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        };
        run(&["lint", "--strict"])?;
        let plain = run(&["template", "web", "--set", "replicas=3"])?;
        for kind in ["kind: Deployment", "kind: Service", "kind: ServiceAccount"] {
            assert!(plain.contains(kind), "{kind} missing:\n{plain}");
        }
        assert!(plain.contains("replicas: 3"));
        assert!(plain.contains("image: \"ghcr.io/tether-test/webapp:3.13.0\""));
        assert!(!plain.contains("HorizontalPodAutoscaler"));
        let scaled = run(&["template", "web", "--set", "hpa.enabled=true"])?;
        assert!(scaled.contains("kind: HorizontalPodAutoscaler"));
        assert!(!scaled.contains("replicas:"));
        Ok(())
    }
}
