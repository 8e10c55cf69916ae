#!/usr/bin/env python3
"""Writes the feature cases under testdata/<case>/input/: f-* (one kustomize feature each:
replacements, components, generators across bases, patches on generated objects, SMP directives,
labels options, sortOptions, YAML 1.1 edge values) and p-* (Flux builds: a plain directory, or a
kustomization with Flux's overrides, in flux.json; flux-equivalent/ holds the kustomization Flux
generates, which regen.sh builds with real kustomize for the expected output).

Expected outputs are not written here: run regen.sh. Re-running rewrites f-* and p-* inputs only.
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        envFrom:
        - configMapRef: {name: settings}
        volumeMounts:
        - {name: cfg, mountPath: /cfg}
      - name: side
        image: busybox
      volumes:
      - name: cfg
        configMap: {name: settings}
"""
SVC = """apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
"""
CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  host: db.example.com
  port: "5432"
"""
NS = """apiVersion: v1
kind: Namespace
metadata:
  name: apps
"""
CASES = {}
# Substrings the engine's error must contain, for cases where kustomize fails (written to
# expected-error.txt, which regen.sh keeps).
ERRORS = {
    "f-component-nested": ["input/c2", "cannot unmarshal bool"],
    "f-replacements-missing-source": ["nope", "nothing selected by ConfigMap.[noVer].[noGrp]/nope.[noNs]:data.host"],
}


def case(name, files, flux=None, errors=None):
    CASES[name] = (files, flux)
    if errors:
        ERRORS[name] = errors


def base_files(prefix="input/base/", extra=""):
    return {
        prefix + "kustomization.yaml": "resources: [deploy.yaml, svc.yaml, cm.yaml]\n" + extra,
        prefix + "deploy.yaml": DEPLOY,
        prefix + "svc.yaml": SVC,
        prefix + "cm.yaml": CM,
    }


def overlay(body, extra_files=None):
    files = base_files()
    files["input/overlay/kustomization.yaml"] = "resources: [../base]\n" + body
    files.update(extra_files or {})
    return files


# --- replacements -----------------------------------------------------------------------
REPL = {
    "field-to-field": """replacements:
- source: {kind: ConfigMap, name: settings, fieldPath: data.host}
  targets:
  - select: {kind: Deployment}
    fieldPaths:
    - spec.template.spec.containers.[name=web].env.[name=A].value
""",
    "delimiter": """replacements:
- source: {kind: ConfigMap, name: settings, fieldPath: data.port}
  targets:
  - select: {kind: Deployment}
    fieldPaths:
    - spec.template.spec.containers.[name=web].image
    options: {delimiter: ':', index: 1}
""",
    "delimiter-source": """replacements:
- source: {kind: Deployment, name: web, fieldPath: spec.template.spec.containers.0.image, options: {delimiter: ':', index: 1}}
  targets:
  - select: {kind: ConfigMap}
    fieldPaths: [data.version]
    options: {create: true}
""",
    "delimiter-prepend-append": """replacements:
- source: {kind: ConfigMap, name: settings, fieldPath: data.host}
  targets:
  - select: {kind: Deployment}
    fieldPaths:
    - spec.template.spec.containers.[name=web].image
    options: {delimiter: '/', index: -1}
  - select: {kind: Deployment}
    fieldPaths:
    - spec.template.spec.containers.[name=side].image
    options: {delimiter: '-', index: 9}
""",
    "scalar-types": """replacements:
- source: {kind: ConfigMap, name: settings, fieldPath: data.port}
  targets:
  - select: {kind: Deployment}
    fieldPaths: [spec.replicas]
  - select: {kind: Service}
    fieldPaths: [spec.ports.0.targetPort, spec.selector.port]
    options: {create: true}
- source: {kind: Deployment, name: web, fieldPath: spec.replicas}
  targets:
  - select: {kind: ConfigMap}
    fieldPaths: [data.host, data.replicas]
    options: {create: true}
""",
    "create": """replacements:
- source: {kind: Service, name: web, fieldPath: metadata.name}
  targets:
  - select: {kind: Deployment}
    fieldPaths: [spec.template.metadata.annotations.svc]
    options: {create: true}
""",
    "reject": """replacements:
- source: {kind: ConfigMap, name: settings, fieldPath: data.host}
  targets:
  - select: {kind: Deployment}
    reject: [{name: web}]
    fieldPaths: [metadata.annotations.host]
    options: {create: true}
  - select: {kind: Service}
    fieldPaths: [metadata.annotations.host]
    options: {create: true}
""",
    "wildcard": """replacements:
- source: {kind: ConfigMap, name: settings, fieldPath: data.port}
  targets:
  - select: {kind: Deployment}
    fieldPaths:
    - spec.template.spec.containers.*.env.[name=B].value
""",
    "file": """replacements:
- path: repl.yaml
""",
    "select-by-label": """replacements:
- source: {kind: Deployment, name: web, fieldPath: spec.template.spec.containers.0.image}
  targets:
  - select: {labelSelector: app=web}
    fieldPaths: [metadata.annotations.image]
    options: {create: true}
""",
    "missing-source": """replacements:
- source: {kind: ConfigMap, name: nope, fieldPath: data.host}
  targets:
  - select: {kind: Deployment}
    fieldPaths: [metadata.annotations.x]
