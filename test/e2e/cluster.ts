/**
 * A real control plane for the end-to-end tests: Debian's etcd with TLS and client-cert-auth, the
 * upstream kube-apiserver (built by test/e2e/build-apiserver.sh), kubectl with a kubeconfig written
 * here, and the webhook as a local process. Everything listens on 127.0.0.1 and ephemeral ports.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { helmBinary } from '../helm.js';
import { generateCa, issueCertificate, type CertificatePair } from '../../src/certs/authority.js';
import { freePort } from '../processes.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** Phase timings, printed by the harness at the end. */
export const timings: [string, number][] = [];
export async function timed<T>(phase: string, work: () => Promise<T> | T): Promise<T> {
  const start = Date.now();
  try {
    return await work();
  } finally {
    timings.push([phase, Date.now() - start]);
  }
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${(last as Error).message}` : ''}`);
}

function httpsStatus(url: string, opts: { ca: string; cert?: string; key?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { ...opts, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

export function httpGetText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

export interface KubectlResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ControlPlane {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly apiserverUrl: string;
  readonly auditLog: string;
  readonly pki: { ca: CertificatePair; webhookCa: CertificatePair; webhook: CertificatePair; admin: CertificatePair };
  /** The control plane's own processes: what `etcd-tls-guard node` checks in the e2e. */
  readonly pids: { readonly etcd: number; readonly apiserver: number };
  kubectl(args: readonly string[], opts?: { context?: 'admin' | 'node'; input?: string }): KubectlResult;
  /** Events of the API server's audit log (JSON lines). */
  auditEvents(): AuditEvent[];
  stop(): Promise<void>;
}

export interface AuditEvent {
  readonly verb: string;
  readonly stage: string;
  readonly objectRef?: { resource?: string; namespace?: string; name?: string };
  readonly user?: { username?: string };
  readonly userAgent?: string;
  readonly annotations?: Record<string, string>;
  readonly responseStatus?: { code?: number };
}

function stopProcess(child: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Path of kube-apiserver, building it on first use (cached; see build-apiserver.sh): the release
 * ETCD_TLS_GUARD_E2E_KUBERNETES names (run.sh sets it for each release it runs), else the pinned one.
 */
function kubeApiserverBinary(): string {
  const release = process.env.ETCD_TLS_GUARD_E2E_KUBERNETES;
  return execFileSync(join(ROOT, 'test', 'e2e', 'build-apiserver.sh'), release !== undefined && release !== '' ? [release] : [], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export const NODE_NAME = 'cp-1';
export const WEBHOOK_NAME = 'pods.etcd-tls-guard.io';
const CHART = join(ROOT, 'charts', 'etcd-tls-guard');
const HELM = helmBinary();
const KUBE_VERSION = '1.33.13';

/** The chart's ValidatingWebhookConfiguration, pointed at the local webhook by URL (no caBundle: the webhook manages it). */
export function webhookConfiguration(
  webhookUrl: string,
  caPem: string | undefined,
  failurePolicy: 'Fail' | 'Ignore',
  extra: readonly string[] = [],
): string {
  const r = spawnSync(
    HELM,
    [
      'template',
      'guard',
      CHART,
      '--namespace',
      'etcd-tls-guard',
      '--kube-version',
      KUBE_VERSION,
      '--set',
      `failurePolicy=${failurePolicy}`,
      ...(caPem !== undefined ? ['--set', 'certificates.mode=helm'] : []),
      ...extra,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`helm template: ${r.stderr}`);
  const vwc = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as { kind?: string; webhooks?: Record<string, unknown>[] } | null)
    .find((o) => o?.kind === 'ValidatingWebhookConfiguration');
  if (vwc?.webhooks?.[0] === undefined) throw new Error('the chart rendered no ValidatingWebhookConfiguration');
  vwc.webhooks[0].clientConfig = {
    url: `${webhookUrl}/validate`,
    ...(caPem !== undefined ? { caBundle: Buffer.from(caPem).toString('base64') } : {}),
  };
  return stringify(vwc);
}

/**
 * A kubeconfig for a ServiceAccount of the control plane, with a token from the TokenRequest API
 * (`kubectl create token`): the process using it has exactly the RBAC that account is granted.
 */
export async function serviceAccountKubeconfig(cp: ControlPlane, namespace: string, name: string): Promise<string> {
  const r = cp.kubectl(['create', 'token', name, '-n', namespace, '--duration', '1h']);
  if (r.status !== 0) throw new Error(`kubectl create token: ${r.stderr}`);
  const file = join(cp.dir, `${namespace}-${name}.kubeconfig`);
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'e2e',
          cluster: { server: cp.apiserverUrl, 'certificate-authority-data': Buffer.from(cp.pki.ca.certPem).toString('base64') },
        },
      ],
      users: [{ name, user: { token: r.stdout.trim() } }],
      contexts: [{ name, context: { cluster: 'e2e', user: name } }],
      'current-context': name,
    }),
    { mode: 0o600 },
  );
  return file;
}

/** The command's result when it exited 0; otherwise an error with its exit status and stderr. */
export function ok(r: KubectlResult): KubectlResult {
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`);
  return r;
}

export function requestsServed(metrics: string): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith('etcd_tls_guard_admission_requests_total{'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

export async function startControlPlane(): Promise<ControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'etg-e2e-'));
  const apiserverBin = await timed('kube-apiserver binary (build or cache)', kubeApiserverBinary);
  if (!existsSync('/usr/bin/etcd')) throw new Error('etcd is missing: test/e2e/run.sh installs Debian etcd-server');

  const pki = await timed('certificates (node-forge)', () => {
    const ca = generateCa();
    const etcdCa = generateCa();
    const webhookCa = generateCa();
    return {
      ca,
      etcdCa,
      webhookCa,
      apiserver: issueCertificate(ca, { sans: ['localhost', '127.0.0.1', 'kubernetes.default.svc'], usage: 'server' }),
      admin: issueCertificate(ca, { sans: [], commonName: 'kubernetes-admin', organization: ['system:masters'], usage: 'client' }),
      node: issueCertificate(ca, { sans: [], commonName: `system:node:${NODE_NAME}`, organization: ['system:nodes'], usage: 'client' }),
      etcdServer: issueCertificate(etcdCa, { sans: ['localhost', '127.0.0.1'], usage: 'both' }),
      etcdClient: issueCertificate(etcdCa, { sans: [], commonName: 'kube-apiserver-etcd-client', usage: 'client' }),
      webhook: issueCertificate(webhookCa, { sans: ['localhost', '127.0.0.1'], usage: 'server' }),
    };
  });
  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const f = (name: string): string => join(dir, name);
  const files: Record<string, string> = {
    'ca.crt': pki.ca.certPem,
    'ca.key': pki.ca.keyPem,
    'apiserver.crt': pki.apiserver.certPem,
    'apiserver.key': pki.apiserver.keyPem,
    'etcd-ca.crt': pki.etcdCa.certPem,
    'etcd-server.crt': pki.etcdServer.certPem,
    'etcd-server.key': pki.etcdServer.keyPem,
    'etcd-client.crt': pki.etcdClient.certPem,
    'etcd-client.key': pki.etcdClient.keyPem,
    'sa.pub': sa.publicKey,
    'sa.key': sa.privateKey,
    // Metadata for everything: the annotations webhooks add are in every event at this level.
    'audit-policy.yaml': stringify({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [{ level: 'Metadata' }],
    }),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(f(name), text, { mode: 0o600 });

  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const processes: ChildProcess[] = [];
  const logTo = (child: ChildProcess, name: string): void => {
    const out = createWriteStream(f(`${name}.log`));
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  };

  const etcd = spawn(
    '/usr/bin/etcd',
    [
      '--name=e2e',
      `--data-dir=${f('etcd-data')}`,
      `--listen-client-urls=https://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=https://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=https://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=https://127.0.0.1:${peerPort}`,
      `--initial-cluster=e2e=https://127.0.0.1:${peerPort}`,
      `--cert-file=${f('etcd-server.crt')}`,
      `--key-file=${f('etcd-server.key')}`,
      `--trusted-ca-file=${f('etcd-ca.crt')}`,
      '--client-cert-auth=true',
      `--peer-cert-file=${f('etcd-server.crt')}`,
      `--peer-key-file=${f('etcd-server.key')}`,
      `--peer-trusted-ca-file=${f('etcd-ca.crt')}`,
      '--peer-client-cert-auth=true',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  processes.push(etcd);
  logTo(etcd, 'etcd');

  const auditLog = f('audit.log');
  const apiserver = spawn(
    apiserverBin,
    [
      `--etcd-servers=https://127.0.0.1:${etcdPort}`,
      `--etcd-cafile=${f('etcd-ca.crt')}`,
      `--etcd-certfile=${f('etcd-client.crt')}`,
      `--etcd-keyfile=${f('etcd-client.key')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${f('apiserver.crt')}`,
      `--tls-private-key-file=${f('apiserver.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${f('sa.pub')}`,
      `--service-account-signing-key-file=${f('sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      `--audit-policy-file=${f('audit-policy.yaml')}`,
      `--audit-log-path=${auditLog}`,
      '--audit-log-format=json',
      `--cert-dir=${f('apiserver-certs')}`,
      '--anonymous-auth=false',
      '--profiling=false',
    ],
    // argv[0] as a node shows it (the cached binary's file name carries its release).
    { stdio: ['ignore', 'pipe', 'pipe'], argv0: 'kube-apiserver' },
  );
  processes.push(apiserver);
  logTo(apiserver, 'kube-apiserver');
  const apiserverUrl = `https://127.0.0.1:${apiPort}`;
  const stop = async (): Promise<void> => {
    for (const p of processes.reverse()) await stopProcess(p);
  };

  try {
    await timed('etcd + kube-apiserver ready', () =>
      waitFor('kube-apiserver /readyz', 90_000, async () => {
        if (apiserver.exitCode !== null) throw new Error(`kube-apiserver exited ${apiserver.exitCode}: see ${f('kube-apiserver.log')}`);
        return (
          (await httpsStatus(`${apiserverUrl}/readyz`, { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem })) === 200
        );
      }),
    );
  } catch (err) {
    await stop();
    const log = existsSync(f('kube-apiserver.log')) ? readFileSync(f('kube-apiserver.log'), 'utf8').split('\n').slice(-30).join('\n') : '';
    throw new Error(`${(err as Error).message}\n${log}`);
  }

  const kubeconfig = f('kubeconfig');
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: apiserverUrl, 'certificate-authority-data': b64(pki.ca.certPem) } }],
      users: [
        { name: 'admin', user: { 'client-certificate-data': b64(pki.admin.certPem), 'client-key-data': b64(pki.admin.keyPem) } },
        { name: 'node', user: { 'client-certificate-data': b64(pki.node.certPem), 'client-key-data': b64(pki.node.keyPem) } },
      ],
      contexts: [
        { name: 'admin', context: { cluster: 'e2e', user: 'admin' } },
        { name: 'node', context: { cluster: 'e2e', user: 'node' } },
      ],
      'current-context': 'admin',
    }),
    { mode: 0o600 },
  );

  const kubectl = (args: readonly string[], opts: { context?: 'admin' | 'node'; input?: string } = {}): KubectlResult => {
    const r = spawnSync('kubectl', ['--kubeconfig', kubeconfig, '--context', opts.context ?? 'admin', ...args], {
      encoding: 'utf8',
      input: opts.input ?? '',
      timeout: 60_000,
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  return {
    dir,
    kubeconfig,
    apiserverUrl,
    auditLog,
    pki: { ca: pki.ca, webhookCa: pki.webhookCa, webhook: pki.webhook, admin: pki.admin },
    pids: { etcd: etcd.pid as number, apiserver: apiserver.pid as number },
    kubectl,
    auditEvents: () =>
      existsSync(auditLog)
        ? readFileSync(auditLog, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as AuditEvent)
        : [],
    stop,
  };
}

export interface WebhookProcess {
  readonly url: string;
  readonly metricsUrl: string;
  readonly policyFile: string;
  log(): string;
  /** Writes the policy file and waits until the webhook logs that it reloaded it. */
  setPolicy(yaml: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The webhook as a process. `certificates`: the control plane's webhook pair as files, or
 * 'managed' (the caller passes --certificate-secret and the rest in extraArgs).
 */
export async function startWebhook(
  cp: ControlPlane,
  extraArgs: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
  certificates: 'files' | 'managed' = 'files',
): Promise<WebhookProcess> {
  const dir = await mkdtemp(join(cp.dir, 'webhook-'));
  await writeFile(join(dir, 'tls.crt'), cp.pki.webhook.certPem);
  await writeFile(join(dir, 'tls.key'), cp.pki.webhook.keyPem, { mode: 0o600 });
  const certificateFiles =
    certificates === 'files' ? ['--tls-cert-file', join(dir, 'tls.crt'), '--tls-key-file', join(dir, 'tls.key')] : [];
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, 'defaultAction: enforce\n');
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--port',
      '0',
      '--metrics-port',
      String(metricsPort),
      ...certificateFiles,
      '--config',
      policyFile,
      '--reload-interval',
      '0.2',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...env } },
  );
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    // Stops looking once found: the log grows with every decision, and matching all of it on every
    // chunk would make this process (the tests' client) slower the longer the webhook runs.
    const onData = (): void => {
      const m = /"url":"(https:\/\/[^"]+)\/validate"/.exec(log);
      if (m?.[1] !== undefined) {
        child.stdout.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`webhook exited ${code}: ${log}`)));
  });
  return {
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    policyFile,
    log: () => log,
    setPolicy: async (yaml) => {
      const before = (log.match(/"msg":"policy reloaded"/g) ?? []).length;
      await writeFile(policyFile, yaml);
      await waitFor('the webhook to reload its policy', 10_000, () =>
        Promise.resolve((log.match(/"msg":"policy reloaded"/g) ?? []).length > before),
      );
    },
    stop: () => stopProcess(child),
  };
}

export { waitFor };
