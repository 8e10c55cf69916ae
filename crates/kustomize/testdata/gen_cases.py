#!/usr/bin/env python3
"""Writes the differential test cases under testdata/<case>/input/.

Each case combines a base (a set of Kubernetes objects) with one feature overlay (or several).
Expected outputs are not written here: run regen.sh, which asks real kustomize.
Re-running this script rewrites the inputs of the generated cases (named g-*); hand-written
cases (other names) are left alone.
"""
import itertools
import os
import shutil
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      serviceAccountName: web-sa
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - name: MODE
          value: "on"
        - name: FROM_CM
          valueFrom:
            configMapKeyRef:
              name: settings
              key: mode
        envFrom:
        - secretRef:
            name: creds
        volumeMounts:
        - name: data
          mountPath: /data
      - name: helper
        image: busybox
        args: ["sleep", "3600", "0644", yes, 1.50]
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: data
      - name: cfg
        configMap:
          name: settings
          defaultMode: 0644
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    description: a fairly long description of this service that will need folding when printed by kustomize
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 80
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: static
data:
  script.sh: |
    #!/bin/sh
    echo "hello"
  flag: "true"
  number: "42"
  empty: ""
  tabbed: "a\\tb"
  trailing: "line one\\n\\n"
"""

SA_RBAC = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web-sa
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader-binding
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: web-sa
- kind: ServiceAccount
  name: default
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: watcher
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: watcher-binding
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: watcher
subjects:
- kind: ServiceAccount
  name: web-sa
  namespace: default
"""

STORAGE = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
"""

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  tls:
  - hosts: [web.example.com]
    secretName: tls
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"""

STATEFUL = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: db
        image: postgres:16
        envFrom:
        - configMapRef:
            name: settings
  volumeClaimTemplates:
  - metadata:
      name: pgdata
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 5Gi
"""

CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backup
            image: registry.example.com:5000/tools/backup:v1
            env:
            - name: PASSWORD
              valueFrom:
                secretKeyRef:
                  name: creds
                  key: password
"""

MISC = """\
apiVersion: v1
kind: Namespace
metadata:
  name: apps
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 1
  maxReplicas: 5
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: web
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: gadget
spec:
  size: 3
  parts:
  - name: a
    weight: 1
  - name: b
    weight: 2
"""

BASES = {
    "web": {"deploy.yaml": DEPLOY, "service.yaml": SERVICE},
    "full": {
        "deploy.yaml": DEPLOY,
        "service.yaml": SERVICE,
        "configmap.yaml": CONFIGMAP,
        "rbac.yaml": SA_RBAC,
        "pvc.yaml": STORAGE,
        "ingress.yaml": INGRESS,
    },
    "stateful": {"sts.yaml": STATEFUL, "cron.yaml": CRONJOB, "service.yaml": SERVICE},
    "misc": {"misc.yaml": MISC, "deploy.yaml": DEPLOY},
}

GENERATORS = """\
configMapGenerator:
- name: settings
  literals:
  - mode=fast
  - level="3"
  - enabled=true
  files:
  - app.properties
- name: env-settings
  envs:
  - app.env
secretGenerator:
- name: creds
  literals:
  - password=s3cr3t
  - username=admin
- name: tls
  type: kubernetes.io/tls
  files:
  - tls.crt
  - tls.key
"""

GEN_FILES = {
    "app.properties": "color=blue\nsize=large\n",
    "app.env": "# comment\nDB_HOST=db.local\nDB_PORT=5432\nEMPTY=\n",
    "tls.crt": "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2x1c3RlciBDQSBmb3IgdGVzdGluZyBwdXJwb3NlcyBvbmx5MAoGCCqGSM49BAMCMBQx\n-----END CERTIFICATE-----\n",
    "tls.key": "not-really-a-key",
}

