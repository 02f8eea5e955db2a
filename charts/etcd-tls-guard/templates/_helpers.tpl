{{/* Names, kept within the 63 characters Kubernetes allows for names and label values. */}}
{{- define "etcd-tls-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "etcd-tls-guard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "etcd-tls-guard.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "etcd-tls-guard.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "etcd-tls-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "etcd-tls-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "etcd-tls-guard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "etcd-tls-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "etcd-tls-guard.serviceAccountName" -}}
{{- default (include "etcd-tls-guard.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "etcd-tls-guard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The Secret the webhook serves from: the user's, or the one this chart (or cert-manager) writes. */}}
{{- define "etcd-tls-guard.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "existingSecret" }}{{ .Values.certificates.existingSecret }}{{ else }}{{ printf "%s-tls" (include "etcd-tls-guard.fullname" .) }}{{ end }}
{{- end }}

{{/* DNS names the API server uses to reach the Service (it verifies <service>.<namespace>.svc). */}}
{{- define "etcd-tls-guard.serviceDnsNames" -}}
{{- $svc := include "etcd-tls-guard.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) | toJson }}
{{- end }}

{{/*
CEL, evaluated by the API server before it calls the webhook: does this container run, or
mention, etcd or kube-apiserver? A superset of what the webhook recognises (src/launch/invocation.ts):
its image is named etcd or kube-apiserver (with an optional -arch suffix), or the names appear in
its command, args or an env value (the words the webhook can resolve all come from these).
Optional fields are guarded with has(): reading an absent field is an error, and an error in a
match condition falls to failurePolicy.
*/}}
{{- /* A container that runs or mentions etcd or kube-apiserver, or OpenShift 3's `openshift start master` (its API server). */ -}}
{{- /*
The pod spec of the object under review, in CEL: a Pod's own, or the pod template's of a workload
(src/input/workload.ts lists the same paths). The API server has validated the object by then, so
the template is there. Expressions bind it to a name as `[spec].all(s, …)`: CEL in a webhook's
matchConditions has no variables, and has() takes only a field of a name.
*/ -}}
{{- define "etcd-tls-guard.celPodSpec" -}}
(request.kind.kind == 'Pod' ? object.spec : request.kind.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : request.kind.kind == 'PodTemplate' ? object.template.spec : object.spec.template.spec)
{{- end }}

{{- define "etcd-tls-guard.celContainerRunsControlPlane" -}}
(has(c.image) && c.image.matches('(^|/)(etcd|kube-apiserver)(-[a-z0-9]+)?([:@]|$)')) || (has(c.command) && c.command.exists(a, a.contains('etcd') || a.contains('kube-apiserver') || a.contains('openshift start master') || a.matches('(^|/)openshift$'))) || (has(c.args) && c.args.exists(a, a.contains('etcd') || a.contains('kube-apiserver') || a.contains('openshift start master') || a.matches('(^|/)openshift$'))) || (has(c.env) && c.env.exists(e, has(e.value) && (e.value.contains('etcd') || e.value.contains('kube-apiserver'))))
{{- end }}

{{/*
Node's heap, in MiB: three quarters of the container's memory limit (resources.limits.memory in Mi,
Gi, M or G), so that V8 collects garbage before the kernel's OOM killer acts; empty when there is
no limit or it is written otherwise (Node then sizes its heap from the machine).
*/}}
{{- define "etcd-tls-guard.heapMiB" -}}
{{- $limit := toString (((.Values.resources | default dict).limits | default dict).memory | default "") -}}
{{- $mib := 0 -}}
{{- if regexMatch "^[0-9]+Gi$" $limit -}}{{- $mib = mul (trimSuffix "Gi" $limit | atoi) 1024 -}}
{{- else if regexMatch "^[0-9]+Mi$" $limit -}}{{- $mib = trimSuffix "Mi" $limit | atoi -}}
{{- else if regexMatch "^[0-9]+G$" $limit -}}{{- $mib = div (mul (trimSuffix "G" $limit | atoi) 1000) 1049 -}}
{{- else if regexMatch "^[0-9]+M$" $limit -}}{{- $mib = div (mul (trimSuffix "M" $limit | atoi) 1000000) 1048576 -}}
{{- end -}}
{{- if gt (int $mib) 0 -}}{{- div (mul $mib 3) 4 -}}{{- end -}}
{{- end }}

{{/* Whether the webhook calls the Kubernetes API: managed certificates or the periodic audit. */}}
{{- define "etcd-tls-guard.needsToken" -}}
{{- or (eq .Values.certificates.mode "managed") .Values.audit.enabled }}
{{- end }}