""",
}
for n, body in REPL.items():
    extra = {}
    if n == "file":
        extra["input/overlay/repl.yaml"] = REPL["field-to-field"].split("\n", 1)[1].replace("- source", "source", 1).replace("\n  ", "\n")
    case(f"f-replacements-{n}", overlay(body, extra))

# --- components ----------------------------------------------------------------------------
COMP = """apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
"""
case("f-component-in-overlay", overlay("components: [../comp]\n", {
    "input/comp/kustomization.yaml": COMP + "namePrefix: c-\ncommonAnnotations: {comp: 'yes'}\n"}))
case("f-component-patch", overlay("components: [../comp]\n", {
    "input/comp/kustomization.yaml": COMP + "patches:\n- target: {kind: Deployment}\n  patch: |-\n    - {op: replace, path: /spec/replicas, value: 3}\n"}))
case("f-component-resources", overlay("components: [../comp]\n", {
    "input/comp/kustomization.yaml": COMP + "resources: [extra.yaml]\n",
    "input/comp/extra.yaml": CM.replace("settings", "extra")}))
case("f-component-generator", overlay("components: [../comp]\n", {
    "input/comp/kustomization.yaml": COMP + "configMapGenerator:\n- {name: settings, behavior: merge, literals: [mode=fast]}\n"}))
case("f-components-two-ordered", overlay("components: [../c1, ../c2]\n", {
    "input/c1/kustomization.yaml": COMP + "nameSuffix: -one\n",
    "input/c2/kustomization.yaml": COMP + "images:\n- {name: nginx, newTag: '2.0'}\n"}))
case("f-component-nested", overlay("components: [../c1]\n", {
    "input/c1/kustomization.yaml": COMP + "components: [../c2]\ncommonLabels: {c1: x}\n",
    "input/c2/kustomization.yaml": COMP + "commonLabels: {c2: y}\n"}))

# --- generators referenced across bases ------------------------------------------------------------
def gen_across(name, gen, body=""):
    files = {
        "input/top/kustomization.yaml": "resources: [../app, ../config]\n" + body,
        "input/app/kustomization.yaml": "resources: [deploy.yaml]\n",
        "input/app/deploy.yaml": DEPLOY,
        "input/config/kustomization.yaml": gen,
    }
    case(name, files)


gen_across("f-gen-across-bases", "configMapGenerator:\n- {name: settings, literals: [host=a]}\n")
gen_across("f-gen-across-bases-prefix", "namePrefix: cfg-\nconfigMapGenerator:\n- {name: settings, literals: [host=a]}\n")
gen_across("f-gen-across-bases-top-prefix", "configMapGenerator:\n- {name: settings, literals: [host=a]}\n", "namePrefix: top-\n")
gen_across("f-gen-across-bases-namespace", "namespace: cfg\nconfigMapGenerator:\n- {name: settings, literals: [host=a]}\n", "namespace: apps\n")
gen_across("f-gen-across-bases-nohash", "generatorOptions: {disableNameSuffixHash: true}\nconfigMapGenerator:\n- {name: settings, literals: [host=a]}\n")
gen_across("f-gen-secret-across-bases", "secretGenerator:\n- {name: settings, literals: [password=s3cr3t]}\n")

# --- patches on generated objects ------------------------------------------------------------------
case("f-patch-generated-smp", {
    "input/kustomization.yaml": "configMapGenerator:\n- {name: cfg, literals: [a=1]}\npatches:\n- patch: |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: cfg}\n    data: {b: '2'}\n"})
case("f-patch-generated-json", {
    "input/kustomization.yaml": "configMapGenerator:\n- {name: cfg, literals: [a=1]}\npatches:\n- target: {kind: ConfigMap, name: cfg}\n  patch: '[{\"op\": \"add\", \"path\": \"/data/c\", \"value\": \"3\"}]'\n"})
case("f-patch-generated-labels", {
    "input/kustomization.yaml": "configMapGenerator:\n- name: cfg\n  literals: [a=1]\n  options: {labels: {tier: x}}\npatches:\n- target: {labelSelector: tier=x}\n  patch: '[{\"op\": \"add\", \"path\": \"/metadata/annotations\", \"value\": {\"p\": \"y\"}}]'\n"})

# --- SMP directives -----------------------------------------------------------------------
def smp(name, patch):
    case(name, overlay("patches:\n- path: patch.yaml\n", {"input/overlay/patch.yaml": patch}))


HDR = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
smp("f-smp-delete-container", HDR + "      containers:\n      - name: side\n        $patch: delete\n")
smp("f-smp-replace-list", HDR + "      containers:\n      - name: only\n        image: x\n      - $patch: replace\n")
smp("f-smp-replace-map", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector:\n    $patch: replace\n    matchLabels: {app: other}\n")
smp("f-smp-set-element-order", HDR + "      $setElementOrder/containers:\n      - name: side\n      - name: web\n")
smp("f-smp-set-element-order-env", HDR + "      containers:\n      - name: web\n        $setElementOrder/env:\n        - name: B\n        - name: A\n")
smp("f-smp-delete-from-primitive-list", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata:\n      finalizers: [a]\n")
smp("f-smp-retain-keys", HDR + "      volumes:\n      - name: cfg\n        emptyDir: {}\n        $retainKeys: [name, emptyDir]\n")
smp("f-smp-null-removes", HDR + "      containers:\n      - name: web\n        envFrom: null\n")
smp("f-smp-merge-env-by-name", HDR + "      containers:\n      - name: web\n        env:\n        - {name: B, value: changed}\n        - {name: C, value: new}\n")
smp("f-smp-ports-merge", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - {port: 80, targetPort: 9090}\n  - {name: https, port: 443}\n")

# --- labels ----------------------------------------------------------------------------------
LAB = {
    "selectors": "labels:\n- pairs: {team: a}\n  includeSelectors: true\n",
    "templates": "labels:\n- pairs: {team: a}\n  includeTemplates: true\n",
    "both": "labels:\n- pairs: {team: a}\n  includeSelectors: true\n  includeTemplates: true\n",
    "plain-and-selectors": "labels:\n- pairs: {plain: p}\n- pairs: {sel: s}\n  includeSelectors: true\n",
    "fields": "labels:\n- pairs: {team: a}\n  fields:\n  - {kind: Deployment, path: spec/template/metadata/labels, create: true}\n",
}
for n, body in LAB.items():
    case(f"f-labels-{n}", overlay(body))

# --- sortOptions ------------------------------------------------------------------------------
SORT = {
    "fifo": "sortOptions: {order: fifo}\n",
    "legacy": "sortOptions: {order: legacy}\n",
    "legacy-first": "sortOptions:\n  order: legacy\n  legacySortOptions:\n    orderFirst: [Service]\n    orderLast: [ConfigMap]\n",
}
for n, body in SORT.items():
    files = overlay(body, {"input/overlay/ns.yaml": NS})
    files["input/overlay/kustomization.yaml"] = "resources: [../base, ns.yaml]\n" + body
    case(f"f-sort-{n}", files)

# --- YAML 1.1 edge values ---------------------------------------------------------------------------
YAMLS = {
    "bools": "data:\n  a: yes\n  b: no\n  c: on\n  d: off\n  e: y\n  f: N\n  g: True\n  h: 'yes'\n",
    "octal": "data:\n  a: 0644\n  b: '0644'\n  c: 0o17\n  d: 0x1F\n  e: 08\n  f: 1_000\n",
    "bigints": "data:\n  a: 9223372036854775807\n  b: 18446744073709551615\n  c: 99999999999999999999\n  d: -9223372036854775808\n  e: 1e3\n  f: 1.0\n  g: 6.02e23\n",
    "multiline": "data:\n  a: |\n    line one\n    line two\n  b: >\n    folded\n    text\n  c: |-\n    no trailing\n  d: |+\n    keep\n\n  e: \"quoted\\nnewline\"\n  f: \" leading space\"\n  g: \"trailing space \"\n",
    "tabs": "data:\n  a: \"a\\tb\"\n  b: \"\\ttab first\"\n  c: \"x\\t\"\n",
    "special": "data:\n  a: '~'\n  b: 'null'\n  c: ''\n  d: '@at'\n  e: '*star'\n  f: 'a: b'\n  g: '# hash'\n  h: '2024-01-02'\n  i: '1:20'\n  j: '-'\n  k: '.5'\n",
    "long": "data:\n  a: " + " ".join(["word"] * 40) + "\n  b: \"" + "x" * 120 + "\"\n",
    "unicode": "data:\n  a: héllo\n  b: \"emoji \\U0001F600\"\n  c: \"\\u00e9\"\n",
}
for n, data in YAMLS.items():
    case(f"f-yaml11-{n}", {
        "input/kustomization.yaml": "resources: [cm.yaml]\n",
        "input/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: edge\n" + data})
case("f-yaml11-json-patch-values", {
    "input/kustomization.yaml": "resources: [cm.yaml]\npatches:\n- target: {kind: ConfigMap}\n  patch: |-\n    - op: add\n      path: /data/y\n      value: yes\n    - op: add\n      path: /data/o\n      value: 0644\n    - op: add\n      path: /data/on\n      value: on\n",
    "input/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: edge\ndata: {a: b}\n"})
case("f-yaml11-generator-literals", {
    "input/kustomization.yaml": "configMapGenerator:\n- name: lit\n  literals: [a=yes, b=0644, c=1.50, d=on, e=\"quoted\"]\n"})

# --- buildMetadata ----------------------------------------------------------------------------
BM_BASE = "namespace: apps\nnameSuffix: -s\nconfigMapGenerator:\n- {name: gen, literals: [a=b]}\n"
BM_COMP = ("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: c-\n"
           "resources: [extra.yaml]\n")
BM_EXTRA = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: extra}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: extra2}\n"
BM_OVERLAY = """commonLabels: {team: a}
labels:
- pairs: {tier: web}
  includeSelectors: true
