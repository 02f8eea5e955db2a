import { expect } from 'chai';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { auditPods } from '../../src/audit/audit.js';
import { nodePolicyReport, policyReports, resultOf, type PolicyResult } from '../../src/report/policy-report.js';
import type { Pod } from '../../src/launch/pod.js';
import { DEFAULT_POLICY, policyFromObject } from '../../src/policy/policy.js';
import { KUBEADM_ETCD_FLAGS, loadFixture, podWith, withFlags } from '../helpers.js';

/** The first kubeadm control-plane node of an HA cluster: still a one-member --initial-cluster; peers not authenticated. */
function firstNodeWithoutPeerAuth(name: string): Pod {
  return podWith({ name, command: ['etcd', ...withFlags(KUBEADM_ETCD_FLAGS, { 'peer-client-cert-auth': null })], mirror: true });
}

describe('audit of running pods', () => {
  it('one etcd pod alone with a one-member --initial-cluster: peer rules do not apply', () => {
    const report = auditPods([firstNodeWithoutPeerAuth('etcd-cp-1')], DEFAULT_POLICY, 'cluster:test');
    const peer = report.results[0]?.findings.find((f) => f.rule === 'etcd-peer-client-cert-auth');
    expect(peer?.status).to.equal('not-applicable');
  });

  it('several etcd pods in one namespace: membership follows the cluster, peer rules apply to each', () => {
    const report = auditPods(
      [firstNodeWithoutPeerAuth('etcd-cp-1'), loadFixture('kubeadm/etcd-ha-member.yaml')],
      DEFAULT_POLICY,
      'cluster:test',
    );
    const first = report.results.find((r) => r.name === 'etcd-cp-1');
    expect(first?.findings.find((f) => f.rule === 'etcd-peer-client-cert-auth')?.status).to.equal('fail');
    expect(report.summary).to.deep.include({ documents: 2, checked: 2, denied: 1 });
  });

  it('etcd pods in different namespaces are different clusters', () => {
    const other = { ...firstNodeWithoutPeerAuth('etcd-0'), metadata: { name: 'etcd-0', namespace: 'lab' } };
    const report = auditPods([firstNodeWithoutPeerAuth('etcd-cp-1'), other], DEFAULT_POLICY, 'cluster:test');
    for (const r of report.results)
      expect(r.findings.find((f) => f.rule === 'etcd-peer-client-cert-auth')?.status, r.name ?? '').to.equal('not-applicable');
  });

  it('an explicit etcdTopology in the policy wins over what the cluster shows', () => {
    const policy = policyFromObject({ etcdTopology: 'single' });
    const report = auditPods([firstNodeWithoutPeerAuth('etcd-cp-1'), firstNodeWithoutPeerAuth('etcd-cp-2')], policy, 'cluster:test');
    expect(report.results[0]?.findings.find((f) => f.rule === 'etcd-peer-client-cert-auth')?.status).to.equal('not-applicable');
  });

  it('pods that run neither etcd nor kube-apiserver are counted, not checked', () => {
    const report = auditPods([loadFixture('other/nginx.yaml')], DEFAULT_POLICY, 'cluster:test');
    expect(report.summary).to.deep.include({ documents: 1, checked: 0 });
  });
});

describe('the two report APIs', () => {
  it('OpenReports and wgpolicyk8s.io reports differ only in apiVersion and kind: the same results, summary and scope', () => {
    const report = auditPods([loadFixture('insecure/etcd-plaintext.yaml')], DEFAULT_POLICY, 'cluster:test');
    const at = new Date('2026-11-22T12:00:00Z');
    const [openreports] = policyReports(report, at, new Map(), [], 'openreports');
    const [wg] = policyReports(report, at, new Map(), [], 'wgpolicyk8s');
    expect([openreports?.apiVersion, openreports?.kind]).to.deep.equal(['openreports.io/v1alpha1', 'Report']);
    expect([wg?.apiVersion, wg?.kind]).to.deep.equal(['wgpolicyk8s.io/v1alpha2', 'PolicyReport']);
    expect({ ...openreports, apiVersion: '', kind: '' }).to.deep.equal({ ...wg, apiVersion: '', kind: '' });
    const node = nodePolicyReport(report, 'cp-1', at, 'openreports');
    expect([node.apiVersion, node.kind]).to.deep.equal(['openreports.io/v1alpha1', 'ClusterReport']);
    expect(nodePolicyReport(report, 'cp-1', at, 'wgpolicyk8s').kind).to.equal('ClusterPolicyReport');
  });
});