# Each feature: kustomization lines for the overlay plus extra files.
FEATURES = {
    "plain": ("", {}),
    "namespace": ("namespace: prod\n", {}),
    "prefix": ("namePrefix: pre-\n", {}),
    "suffix": ("nameSuffix: -suf\n", {}),
    "prefix-suffix-ns": ("namePrefix: a-\nnameSuffix: -z\nnamespace: team-x\n", {}),
    "common-labels": ("commonLabels:\n  team: blue\n  tier: \"1\"\n", {}),
    "labels-plain": ("labels:\n- pairs:\n    owner: ops\n", {}),
    "labels-selectors": ("labels:\n- pairs:\n    owner: ops\n  includeSelectors: true\n", {}),
    "labels-templates": ("labels:\n- pairs:\n    owner: ops\n  includeTemplates: true\n", {}),
    "annotations": ("commonAnnotations:\n  note: \"yes\"\n  url: https://example.com/a#b\n", {}),
    "images": (
        "images:\n- name: nginx\n  newTag: \"1.26\"\n- name: busybox\n  newName: registry.local/busybox\n  digest: sha256:0123456789abcdef\n- name: postgres\n  newName: pg\n- name: registry.example.com:5000/tools/backup\n  newTag: v2\n",
        {},
    ),
    "replicas": ("replicas:\n- name: web\n  count: 4\n", {}),
    "generators": (GENERATORS, GEN_FILES),
    "generators-nohash": (GENERATORS + "generatorOptions:\n  disableNameSuffixHash: true\n  labels:\n    generated: \"true\"\n", GEN_FILES),
    "smp-file": (
        "patches:\n- path: patch.yaml\n",
        {
            "patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:patched\n        env:\n        - name: EXTRA\n          value: \"1\"\n      - name: sidecar\n        image: envoy:1.0\n"
        },
    ),
    "smp-inline-delete": (
        "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n    spec:\n      template:\n        spec:\n          containers:\n          - name: helper\n            $patch: delete\n",
        {},
    ),
    "smp-null-and-replace": (
        "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n      labels:\n        app: null\n    spec:\n      selector:\n        $patch: replace\n        matchLabels:\n          app: web\n",
        {},
    ),
    "smp-target-labels": (
        "patches:\n- target:\n    kind: Deployment\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n      annotations:\n        patched: \"true\"\n",
        {},
    ),
    "json6902-inline": (
        "patches:\n- target:\n    kind: Service\n    name: web\n  patch: |-\n    - op: add\n      path: /spec/ports/-\n      value:\n        name: https\n        port: 443\n    - op: replace\n      path: /metadata/name\n      value: web-renamed\n",
        {},
    ),
    "json6902-file": (
        "patchesJson6902:\n- target:\n    group: apps\n    version: v1\n    kind: Deployment\n    name: web\n  path: ops.yaml\n",
        {"ops.yaml": "- op: remove\n  path: /spec/template/spec/containers/1\n- op: add\n  path: /spec/template/metadata/annotations\n  value:\n    checksum: abc\n"},
    ),
    "json6902-regex": (
        "patches:\n- target:\n    kind: (Service|Deployment)\n    name: w.*\n  patch: '[{\"op\": \"add\", \"path\": \"/metadata/labels/matched\", \"value\": \"yes\"}]'\n",
        {},
    ),
    "psm-legacy": (
        "patchesStrategicMerge:\n- psm.yaml\n",
        {"psm.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - name: metrics\n    port: 9090\n"},
    ),
    "sort-fifo": ("sortOptions:\n  order: fifo\n", {}),
    "sort-legacy-custom": ("sortOptions:\n  order: legacy\n  legacySortOptions:\n    orderFirst: [Service]\n    orderLast: [ServiceAccount]\n", {}),
}

COMBOS = [
    ("namespace", "prefix", "generators"),
    ("prefix-suffix-ns", "common-labels", "generators"),
    ("namespace", "smp-file", "images"),
    ("prefix", "json6902-inline"),
    ("generators", "smp-file", "replicas"),
    ("annotations", "labels-selectors", "namespace"),
    ("generators-nohash", "prefix", "images"),
    ("smp-target-labels", "json6902-regex", "suffix"),
]


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(content)


def base_files(root, base):
    for name, content in BASES[base].items():
        write(os.path.join(root, "base", name), content)
    lines = "resources:\n" + "".join(f"- {n}\n" for n in BASES[base])
    write(os.path.join(root, "base", "kustomization.yaml"), lines)


def overlay(root, features, base_ref="../base"):
    body = f"resources:\n- {base_ref}\n"
    for feat in features:
        text, files = FEATURES[feat]
        body += text
        for name, content in files.items():
            write(os.path.join(root, "overlay", name), content)
    write(os.path.join(root, "overlay", "kustomization.yaml"), body)


def merge_features(features):
    """Joins feature snippets, merging repeated top-level list keys."""
    merged = {}
    order = []
    for feat in features:
        text, _ = FEATURES[feat]
        key = None
        for line in text.splitlines(keepends=True):
            if line and not line[0].isspace() and not line.startswith("-"):
                key = line.split(":")[0]
                if key in merged:
                    continue
                order.append(key)
                merged[key] = line
            elif key is not None:
                merged[key] += line
    return "".join(merged[k] for k in order)


def generate():
    for name in os.listdir(HERE):
        if name.startswith("g-"):
            shutil.rmtree(os.path.join(HERE, name))
    count = 0
    for base, feat in itertools.product(BASES, FEATURES):
        root = os.path.join(HERE, f"g-{base}-{feat}", "input")
        base_files(root, base)
        overlay(root, [feat])
        count += 1
        # Same feature applied directly in the base's kustomization (no overlay).
        root = os.path.join(HERE, f"g-{base}-{feat}-flat", "input")
        for name, content in BASES[base].items():
            write(os.path.join(root, name), content)
        text, files = FEATURES[feat]
        for fname, content in files.items():
            write(os.path.join(root, fname), content)
        write(os.path.join(root, "kustomization.yaml"), "resources:\n" + "".join(f"- {n}\n" for n in BASES[base]) + text)
        count += 1
    for base, combo in itertools.product(BASES, COMBOS):
        root = os.path.join(HERE, f"g-{base}-combo-{'+'.join(combo)}", "input")
        base_files(root, base)
        for feat in combo:
            for fname, content in FEATURES[feat][1].items():
                write(os.path.join(root, "overlay", fname), content)
        write(os.path.join(root, "overlay", "kustomization.yaml"), "resources:\n- ../base\n" + merge_features(combo))
        count += 1
    # Two-level overlays: base <- mid (prefix, namespace) <- top (feature).
    for feat in FEATURES:
        root = os.path.join(HERE, f"g-layered-{feat}", "input")
        base_files(root, "full")
        write(os.path.join(root, "mid", "kustomization.yaml"), "resources:\n- ../base\nnamePrefix: mid-\nnamespace: mid\ncommonLabels:\n  layer: mid\n")
        text, files = FEATURES[feat]
        for fname, content in files.items():
            write(os.path.join(root, "top", fname), content)
        write(os.path.join(root, "top", "kustomization.yaml"), "resources:\n- ../mid\n" + text.replace("namespace: prod", "namespace: top"))
        count += 1
    print(f"generated {count} cases")


if __name__ == "__main__":
    generate()
