/**
 * The input stage (src/input/): the pod view every front door decodes into, the pod templates of
 * workloads, and the one decoding of an admission request — the same review decided the same by the
 * webhook and by `scan`, operation by operation and kind by kind.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSONSchemaType } from 'ajv';
import type { DevCertificates } from '../../src/certs/dev.js';
import { decodePod } from '../../src/input/pod.js';
import { decodePodOf, replicasOf, WORKLOAD_KINDS } from '../../src/input/workload.js';
import { parseManifestText } from '../../src/input/manifests.js';
import { checkAdmissionReview, type AdmissionRequest } from '../../src/input/admission-review.js';
import { nodeAt } from '../../src/input/positions.js';
import type { EnvFromSource, Pod } from '../../src/launch/pod.js';
import type { DecidedFinding } from '../../src/policy/decide.js';
import { DEFAULT_POLICY, policyFromObject, type Policy } from '../../src/policy/policy.js';
import { exitCodeOf, type ReportFinding } from '../../src/report/report.js';
import { scanDocuments } from '../../src/scan/scan.js';
import { admit, BadAdmissionRequest } from '../../src/webhook/admission.js';
import type { RunningServer } from '../../src/webhook/serve.js';
import { admissionReview, httpsRequest, KUBELET_USER } from '../admission.js';
import { FIXTURES, loadFixture } from '../helpers.js';
import { startTestServer } from '../webhook/server.js';

// A schema that leaves out a field of its type does not compile: the view and its schema cannot drift.
// @ts-expect-error: EnvFromSource's configMapRef and secretRef are missing
const incomplete: JSONSchemaType<EnvFromSource> = { type: 'object', properties: { prefix: { type: 'string', nullable: true } } };
void incomplete;

describe('the pod view (src/input/pod.ts)', () => {
  it('null optional fields are accepted as the API server accepts them, and left out of the view', () => {
    const decoded = decodePod(
      {
        metadata: { name: 'etcd-0', annotations: null, labels: null },
        spec: {
          nodeName: null,
          initContainers: null,
          containers: [{ name: 'etcd', image: null, command: ['etcd'], args: null, env: null, envFrom: null }],
        },
      },
      '',
    );
    expect(decoded).to.deep.equal({
      ok: true,
      value: { metadata: { name: 'etcd-0' }, spec: { containers: [{ name: 'etcd', command: ['etcd'] }] } },
    });
  });

  it('the view holds exactly the declared fields: what the object carries besides is dropped', () => {
    const pod = loadFixture('kubeadm/etcd.yaml') as Pod & { status?: unknown };
    const decoded = decodePod(
      {
        ...pod,
        status: { phase: 'Running' },
        spec: {
          ...pod.spec,
          priority: 2000001000,
          containers: pod.spec.containers.map((c) => ({ ...c, livenessProbe: { exec: { command: ['true'] } } })),
        },
      },
      '',
    );
    expect(decoded.ok).to.equal(true);
    const view = (decoded as { value: Pod }).value;
    expect(view).not.to.have.property('status');
    expect(view.spec).not.to.have.property('priority');
    expect(view.spec.containers[0]).not.to.have.property('livenessProbe');
    expect(view.spec.containers[0]?.command).to.deep.equal(pod.spec.containers[0]?.command);
  });

  it('a field of the wrong type is named by its path', () => {
    const decoded = decodePod({ spec: { containers: [{ name: 'etcd', args: ['--client-cert-auth', true] }] } }, 'request.object');
    expect(decoded).to.deep.equal({ ok: false, problems: ['request.object.spec.containers[0].args[1]: must be string'] });
  });
});

describe('pod templates of workloads (src/input/workload.ts)', () => {
  const template = { metadata: { labels: { app: 'etcd' } }, spec: { containers: [{ name: 'etcd', command: ['etcd'] }] } };
  const wrap: Record<string, (t: object) => object> = {
    PodTemplate: (t) => ({ template: t }),
    ReplicationController: (t) => ({ spec: { template: t } }),
    Deployment: (t) => ({ spec: { template: t } }),
    StatefulSet: (t) => ({ spec: { template: t } }),
    DaemonSet: (t) => ({ spec: { template: t } }),
    ReplicaSet: (t) => ({ spec: { template: t } }),
    Job: (t) => ({ spec: { template: t } }),
    CronJob: (t) => ({ spec: { jobTemplate: { spec: { template: t } } } }),
  };
  it('covers every workload kind', () => {
    expect(Object.keys(wrap).sort()).to.deep.equal([...WORKLOAD_KINDS].sort());
  });
  for (const kind of WORKLOAD_KINDS) {
    it(`${kind}: its template judged as a pod of the workload (kind, namespace, name)`, () => {
      const object = { kind, metadata: { name: 'etcd', namespace: 'tenant-a' }, ...(wrap[kind] as (t: object) => object)(template) };
      expect(decodePodOf(kind, object, '')).to.deep.equal({
        ok: true,
        value: { kind, metadata: { labels: { app: 'etcd' }, namespace: 'tenant-a', name: 'etcd' }, spec: template.spec },
      });
    });
  }
  it('replicas: spec.replicas of the kinds that have it, 1 when absent or null (as the API server defaults it), none otherwise', () => {
    expect(replicasOf('StatefulSet', { spec: { replicas: 3 } })).to.equal(3);
    expect(replicasOf('Deployment', { spec: {} })).to.equal(1);
    expect(replicasOf('ReplicaSet', { spec: { replicas: null } })).to.equal(1);
    expect(replicasOf('ReplicationController', { spec: { replicas: 0 } })).to.equal(0);
    expect(replicasOf('StatefulSet', { spec: { replicas: '3' } }), 'not a count').to.equal(undefined);
    expect(replicasOf('StatefulSet', { spec: { replicas: 2.5 } }), 'not a count').to.equal(undefined);
    for (const kind of ['Pod', 'DaemonSet', 'Job', 'CronJob', 'PodTemplate'])
      expect(replicasOf(kind, { spec: { replicas: 3 } }), kind).to.equal(undefined);
  });
  it('a workload without its template is a problem at the template path, not a silent pass', () => {
    expect(decodePodOf('StatefulSet', { metadata: { name: 'etcd' }, spec: {} }, 'request.object')).to.deep.equal({
      ok: false,
      problems: ['request.object.spec.template: required field is missing'],
    });
  });
});

/** An etcd StatefulSet whose template is the pod given (its namespace and name become the workload's). */
function statefulSet(pod: Pod): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'etcd', namespace: 'tenant-a' },
    spec: { replicas: 3, serviceName: 'etcd', template: { metadata: { labels: { app: 'etcd' } }, spec: pod.spec } },
  };
}