commonAnnotations: {note: x}
images: [{name: nginx, newTag: "2"}, {name: busybox, newTag: "1"}]
replicas: [{name: web-s, count: 3}]
patchesStrategicMerge: [psm.yaml]
patchesJson6902:
- target: {version: v1, kind: Service, name: web-s}
  path: json.yaml
patches:
- target: {kind: Service}
  patch: |-
    - {op: add, path: /metadata/annotations/p, value: q}
replacements:
- source: {kind: Service, fieldPath: metadata.name}
  targets: [{select: {kind: Deployment}, fieldPaths: [metadata.annotations.svc], options: {create: true}}]
configMapGenerator:
- {name: gen, behavior: merge, literals: [c=d]}
- {name: own, literals: [x=y]}
secretGenerator:
- {name: sec, literals: [k=v]}
components: [../comp]
"""
BM_FILES = {
    "input/comp/kustomization.yaml": BM_COMP,
    "input/comp/extra.yaml": BM_EXTRA,
    "input/overlay/psm.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {minReadySeconds: 5}\n",
    "input/overlay/json.yaml": "- {op: add, path: /spec/sessionAffinity, value: None}\n",
}
for n, opts in {
    "all": "[originAnnotations, transformerAnnotations, managedByLabel]",
    "origin": "[originAnnotations]",
    "transformers": "[transformerAnnotations]",
    "managed-by": "[managedByLabel]",
}.items():
    files = overlay(BM_OVERLAY + f"buildMetadata: {opts}\n", BM_FILES)
    files["input/base/kustomization.yaml"] += BM_BASE
    case(f"f-buildmetadata-{n}", files)
files = overlay("namePrefix: p-\n")
files["input/base/kustomization.yaml"] += "namespace: apps\nbuildMetadata: [originAnnotations, transformerAnnotations, managedByLabel]\n"
case("f-buildmetadata-base-only", files)
case("f-buildmetadata-flat", {
    "input/kustomization.yaml": "resources: [cm.yaml, list.yaml]\nnamespace: ns1\nbuildMetadata: [originAnnotations, transformerAnnotations]\n",
    "input/cm.yaml": CM,
    "input/list.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: a}\n",
})

# --- Flux builds --------------------------------------------------------------------------------
def flux(name, files, overrides, equivalent_kustomization):
    """`files` under input/; flux-equivalent/ is a copy with Flux's generated kustomization."""
    all_files = dict(files)
    for path, text in files.items():
        all_files["flux-equivalent/" + path[len("input/"):]] = text
    all_files["flux-equivalent/kustomization.yaml"] = equivalent_kustomization
    case(name, all_files, overrides)


