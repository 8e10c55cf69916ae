//! Hand-written charts rendered by the Go-built `helm template` and by the engine: subcharts
//! three levels deep with aliases, conditions, tags, globals and import-values, library
//! charts, `tpl`/`include` recursion, `toYaml` of numbers and YAML 1.1 words, `.Files`,
//! `.Capabilities`, multi-document and empty templates, NOTES, hooks, CRDs, `--show-only`,
//! and error cases. Every case must print the same bytes (or fail with the same message).

mod common;

use common::{Files, Tally, args, compare};

fn tree(entries: &[(&str, &str)]) -> Files {
    entries
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect()
}

fn chart_yaml(name: &str, extra: &str) -> String {
    format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: \"1.0\"\n{extra}")
}

const LABELS: &str = r#"{{- define "lib.labels" -}}
app: {{ .Chart.Name }}
release: {{ .Release.Name }}
{{- end -}}
{{- define "lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
  labels:
    {{- include "lib.labels" . | nindent 4 }}
data:
  chart: {{ .Chart.Name | quote }}
  isRoot: {{ .Chart.IsRoot | quote }}
  values: |
    {{- toYaml .Values | nindent 4 }}
{{- end -}}
"#;

fn nested_chart() -> Files {
    let parent_deps = r#"dependencies:
  - name: db
    version: ">=0.1.0"
    repository: file://charts/db
    alias: primary
    condition: primary.enabled
  - name: db
    version: "0.1.x"
    repository: file://charts/db
    alias: replica
    condition: replica.enabled,global.replicas
  - name: cache
    version: "*"
    repository: file://charts/cache
    tags: [backend, fast]
    import-values:
      - child: config.limits
        parent: imported.limits
      - child: missing.table
        parent: nowhere
  - name: web
    version: "~0.1"
    repository: file://charts/web
    condition: web.enabled
    import-values: [settings]
  - name: lib
    version: "0.1.0"
    repository: file://charts/lib
"#;
    tree(&[
        ("app/Chart.yaml", &chart_yaml("app", parent_deps)),
        (
            "app/values.yaml",
            "global:\n  env: dev\n  nested: {a: 1, b: {c: 2}}\nprimary:\n  enabled: true\n  size: 10\nreplica:\n  enabled: false\ncache:\n  config:\n    limits: {cpu: 2}\nweb:\n  ui:\n    title: Parent title\nimported:\n  limits: {memory: 1Gi}\nsettings:\n  retries: 3\n",
        ),
        (
            "app/templates/cm.yaml",
            "{{ include \"lib.configmap\" . }}\n",
        ),
        (
            "app/templates/subcharts.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: subcharts\ndata:\n  names: {{ keys .Subcharts | sortAlpha | join \",\" | quote }}\n  deps: {{ range .Chart.Dependencies }}{{ .Name }}={{ .Enabled }} {{ end }}\n",
        ),
        (
            "app/charts/lib/Chart.yaml",
            &chart_yaml("lib", "type: library\n"),
        ),
        ("app/charts/lib/templates/_cm.tpl", LABELS),
        (
            "app/charts/lib/templates/ignored.yaml",
            "kind: NotRendered\n",
        ),
        ("app/charts/db/Chart.yaml", &chart_yaml("db", "")),
        (
            "app/charts/db/values.yaml",
            "enabled: true\nsize: 1\nglobal:\n  env: db-default\n  dbOnly: true\n",
        ),
        (
            "app/charts/db/templates/svc.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\n  annotations:\n    size: {{ .Values.size | quote }}\n    env: {{ .Values.global.env }}\n    dbOnly: {{ .Values.global.dbOnly | quote }}\nspec:\n  ports: [{port: 5432}]\n",
        ),
        ("app/charts/cache/Chart.yaml", &chart_yaml("cache", "")),
        (
            "app/charts/cache/values.yaml",
            "config:\n  limits: {cpu: 1, memory: 512Mi}\n  extra: true\n",
        ),
        (
            "app/charts/cache/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\ndata:\n  limits: {{ toJson .Values.config.limits | quote }}\n",
        ),
        (
            "app/charts/web/Chart.yaml",
            &chart_yaml(
                "web",
                "dependencies:\n  - name: ui\n    version: 0.1.0\n    repository: file://charts/ui\n",
            ),
        ),
        (
            "app/charts/web/values.yaml",
            "enabled: true\nexports:\n  settings:\n    timeout: 30\n    retries: 1\nglobal:\n  region: eu\n  nested:\n    b:\n      leaks: true\nui:\n  title: Web title\n  color: blue\n",
        ),
        (
            "app/charts/web/templates/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      annotations:\n        global: {{ toJson .Values.global | quote }}\n        ui: {{ .Values.ui.title }}\n",
        ),
        ("app/charts/web/charts/ui/Chart.yaml", &chart_yaml("ui", "")),
        (
            "app/charts/web/charts/ui/values.yaml",
            "title: UI default\ncolor: red\nglobal:\n  region: us\n",
        ),
        (
            "app/charts/web/charts/ui/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ui\n  annotations:\n    template: {{ .Template.Name }}\n    base: {{ .Template.BasePath }}\ndata:\n  title: {{ .Values.title | quote }}\n  color: {{ .Values.color }}\n  global: {{ toYaml .Values.global | nindent 4 }}\n",
        ),
        (
            "values-prod.yaml",
            "global:\n  env: prod\nweb:\n  ui:\n    color: green\nprimary:\n  size: null\n",
        ),
    ])
}

fn nested_cases() -> Vec<Vec<String>> {
    vec![
        args(&["rel", "app"]),
        args(&["rel", "app", "--set", "tags.backend=false"]),
        args(&["rel", "app", "--set", "tags.backend=false,tags.fast=true"]),
        args(&["rel", "app", "--set", "primary.enabled=false"]),
        args(&["rel", "app", "--set", "replica.enabled=true"]),
        args(&[
            "rel",
            "app",
            "--set",
            "global.replicas=true,replica.enabled=null",
        ]),
        args(&["rel", "app", "--set", "web.enabled=false"]),
        args(&[
            "rel",
            "app",
            "--set",
            "global.env=stage",
            "--set-string",
            "web.ui.title=123",
        ]),
        args(&["rel", "app", "-f", "values-prod.yaml"]),
        args(&[
            "rel",
            "app",
            "-f",
            "values-prod.yaml",
            "--set",
            "global.nested.b.d=4",
        ]),
        args(&["rel", "app", "--set", "settings.timeout=5"]),
        args(&["rel", "app", "--set", "cache.config.limits.cpu=8"]),
        args(&["rel", "app", "--set", "primary=oops"]),
    ]
}

fn library_charts() -> Files {
    tree(&[
        ("lib/Chart.yaml", &chart_yaml("lib", "type: library\n")),
        ("lib/templates/_cm.tpl", LABELS),
        (
            "user/Chart.yaml",
            &chart_yaml(
                "user",
                "dependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n",
            ),
        ),
        (
            "user/charts/lib/Chart.yaml",
            &chart_yaml("lib", "type: library\n"),
        ),
        ("user/charts/lib/templates/_cm.tpl", LABELS),
        ("user/values.yaml", "a: {b: [1, 2.5, three]}\n"),
        (
            "user/templates/cm.yaml",
            "{{- include \"lib.configmap\" . }}\n",
        ),
        (
            "missing/Chart.yaml",
            &chart_yaml(
                "missing",
                "dependencies:\n  - name: gone\n    version: 1.0.0\n    repository: https://example.invalid\n",
            ),
        ),
        ("missing/templates/x.yaml", "kind: X\n"),
        ("weird/Chart.yaml", &chart_yaml("weird", "type: plugin\n")),
    ])
}

const RECURSION: &str = r#"{{- define "countdown" -}}
{{- if gt (int .n) 0 -}}
n{{ .n }}:
  {{- include "countdown" (dict "n" (sub (int .n) 1)) | nindent 2 }}
{{- else -}}
done: true
{{- end -}}
{{- end -}}
{{- define "loop" -}}{{ include "loop" . }}{{- end -}}
{{- define "greeting" -}}hello {{ .Values.name }}{{- end -}}
"#;

fn recursion_chart() -> Files {
    tree(&[
        ("rec/Chart.yaml", &chart_yaml("rec", "")),
        (
            "rec/values.yaml",
            "name: world\ndepth: 4\ntext: \"{{ include \\\"greeting\\\" . }} from {{ .Chart.Name }}\"\nnested: \"{{ tpl .Values.text . }}!\"\ndefines: '{{ define \"inner\" }}inner {{ .Values.name }}{{ end }}{{ include \"inner\" . }}'\nbroken: \"{{ .Values.nope.deeper }}\"\n",
        ),
        ("rec/templates/_helpers.tpl", RECURSION),
        (
            "rec/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rec\ndata:\n  tree: |\n    {{- include \"countdown\" (dict \"n\" .Values.depth) | nindent 4 }}\n  tpl: {{ tpl .Values.text . | quote }}\n  nested: {{ tpl .Values.nested . | quote }}\n  defines: {{ tpl .Values.defines . | quote }}\n  literal: {{ tpl \"{{ .Values.name | upper }}\" . }}\n",
        ),
        (
            "rec/templates/loop.yaml",
            "{{ if .Values.loop }}{{ include \"loop\" . }}{{ end }}\n",
        ),
        (
            "rec/templates/broken.yaml",
            "{{ if .Values.useBroken }}{{ tpl .Values.broken . }}{{ end }}\n",
        ),
    ])
}

const NUMBERS: &str = r#"int: 1
zero: 0
negative: -7
float: 1.5
million: 1000000
million_float: 1e6
big: 12345678901234567890
huge: 1e21
small: 0.000001
tiny: 1e-7
octal: 0755
hex: 0x1F
yes_word: "yes"
on_word: "on"
no_bare: no
n_word: "n"
y_word: "Y"
null_word: "null"
tilde: "~"
float_string: "1.5"
int_string: "42"
date_string: "2024-01-02"
empty: ""
nothing: null
colon: "a: b"
hash: "a #b"
lead_space: " lead"
multi: "line one\nline two\n"
tab: "a\tb"
unicode: "héllo ☃"
list: [1, "two", 3.0, true, null, {k: v}]
empty_list: []
empty_map: {}
"key with space": 1
"10": ten
"9": nine
"a10": x
"a9": y
nested:
  z: 1
  a: {c: [x, {d: 1e6}], b: null}
"#;

fn yaml_chart() -> Files {
    tree(&[
        ("nums/Chart.yaml", &chart_yaml("nums", "")),
        ("nums/values.yaml", NUMBERS),
        (
            "nums/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nums\ndata:\n  yaml: |\n    {{- toYaml .Values | nindent 4 }}\n  json: {{ toJson .Values | quote }}\n  printed: \"{{ .Values.million }} {{ .Values.million_float }} {{ .Values.big }} {{ .Values.float }} {{ .Values.small }} {{ .Values.huge }} {{ .Values.int }}\"\n  list: {{ .Values.list | toYaml | nindent 4 }}\n  roundtrip: {{ (fromYaml (toYaml .Values.nested)).a | toJson | quote }}\n  fromjson: {{ (fromJson \"{\\\"a\\\": 1e6, \\\"b\\\": [1,2]}\").a }}\n  error: {{ (fromYaml \"- a\\n- b\").Error | quote }}\n  array: {{ fromYamlArray \"- 1\\n- two\" | toJson | quote }}\n  kinds: {{ kindOf .Values.int }} {{ kindOf .Values.list }} {{ typeOf .Values.nested }}\n  scalar: {{ toYaml .Values.multi | quote }}\n  nilyaml: {{ toYaml .Values.nothing }}\n  int64: {{ .Values.million | int64 }}\n",
        ),
        (
            "nums/templates/toml.yaml",
            "{{ if .Values.toml }}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: toml\ndata:\n  toml: |\n    {{- toToml .Values.nested | nindent 4 }}\n{{ end }}\n",
        ),
    ])
}

fn files_chart() -> Files {
    tree(&[
        ("fil/Chart.yaml", &chart_yaml("fil", "")),
        (
            "fil/.helmignore",
            "# comment\n*.bak\nsecret/\nfiles/ignored.txt\n",
        ),
        ("fil/files/a.txt", "alpha\nbeta\n"),
        ("fil/files/b.conf", "key = value\n"),
        ("fil/files/ignored.txt", "should not appear\n"),
        ("fil/files/old.bak", "backup\n"),
        ("fil/files/sub/c.txt", "gamma"),
        ("fil/secret/token", "hidden\n"),
        ("fil/config.json", "{\"a\": 1}\n"),
        ("fil/templates/.hidden.yaml", "kind: Hidden\n"),
        (
            "fil/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: files\ndata:\n  a: {{ .Files.Get \"files/a.txt\" | quote }}\n  missing: {{ .Files.Get \"nope\" | quote }}\n  ignored: {{ .Files.Get \"files/ignored.txt\" | quote }}\n  token: {{ .Files.Get \"secret/token\" | quote }}\n  json: {{ .Files.Get \"config.json\" | fromJson | toJson | quote }}\n  lines: {{ .Files.Lines \"files/a.txt\" | toJson | quote }}\n  {{- range $path, $_ := .Files.Glob \"files/*\" }}\n  {{ base $path }}: {{ $.Files.Get $path | trim | quote }}\n  {{- end }}\n  count: \"{{ len (.Files.Glob \"**.txt\") }}\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: as-config\ndata:\n  {{- (.Files.Glob \"files/*\").AsConfig | nindent 2 }}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: as-secrets\ndata:\n  {{- (.Files.Glob \"files/sub/*\").AsSecrets | nindent 2 }}\n  empty: {{ (.Files.Glob \"nothing/*\").AsConfig | quote }}\n",
        ),
    ])
}

fn capabilities_chart() -> Files {
    tree(&[
        ("caps/Chart.yaml", &chart_yaml("caps", "")),
        (
            "caps/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\n  namespace: {{ .Release.Namespace }}\ndata:\n  kube: \"{{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.GitVersion }} {{ .Capabilities.KubeVersion.Major }}.{{ .Capabilities.KubeVersion.Minor }}\"\n  batch: {{ .Capabilities.APIVersions.Has \"batch/v1\" | quote }}\n  custom: {{ .Capabilities.APIVersions.Has \"example.com/v1\" | quote }}\n  modern: {{ semverCompare \">=1.30-0\" .Capabilities.KubeVersion.GitVersion | quote }}\n  helm: {{ .Capabilities.HelmVersion.Version | quote }}\n  release: \"{{ .Release.Name }} {{ .Release.IsInstall }} {{ .Release.IsUpgrade }} {{ .Release.Revision }} {{ .Release.Service }}\"\n  chart: \"{{ .Chart.Name }}-{{ .Chart.Version }} {{ .Chart.AppVersion }}\"\n{{- if .Capabilities.APIVersions.Has \"policy/v1/PodDisruptionBudget\" }}\n  pdb: yes\n{{- end }}\n",
        ),
        (
            "old/Chart.yaml",
            &chart_yaml("old", "kubeVersion: \">=1.20.0-0 <1.30.0-0\"\n"),
        ),
        (
            "old/templates/cm.yaml",
            "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: old\n",
        ),
    ])
}

fn capabilities_cases() -> Vec<Vec<String>> {
    vec![
        args(&["caps"]),
        args(&["r1", "caps", "--kube-version", "1.29.3"]),
        args(&["r1", "caps", "--kube-version", "v1.31"]),
        args(&["r1", "caps", "--kube-version=1.33.4-gke.100"]),
        args(&["r1", "caps", "-a", "example.com/v1"]),
        args(&[
            "r1",
            "caps",
            "--api-versions=x.io/v1beta1,example.com/v1,policy/v1/PodDisruptionBudget",
        ]),
        args(&["r1", "caps", "--namespace", "prod", "--is-upgrade"]),
        args(&["r1", "caps", "-n", "other"]),
        args(&["r1", "old"]),
        args(&["r1", "old", "--kube-version", "1.25.0"]),
        args(&["r1", "old", "--kube-version", "1.30.0"]),
    ]
}

fn multidoc_chart() -> Files {
    tree(&[
        ("multi/Chart.yaml", &chart_yaml("multi", "")),
        (
            "multi/templates/all.yaml",
            "---\n# leading comment\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---   \n\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n--- # trailing\napiVersion: example.com/v1\nkind: Zebra\nmetadata:\n  name: z\n---\napiVersion: example.com/v1\nkind: Aardvark\nmetadata:\n  name: a\n",
        ),
        (
            "multi/templates/empty.yaml",
            "{{- if false }}\nkind: Never\n{{- end }}\n",
        ),
        ("multi/templates/blank.yaml", "   \n\n"),
        ("multi/templates/comments.yaml", "# only a comment\n"),
        (
            "multi/templates/z-cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: sec\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr\n---\napiVersion: v1\nkind: PriorityClass\nmetadata:\n  name: pc\n",
        ),
        (
            "multi/templates/NOTES.txt",
            "Thanks for installing {{ .Chart.Name }}.\n",
        ),
        (
            "multi/templates/sub/nested.yaml",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n",
        ),
        (
            "multi/templates/hooks.yaml",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: pre\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: before-hook-creation\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations:\n    \"helm.sh/hook\": test\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unknown-hook\n  annotations:\n    helm.sh/hook: sometime\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: post\n  annotations:\n    helm.sh/hook: post-install\n    other: x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: annotated\n  annotations:\n    not-a-hook: \"true\"\n",
        ),
        (
            "multi/crds/thing.yaml",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n",
        ),
        ("multi/crds/notes.txt", "not a crd\n"),
        ("multi/charts/sub/Chart.yaml", &chart_yaml("sub", "")),
        (
            "multi/charts/sub/crds/sub.json",
            "{\"apiVersion\": \"apiextensions.k8s.io/v1\", \"kind\": \"CustomResourceDefinition\"}\n",
        ),
        ("multi/charts/sub/templates/NOTES.txt", "sub notes\n"),
        (
            "multi/charts/sub/templates/svc.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: sub\n",
        ),
    ])
}

fn multidoc_cases() -> Vec<Vec<String>> {
    vec![
        args(&["multi"]),
        args(&["multi", "--skip-tests"]),
        args(&["multi", "--include-crds"]),
        args(&["multi", "--include-crds", "--skip-tests"]),
        args(&["multi", "-s", "templates/z-cm.yaml"]),
        args(&["multi", "-s", "templates/*.yaml"]),
        args(&[
            "multi",
            "-s",
            "templates/hooks.yaml",
            "-s",
            "charts/sub/templates/svc.yaml",
        ]),
        args(&["multi", "--show-only", "templates/nope.yaml"]),
        args(&["multi", "-s", "templates/sub/nested.yaml"]),
    ]
}

fn error_chart() -> Files {
    tree(&[
        ("errs/Chart.yaml", &chart_yaml("errs", "")),
        ("errs/values.yaml", "mode: ok\n"),
        (
            "errs/templates/_h.tpl",
            "{{- define \"needs\" -}}{{ required \"inner value is required\" .Values.inner }}{{- end -}}\n{{- define \"nilptr\" -}}{{ .Values.a.b.c }}{{- end -}}\n",
        ),
        (
            "errs/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: errs\ndata:\n{{- if eq .Values.mode \"required\" }}\n  x: {{ required \"x is required!\" .Values.x }}\n{{- else if eq .Values.mode \"fail\" }}\n  x: {{ fail \"failing on purpose\" }}\n{{- else if eq .Values.mode \"badyaml\" }}\n  x: [unclosed\n{{- else if eq .Values.mode \"missing\" }}\n  x: {{ include \"does-not-exist\" . }}\n{{- else if eq .Values.mode \"nested\" }}\n  x: {{ include \"needs\" . }}\n{{- else if eq .Values.mode \"nilptr\" }}\n  x: {{ .Values.a.b }}\n{{- else if eq .Values.mode \"nilptr-include\" }}\n  x: {{ include \"nilptr\" . }}\n{{- else if eq .Values.mode \"wrongtype\" }}\n  x: {{ upper .Values }}\n{{- else if eq .Values.mode \"index\" }}\n  x: {{ index .Values.list 5 }}\n{{- else if eq .Values.mode \"notmap\" }}\n  - not a map\n{{- else if eq .Values.mode \"tplfail\" }}\n  x: {{ tpl \"{{ fail \\\"from tpl\\\" }}\" . }}\n{{- else if eq .Values.mode \"tplnil\" }}\n  x: {{ tpl \"{{ .Values.q.r }}\" . }}\n{{- end }}\n",
        ),
        ("parse/Chart.yaml", &chart_yaml("parse", "")),
        ("parse/templates/bad.yaml", "kind: X\nname: {{ .Values.x \n"),
        ("undef/Chart.yaml", &chart_yaml("undef", "")),
        (
            "undef/templates/bad.yaml",
            "kind: X\nname: {{ nosuchfunc .Values.x }}\n",
        ),
        ("annot/Chart.yaml", &chart_yaml("annot", "")),
        (
            "annot/templates/x.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    weight: 5\n",
        ),
    ])
}

fn error_cases() -> Vec<Vec<String>> {
    let mut cases: Vec<Vec<String>> = [
        "required",
        "fail",
        "badyaml",
        "missing",
        "nested",
        "nilptr",
        "nilptr-include",
        "wrongtype",
        "notmap",
        "tplfail",
    ]
    .iter()
    .map(|m| args(&["e", "errs", "--set", &format!("mode={m}")]))
    .collect();
    cases.push(args(&["e", "errs", "--set", "mode=required,x=given"]));
    cases.push(args(&["e", "errs", "--set", "mode=nested,inner=here"]));
    cases.push(args(&["e", "parse"]));
    cases.push(args(&["e", "undef"]));
    cases.push(args(&["e", "annot"]));
    cases.push(args(&["e", "nowhere"]));
    cases.push(args(&["e", "errs", "-f", "nope.yaml"]));
    cases.push(args(&["e", "errs", "--set", "a.b"]));
    cases
}

const FUNCS: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: funcs
data:
  merge: {{ merge (dict "a" 1 "n" (dict "x" 1)) .Values.m1 .Values.m2 | toJson | quote }}
  mergeOverwrite: {{ mergeOverwrite (dict "a" 1 "e" "") .Values.m1 .Values.m2 | toJson | quote }}
  set: {{ set (dict "a" 1) "b" 2 | toJson | quote }}
  unset: {{ unset (dict "a" 1 "b" 2) "a" | toJson | quote }}
  dig: {{ dig "false" "true" "none" .Values.m1 | quote }}
  digMissing: {{ dig "zz" "q" "none" .Values.m1 | quote }}
  pick: {{ pick .Values.m1 "a" "n" | toJson | quote }}
  omit: {{ omit .Values.m1 "a" | toJson | quote }}
  chunk: {{ chunk 2 .Values.list | toJson | quote }}
  seq: {{ list (seq 5) (seq 3 -1) (seq 0 2 10) (seq 5 1) | toJson | quote }}
  ceil: {{ ceil 1.2 }} {{ floor 1.8 }} {{ round 2.345 2 }} {{ round 2.5 0 }}
  b32: {{ b32enc "hello" }} {{ b32dec "NBSWY3DP" }} {{ b32enc "ab" }}
  adler: {{ adler32sum "hello world" }}
  decimal: {{ toDecimal "0777" }}
  hello: {{ hello }}
  semver: {{ semverCompare "^1.2" "1.4.0" }} {{ semverCompare ">=2" "1.9" }} {{ (semver "1.2.3-beta").Minor }}
  first: {{ mustFirst .Values.list }} {{ mustLast .Values.list }} {{ mustRest .Values.list | toJson }}
  deep: {{ deepCopy .Values.m1 | toJson | quote }}
  os: {{ osBase "/a/b.txt" }} {{ osExt "x.tar.gz" }}
"#;

/// Clock and random functions, checked through what is deterministic about them.
const NONDETERMINISTIC: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: nondeterministic
data:
  lengths: "{{ len (randAlphaNum 16) }} {{ len (randAlpha 3) }} {{ len (randNumeric 5) }} {{ len (randAscii 7) }} {{ len uuidv4 }}"
  shapes: "{{ regexMatch "^[a-zA-Z0-9]{16}$" (randAlphaNum 16) }} {{ regexMatch "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" uuidv4 }}"
  sha1: {{ sha1sum "hello" }}
  year: "{{ now | date "2006" | len }} {{ date "2006-01-02 15:04:05 Mon Jan _2 PM" 0 }} {{ len (unixEpoch now) }}"
  htpasswd: "{{ hasPrefix "user:$2a$10$" (htpasswd "user" "pw") }} {{ htpasswd "a:b" "pw" }}"
  shuffle: "{{ shuffle "aaaa" }} {{ len (shuffle "abcdef") }}"
  int: "{{ lt (randInt 5 6) 6 }}"
"#;

/// Go maps are references: what `set`, `unset` and `merge` change shows through every holder.
const MUTATION: &str = r#"{{- $ctx := dict "a" 1 "n" (dict "x" 1) }}
{{- $_ := set $ctx "b" 2 }}
{{- $alias := $ctx }}
{{- $_ := set $alias "c" 3 }}
{{- $_ := unset $ctx "a" }}
{{- $_ := merge $ctx (dict "d" 4 "n" (dict "y" 2)) }}
{{- $_ := set .Values "injected" "by-a" }}
{{- $_ := set . "fromA" "top-level" }}
{{- $_ := set .Values.m1 "added" true }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: mutation-a
data:
  ctx: {{ toJson $ctx | quote }}
  alias: {{ toJson $alias | quote }}
  m1: {{ toJson .Values.m1 | quote }}
"#;

const MUTATION_READER: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: mutation-0
data:
  injected: {{ .Values.injected | quote }}
  fromA: {{ .fromA | quote }}
  m1: {{ toJson .Values.m1 | quote }}
  template: {{ .Template.Name }}
"#;

fn funcs_chart() -> Files {
    tree(&[
        ("funcs/Chart.yaml", &chart_yaml("funcs", "")),
        (
            "funcs/values.yaml",
            "m1: {a: 0, b: x, n: {y: deep, z: 1}}
m2: {a: 5, b: '', c: [1], k: {w: 2}}
list: [1, 2, 3, 4, 5]
",
        ),
        ("funcs/templates/cm.yaml", FUNCS),
        ("funcs/templates/nondeterministic.yaml", NONDETERMINISTIC),
        ("funcs/templates/mutation-a.yaml", MUTATION),
        ("funcs/templates/mutation-0.yaml", MUTATION_READER),
        (
            "funcs/templates/dig.yaml",
            "{{ if .Values.digValues }}x: {{ dig \"m1\" \"a\" 0 .Values }}{{ end }}\n",
        ),
    ])
}

/// A library in the style of widely used "common" charts: helpers taking a dict context,
/// rendering values that may themselves be templates, capability-dependent API versions.
const COMMON_LIB: &str = r#"{{- define "mylib.render" -}}
{{- $value := typeIs "string" .value | ternary .value (.value | toYaml) }}
{{- if contains "{{" (toJson .value) }}
  {{- if .scope }}
      {{- tpl (cat "{{- with $.RelativeScope -}}" $value "{{- end }}") (merge (dict "RelativeScope" .scope) .context) }}
  {{- else }}
    {{- tpl $value .context }}
  {{- end }}
{{- else }}
    {{- $value }}
{{- end }}
{{- end -}}
{{- define "mylib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- define "mylib.labels" -}}
{{- $default := dict "app.kubernetes.io/name" (include "mylib.fullname" .context) "helm.sh/chart" (printf "%s-%s" .context.Chart.Name (.context.Chart.Version | replace "+" "_")) -}}
{{- with .customLabels -}}
{{- $custom := fromYaml (include "mylib.render" (dict "value" . "context" $.context)) -}}
{{- toYaml (merge $custom $default) -}}
{{- else -}}
{{- toYaml $default -}}
{{- end -}}
{{- end -}}
{{- define "mylib.ingress.apiVersion" -}}
{{- if semverCompare "<1.19-0" (.Capabilities.KubeVersion.Version | default "") -}}
networking.k8s.io/v1beta1
{{- else -}}
networking.k8s.io/v1
{{- end -}}
{{- end -}}
{{- define "mylib.image" -}}
{{- $registry := coalesce .global.imageRegistry .image.registry -}}
{{- $sep := ternary "@" ":" (hasPrefix "sha256:" (toString .image.tag)) -}}
{{- if $registry -}}
{{- printf "%s/%s%s%s" $registry .image.repository $sep (toString .image.tag) -}}
{{- else -}}
{{- printf "%s%s%s" .image.repository $sep (toString .image.tag) -}}
{{- end -}}
{{- end -}}
"#;

const COMMON_APP: &str = r#"apiVersion: {{ include "mylib.ingress.apiVersion" . }}
kind: Ingress
metadata:
  name: {{ include "mylib.fullname" . }}
  labels: {{- include "mylib.labels" (dict "customLabels" .Values.commonLabels "context" $) | nindent 4 }}
  annotations:
    {{- range $k, $v := .Values.annotations }}
    {{ $k }}: {{ include "mylib.render" (dict "value" $v "context" $) | quote }}
    {{- end }}
spec:
  rules:
  {{- range .Values.hosts }}
    - host: {{ include "mylib.render" (dict "value" .name "context" $) }}
      http:
        paths:
          - path: {{ default "/" .path }}
            backend:
              service:
                name: {{ include "mylib.fullname" $ }}
                port:
                  number: {{ dig "port" 80 . }}
  {{- end }}
  image: {{ include "mylib.image" (dict "image" .Values.image "global" (default dict .Values.global)) }}
  extra: {{- include "mylib.render" (dict "value" .Values.extra "context" $ "scope" .Values.scope) | nindent 4 }}
  b64: {{ .Values.secret | b64enc }}
  sum: {{ .Values.secret | sha256sum | trunc 12 }}
  regex: {{ regexReplaceAll "[^a-z0-9-]" (lower .Release.Name) "-" }}
  lookup: {{ lookup "v1" "Secret" .Release.Namespace "x" | toJson }}
"#;

fn common_chart() -> Files {
    tree(&[
        (
            "svc/Chart.yaml",
            &chart_yaml(
                "svc",
                "dependencies:\n  - name: mylib\n    version: 1.x.x\n    repository: file://charts/mylib\n",
            ),
        ),
        (
            "svc/charts/mylib/Chart.yaml",
            "apiVersion: v2\nname: mylib\nversion: 1.4.0\ntype: library\n",
        ),
        ("svc/charts/mylib/templates/_render.tpl", COMMON_LIB),
        (
            "svc/values.yaml",
            "commonLabels:\n  team: \"{{ .Release.Namespace }}\"\n  tier: web\nannotations:\n  owner: \"{{ .Release.Name }}-owner\"\n  plain: value\nhosts:\n  - name: \"{{ .Release.Name }}.example.com\"\n    port: 8080\n  - name: static.example.com\n    path: /static\nimage:\n  registry: docker.io\n  repository: team/app\n  tag: 1.2\nextra:\n  key: \"{{ .inner }}\"\nscope:\n  inner: scoped-value\nsecret: s3cr3t\n",
        ),
        ("svc/templates/ingress.yaml", COMMON_APP),
    ])
}

fn v1_chart() -> Files {
    tree(&[
        (
            "old1/Chart.yaml",
            "name: old1\nversion: 1.2.3\ndescription: apiVersion v1\n",
        ),
        (
            "old1/requirements.yaml",
            "dependencies:\n  - name: dep\n    version: 0.1.0\n    repository: file://charts/dep\n    condition: dep.on\n",
        ),
        ("old1/values.yaml", "dep:\n  on: true\n  msg: from parent\n"),
        (
            "old1/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old1\ndata:\n  api: {{ .Chart.APIVersion }}\n  req: {{ .Files.Get \"requirements.yaml\" | len | quote }}\n",
        ),
        (
            "old1/charts/dep/Chart.yaml",
            "apiVersion: v1\nname: dep\nversion: 0.1.0\n",
        ),
        (
            "typed/Chart.yaml",
            "apiVersion: v2\nname: typed\nversion: 1.2.3\nappVersion: 1.10\ndescription: 123\nkeywords: [a, 1, true]\nannotations:\n  x: 1\n  y: false\nmaintainers:\n  - name: Me\n    email: me@example.com\n",
        ),
        ("typed/templates/x.yaml", "x: {{ toJson .Chart | quote }}\n"),
        (
            "old1/charts/dep/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dep\ndata:\n  msg: {{ .Values.msg }}\n",
        ),
    ])
}

#[test]
fn hand_written_charts_render_as_helm_renders_them() {
    let Some(bin) = common::helm_binary() else {
        return;
    };
    let mut suites: Vec<(&str, Files, Vec<Vec<String>>)> = vec![
        ("nested", nested_chart(), nested_cases()),
        (
            "library",
            library_charts(),
            vec![
                args(&["lib"]),
                args(&["u", "user"]),
                args(&["m", "missing"]),
                args(&["w", "weird"]),
            ],
        ),
        (
            "recursion",
            recursion_chart(),
            vec![
                args(&["rec"]),
                args(&["rec", "--set", "depth=12"]),
                args(&["rec", "--set", "loop=true"]),
                args(&["rec", "--set", "useBroken=true"]),
                args(&["rec", "--set-string", "text={{ .Release.Name }}"]),
            ],
        ),
        (
            "yaml",
            yaml_chart(),
            vec![
                args(&["nums"]),
                args(&["nums", "--set", "int=5,million=2000000,list[1]=x"]),
                args(&["nums", "--set-json", "nested={\"q\":[1e6,1.25,\"s\"]}"]),
                args(&["nums", "--set-string", "float=1.5,on_word=off"]),
                args(&["nums", "--set", "nested.a=null"]),
                args(&["nums", "--set", "toml=true,nested.a.c=null"]),
                args(&["nums", "--set", "toml=true,nested.list={1,2},nested.t.u=v"]),
            ],
        ),
        ("files", files_chart(), vec![args(&["fil"])]),
        ("capabilities", capabilities_chart(), capabilities_cases()),
        ("multidoc", multidoc_chart(), multidoc_cases()),
        ("errors", error_chart(), error_cases()),
        (
            "v1",
            v1_chart(),
            vec![
                args(&["old1"]),
                args(&["old1", "--set", "dep.on=false"]),
                args(&["typed"]),
            ],
        ),
        (
            "common",
            common_chart(),
            vec![
                args(&["My.Release", "svc"]),
                args(&["rel", "svc", "--kube-version", "1.18.0", "-n", "team-a"]),
                args(&[
                    "rel",
                    "svc",
                    "--set",
                    "global.imageRegistry=ghcr.io,image.tag=sha256:abc",
                ]),
                args(&[
                    "rel",
                    "svc",
                    "--set",
                    "fullnameOverride=short,commonLabels=null",
                ]),
                args(&["svc", "--set-string", "image.tag=1.10,nameOverride=rel"]),
            ],
        ),
        (
            "funcs",
            funcs_chart(),
            vec![
                args(&["funcs"]),
                args(&["funcs", "--set", "digValues=true"]),
            ],
        ),
    ];
    let mut tally = Tally::default();
    for (name, files, cases) in suites.drain(..) {
        for (i, case) in cases.iter().enumerate() {
            tally.record(
                &format!("{name}#{i} {}", case.join(" ")),
                compare(&bin, &files, case),
            );
        }
    }
    tally.summary("hand-written charts");
    assert!(tally.different.is_empty(), "{:#?}", tally.different);
}