function cronJob(pod: Pod): object {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'etcd-defrag', namespace: 'tenant-a' },
    spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: pod.spec } } } },
  };
}

/** The pod as a workload controller makes it: a controller owner reference to the workload. */
function owned(pod: Pod, kind: string): Pod {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      name: 'etcd-0',
      namespace: 'tenant-a',
      ownerReferences: [{ apiVersion: 'apps/v1', kind, name: 'etcd', uid: 'u', controller: true }],
    },
  };
}

const STATEFULSET_CONTROLLER = {
  username: 'system:serviceaccount:kube-system:statefulset-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};

describe('one decoding of an admission request: the webhook and scan decide the same', () => {
  let certs: DevCertificates;
  let server: RunningServer;
  before(async () => {
    ({ server, certs } = await startTestServer());
  });
  after(async () => {
    await server.close(1000);
  });

  const passing = loadFixture('kubeadm/etcd.yaml');
  const failing = loadFixture('insecure/etcd-plaintext.yaml');
  const workload = (kind: string, group: string): Record<string, unknown> => ({
    kind: { group, version: 'v1', kind },
    resource: { group, version: 'v1', resource: `${kind.toLowerCase()}s` },
  });
  /** What each front door must answer: allowed (and with warnings) or denied, or a malformed request. */
  type Expected = 'allowed' | 'warned' | 'denied' | 'malformed';
  const cases: Array<{ name: string; object: unknown; request?: Record<string, unknown>; expected: Expected }> = [
    { name: 'a compliant Pod CREATE', object: passing, expected: 'allowed' },
    { name: 'a failing Pod CREATE', object: failing, expected: 'denied' },
    { name: 'a failing Pod CREATE, dry run', object: failing, request: { dryRun: true }, expected: 'denied' },
    {
      name: 'an UPDATE of a pod that already failed the same way (ratcheting)',
      object: failing,
      request: { operation: 'UPDATE', oldObject: failing },
      expected: 'warned',
    },
    {
      name: 'an UPDATE that makes a compliant pod fail',
      object: failing,
      request: { operation: 'UPDATE', oldObject: passing },
      expected: 'denied',
    },
    { name: 'a DELETE of a failing pod', object: null, request: { operation: 'DELETE', oldObject: failing }, expected: 'allowed' },
    {
      name: 'pods/status of a failing pod',
      object: failing,
      request: { operation: 'UPDATE', subResource: 'status', oldObject: failing },
      expected: 'allowed',
    },
    {
      name: "a kubelet's failing mirror pod (kubeletMirrorPods: audit)",
      object: failing,
      request: { userInfo: KUBELET_USER },
      expected: 'allowed',
    },
    { name: 'a failing StatefulSet CREATE', object: statefulSet(failing), request: workload('StatefulSet', 'apps'), expected: 'denied' },
    { name: 'a compliant StatefulSet CREATE', object: statefulSet(passing), request: workload('StatefulSet', 'apps'), expected: 'allowed' },
    {
      name: 'a StatefulSet scaled (UPDATE, the same failing template)',
      object: statefulSet(failing),
      request: { ...workload('StatefulSet', 'apps'), operation: 'UPDATE', oldObject: statefulSet(failing) },
      expected: 'warned',
    },
    {
      name: 'deployments/scale',
      object: { kind: 'Scale', spec: { replicas: 3 } },
      request: { ...workload('Deployment', 'apps'), operation: 'UPDATE', subResource: 'scale' },
      expected: 'allowed',
    },
    { name: 'a failing CronJob CREATE', object: cronJob(failing), request: workload('CronJob', 'batch'), expected: 'denied' },
    {
      name: "a StatefulSet's failing pod, created by the statefulset controller (controllerPods: audit)",
      object: owned(failing, 'StatefulSet'),
      request: { userInfo: STATEFULSET_CONTROLLER },
      expected: 'allowed',
    },
    { name: 'the same pod with the same owner reference, created by an admin', object: owned(failing, 'StatefulSet'), expected: 'denied' },
    {
      name: "a Deployment's failing ReplicaSet, created by the deployment controller",
      object: {
        kind: 'ReplicaSet',
        metadata: {
          name: 'etcd-5d8f7',
          namespace: 'tenant-a',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'etcd', uid: 'u', controller: true }],
        },
        spec: { template: { spec: failing.spec } },
      },
      request: {
        ...workload('ReplicaSet', 'apps'),
        userInfo: { username: 'system:serviceaccount:kube-system:deployment-controller', groups: ['system:serviceaccounts'] },
      },
      expected: 'allowed',
    },
    { name: 'a ConfigMap', object: { kind: 'ConfigMap', data: {} }, request: workload('ConfigMap', ''), expected: 'allowed' },
    {
      name: 'a Pod whose args are not strings',
      object: { metadata: { name: 'x' }, spec: { containers: [{ name: 'etcd', args: [1] }] } },
      expected: 'malformed',
    },
    {
      name: 'a StatefulSet without its template',
      object: { metadata: { name: 'etcd' }, spec: {} },
      request: workload('StatefulSet', 'apps'),
      expected: 'malformed',
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const review = admissionReview(c.object, c.request);
      const reply = await httpsRequest(`${server.url}/validate`, {
        method: 'POST',
        ca: certs.ca.certPem,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(review),
      });
      const response = (JSON.parse(reply.body) as { response: { allowed: boolean; warnings?: string[] } }).response;
      const webhook: Expected =
        reply.status === 400 ? 'malformed' : !response.allowed ? 'denied' : (response.warnings?.length ?? 0) > 0 ? 'warned' : 'allowed';

      const report = scanDocuments([{ source: 'review.json', document: 0, object: review }], DEFAULT_POLICY);
      const exit = exitCodeOf(report);
      const warned = report.results.some((r) =>
        r.findings.some((f) => (f.status === 'fail' || f.status === 'unknown') && f.effectiveAction === 'warn'),
      );
      const scan: Expected = exit === 2 ? 'malformed' : exit === 1 ? 'denied' : warned ? 'warned' : 'allowed';

      expect({ webhook, scan }).to.deep.equal({ webhook: c.expected, scan: c.expected });
    });
  }
});