PLAIN = {"input/deploy.yaml": DEPLOY, "input/svc.yaml": SVC, "input/cm.yaml": CM}
flux("p-plain", PLAIN, {}, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cm.yaml\n- deploy.yaml\n- svc.yaml\n")
nested = dict(PLAIN)
nested["input/sub/ns.yaml"] = NS
flux("p-plain-nested", nested, {}, "resources:\n- cm.yaml\n- deploy.yaml\n- sub/ns.yaml\n- svc.yaml\n")
multi = {"input/all.yaml": DEPLOY + "---\n" + SVC, "input/cm.yml": CM}
flux("p-plain-multidoc", multi, {}, "resources:\n- all.yaml\n- cm.yml\n")
OVR = {
    "target-namespace": ({"targetNamespace": "prod"}, "namespace: prod\n"),
    "prefix-suffix": ({"namePrefix": "a-", "nameSuffix": "-z"}, "namePrefix: a-\nnameSuffix: -z\n"),
    "images": ({"images": [{"name": "nginx", "newTag": "1.27"}]}, "images:\n- {name: nginx, newTag: '1.27'}\n"),
    "patches": ({"patches": [{"patch": "- {op: replace, path: /spec/replicas, value: 5}", "target": {"kind": "Deployment"}}]},
                "patches:\n- patch: '- {op: replace, path: /spec/replicas, value: 5}'\n  target: {kind: Deployment}\n"),
    "all": ({"targetNamespace": "prod", "namePrefix": "p-", "images": [{"name": "busybox", "newName": "alpine"}]},
            "namespace: prod\nnamePrefix: p-\nimages:\n- {name: busybox, newName: alpine}\n"),
}
# commonMetadata: Flux sets labels and annotations on each built object's own metadata only
# (not selectors or templates); builtin transformers limited to metadata are the equivalent.
OVR["common-metadata"] = (
    {"commonMetadata": {"labels": {"owner": "team-a"}, "annotations": {"note": "from-flux"}}},
    "transformers: [common-metadata.yaml]\n")
COMMON_METADATA = """apiVersion: builtin
kind: LabelTransformer
metadata: {name: flux-common-labels}
labels: {owner: team-a}
fieldSpecs: [{path: metadata/labels, create: true}]
---
apiVersion: builtin
kind: AnnotationsTransformer
metadata: {name: flux-common-annotations}
annotations: {note: from-flux}
fieldSpecs: [{path: metadata/annotations, create: true}]
"""
for n, (o, kust) in OVR.items():
    if n != "common-metadata":
        flux(f"p-plain-{n}", PLAIN, o, "resources:\n- cm.yaml\n- deploy.yaml\n- svc.yaml\n" + kust)
    # with an existing kustomization: Flux wraps it (resources: [the user's], plus overrides)
    with_k = {"input/kustomization.yaml": "resources: [deploy.yaml, svc.yaml, cm.yaml]\ncommonLabels: {app: web}\n"}
    with_k.update(PLAIN)
    files = dict(with_k)
    files_eq = {"input/" + k[len("input/"):]: v for k, v in with_k.items()}
    all_files = dict(files)
    for path, text in files_eq.items():
        all_files["flux-equivalent/" + path[len("input/"):]] = text
    all_files["flux-equivalent/kustomization.yaml"] = with_k["input/kustomization.yaml"] + kust
    if n == "common-metadata":
        all_files["flux-equivalent/common-metadata.yaml"] = COMMON_METADATA
    case(f"p-kustomization-{n}", all_files, o)

# --- custom resources without a schema: kyaml infers no merge keys, lists are replaced ----------
WIDGET = """apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  a: {b: 1, c: 2}
  items:
  - name: a
    value: 1
  - name: b
    value: 2
  ports:
  - port: 80
    x: 1
  - port: 81
  tags: [x, y]
  mixed:
  - key: k1
    v: 1
  - name: n
    v: 2
  h: [{name: q}]
"""


def cr_patch(name, patch, how="patches:\n- path: patch.yaml\n"):
    case(name, {
        "input/kustomization.yaml": "resources: [cr.yaml]\n" + how,
        "input/cr.yaml": WIDGET,
        "input/patch.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n" + patch,
    })


cr_patch("f-smp-cr-lists-replaced", """  items:
  - name: b
    value: 3
  - name: c
    value: 4
  ports:
  - port: 80
    y: 2
  tags: [z]
  mixed:
  - name: n
    v: 5
""")
cr_patch("f-smp-cr-lists-replaced-psm", """  items:
  - name: c
  tags: [z]
""", "patchesStrategicMerge: [patch.yaml]\n")
cr_patch("f-smp-cr-directives-verbatim", """  a: {$patch: replace, z: 1}
  items:
  - name: a
    $patch: delete
  c: null
  tags:
  - $patch: replace
  - 3
  mixed:
  - name: n
    v: null
    w: 2
  $setElementOrder/h: [{name: q}]
""")
case("f-smp-nonassociative-verbatim", {
    "input/kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- path: patch.yaml\n",
    "input/deploy.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: w
spec:
  template:
    spec:
      containers:
      - name: a
        image: x
        args: [a, b]
        command: [c]
      tolerations:
      - key: k
        operator: Exists
""",
    "input/patch.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: w
spec:
  template:
    spec:
      containers:
      - name: a
        args:
        - $patch: replace
        - z
        command: [null, d]
      tolerations:
      - key: j
        value: null
      - $patch: replace
""",
})
case("f-resource-null-list-items", {
    "input/kustomization.yaml": "resources: [list.yaml]\n",
    "input/list.yaml": "apiVersion: v1\nkind: List\nitems:\n- null\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n  data: {x: [null, d]}\n",
})

# --- openapi: path: a custom schema's merge keys -------------------------------------------------
case("f-openapi-custom-merge-keys", {'input/cr.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  items:\n  - name: a\n    port: 1\n    size: small\n  - name: b\n    port: 2\n  rules:\n  - host: x\n    path: /a\n    weight: 1\n  - host: y\n    path: /b\n  tags:\n  - name: t1\n    v: 1\n',
    'input/kustomization.yaml': 'resources:\n- cr.yaml\npatches:\n- path: patch.yaml\nopenapi:\n  path: schema.yaml\n',
    'input/patch.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  items:\n  - port: 1\n    size: large\n  - name: c\n    port: 3\n  rules:\n  - host: x\n    path: /a\n    weight: 5\n  - host: z\n    path: /c\n  tags:\n  - name: t2\n',
    'input/schema.yaml': "definitions:\n  com.example.v1.Widget:\n    type: object\n    x-kubernetes-group-version-kind:\n    - group: example.com\n      kind: Widget\n      version: v1\n    properties:\n      apiVersion:\n        type: string\n      kind:\n        type: string\n      metadata:\n        type: object\n      spec:\n        $ref: '#/definitions/com.example.v1.WidgetSpec'\n  com.example.v1.WidgetSpec:\n    type: object\n    properties:\n      items:\n        type: array\n        x-kubernetes-patch-merge-key: port\n        x-kubernetes-patch-strategy: merge\n        items:\n          type: object\n      rules:\n        type: array\n        x-kubernetes-list-type: map\n        x-kubernetes-list-map-keys: [host, path]\n        x-kubernetes-patch-strategy: merge\n        items:\n          type: object\n      tags:\n        type: array\n        items:\n          type: object\n"})

# --- legacy vars ------------------------------------------------------------------------------
VAR_DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {svc: $(SVC), literal: "$$(SVC)", unknown: $(NOPE)}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations: {port: $(PORT)}
    spec:
      containers:
      - name: web
        image: nginx
        command: [serve, --host=$(SVC).$(NS).svc, --port=$(PORT)]
        args: [$(PORT), $(FLAG), "$(SVC"]
        env:
        - {name: HOST, value: $(SVC)}
        - {name: PORT, value: $(PORT)}
        - {name: CFG, value: $(CFG_NAME)}
        envFrom:
        - configMapRef: {name: settings}
"""
VAR_SVC = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: apps
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 8080, targetPort: $(PORT)}
"""
VARS = """vars:
- name: SVC
  objref: {kind: Service, name: web, apiVersion: v1}
- name: NS
  objref: {kind: Service, name: web, apiVersion: v1}
  fieldref: {fieldPath: metadata.namespace}
- name: PORT
  objref: {kind: Service, name: web, apiVersion: v1}
  fieldref: {fieldPath: "spec.ports[0].port"}
- name: FLAG
  objref: {kind: ConfigMap, name: settings, apiVersion: v1}
  fieldref: {fieldPath: data.flag}
- name: CFG_NAME
  objref: {kind: ConfigMap, name: settings, apiVersion: v1}
"""


def var_case(name, base_extra="", overlay_body="", errors=None, files=None):
    f = {
        "input/base/kustomization.yaml": "resources: [deploy.yaml, svc.yaml]\nconfigMapGenerator:\n- {name: settings, literals: [flag=true, mode=x]}\n" + base_extra,
        "input/base/deploy.yaml": VAR_DEPLOY,
        "input/base/svc.yaml": VAR_SVC,
        "input/overlay/kustomization.yaml": "resources: [../base]\n" + overlay_body,
    }
    f.update(files or {})
    case(name, f, errors=errors)


var_case("f-vars-basic", VARS)
var_case("f-vars-overlay-prefix", VARS, "namePrefix: p-\nnamespace: prod\n")
var_case("f-vars-declared-in-overlay", "", "namePrefix: p-\n" + VARS)
var_case("f-vars-objref-parts", "", """vars:
- name: SVC
  objref: {kind: Service, name: web, version: v1, namespace: apps}
""")
var_case("f-vars-objref-without-version", "", """vars:
- name: SVC
  objref: {kind: Service, name: web}
""", errors=["var 'SVC' cannot be mapped to a field in the set of known resources"])
var_case("f-vars-duplicate", VARS, """vars:
- name: SVC
  objref: {kind: Deployment, name: web, apiVersion: apps/v1}
""", errors=["var 'SVC' already encountered"])
var_case("f-vars-missing-field", "", """vars:
- name: SVC
  objref: {kind: Service, name: web, apiVersion: v1}
  fieldref: {fieldPath: spec.clusterIP}
""", errors=["SVC", "not found in corresponding resource"])
var_case("f-vars-ambiguous", "", """resources: [../base, other.yaml]
vars:
- name: SVC
  objref: {kind: Service, name: web, apiVersion: v1}
""".replace("resources: [../base, other.yaml]\n", ""), errors=["found 2 resId matches for var SVC", "unable to disambiguate"],
    files={"input/overlay/kustomization.yaml": "resources: [../base, other.yaml]\nvars:\n- name: SVC\n  objref: {kind: Service, name: web, apiVersion: v1}\n",
           "input/overlay/other.yaml": VAR_SVC.replace("namespace: apps", "namespace: other")})
var_case("f-vars-custom-var-reference", VARS, "configurations: [varref.yaml]\nresources: [widget.yaml]\n".replace("resources: [widget.yaml]\n", ""),
         files={"input/overlay/kustomization.yaml": "resources: [../base, widget.yaml]\nconfigurations: [varref.yaml]\n",
                "input/overlay/varref.yaml": "varReference:\n- {kind: Widget, path: spec/endpoint}\n- {kind: Widget, path: spec/hosts}\n",
                "input/overlay/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  endpoint: http://$(SVC):$(PORT)/\n  hosts: [$(SVC), x]\n  other: $(SVC)\n"})
var_case("f-vars-non-string-list", VARS, "", errors=["invalid value type expect a string"],
         files={"input/overlay/kustomization.yaml": "resources: [../base, widget.yaml]\nconfigurations: [varref.yaml]\n",
                "input/overlay/varref.yaml": "varReference:\n- {kind: Widget, path: spec/hosts}\n",
                "input/overlay/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  hosts: [$(SVC), 3]\n"})

# --- configurations: custom transformer field specs -----------------------------------------------
CONFIG_WIDGET = """apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  configName: settings
  secretRef: {name: creds}
  serviceRef: {name: web, namespace: apps}
  selector: {app: w}
  image: nginx:1.25
  size: 1
  alias: w-alias
  targetNamespace: here
"""
CONFIG_FILE = """nameReference:
- kind: ConfigMap
  version: v1
  fieldSpecs:
  - {kind: Widget, path: spec/configName}
- kind: Secret
  fieldSpecs:
  - {kind: Widget, path: spec/secretRef/name}
- kind: Service
  version: v1
  fieldSpecs:
  - {kind: Widget, path: spec/serviceRef}
commonLabels:
- {kind: Widget, path: spec/selector, create: true}
- {kind: Widget, path: spec/template/labels, create: true}
commonAnnotations:
- {kind: Widget, path: spec/notes, create: true}
namePrefix:
- {kind: Widget, path: spec/alias}
nameSuffix:
- {kind: Widget, path: spec/alias}
namespace:
- {kind: Widget, path: spec/targetNamespace}
images:
- {kind: Widget, path: spec/image}
replicas:
- {kind: Widget, path: spec/size}
"""


def config_case(name, overlay_body, base_extra="", errors=None, config=CONFIG_FILE, where="base"):
    f = {
        "input/base/kustomization.yaml": "resources: [widget.yaml, svc.yaml]\nconfigMapGenerator:\n- {name: settings, literals: [a=1]}\nsecretGenerator:\n- {name: creds, literals: [p=s]}\n" + base_extra,
        "input/base/widget.yaml": CONFIG_WIDGET,
        "input/base/svc.yaml": VAR_SVC.replace("$(PORT)", "8080"),
        "input/overlay/kustomization.yaml": "resources: [../base]\n" + overlay_body,
    }
    f[f"input/{where}/config.yaml"] = config
    case(name, f, errors=errors)


OVERLAY_ALL = "namePrefix: p-\nnameSuffix: -s\nnamespace: prod\ncommonLabels: {team: a}\ncommonAnnotations: {note: hi}\nimages:\n- {name: nginx, newTag: '1.27'}\nreplicas:\n- {name: w, count: 3}\n"
config_case("f-configurations-in-base", OVERLAY_ALL, "configurations: [config.yaml]\n")
config_case("f-configurations-in-overlay", "configurations: [config.yaml]\n" + OVERLAY_ALL, where="overlay")
config_case("f-configurations-not-inherited-downwards", "configurations: [config.yaml]\n", "namePrefix: b-\ncommonLabels: {team: b}\n", where="overlay")
config_case("f-configurations-labels-entries", "configurations: [config.yaml]\nlabels:\n- pairs: {plain: p}\n- pairs: {sel: s}\n  includeSelectors: true\n- pairs: {tmpl: t}\n  includeTemplates: true\n",
            config="labels:\n- {kind: Widget, path: spec/extraLabels, create: true}\ncommonLabels:\n- {kind: Widget, path: spec/selector, create: true}\ntemplateLabels:\n- {kind: Widget, path: spec/template/labels, create: true}\n", where="overlay")
config_case("f-configurations-conflict", "configurations: [config.yaml]\n", config="commonLabels:\n- {path: metadata/labels, create: false}\n", where="overlay",
            errors=["conflicting fieldspecs"])
config_case("f-configurations-unknown-field", "configurations: [config.yaml]\n", config="nameReferences: []\n", where="overlay",
            errors=["config.yaml", "nameReferences"])
config_case("f-configurations-missing-file", "configurations: [nope.yaml]\n", where="overlay", errors=["nope.yaml", "no such file"])
config_case("f-configurations-replicas-unmatched", "replicas:\n- {name: nothing, count: 2}\nconfigurations: [config.yaml]\n", where="overlay",
            errors=["resource with name nothing does not match a config with the following GVK"])

# --- crds: OpenAPI definitions with kustomize's x-kubernetes-* extensions ------------------------------
BEE_DEFS = """{
  "github.com/example/pkg/apis/jingfang/v1beta1.Bee": {
    "Schema": {
      "description": "Bee",
      "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"$ref": "k8s.io/apimachinery/pkg/apis/meta/v1.ObjectMeta"},
        "spec": {"$ref": "github.com/example/pkg/apis/jingfang/v1beta1.BeeSpec"}
      }
    },
    "Dependencies": []
  },
  "github.com/example/pkg/apis/jingfang/v1beta1.BeeSpec": {
    "Schema": {
      "properties": {
        "secretRef": {
          "type": "object",
          "x-kubernetes-object-ref-api-version": "v1",
          "x-kubernetes-object-ref-kind": "Secret"
        },
        "cfg": {
          "type": "object",
          "x-kubernetes-object-ref-api-version": "v1",
          "x-kubernetes-object-ref-kind": "ConfigMap",
          "x-kubernetes-object-ref-name-key": "cmName"
        },
        "beeRef": {
          "type": "object",
          "x-kubernetes-object-ref-api-version": "v1beta1",
          "x-kubernetes-object-ref-kind": "Bee"
        },
        "selector": {"type": "object", "x-kubernetes-label-selector": ""},
        "notes": {"type": "object", "x-kubernetes-annotation": ""},
        "alias": {"type": "string", "x-kubernetes-identity": ""},
        "boolAnn": {"type": "object", "x-kubernetes-annotation": true},
        "nested": {"$ref": "github.com/example/pkg/apis/jingfang/v1beta1.Nested"}
      }
    }
  },
  "github.com/example/pkg/apis/jingfang/v1beta1.Nested": {
    "Schema": {
      "properties": {
        "secretRef": {
          "type": "object",
          "x-kubernetes-object-ref-api-version": "v1",
          "x-kubernetes-object-ref-kind": "Secret"
        }
      }
    }
  },
  "github.com/example/pkg/apis/jingfang/v1beta1.NotAKind": {
    "Schema": {"properties": {"kind": {}, "secretRef": {"x-kubernetes-object-ref-api-version": "v1", "x-kubernetes-object-ref-kind": "Secret"}}}
  }
}
"""
BEES = """apiVersion: v1beta1
kind: Bee
metadata: {name: bee}
spec:
  secretRef: {name: crdsecret}
  cfg: {cmName: cm}
  beeRef: {name: bee}
  selector: {a: b}
  notes: {}
  alias: myalias
  boolAnn: {}
  nested: {secretRef: {name: crdsecret}}
---
apiVersion: jingfang.example.com/v1beta1
kind: Bee
metadata: {name: bee2}
spec:
  secretRef: {name: crdsecret}
  beeRef: {name: bee}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: "1"}
"""


def crd_case(name, top_body, base_body="", defs=BEE_DEFS, defs_name="mykinds.json", errors=None):
    case(name, {
        "input/base/kustomization.yaml": "resources: [bees.yaml]\nsecretGenerator:\n- {name: crdsecret, literals: [p=s]}\n" + base_body,
        "input/base/bees.yaml": BEES,
        "input/base/" + defs_name: defs,
        "input/overlay/kustomization.yaml": "resources: [../base]\n" + top_body,
        "input/overlay/" + defs_name: defs,
    }, errors=errors)


CRD_TOP = "namePrefix: p-\ncommonLabels: {l: v}\ncommonAnnotations: {an: x}\n"
crd_case("f-crds-in-overlay", "crds: [mykinds.json]\n" + CRD_TOP)
crd_case("f-crds-in-base", CRD_TOP, "crds: [mykinds.json]\n")
crd_case("f-crds-yaml", "crds: [mykinds.yaml]\n" + CRD_TOP, defs=BEE_DEFS.replace('"Schema"', '"schema"'), defs_name="mykinds.yaml")
crd_case("f-crds-custom-resource-definition", "crds: [crd.yaml]\n", defs="apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: bees.example.com\nspec:\n  group: example.com\n",
         defs_name="crd.yaml", errors=["crd.yaml", "unable to parse open API definition"])
crd_case("f-crds-list", "crds: [crd.yaml]\n", defs="- a\n- b\n", defs_name="crd.yaml", errors=["crd.yaml", "unable to parse open API definition"])
crd_case("f-crds-missing-file", "crds: [nope.json]\n", errors=["nope.json", "no such file"])

# --- openapi: in bases and components (kyaml keeps the first schema chosen) -------------------------
WIDGET_SCHEMA = CASES["f-openapi-custom-merge-keys"][0]["input/schema.yaml"]
WIDGET_CR = CASES["f-openapi-custom-merge-keys"][0]["input/cr.yaml"]
WIDGET_PATCH = CASES["f-openapi-custom-merge-keys"][0]["input/patch.yaml"]
# The same schema without a merge strategy for `items`: a patch replaces that list.
OTHER_SCHEMA = WIDGET_SCHEMA.replace("        x-kubernetes-patch-merge-key: port\n        x-kubernetes-patch-strategy: merge\n", "")
assert OTHER_SCHEMA != WIDGET_SCHEMA


def openapi_case(name, files, errors=None):
    f = {"input/base/cr.yaml": WIDGET_CR, "input/base/schema.yaml": WIDGET_SCHEMA}
    f.update(files)
    case(name, {k: v for k, v in f.items() if v is not None}, errors=errors)


openapi_case("f-openapi-in-base", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\nopenapi: {path: schema.yaml}\n",
    "input/overlay/kustomization.yaml": "resources: [../base]\npatches: [{path: patch.yaml}]\n",
    "input/overlay/patch.yaml": WIDGET_PATCH})
