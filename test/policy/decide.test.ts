import { expect } from 'chai';
import { decide, WARNING_MAX, WARNINGS_TOTAL_MAX, type RequestFacts } from '../../src/policy/decide.js';
import { evaluatePod, type PodEvaluation } from '../../src/rules/evaluate.js';
import { policyFromObject } from '../../src/policy/policy.js';
import { etcdPod, KUBEADM_ETCD_FLAGS, loadFixture, withFlags } from '../helpers.js';

const NOT_KUBELET: RequestFacts = { kubeletMirror: false };

/** etcd failing exactly CIS 2.2 (client-cert-auth absent, CA file keeps verification on). */
function failing22(): PodEvaluation {
  return evaluatePod(etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { 'client-cert-auth': null }), { mirror: true, nodeName: 'cp-1' }), {
    etcdTopology: 'auto',
  });
}

/** The plaintext fixture: six failing rules. */
function plaintext(): PodEvaluation {
  return evaluatePod(loadFixture('insecure/etcd-plaintext.yaml'), { etcdTopology: 'auto' });
}

describe('decisions', () => {
  it('a compliant pod is allowed with nothing to say', () => {
    const d = decide(evaluatePod(loadFixture('kubeadm/etcd.yaml'), { etcdTopology: 'auto' }), policyFromObject({}), NOT_KUBELET);
    expect(d).to.deep.include({ allowed: true, warnings: [], auditAnnotations: {} });
  });

  it('a decided finding reads, compares and serializes with every field (the remediation is found when read)', () => {
    const d = decide(failing22(), policyFromObject({}), NOT_KUBELET);
    const f = d.results[0]?.findings.find((x) => x.rule === 'etcd-client-cert-auth');
    const fields = { rule: 'etcd-client-cert-auth', status: 'fail', action: 'enforce', effectiveAction: 'enforce' };
    expect(f).to.deep.include(fields);
    expect(f?.remediation).to.match(/^Set --client-cert-auth=true in \/etc\/kubernetes\/manifests\/etcd.yaml on node cp-1/);
    const json = JSON.parse(JSON.stringify(f)) as Record<string, unknown>;
    expect(json).to.deep.include({ ...fields, remediation: f?.remediation, message: f?.message, evidence: f?.evidence });
    expect(Object.keys(json).sort()).to.deep.equal(['action', 'effectiveAction', 'evidence', 'message', 'remediation', 'rule', 'status']);
  });

  it('one failing enforced rule denies, naming the rule, CIS number, finding and fix', () => {
    const d = decide(failing22(), policyFromObject({}), NOT_KUBELET);
    expect(d.allowed).to.equal(false);
    expect(d.denialMessage).to.equal(
      'etcd-tls-guard: 1 etcd TLS control fails for pod kube-system/etcd-cp-1:\n' +
        '- [etcd-client-cert-auth] CIS 2.2: CIS 2.2 fails: --client-cert-auth is not set (defaults to false); client certificates are nevertheless verified because --trusted-ca-file is set. ' +
        "Fix: Set --client-cert-auth=true in /etc/kubernetes/manifests/etcd.yaml on node cp-1, and in kubeadm's ClusterConfiguration (etcd.local.extraArgs) so that `kubeadm upgrade` keeps it",
    );
  });

  it('the denial lists every failing enforced rule', () => {
    const d = decide(plaintext(), policyFromObject({}), NOT_KUBELET);
    for (const rule of [
      'etcd-client-tls',
      'etcd-client-cert-auth',
      'etcd-peer-tls',
      'etcd-peer-client-cert-auth',
      'etcd-client-auth-effective',
      'etcd-peer-auth-effective',
    ]) {
      expect(d.denialMessage).to.contain(`[${rule}]`);
    }
  });

  it('One Deny, One Warn, One Audit: warnings ride along on a denial', () => {
    const policy = policyFromObject({
      actions: {
        'etcd-client-tls': 'enforce',
        'etcd-client-cert-auth': 'warn',
        'etcd-peer-tls': 'audit',
        'etcd-peer-client-cert-auth': 'off',
        'etcd-client-auth-effective': 'off',
        'etcd-peer-auth-effective': 'off',
      },
    });
    const d = decide(plaintext(), policy, NOT_KUBELET);
    expect(d.allowed).to.equal(false);
    expect(d.denialMessage).to.contain('[etcd-client-tls]').and.not.contain('[etcd-client-cert-auth]');
    expect(d.warnings).to.deep.equal(['etcd-client-cert-auth (CIS 2.2): --client-cert-auth is not set (defaults to false)']);
    expect(Object.keys(d.auditAnnotations).sort()).to.deep.equal(['etcd-client-cert-auth', 'etcd-client-tls', 'etcd-peer-tls']);
  });

  it('warn mode allows, one warning per finding, each self-contained and short', () => {
    const evaluation = plaintext();
    const d = decide(evaluation, policyFromObject({ defaultAction: 'warn' }), NOT_KUBELET);
    expect(d.allowed).to.equal(true);
    const failing = evaluation.results.flatMap((r) => r.findings).filter((f) => f.status === 'fail');
    expect(failing.length).to.be.at.least(6);
    expect(d.warnings).to.have.length(failing.length);
    for (const w of d.warnings) {
      expect(w.length).to.be.at.most(WARNING_MAX);
      expect(w).to.match(/^etcd-[a-z-]+ \((CIS 2\.\d|effective)\): /);
    }
  });

  it('a warning keeps to 120 characters where the first clause says it; the annotation keeps all', () => {
    const d = decide(failing22(), policyFromObject({ defaultAction: 'warn' }), NOT_KUBELET);
    expect(d.warnings).to.deep.equal(['etcd-client-cert-auth (CIS 2.2): --client-cert-auth is not set (defaults to false)']);
    expect(d.auditAnnotations['etcd-client-cert-auth']).to.contain('nevertheless verified because --trusted-ca-file is set');
  });

  it('audit mode allows with audit annotations keyed by rule id, and no warnings', () => {
    const d = decide(plaintext(), policyFromObject({ defaultAction: 'audit' }), NOT_KUBELET);
    expect(d.allowed).to.equal(true);
    expect(d.warnings).to.deep.equal([]);
    expect(d.auditAnnotations['etcd-client-cert-auth']).to.equal('fail: --client-cert-auth is not set (defaults to false)');
    for (const key of Object.keys(d.auditAnnotations)) {
      expect(key).to.not.contain('/');
      expect(key.length).to.be.at.most(63);
    }
  });

  it('off silences a rule entirely', () => {
    const d = decide(failing22(), policyFromObject({ actions: { 'etcd-client-cert-auth': 'off' } }), NOT_KUBELET);
    expect(d).to.deep.include({ allowed: true, warnings: [], auditAnnotations: {} });
  });

  it('a kubelet writing its mirror pod is allowed and audited by default', () => {
    const d = decide(failing22(), policyFromObject({}), { kubeletMirror: true });
    expect(d.allowed).to.equal(true);
    expect(d.auditAnnotations).to.have.key('etcd-client-cert-auth');
    expect(d.results.flatMap((r) => r.findings).find((f) => f.rule === 'etcd-client-cert-auth')?.note).to.contain('kubelet mirror pod');
  });

  it('kubeletMirrorPods: enforce applies the normal actions to the kubelet', () => {
    expect(decide(failing22(), policyFromObject({ kubeletMirrorPods: 'enforce' }), { kubeletMirror: true }).allowed).to.equal(false);
  });

  it('unknown findings take unknownAction (default warn)', () => {
    const pod = etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { 'auto-tls': null }), {
      env: [{ name: 'ETCD_AUTO_TLS', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    });
    const evaluation = evaluatePod(pod, { etcdTopology: 'auto' });
    const d = decide(evaluation, policyFromObject({}), NOT_KUBELET);
    expect(d.allowed).to.equal(true);
    expect(d.warnings).to.deep.equal(['etcd-auto-tls (CIS 2.3): cannot verify: ETCD_AUTO_TLS comes from secretKeyRef s/k']);
    expect(decide(evaluation, policyFromObject({ unknownAction: 'enforce' }), NOT_KUBELET).allowed).to.equal(false);
  });

  it('unknownAction is never stronger than the rule action', () => {
    const pod = etcdPod(KUBEADM_ETCD_FLAGS, { env: [{ name: 'ETCD_AUTO_TLS', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] });
    const d = decide(
      evaluatePod(pod, { etcdTopology: 'auto' }),
      policyFromObject({ unknownAction: 'enforce', actions: { 'etcd-auto-tls': 'audit' } }),
      NOT_KUBELET,
    );
    expect(d.allowed).to.equal(true);
    expect(d.results.flatMap((r) => r.findings).find((f) => f.rule === 'etcd-auto-tls')?.effectiveAction).to.equal('audit');
  });

  it('an exemption by namespace and name glob turns the finding off, with its reason', () => {
    const policy = policyFromObject({
      exemptions: [{ namespace: 'kube-*', name: 'etcd-cp-?', rules: ['etcd-client-cert-auth'], reason: 'migration, ticket OPS-42' }],
    });
    const d = decide(failing22(), policy, NOT_KUBELET);
    expect(d.allowed).to.equal(true);
    expect(d.results.flatMap((r) => r.findings).find((f) => f.rule === 'etcd-client-cert-auth')).to.deep.include({
      effectiveAction: 'off',
      note: 'exempted: migration, ticket OPS-42',
    });
  });

  it('an exemption for other rules does not apply', () => {
    const policy = policyFromObject({ exemptions: [{ namespace: 'kube-system', rules: ['etcd-auto-tls'], reason: 'x' }] });
    expect(decide(failing22(), policy, NOT_KUBELET).allowed).to.equal(false);
  });

  it('an UPDATE keeping an existing failure warns instead of denying (ratcheting)', () => {
    const d = decide(failing22(), policyFromObject({}), { kubeletMirror: false, preexisting: new Set(['etcd/etcd-client-cert-auth']) });
    expect(d.allowed).to.equal(true);
    expect(d.warnings[0]).to.contain('etcd-client-cert-auth');
  });

  it('warnings stay under the API server limits however many findings there are', () => {
    const many: PodEvaluation = {
      kind: 'Pod',
      namespace: 'kube-system',
      name: 'x',
      mirror: false,
      results: Array.from({ length: 40 }, (_, i) => ({
        component: 'etcd' as const,
        container: `etcd-${i}`,
        initContainer: false,
        origin: 'command/args',
        release: 'etcd 3.5.15 (image tag)',
        findings: plaintext().results[0]?.findings ?? [],
      })),
    };
    const d = decide(many, policyFromObject({ defaultAction: 'warn' }), NOT_KUBELET);
    const total = d.warnings.reduce((n, w) => n + w.length, 0);
    expect(total).to.be.below(WARNINGS_TOTAL_MAX);
    expect(d.warnings[d.warnings.length - 1]).to.match(/^etcd-tls-guard: \d+ more findings not shown; see the audit annotations$/);
    for (const w of d.warnings) expect(w.length).to.be.at.most(WARNING_MAX);
  });
});
