/**
 * What hosted control planes, etcd charts and operators really apply (test/fixtures/workloads,
 * modeled on their public sources: SOURCES.md there), and the verdicts a careful human gives each.
 */
import { expect } from 'chai';
import { loadInputs } from '../src/input/manifests.js';
import { DEFAULT_POLICY } from '../src/policy/policy.js';
import { scanDocuments } from '../src/scan/scan.js';
import { fixturePath } from './helpers.js';

type Status = 'pass' | 'fail' | 'unknown' | 'not-applicable';

interface Expected {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly why: string;
  /** Container → every finding's status (one status for all rules), or nothing judged at all. */
  readonly containers: Readonly<Record<string, Status>>;
  readonly message?: RegExp;
}

const CASES: Expected[] = [
  {
    file: 'hypershift-etcd.yaml',
    kind: 'StatefulSet',
    name: 'etcd',
    why: 'ETCD_* variables with TLS and client certificates on both sides; https://$(POD_IP) keeps its scheme; the reset-member script runs etcdctl, the metrics sidecar is a grpc-proxy',
    containers: { etcd: 'pass' },
  },
  {
    file: 'kamaji-etcd.yaml',
    kind: 'StatefulSet',
    name: 'kamaji-etcd',
    why: 'flags with TLS and client certificates on both sides, three members',
    containers: { etcd: 'pass' },
  },
  {
    file: 'kamaji-etcd.yaml',
    kind: 'CronJob',
    name: 'kamaji-etcd-defrag',
    why: 'etcdctl in the etcd image is a client, not a server',
    containers: {},
  },
  {
    file: 'bitnami-etcd.yaml',
    kind: 'StatefulSet',
    name: 'etcd-secure',
    why: "the image's run.sh decides what etcd reads (defaults, *_FILE variables, a config file when one exists)",
    containers: { etcd: 'unknown' },
    message: /run\.sh/,
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
      expect(Object.fromEntries(judged.map((r) => [r.container, [...new Set(r.findings.map((f) => f.status))].join(',')]))).to.deep.equal(
        c.containers,
      );
      if (c.message !== undefined) for (const r of judged) for (const f of r.findings) expect(f.message).to.match(c.message);
      for (const r of judged) for (const f of r.findings) expect(f.remediation, f.rule).to.contain(`the pod template of ${c.kind}`);
    });
  }
});