openapi_case("f-openapi-in-base-patched-there", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\nopenapi: {path: schema.yaml}\npatches: [{path: patch.yaml}]\n",
    "input/base/patch.yaml": WIDGET_PATCH,
    "input/overlay/kustomization.yaml": "resources: [../base]\n"})
openapi_case("f-openapi-in-component", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\n",
    "input/comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nopenapi: {path: schema.yaml}\n",
    "input/comp/schema.yaml": WIDGET_SCHEMA,
    "input/overlay/kustomization.yaml": "resources: [../base]\ncomponents: [../comp]\npatches: [{path: patch.yaml}]\n",
    "input/overlay/patch.yaml": WIDGET_PATCH})
openapi_case("f-openapi-top-wins", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\nopenapi: {path: schema.yaml}\n",
    "input/overlay/kustomization.yaml": "resources: [../base]\nopenapi: {path: other.yaml}\npatches: [{path: patch.yaml}]\n",
    "input/overlay/other.yaml": OTHER_SCHEMA,
    "input/overlay/patch.yaml": WIDGET_PATCH})
openapi_case("f-openapi-first-base-wins", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\n",
    "input/a/kustomization.yaml": "resources: [../base]\npatches: [{path: patch.yaml}]\n",
    "input/a/patch.yaml": WIDGET_PATCH,
    "input/b/kustomization.yaml": "openapi: {path: schema.yaml}\nresources: [cr.yaml]\n",
    "input/b/cr.yaml": WIDGET_CR.replace("name: w", "name: w2"),
    "input/b/schema.yaml": WIDGET_SCHEMA,
    "input/c/kustomization.yaml": "openapi: {path: other.yaml}\nresources: [cr.yaml]\n",
    "input/c/cr.yaml": WIDGET_CR.replace("name: w", "name: w3"),
    "input/c/other.yaml": OTHER_SCHEMA,
    "input/overlay/kustomization.yaml": "resources: [../a, ../b, ../c]\npatches:\n- path: patch.yaml\n  target: {kind: Widget}\n",
    "input/overlay/patch.yaml": WIDGET_PATCH.replace("metadata:\n  name: w\n", "metadata:\n  name: any\n")})
