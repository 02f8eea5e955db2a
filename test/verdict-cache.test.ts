/**
 * The verdict cache (src/judgement/verdict-cache.ts) answers exactly what judgePod answers — for
 * any pod, policy and facts, in any order, through evictions and policy reloads — within its
 * bounds, and the webhook answers each request with its own uid whatever the cache holds.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { generateDevCertificates } from '../src/certs/dev.js';
import { servingMaterial } from '../src/certs/serving.js';
import { judgePod, type PodFacts } from '../src/judgement/judge.js';
import { KEYED_FIELDS, podKey, VERDICT_BYTES_ESTIMATE, VerdictCache } from '../src/judgement/verdict-cache.js';
import { readdirSync } from 'node:fs';
import type { Pod } from '../src/launch/pod.js';
import { silentLogger } from '../src/log.js';
import { DEFAULT_POLICY, policyFromObject, type Policy } from '../src/policy/policy.js';
import { startServer } from '../src/webhook/serve.js';
import { admissionReviewJson, KUBELET_USER, postReview } from './admission.js';
import { etcdPod, fixturePath, KUBEADM_ETCD_FLAGS, loadFixture, withFlags } from './helpers.js';

const RUNS = 200;

const compliant = etcdPod(KUBEADM_ETCD_FLAGS, { mirror: true, nodeName: 'cp-1' });
const noClientAuth = etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { 'client-cert-auth': 'false' }), { mirror: true, nodeName: 'cp-1' });

/** The same pod as the API server would send it again: new uid, timestamp, resourceVersion, finalizers. */
function resent(pod: Pod, n: number): Pod {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      uid: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
      ...({ resourceVersion: String(1000 + n), creationTimestamp: `2026-11-30T19:${String(n % 60).padStart(2, '0')}:00Z`, generation: n, finalizers: [`f${n}`] } as object),
    },
  };
}

const verdictText = (pod: Pod, policy: Policy, facts: PodFacts, cache?: VerdictCache): string => JSON.stringify(cache === undefined ? judgePod(pod, policy, facts) : cache.judge(pod, policy, facts));

