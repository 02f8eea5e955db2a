/**
 * Real cert-manager for the chart's certManager mode: cert-manager's own CRDs (from its module),
 * `helm install` against them, and issuance by cert-manager's own controllers and CA injector
 * (test/e2e/cert-manager/main.go: the packages of github.com/cert-manager/cert-manager, wired as its
 * binaries wire them). Then: the Secret carries the Service names, the injected caBundle verifies
 * the serving certificate for the Service DNS name, and a renewal reaches the running webhook
 * without a restart while the caBundle stays valid.
 */
import { expect } from 'chai';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { helmBinary } from '../helm.js';
import {
  ROOT,
  startControlPlane,
  startWebhook,
  timed,
  waitFor,
  type ControlPlane,
  type KubectlResult,
  type WebhookProcess,
  ok,
} from './cluster.js';

const CHART = join(ROOT, 'charts', 'etcd-tls-guard');
const NS = 'etcd-tls-guard';
const RELEASE = 'guard';
const FULLNAME = 'guard-etcd-tls-guard';
const SERVICE_DNS = `${FULLNAME}.${NS}.svc`;

/** The serial of the certificate a TLS server presents, verified against `ca` for `servername`. */
function servedSerial(url: string, ca: string, servername: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port), ca, servername }, () => {
      const serial = s.getPeerX509Certificate()?.serialNumber ?? '';
      s.destroy();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

interface Secret {
  metadata: { annotations?: Record<string, string> };
  data: Record<string, string>;
}

describe('end to end: real cert-manager issues the webhook’s certificate (certificates.mode certManager)', function () {
  this.timeout(600_000);
  let cp: ControlPlane;
  let certManager: ChildProcess | undefined;
  let cmLog = '';
  let webhook: WebhookProcess | undefined;
  const helm = (...args: string[]): KubectlResult => {
    const r = spawnSync(helmBinary(), [...args, '--kubeconfig', cp.kubeconfig, '--kube-context', 'admin'], {
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
  const secret = (): Secret | undefined => {
    const r = cp.kubectl(['get', 'secret', `${FULLNAME}-tls`, '-n', NS, '-o', 'json']);
    return r.status === 0 ? (JSON.parse(r.stdout) as Secret) : undefined;
  };
  const b64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

  before(async () => {
    cp = await startControlPlane();
    const bin = await timed('cert-manager controllers (build or cache)', () =>
      execFileSync('bash', [join(ROOT, 'test', 'e2e', 'cert-manager', 'build.sh')], { encoding: 'utf8' }).trim(),
    );
    await timed("cert-manager's CRDs", () => {
      // create, not apply: the CRDs are larger than apply's last-applied annotation allows.
      ok(cp.kubectl(['create', '-f', `${bin}-crds`]));
      ok(
        cp.kubectl([
          'wait',
          '--for',
          'condition=established',
          '--timeout',
          '60s',
          'crd/certificates.cert-manager.io',
          'crd/issuers.cert-manager.io',
          'crd/certificaterequests.cert-manager.io',
        ]),
      );
    });
    certManager = spawn(bin, ['--kubeconfig', cp.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    certManager.stdout?.on('data', (d: Buffer) => (cmLog += d.toString()));
    certManager.stderr?.on('data', (d: Buffer) => (cmLog = (cmLog + d.toString()).slice(-20_000)));
    await waitFor('cert-manager controllers to start', 60_000, () => {
      if (certManager?.exitCode !== null) throw new Error(`cert-manager-e2e exited: ${cmLog}`);
      return Promise.resolve(cmLog.includes('controllers and cainjector running'));
    });
  });

  after(async () => {
    await webhook?.stop();
    certManager?.kill('SIGTERM');
    await cp?.stop();
  });

  it('helm install with certificates.mode=certManager: cert-manager’s own CRD schemas accept every object the chart renders', () => {
    // No kubelet runs the Deployment here; failurePolicy Ignore and a namespace of its own keep the
    // webhook configuration from touching the control plane's pods.
    const install = helm(
      'install',
      RELEASE,
      CHART,
      '--namespace',
      NS,
      '--create-namespace',
      '--set',
      'certificates.mode=certManager',
      '--set',
      'failurePolicy=Ignore',
      '--set',
      'webhook.namespaces={cm-e2e}',
    );
    expect(install.status, install.stderr).to.equal(0);
    const kinds = ok(
      cp.kubectl(['get', 'issuers,certificates', '-n', NS, '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name} {end}']),
    )
      .stdout.trim()
      .split(' ')
      .sort();
    expect(kinds).to.deep.equal([
      `Certificate/${FULLNAME}-ca`,
      `Certificate/${FULLNAME}-tls`,
      `Issuer/${FULLNAME}-ca`,
      `Issuer/${FULLNAME}-selfsigned`,
    ]);
  });

  /** What cert-manager did, for a failure's message. */
  const state = (): string =>
    `${cp.kubectl(['get', 'issuers,certificates,certificaterequests,secrets', '-n', NS, '-o', 'wide']).stdout}\n${cp.kubectl(['get', 'certificates', '-n', NS, '-o', 'jsonpath={range .items[*]}{.metadata.name}: {.status.conditions}{"\\n"}{end}']).stdout}\ncert-manager log (tail):\n${cmLog.slice(-4000)}`;

  it('cert-manager issues the serving Secret: ca.crt, tls.crt and tls.key, for the Service names', async () => {
    await waitFor('the serving certificate to be issued', 120_000, () => Promise.resolve(b64(secret()?.data['tls.crt']) !== '')).catch(
      (e: Error) => {
        throw new Error(`${e.message}\n${state()}`);
      },
    );
    const s = secret() as Secret;
    expect(Object.keys(s.data).sort()).to.deep.equal(['ca.crt', 'tls.crt', 'tls.key']);
    expect(s.metadata.annotations?.['cert-manager.io/certificate-name']).to.equal(`${FULLNAME}-tls`);
    expect(s.metadata.annotations?.['cert-manager.io/issuer-name']).to.equal(`${FULLNAME}-ca`);
    const leaf = new X509Certificate(b64(s.data['tls.crt']));
    expect(leaf.subjectAltName).to.contain(`DNS:${SERVICE_DNS}`).and.contain(`DNS:${SERVICE_DNS}.cluster.local`);
    expect(leaf.verify(new X509Certificate(b64(s.data['ca.crt'])).publicKey)).to.equal(true);
    await waitFor('the Certificate to be Ready', 60_000, () =>
      Promise.resolve(
        cp.kubectl(['get', 'certificate', `${FULLNAME}-tls`, '-n', NS, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])
          .stdout === 'True',
      ),
    );
  });

  it('the CA injector fills the caBundle, which verifies the serving certificate for the Service DNS name', async () => {
    const caBundle = (): string =>
      b64(cp.kubectl(['get', 'validatingwebhookconfiguration', FULLNAME, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']).stdout);
    await waitFor('cainjector to inject the CA', 60_000, () => Promise.resolve(caBundle() !== '')).catch((e: Error) => {
      throw new Error(
        `${e.message}\n${cp.kubectl(['get', 'validatingwebhookconfiguration', FULLNAME, '-o', 'yaml']).stdout.slice(0, 1500)}\n${state()}`,
      );
    });
    const s = secret() as Secret;
    expect(caBundle()).to.equal(b64(s.data['ca.crt']));
    const leaf = new X509Certificate(b64(s.data['tls.crt']));
    expect(leaf.checkHost(SERVICE_DNS)).to.equal(SERVICE_DNS);
    expect(leaf.verify(new X509Certificate(caBundle()).publicKey)).to.equal(true);
  });

  it('a renewal reaches the running webhook without a restart, and the caBundle still verifies it', async () => {
    // The Secret as the kubelet projects it into a volume: files behind a ..data symlink swapped at once.
    const dir = join(cp.dir, 'projected-tls');
    let generation = 0;
    const project = async (s: Secret): Promise<void> => {
      const gen = join(dir, `..gen${++generation}`);
      await mkdir(gen, { recursive: true });
      await writeFile(join(gen, 'tls.crt'), b64(s.data['tls.crt']));
      await writeFile(join(gen, 'tls.key'), b64(s.data['tls.key']), { mode: 0o600 });
      await symlink(`..gen${generation}`, join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      if (generation === 1) for (const f of ['tls.crt', 'tls.key']) await symlink(join('..data', f), join(dir, f));
    };
    const first = secret() as Secret;
    await project(first);
    webhook = await startWebhook(cp, ['--tls-cert-file', join(dir, 'tls.crt'), '--tls-key-file', join(dir, 'tls.key')]);
    const caBundle = b64(
      cp.kubectl(['get', 'validatingwebhookconfiguration', FULLNAME, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']).stdout,
    );
    const firstSerial = new X509Certificate(b64(first.data['tls.crt'])).serialNumber;
    expect(await servedSerial(webhook.url, caBundle, SERVICE_DNS)).to.equal(firstSerial);

    // What `cmctl renew` does: the Issuing condition, set on the status subresource.
    const issuing = {
      status: {
        conditions: [
          {
            type: 'Issuing',
            status: 'True',
            reason: 'ManuallyTriggered',
            message: 'renewal requested by the e2e',
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    };
    ok(
      cp.kubectl([
        'patch',
        'certificate',
        `${FULLNAME}-tls`,
        '-n',
        NS,
        '--subresource',
        'status',
        '--type',
        'merge',
        '-p',
        JSON.stringify(issuing),
      ]),
    );
    await waitFor('cert-manager to renew the Secret', 120_000, () =>
      Promise.resolve(b64(secret()?.data['tls.crt']) !== b64(first.data['tls.crt'])),
    );
    const renewed = secret() as Secret;
    const renewedSerial = new X509Certificate(b64(renewed.data['tls.crt'])).serialNumber;
    expect(renewedSerial).to.not.equal(firstSerial);
    // rotationPolicy Always: a new key too.
    expect(b64(renewed.data['tls.key'])).to.not.equal(b64(first.data['tls.key']));
    expect(b64(renewed.data['ca.crt'])).to.equal(caBundle);

    await project(renewed);
    await waitFor(
      'the webhook to serve the renewed certificate',
      30_000,
      async () => (await servedSerial(webhook?.url ?? '', caBundle, SERVICE_DNS).catch(() => '')) === renewedSerial,
    );
    expect(webhook.log()).to.not.contain('refused the changed certificate files');
  });
});