openapi_case("f-openapi-version-builtin", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\nopenapi: {path: schema.yaml}\n",
    "input/overlay/kustomization.yaml": "resources: [../base]\nopenapi: {version: v1.21.2}\npatches: [{path: patch.yaml}]\n",
    "input/overlay/patch.yaml": WIDGET_PATCH})
openapi_case("f-openapi-version-unknown", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\n",
    "input/overlay/kustomization.yaml": "resources: [../base]\nopenapi: {version: v1.99.0}\n"},
    errors=["the specified OpenAPI version is not built in"])
openapi_case("f-openapi-base-missing-file", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\nopenapi: {path: nope.yaml}\n",
    "input/overlay/kustomization.yaml": "resources: [../base]\nopenapi: {path: schema.yaml}\n",
    "input/overlay/schema.yaml": WIDGET_SCHEMA},
    errors=["nope.yaml", "no such file"])

# --- local-config objects and refused plugins -------------------------------------------------------
LOCAL = """apiVersion: v1
kind: ConfigMap
metadata:
  name: local
  annotations: {config.kubernetes.io/local-config: "true"}
data: {host: local.example.com}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kept
  annotations: {config.kubernetes.io/local-config: "false"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: also-dropped
  annotations: {config.kubernetes.io/local-config: "yes please"}
"""
LOCAL_FILES = base_files()
LOCAL_FILES["input/overlay/local.yaml"] = LOCAL
LOCAL_FILES["input/overlay/kustomization.yaml"] = """resources: [../base, local.yaml]
namePrefix: p-
replacements:
- source: {kind: ConfigMap, name: local, fieldPath: data.host}
  targets:
  - select: {kind: ConfigMap, name: settings}
    fieldPaths: [data.host]
"""
case("f-local-config-dropped", LOCAL_FILES)
TRANSFORMER_PLUGIN = """apiVersion: example.com/v1
kind: MyTransformer
metadata:
  name: t
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ./run.sh
"""
case("f-plugin-transformer-refused", overlay("transformers: [plugin.yaml]\n", {"input/overlay/plugin.yaml": TRANSFORMER_PLUGIN}),
     errors=["plugin.yaml", "refused"])
