#!/usr/bin/env node
import { closeSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ClusterError } from '../kube/errors.js';
import { CertificateError } from '../certs/serving.js';
import { RULES, rulesMarkdown } from '../rules/rules.js';
import { createLogger } from '../log.js';
import type { Logger } from 'pino';
import { DEFAULT_POLICY, loadPolicyFile, PolicyError, type Policy } from '../policy/policy.js';
import { formatJson, formatText, jsonSink, textSink } from '../report/format.js';
import { exitCodeOf, filteredSink, type ReportSink } from '../report/report.js';
import { junitSink } from '../report/junit.js';
import { sarifSink } from '../report/sarif.js';
import { scanInputs } from '../scan/scan.js';
// Loaded by the commands that use them: express, pino's transport and node-forge cost every other
// command's start-up (etcd-tls-guard node as a one-off Job: ~0.3 s).
import type { Companion, ServingCertificates } from '../webhook/runtime.js';
import {
  DEV_CERT_DIR,
  parseDuration,
  resolveConfigPath,
  resolveDevSans,
  reportApiChoice,
  resolveServeSettings,
  UsageError,
  type Env,
  type ServeSettings,
} from './settings.js';

/**
 * Exit codes, documented in the README and --help: 0 ok, 1 an enforced rule fails (scan, audit),
 * 2 usage or input error, 3 an unexpected internal error (a bug: one line on stderr, never a stack).
 */
export const EXIT = { ok: 0, denied: 1, usage: 2, internal: 3, nothingChecked: 4 } as const;

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Env;
  readonly readStdin: () => Promise<string>;
  /** Standard error is a terminal: a progress line there (rewritten in place; '' clears it). */
  readonly progress?: { readonly line: (text: string) => void; readonly reportToTerminal: boolean };
}

const HELP: Readonly<Record<string, string>> = {
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
                         GET /version, no credentials)
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

function parse(command: string, args: string[], options: ParseArgsConfig['options']): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nRun 'etcd-tls-guard ${command} --help' for usage.`);
  }
}

async function loadPolicy(path: string | undefined): Promise<Policy> {
  return path === undefined ? DEFAULT_POLICY : loadPolicyFile(path);
}

const STATUSES = ['fail', 'unknown', 'pass', 'not-applicable'] as const;
const ACTIONS = ['enforce', 'warn', 'audit'] as const;

/** A comma-separated list of values from a fixed set (`--status fail,unknown`). */
function listOption(option: string, value: string | undefined, allowed: readonly string[]): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((v) => v.trim());
  const wrong = items.filter((v) => !allowed.includes(v));
  if (wrong.length > 0 || items.length === 0)
    throw new UsageError(`--${option} takes a comma-separated list of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  return new Set(items);
}

