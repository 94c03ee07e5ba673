"""The kopf peer of the operator benchmark: a minimal Python operator that does only Backstop's
run-now hot path. On a BackupPolicy watch event carrying a new `backstop.dev/run-now` value it
creates one backup Job (same name scheme, labels, owner and annotation as Backstop's; a shorter
pod template). Tuned to be fast, not to be a full operator: raw event handler (no handler state
written back to the object), no Events posted, no batching window, one pooled HTTP session.

Run by `backstop-bench operator --peer kopf` through hack/kopf-peer.sh; KUBECONFIG names the
simulator (a JSON kubeconfig with a token and CA data).
"""
import hashlib
import json
import os
import ssl

import aiohttp
import kopf

RUN_NOW = "backstop.dev/run-now"
config = json.load(open(os.environ["KUBECONFIG"]))
cluster = config["clusters"][0]["cluster"]
server = cluster["server"]
token = config["users"][0]["user"]["token"]
context = ssl.create_default_context()
if "certificate-authority-data" in cluster:
    import base64
    context.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
answered = {}  # (namespace, name) -> the run-now value a Job was created for
session = None


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_):
    global session
    settings.batching.batch_window = 0  # kopf waits 100 ms per event for more by default
    settings.posting.enabled = False
    settings.peering.standalone = True
    settings.watching.connect_timeout = 60
    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"},
                                    connector=aiohttp.TCPConnector(ssl=context, limit=16))


@kopf.on.login()
def login(**kwargs):
    return kopf.login_with_kubeconfig(**kwargs)


@kopf.on.event("backstop.dev", "v1alpha1", "backuppolicies")
async def run_now(event, body, meta, namespace, name, uid, **_):
    value = (meta.get("annotations") or {}).get(RUN_NOW)
    if not value or event["type"] is None or answered.get((namespace, name)) == value:
        return  # the initial listing is history; only new run-now values are reacted to
    answered[(namespace, name)] = value
    digest = hashlib.sha256(f"manual/{value}".encode()).hexdigest()[:10]
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": f"{name}-backup-{digest}"[:63], "namespace": namespace,
            "labels": {"backstop.dev/policy": name, "backstop.dev/operation": "backup", "backstop.dev/slot": "manual"},
            "annotations": {RUN_NOW: value},
            "ownerReferences": [{"apiVersion": "backstop.dev/v1alpha1", "kind": "BackupPolicy", "name": name,
                                 "uid": uid, "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "agent", "image": "backstop:dev", "args": ["agent", "backup", "--spec", "/spec/spec.json"]}],
        }}},
    }
    async with session.post(f"{server}/apis/batch/v1/namespaces/{namespace}/jobs", json=job) as response:
        if response.status not in (201, 409):
            raise kopf.TemporaryError(f"Job create answered {response.status}", delay=1)