case("f-plugin-helm-refused", overlay("helmCharts:\n- {name: x, repo: https://example.invalid/charts}\n"), errors=["helmCharts", "refused"])

# --- patch targets by annotation selector ------------------------------------------------------------
ANNOTATED = """apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  annotations: {tier: gold, zone: east}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
  annotations: {tier: silver}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
"""
ANNOTATION_TARGETS = {
    "equals": "tier=gold",
    "not-equals": "tier!=gold",
    "set": "tier in (gold, silver)",
    "exists": "zone",
    "not-exists": "!zone",
    "and-label": "tier=silver",
}
for n, sel in ANNOTATION_TARGETS.items():
    extra = ", labelSelector: 'app!=x'" if n == "and-label" else ""
    case(f"f-patch-target-annotations-{n}", {
        "input/kustomization.yaml": "resources: [cms.yaml]\npatches:\n- target: {kind: ConfigMap, annotationSelector: '" + sel + "'" + extra + "}\n  patch: '[{\"op\": \"add\", \"path\": \"/data\", \"value\": {\"patched\": \"yes\"}}]'\n",
        "input/cms.yaml": ANNOTATED,
    })

# --- generator behaviors across bases -----------------------------------------------------------------
def behavior_case(name, body, errors=None):
    gen_files = {
        "input/top/kustomization.yaml": "resources: [../config]\n" + body,
        "input/config/kustomization.yaml": "configMapGenerator:\n- {name: settings, literals: [host=a, port=1]}\nsecretGenerator:\n- {name: creds, literals: [user=u]}\n",
    }
    if name.endswith("-into-unhashed"):
        gen_files["input/config/kustomization.yaml"] = "generatorOptions: {disableNameSuffixHash: true}\n" + gen_files["input/config/kustomization.yaml"]
    case(name, gen_files, errors=errors)


behavior_case("f-gen-behavior-merge", "configMapGenerator:\n- {name: settings, behavior: merge, literals: [host=b, extra=x]}\nsecretGenerator:\n- {name: creds, behavior: merge, literals: [pass=p]}\n")
behavior_case("f-gen-behavior-replace", "configMapGenerator:\n- {name: settings, behavior: replace, literals: [only=1]}\n")
behavior_case("f-gen-behavior-merge-options", "configMapGenerator:\n- name: settings\n  behavior: merge\n  literals: [host=b]\n  options: {labels: {l: v}, annotations: {a: b}, disableNameSuffixHash: true}\n")
behavior_case("f-gen-behavior-create-conflict", "configMapGenerator:\n- {name: settings, literals: [host=b]}\n",
              errors=["ConfigMap.v1.[noGrp]/settings", "exists; can not use behavior: 'unspecified'"])
behavior_case("f-gen-behavior-merge-missing", "configMapGenerator:\n- {name: nothere, behavior: merge, literals: [host=b]}\n",
              errors=["nothere", "merge"])
behavior_case("f-gen-behavior-unknown", "configMapGenerator:\n- {name: settings, behavior: upsert, literals: [host=b]}\n",
              errors=["ConfigMap.v1.[noGrp]/settings", "exists; can not use behavior: 'unspecified'"])
behavior_case("f-gen-behavior-unknown-creates", "configMapGenerator:\n- {name: other, behavior: upsert, literals: [host=b]}\n")
behavior_case("f-gen-behavior-merge-into-unhashed", "configMapGenerator:\n- {name: settings, behavior: merge, literals: [host=b]}\n")

# --- strategic merge by type: only the types of kyaml's built-in schema (Kubernetes v1.21.2) ------------
def typed_smp(name, api_version, kind):
    obj = "apiVersion: " + api_version + "\nkind: " + kind + "\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n"
    case(name, {
        "input/kustomization.yaml": "resources: [obj.yaml]\npatches: [{path: patch.yaml}]\n",
        "input/obj.yaml": obj + "      containers:\n      - {name: a, image: x}\n      - {name: b, image: y}\n      volumes:\n      - {name: v, emptyDir: {}}\n",
        "input/patch.yaml": obj + "      containers:\n      - {name: b, image: z}\n      volumes:\n      - {name: w, emptyDir: {}}\n",
    })