/** The resource a review names for an object of this kind (the webhook's rules cover these and pods). */
const GROUP_OF: Readonly<Record<string, string>> = {
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  ReplicaSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
};
function resourceOf(kind: string): Record<string, unknown> {
  const group = GROUP_OF[kind] ?? '';
  return { kind: { group, version: 'v1', kind }, resource: { group, version: 'v1', resource: `${kind.toLowerCase()}s` } };
}

/** Every finding of a verdict, as `container/rule status action`, sorted: what both front doors must agree on. */
const findingsOf = (
  results: ReadonlyArray<{ container: string | null; findings: ReadonlyArray<DecidedFinding | ReportFinding> }>,
): string[] => results.flatMap((r) => r.findings.map((f) => `${r.container ?? ''}/${f.rule} ${f.status} ${f.effectiveAction}`)).sort();

describe('one decoding: admit (the webhook) and scan decide the same on every fixture, in every request shape, under every policy', () => {
  // Every object the fixtures hold: static pods of kubeadm and the distributions, insecure pods,
  // workloads of etcd charts and operators (with their Services and ConfigMaps), a List.
  const objects = ['kubeadm', 'insecure', 'distributions', 'workloads', 'other', 'node'].flatMap((dir) =>
    readdirSync(join(FIXTURES, dir))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => parseManifestText(readFileSync(join(FIXTURES, dir, f), 'utf8'), `${dir}/${f}`).documents)
      .flatMap((d) => {
        const object = d.object as { kind?: string; items?: unknown[] } | null;
        const items = object?.kind === 'List' ? (object.items ?? []) : [object];
        return items.map((item, i) => ({ source: `${d.source}#${d.document}.${i}`, object: item as { kind?: string } }));
      }),
  );
  const compliant = loadFixture('kubeadm/etcd.yaml');
  const shapes = (object: { kind?: string }): Array<[string, unknown, Record<string, unknown>]> => {
    const kind = object.kind ?? 'Pod';
    const resource = resourceOf(kind);
    return [
      ['CREATE', object, resource],
      ['CREATE, dry run', object, { ...resource, dryRun: true }],
      ['CREATE by a kubelet', object, { ...resource, userInfo: KUBELET_USER }],
      ['CREATE by a workload controller', object, { ...resource, userInfo: STATEFULSET_CONTROLLER }],
      ['UPDATE, unchanged', object, { ...resource, operation: 'UPDATE', oldObject: object }],
      ...(kind === 'Pod'
        ? [
            ['UPDATE of a compliant pod', object, { ...resource, operation: 'UPDATE', oldObject: compliant }] as [
              string,
              unknown,
              Record<string, unknown>,
            ],
          ]
        : []),
      ['DELETE', null, { ...resource, operation: 'DELETE', oldObject: object }],
      ['UPDATE of the status', object, { ...resource, operation: 'UPDATE', subResource: 'status', oldObject: object }],
    ];
  };
  const policies: Array<[string, Policy]> = [
    ['the default policy', DEFAULT_POLICY],
    ['warn', policyFromObject({ defaultAction: 'warn' })],
    ['audit', policyFromObject({ defaultAction: 'audit' })],
    [
      'mirror and controller pods enforced, etcd a cluster',
      policyFromObject({ kubeletMirrorPods: 'enforce', controllerPods: 'enforce', etcdTopology: 'cluster' }),
    ],
    ['etcd a single member', policyFromObject({ etcdTopology: 'single' })],
  ];

  const reviews = objects.reduce((n, { object }) => n + shapes(object).length * policies.length, 0);

  it(`${reviews} reviews of ${objects.length} objects: the same decision, the same warnings and the same findings for each`, () => {
    const disagreements: string[] = [];
    let judged = 0;
    let denied = 0;
    for (const { source, object } of objects)
      for (const [shape, sent, request] of shapes(object))
        for (const [policyName, policy] of policies) {
          const review = admissionReview(sent, request);
          const about = `${source}, ${shape}, ${policyName}`;
          let webhook: { decision: string; findings: string[] };
          try {
            if (checkAdmissionReview(review).length > 0) throw new BadAdmissionRequest('not a valid AdmissionReview');
            const outcome = admit(review.request as unknown as AdmissionRequest, policy);
            const decision = !outcome.response.allowed ? 'denied' : (outcome.response.warnings?.length ?? 0) > 0 ? 'warned' : 'allowed';
            webhook = { decision, findings: findingsOf(outcome.verdict?.results ?? []) };
          } catch (err) {
            if (!(err instanceof BadAdmissionRequest)) throw err;
            webhook = { decision: 'malformed', findings: [] };
          }
          const report = scanDocuments([{ source: 'review.json', document: 0, object: review }], policy);
          const exit = exitCodeOf(report);
          const warned = report.results.some((r) =>
            r.findings.some((f) => (f.status === 'fail' || f.status === 'unknown') && f.effectiveAction === 'warn'),
          );
          const scan = {
            decision: exit === 2 ? 'malformed' : exit === 1 ? 'denied' : warned ? 'warned' : 'allowed',
            findings: findingsOf(report.results),
          };
          if (JSON.stringify(webhook) !== JSON.stringify(scan))
            disagreements.push(`${about}: webhook ${JSON.stringify(webhook)}, scan ${JSON.stringify(scan)}`);
          if (webhook.findings.length > 0) judged++;
          if (webhook.decision === 'denied') denied++;
        }
    expect(disagreements).to.deep.equal([]);
    // The matrix is what it says: many objects judged, some denied, some not.
    expect(objects.length, 'objects in the fixtures').to.be.greaterThan(30);
    expect(judged, 'reviews judged').to.be.greaterThan(500);
    expect(denied, 'reviews denied').to.be.greaterThan(50);
  });
});

