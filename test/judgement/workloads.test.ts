/**
 * What hosted control planes, etcd charts and operators really apply (test/fixtures/workloads,
 * modeled on their public sources: SOURCES.md there), and the verdicts a careful human gives each.
 */
import { expect } from 'chai';
import { loadInputs } from '../../src/input/manifests.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { scanDocuments } from '../../src/scan/scan.js';
import { fixturePath } from '../helpers.js';

type Status = 'pass' | 'fail' | 'unknown' | 'not-applicable';

interface Expected {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly why: string;
  /** Container → every finding's status (one status for all rules, or rule by rule), or nothing judged at all. */
  readonly containers: Readonly<Record<string, Status | Readonly<Record<string, Status>>>>;
  readonly message?: RegExp;
  /** Where every fix goes (the template, or the chart release that renders it). */
  readonly fix: RegExp;
}

const CASES: Expected[] = [
  {
    file: 'hypershift-etcd.yaml',
    kind: 'StatefulSet',
    name: 'etcd',
    fix: /the pod template of StatefulSet \S+\/etcd \(or the chart values or operator resource that render it\)/,
    why: 'ETCD_* variables with TLS and client certificates on both sides; https://$(POD_IP) keeps its scheme; the reset-member script runs etcdctl, the metrics sidecar is a grpc-proxy',
    containers: { etcd: 'pass' },
  },
  {
    file: 'kamaji-etcd.yaml',
    kind: 'StatefulSet',
    name: 'kamaji-etcd',
    fix: /the pod template of StatefulSet \S+\/kamaji-etcd \(or the chart values or operator resource that render it\)/,
    why: 'flags with TLS and client certificates on both sides, three members',
    containers: { etcd: 'pass' },
  },
  {
    file: 'kamaji-etcd.yaml',
    kind: 'CronJob',
    name: 'kamaji-etcd-defrag',
    fix: /never judged/,
    why: 'etcdctl in the etcd image is a client, not a server',
    containers: {},
  },
  {
    file: 'bitnami-etcd.yaml',
    kind: 'StatefulSet',
    name: 'etcd-secure',
    fix: /the values of the Helm release that renders the pod template of StatefulSet storage\/etcd-secure \(release etcd-secure, chart etcd-11\.0\.3\), applied with `helm upgrade`/,
    why: "the image's run.sh decides what etcd reads (defaults, *_FILE variables, a config file when one exists)",
    containers: { etcd: 'unknown' },
    message: /run\.sh/,
  },
  {
    file: 'incubator-etcd.yaml',
    kind: 'StatefulSet',
    name: 'registry-etcd',
    fix: /the values of the Helm release that renders the pod template of StatefulSet registry\/registry-etcd \(release registry, chart etcd-0\.7\.4\)/,
    why: "the chart's defaults: plain http on both sides; three start branches, the member list built in a loop, three replicas make the peers count",
    containers: {
      'registry-etcd': {
        'etcd-client-tls': 'fail',
        'etcd-client-cert-auth': 'fail',
        // The join branch sources the ETCD_* lines `etcdctl member add` printed: out of sight.
        'etcd-auto-tls': 'unknown',
        'etcd-peer-tls': 'fail',
        'etcd-peer-client-cert-auth': 'fail',
        'etcd-peer-auto-tls': 'unknown',
        'etcd-client-auth-effective': 'fail',
        'etcd-peer-auth-effective': 'fail',
      },
    },
  },
  {
    file: 'incubator-etcd.yaml',
    kind: 'StatefulSet',
    name: 'secure-etcd',
    fix: /Helm release that renders the pod template of StatefulSet secure\/secure-etcd \(release secure, chart etcd-0\.7\.4\)/,
    why: 'client certificates through ETCD_* variables, peers on https with peer auto-TLS: the peer side fails whatever the sourced file holds',
    containers: {
      'secure-etcd': {
        'etcd-client-tls': 'unknown',
        'etcd-client-cert-auth': 'unknown',
        'etcd-auto-tls': 'unknown',
        'etcd-peer-tls': 'fail',
        'etcd-peer-client-cert-auth': 'fail',
        'etcd-peer-auto-tls': 'fail',
        'etcd-client-auth-effective': 'unknown',
        'etcd-peer-auth-effective': 'fail',
      },
    },
  },
];