typed_smp("f-smp-type-apps-v1-deployment", "apps/v1", "Deployment")
typed_smp("f-smp-type-apps-v1beta1-deployment", "apps/v1beta1", "Deployment")
typed_smp("f-smp-type-extensions-v1beta1-deployment", "extensions/v1beta1", "Deployment")
typed_smp("f-smp-type-core-unknown-kind", "v1", "Widget")
typed_smp("f-smp-type-batch-v1beta1-job", "batch/v1beta1", "Job")
case("f-smp-type-hpa-v2", {
    "input/kustomization.yaml": "resources: [hpa.yaml]\npatches: [{path: patch.yaml}]\n",
    "input/hpa.yaml": "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}\n  - type: Resource\n    resource: {name: memory, target: {type: Utilization, averageUtilization: 70}}\n",
    "input/patch.yaml": "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}\n",
})

# --- keyed lists as kyaml merges them: several keys, unified values, elements without keys ------------
def keyed_case(name, target, patch):
    case(name, {
        "input/kustomization.yaml": "resources: [target.yaml]\npatches: [{path: patch.yaml}]\n",
        "input/target.yaml": target,
        "input/patch.yaml": patch,
    })


keyed_case('f-smp-keys-port-protocol', 'apiVersion: v1\nkind: Service\nmetadata: {name: dns}\nspec:\n  ports:\n  - {name: dns, port: 53, protocol: UDP}\n  - {name: dns-tcp, port: 53, protocol: TCP}\n  - {name: metrics, port: 9153}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dns}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: x\n        ports:\n        - {containerPort: 53, protocol: UDP, name: dns}\n        - {containerPort: 53, protocol: TCP, name: dns-tcp}\n      topologySpreadConstraints:\n      - {topologyKey: zone, whenUnsatisfiable: DoNotSchedule, maxSkew: 1}\n      - {topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, maxSkew: 2}\n', 'apiVersion: v1\nkind: Service\nmetadata: {name: dns}\nspec:\n  ports:\n  - {port: 53, protocol: TCP, targetPort: 5353}\n  - {port: 9153, name: metrics2}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dns}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        ports:\n        - {containerPort: 53, protocol: TCP, hostPort: 53}\n      topologySpreadConstraints:\n      - {topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, maxSkew: 5}\n')
keyed_case('f-smp-keys-unified-protocol', 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {port: 80, protocol: TCP, name: http}\n', 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {port: 80, targetPort: 8080}\n')
keyed_case('f-smp-keys-patch-element-without-key', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: x}\n      - {name: b, image: y}\n', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - image: z\n      - {name: c, image: w}\n')
keyed_case('f-smp-keys-target-element-without-key', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - {image: x}\n      - {name: b, image: y}\n', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: b, image: q}\n')
keyed_case('f-smp-keys-service-ports-without-keys', 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {port: 80, name: a}\n  - {targetPort: 81}\n', 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {name: c, targetPort: 9}\n  - {port: 80, protocol: UDP}\n')

# A patch element without the custom schema's merge key.
openapi_case("f-openapi-element-without-key", {
    "input/base/kustomization.yaml": "resources: [cr.yaml]\n",
    "input/overlay/kustomization.yaml": "resources: [../base]\nopenapi: {path: other.yaml}\npatches: [{path: patch.yaml}]\n",
    "input/overlay/other.yaml": WIDGET_SCHEMA.replace("x-kubernetes-patch-merge-key: port", "x-kubernetes-patch-merge-key: name"),
    "input/overlay/patch.yaml": WIDGET_PATCH})

# The other merge keys of the v1.21 schema (status lists, CSI drivers) and fields it lacks.
keyed_case("f-smp-keys-status-and-node-lists", """apiVersion: v1
kind: Node
metadata: {name: n}
spec:
  podCIDRs: [10.0.0.0/24]
status:
  addresses:
  - {type: InternalIP, address: 10.1.1.1}
  - {type: Hostname, address: n}
  conditions:
  - {type: Ready, status: "True"}
  - {type: DiskPressure, status: "False"}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: x}]
status:
  podIPs: [{ip: 10.2.0.1}]
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata: {name: n}
spec:
  drivers:
  - {name: a.csi, nodeID: n1}
  - {name: b.csi, nodeID: n1}
""", """apiVersion: v1
kind: Node
metadata: {name: n}
spec:
  podCIDRs: [10.0.1.0/24]
status:
  addresses:
  - {type: Hostname, address: n2}
  conditions:
  - {type: Ready, status: "False"}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
status:
  podIPs: [{ip: 10.2.0.2}]
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata: {name: n}
spec:
  drivers:
  - {name: b.csi, nodeID: n2}
""")
keyed_case("f-smp-keys-newer-pod-fields", """apiVersion: apps/v1
kind: Deployment
metadata: {name: w}
spec:
  template:
    spec:
      schedulingGates: [{name: a}, {name: b}]
      resourceClaims: [{name: gpu}]
      containers:
      - name: c
        image: x
        ports: [{containerPort: 80}]
      ephemeralContainers:
      - name: e
        image: x
        ports: [{containerPort: 81}]
""", """apiVersion: apps/v1
kind: Deployment
metadata: {name: w}
spec:
  template:
    spec:
      schedulingGates: [{name: c}]
      resourceClaims: [{name: fpga}]
      ephemeralContainers:
      - name: e
        ports: [{containerPort: 82}]
""")

# configurations, crds and vars declared by a component join the including kustomization's.
case("f-component-configurations-crds-vars", {
    "input/base/kustomization.yaml": "resources: [widget.yaml, svc.yaml, deploy.yaml, bees.yaml]\nconfigMapGenerator:\n- {name: settings, literals: [flag=true, mode=x]}\nsecretGenerator:\n- {name: creds, literals: [p=s]}\n- {name: crdsecret, literals: [p=s]}\n",
    "input/base/widget.yaml": CONFIG_WIDGET,
    "input/base/svc.yaml": VAR_SVC.replace("$(PORT)", "8080"),
    "input/base/deploy.yaml": VAR_DEPLOY,
    "input/base/bees.yaml": BEES.split("---")[0],
    "input/comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nconfigurations: [config.yaml]\ncrds: [mykinds.json]\n" + VARS,
    "input/comp/config.yaml": CONFIG_FILE,
    "input/comp/mykinds.json": BEE_DEFS,
    "input/overlay/kustomization.yaml": "resources: [../base]\ncomponents: [../comp]\nnamePrefix: p-\ncommonLabels: {team: a}\n",
})


def main():
    for name in os.listdir(HERE):
        if name.startswith(("f-", "p-")):
            shutil.rmtree(os.path.join(HERE, name))
    for name, (files, overrides) in CASES.items():
        for path, text in files.items():
            full = os.path.join(HERE, name, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        if name in ERRORS:
            with open(os.path.join(HERE, name, "expected-error.txt"), "w") as f:
                f.write("".join(e + "\n" for e in ERRORS[name]))
        if overrides is not None:
            with open(os.path.join(HERE, name, "flux.json"), "w") as f:
                json.dump(overrides, f, indent=2, sort_keys=True)
                f.write("\n")
    print(f"wrote {len(CASES)} feature cases")


main()
