import { rmSync } from 'node:fs';
/**
 * `etcd-tls-guard node` on real files: a host root in a temporary directory (test/node-host.ts) with a
 * kubeadm-like PKI made by node-forge, an RKE2 layout with an etcd config file, an OpenShift 4
 * kube-apiserver whose etcd settings live in a KubeAPIServerConfig. One table for the node rules:
 * each has a pass and a fail case here.
 */
import { expect } from 'chai';
import { generateCa, issueCertificate } from '../../src/certs/authority.js';
import { checkNode, nodeReport, staticPodDirs } from '../../src/node/check.js';
import { HostRoot } from '../../src/node/host.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import type { ReportFinding, ReportRow } from '../../src/report/report.js';
import { RULES } from '../../src/rules/rules.js';
import { HostDir, kubeadmNode, NODE_IP, type KubeadmPki } from '../node-host.js';

const DAY = 86_400_000;
const THIRTY_DAYS = 30 * DAY;

function check(host: HostDir, extra: { manifestDirs?: string[] } = {}): ReturnType<typeof checkNode> {
  return checkNode({
    root: host.root,
    procDir: host.path('proc'),
    policy: DEFAULT_POLICY,
    now: Date.now(),
    expiryWarningMs: THIRTY_DAYS,
    ...extra,
  });
}

function findingOf(rows: readonly ReportRow[], component: 'etcd' | 'kube-apiserver', rule: string): ReportFinding {
  const row = rows.find((r) => r.component === component);
  const f = row?.findings.find((x) => x.rule === rule);
  if (f === undefined) throw new Error(`no ${rule} finding for ${component}: ${JSON.stringify(rows.map((r) => r.component))}`);
  return f;
}

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly component?: 'etcd' | 'kube-apiserver';
  /** What differs from the kubeadm node. */
  readonly change?: (host: HostDir, pki: KubeadmPki) => void;
  readonly status: ReportFinding['status'];
  readonly message?: RegExp;
  readonly warning?: RegExp;
}

const SERVER = 'etc/kubernetes/pki/etcd/server';
const SANS = ['cp-1', 'localhost', NODE_IP, '127.0.0.1'];
const past = (days: number): Date => new Date(Date.now() - days * DAY);

