/**
 * Managed certificates against a real kube-apiserver (the chart's default, certificates.mode
 * managed): replicas of `etcd-tls-guard serve` with only the chart's RBAC for them, behind a
 * readiness-aware balancer standing in for the Service (balancer.ts), called by the API server
 * through the chart's ValidatingWebhookConfiguration (failurePolicy Fail, no caBundle in the render).
 *
 * The measure of success is the API server's: while the certificate and the CA rotate, the Secret is
 * deleted and the replicas are replaced one by one, a loop of server-side dry-run creates (what
 * `kubectl create --dry-run=server` sends) gets the webhook's denial every time — not one
 * "failed calling webhook".
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from '../helm.js';
import { startBalancer, type Balancer } from './balancer.js';
import {
  httpGetText,
  ROOT,
  serviceAccountKubeconfig,
  startControlPlane,
  startWebhook,
  timed,
  waitFor,
  webhookConfiguration,
  type ControlPlane,
  type WebhookProcess,
  ok,
} from './cluster.js';

const CHART = join(ROOT, 'charts', 'etcd-tls-guard');
const NS = 'etcd-tls-guard';
const FULLNAME = 'guard-etcd-tls-guard';
const SECRET = `${FULLNAME}-tls`;
const KUBE_VERSION = '1.33.13';

/** The chart's objects of these templates, as `helm template` renders them in managed mode. */
function chartObjects(templates: readonly string[]): string {
  const r = spawnSync(
    helmBinary(),
    [
      'template',
      'guard',
      CHART,
      '--namespace',
      NS,
      '--kube-version',
      KUBE_VERSION,
      ...templates.flatMap((t) => ['--show-only', `templates/${t}`]),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`helm template: ${r.stderr}`);
  return r.stdout;
}

/** /readyz as the kubelet's probe asks it (no verification of the certificate). */
function readyz(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    request(`${url}/readyz`, { rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    })
      .on('error', reject)
      .end();
  });
}

interface Secret {
  metadata: { annotations?: Record<string, string>; uid: string };
  data: Record<string, string>;
}

/** The certificate a replica presents, verified against `caPem` for 127.0.0.1. */
function presented(url: string, caPem: string): Promise<X509Certificate> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port), ca: caPem }, () => {
      const cert = s.getPeerX509Certificate();
      s.destroy();
      if (cert === undefined) reject(new Error('no certificate'));
      else resolve(cert);
    });
    s.on('error', reject);
  });
}

/**
 * Server-side dry-run creates of a non-compliant etcd pod, one after another until stopped: each
 * must come back as the webhook's denial (HTTP 403 "denied the request"). Anything else — the API
 * server's "failed calling webhook" (x509, connection refused, EOF) — is a failure, kept with its message.
 */
const ETCD_POD = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'etcd-probe', namespace: 'kube-system' },
  spec: {
    containers: [{ name: 'etcd', image: 'registry.k8s.io/etcd:3.5.21-0', command: ['etcd', '--listen-client-urls=http://0.0.0.0:2379'] }],
  },
});

/** One server-side dry-run create of a non-compliant etcd pod: denied by the webhook, or what went wrong. */
function dryRunCreate(cp: ControlPlane, agent: Agent): Promise<{ denied: boolean; detail: string }> {
  return new Promise((resolve) => {
    const req = request(
      `${cp.apiserverUrl}/api/v1/namespaces/kube-system/pods?dryRun=All`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            denied: res.statusCode === 403 && text.includes('denied the request'),
            detail: `${res.statusCode}: ${text.slice(0, 300)}`,
          }),
        );
      },
    );
    req.on('error', (err) => resolve({ denied: false, detail: `request error: ${err.message}` }));
    req.end(ETCD_POD);
  });
}

/**
 * Dry-run creates one after another until stopped: each must come back as the webhook's denial
 * (HTTP 403 "denied the request"). Anything else — the API server's "failed calling webhook" (x509,
 * connection refused, EOF, deadline) — is a failure, kept with its message.
 */
