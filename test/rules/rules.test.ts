import { expect } from 'chai';
import { evaluatePod, type EtcdTopology, type Finding } from '../../src/rules/evaluate.js';
import type { EnvVar } from '../../src/launch/pod.js';
import { judgePod } from '../../src/judgement/judge.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { rowsOf } from '../../src/report/report.js';
import { RULES } from '../../src/rules/rules.js';
import { etcdPod, KUBEADM_ETCD_FLAGS, loadFixture, podWith, withFlags } from '../helpers.js';

const KUBEADM_APISERVER_FLAGS = [
  '--advertise-address=10.0.0.11',
  '--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt',
  '--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt',
  '--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key',
  '--etcd-servers=https://127.0.0.1:2379',
  '--secure-port=6443',
];

const POD_IP: EnvVar = { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };

const THREE_MEMBERS = 'cp-1=https://10.0.0.11:2380,cp-2=https://10.0.0.12:2380,cp-3=https://10.0.0.13:2380';

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly component?: 'etcd' | 'kube-apiserver';
  readonly changes?: Readonly<Record<string, string | null>>;
  readonly env?: EnvVar[];
  readonly topology?: EtcdTopology;
  readonly status: Finding['status'];
  readonly message?: RegExp;
}

function finding(c: Case): Finding {
  const component = c.component ?? 'etcd';
  const base = component === 'etcd' ? KUBEADM_ETCD_FLAGS : KUBEADM_APISERVER_FLAGS;
  const args = withFlags(base, c.changes ?? {});
  const pod =
    component === 'etcd'
      ? etcdPod(args, { env: c.env ?? [] })
      : podWith({ command: ['kube-apiserver', ...args], image: 'registry.k8s.io/kube-apiserver:v1.31.2' });
  const evaluation = evaluatePod(pod, { etcdTopology: c.topology ?? 'auto' });
  const f = evaluation.results[0]?.findings.find((x) => x.rule === c.rule);
  if (f === undefined) throw new Error(`no finding for ${c.rule}`);
  return f;
}