describe('hosted control planes, etcd charts and operators (test/fixtures/workloads)', () => {
  for (const c of CASES) {
    it(`${c.file}: ${c.kind} ${c.name} — ${c.why}`, async () => {
      const inputs = await loadInputs([fixturePath(`workloads/${c.file}`)], () => Promise.resolve(''));
      const report = scanDocuments(inputs.documents, DEFAULT_POLICY, inputs.errors);
      expect(report.errors).to.deep.equal([]);
      const rows = report.results.filter((r) => r.kind === c.kind && r.name === c.name);
      expect(rows.length, 'rows for the object').to.be.greaterThan(0);
      const judged = rows.filter((r) => r.component !== null);
      const statuses = (r: (typeof judged)[number]): string | Record<string, string> =>
        typeof c.containers[r.container ?? ''] === 'object'
          ? Object.fromEntries(r.findings.map((f) => [f.rule, f.status]))
          : [...new Set(r.findings.map((f) => f.status))].join(',');
      expect(Object.fromEntries(judged.map((r) => [r.container, statuses(r)]))).to.deep.equal(c.containers);
      if (c.message !== undefined) for (const r of judged) for (const f of r.findings) expect(f.message).to.match(c.message);
      for (const r of judged) for (const f of r.findings) expect(f.remediation, f.rule).to.match(c.fix);
      // A false refusal is a false deny on a working control plane (these projects run).
      const claims = judged.flatMap((r) => r.findings.filter((f) => /refuse to start|will not serve/.test(f.message)));
      expect(claims.map((f) => f.message)).to.deep.equal([]);
    });
  }

  it('the replicas of a StatefulSet are its members when its flags leave the member list to run time, and the message says so', async () => {
    const inputs = await loadInputs([fixturePath('workloads/incubator-etcd.yaml')], () => Promise.resolve(''));
    const report = scanDocuments(inputs.documents, DEFAULT_POLICY, inputs.errors);
    const peer = report.results.find((r) => r.name === 'registry-etcd')?.findings.find((f) => f.rule === 'etcd-peer-tls');
    expect(peer?.message).to.contain('a multi-member etcd: StatefulSet registry/registry-etcd declares 3 replicas');
    // The same template with one replica: nothing tells how many members it will have.
    const one = inputs.documents.map((d) =>
      (d.object as { metadata: { name: string } }).metadata.name === 'registry-etcd'
        ? { ...d, object: { ...(d.object as object), spec: { ...(d.object as { spec: object }).spec, replicas: 1 } } }
        : d,
    );
    const single = scanDocuments(one, DEFAULT_POLICY, []);
    const f = single.results.find((r) => r.name === 'registry-etcd')?.findings.find((x) => x.rule === 'etcd-peer-client-cert-auth');
    expect(f?.status).to.equal('fail');
    expect(f?.message).to.match(
      /treated as a multi-member etcd: .*declares 1 replica, and scaling it up adds members; etcdTopology is auto/,
    );
  });

  it('a workload is never told to edit a static pod manifest, whatever paths it shares with one', () => {
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'etcd', namespace: 'tenant-a' },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'etcd',
                image: 'registry.k8s.io/etcd:3.5.16-0',
                command: ['etcd', '--cert-file=/etc/kubernetes/pki/etcd/server.crt'],
              },
            ],
          },
        },
      },
    };
    const report = scanDocuments([{ source: 'sts.yaml', document: 0, object: sts }], DEFAULT_POLICY, []);
    const fixes = report.results.flatMap((r) => r.findings.map((f) => f.remediation));
    expect(fixes.length).to.be.greaterThan(0);
    for (const fix of fixes) {
      expect(fix).to.contain('the pod template of StatefulSet tenant-a/etcd');
      expect(fix).not.to.match(/kubeadm|\/etc\/kubernetes\/manifests/);
    }
  });
});