/** Where a report goes: standard output, or a file (--output), in chunks of about 64 KiB. */
function reportWriter(io: Io, output: string | undefined): { write: (text: string) => void; close: () => void } {
  let fd: number | undefined;
  if (output !== undefined) {
    try {
      fd = openSync(output, 'w');
    } catch (err) {
      throw new UsageError(`cannot write --output ${output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let pending = '';
  const flush = (): void => {
    if (pending === '') return;
    if (fd !== undefined) writeSync(fd, pending);
    else io.out(pending);
    pending = '';
  };
  return {
    write: (text) => {
      pending += text;
      if (pending.length >= 65_536) flush();
    },
    close: () => {
      flush();
      if (fd !== undefined) closeSync(fd);
    },
  };
}

async function scanCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('scan', args, {
    config: { type: 'string' },
    format: { type: 'string', default: 'text' },
    output: { type: 'string', short: 'o' },
    quiet: { type: 'boolean', short: 'q', default: false },
    status: { type: 'string' },
    action: { type: 'string' },
    exclude: { type: 'string', multiple: true },
    strict: { type: 'boolean', default: false },
  });
  if (values.help === true) {
    io.out(HELP.scan as string);
    return EXIT.ok;
  }
  const format = values.format as string;
  if (!['text', 'json', 'sarif', 'junit'].includes(format))
    throw new UsageError(`--format must be text, json, sarif or junit, got ${JSON.stringify(format)}`);
  if (positionals.length === 0)
    throw new UsageError(
      "scan needs at least one PATH (a file, a directory, or - for standard input)\nRun 'etcd-tls-guard scan --help' for usage.",
    );
  const statuses = listOption('status', values.status as string | undefined, STATUSES);
  const actions = listOption('action', values.action as string | undefined, ACTIONS);
  const policy = await loadPolicy(resolveConfigPath(values.config as string | undefined, io.env));
  const output = values.output as string | undefined;
  // Written as it is made: a large scan holds neither its inputs nor its report (JUnit holds its
  // test cases, since the counts come first).
  const out = reportWriter(io, output);
  const sink =
    format === 'json'
      ? jsonSink(out.write)
      : format === 'sarif'
        ? sarifSink(out.write, { version: VERSION, statuses: statuses ?? new Set(['fail']), root: process.cwd() })
        : format === 'junit'
          ? junitSink(out.write)
          : textSink(out.write);
  // A progress line on a terminal, for long scans, when the report does not go to that terminal.
  const progress = io.progress !== undefined && (output !== undefined || io.progress.reportToTerminal === false) ? io.progress : undefined;
  let last = 0;
  // What was read but not checked: documents without apiVersion/kind, templates (--strict fails on them).
  let unchecked = 0;
  const shown = filteredSink(sink, { statuses, actions, quiet: values.quiet === true });
  const counted: ReportSink = {
    row: (r) => {
      if (r.skipped !== undefined && r.kind === null) unchecked++;
      shown.row(r);
    },
    finish: (errors, summary) => shown.finish(errors, summary),
  };
  const outcome = await scanInputs(positionals, io.readStdin, policy, counted, {
    exclude: (values.exclude as string[] | undefined) ?? [],
    ...(progress !== undefined
      ? {
          progress: (n: number) => {
            const now = Date.now();
            if (now - last < 200) return;
            last = now;
            progress.line(`scanned ${n} file${n === 1 ? '' : 's'}…`);
          },
        }
      : {}),
  });
  progress?.line('');
  out.close();
  for (const e of outcome.errors)
    if (format !== 'text' || output !== undefined)
      io.err(`etcd-tls-guard: ${e.source}${e.document !== undefined ? `#${e.document}` : ''}: ${e.message}\n`);
  if (values.strict === true && unchecked > 0) {
    const what = `${unchecked} document${unchecked === 1 ? '' : 's'} or file${unchecked === 1 ? '' : 's'}`;
    io.err(`etcd-tls-guard: --strict: ${what} read but not checked (no apiVersion/kind, or a template)\n`);
    return EXIT.usage;
  }
  return exitCodeOf(outcome);
}

async function auditCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse('audit', args, {
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    namespace: { type: 'string', short: 'n', multiple: true },
    'all-namespaces': { type: 'boolean', short: 'A', default: false },
    config: { type: 'string' },
    format: { type: 'string', default: 'text' },
    'policy-report': { type: 'boolean', default: false },
    'report-api': { type: 'string' },
  });
  if (values.help === true) {
    io.out(HELP.audit as string);
    return EXIT.ok;
  }
  if (values.format !== 'text' && values.format !== 'json')
    throw new UsageError(`--format must be text or json, got ${JSON.stringify(values.format)}`);
  const namespaceFlags = (values.namespace as string[] | undefined) ?? [];
  if (values['all-namespaces'] === true && namespaceFlags.length > 0)
    throw new UsageError('--namespace and --all-namespaces exclude each other');
  const policy = await loadPolicy(resolveConfigPath(values.config as string | undefined, io.env));
  // Loaded here only: @kubernetes/client-node and its dependencies cost the other commands' start-up.
  const [{ loadKubeConfig }, { runAudit }] = await Promise.all([import('../kube/api.js'), import('../audit/run.js')]);
  const kc = loadKubeConfig({
    env: io.env,
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig as string } : {}),
    ...(values.context !== undefined ? { context: values.context as string } : {}),
  });
  const outcome = await runAudit(kc, {
    namespaces: values['all-namespaces'] === true ? 'all' : namespaceFlags.length > 0 ? namespaceFlags : ['kube-system'],
    policy,
    policyReport: values['policy-report'] === true,
    reportApi: reportApiChoice((values['report-api'] as string | undefined) ?? io.env.ETCD_TLS_GUARD_REPORT_API),
    source: `cluster:${kc.getCurrentContext()}`,
    now: () => new Date(),
  });
  io.out(values.format === 'json' ? formatJson(outcome.report) : formatText(outcome.report));
  if (outcome.policyReports.length > 0) io.err(`wrote ${outcome.reportKind ?? 'report'} in ${outcome.policyReports.join(', ')}\n`);
  return exitCodeOf(outcome.report);
}

async function nodeCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('node', args, {
    root: { type: 'string', default: '/' },
    proc: { type: 'string' },
    manifests: { type: 'string', multiple: true },
    'expiry-warning': { type: 'string', default: '30d' },
    config: { type: 'string' },
    format: { type: 'string', default: 'text' },
    interval: { type: 'string' },
    'metrics-port': { type: 'string', default: '9090' },
    'policy-report': { type: 'boolean', default: false },
    'report-api': { type: 'string' },
    'node-name': { type: 'string' },
    pid: { type: 'string', multiple: true },
    'no-probe': { type: 'boolean', default: false },
  });
  if (values.help === true) {
    io.out(HELP.node as string);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new UsageError(`node takes no arguments, got ${JSON.stringify(positionals[0])}\nRun 'etcd-tls-guard node --help' for usage.`);
  if (values.format !== 'text' && values.format !== 'json')
    throw new UsageError(`--format must be text or json, got ${JSON.stringify(values.format)}`);
  const expiryWarningMs = parseDuration(values['expiry-warning'] as string);
  if (expiryWarningMs === undefined)
    throw new UsageError(`--expiry-warning must be a duration such as 30d or 720h, got ${JSON.stringify(values['expiry-warning'])}`);
  const policyPath = resolveConfigPath(values.config as string | undefined, io.env);
  const policy = await loadPolicy(policyPath);
  const manifestDirs = values.manifests as string[] | undefined;
  const pidList = (values.pid as string[] | undefined) ?? [];
  for (const p of pidList) if (!/^[1-9]\d*$/.test(p)) throw new UsageError(`--pid must be a process id, got ${JSON.stringify(p)}`);
  const base = {
    ...(pidList.length > 0 ? { pids: new Set(pidList.map(Number)) } : {}),
    root: values.root as string,
    ...(values.proc !== undefined ? { procDir: values.proc as string } : {}),
    ...(manifestDirs !== undefined ? { manifestDirs } : {}),
    policy,
    expiryWarningMs,
  };
  if (values.interval !== undefined) {
    const interval = Number(values.interval);
    if (!Number.isInteger(interval) || interval < 10)
      throw new UsageError(`--interval must be a whole number of seconds, at least 10, got ${JSON.stringify(values.interval)}`);
    const metricsPort = Number(values['metrics-port']);
    if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)
      throw new UsageError(`--metrics-port must be a port number, got ${JSON.stringify(values['metrics-port'])}`);
    const nodeName = (values['node-name'] as string | undefined) ?? io.env.NODE_NAME;
    if (values['policy-report'] === true && (nodeName === undefined || nodeName === ''))
      throw new UsageError('--policy-report needs --node-name (or NODE_NAME, from the downward API)');
    const { runNodeAgent } = await import('../node/agent.js');
    await runNodeAgent({
      ...base,
      intervalMs: interval * 1000,
      metricsPort,
      policyReport: values['policy-report'] === true,
      reportApi: reportApiChoice((values['report-api'] as string | undefined) ?? io.env.ETCD_TLS_GUARD_REPORT_API),
      nodeName: nodeName ?? '',
      probe: values['no-probe'] !== true,
      log: createLogger(io.env.ETCD_TLS_GUARD_LOG_LEVEL ?? 'info'),
      ...(policyPath !== undefined ? { reloadPolicy: () => loadPolicy(policyPath) } : {}),
    });
    return EXIT.ok;
  }
  const { checkNode, checkNodeProbing, nodeReport, nothingFound } = await import('../node/check.js');
  const check =
    values['no-probe'] === true ? checkNode({ ...base, now: Date.now() }) : await checkNodeProbing({ ...base, now: Date.now() });
  const report = nodeReport(check);
  io.out(values.format === 'json' ? formatJson(report) : formatText(report));
  for (const e of report.errors)
    if (values.format === 'json') io.err(`etcd-tls-guard: ${e.source}${e.document !== undefined ? `#${e.document}` : ''}: ${e.message}\n`);
  const code = exitCodeOf(report);
  // Nothing judged is no green check: its own exit status, and what was looked at.
  if (code === EXIT.ok && report.summary.checked === 0) {
    io.err(`etcd-tls-guard: warning: ${nothingFound(check)}\n`);
    return EXIT.nothingChecked;
  }
  return code;
}

async function certsCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse('certs', args, {
    out: { type: 'string', default: DEV_CERT_DIR },
    san: { type: 'string', multiple: true },
    force: { type: 'boolean', default: false },
  });
  if (values.help === true) {
    io.out(HELP.certs as string);
    return EXIT.ok;
  }
  const dir = values.out as string;
  const sans = resolveDevSans(values.san as string[] | undefined, io.env);
  const { ensureDevCertificates, writeDevCertificates } = await import('../certs/dev.js');
  if (values.force === true) await writeDevCertificates(dir, sans);
  else if (!(await ensureDevCertificates(dir, sans))) {
    io.out(`${dir}/tls.crt already exists; use --force to replace it\n`);
    return EXIT.ok;
  }
  io.out(`wrote ${dir}/ca.crt, ca.key, tls.crt, tls.key (SANs: ${sans.join(', ')})\n`);
  return EXIT.ok;
}

function rulesCommand(args: string[], io: Io): number {
  const { values } = parse('rules', args, { format: { type: 'string', default: 'text' } });
  if (values.help === true) {
    io.out(HELP.rules as string);
    return EXIT.ok;
  }
  if (values.format !== 'text' && values.format !== 'json' && values.format !== 'markdown') {
    throw new UsageError(`--format must be text, json or markdown, got ${JSON.stringify(values.format)}`);
  }
  // scope: `pod` rules decide from the pod spec (every command); `node` rules only in `etcd-tls-guard node`.
  const rows = RULES.map((r) => ({
    id: r.id,
    component: r.component,
    cis: r.cis,
    multiMemberOnly: r.multiMemberOnly,
    scope: r.scope ?? 'pod',
    title: r.title,
  }));
  if (values.format === 'markdown') io.out(rulesMarkdown());
  else if (values.format === 'json') io.out(`${JSON.stringify(rows, null, 2)}\n`);
  else {
    const width = Math.max(...rows.map((r) => r.id.length)) + 1;
    for (const r of rows) {
      const cis = r.cis['1.5.1'] !== undefined ? `CIS ${r.cis['1.5.1']} (v1.10 ${r.cis['1.10'] ?? '-'})` : 'not in CIS';
      io.out(`${r.id.padEnd(width)} ${r.component.padEnd(15)} ${r.scope.padEnd(5)} ${cis.padEnd(26)} ${r.title}\n`);
    }
  }
  return EXIT.ok;
}

/**
 * The serving certificate: files, development files made on first run, or certificates the webhook
 * manages itself (certs/managed.ts) — which need node-forge and client-node, so they are loaded only
 * then: a webhook given its certificate files loads neither.
 */
async function servingCertificates(settings: ServeSettings, logger: Logger, env: Env): Promise<ServingCertificates> {
  if ('managedCertificates' in settings) {
    const m = settings.managedCertificates;
    const [{ loadKubeConfig }, { startManagedCertificates }, { placeholderPair }] = await Promise.all([
      import('../kube/api.js'),
      import('../certs/managed.js'),
      import('../certs/placeholder.js'),
    ]);
    const kc = loadKubeConfig({ ...(m.kubeconfig !== undefined ? { kubeconfig: m.kubeconfig } : {}), env });
    const source = startManagedCertificates({
      kc,
      namespace: m.namespace,
      secretName: m.secretName,
      webhookConfigurationName: m.webhookConfigurationName,
      settings: m.settings,
      logger,
      resyncMs: MANAGED_RESYNC_MS,
    });
    return { source, placeholder: await placeholderPair() };
  }
  if (settings.devCertDir !== undefined) {
    const { ensureDevCertificates } = await import('../certs/dev.js');
    if (await ensureDevCertificates(settings.devCertDir))
      logger.info({ dir: settings.devCertDir }, 'created development certificates; clients must trust certs-dev/ca.crt');
  }
  return { certFile: settings.certFile, keyFile: settings.keyFile };
}

/** Managed certificates: the Secret and webhook configuration are re-read at least this often, watch or not. */
const MANAGED_RESYNC_MS = 5 * 60 * 1000;

async function serveCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse('serve', args, {
    host: { type: 'string' },
    port: { type: 'string' },
    'tls-cert-file': { type: 'string' },
    'tls-key-file': { type: 'string' },
    'client-ca': { type: 'string' },
    config: { type: 'string' },
    'metrics-port': { type: 'string' },
    'reload-interval': { type: 'string' },
    'shutdown-delay': { type: 'string' },
    'drain-timeout': { type: 'string' },
    'audit-interval': { type: 'string' },
    'audit-namespaces': { type: 'string' },
    'policy-report': { type: 'string' },
    'report-api': { type: 'string' },
    'log-level': { type: 'string' },
    'certificate-secret': { type: 'string' },
    'webhook-configuration': { type: 'string' },
    'certificate-hosts': { type: 'string' },
    'ca-validity': { type: 'string' },
    'ca-renew-before': { type: 'string' },
    'certificate-validity': { type: 'string' },
    'certificate-renew-before': { type: 'string' },
    'ca-retire-after': { type: 'string' },
    kubeconfig: { type: 'string' },
  });
  if (values.help === true) {
    io.out(HELP.serve as string);
    return EXIT.ok;
  }
  const settings = resolveServeSettings(values as Record<string, string | undefined>, io.env);
  const logger = createLogger(settings.logLevel);
  const { startWebhook } = await import('../webhook/runtime.js');
  const { audit, ...webhookSettings } = settings;
  // The periodic audit is loaded only when it is on: the webhook alone never talks to the API server.
  const companion: Companion | undefined =
    audit === undefined ? undefined : async (ctx) => (await import('../audit/periodic.js')).startPeriodicAudit(audit, ctx);
  const serving = await servingCertificates(settings, logger, io.env);
  const webhook = await startWebhook({ ...webhookSettings, ...serving, ...(companion !== undefined ? { companion } : {}), logger });
  logger.info(
    {
      url: `${webhook.url}/validate`,
      metricsUrl: webhook.metricsUrl ?? null,
      policyFile: settings.configPath ?? null,
      clientCertificates: settings.clientCaFile !== undefined ? 'required' : 'not asked for',
      certificates:
        'managedCertificates' in settings
          ? `managed in Secret ${settings.managedCertificates.namespace}/${settings.managedCertificates.secretName}`
          : settings.certFile,
    },
    'etcd-tls-guard webhook listening',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info(
        { signal, shutdownDelayMs: settings.shutdownDelayMs, drainTimeoutMs: settings.drainTimeoutMs },
        'shutting down: not ready, finishing in-flight requests',
      );
      void webhook.shutdown().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  logger.info('stopped');
  return EXIT.ok;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest, io);
      case 'scan':
        return await scanCommand(rest, io);
      case 'node':
        return await nodeCommand(rest, io);
      case 'audit':
        return await auditCommand(rest, io);
      case 'certs':
        return await certsCommand(rest, io);
      case 'rules':
        return rulesCommand(rest, io);
      case 'version':
      case '--version':
        io.out(rest.includes('--help') || rest.includes('-h') ? (HELP.version as string) : `${VERSION}\n`);
        return EXIT.ok;
      case undefined:
      case 'help':
      case '--help':
      case '-h': {
        const topic = rest[0];
        io.out(topic !== undefined && HELP[topic] !== undefined ? HELP[topic] : (HELP.main as string));
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${HELP.main ?? ''}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof PolicyError || err instanceof CertificateError || err instanceof ClusterError) {
      io.err(`etcd-tls-guard: ${err.message}\n`);
      return EXIT.usage;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      io.err(`etcd-tls-guard: cannot listen: ${(err as Error).message}\n`);
      return EXIT.usage;
    }
    // A bug, not an input problem: one line, an exit code of its own (never 1, which means "denied").
    io.err(`etcd-tls-guard: internal error: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.internal;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

// Run only when executed (npm bin symlink included), not when imported by tests.
const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isEntryPoint) {
  // A reader that goes away (`etcd-tls-guard rules | head -1`) is not an error: stop writing, finish,
  // and exit with the command's own code.
  let stdoutClosed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutClosed = true;
  });
  const code = await main(process.argv.slice(2), {
    out: (t) => {
      if (!stdoutClosed) process.stdout.write(t);
    },
    err: (t) => process.stderr.write(t),
    env: process.env,
    readStdin: () => readAll(process.stdin),
    ...(process.stderr.isTTY
      ? { progress: { line: (t: string) => process.stderr.write(`\r\u001b[K${t}`), reportToTerminal: process.stdout.isTTY === true } }
      : {}),
  });
  process.exitCode = code;
}