describe('verdict cache', () => {
  it('property: any sequence of pods, policies and facts gets exactly judgePod’s verdicts, through evictions and reloads', () => {
    // Small pools so that the same inputs come back (hits), with every input that can change a
    // verdict varied: flags, env, labels and annotations read by fieldRef and the fix location,
    // namespace and name (exemptions), node name, the facts — and the API server's own fields,
    // which must not matter.
    const flagValue = fc.constantFrom<string | null>('true', 'false', '1', null);
    const shape = fc.record({
      clientCertAuth: flagValue,
      autoTls: fc.constantFrom<string | null>('true', null),
      peerClientCertAuth: fc.constantFrom<string | null>('true', null),
      envAuth: fc.constantFrom<string | undefined>(undefined, 'true', 'false', '$(A)'),
      namespace: fc.constantFrom('kube-system', 'exempt'),
      name: fc.constantFrom('etcd-cp-1', 'etcd-cp-2'),
      label: fc.constantFrom<string | undefined>(undefined, 'true', 'false'),
      kubeadmAnnotation: fc.boolean(),
      nodeName: fc.constantFrom<string | undefined>(undefined, 'cp-1'),
      resentAs: fc.nat({ max: 1_000_000 }),
    });
    type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;
    const podOf = (o: Shape): Pod => {
      const base = etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { 'client-cert-auth': o.clientCertAuth, 'auto-tls': o.autoTls, 'peer-client-cert-auth': o.peerClientCertAuth }), {
        namespace: o.namespace,
        name: o.name,
        mirror: true,
        ...(o.nodeName !== undefined ? { nodeName: o.nodeName } : {}),
        env: [
          { name: 'A', valueFrom: { fieldRef: { fieldPath: "metadata.labels['auth']" } } },
          ...(o.envAuth !== undefined ? [{ name: 'ETCD_CLIENT_CERT_AUTH', value: o.envAuth }] : []),
        ],
      });
      const withMeta: Pod = {
        ...base,
        metadata: {
          ...base.metadata,
          ...(o.label !== undefined ? { labels: { auth: o.label } } : {}),
          annotations: { ...base.metadata?.annotations, ...(o.kubeadmAnnotation ? { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': 'https://10.0.0.11:2379' } : {}) },
        },
      };
      return resent(withMeta, o.resentAs);
    };
    // A pool of near-twins: one pod and variants that each differ from it in one input, so a key
    // that leaves an input out returns a twin's verdict.
    const pool = fc
      .tuple(shape, fc.array(fc.tuple(fc.constantFrom<keyof Shape>('clientCertAuth', 'autoTls', 'peerClientCertAuth', 'envAuth', 'namespace', 'name', 'label', 'kubeadmAnnotation', 'nodeName', 'resentAs'), shape), { minLength: 1, maxLength: 3 }))
      .map(([first, changes]) => [first, ...changes.map(([field, other]) => ({ ...first, [field]: other[field] }))].map(podOf));
    const policies: Policy[] = [
      DEFAULT_POLICY,
      policyFromObject({ defaultAction: 'warn' }),
      policyFromObject({ exemptions: [{ namespace: 'exempt', name: '*', reason: 'test' }] }),
      policyFromObject({ kubeletMirrorPods: 'enforce', actions: { 'etcd-auto-tls': 'audit' } }),
    ];
    const step = fc.record({ pod: fc.nat(), policy: fc.nat({ max: policies.length - 1 }), kubeletMirror: fc.boolean(), previous: fc.option(fc.nat(), { nil: undefined }), members: fc.option(fc.constantFrom(0, 1, 3), { nil: undefined }) });
    let hits = 0;
    fc.assert(
      fc.property(pool, fc.array(step, { minLength: 1, maxLength: 30 }), (pods, steps) => {
        const cache = new VerdictCache({ maxEntries: 4, maxBytes: 1024 * 1024, maxKeyBytes: 64 * 1024 });
        for (const s of steps) {
          const pod = pods[s.pod % pods.length] as Pod;
          const policy = policies[s.policy] as Policy;
          const facts: PodFacts = {
            kubeletMirror: s.kubeletMirror,
            ...(s.previous !== undefined ? { previous: pods[s.previous % pods.length] } : {}),
            ...(s.members !== undefined ? { observedEtcdMembers: s.members } : {}),
          };
          expect(verdictText(pod, policy, facts, cache)).to.equal(verdictText(pod, policy, facts));
          // Asked again at once (now kept) and a third time (now from the cache): still the same.
          expect(verdictText(pod, policy, facts, cache)).to.equal(verdictText(pod, policy, facts));
          expect(verdictText(pod, policy, facts, cache)).to.equal(verdictText(pod, policy, facts));
          expect(cache.stats().entries).to.be.at.most(4);
        }
        hits += cache.stats().hits;
      }),
      { numRuns: RUNS },
    );
    expect(hits, 'the sequences reached the cache').to.be.at.least(RUNS);
  });

  /**
   * The pod wrapped so that every property read is recorded as a path (array indices as `*`):
   * what judgePod really reads, not what we think it reads.
   */
  function recordingReads(pod: Pod): { pod: Pod; reads: Set<string> } {
    const reads = new Set<string>();
    const wrap = (value: unknown, path: string): unknown => {
      if (typeof value !== 'object' || value === null) return value;
      return new Proxy(value, {
        get(target, prop, receiver) {
          const child: unknown = Reflect.get(target, prop, receiver);
          if (typeof prop === 'symbol' || typeof child === 'function') return child;
          const segment = Array.isArray(target) && /^[0-9]+$/.test(prop) ? '*' : prop;
          const childPath = path === '' ? segment : `${path}.${segment}`;
          reads.add(childPath);
          return wrap(child, childPath);
        },
      });
    };
    return { pod: wrap(pod, '') as Pod, reads };
  }

  it('the key covers every field judgePod reads, on every fixture of every distribution', () => {
    const dirs = ['kubeadm', 'insecure', 'other', 'distributions', 'node'];
    const pods = dirs.flatMap((dir) => readdirSync(fixturePath(dir)).filter((f) => f.endsWith('.yaml') && f !== 'control-plane-list.yaml' && !f.includes('config')).map((f) => loadFixture(`${dir}/${f}`)));
    expect(pods.length).to.be.at.least(25);
    const covered = (path: string): boolean =>
      KEYED_FIELDS.some((k) => path === k || path.startsWith(`${k}.`) || k.startsWith(`${path}.`)) || path === 'spec.containers.length' || path === 'spec.initContainers.length';
    const uncovered = new Set<string>();
    let judged = 0;
    for (const fixture of pods.filter((p) => p.kind === 'Pod')) {
      for (const facts of [{}, { kubeletMirror: true }, { previous: fixture }, { observedEtcdMembers: 3 }] as PodFacts[]) {
        const { pod, reads } = recordingReads(fixture);
        const verdict = judgePod(pod, DEFAULT_POLICY, facts);
        // Read the whole verdict, as the webhook and the reports do (remediation is computed when read).
        JSON.stringify(verdict);
        if (verdict.results.length > 0) judged++;
        for (const path of reads) if (!covered(path)) uncovered.add(path);
      }
    }
    expect(judged).to.be.at.least(80);
    expect([...uncovered], 'fields judgePod reads that the verdict cache does not key on').to.deep.equal([]);
  });

  it('each keyed field changes the key, and a pod that differs from a kept one in any of them is judged anew', () => {
    const base = etcdPod(KUBEADM_ETCD_FLAGS, { mirror: true, nodeName: 'cp-1' });
    const withInit: Pod = { ...base, spec: { ...base.spec, initContainers: [{ ...(base.spec.containers[0] as Pod['spec']['containers'][number]), name: 'init' }] } };
    const set = (pod: Pod, path: string, value: unknown): Pod => {
      const copy = JSON.parse(JSON.stringify(pod)) as Record<string, unknown>;
      const parts = path.split('.').map((p) => (p === '*' ? '0' : p));
      let node = copy;
      for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
      node[parts[parts.length - 1] as string] = value;
      return copy as unknown as Pod;
    };
    // A value of the field's own type, so that the changed pod can be judged.
    const changedValue = (field: string): unknown => {
      const last = field.split('.').pop();
      if (last === 'labels' || last === 'annotations') return { changed: 'true' };
      if (last === 'ownerReferences') return [{ apiVersion: 'v1', kind: 'Node', name: 'changed', uid: 'u', controller: true }];
      if (last === 'hostNetwork') return false;
      if (last === 'env') return [{ name: 'CHANGED', value: 'true' }];
      if (last === 'envFrom') return [{ configMapRef: { name: 'changed' } }];
      if (last === 'command' || last === 'args') return ['etcd', '--changed=true'];
      return 'changed';
    };
    for (const field of KEYED_FIELDS) {
      const pod = field.startsWith('spec.initContainers') ? withInit : base;
      const changed = set(pod, field, changedValue(field));
      expect(podKey(changed), field).to.not.equal(podKey(pod));
      const cache = new VerdictCache();
      cache.judge(pod, DEFAULT_POLICY);
      cache.judge(pod, DEFAULT_POLICY); // kept
      cache.judge(changed, DEFAULT_POLICY);
      expect(cache.stats(), field).to.deep.include({ hits: 0, misses: 3 });
      cache.judge(JSON.parse(JSON.stringify(pod)) as Pod, DEFAULT_POLICY); // an equal copy: a hit
      expect(cache.stats().hits, field).to.equal(1);
    }
  });

  describe('every input the verdict depends on is in the key: twins that differ in one input get their own verdicts', () => {
    const failing = withFlags(KUBEADM_ETCD_FLAGS, { 'client-cert-auth': 'false' });
    const fromLabel = (value: string): Pod => {
      const pod = etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { 'client-cert-auth': null }), { env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: "metadata.labels['auth']" } } }, { name: 'ETCD_CLIENT_CERT_AUTH', value: '$(A)' }] });
      return { ...pod, metadata: { ...pod.metadata, labels: { auth: value } } };
    };
    const annotated = (pod: Pod): Pod => ({ ...pod, metadata: { ...pod.metadata, annotations: { 'talos.dev/config-version': '1' } } });
    const exemptions = policyFromObject({ exemptions: [{ namespace: 'exempt', name: 'etcd-special', reason: 'test' }] });
    const noPeerAuth = etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { 'peer-client-cert-auth': null }));
    const twins: ReadonlyArray<readonly [string, Pod, Pod, Policy, PodFacts, PodFacts]> = [
      ['a flag', compliant, noClientAuth, DEFAULT_POLICY, {}, {}],
      ['a label read by fieldRef', fromLabel('true'), fromLabel('false'), DEFAULT_POLICY, {}, {}],
      ['an annotation (where the fix goes)', etcdPod(failing), annotated(etcdPod(failing)), DEFAULT_POLICY, {}, {}],
      ['the namespace (exemptions)', etcdPod(failing, { namespace: 'exempt', name: 'etcd-special' }), etcdPod(failing, { namespace: 'kube-system', name: 'etcd-special' }), exemptions, {}, {}],
      ['the name (exemptions)', etcdPod(failing, { namespace: 'exempt', name: 'etcd-special' }), etcdPod(failing, { namespace: 'exempt', name: 'etcd-other' }), exemptions, {}, {}],
      ['the node name (in the fix)', etcdPod(failing, { nodeName: 'cp-1' }), etcdPod(failing, { nodeName: 'cp-2' }), DEFAULT_POLICY, {}, {}],
      ['the etcd members observed', noPeerAuth, noPeerAuth, DEFAULT_POLICY, { observedEtcdMembers: 1 }, { observedEtcdMembers: 3 }],
      ['the kubelet writing its mirror pod', noClientAuth, noClientAuth, DEFAULT_POLICY, { kubeletMirror: false }, { kubeletMirror: true }],
      ['the pod before an UPDATE', noClientAuth, noClientAuth, DEFAULT_POLICY, { previous: compliant }, { previous: noClientAuth }],
    ];
    for (const [input, a, b, policy, factsA, factsB] of twins) {
      it(input, () => {
        const expectedB = verdictText(b, policy, factsB);
        expect(expectedB, 'the twins are judged differently').to.not.equal(verdictText(a, policy, factsA));
        const cache = new VerdictCache();
        cache.judge(a, policy, factsA);
        cache.judge(a, policy, factsA); // seen twice: kept
        expect(verdictText(b, policy, factsB, cache)).to.equal(expectedB);
        expect(cache.stats()).to.deep.include({ hits: 0, misses: 3 });
      });
    }
  });

  it('keeps a verdict on the pod’s second sighting and answers the third from the cache, whatever uid, timestamp and resourceVersion the API server gave it', () => {
    const cache = new VerdictCache();
    cache.judge(resent(compliant, 1), DEFAULT_POLICY);
    expect(cache.stats()).to.deep.include({ hits: 0, misses: 1, entries: 0 });
    const kept = cache.judge(resent(compliant, 2), DEFAULT_POLICY);
    expect(cache.stats()).to.deep.include({ hits: 0, misses: 2, entries: 1 });
    expect(cache.judge(resent(compliant, 3), DEFAULT_POLICY)).to.equal(kept);
    expect(cache.stats()).to.deep.include({ hits: 1, misses: 2, entries: 1 });
  });

  it('keeps nothing for pods judged once, however many', () => {
    const cache = new VerdictCache({ maxEntries: 10, maxBytes: 1024 * 1024, maxKeyBytes: 64 * 1024 });
    for (let i = 0; i < 100; i++) cache.judge(etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { 'snapshot-count': String(i) })), DEFAULT_POLICY);
    expect(cache.stats()).to.deep.include({ entries: 0, bytes: 0, misses: 100 });
  });

  /** Judged twice: kept. */
  const keep = (cache: VerdictCache, pod: Pod, policy: Policy, facts: PodFacts = {}): void => {
    cache.judge(pod, policy, facts);
    cache.judge(pod, policy, facts);
  };

  it('is never stale: a reloaded policy, a changed flag, the kubelet’s identity or the previous pod change the verdict', () => {
    const cache = new VerdictCache();
    keep(cache, noClientAuth, DEFAULT_POLICY);
    expect(cache.judge(noClientAuth, DEFAULT_POLICY).allowed).to.equal(false);
    expect(cache.stats().hits).to.equal(1);
    // A reload: a new policy object; the cache is emptied and the pod judged under it.
    const warnOnly = policyFromObject({ defaultAction: 'warn' });
    expect(cache.judge(noClientAuth, warnOnly).allowed).to.equal(true);
    expect(cache.stats().entries).to.equal(0);
    keep(cache, noClientAuth, DEFAULT_POLICY);
    expect(cache.judge(noClientAuth, DEFAULT_POLICY).allowed).to.equal(false);
    // The flag fixed: a different pod.
    expect(cache.judge(compliant, DEFAULT_POLICY).allowed).to.equal(true);
    // The kubelet writing its own mirror pod: audited by default, not denied.
    keep(cache, noClientAuth, DEFAULT_POLICY, { kubeletMirror: true });
    expect(cache.judge(noClientAuth, DEFAULT_POLICY, { kubeletMirror: true }).allowed).to.equal(true);
    expect(cache.judge(noClientAuth, DEFAULT_POLICY, { kubeletMirror: false }).allowed).to.equal(false);
    // An UPDATE of a pod that already failed the rule: warned (ratcheting), not denied.
    keep(cache, noClientAuth, DEFAULT_POLICY, { previous: noClientAuth });
    expect(cache.judge(noClientAuth, DEFAULT_POLICY, { previous: noClientAuth }).allowed).to.equal(true);
    expect(cache.judge(noClientAuth, DEFAULT_POLICY, { previous: compliant }).allowed).to.equal(false);
  });

  it('keeps at most maxEntries verdicts and maxBytes, the oldest unused one out first (second chance)', () => {
    // One pod per control-plane node, each its own name, as the kubelets create them.
    const pods = Array.from({ length: 6 }, (_, i) => etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { name: `cp-${i}` }), { name: `etcd-cp-${i}` }));
    const cache = new VerdictCache({ maxEntries: 3, maxBytes: 1024 * 1024, maxKeyBytes: 64 * 1024 });
    for (const p of pods.slice(0, 3)) keep(cache, p, DEFAULT_POLICY);
    cache.judge(pods[0] as Pod, DEFAULT_POLICY); // used: now the most recent
    keep(cache, pods[3] as Pod, DEFAULT_POLICY); // spares pods[0] (used), evicts pods[1], the oldest unused
    expect(cache.stats()).to.deep.include({ entries: 3, hits: 1, misses: 8 });
    cache.judge(pods[0] as Pod, DEFAULT_POLICY);
    expect(cache.stats().hits).to.equal(2);
    cache.judge(pods[1] as Pod, DEFAULT_POLICY);
    expect(cache.stats().misses).to.equal(9);

    const key = JSON.stringify(compliant).length;
    const byBytes = new VerdictCache({ maxEntries: 100, maxBytes: 2 * (key + VERDICT_BYTES_ESTIMATE) + 100, maxKeyBytes: 64 * 1024 });
    for (const p of pods) keep(byBytes, p, DEFAULT_POLICY);
    expect(byBytes.stats().entries).to.equal(2);
    expect(byBytes.stats().bytes).to.be.at.most(byBytes.limits.maxBytes);

    // Every kept verdict used: each is spared once, then the oldest goes; never the one just kept.
    const allUsed = new VerdictCache({ maxEntries: 2, maxBytes: 1024 * 1024, maxKeyBytes: 64 * 1024 });
    keep(allUsed, pods[0] as Pod, DEFAULT_POLICY);
    keep(allUsed, pods[1] as Pod, DEFAULT_POLICY);
    allUsed.judge(pods[0] as Pod, DEFAULT_POLICY);
    allUsed.judge(pods[1] as Pod, DEFAULT_POLICY);
    keep(allUsed, pods[2] as Pod, DEFAULT_POLICY);
    expect(allUsed.stats()).to.deep.include({ entries: 2, hits: 2 });
    allUsed.judge(pods[2] as Pod, DEFAULT_POLICY);
    allUsed.judge(pods[1] as Pod, DEFAULT_POLICY);
    expect(allUsed.stats().hits).to.equal(4);
    allUsed.judge(pods[0] as Pod, DEFAULT_POLICY);
    expect(allUsed.stats().hits).to.equal(4);

    // A byte limit below one verdict keeps none.
    const tooSmall = new VerdictCache({ maxEntries: 100, maxBytes: VERDICT_BYTES_ESTIMATE, maxKeyBytes: 64 * 1024 });
    keep(tooSmall, pods[0] as Pod, DEFAULT_POLICY);
    expect(tooSmall.stats()).to.deep.include({ entries: 0, bytes: 0 });
  });

  it('one verdict per pod name: a pod changed under its name replaces its kept verdict, and is never answered with it', () => {
    // Same name, same key length (cp-1 → cp-2), another verdict input changed in the command.
    const before = etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { name: 'cp-1' }));
    const after = etcdPod(withFlags(KUBEADM_ETCD_FLAGS, { name: 'cp-2', 'client-cert-auth': 'fals' }));
    const cache = new VerdictCache();
    keep(cache, before, DEFAULT_POLICY);
    expect(cache.stats()).to.deep.include({ entries: 1 });
    keep(cache, after, DEFAULT_POLICY);
    expect(cache.stats()).to.deep.include({ entries: 1, hits: 0 });
    expect(JSON.stringify(cache.judge(after, DEFAULT_POLICY))).to.equal(JSON.stringify(judgePod(after, DEFAULT_POLICY)));
    expect(cache.stats().hits).to.equal(1);
    // The first again: judged anew (its verdict was replaced), not answered with the other's.
    expect(JSON.stringify(cache.judge(before, DEFAULT_POLICY))).to.equal(JSON.stringify(judgePod(before, DEFAULT_POLICY)));
    expect(cache.stats().hits).to.equal(1);
    expect(cache.stats().bytes).to.equal(cache.stats().entries * (podKey(before).length + 2 + VERDICT_BYTES_ESTIMATE));
  });

  it('judges a pod larger than maxKeyBytes without keeping it, and keeps nothing when switched off', () => {
    const large = etcdPod([...KUBEADM_ETCD_FLAGS, `--log-outputs=${'x'.repeat(70 * 1024)}`]);
    const cache = new VerdictCache();
    expect(JSON.stringify(cache.judge(large, DEFAULT_POLICY))).to.equal(JSON.stringify(judgePod(large, DEFAULT_POLICY)));
    expect(cache.stats()).to.deep.include({ entries: 0, uncacheable: 1 });
    const off = new VerdictCache({ maxEntries: 0, maxBytes: 0, maxKeyBytes: 0 });
    off.judge(compliant, DEFAULT_POLICY);
    off.judge(compliant, DEFAULT_POLICY);
    expect(off.stats()).to.deep.include({ entries: 0, hits: 0, uncacheable: 2 });
  });

  it('the webhook answers each request with its own uid and identity, whatever the cache holds', async () => {
    const certs = generateDevCertificates(['localhost', '127.0.0.1']);
    const cache = new VerdictCache();
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      material: servingMaterial(certs.server.certPem, certs.server.keyPem),
      policy: () => DEFAULT_POLICY,
      logger: silentLogger,
      judge: (pod, policy, facts) => cache.judge(pod, policy, facts),
    });
    try {
      const answer = async (uid: string, userInfo?: object): Promise<{ uid: string; allowed: boolean }> => {
        const res = await postReview(server.url, admissionReviewJson(noClientAuth, { uid, ...(userInfo !== undefined ? { userInfo } : {}) }), { ca: certs.ca.certPem });
        return (JSON.parse(res.body) as { response: { uid: string; allowed: boolean } }).response;
      };
      expect(await answer('uid-1')).to.deep.include({ uid: 'uid-1', allowed: false });
      expect(await answer('uid-2')).to.deep.include({ uid: 'uid-2', allowed: false });
      expect(await answer('uid-3')).to.deep.include({ uid: 'uid-3', allowed: false });
      expect(cache.stats().hits).to.equal(1);
      // The same pod from its kubelet: another fact, another verdict (audited, allowed).
      expect(await answer('uid-4', KUBELET_USER)).to.deep.include({ uid: 'uid-4', allowed: true });
    } finally {
      await server.close(1000);
    }
  });
});
