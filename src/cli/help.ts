/**
 * The text of `--help` for every command (and `etcd-tls-guard help TOPIC`), and the version they
 * print: the reference a cluster admin reads at the terminal. Kept apart from the commands so that
 * main.ts reads as what each command does.
 */
import { readFileSync } from 'node:fs';
import { DEV_CERT_DIR } from './settings.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

export const HELP: Readonly<Record<string, string>> = {
  main: `etcd-tls-guard ${VERSION}: keeps the control plane's etcd traffic encrypted and authenticated.

Usage: etcd-tls-guard <command> [options]

Commands:
  serve     Run the validating admission webhook (HTTPS, POST /validate)
  scan      Check manifest files offline with the same rules and policy
  audit     Check the pods running in a cluster (kubeconfig or in-cluster credentials)
  node      Check this node: manifests, running processes, config files, certificates, permissions
  certs     Create development certificates (CA and serving certificate)
  rules     List the rules and their CIS Kubernetes Benchmark numbers
  version   Print the version

Run 'etcd-tls-guard <command> --help' for a command's options.
`,
  serve: `Usage: etcd-tls-guard serve [options]

Runs the admission webhook on https://HOST:PORT/validate, with /healthz and /readyz.
Without --tls-cert-file/--tls-key-file it serves ${DEV_CERT_DIR}/tls.crt and tls.key, creating them
(and a CA, ${DEV_CERT_DIR}/ca.crt) on first run.

Options (environment variable in brackets):
  --host HOST             Address to listen on, * for every address (default 127.0.0.1) [ETCD_TLS_GUARD_HOST]
  --port PORT             Webhook HTTPS port (default 8443) [ETCD_TLS_GUARD_PORT]
  --tls-cert-file FILE    Serving certificate, PEM (chain allowed) [ETCD_TLS_GUARD_TLS_CERT_FILE]
  --tls-key-file FILE     Its private key, PEM [ETCD_TLS_GUARD_TLS_KEY_FILE]
  --client-ca FILE        Require API server client certificates signed by this CA on /validate
                          (probes stay open) [ETCD_TLS_GUARD_CLIENT_CA_FILE]
  --config FILE           Policy file, YAML or JSON [ETCD_TLS_GUARD_CONFIG]
  --metrics-port PORT     Prometheus metrics, plain HTTP GET /metrics on HOST:PORT; 0 disables
                          (default 9090) [ETCD_TLS_GUARD_METRICS_PORT]
  --reload-interval SEC   How often changed certificate and policy files are looked for, besides
                          directory events (default 10) [ETCD_TLS_GUARD_RELOAD_INTERVAL]
  --shutdown-delay SEC    After SIGTERM, fail /readyz but keep serving this long so the Service
                          stops routing here first (default 0; the Helm chart sets 5) [ETCD_TLS_GUARD_SHUTDOWN_DELAY]
  --drain-timeout SEC     Then stop accepting and give in-flight requests this long (default 10)
                          [ETCD_TLS_GUARD_DRAIN_TIMEOUT]
  --audit-interval SEC    Also audit the running pods through the Kubernetes API every SEC seconds
                          (in-cluster credentials, or KUBECONFIG); gauges on /metrics. 0 = off
                          (default), else at least 10 [ETCD_TLS_GUARD_AUDIT_INTERVAL]
  --audit-namespaces LIST Comma-separated namespaces the audit reads, * for all (default kube-system)
                          [ETCD_TLS_GUARD_AUDIT_NAMESPACES]
  --policy-report BOOL    true: the audit also writes a report per namespace (default false)
                          [ETCD_TLS_GUARD_POLICY_REPORT]
  --report-api API        auto (default: the one the cluster serves, OpenReports first), openreports
                          or wgpolicyk8s [ETCD_TLS_GUARD_REPORT_API]
  --log-level LEVEL       fatal|error|warn|info|debug|trace|silent (default info) [ETCD_TLS_GUARD_LOG_LEVEL]
  -h, --help              Show this help

Managed certificates (instead of --tls-cert-file; docs/deploy.md, Certificates):
  --certificate-secret [NAMESPACE/]NAME
                          Keep a CA and the serving certificate in this Secret, created when missing
                          (namespace default: POD_NAMESPACE) [ETCD_TLS_GUARD_CERTIFICATE_SECRET]
  --webhook-configuration NAME
                          The ValidatingWebhookConfiguration whose caBundle is kept equal to the CAs
                          to trust [ETCD_TLS_GUARD_WEBHOOK_CONFIGURATION]
  --certificate-hosts LIST
                          Comma-separated DNS names and IPs the certificate names: the Service's
                          SERVICE.NAMESPACE.svc, a URL's host [ETCD_TLS_GUARD_CERTIFICATE_HOSTS]
  --ca-validity DUR       CA lifetime (default 87600h, 10 years) [ETCD_TLS_GUARD_CA_VALIDITY]
  --ca-renew-before DUR   Replace the CA this long before it expires (default 90d) [ETCD_TLS_GUARD_CA_RENEW_BEFORE]
  --certificate-validity DUR
                          Serving certificate lifetime (default 365d) [ETCD_TLS_GUARD_CERTIFICATE_VALIDITY]
  --certificate-renew-before DUR
                          Replace it this long before it expires (default 90d)
                          [ETCD_TLS_GUARD_CERTIFICATE_RENEW_BEFORE]
  --ca-retire-after DUR   A replaced CA leaves the caBundle this long after the serving certificate
                          switched away from it (default 1h) [ETCD_TLS_GUARD_CA_RETIRE_AFTER]
  --kubeconfig FILE       Credentials for the Secret and webhook configuration (default: in-cluster,
                          KUBECONFIG, ~/.kube/config) [ETCD_TLS_GUARD_KUBECONFIG]
  A new CA enters the caBundle before any certificate it signed is served, and the old one leaves only
  after the switch: no admission call fails during a rotation. /readyz fails until a certificate the
  caBundle trusts is served.

The certificate, key, client CA and policy files are re-read when they change (a Secret or
ConfigMap volume update included): new connections get the new certificate, the next request the
new policy. A changed file that is invalid is refused with an error log, and what is in force stays.

Stops on SIGTERM or SIGINT: not ready, shutdown delay, stop accepting, drain, exit 0. Exit code 2
on a usage, policy or certificate error at start.
`,
  scan: `Usage: etcd-tls-guard scan [options] PATH...

Evaluates manifests offline with the webhook's rules and policy. PATH is a file, a directory
(searched recursively for *.yaml, *.yml, *.json; symlinks followed once) or - for standard input.
Accepts multi-document YAML, kind: List, Pods, workloads with a pod template (Deployment,
StatefulSet, DaemonSet, Job...) and AdmissionReview JSON. Every finding names the line and column it
points at (the argument, the env entry, or the container). Templates are skipped with a note: the
files under a Helm chart's templates/, and any file that is not valid YAML because of Go template or
Jinja markup (scan what they render: helm template ... | etcd-tls-guard scan -).

Options:
  --config FILE          Policy file, YAML or JSON [ETCD_TLS_GUARD_CONFIG]
  --format FORMAT        text (default), json (one JSON document), sarif (SARIF 2.1.0, for code
                         scanning: failing findings; add unknown with --status fail,unknown) or
                         junit (JUnit XML: a test case per rule and container)
  -o, --output FILE      Write the report to FILE instead of standard output
  --status LIST          Only findings of these statuses: fail, unknown, pass, not-applicable
  --action LIST          Only findings whose action is one of: enforce, warn, audit
  -q, --quiet            Only objects with a failing or unverifiable finding, and the summary
  --exclude GLOB         Leave out paths matching GLOB (relative to the PATH given; repeatable),
                         e.g. --exclude 'vendor/**' --exclude '**/*.tpl.yaml'
  --strict               Exit 2 when a document has no apiVersion/kind or a file is a template
                         (read but not checked); by default they are SKIP lines and exit 0
  -h, --help             Show this help

Filters change what is shown, never the exit code. A progress line is shown on a terminal when the
report goes elsewhere (--output, or a pipe).

Exit codes: 0 nothing enforced fails; 1 a rule whose action is enforce fails (the webhook would
deny); 2 usage error, unreadable file, invalid YAML/JSON or an invalid policy; 3 internal error.
`,
  audit: `Usage: etcd-tls-guard audit [options]

Reads the pods of a cluster through the Kubernetes API and evaluates them with the webhook's rules and
policy; prints the same report as 'scan'. When a namespace holds several etcd pods and the policy's
etcdTopology is auto, they are taken as members of one cluster (peer rules apply).

Options:
  --kubeconfig FILE      Kubeconfig (default: KUBECONFIG, ~/.kube/config, or in-cluster credentials)
  --context NAME         Context of the kubeconfig to use
  -n, --namespace NS     Namespace to read, repeatable (default kube-system)
  -A, --all-namespaces   Read every namespace
  --config FILE          Policy file, YAML or JSON [ETCD_TLS_GUARD_CONFIG]
  --format text|json     Output format (default text); json prints exactly one JSON document
  --policy-report        Also write a report named etcd-tls-guard in each namespace read: an
                         openreports.io/v1alpha1 Report or a wgpolicyk8s.io/v1alpha2 PolicyReport
  --report-api API       auto (default: the one the cluster serves, OpenReports first),
                         openreports or wgpolicyk8s [ETCD_TLS_GUARD_REPORT_API]
  -h, --help             Show this help

Needs: list pods in those namespaces (and get/list/create/update reports or policyreports with --policy-report).
Exit codes: 0 nothing enforced fails; 1 a rule whose action is enforce fails; 2 usage error, invalid
policy, or the API could not be read or written; 3 internal error.
`,
  node: `Usage: etcd-tls-guard node [options]

Checks one node, read-only: the static pod manifests in the kubelet's staticPodPath and the etcd
and kube-apiserver processes running (/proc/PID/cmdline and environ), with what they name on the
node: etcd's --config-file, OpenShift's KubeAPIServerConfig, the certificates and keys (validity,
key match, signing CA, usages, SANs), etcd's CA against the cluster CA (CIS 2.7), and the modes and
owners of manifests, data directory and PKI files (CIS 1.1). Prints the report 'scan' prints.

Options:
  --root DIR             Where the host's / is mounted (default /; /host in a container). Every
                         path is read under it; symbolic links never lead out of it
  --proc DIR             The host's /proc (default ROOT/proc; the process list needs hostPID)
  --manifests DIR        Static pod directory (a host path), repeatable. Default: the kubelet's
                         --pod-manifest-path or staticPodPath (its --config, else
                         /var/lib/kubelet/config.yaml), else /etc/kubernetes/manifests and
                         /var/lib/rancher/rke2/agent/pod-manifests where they exist
  --pid PID              Only this etcd or kube-apiserver process, repeatable (default: every one)
  --no-probe             Do not connect to etcd: the observed rules (etcd-client-auth-observed,
                         etcd-peer-auth-observed, apiserver-etcd-auth-observed) say not probed.
                         By default every etcd endpoint the node names — local listeners and
                         kube-apiserver's --etcd-servers, external etcd included — is probed as
                         a client with no certificate (2 s each, at most 32, nothing sent but
                         GET /version); where refused, again as kube-apiserver with its own
                         --etcd-certfile/--etcd-keyfile, and --etcd-cafile checks the server
                         (read from the node; sent only to a server that refused a client
                         without a certificate)
  --expiry-warning DUR   Warn about certificates expiring within DUR: 30d, 720h, 90m (default 30d)
  --config FILE          Policy file, YAML or JSON [ETCD_TLS_GUARD_CONFIG]
  --format text|json     Output format (default text); json prints exactly one JSON document
  --interval SEC         Run as the node agent: check every SEC seconds (at least 10) until SIGTERM,
                         with gauges on --metrics-port and, with --policy-report, a
                         ClusterReport (or ClusterPolicyReport) etcd-tls-guard-node-NODE written
                         after each check
  --metrics-port PORT    Agent only: Prometheus metrics on :PORT/metrics (default 9090; 0 disables)
  --policy-report        Agent only: write the node's report (in-cluster credentials or KUBECONFIG)
  --report-api API       Agent only: auto (default: what the cluster serves, OpenReports first),
                         openreports or wgpolicyk8s [ETCD_TLS_GUARD_REPORT_API]
  --node-name NAME       Agent only: this node's name [NODE_NAME]
  -h, --help             Show this help

Needs: read access to the files (root; CAP_DAC_READ_SEARCH for files of other users) and, for the
environment of processes that hold capabilities, CAP_SYS_PTRACE (docs/node.md says why).
Exit codes: 0 nothing enforced fails; 1 a rule whose action is enforce fails; 2 usage error, an
unreadable --manifests directory, invalid YAML in a manifest or an invalid policy; 3 internal error;
4 no etcd or kube-apiserver found at all (a worker node, or no access to the host's files and
process table: a warning on stderr says what was looked at).
`,
  certs: `Usage: etcd-tls-guard certs [--out DIR] [--san NAME]... [--force]

Creates a development CA and a serving certificate signed by it: DIR/ca.crt, ca.key, tls.crt,
tls.key. Not for production: use cert-manager or your own PKI there.

Options:
  --out DIR              Directory (default ${DEV_CERT_DIR})
  --san NAME             Subject alternative name, repeatable; DNS name or IPv4 address
                         (default: localhost, 127.0.0.1, etcd-tls-guard.etcd-tls-guard.svc,
                         etcd-tls-guard.etcd-tls-guard.svc.cluster.local) [ETCD_TLS_GUARD_DEV_SANS, comma-separated]
  --force                Replace certificates that already exist
  -h, --help             Show this help
`,
  rules: `Usage: etcd-tls-guard rules [--format text|json|markdown]

Lists every rule: its id, component, scope (pod: decided from the pod spec, by every command; node:
only by 'etcd-tls-guard node'), CIS Kubernetes Benchmark numbers (1.5.1 and v1.10) and title.
--format markdown prints the README's rules table (npm run generate writes it there).
`,
  version: `Usage: etcd-tls-guard version\n\nPrints the version.\n`,
};