const CASES: Case[] = [
  // etcd-server-cert
  {
    name: "kubeadm's serving certificate passes",
    rule: 'etcd-server-cert',
    status: 'pass',
    message: /valid until .* matches its key, is signed by its CA and covers its URLs/,
  },
  {
    name: 'an expired certificate fails with its date',
    rule: 'etcd-server-cert',
    change: (h, p) => h.pair(SERVER, issueCertificate(p.etcdCa, { sans: SANS, usage: 'both', now: past(400), days: 365 })),
    status: 'fail',
    message: /expired on \d{4}-\d\d-\d\dT/,
  },
  {
    name: 'a not-yet-valid certificate fails',
    rule: 'etcd-server-cert',
    change: (h, p) => h.pair(SERVER, issueCertificate(p.etcdCa, { sans: SANS, usage: 'both', now: new Date(Date.now() + 10 * DAY) })),
    status: 'fail',
    message: /not valid before/,
  },
  {
    name: 'a key that is not the certificate’s fails',
    rule: 'etcd-server-cert',
    change: (h, p) => h.write(`${SERVER}.key`, issueCertificate(p.etcdCa, { sans: SANS }).keyPem),
    status: 'fail',
    message: /the key \/etc\/kubernetes\/pki\/etcd\/server.key is not the key of this certificate/,
  },
  {
    name: 'a certificate of another CA fails',
    rule: 'etcd-server-cert',
    change: (h) => h.pair(SERVER, issueCertificate(generateCa(), { sans: SANS, usage: 'both' })),
    status: 'fail',
    message: /not signed by --trusted-ca-file \/etc\/kubernetes\/pki\/etcd\/ca.crt/,
  },
  {
    name: 'a SAN list without the advertised IP fails',
    rule: 'etcd-server-cert',
    change: (h, p) => h.pair(SERVER, issueCertificate(p.etcdCa, { sans: ['cp-1', 'localhost'], usage: 'both' })),
    status: 'fail',
    message: /do not cover 10.0.0.11 \(--advertise-client-urls\)/,
  },
  {
    name: 'a clientAuth-only certificate cannot serve',
    rule: 'etcd-server-cert',
    change: (h, p) => h.pair(SERVER, issueCertificate(p.etcdCa, { sans: SANS, usage: 'client' })),
    status: 'fail',
    message: /does not allow serverAuth/,
  },
  {
    name: 'expiring within --expiry-warning passes with a warning and the date',
    rule: 'etcd-server-cert',
    change: (h, p) => h.pair(SERVER, issueCertificate(p.etcdCa, { sans: SANS, usage: 'both', days: 10 })),
    status: 'pass',
    warning: /expires on \d{4}-.*\(in (9|10) days\)/,
  },
  {
    name: 'a missing certificate file fails',
    rule: 'etcd-server-cert',
    change: (h) => h.write(`${SERVER}.crt`, 'not a certificate', 0o644),
    status: 'fail',
    message: /no PEM certificate/,
  },
  {
    name: 'a symlink pointing outside the host root is not followed out',
    rule: 'etcd-server-cert',
    // ../ past the root and absolute targets both resolve under the root, where nothing is.
    change: (h) => h.link(`${SERVER}.crt`, '../../../../../../../../../../../etc/ssl/certs/ca-certificates.crt'),
    status: 'fail',
    message: /no such file on the node/,
  },
  // etcd-peer-cert
  { name: 'a multi-member peer certificate passes', rule: 'etcd-peer-cert', change: multiMember, status: 'pass' },
  {
    name: 'a peer certificate without clientAuth fails (peers are clients too)',
    rule: 'etcd-peer-cert',
    change: (h, p) => {
      multiMember(h);
      h.pair('etc/kubernetes/pki/etcd/peer', issueCertificate(p.etcdCa, { sans: SANS, usage: 'server' }));
    },
    status: 'fail',
    message: /does not allow clientAuth/,
  },
  { name: 'a single member has no peer traffic', rule: 'etcd-peer-cert', status: 'not-applicable' },
  // etcd-unique-ca (CIS 2.7)
  { name: "kubeadm's separate etcd CA passes", rule: 'etcd-unique-ca', status: 'pass' },
  {
    name: 'the cluster CA copied to etcd/ca.crt fails (compared by content)',
    rule: 'etcd-unique-ca',
    change: (h, p) => h.pair('etc/kubernetes/pki/etcd/ca', p.clusterCa),
    status: 'fail',
    message: /holds the same CA certificate as kube-apiserver's --client-ca-file/,
  },
  {
    name: 'without kube-apiserver on the node it cannot be compared',
    rule: 'etcd-unique-ca',
    change: (h) => h.write('etc/kubernetes/manifests/kube-apiserver.yaml', '# moved away\n'),
    status: 'unknown',
    message: /kube-apiserver does not run on this node/,
  },
  // apiserver-etcd-client-cert-valid
  {
    name: "kubeadm's etcd client certificate passes",
    rule: 'apiserver-etcd-client-cert-valid',
    component: 'kube-apiserver',
    status: 'pass',
  },
  {
    name: 'a client certificate etcd does not trust fails',
    rule: 'apiserver-etcd-client-cert-valid',
    component: 'kube-apiserver',
    change: (h, p) =>
      h.pair(
        'etc/kubernetes/pki/apiserver-etcd-client',
        issueCertificate(p.clusterCa, { sans: [], commonName: 'kube-apiserver-etcd-client', usage: 'client' }),
      ),
    status: 'fail',
    message: /not signed by the CA etcd trusts/,
  },
  {
    name: 'a serverAuth-only client certificate fails',
    rule: 'apiserver-etcd-client-cert-valid',
    component: 'kube-apiserver',
    change: (h, p) => h.pair('etc/kubernetes/pki/apiserver-etcd-client', issueCertificate(p.etcdCa, { sans: ['x'], usage: 'server' })),
    status: 'fail',
    message: /does not allow clientAuth/,
  },
  {
    name: "an --etcd-cafile that does not verify etcd's serving certificate fails",
    rule: 'apiserver-etcd-client-cert-valid',
    component: 'kube-apiserver',
    change: (h, p) => h.pair(SERVER, issueCertificate(generateCa(), { sans: SANS, usage: 'both' })) ?? p,
    status: 'fail',
    message: /--etcd-cafile \/etc\/kubernetes\/pki\/etcd\/ca.crt does not verify etcd's serving certificate/,
  },
  // manifests (CIS 1.1.1/1.1.2, 1.1.7/1.1.8)
  { name: 'a 600 root manifest passes', rule: 'etcd-manifest-permissions', status: 'pass' },
  {
    name: 'a 644 manifest fails',
    rule: 'etcd-manifest-permissions',
    change: (h) => h.write('etc/kubernetes/manifests/etcd.yaml', h.fixture('kubeadm/etcd.yaml'), 0o644),
    status: 'fail',
    message: /mode 644 is more permissive than 600/,
  },
  { name: 'a 600 kube-apiserver manifest passes', rule: 'apiserver-manifest-permissions', component: 'kube-apiserver', status: 'pass' },
  {
    name: 'a 664 kube-apiserver manifest fails',
    rule: 'apiserver-manifest-permissions',
    component: 'kube-apiserver',
    change: (h) => h.write('etc/kubernetes/manifests/kube-apiserver.yaml', h.fixture('kubeadm/kube-apiserver.yaml'), 0o664),
    status: 'fail',
  },
  { name: 'a root-owned manifest passes', rule: 'etcd-manifest-ownership', status: 'pass' },
  {
    name: 'a manifest owned by another user fails',
    rule: 'etcd-manifest-ownership',
    change: (h) => chownPath(h, 'etc/kubernetes/manifests/etcd.yaml', 998),
    status: 'fail',
    message: /owned by etcd:etcd, not root:root/,
  },
  {
    name: 'a root-owned kube-apiserver manifest passes',
    rule: 'apiserver-manifest-ownership',
    component: 'kube-apiserver',
    status: 'pass',
  },
  {
    name: 'a kube-apiserver manifest owned by uid 1000 fails',
    rule: 'apiserver-manifest-ownership',
    component: 'kube-apiserver',
    change: (h) => chownPath(h, 'etc/kubernetes/manifests/kube-apiserver.yaml', 1000),
    status: 'fail',
    message: /owned by 1000:1000/,
  },
  // data directory (CIS 1.1.11/1.1.12)
  { name: 'a 700 data directory passes', rule: 'etcd-data-dir-permissions', status: 'pass' },
  {
    name: 'a 755 data directory fails',
    rule: 'etcd-data-dir-permissions',
    change: (h) => h.dir('var/lib/etcd', 0o755),
    status: 'fail',
    message: /mode 755 is more permissive than 700/,
  },
  {
    name: 'an etcd-owned data directory passes (no process: the etcd account)',
    rule: 'etcd-data-dir-ownership',
    change: (h) => chownPath(h, 'var/lib/etcd', 998),
    status: 'pass',
  },
  {
    name: 'a root-owned data directory, with etcd not visible, fails as CIS reads it',
    rule: 'etcd-data-dir-ownership',
    status: 'fail',
    message: /not etcd:etcd/,
  },
  // PKI files (CIS 1.1.19–1.1.21)
  { name: 'root-owned PKI passes', rule: 'etcd-pki-ownership', status: 'pass' },
  {
    name: 'a key owned by etcd fails',
    rule: 'etcd-pki-ownership',
    change: (h) => chownPath(h, `${SERVER}.key`, 998),
    status: 'fail',
    message: /server.key: owned by etcd:etcd/,
  },
  { name: '644 certificates pass', rule: 'etcd-pki-cert-permissions', status: 'pass' },
  {
    name: 'a 666 certificate fails',
    rule: 'etcd-pki-cert-permissions',
    change: (h) => chmodPath(h, `${SERVER}.crt`, 0o666),
    status: 'fail',
  },
  { name: '600 keys pass', rule: 'etcd-pki-key-permissions', status: 'pass' },
  {
    name: 'a 644 key fails',
    rule: 'etcd-pki-key-permissions',
    change: (h) => chmodPath(h, `${SERVER}.key`, 0o644),
    status: 'fail',
    message: /server.key: mode 644 is more permissive than 600/,
  },
  { name: "kube-apiserver's root-owned PKI passes", rule: 'apiserver-pki-ownership', component: 'kube-apiserver', status: 'pass' },
  {
    name: 'a kube-apiserver PKI directory owned by uid 1000 fails',
    rule: 'apiserver-pki-ownership',
    component: 'kube-apiserver',
    change: (h) => chownPath(h, 'etc/kubernetes/pki', 1000),
    status: 'fail',
    message: /\/etc\/kubernetes\/pki: owned by 1000/,
  },
  { name: "kube-apiserver's 644 certificates pass", rule: 'apiserver-pki-cert-permissions', component: 'kube-apiserver', status: 'pass' },
  {
    name: 'a 646 cluster CA fails',
    rule: 'apiserver-pki-cert-permissions',
    component: 'kube-apiserver',
    change: (h) => chmodPath(h, 'etc/kubernetes/pki/ca.crt', 0o646),
    status: 'fail',
  },
  { name: "kube-apiserver's 600 keys pass", rule: 'apiserver-pki-key-permissions', component: 'kube-apiserver', status: 'pass' },
  {
    name: 'a 640 apiserver key fails',
    rule: 'apiserver-pki-key-permissions',
    component: 'kube-apiserver',
    change: (h) => chmodPath(h, 'etc/kubernetes/pki/apiserver.key', 0o640),
    status: 'fail',
  },
  // drift: manifests are not processes
  { name: 'a manifest is what processes are compared with', rule: 'etcd-running-matches-manifest', status: 'not-applicable' },
  {
    name: 'a kube-apiserver manifest is what processes are compared with',
    rule: 'apiserver-running-matches-manifest',
    component: 'kube-apiserver',
    status: 'not-applicable',
  },
];

