{{/* Resource name prefix: the release name, or "<release>-backstop" when it lacks "backstop". */}}
{{- define "backstop.fullname" -}}
{{- if contains "backstop" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-backstop" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "backstop.serviceAccountName" -}}
{{- default (include "backstop.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The name label stays "backstop" whatever the release is called: the alert rules select
     the scrape job by it (up{job="backstop"}), see templates/servicemonitor.yaml. */}}
{{- define "backstop.selectorLabels" -}}
app.kubernetes.io/name: backstop
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "backstop.labels" -}}
{{ include "backstop.selectorLabels" . }}
app.kubernetes.io/part-of: backstop
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "backstop.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
What the controllers call, and nothing more. The same rules go into the ClusterRole
(cluster-wide install) or into one Role per watched namespace (watchNamespaces), and they
must equal manifests/clusterrole.yaml: hack/chart-checks.sh compares the two renders.
Why each rule exists: docs/install.md, "RBAC rule by rule".
*/}}
{{- define "backstop.operatorRules" -}}
# The Backstop resources: watched through informers; only status is written (never a spec).
# Each kind is also read with GET when a webhook delivery writes its outcome into
# status.notifications (a fresh read, so it never overwrites a reconcile's write).
# A finished drill writes lastDrill into its policy's status after a GET (never the spec).
- apiGroups: [backstop.dev]
  resources: [backuppolicies]
  verbs: [list, watch, get]
- apiGroups: [backstop.dev]
  resources: [backuppolicies/status]
  verbs: [update]
# RestoreRequests: watched; the finalizer that keeps one until its writers are resumed is
# added and removed (update); a finished one is deleted after ttlSecondsAfterFinished.
- apiGroups: [backstop.dev]
  resources: [restorerequests]
  verbs: [list, watch, get, update, delete]
- apiGroups: [backstop.dev]
  resources: [restorerequests/status]
  verbs: [update]
# DrillRuns: watched; created on a policy's drill schedule and trimmed to its history
# limit (create, delete); the finalizer that keeps one until its cleanup ran (update).
- apiGroups: [backstop.dev]
  resources: [drillruns]
  verbs: [list, watch, get, create, update, delete]
- apiGroups: [backstop.dev]
  resources: [drillruns/status]
  verbs: [update]
# CleanupPolicy: read from a cache, status written; no finalizer, the annotations are the user's.
- apiGroups: [backstop.dev]
  resources: [cleanuppolicies]
  verbs: [list, watch, get]
- apiGroups: [backstop.dev]
  resources: [cleanuppolicies/status]
  verbs: [update]
# SecretRotations: watched; the finalizer that keeps one until a run is rolled back or done
# is added and removed (update).
- apiGroups: [backstop.dev]
  resources: [secretrotations]
  verbs: [list, watch, get, update]
- apiGroups: [backstop.dev]
  resources: [secretrotations/status]
  verbs: [update]
# Fencing: a restore reads the workloads it quiesces (replicas, readiness) and scales them
# to 0 and back through the scale subresource — never their spec otherwise.
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [get]
- apiGroups: [apps]
  resources: [deployments/scale, statefulsets/scale]
  verbs: [patch]
# Rotation: consumers are found by listing the workloads whose pod template references the
# rotated Secret, restarted by patching the rollout-restart annotation of their pod template
# (patch cannot be narrowed to one field: docs/rotation.md#rbac), and watched until ready.
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [list, patch]
# Agent Jobs, one per slot: created, watched, marked recorded (patch), trimmed to the history limit.
- apiGroups: [batch]
  resources: [jobs]
  verbs: [list, watch, create, patch, delete]
# The Pods of those Jobs carry the agent's result in their termination message.
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
# Referenced Secrets are checked for existence and keys with GET (never listed or watched:
# the control plane keeps no cache of Secret values).
# A rotation also creates and deletes its own pending Secret (the new value before it is
# live) and patches the Secret it rotates. RBAC cannot narrow create/patch to the Secrets
# rotations name: see docs/rotation.md#rbac for the trade-off and a namespaced install.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, patch, delete]
# Events on every transition (aggregated repeats are patched).
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