function admissionLoop(cp: ControlPlane) {
  const agent = new Agent({ keepAlive: true, cert: cp.pki.admin.certPem, key: cp.pki.admin.keyPem, ca: cp.pki.ca.certPem });
  const failures: string[] = [];
  let calls = 0;
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const r = await dryRunCreate(cp, agent);
      calls += 1;
      if (!r.denied) failures.push(r.detail);
    }
  })();
  return {
    calls: () => calls,
    failures: () => failures,
    stop: async () => {
      stopped = true;
      await running;
      agent.destroy();
    },
  };
}

describe('end to end: managed certificates (the chart’s default) rotate under load with no failed admission call', function () {
  this.timeout(600_000);
  let cp: ControlPlane;
  let balancer: Balancer;
  let kubeconfig: string;
  const replicas: WebhookProcess[] = [];

  const secret = (): Secret | undefined => {
    const r = cp.kubectl(['get', 'secret', SECRET, '-n', NS, '-o', 'json']);
    return r.status === 0 ? (JSON.parse(r.stdout) as Secret) : undefined;
  };
  const pem = (s: Secret, key: string): string => Buffer.from(s.data[key] ?? '', 'base64').toString('utf8');
  const caBundle = (): string =>
    Buffer.from(
      ok(cp.kubectl(['get', 'validatingwebhookconfiguration', FULLNAME, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}'])).stdout,
      'base64',
    ).toString('utf8');
  const logs = (): string => replicas.map((r) => r.log()).join('\n');
  const count = (msg: string): number => (logs().match(new RegExp(`"msg":"${msg}"`, 'g')) ?? []).length;

  /** A replica in managed mode with lifetimes short enough to rotate during the test. */
  const replica = async (): Promise<WebhookProcess> => {
    const w = await startWebhook(
      cp,
      [
        '--certificate-secret',
        `${NS}/${SECRET}`,
        '--webhook-configuration',
        FULLNAME,
        '--certificate-hosts',
        '127.0.0.1',
        '--kubeconfig',
        kubeconfig,
        // A CA of 90 s renewed 60 s ahead (a CA rotation every 30 s); certificates of 40 s renewed
        // 25 s ahead; a replaced CA retired 5 s after the switch.
        '--ca-validity',
        '90s',
        '--ca-renew-before',
        '60s',
        '--certificate-validity',
        '40s',
        '--certificate-renew-before',
        '25s',
        '--ca-retire-after',
        '5s',
        '--shutdown-delay',
        '2',
      ],
      {},
      'managed',
    );
    replicas.push(w);
    balancer.add(w.url);
    return w;
  };

  before(async () => {
    cp = await startControlPlane();
    balancer = await startBalancer();
    await timed('namespace, the chart’s RBAC for managed certificates, a token', async () => {
      ok(cp.kubectl(['create', 'namespace', NS]));
      for (const ns of ['kube-system', NS]) ok(cp.kubectl(['create', 'serviceaccount', 'default', '-n', ns]));
      ok(cp.kubectl(['apply', '-f', '-'], { input: chartObjects(['serviceaccount.yaml', 'rbac-certificates.yaml']) }));
      kubeconfig = await serviceAccountKubeconfig(cp, NS, FULLNAME);
    });
  });

  after(async () => {
    for (const r of replicas) await r.stop();
    await balancer?.close();
    await cp?.stop();
  });

  it('the default render carries no certificate, and is the same bytes every time', () => {
    const render = (): string => chartObjects(['webhook.yaml', 'deployment.yaml']);
    expect(render()).to.equal(render());
    const vwc = parseAllDocuments(render())
      .map((d) => d.toJS() as { kind?: string; webhooks?: { clientConfig: { caBundle?: string } }[] })
      .find((o) => o.kind === 'ValidatingWebhookConfiguration');
    expect(vwc?.webhooks?.[0]?.clientConfig.caBundle).to.equal(undefined);
  });

  it('from nothing: two replicas started together agree on one Secret, put its CA in the caBundle, and only then become ready', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    // No webhook configuration yet: alive, not ready, and /readyz says why.
    await waitFor('a replica to say it waits for the webhook configuration', 30_000, async () => {
      const r = await readyz(a.url);
      return r.status === 503 && r.text.includes(`the ValidatingWebhookConfiguration ${FULLNAME} does not exist`);
    });
    expect(balancer.ready()).to.deep.equal([]);
    ok(cp.kubectl(['apply', '-f', '-'], { input: webhookConfiguration(balancer.url, undefined, 'Fail') }));
    await waitFor('both replicas to be ready', 60_000, () => Promise.resolve(balancer.ready().length === 2));

    const s = secret() as Secret;
    expect(caBundle()).to.equal(pem(s, 'ca-bundle.crt'));
    expect(count('staged a new CA'), 'exactly one replica created the Secret').to.equal(1);
    const served = await Promise.all([a, b].map((w) => presented(w.url, caBundle())));
    expect(served[0]?.serialNumber).to.equal(served[1]?.serialNumber);
    expect(served[0]?.serialNumber).to.equal(new X509Certificate(pem(s, 'tls.crt')).serialNumber);

    // Through the API (kubectl would block this process, which is the balancer, until it returns).
    const agent = new Agent({ cert: cp.pki.admin.certPem, key: cp.pki.admin.keyPem, ca: cp.pki.ca.certPem });
    await waitFor('the API server to call the webhook successfully', 30_000, async () => (await dryRunCreate(cp, agent)).denied);
    agent.destroy();
  });

  it('certificate and CA rotations, then a deleted Secret, under a loop of dry-run creates: 0 failed calls', async () => {
    const load = admissionLoop(cp);
    const firstCa = pem(secret() as Secret, 'ca.crt');
    try {
      await timed('managed certificates: a CA rotation under load', () =>
        waitFor('a new CA staged, served and the old one retired', 120_000, () =>
          Promise.resolve(
            count('staged a new CA') >= 2 && count('retired replaced CAs') >= 1 && pem(secret() as Secret, 'ca.crt') !== firstCa,
          ),
        ),
      );
      expect(
        count('wrote a new serving certificate'),
        'certificates renewed from the same CA and switched to the new one',
      ).to.be.greaterThan(1);
      const rotated = secret() as Secret;
      await waitFor('both replicas to serve the Secret’s certificate', 30_000, async () => {
        const serials = await Promise.all(
          replicas.map((w) =>
            presented(w.url, pem(rotated, 'ca-bundle.crt')).then(
              (c) => c.serialNumber,
              () => '',
            ),
          ),
        );
        const current = new X509Certificate(pem(secret() as Secret, 'tls.crt')).serialNumber;
        return serials.every((sn) => sn === current);
      });

      const before = secret() as Secret;
      ok(cp.kubectl(['delete', 'secret', SECRET, '-n', NS]));
      await timed('managed certificates: a deleted Secret under load', () =>
        waitFor('the Secret recreated with a new CA and served', 90_000, () => {
          const now = secret();
          if (now === undefined || now.metadata.uid === before.metadata.uid) return Promise.resolve(false);
          return Promise.resolve(now.metadata.annotations?.['etcd-tls-guard.io/ca-rotated-at'] !== undefined);
        }),
      );
    } finally {
      await load.stop();
      // Failed calls first: they say more than a rotation that did not finish.
      console.log(`      ${load.calls()} dry-run creates, ${load.failures().length} failed`);
      expect(load.failures(), load.failures().slice(0, 5).join('\n')).to.deep.equal([]);
    }
    expect(load.calls()).to.be.greaterThan(100);
  });

  it('a hand-edited caBundle is put back', async () => {
    const wanted = caBundle();
    const edited = ok(cp.kubectl(['get', 'validatingwebhookconfiguration', FULLNAME, '-o', 'json'])).stdout;
    const vwc = JSON.parse(edited) as { webhooks: { clientConfig: { caBundle?: string } }[] };
    for (const w of vwc.webhooks) w.clientConfig.caBundle = Buffer.from(cp.pki.ca.certPem).toString('base64');
    ok(cp.kubectl(['replace', '-f', '-'], { input: JSON.stringify(vwc) }));
    await waitFor('the caBundle restored', 30_000, () => Promise.resolve(caBundle() === pem(secret() as Secret, 'ca-bundle.crt')));
    expect(caBundle()).to.not.equal(Buffer.from(cp.pki.ca.certPem).toString('utf8'));
    expect(wanted.length).to.be.greaterThan(0);
  });

  it('an API error (its Secret’s RBAC taken away) is logged, counted and retried with backoff, and the work resumes when access returns', async () => {
    const binding = ok(cp.kubectl(['get', 'rolebinding', `${FULLNAME}-certificates`, '-n', NS, '-o', 'json'])).stdout;
    ok(cp.kubectl(['delete', 'rolebinding', `${FULLNAME}-certificates`, '-n', NS]));
    const failuresBefore = count('managing the certificates failed; retrying');
    // A hand edit makes every replica look at both objects again; the Secret is now forbidden to them.
    const vwc = JSON.parse(ok(cp.kubectl(['get', 'validatingwebhookconfiguration', FULLNAME, '-o', 'json'])).stdout) as {
      webhooks: { clientConfig: { caBundle?: string } }[];
    };
    for (const w of vwc.webhooks) w.clientConfig.caBundle = Buffer.from(cp.pki.ca.certPem).toString('base64');
    ok(cp.kubectl(['replace', '-f', '-'], { input: JSON.stringify(vwc) }));
    await waitFor('the failure logged and retried', 30_000, () =>
      Promise.resolve(count('managing the certificates failed; retrying') >= failuresBefore + 2),
    );
    expect(logs()).to.match(/"reason":"cannot read Secret etcd-tls-guard\/guard-etcd-tls-guard-tls: HTTP 403[^"]*"/);
    const metrics = await httpGetText((replicas[0] as WebhookProcess).metricsUrl);
    expect(metrics).to.match(/^etcd_tls_guard_certificate_syncs_total\{result="failure"\} [1-9]/m);

    const restored = JSON.parse(binding) as { metadata: Record<string, unknown> };
    restored.metadata = { name: `${FULLNAME}-certificates`, namespace: NS };
    ok(cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(restored) }));
    await waitFor('the caBundle restored once access returns', 90_000, () =>
      Promise.resolve(caBundle() === pem(secret() as Secret, 'ca-bundle.crt')),
    );
  });

  it('a rolling restart of every replica under the loop: 0 failed calls', async () => {
    const load = admissionLoop(cp);
    try {
      for (const old of [...replicas]) {
        // As a Deployment's rolling update: a new replica ready first, then an old one stopped
        // (SIGTERM: not ready, the shutdown delay, drain).
        const fresh = await replica();
        await waitFor('the new replica to be ready', 60_000, () => Promise.resolve(balancer.ready().includes(fresh.url)));
        await old.stop();
        balancer.remove(old.url);
        replicas.splice(replicas.indexOf(old), 1);
      }
      // The loop keeps going against the new replicas alone for a moment.
      const after = load.calls();
      await waitFor('more calls against the new replicas', 30_000, () => Promise.resolve(load.calls() > after + 20));
    } finally {
      await load.stop();
      console.log(`      ${load.calls()} dry-run creates, ${load.failures().length} failed`);
    }
    expect(load.failures(), load.failures().slice(0, 5).join('\n')).to.deep.equal([]);
  });
});