/** Three members: the peer rules apply. */
function multiMember(h: HostDir): void {
  h.write(
    'etc/kubernetes/manifests/etcd.yaml',
    h
      .fixture('kubeadm/etcd.yaml')
      .replace(
        '--initial-cluster=cp-1=https://10.0.0.11:2380',
        '--initial-cluster=cp-1=https://10.0.0.11:2380,cp-2=https://10.0.0.12:2380,cp-3=https://10.0.0.13:2380',
      ),
  );
}

import { chmodSync, chownSync } from 'node:fs';
function chownPath(h: HostDir, p: string, uid: number): void {
  chownSync(h.path(p), uid, uid);
}
function chmodPath(h: HostDir, p: string, mode: number): void {
  chmodSync(h.path(p), mode);
}

describe('etcd-tls-guard node: the node rules on a kubeadm-like node', function () {
  this.timeout(60_000);
  const isRoot = process.getuid?.() === 0;

  for (const c of CASES) {
    it(`${c.rule}: ${c.name} → ${c.status}`, function () {
      if (!isRoot && /chown|owned/.test(c.name)) this.skip();
      const { host, pki } = kubeadmNode();
      try {
        c.change?.(host, pki);
        const result = check(host);
        expect(result.errors).to.deep.equal([]);
        const f = findingOf(result.rows, c.component ?? 'etcd', c.rule);
        expect(f.status, f.message).to.equal(c.status);
        if (c.message !== undefined) expect(f.message).to.match(c.message);
        if (c.warning !== undefined) expect(f.warning).to.match(c.warning);
        else if (c.status === 'pass') expect(f.warning).to.equal(undefined);
      } finally {
        host.remove();
      }
    });
  }

  // Drift needs a process and its manifest (node-process.test.ts); the observed rules need something
  // listening (node-probe.test.ts: pass and fail on real etcd, and the judgement's own table).
  it('every node rule has a pass and a fail case in this table', () => {
    for (const rule of RULES.filter(
      (r) => r.scope === 'node' && !r.id.endsWith('running-matches-manifest') && !r.id.endsWith('-observed'),
    )) {
      const statuses = new Set(CASES.filter((c) => c.rule === rule.id).map((c) => c.status));
      expect([...statuses], rule.id).to.include.members(['pass', 'fail']);
    }
  });

  it('a running kubelet says where its static pods are: --pod-manifest-path beats --config’s staticPodPath, flags read as pflag reads them', () => {
    const host = new HostDir();
    try {
      host.write('etc/kubelet/config.yaml', 'kind: KubeletConfiguration\nstaticPodPath: /etc/from-config\n', 0o644);
      host.write('etc/other/config.yaml', 'kind: KubeletConfiguration\nstaticPodPath: /etc/from-other-config\n', 0o644);
      const dirs = (argv: string[]): string[] =>
        staticPodDirs(new HostRoot(host.root), [{ pid: 7, argv: ['/usr/bin/kubelet', ...argv], env: new Map() }]).map((d) => d.path);
      expect(dirs(['--config=/etc/kubelet/config.yaml'])).to.deep.equal(['/etc/from-config']);
      // The separate form, other flags before it (unknown to our tables, read by their arity), the last occurrence.
      expect(dirs(['--v', '2', '--node-ip', '10.0.0.1', '--config', '/etc/other/config.yaml'])).to.deep.equal(['/etc/from-other-config']);
      expect(dirs(['--config=/etc/kubelet/config.yaml', '--config=/etc/other/config.yaml'])).to.deep.equal(['/etc/from-other-config']);
      expect(dirs(['--config=/etc/kubelet/config.yaml', '--pod-manifest-path=/etc/flag-dir'])).to.deep.equal(['/etc/flag-dir']);
      // pflag: a single dash is a shorthand, so `-config` is not --config (nothing found by the kubelet's flags).
      expect(dirs(['-config=/etc/kubelet/config.yaml'])).to.deep.equal([]);
      // `_` reads as `-`, as kube-apiserver's and the kubelet's normalisation do.
      expect(dirs(['--pod_manifest_path=/etc/underscored'])).to.deep.equal(['/etc/underscored']);
    } finally {
      host.remove();
    }
  });

  it('finds the manifests through /var/lib/kubelet/config.yaml staticPodPath', () => {
    const { host } = kubeadmNode();
    try {
      host.write('etc/kubelet-static/etcd.yaml', host.fixture('kubeadm/etcd.yaml'));
      host.write(
        'var/lib/kubelet/config.yaml',
        'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /etc/kubelet-static\n',
        0o644,
      );
      const result = check(host);
      expect(result.manifestDirs).to.deep.equal([{ path: '/etc/kubelet-static', from: '/var/lib/kubelet/config.yaml staticPodPath' }]);
      expect(result.rows.map((r) => r.source)).to.deep.equal(['/etc/kubelet-static/etcd.yaml']);
    } finally {
      host.remove();
    }
  });

  it('a symlinked manifest directory that points outside the root stays inside it', () => {
    const { host } = kubeadmNode();
    try {
      const outside = new HostDir();
      outside.write('manifests/etcd.yaml', outside.fixture('insecure/etcd-plaintext.yaml'));
      host.link('etc/kubernetes/manifests', `${outside.root}/manifests`);
      // Absolute target: re-rooted under the host root, where there is no such directory.
      const result = check(host, { manifestDirs: ['/etc/kubernetes/manifests'] });
      expect(result.rows).to.deep.equal([]);
      expect(result.errors.map((e) => e.message)).to.deep.equal(['no such file on the node']);
      outside.remove();
    } finally {
      host.remove();
    }
  });

  it('a static pod directory of thousands of files is read only up to 1,000, and says so', () => {
    const host = new HostDir();
    try {
      for (let i = 0; i < 1_001; i++) host.write(`etc/kubernetes/manifests/f${String(i).padStart(4, '0')}.yaml`, '# nothing\n');
      const result = check(host);
      expect(result.errors.map((e) => e.message)).to.deep.equal(['1001 files: only the first 1000 are read']);
    } finally {
      host.remove();
    }
  });

  it('a missing key file is reported as missing, never as a chmod or chown to make', () => {
    const { host } = kubeadmNode();
    try {
      rmSync(host.path('etc/kubernetes/pki/etcd/server.key'));
      const report = nodeReport(check(host));
      for (const rule of ['etcd-pki-key-permissions', 'etcd-pki-ownership']) {
        const f = findingOf(report.results, 'etcd', rule);
        expect(f.status, rule).to.equal('unknown');
        expect(f.message, rule).to.match(
          /^missing on the node: \/etc\/kubernetes\/pki\/etcd\/server\.key: .*\(no mode or owner to check\)$/,
        );
      }
      // The certificate rule says what the missing key breaks.
      expect(findingOf(report.results, 'etcd', 'etcd-server-cert').status).to.equal('fail');
    } finally {
      host.remove();
    }
  });

  it('the report has scan’s shape, with file, subject and notAfter on certificate findings', () => {
    const { host } = kubeadmNode();
    try {
      const report = nodeReport(check(host));
      expect(report.summary).to.deep.include({ documents: 2, checked: 2 });
      const f = findingOf(report.results, 'etcd', 'etcd-server-cert');
      expect(f.file).to.equal('/etc/kubernetes/pki/etcd/server.crt');
      expect(f.subject).to.equal('CN=cp-1');
      expect(Date.parse(f.notAfter ?? '')).to.be.greaterThan(Date.now() + 300 * DAY);
      expect(report.results[0]?.source).to.equal('/etc/kubernetes/manifests/etcd.yaml');
    } finally {
      host.remove();
    }
  });
});