// One table for every rule: each rule has at least a pass and a fail case, and where it can be,
// not-applicable and unknown.
const CASES: Case[] = [
  // etcd-client-tls (CIS 2.1)
  { name: 'kubeadm etcd passes', rule: 'etcd-client-tls', status: 'pass' },
  {
    name: 'no --cert-file fails',
    rule: 'etcd-client-tls',
    changes: { 'cert-file': null, 'listen-client-urls': 'http://127.0.0.1:2379', 'advertise-client-urls': 'http://127.0.0.1:2379' },
    status: 'fail',
    message: /--cert-file is not set; http:\/\/127.0.0.1:2379 is not TLS/,
  },
  {
    name: 'https:// without --cert-file: etcd will refuse to start (measured)',
    rule: 'etcd-client-tls',
    changes: { 'cert-file': null },
    status: 'fail',
    message: /etcd will refuse to start: TLS key\/cert/,
  },
  {
    name: 'an http:// client URL fails',
    rule: 'etcd-client-tls',
    changes: { 'listen-client-urls': 'https://127.0.0.1:2379,http://10.0.0.11:2379' },
    status: 'fail',
    message: /http:\/\/10.0.0.11:2379 is not TLS/,
  },
  {
    name: 'absent --listen-client-urls is the default http://localhost:2379',
    rule: 'etcd-client-tls',
    changes: { 'listen-client-urls': null, 'advertise-client-urls': null },
    status: 'fail',
    message: /default of --listen-client-urls/,
  },
  {
    name: 'a --listen-client-http-urls http:// URL fails',
    rule: 'etcd-client-tls',
    changes: { 'listen-client-http-urls': 'http://127.0.0.1:2382' },
    status: 'fail',
  },
  // The host from a field reference, the scheme written in the manifest (etcd charts and operators: https://$(POD_IP):2379).
  {
    name: 'https://$(POD_IP):2379: the scheme is known, TLS',
    rule: 'etcd-client-tls',
    changes: { 'listen-client-urls': 'https://$(POD_IP):2379,https://127.0.0.1:2379' },
    env: [POD_IP],
    status: 'pass',
  },
  {
    name: 'http://$(POD_IP):2379: certainly plaintext',
    rule: 'etcd-client-tls',
    changes: { 'listen-client-urls': 'https://127.0.0.1:2379,http://$(POD_IP):2379' },
    env: [POD_IP],
    status: 'fail',
    message: /http:\/\/\$\(POD_IP\):2379 is not TLS/,
  },
  {
    name: '$(SCHEME)://: the scheme itself from a field reference is unknown',
    rule: 'etcd-client-tls',
    changes: { 'listen-client-urls': '$(POD_IP)://x:2379' },
    env: [POD_IP],
    status: 'unknown',
  },
  {
    name: 'a peer URL with the pod IP keeps its scheme for the effective check',
    rule: 'etcd-peer-auth-effective',
    changes: { 'listen-peer-urls': 'https://$(POD_IP):2380', 'initial-cluster': THREE_MEMBERS },
    env: [POD_IP],
    status: 'pass',
  },
  // A template that was not rendered: what it will say is unknown, never plaintext.
  {
    name: 'a Terraform placeholder in --listen-client-urls is unknown, not plaintext',
    rule: 'etcd-client-tls',
    changes: { 'listen-client-urls': '${etcd_client_urls}' },
    status: 'unknown',
    message: /\$\{etcd_client_urls\}, an unrendered template placeholder/,
  },
  {
    name: 'a Helm placeholder in ETCD_CLIENT_CERT_AUTH is unknown',
    rule: 'etcd-client-cert-auth',
    changes: { 'client-cert-auth': null },
    env: [{ name: 'ETCD_CLIENT_CERT_AUTH', value: '{{ .Values.auth.client.secureTransport }}' }],
    status: 'unknown',
    message: /unrendered template placeholder/,
  },
  {
    name: 'cert file from a Secret is unknown',
    rule: 'etcd-client-tls',
    changes: { 'cert-file': null },
    env: [{ name: 'ETCD_CERT_FILE', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    status: 'unknown',
    message: /ETCD_CERT_FILE comes from secretKeyRef s\/k/,
  },

  // etcd-client-cert-auth (CIS 2.2)
  { name: '--client-cert-auth=true passes', rule: 'etcd-client-cert-auth', status: 'pass' },
  { name: 'bare --client-cert-auth passes', rule: 'etcd-client-cert-auth', changes: { 'client-cert-auth': '' }, status: 'pass' },
  {
    name: '--client-cert-auth=T passes (strconv.ParseBool)',
    rule: 'etcd-client-cert-auth',
    changes: { 'client-cert-auth': 'T' },
    status: 'pass',
  },
  {
    name: '--client-cert-auth=false fails',
    rule: 'etcd-client-cert-auth',
    changes: { 'client-cert-auth': 'false', 'trusted-ca-file': null },
    status: 'fail',
    message: /--client-cert-auth is false \(argv\)/,
  },
  {
    name: 'absent fails, and says that --trusted-ca-file verifies anyway',
    rule: 'etcd-client-cert-auth',
    changes: { 'client-cert-auth': null },
    status: 'fail',
    message:
      /CIS 2.2 fails: --client-cert-auth is not set \(defaults to false\); client certificates are nevertheless verified because --trusted-ca-file is set/,
  },
  {
    name: 'true from ETCD_CLIENT_CERT_AUTH passes',
    rule: 'etcd-client-cert-auth',
    changes: { 'client-cert-auth': null },
    env: [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'true' }],
    status: 'pass',
    message: /\(env ETCD_CLIENT_CERT_AUTH\)/,
  },
  {
    name: 'true but --auto-tls without certificates: passes CIS, says etcd drops it',
    rule: 'etcd-client-cert-auth',
    changes: { 'cert-file': null, 'key-file': null, 'auto-tls': 'true' },
    status: 'pass',
    message: /but --auto-tls serves a self-signed certificate/,
  },
  {
    name: '`--client-cert-auth true` (space form): etcd will refuse to start (measured)',
    rule: 'etcd-client-cert-auth',
    changes: { 'client-cert-auth': 'true X' },
    status: 'fail',
    message: /etcd will refuse to start: 'true' is not a valid flag/,
  },
  {
    name: 'from a ConfigMap is unknown',
    rule: 'etcd-client-cert-auth',
    changes: { 'client-cert-auth': null },
    env: [{ name: 'ETCD_CLIENT_CERT_AUTH', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }],
    status: 'unknown',
  },

  // etcd-auto-tls (CIS 2.3)
  { name: 'absent passes', rule: 'etcd-auto-tls', status: 'pass', message: /--auto-tls is not set/ },
  { name: '--auto-tls=false passes', rule: 'etcd-auto-tls', changes: { 'auto-tls': 'false' }, status: 'pass' },
  {
    name: 'bare --auto-tls fails',
    rule: 'etcd-auto-tls',
    changes: { 'auto-tls': '' },
    status: 'fail',
    message: /--auto-tls is true \(argv\)/,
  },
  { name: 'ETCD_AUTO_TLS=1 fails', rule: 'etcd-auto-tls', env: [{ name: 'ETCD_AUTO_TLS', value: '1' }], status: 'fail' },
  {
    name: 'ETCD_AUTO_TLS from a Secret is unknown',
    rule: 'etcd-auto-tls',
    env: [{ name: 'ETCD_AUTO_TLS', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    status: 'unknown',
  },

  // etcd-peer-tls (CIS 2.4)
  {
    name: 'single member: not applicable',
    rule: 'etcd-peer-tls',
    changes: {
      'peer-cert-file': null,
      'listen-peer-urls': 'http://10.0.0.11:2380',
      'initial-advertise-peer-urls': 'http://10.0.0.11:2380',
    },
    status: 'not-applicable',
    message: /--initial-cluster lists one member/,
  },
  { name: 'three members with peer certs passes', rule: 'etcd-peer-tls', changes: { 'initial-cluster': THREE_MEMBERS }, status: 'pass' },
  {
    name: 'three members without --peer-key-file fails',
    rule: 'etcd-peer-tls',
    changes: {
      'initial-cluster': THREE_MEMBERS,
      'peer-key-file': null,
      'listen-peer-urls': 'http://10.0.0.11:2380',
      'initial-advertise-peer-urls': 'http://10.0.0.11:2380',
    },
    status: 'fail',
    message: /--peer-key-file is not set/,
  },
  {
    name: 'no --initial-cluster: etcd bootstraps a one-member cluster of itself (measured), not applicable',
    rule: 'etcd-peer-tls',
    changes: {
      'initial-cluster': null,
      'peer-cert-file': null,
      'listen-peer-urls': 'http://10.0.0.11:2380',
      'initial-advertise-peer-urls': 'http://10.0.0.11:2380',
    },
    status: 'not-applicable',
    message: /--initial-cluster is not set: etcd bootstraps a one-member cluster/,
  },
  {
    name: 'joining an existing cluster it does not list, etcdTopology auto: treated as multi-member',
    rule: 'etcd-peer-tls',
    changes: {
      'initial-cluster': null,
      'initial-cluster-state': 'existing',
      'peer-cert-file': null,
      'listen-peer-urls': 'http://10.0.0.11:2380',
      'initial-advertise-peer-urls': 'http://10.0.0.11:2380',
    },
    status: 'fail',
    message: /treated as a multi-member etcd: --initial-cluster-state=existing without --initial-cluster/,
  },
  {
    name: 'no --initial-cluster, etcdTopology single: not applicable',
    rule: 'etcd-peer-tls',
    changes: {
      'initial-cluster': null,
      'peer-cert-file': null,
      'listen-peer-urls': 'http://10.0.0.11:2380',
      'initial-advertise-peer-urls': 'http://10.0.0.11:2380',
    },
    topology: 'single',
    status: 'not-applicable',
  },
  {
    name: 'peer cert from a Secret is unknown',
    rule: 'etcd-peer-tls',
    changes: { 'initial-cluster': THREE_MEMBERS, 'peer-cert-file': null },
    env: [{ name: 'ETCD_PEER_CERT_FILE', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    status: 'unknown',
  },

  // etcd-peer-client-cert-auth (CIS 2.5)
  {
    name: 'single member: not applicable',
    rule: 'etcd-peer-client-cert-auth',
    changes: { 'peer-client-cert-auth': null },
    status: 'not-applicable',
  },
  {
    name: 'three members, true: passes',
    rule: 'etcd-peer-client-cert-auth',
    changes: { 'initial-cluster': THREE_MEMBERS },
    status: 'pass',
  },
  {
    name: 'three members, false: fails (noting --peer-trusted-ca-file)',
    rule: 'etcd-peer-client-cert-auth',
    changes: { 'initial-cluster': THREE_MEMBERS, 'peer-client-cert-auth': 'false' },
    status: 'fail',
    message: /nevertheless verified because --peer-trusted-ca-file/,
  },
  {
    name: 'three members, from a Secret: unknown',
    rule: 'etcd-peer-client-cert-auth',
    changes: { 'initial-cluster': THREE_MEMBERS, 'peer-client-cert-auth': null },
    env: [{ name: 'ETCD_PEER_CLIENT_CERT_AUTH', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    status: 'unknown',
  },

  // etcd-peer-auto-tls (CIS 2.6): applies to a single member too
  { name: 'absent passes', rule: 'etcd-peer-auto-tls', status: 'pass' },
  { name: 'single member with --peer-auto-tls fails', rule: 'etcd-peer-auto-tls', changes: { 'peer-auto-tls': 'true' }, status: 'fail' },
  {
    name: 'unknown from envFrom-free Secret ref',
    rule: 'etcd-peer-auto-tls',
    env: [{ name: 'ETCD_PEER_AUTO_TLS', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    status: 'unknown',
  },

  // etcd-client-auth-effective
  { name: 'kubeadm passes', rule: 'etcd-client-auth-effective', status: 'pass' },
  {
    name: '--trusted-ca-file alone verifies (measured on 3.4.23)',
    rule: 'etcd-client-auth-effective',
    changes: { 'client-cert-auth': 'false' },
    status: 'pass',
    message: /--trusted-ca-file \(verification is on even without --client-cert-auth\)/,
  },
  {
    name: 'neither --client-cert-auth nor --trusted-ca-file fails',
    rule: 'etcd-client-auth-effective',
    changes: { 'client-cert-auth': null, 'trusted-ca-file': null },
    status: 'fail',
    message: /neither --client-cert-auth nor --trusted-ca-file/,
  },
  {
    name: '--auto-tls without certificates drops client auth (measured)',
    rule: 'etcd-client-auth-effective',
    changes: { 'cert-file': null, 'key-file': null, 'auto-tls': 'true' },
    status: 'fail',
    message: /drops --client-cert-auth/,
  },
  {
    name: '--auto-tls with certificate files is ignored',
    rule: 'etcd-client-auth-effective',
    changes: { 'auto-tls': 'true' },
    status: 'pass',
  },
  {
    name: 'an http:// listener serves plaintext',
    rule: 'etcd-client-auth-effective',
    changes: { 'listen-client-urls': 'https://127.0.0.1:2379,http://10.0.0.11:2379' },
    status: 'fail',
    message: /http:\/\/10.0.0.11:2379 serves plaintext/,
  },
  {
    name: 'unixs:// is TLS',
    rule: 'etcd-client-auth-effective',
    changes: { 'listen-client-urls': 'unixs://localhost:2379' },
    status: 'pass',
  },
  {
    name: 'unknown --client-cert-auth does not matter when --trusted-ca-file is set',
    rule: 'etcd-client-auth-effective',
    changes: { 'client-cert-auth': null },
    env: [{ name: 'ETCD_CLIENT_CERT_AUTH', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    status: 'pass',
  },
  {
    name: 'unknown --client-cert-auth without a CA file is unknown',
    rule: 'etcd-client-auth-effective',
    changes: { 'client-cert-auth': null, 'trusted-ca-file': null },
    env: [{ name: 'ETCD_CLIENT_CERT_AUTH', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    status: 'unknown',
  },

  // etcd-peer-auth-effective
  {
    name: 'single member: not applicable',
    rule: 'etcd-peer-auth-effective',
    changes: { 'peer-client-cert-auth': null, 'peer-trusted-ca-file': null },
    status: 'not-applicable',
  },
  {
    name: 'three members, kubeadm: passes',
    rule: 'etcd-peer-auth-effective',
    changes: { 'initial-cluster': THREE_MEMBERS },
    status: 'pass',
  },
  {
    name: 'three members, http:// peer URL: fails',
    rule: 'etcd-peer-auth-effective',
    changes: { 'initial-cluster': THREE_MEMBERS, 'listen-peer-urls': 'http://10.0.0.11:2380' },
    status: 'fail',
    message: /serves plaintext/,
  },
  {
    name: 'three members, --peer-auto-tls without peer certs: fails',
    rule: 'etcd-peer-auth-effective',
    changes: { 'initial-cluster': THREE_MEMBERS, 'peer-cert-file': null, 'peer-key-file': null, 'peer-auto-tls': 'true' },
    status: 'fail',
  },

  // apiserver-etcd-cafile (CIS 1.2.32)
  { name: 'kubeadm passes', rule: 'apiserver-etcd-cafile', component: 'kube-apiserver', status: 'pass' },
  {
    name: 'absent fails',
    rule: 'apiserver-etcd-cafile',
    component: 'kube-apiserver',
    changes: { 'etcd-cafile': null },
    status: 'fail',
    message: /--etcd-cafile is not set/,
  },
  { name: 'empty fails', rule: 'apiserver-etcd-cafile', component: 'kube-apiserver', changes: { 'etcd-cafile': '' }, status: 'fail' },
  {
    name: 'an _ spelling counts (--etcd_cafile)',
    rule: 'apiserver-etcd-cafile',
    component: 'kube-apiserver',
    changes: { 'etcd-cafile': null, etcd_cafile: '/ca.crt' },
    status: 'pass',
  },
  {
    name: '-etcd-cafile (single dash): kube-apiserver will refuse to start',
    rule: 'apiserver-etcd-cafile',
    component: 'kube-apiserver',
    changes: { 'etcd-cafile': null, '-etcd-cafile': '/ca.crt' },
    status: 'fail',
    message: /kube-apiserver will refuse to start: unknown shorthand flag: 'e'/,
  },

  {
    name: 'a misspelled --etcd-ca-file: kube-apiserver will refuse to start (unknown flag)',
    rule: 'apiserver-etcd-cafile',
    component: 'kube-apiserver',
    changes: { 'etcd-cafile': null, 'etcd-ca-file': '/ca.crt' },
    status: 'fail',
    message: /kube-apiserver will refuse to start: unknown flag: --etcd-ca-file/,
  },
  {
    name: 'a non-numeric --secure-port: kube-apiserver will refuse to start (measured on v1.31)',
    rule: 'apiserver-etcd-cafile',
    component: 'kube-apiserver',
    changes: { 'secure-port': 'abc' },
    status: 'fail',
    message: /invalid argument "abc" for "--secure-port" flag: strconv.ParseInt/,
  },

  // apiserver-etcd-client-cert (CIS 1.2.29)
  { name: 'kubeadm passes', rule: 'apiserver-etcd-client-cert', component: 'kube-apiserver', status: 'pass' },
  {
    name: 'no --etcd-keyfile fails',
    rule: 'apiserver-etcd-client-cert',
    component: 'kube-apiserver',
    changes: { 'etcd-keyfile': null },
    status: 'fail',
    message: /--etcd-keyfile is not set/,
  },

  // apiserver-etcd-tls
  { name: 'https etcd passes', rule: 'apiserver-etcd-tls', component: 'kube-apiserver', status: 'pass' },
  {
    name: 'an http:// etcd server fails',
    rule: 'apiserver-etcd-tls',
    component: 'kube-apiserver',
    changes: { 'etcd-servers': 'https://10.0.0.11:2379,http://10.0.0.12:2379' },
    status: 'fail',
    message: /http:\/\/10.0.0.12:2379 is not TLS/,
  },
  {
    name: 'an http:// override fails',
    rule: 'apiserver-etcd-tls',
    component: 'kube-apiserver',
    changes: { 'etcd-servers-overrides': '/events#http://10.0.0.20:2379' },
    status: 'fail',
    message: /--etcd-servers-overrides sends resources to http:\/\/10.0.0.20:2379/,
  },
  {
    name: 'no --etcd-servers: kube-apiserver will refuse to start',
    rule: 'apiserver-etcd-tls',
    component: 'kube-apiserver',
    changes: { 'etcd-servers': null },
    status: 'fail',
    message: /--etcd-servers must be specified/,
  },
];

describe('rules', () => {
  for (const c of CASES) {
    it(`${c.rule}: ${c.name} → ${c.status}`, () => {
      const f = finding(c);
      expect(f.status, f.message).to.equal(c.status);
      if (c.message !== undefined) expect(f.message).to.match(c.message);
    });
  }

  it('a fix for a setting the pod makes through an ETCD_* variable names the variable, never a flag beside it (etcd 3.4+ refuses both)', () => {
    const f = finding({
      name: '',
      rule: 'etcd-client-cert-auth',
      changes: { 'client-cert-auth': null },
      env: [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'false' }],
      status: 'fail',
    });
    expect(f.remediation).to.match(
      /^Set ETCD_CLIENT_CERT_AUTH=true in .*change the variable; the same flag beside it stops etcd 3.4 and later\)$/,
    );
    expect(f.remediation).not.to.contain('--client-cert-auth');
    expect(
      finding({ name: '', rule: 'etcd-client-cert-auth', changes: { 'client-cert-auth': 'false' }, status: 'fail' }).remediation,
    ).to.match(/^Set --client-cert-auth=true in /);
  });

  it('every rule the pod decides has a pass and a fail case in the table (node rules: test/node/check.test.ts)', () => {
    for (const rule of RULES.filter((r) => r.scope !== 'node')) {
      const statuses = new Set(CASES.filter((c) => c.rule === rule.id).map((c) => c.status));
      expect([...statuses], rule.id).to.include.members(['pass', 'fail']);
    }
  });

  it('a reported finding carries the CIS numbers of its rule for 1.5.1 and v1.10', () => {
    const verdict = judgePod(loadFixture('kubeadm/kube-apiserver.yaml'), DEFAULT_POLICY);
    const rows = rowsOf({ source: 'test', document: 0, kind: 'Pod', namespace: null, name: null }, verdict);
    const f = rows[0]?.findings.find((x) => x.rule === 'apiserver-etcd-cafile');
    expect(f?.cis).to.deep.equal(['1.2.32']);
    expect(f?.cisBenchmarks).to.deep.equal({ '1.5.1': '1.2.32', '1.10': '1.2.26' });
  });

  it('a refused configuration fails every rule with "etcd will refuse to start", never passes', () => {
    const pod = etcdPod([...KUBEADM_ETCD_FLAGS, '--client-cert-auth', 'true']);
    const findings = evaluatePod(pod, { etcdTopology: 'auto' }).results[0]?.findings ?? [];
    expect(findings.map((f) => f.rule)).to.deep.equal(RULES.filter((r) => r.component === 'etcd' && r.scope !== 'node').map((r) => r.id));
    for (const f of findings) {
      expect(f.status).to.equal('fail');
      expect(f.message).to.match(
        /^etcd will refuse to start: 'true' is not a valid flag .*--client-cert-auth is a boolean flag: write --client-cert-auth=true/,
      );
    }
  });

  it('remediation names the static pod manifest and node of a mirror pod', () => {
    const pod = etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { 'client-cert-auth': null }), { mirror: true, nodeName: 'cp-1' });
    const f = evaluatePod(pod, { etcdTopology: 'auto' }).results[0]?.findings.find((x) => x.rule === 'etcd-client-cert-auth');
    expect(f?.remediation).to.equal(
      "Set --client-cert-auth=true in /etc/kubernetes/manifests/etcd.yaml on node cp-1, and in kubeadm's ClusterConfiguration (etcd.local.extraArgs) so that `kubeadm upgrade` keeps it",
    );
  });

  it('never echoes other environment values', () => {
    const pod = etcdPod(KUBEADM_ETCD_FLAGS, {
      env: [
        { name: 'ETCD_ROOT_PASSWORD', value: 'hunter2-secret' },
        { name: 'DB_PASS', value: 'p4ss' },
      ],
    });
    const text = JSON.stringify(evaluatePod(pod, { etcdTopology: 'auto' }));
    expect(text).to.not.contain('hunter2-secret');
    expect(text).to.not.contain('p4ss');
  });
});