describe('PolicyReport (wgpolicyk8s.io/v1alpha2)', () => {
  const table: [string, 'pass' | 'fail' | 'unknown' | 'not-applicable', 'enforce' | 'warn' | 'audit' | 'off', PolicyResult][] = [
    ['a pass', 'pass', 'enforce', 'pass'],
    ['a failing control, enforced', 'fail', 'enforce', 'fail'],
    ['a failing control, only warned: still a failing control', 'fail', 'warn', 'fail'],
    ['a value that cannot be verified', 'unknown', 'enforce', 'warn'],
    ['a rule that does not apply', 'not-applicable', 'enforce', 'skip'],
    ['a rule turned off', 'fail', 'off', 'skip'],
  ];
  for (const [what, status, action, result] of table) {
    it(`${what} → ${result}`, () => {
      expect(resultOf({ status, action })).to.equal(result);
    });
  }

  it('one report per namespace, results per rule and pod with the pod uid and CIS numbers, summary counted', () => {
    const report = auditPods(
      [loadFixture('insecure/etcd-plaintext.yaml'), loadFixture('kubeadm/kube-apiserver.yaml')],
      DEFAULT_POLICY,
      'cluster:test',
    );
    const uids = new Map([['kube-system/etcd-cp-1', '1f0c3c2e-0000-4000-8000-000000000001']]);
    const [pr, ...more] = policyReports(report, new Date('2026-11-22T12:00:00Z'), uids);
    expect(more).to.have.length(0);
    expect(pr?.metadata).to.deep.equal({
      name: 'etcd-tls-guard',
      namespace: 'kube-system',
      labels: { 'app.kubernetes.io/managed-by': 'etcd-tls-guard' },
    });
    const clientCertAuth = pr?.results.find((r) => r.rule === 'etcd-client-cert-auth');
    expect(clientCertAuth).to.deep.include({
      result: 'fail',
      policy: 'etcd-tls-guard',
      source: 'etcd-tls-guard',
      scored: true,
      timestamp: { seconds: 1795348800, nanos: 0 },
    });
    expect(clientCertAuth?.resources).to.deep.equal([
      { apiVersion: 'v1', kind: 'Pod', namespace: 'kube-system', name: 'etcd-cp-1', uid: '1f0c3c2e-0000-4000-8000-000000000001' },
    ]);
    expect(clientCertAuth?.properties).to.deep.include({ cis: '2.2', 'cis-1.5.1': '2.2', component: 'etcd', action: 'enforce' });
    expect(clientCertAuth?.message).to.contain('Fix:');
    const counted = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of pr?.results ?? []) counted[r.result]++;
    expect(pr?.summary).to.deep.equal(counted);
    expect(pr?.summary.fail).to.be.greaterThan(0);
  });

  it('a namespace that was read and is now clean gets an empty report (stale results are replaced)', () => {
    const report = auditPods([loadFixture('other/nginx.yaml')], DEFAULT_POLICY, 'cluster:test');
    const reports = policyReports(report, new Date(), new Map(), ['kube-system']);
    expect(reports.map((r) => [r.metadata.namespace, r.results.length, r.summary.fail])).to.deep.equal([['kube-system', 0, 0]]);
  });
});

describe('etcd-tls-guard audit without credentials', () => {
  const run = async (argv: string[], env: Record<string, string>): Promise<{ code: number; err: string }> => {
    let err = '';
    const code = await main(argv, { out: () => {}, err: (t) => (err += t), env, readStdin: () => Promise.resolve('') });
    return { code, err };
  };

  it('no kubeconfig anywhere: exit 2, saying where it looked (not client-node’s http://localhost:8080)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'etg-home-'));
    const r = await run(['audit'], { HOME: home });
    expect(r.code).to.equal(2);
    expect(r.err).to.contain('no kubeconfig found (looked at --kubeconfig, KUBECONFIG, ~/.kube/config and the in-cluster service account)');
    expect(r.err).not.to.match(/localhost:8080|HTTP protocol is not allowed/);
  });

  it('a --kubeconfig that cannot be read: exit 2, naming it', async () => {
    const r = await run(['audit', '--kubeconfig', '/nonexistent/kubeconfig'], {});
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/cannot load the kubeconfig: .*\/nonexistent\/kubeconfig/);
  });
});
