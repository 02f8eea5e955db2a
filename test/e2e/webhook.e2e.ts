import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Pod } from '../../src/launch/pod.js';
import { helmBinary } from '../helm.js';
import {
  httpGetText,
  NODE_NAME,
  requestsServed,
  ROOT,
  serviceAccountKubeconfig,
  startControlPlane,
  webhookConfiguration,
  WEBHOOK_NAME,
  startWebhook,
  timed,
  timings,
  waitFor,
  type ControlPlane,
  type KubectlResult,
  type WebhookProcess,
} from './cluster.js';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const CHART = join(ROOT, 'charts', 'etcd-tls-guard');
const HELM = helmBinary();
/** The API server release the e2e builds (test/e2e/apiserver/go.mod). */
const KUBE_VERSION = '1.33.13';

function fixture(rel: string): Pod {
  return parseYaml(readFileSync(join(FIXTURES, rel), 'utf8')) as Pod;
}

/** A fixture pod renamed, so that every scenario creates its own object. */
function named(pod: Pod, name: string, change: (p: Pod) => Pod = (p) => p): string {
  return JSON.stringify(change({ ...pod, metadata: { ...pod.metadata, name } }));
}

function ok(r: KubectlResult): KubectlResult {
  expect(r.status, `kubectl failed: ${r.stderr}`).to.equal(0);
  return r;
}