describe('where each node of a manifest is (src/input/positions.ts)', () => {
  const text = [
    'apiVersion: v1',
    'kind: Pod',
    'spec:',
    '  containers:',
    '    - name: etcd',
    '      command:',
    '        - etcd',
    '        - --client-cert-auth=false',
    '---',
    '{"kind": "Pod", "spec": {"containers": [{"name": "x", "args": ["--a"]}]}}',
    '',
  ].join('\n');
  for (const reader of ['fast', 'reference'] as const) {
    it(`${reader} reader: a node's line and column, in every document of the file`, () => {
      // An anchor sends the text to the reference reader; the same places either way.
      const loaded = parseManifestText(reader === 'fast' ? text : `x: &a 1\n---\n${text}`, 'pod.yaml');
      const [first, second] = loaded.documents.filter((d) => (d.object as { kind?: string }).kind === 'Pod');
      const place = (doc: typeof first, path: Array<string | number>): unknown => {
        const node = nodeAt(doc?.tree?.root, path);
        return node === undefined ? undefined : doc?.tree?.source.position(node.at);
      };
      const offset = reader === 'fast' ? 0 : 2;
      expect(place(first, ['spec', 'containers', 0, 'command', 1])).to.deep.equal({ line: 8 + offset, column: 11 });
      expect(place(first, ['spec', 'containers', 0])).to.deep.equal({ line: 5 + offset, column: 7 });
      expect(place(second, ['spec', 'containers', 0, 'args', 0])).to.deep.equal({ line: 10 + offset, column: 64 });
      expect(place(first, ['spec', 'volumes'])).to.equal(undefined);
    });
  }
});
