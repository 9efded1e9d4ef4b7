"""Reads rendered manifests with PyYAML (not the writer, not the core's
parser) and validates them against the Kubernetes schemas that PyPI
kubernetes-validate ships (offline). A pod-template patch is merged into a
minimal workload of its kind first, as kubectl patch would, and the whole
object is validated. Prints {path: [documents]} as JSON on success."""

import copy
import json
import sys

import kubernetes_validate
import yaml

VERSION = "1.37.0"
CONTAINER = {"name": "app", "image": "registry.example/app:1"}
BASES = {
    "Deployment": {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "app"}},
            "template": {
                "metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [CONTAINER]},
            },
        },
    },
    "CronJob": {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {"containers": [CONTAINER], "restartPolicy": "Never"}
                    }
                }
            },
        },
    },
}


def merge(base, patch):
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def main():
    out = {}
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        out[path] = docs
        for doc in docs:
            if path.endswith("pod_template_patch.yaml"):
                kind = "CronJob" if "jobTemplate" in doc["spec"] else "Deployment"
                doc = merge(copy.deepcopy(BASES[kind]), doc)
            elif doc.get("apiVersion", "").startswith("external-secrets.io/"):
                # A CRD: kubernetes-validate has no schema for it.
                continue
            kubernetes_validate.validate(doc, VERSION, strict=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