describe('end to end: a real kube-apiserver calls the webhook', function () {
  this.timeout(600_000);
  let cp: ControlPlane;
  let webhook: WebhookProcess;
  let nodeUid: string;

  /**
   * The report CRDs as their projects ship them (test/tools/report-crds/fetch.sh: OpenReports' own,
   * and wgpolicyk8s.io's as Kyverno installs them), established before the test goes on.
   */
  const installReportCrds = (group: 'wgpolicyk8s.io' | 'openreports.io'): void => {
    const dir = execFileSync('bash', [join(ROOT, 'test', 'tools', 'report-crds', 'fetch.sh')], { encoding: 'utf8' }).trim();
    const files = readdirSync(dir).filter((f) => f.startsWith(`${group}_`));
    ok(cp.kubectl(['apply', '--server-side', ...files.flatMap((f) => ['-f', join(dir, f)])]));
    ok(
      cp.kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=30s',
        ...files.map((f) => `crd/${f.slice(group.length + 1, -'.yaml'.length)}.${group}`),
      ]),
    );
  };

  /**
   * `etcd-tls-guard node` on these processes of the control plane: the host's root and /proc, and an
   * empty manifest directory (the processes are what is checked).
   */
  const nodeCommand = async (pids: readonly number[]): Promise<string[]> => {
    const manifests = await mkdtemp(join(tmpdir(), 'etg-e2e-manifests-'));
    return [
      join(ROOT, 'dist', 'src', 'cli', 'main.js'),
      'node',
      '--root',
      '/',
      '--proc',
      '/proc',
      '--manifests',
      manifests,
      ...pids.flatMap((p) => ['--pid', String(p)]),
    ];
  };

  /** The node agent (`node --interval 10`) on these processes of the control plane, writing its report. */
  const startNodeAgent = async (
    pids: readonly number[],
  ): Promise<{ log: () => string; exited: Promise<number | null>; kill: (signal: NodeJS.Signals) => void }> => {
    const child = spawn(process.execPath, [...(await nodeCommand(pids)), '--interval', '10', '--metrics-port', '0', '--policy-report'], {
      env: { ...process.env, KUBECONFIG: cp.kubeconfig, NODE_NAME: NODE_NAME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { log: () => log, exited, kill: (signal) => void child.kill(signal) };
  };

  before(async () => {
    cp = await startControlPlane();
    await timed('bootstrap objects (Node, ServiceAccount)', () => {
      ok(cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME } }) }));
      nodeUid = ok(cp.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.metadata.uid}'])).stdout;
      // The ServiceAccount admission plugin needs the namespace's default account (no controller-manager here).
      for (const ns of ['kube-system', 'default']) ok(cp.kubectl(['create', 'serviceaccount', 'default', '-n', ns]));
    });
    webhook = await timed('webhook process', () => startWebhook(cp));
    await timed('ValidatingWebhookConfiguration from the chart', async () => {
      ok(cp.kubectl(['apply', '-f', '-'], { input: webhookConfiguration(webhook.url, cp.pki.webhookCa.certPem, 'Fail') }));
      // The API server picks the configuration up asynchronously.
      await waitFor('the webhook configuration to take effect', 15_000, () =>
        Promise.resolve(
          cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: named(fixture('insecure/etcd-plaintext.yaml'), 'etcd-probe') })
            .status !== 0,
        ),
      );
    });
  });

  after(async () => {
    await webhook?.stop();
    await cp?.stop();
    console.log('\n  e2e timings:');
    for (const [phase, ms] of timings) console.log(`    ${phase.padEnd(58)} ${(ms / 1000).toFixed(1).padStart(6)} s`);
  });

  it('kubectl apply --dry-run=server of a non-compliant etcd: denied, and the message names the rules', () => {
    const r = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: named(fixture('insecure/etcd-plaintext.yaml'), 'etcd-dry-run'),
    });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain(`admission webhook "${WEBHOOK_NAME}" denied the request`);
    for (const rule of ['etcd-client-tls', 'etcd-client-cert-auth', 'etcd-peer-tls']) expect(r.stderr).to.contain(`[${rule}]`);
    expect(ok(cp.kubectl(['get', 'pods', '-n', 'kube-system', '-o', 'name'])).stdout).to.not.contain('etcd-dry-run');
  });

  it('warn mode: accepted, with Warning: lines on stderr', async () => {
    await webhook.setPolicy('defaultAction: warn\n');
    const r = ok(
      cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: named(fixture('insecure/etcd-plaintext.yaml'), 'etcd-warned') }),
    );
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('Warning: '));
    expect(warnings.length).to.be.greaterThan(2);
    expect(warnings.some((w) => w.includes('etcd-client-cert-auth'))).to.equal(true);
    expect(r.stdout).to.contain('pod/etcd-warned created (server dry run)');
  });

  it('audit mode: accepted without warnings, and the API server audit log carries the audit annotations', async () => {
    await webhook.setPolicy('defaultAction: audit\n');
    const r = ok(cp.kubectl(['create', '-f', '-'], { input: named(fixture('insecure/etcd-plaintext.yaml'), 'etcd-audited') }));
    expect(r.stderr).to.not.contain('Warning:');
    await waitFor('the audit event', 10_000, () =>
      Promise.resolve(
        cp.auditEvents().some((e) => e.verb === 'create' && e.objectRef?.name === 'etcd-audited' && e.stage === 'ResponseComplete'),
      ),
    );
    const event = cp
      .auditEvents()
      .find((e) => e.verb === 'create' && e.objectRef?.name === 'etcd-audited' && e.stage === 'ResponseComplete');
    expect(event?.annotations?.[`${WEBHOOK_NAME}/etcd-client-cert-auth`]).to.match(/^fail/);
    expect(event?.annotations?.[`${WEBHOOK_NAME}/etcd-client-tls`]).to.match(/^fail/);
    ok(cp.kubectl(['delete', 'pod', '-n', 'kube-system', 'etcd-audited', '--grace-period=0', '--force']));
    await webhook.setPolicy('defaultAction: enforce\n');
  });

  it('compliant kubeadm etcd and kube-apiserver pods are created', () => {
    for (const [file, name] of [
      ['kubeadm/etcd.yaml', 'etcd-cp-1'],
      ['kubeadm/kube-apiserver.yaml', 'kube-apiserver-cp-1'],
    ] as const) {
      const r = cp.kubectl(['create', '-f', '-'], { input: named(fixture(file), name) });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.not.contain('Warning:');
    }
    const pods = ok(cp.kubectl(['get', 'pods', '-n', 'kube-system', '-o', 'name'])).stdout;
    expect(pods).to.contain('pod/etcd-cp-1').and.to.contain('pod/kube-apiserver-cp-1');
  });

  /** The non-compliant etcd as a kubelet writes its mirror pod: bound to the node, owned by the Node. */
  const mirror = (name: string): string =>
    named(fixture('insecure/etcd-plaintext.yaml'), name, (p) => ({
      ...p,
      metadata: { ...p.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: NODE_NAME, uid: nodeUid, controller: true }] },
      spec: { ...p.spec, nodeName: NODE_NAME },
    }));

  it('a non-compliant mirror pod created with the node’s identity is allowed, with audit annotations (default kubeletMirrorPods: audit)', async () => {
    const r = cp.kubectl(['create', '-f', '-'], { context: 'node', input: mirror('etcd-mirror-audited') });
    expect(r.status, r.stderr).to.equal(0);
    await waitFor('the audit event', 10_000, () =>
      Promise.resolve(cp.auditEvents().some((e) => e.objectRef?.name === 'etcd-mirror-audited' && e.verb === 'create')),
    );
    const event = cp.auditEvents().find((e) => e.objectRef?.name === 'etcd-mirror-audited' && e.verb === 'create');
    expect(event?.user?.username).to.equal(`system:node:${NODE_NAME}`);
    expect(event?.annotations?.[`${WEBHOOK_NAME}/etcd-client-cert-auth`]).to.match(/^fail/);
  });

  it('…and denied with kubeletMirrorPods: enforce', async () => {
    await webhook.setPolicy('defaultAction: enforce\nkubeletMirrorPods: enforce\n');
    const r = cp.kubectl(['create', '-f', '-'], { context: 'node', input: mirror('etcd-mirror-denied') });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('denied the request').and.to.contain('[etcd-client-cert-auth]');
    await webhook.setPolicy('defaultAction: enforce\n');
  });

  it('the same mirror pod created by an admin gets the normal actions: the annotation alone earns nothing', () => {
    const r = cp.kubectl(['create', '-f', '-'], { input: mirror('etcd-mirror-by-admin') });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('denied the request');
  });

  it('an unrelated pod never reaches the webhook (matchConditions), nor does etcd outside the selected namespaces', async () => {
    const before = requestsServed(await httpGetText(webhook.metricsUrl));
    ok(
      cp.kubectl(['create', '-f', '-'], {
        input: named(fixture('other/nginx.yaml'), 'web', (p) => ({ ...p, metadata: { ...p.metadata, namespace: 'kube-system' } })),
      }),
    );
    ok(
      cp.kubectl(['create', '-f', '-'], {
        input: named(fixture('insecure/etcd-plaintext.yaml'), 'etcd-elsewhere', (p) => ({
          ...p,
          metadata: { ...p.metadata, namespace: 'default' },
        })),
      }),
    );
    const after = requestsServed(await httpGetText(webhook.metricsUrl));
    expect(after).to.equal(before);
    expect(webhook.log()).to.not.contain('"name":"web"');
  });

  it('workloads: ordinary Deployments never reach the webhook; an etcd StatefulSet is denied at kubectl apply --dry-run=server, naming the workload, and a compliant one is created', async () => {
    const template = (pod: Pod): object => ({ metadata: { labels: { app: 'etcd' } }, spec: pod.spec });
    const statefulSet = (name: string, pod: Pod): string =>
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name, namespace: 'kube-system' },
        spec: { replicas: 3, serviceName: name, selector: { matchLabels: { app: 'etcd' } }, template: template(pod) },
      });
    const before = requestsServed(await httpGetText(webhook.metricsUrl));
    const ordinary = 5;
    for (let i = 0; i < ordinary; i++) {
      const web = fixture('other/nginx.yaml');
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `web-${i}`, namespace: 'kube-system' },
        spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: web.spec } },
      };
      ok(cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(deployment) }));
    }
    expect(requestsServed(await httpGetText(webhook.metricsUrl)), `${ordinary} Deployments created`).to.equal(before);

    const denied = cp.kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: statefulSet('etcd-tenant', fixture('insecure/etcd-plaintext.yaml')),
    });
    expect(denied.status).to.equal(1);
    expect(denied.stderr).to.contain(`admission webhook "${WEBHOOK_NAME}" denied the request`);
    expect(denied.stderr).to.contain('for StatefulSet kube-system/etcd-tenant');
    expect(denied.stderr).to.contain('[etcd-client-cert-auth]');
    expect(denied.stderr).to.contain('the pod template of StatefulSet kube-system/etcd-tenant');
    ok(cp.kubectl(['create', '-f', '-'], { input: statefulSet('etcd-compliant', fixture('kubeadm/etcd.yaml')) }));
    expect(requestsServed(await httpGetText(webhook.metricsUrl))).to.equal(before + 2);
  });

  it('etcd-tls-guard audit lists what runs, with PolicyReports updated in place', async () => {
    installReportCrds('wgpolicyk8s.io');
    await waitFor('the PolicyReport CRD', 15_000, () =>
      Promise.resolve(cp.kubectl(['get', 'policyreports', '-n', 'kube-system']).status === 0),
    );
    const audit = (): KubectlResult => {
      const r = spawnSync(
        process.execPath,
        [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'audit', '--kubeconfig', cp.kubeconfig, '--format', 'json', '--policy-report'],
        { encoding: 'utf8' },
      );
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const first = audit();
    // The audited mirror pod fails enforced rules: exit 1, as scan.
    expect(first.status, first.stderr).to.equal(1);
    const report = JSON.parse(first.stdout) as {
      results: { name: string; component: string | null; findings: { rule: string; status: string }[] }[];
    };
    const names = report.results.filter((r) => r.component !== null).map((r) => r.name);
    expect(names).to.include.members(['etcd-cp-1', 'kube-apiserver-cp-1', 'etcd-mirror-audited']);
    expect(report.results.find((r) => r.name === 'etcd-cp-1')?.findings.every((f) => f.status !== 'fail')).to.equal(true);
    expect(first.stderr).to.contain('wrote PolicyReport etcd-tls-guard (wgpolicyk8s.io/v1alpha2) in kube-system');

    const get = (): {
      metadata: { uid: string; resourceVersion: string };
      summary: { fail: number; pass: number };
      results: { rule: string; result: string; resources: { name: string }[] }[];
    } =>
      JSON.parse(ok(cp.kubectl(['get', 'policyreport', 'etcd-tls-guard', '-n', 'kube-system', '-o', 'json'])).stdout) as ReturnType<
        typeof get
      >;
    const pr1 = get();
    expect(pr1.summary.fail).to.be.greaterThan(0);
    expect(
      pr1.results.some((r) => r.rule === 'etcd-client-cert-auth' && r.result === 'fail' && r.resources[0]?.name === 'etcd-mirror-audited'),
    ).to.equal(true);

    // Fix the cluster (delete the failing pod): the same report object is rewritten without it.
    ok(cp.kubectl(['delete', 'pod', '-n', 'kube-system', 'etcd-mirror-audited', '--grace-period=0', '--force']));
    const second = audit();
    expect(second.status, second.stdout).to.equal(0);
    const pr2 = get();
    expect(pr2.metadata.uid).to.equal(pr1.metadata.uid);
    expect(pr2.metadata.resourceVersion).to.not.equal(pr1.metadata.resourceVersion);
    expect(pr2.summary.fail).to.equal(0);
  });

  it('etcd-tls-guard node checks the control plane’s own etcd and kube-apiserver processes and files', async () => {
    const r = spawnSync(process.execPath, [...(await nodeCommand([cp.pids.etcd, cp.pids.apiserver])), '--format', 'json'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as {
      results: { source: string; component: string; findings: { rule: string; status: string; message: string; evidence: string[] }[] }[];
    };
    const statuses = (component: string): Record<string, string> =>
      Object.fromEntries((report.results.find((x) => x.component === component)?.findings ?? []).map((f) => [f.rule, f.status]));
    expect(report.results.map((x) => x.source)).to.deep.equal([`/proc/${cp.pids.etcd}`, `/proc/${cp.pids.apiserver}`]);
    expect(statuses('etcd')).to.deep.include({
      'etcd-client-cert-auth': 'pass',
      'etcd-server-cert': 'pass',
      'etcd-unique-ca': 'pass',
      'etcd-data-dir-permissions': 'pass',
      'etcd-data-dir-ownership': 'pass',
      'etcd-pki-key-permissions': 'pass',
      'etcd-manifest-permissions': 'not-applicable',
      'etcd-running-matches-manifest': 'unknown',
      // Probed on the wire (the default): this etcd demands client certificates.
      'etcd-client-auth-observed': 'pass',
    });
    expect(statuses('kube-apiserver')).to.deep.include({
      'apiserver-etcd-cafile': 'pass',
      'apiserver-etcd-client-cert-valid': 'pass',
      'apiserver-pki-key-permissions': 'pass',
      // Its --etcd-servers, probed as a client with no certificate: refused.
      'apiserver-etcd-auth-observed': 'pass',
    });
    // The positive check: kube-apiserver's own client certificate is accepted there, and its
    // --etcd-cafile verifies that etcd's serving certificate for the URL's host.
    const observed = report.results
      .find((x) => x.component === 'kube-apiserver')
      ?.findings.find((f) => f.rule === 'apiserver-etcd-auth-observed');
    expect(observed?.message).to.equal(
      "every etcd server refused a client with no certificate and accepted kube-apiserver's client certificate",
    );
    expect(observed?.evidence[0]).to.match(
      /: accepted \(TLS handshake completed; GET \/version answered HTTP\/1\.1 200 OK\); its certificate is verified by --etcd-cafile /,
    );
  });

  it('the node agent writes its node’s ClusterPolicyReport to the API server and updates it in place', async () => {
    installReportCrds('wgpolicyk8s.io');
    await waitFor('the ClusterPolicyReport CRD', 15_000, () => Promise.resolve(cp.kubectl(['get', 'clusterpolicyreports']).status === 0));
    const agent = await startNodeAgent([cp.pids.etcd, cp.pids.apiserver]);
    const { exited } = agent;
    const log = (): string => agent.log();
    try {
      const checks = (): number =>
        log()
          .split('\n')
          .filter((l) => l.includes('node check done')).length;
      await waitFor('the first node check', 60_000, () => Promise.resolve(checks() >= 1));
      const get = (): {
        metadata: { uid: string; resourceVersion: string };
        scope: { kind: string; name: string };
        summary: { fail: number; pass: number };
        results: { rule: string; result: string; properties: Record<string, string> }[];
      } =>
        JSON.parse(ok(cp.kubectl(['get', 'clusterpolicyreport', `etcd-tls-guard-node-${NODE_NAME}`, '-o', 'json'])).stdout) as ReturnType<
          typeof get
        >;
      const first = get();
      expect(log()).to.not.contain('cannot write the node report');
      expect(first.scope).to.deep.include({ kind: 'Node', name: NODE_NAME });
      expect(first.summary.fail).to.equal(0);
      expect(
        first.results.some((x) => x.rule === 'etcd-server-cert' && x.result === 'pass' && x.properties.source === `/proc/${cp.pids.etcd}`),
      ).to.equal(true);
      // The next check (10 s later) rewrites the same object.
      await waitFor('the second node check', 60_000, () => Promise.resolve(checks() >= 2));
      const second = get();
      expect(second.metadata.uid).to.equal(first.metadata.uid);
      expect(second.metadata.resourceVersion).to.not.equal(first.metadata.resourceVersion);
      agent.kill('SIGTERM');
      expect(await exited).to.equal(0);
    } finally {
      agent.kill('SIGKILL');
    }
  });

  it('OpenReports: with openreports.io served, audit and the node agent write a Report and a ClusterReport (auto prefers it; --report-api picks)', async () => {
    installReportCrds('openreports.io');
    await waitFor('the Report API in discovery', 15_000, () =>
      Promise.resolve(cp.kubectl(['get', 'reports.openreports.io', '-n', 'kube-system']).status === 0),
    );
    const cli = (args: readonly string[], env: NodeJS.ProcessEnv = process.env): KubectlResult => {
      const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', env });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const audit = cli(['audit', '--kubeconfig', cp.kubeconfig, '--policy-report']);
    expect(audit.stderr).to.contain('wrote Report etcd-tls-guard (openreports.io/v1alpha1) in kube-system');
    const report = JSON.parse(
      ok(cp.kubectl(['get', 'reports.openreports.io', 'etcd-tls-guard', '-n', 'kube-system', '-o', 'json'])).stdout,
    ) as {
      summary: { pass: number };
      results: { source: string; rule: string; result: string; resources: { name: string }[] }[];
    };
    expect(report.summary.pass).to.be.greaterThan(0);
    expect(
      report.results.some(
        (r) => r.source === 'etcd-tls-guard' && r.rule === 'etcd-client-cert-auth' && r.resources[0]?.name === 'etcd-cp-1',
      ),
    ).to.equal(true);
    // Named explicitly, the other API is still written.
    expect(cli(['audit', '--kubeconfig', cp.kubeconfig, '--policy-report', '--report-api', 'wgpolicyk8s']).stderr).to.contain(
      'wrote PolicyReport etcd-tls-guard (wgpolicyk8s.io/v1alpha2) in kube-system',
    );

    const agent = await startNodeAgent([cp.pids.etcd]);
    const log = (): string => agent.log();
    try {
      await waitFor('the first node check', 60_000, () => Promise.resolve(log().includes('node check done')));
      expect(log()).to.not.contain('cannot write the node report');
      const clusterReport = JSON.parse(
        ok(cp.kubectl(['get', 'clusterreports.openreports.io', `etcd-tls-guard-node-${NODE_NAME}`, '-o', 'json'])).stdout,
      ) as { kind: string; scope: { kind: string; name: string }; results: { rule: string; result: string }[] };
      expect(clusterReport.kind).to.equal('ClusterReport');
      expect(clusterReport.scope).to.deep.include({ kind: 'Node', name: NODE_NAME });
      expect(clusterReport.results.some((r) => r.rule === 'etcd-server-cert' && r.result === 'pass')).to.equal(true);
    } finally {
      agent.kill('SIGKILL');
    }
  });

  it('the chart’s audit RBAC is enough for the audit and for PolicyReports, and grants nothing else', async () => {
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
        'audit.enabled=true',
        '--set',
        'audit.policyReport=true',
        '--show-only',
        'templates/rbac.yaml',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).to.equal(0);
    ok(cp.kubectl(['create', 'namespace', 'etcd-tls-guard']));
    ok(cp.kubectl(['create', 'serviceaccount', 'guard-etcd-tls-guard', '-n', 'etcd-tls-guard']));
    ok(cp.kubectl(['apply', '-f', '-'], { input: r.stdout }));
    const as = ['--as', 'system:serviceaccount:etcd-tls-guard:guard-etcd-tls-guard'];
    const can = (...args: string[]): string => cp.kubectl(['auth', 'can-i', ...args, ...as]).stdout.trim();
    expect(can('list', 'pods', '-n', 'kube-system')).to.equal('yes');
    expect(can('update', 'policyreports.wgpolicyk8s.io', '-n', 'kube-system')).to.equal('yes');
    expect(can('update', 'reports.openreports.io', '-n', 'kube-system')).to.equal('yes');
    expect(can('list', 'pods', '-n', 'default')).to.equal('no');
    expect(can('get', 'secrets', '-n', 'kube-system')).to.equal('no');
    expect(can('delete', 'pods', '-n', 'kube-system')).to.equal('no');
    // The audit itself, with the service account's own token.
    const kubeconfig = await serviceAccountKubeconfig(cp, 'etcd-tls-guard', 'guard-etcd-tls-guard');
    const audit = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'audit', '--kubeconfig', kubeconfig, '--policy-report'],
      { encoding: 'utf8' },
    );
    expect(audit.status, audit.stderr).to.equal(0);
    const denied = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'audit', '--kubeconfig', kubeconfig, '-n', 'default'],
      { encoding: 'utf8' },
    );
    expect(denied.status).to.equal(2);
    expect(denied.stderr).to.contain('cannot list pods in default: HTTP 403');
  });

  it('serve --audit-interval audits the running pods and exposes the findings on /metrics', async () => {
    const auditing = await startWebhook(cp, ['--audit-interval', '10'], { KUBECONFIG: cp.kubeconfig });
    try {
      await waitFor('the first audit pass', 20_000, () => Promise.resolve(auditing.log().includes('"msg":"audit of running pods done"')));
      const metrics = await httpGetText(auditing.metricsUrl);
      expect(metrics).to.match(/etcd_tls_guard_audit_findings\{namespace="kube-system",rule="etcd-client-cert-auth",status="pass"\} [1-9]/);
      expect(metrics).to.match(/etcd_tls_guard_audit_runs_total\{result="success"\} 1/);
    } finally {
      await auditing.stop();
    }
  });

  it('webhook down: failurePolicy Ignore admits unchecked, Fail rejects', async () => {
    await webhook.stop();
    const tryEtcd = (): KubectlResult =>
      cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: named(fixture('insecure/etcd-plaintext.yaml'), 'etcd-while-down') });

    ok(cp.kubectl(['apply', '-f', '-'], { input: webhookConfiguration(webhook.url, cp.pki.webhookCa.certPem, 'Ignore') }));
    await waitFor('failurePolicy Ignore to take effect', 15_000, () => Promise.resolve(tryEtcd().status === 0));
    expect(tryEtcd().stdout).to.contain('created (server dry run)');

    ok(cp.kubectl(['apply', '-f', '-'], { input: webhookConfiguration(webhook.url, cp.pki.webhookCa.certPem, 'Fail') }));
    await waitFor('failurePolicy Fail to take effect', 15_000, () => Promise.resolve(tryEtcd().status !== 0));
    const r = tryEtcd();
    expect(r.stderr).to.contain(`failed calling webhook "${WEBHOOK_NAME}"`);
    // Pods the webhook would never see are still created while it is down.
    ok(
      cp.kubectl(['create', '-f', '-'], {
        input: named(fixture('other/nginx.yaml'), 'web-while-down', (p) => ({
          ...p,
          metadata: { ...p.metadata, namespace: 'kube-system' },
        })),
      }),
    );
  });

  const helmCli = (...args: string[]): KubectlResult => {
    const r = spawnSync(HELM, [...args, '--kubeconfig', cp.kubeconfig, '--kube-context', 'admin'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(cp.dir, 'helm-cache'),
        HELM_CONFIG_HOME: join(cp.dir, 'helm-config'),
        HELM_DATA_HOME: join(cp.dir, 'helm-data'),
      },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  it('helm install, upgrade and uninstall against the API server (certificates.mode helm): the generated certificate and caBundle survive an upgrade', () => {
    const helm = helmCli;
    // Its own release name (the tests above applied the chart's webhook configuration as guard-…).
    // Scoped to a namespace with no pods and failurePolicy Ignore: there is no kubelet to run its pods here.
    const base = [
      '--namespace',
      'guard-system',
      '--set',
      'failurePolicy=Ignore',
      '--set',
      'webhook.namespaces={helm-e2e}',
      '--set',
      'certificates.mode=helm',
    ];
    const install = helm('install', 'release', CHART, '--create-namespace', ...base);
    expect(install.status, install.stderr).to.equal(0);
    expect(install.stdout).to.contain('kubectl apply --dry-run=server');
    const state = (): { secret: string; caBundle: string; policy: string } => ({
      secret: ok(cp.kubectl(['get', 'secret', 'release-etcd-tls-guard-tls', '-n', 'guard-system', '-o', 'jsonpath={.data.tls\\.crt}']))
        .stdout,
      caBundle: ok(
        cp.kubectl([
          'get',
          'validatingwebhookconfiguration',
          'release-etcd-tls-guard',
          '-o',
          'jsonpath={.webhooks[0].clientConfig.caBundle}',
        ]),
      ).stdout,
      policy: ok(
        cp.kubectl(['get', 'configmap', 'release-etcd-tls-guard-policy', '-n', 'guard-system', '-o', 'jsonpath={.data.policy\\.yaml}']),
      ).stdout,
    });
    const before = state();
    expect(before.secret).to.not.equal('');
    const upgrade = helm('upgrade', 'release', CHART, ...base, '--set', 'policy.defaultAction=warn');
    expect(upgrade.status, upgrade.stderr).to.equal(0);
    const after = state();
    expect(after.secret).to.equal(before.secret);
    expect(after.caBundle).to.equal(before.caBundle);
    expect(after.policy).to.contain('defaultAction: warn');
    expect(helm('uninstall', 'release', '--namespace', 'guard-system').status).to.equal(0);
    expect(cp.kubectl(['get', 'validatingwebhookconfiguration', 'release-etcd-tls-guard']).status).to.not.equal(0);
  });

  it('helm upgrade in the default managed mode leaves alone the caBundle the webhook wrote (Helm’s three-way merge)', () => {
    const base = ['--namespace', 'managed-system', '--set', 'failurePolicy=Ignore', '--set', 'webhook.namespaces={helm-e2e}'];
    const install = helmCli('install', 'managed', CHART, '--create-namespace', ...base);
    expect(install.status, install.stderr).to.equal(0);
    const caBundle = (): string =>
      ok(
        cp.kubectl([
          'get',
          'validatingwebhookconfiguration',
          'managed-etcd-tls-guard',
          '-o',
          'jsonpath={.webhooks[0].clientConfig.caBundle}',
        ]),
      ).stdout;
    expect(caBundle()).to.equal('');
    // What the webhook does at start (src/certs/managed.ts): an update of the whole object.
    const vwc = JSON.parse(ok(cp.kubectl(['get', 'validatingwebhookconfiguration', 'managed-etcd-tls-guard', '-o', 'json'])).stdout) as {
      webhooks: { clientConfig: { caBundle?: string } }[];
    };
    const injected = Buffer.from(cp.pki.webhookCa.certPem).toString('base64');
    for (const w of vwc.webhooks) w.clientConfig.caBundle = injected;
    ok(cp.kubectl(['replace', '-f', '-'], { input: JSON.stringify(vwc) }));
    const upgrade = helmCli('upgrade', 'managed', CHART, ...base, '--set', 'policy.defaultAction=warn');
    expect(upgrade.status, upgrade.stderr).to.equal(0);
    expect(caBundle()).to.equal(injected);
    expect(
      cp.kubectl(['get', 'secret', 'managed-etcd-tls-guard-tls', '-n', 'managed-system']).status,
      'the chart renders no Secret',
    ).to.not.equal(0);
    expect(helmCli('uninstall', 'managed', '--namespace', 'managed-system').status).to.equal(0);
  });
});