describe('etcd-tls-guard node: configuration that lives on the node', function () {
  this.timeout(60_000);

  it("RKE2: etcd's config file says client-cert-auth false while the manifest's flags say nothing", () => {
    const host = new HostDir();
    try {
      const ca = generateCa();
      host.write('var/lib/rancher/rke2/agent/pod-manifests/etcd.yaml', host.fixture('node/rke2-etcd.yaml'));
      host.write('var/lib/rancher/rke2/server/db/etcd/config', host.fixture('node/rke2-etcd-config.yaml'));
      host.dir('var/lib/rancher/rke2/server/db/etcd', 0o700);
      const tls = 'var/lib/rancher/rke2/server/tls/etcd';
      host.pair(`${tls}/server-client`, issueCertificate(ca, { sans: ['localhost', '127.0.0.1', '10.0.0.21'], usage: 'both' }));
      host.write(`${tls}/server-ca.crt`, ca.certPem, 0o644);
      host.pair(`${tls}/peer-server-client`, issueCertificate(ca, { sans: ['localhost', '127.0.0.1', '10.0.0.21'], usage: 'both' }));
      host.write(`${tls}/peer-ca.crt`, ca.certPem, 0o644);
      const result = check(host);
      expect(result.manifestDirs).to.deep.equal([{ path: '/var/lib/rancher/rke2/agent/pod-manifests', from: 'default' }]);
      const auth = findingOf(result.rows, 'etcd', 'etcd-client-cert-auth');
      expect(auth.status).to.equal('fail');
      expect(auth.message).to.equal(
        '--client-cert-auth is false (client-transport-security.client-cert-auth in /var/lib/rancher/rke2/server/db/etcd/config)',
      );
      expect(auth.evidence).to.deep.equal([
        'client-transport-security.client-cert-auth: false (/var/lib/rancher/rke2/server/db/etcd/config)',
      ]);
      expect(findingOf(result.rows, 'etcd', 'etcd-client-tls').status).to.equal('pass');
      expect(findingOf(result.rows, 'etcd', 'etcd-server-cert').status).to.equal('pass');
      // The data directory is a hostPath volume; the certificate files are mounted one by one.
      expect(findingOf(result.rows, 'etcd', 'etcd-data-dir-permissions').status).to.equal('pass');
    } finally {
      host.remove();
    }
  });

  it('RKE2 issues ECDSA certificates: read, matched to their key and verified against their CA', () => {
    const host = new HostDir();
    try {
      host.write('var/lib/rancher/rke2/agent/pod-manifests/etcd.yaml', host.fixture('node/rke2-etcd.yaml'));
      host.write('var/lib/rancher/rke2/server/db/etcd/config', host.fixture('node/rke2-etcd-config.yaml'));
      const tls = 'var/lib/rancher/rke2/server/tls/etcd';
      host.write(`${tls}/server-client.crt`, host.fixture('node/ecdsa/server-client.crt'), 0o644);
      host.write(`${tls}/server-client.key`, host.fixture('node/ecdsa/server-client.key'), 0o600);
      host.write(`${tls}/server-ca.crt`, host.fixture('node/ecdsa/ca.crt'), 0o644);
      const f = findingOf(check(host).rows, 'etcd', 'etcd-server-cert');
      expect(f.status, f.message).to.equal('pass');
      expect(f.subject).to.equal('CN=etcd-server');
      expect(f.notAfter).to.match(/^2126-/);
    } finally {
      host.remove();
    }
  });

  it("OpenShift 4: kube-apiserver's etcd connection from the KubeAPIServerConfig, through the revisioned resource directory", () => {
    const host = new HostDir();
    try {
      const etcdCa = generateCa();
      const res = 'etc/kubernetes/static-pod-resources/kube-apiserver-pod-7';
      host.write('etc/kubernetes/manifests/kube-apiserver-pod.yaml', host.fixture('node/openshift4-kube-apiserver.yaml'));
      host.write(`${res}/configmaps/config/config.yaml`, host.fixture('node/openshift4-config.yaml'));
      host.write(`${res}/configmaps/etcd-serving-ca/ca-bundle.crt`, etcdCa.certPem, 0o644);
      host.pair(`${res}/secrets/etcd-client/tls`, issueCertificate(etcdCa, { sans: [], commonName: 'system:etcd-user', usage: 'client' }));
      const result = check(host);
      const cafile = findingOf(result.rows, 'kube-apiserver', 'apiserver-etcd-cafile');
      expect(cafile.status).to.equal('pass');
      expect(cafile.evidence).to.include.members([
        'storageConfig.ca: /etc/kubernetes/static-pod-resources/configmaps/etcd-serving-ca/ca-bundle.crt (/etc/kubernetes/static-pod-resources/configmaps/config/config.yaml)',
      ]);
      expect(findingOf(result.rows, 'kube-apiserver', 'apiserver-etcd-tls').status).to.equal('pass');
      const client = findingOf(result.rows, 'kube-apiserver', 'apiserver-etcd-client-cert-valid');
      expect(client.status, client.message).to.equal('pass');
      expect(client.file).to.equal('/etc/kubernetes/static-pod-resources/secrets/etcd-client/tls.crt');
    } finally {
      host.remove();
    }
  });

  it("OpenShift 3.11: the script's sourced /etc/etcd/etcd.conf is read through its hostPath volume", () => {
    const host = new HostDir();
    try {
      const ca = generateCa();
      host.write('etc/kubernetes/manifests/etcd.yaml', host.fixture('node/openshift3-master-etcd.yaml'));
      host.write('etc/etcd/etcd.conf', host.fixture('node/openshift3-etcd.conf'), 0o644);
      host.write('etc/etcd/ca.crt', ca.certPem, 0o644);
      host.pair('etc/etcd/server', issueCertificate(ca, { sans: ['master-1.example.test', '10.0.0.41'], usage: 'both' }));
      host.pair('etc/etcd/peer', issueCertificate(ca, { sans: ['master-1.example.test', '10.0.0.41'], usage: 'both' }));
      host.dir('var/lib/etcd', 0o700);
      const result = check(host);
      const auth = findingOf(result.rows, 'etcd', 'etcd-client-cert-auth');
      expect(auth.status).to.equal('pass');
      expect(auth.evidence).to.deep.equal(['ETCD_CLIENT_CERT_AUTH=true (env)']);
      // Three members in ETCD_INITIAL_CLUSTER: the peer rules apply, and the file turns peer auth off.
      const peer = findingOf(result.rows, 'etcd', 'etcd-peer-client-cert-auth');
      expect(peer.status).to.equal('fail');
      expect(peer.message).to.match(/^--peer-client-cert-auth is false \(env ETCD_PEER_CLIENT_CERT_AUTH\)/);
      expect(findingOf(result.rows, 'etcd', 'etcd-peer-cert').status).to.equal('pass');
      // What scan could only call unknown ("a file the webhook cannot see") is decided here.
      expect(result.rows[0]?.findings.filter((f) => /cannot see/.test(f.message))).to.deep.equal([]);
    } finally {
      host.remove();
    }
  });

  it('a sourced file that is not on the node leaves its settings unknown, with the reason', () => {
    const host = new HostDir();
    try {
      host.write('etc/kubernetes/manifests/etcd.yaml', host.fixture('node/openshift3-master-etcd.yaml'));
      const f = findingOf(check(host).rows, 'etcd', 'etcd-client-cert-auth');
      expect(f.status).to.equal('unknown');
      expect(f.message).to.match(
        /source \/etc\/etcd\/etcd.conf`: \/etc\/etcd\/etcd.conf cannot be read on the node: \/etc\/etcd\/etcd.conf: no such file on the node/,
      );
    } finally {
      host.remove();
    }
  });

  it('the webhook and scan never report node rules', async () => {
    const { scanDocuments } = await import('../../src/scan/scan.js');
    const { parseManifestText } = await import('../../src/input/manifests.js');
    const host = new HostDir();
    const parsed = parseManifestText(host.fixture('kubeadm/etcd.yaml'), 'etcd.yaml');
    host.remove();
    const report = scanDocuments(parsed.documents, DEFAULT_POLICY);
    const ids = report.results.flatMap((r) => r.findings.map((f) => f.rule));
    expect(ids.filter((id) => RULES.find((r) => r.id === id)?.scope === 'node')).to.deep.equal([]);
  });
});
