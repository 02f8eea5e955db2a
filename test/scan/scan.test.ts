import { expect } from 'chai';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { admissionReview, KUBELET_USER } from '../admission.js';
import { loadInputs } from '../../src/input/manifests.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { formatJson, formatText } from '../../src/report/format.js';
import { scanDocuments, scanInputs } from '../../src/scan/scan.js';
import type { Report, ReportRow } from '../../src/report/report.js';
import { fixturePath } from '../helpers.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), env, readStdin: () => Promise.resolve(stdin) });
  return { code, out, err };
}

interface JsonReport {
  results: Array<{
    source: string;
    document: number;
    item?: number;
    kind: string | null;
    namespace: string | null;
    name: string | null;
    component: string | null;
    container: string | null;
    findings: Array<{ rule: string; cis: string[]; status: string; action: string; message: string; remediation: string }>;
  }>;
  summary: { documents: number; checked: number; failed: number; denied: number };
}

describe('etcd-tls-guard scan', () => {
  it('streams exactly the JSON and text of the whole report, judged in one go (every fixture, one unreadable path)', async () => {
    const paths = [fixturePath(''), '/nonexistent.yaml'];
    const rows: ReportRow[] = [];
    const outcome = await scanInputs(paths, () => Promise.resolve(''), DEFAULT_POLICY, { row: (r) => rows.push(r), finish: () => {} });
    const report: Report = { results: rows, errors: outcome.errors, summary: outcome.summary };
    expect(report.results.length).to.be.greaterThan(20);
    // Judged in one go: the same rows, but for the templates (a note per file, from the walk).
    const inputs = await loadInputs(paths, () => Promise.resolve(''));
    expect(inputs.skipped?.map((s) => s.source)).to.have.length(1); // templates/etcd-pod.gotpl.yaml (a .j2 file is not walked)
    expect(scanDocuments(inputs.documents, DEFAULT_POLICY, inputs.errors).results).to.deep.equal(
      rows.filter((r) => !inputs.skipped?.some((s) => s.source === r.source)),
    );
    const json = await cli(['scan', '--format', 'json', ...paths]);
    expect(json.out).to.equal(`${JSON.stringify({ results: report.results, errors: report.errors, summary: report.summary }, null, 2)}\n`);
    expect(json.out).to.equal(formatJson(report));
    expect((await cli(['scan', ...paths])).out).to.equal(formatText(report));
  });

  it('exit 0 for compliant kubeadm manifests', async () => {
    const r = await cli(['scan', fixturePath('kubeadm')]);
    expect(r.code).to.equal(0);
    expect(r.out).to.contain('PASS Pod kube-system/etcd-cp-1 (etcd in container etcd)');
    expect(r.out).to.match(/3 objects, 3 control-plane containers checked, 0 failing, 0 would be denied\n$/);
  });

  it('exit 1 when an enforced rule fails, one line per failing rule, grouped by pod', async () => {
    const r = await cli(['scan', fixturePath('insecure/etcd-plaintext.yaml')]);
    expect(r.code).to.equal(1);
    expect(r.out).to.contain('DENY Pod kube-system/etcd-cp-1 (etcd in container etcd)');
    // The flag is absent: the finding points at the container (`  - command:`, line 23 column 5).
    expect(r.out).to.contain(
      `  fail    etcd-client-cert-auth (CIS 2.2) [enforce] ${fixturePath('insecure/etcd-plaintext.yaml')}:23:5: --client-cert-auth is not set (defaults to false)`,
    );
    expect(r.out).to.contain('          fix: Set --client-cert-auth=true in /etc/kubernetes/manifests/etcd.yaml on node cp-1');
  });

  it('--format json prints exactly one JSON document of the documented shape', async () => {
    const r = await cli(['scan', '--format', 'json', fixturePath('insecure/etcd-plaintext.yaml')]);
    const report = JSON.parse(r.out) as JsonReport;
    expect(report.summary).to.deep.equal({ documents: 1, checked: 1, failed: 1, denied: 1 });
    const [result] = report.results;
    expect(result).to.deep.include({
      source: fixturePath('insecure/etcd-plaintext.yaml'),
      document: 0,
      kind: 'Pod',
      namespace: 'kube-system',
      name: 'etcd-cp-1',
      component: 'etcd',
      container: 'etcd',
    });
    const f = result?.findings.find((x) => x.rule === 'etcd-client-cert-auth');
    expect(f).to.deep.include({
      rule: 'etcd-client-cert-auth',
      cis: ['2.2'],
      status: 'fail',
      action: 'enforce',
      message: '--client-cert-auth is not set (defaults to false)',
    });
    expect(f?.remediation).to.be.a('string');
  });

  it('reads multi-document YAML, kind: List and non-control-plane documents (component null)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etg-scan-'));
    const multi = join(dir, 'multi.yaml');
    await writeFile(
      multi,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n---\n---\n${await import('node:fs').then((fs) => fs.readFileSync(fixturePath('kubeadm/etcd.yaml'), 'utf8'))}`,
    );
    const r = await cli(['scan', '--format', 'json', multi, fixturePath('other/control-plane-list.yaml')]);
    const report = JSON.parse(r.out) as JsonReport;
    expect(
      report.results.map((x) => [x.source === multi ? 'multi' : 'list', x.document, x.item ?? null, x.kind, x.component]),
    ).to.deep.equal([
      ['multi', 0, null, 'ConfigMap', null],
      ['multi', 2, null, 'Pod', 'etcd'],
      ['list', 0, 0, 'Pod', null],
      ['list', 0, 1, 'Pod', 'etcd'],
    ]);
    expect(report.summary).to.deep.equal({ documents: 4, checked: 2, failed: 1, denied: 1 });
  });

  it('reads - from standard input, and an AdmissionReview', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'etcd-x', namespace: 'kube-system' },
      spec: { containers: [{ name: 'etcd', image: 'registry.k8s.io/etcd:3.5.15-0', command: ['etcd', '--auto-tls'] }] },
    };
    const review = admissionReview(pod, { uid: 'u' });
    const r = await cli(['scan', '--format', 'json', '-'], JSON.stringify(review));
    const report = JSON.parse(r.out) as JsonReport;
    expect(report.results[0]).to.deep.include({ source: '-', kind: 'Pod', name: 'etcd-x', component: 'etcd' });
    expect(r.code).to.equal(1);
  });

  it('an AdmissionReview from a kubelet for its mirror pod is audited, as the webhook would', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'etcd-cp-1', namespace: 'kube-system', annotations: { 'kubernetes.io/config.mirror': 'x' } },
      spec: { containers: [{ name: 'etcd', command: ['etcd', '--auto-tls'] }] },
    };
    const review = admissionReview(pod, { uid: 'u', userInfo: KUBELET_USER });
    const r = await cli(['scan', '-'], JSON.stringify(review));
    expect(r.code).to.equal(0);
    expect(r.out).to.contain('[audit]').and.contain('kubelet mirror pod');
  });

  it('an invalid AdmissionReview is an input error (exit 2)', async () => {
    const r = await cli(['scan', '-'], JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }));
    expect(r.code).to.equal(2);
    expect(r.out).to.contain('request.uid: required field is missing');
  });

  it('a pod running etcd and kube-apiserver is reported once per component', async () => {
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: all-in-one, namespace: dev}
spec:
  containers:
  - {name: etcd, image: registry.k8s.io/etcd:3.5.15-0, command: [etcd]}
  - {name: api, image: registry.k8s.io/kube-apiserver:v1.31.2, command: [kube-apiserver, --etcd-servers=http://127.0.0.1:2379]}
`;
    const report = JSON.parse((await cli(['scan', '--format', 'json', '-'], pod)).out) as JsonReport;
    expect(report.results.map((x) => [x.component, x.container])).to.deep.equal([
      ['etcd', 'etcd'],
      ['kube-apiserver', 'api'],
    ]);
  });

  it('checks the pod template of a StatefulSet, and the fix names that template, not a static pod manifest', async () => {
    const sts = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: etcd, namespace: storage}
spec:
  template:
    spec:
      containers:
      - {name: etcd, image: quay.io/coreos/etcd:v3.5.15, command: [etcd, --listen-client-urls=http://0.0.0.0:2379, --advertise-client-urls=http://etcd:2379]}
`;
    const r = await cli(['scan', '-'], sts);
    expect(r.out).to.contain('DENY StatefulSet storage/etcd (etcd in container etcd)');
    expect(r.out).to.contain(
      'fix: Set --client-cert-auth=true in the pod template of StatefulSet storage/etcd (or the chart values or operator resource that render it)',
    );
    expect(r.out).not.to.contain('/etc/kubernetes/manifests');
  });

  it('Helm output with null optional fields (an empty annotations: or envFrom: a template left) is judged, not an input error', async () => {
    const sts = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: etcd, namespace: storage, annotations: }
spec:
  template:
    metadata:
      annotations:
      labels: {app: etcd}
    spec:
      initContainers:
      containers:
      - name: etcd
        image: quay.io/coreos/etcd:v3.5.15
        command: [etcd, --listen-client-urls=http://0.0.0.0:2379, --advertise-client-urls=http://etcd:2379]
        envFrom:
        env:
`;
    const r = await cli(['scan', '-'], sts);
    expect(r.code, r.out).to.equal(1);
    expect(r.out).to.contain('DENY StatefulSet storage/etcd (etcd in container etcd)');
    expect(r.out).not.to.contain('ERROR');
  });

  it('a document without apiVersion/kind is said to be skipped, not passed over in silence (exit 0)', async () => {
    const r = await cli(['scan', '-'], 'spec:\n  containers:\n  - {name: etcd, command: [etcd]}\n');
    expect(r.code).to.equal(0);
    expect(r.out).to.contain('SKIP object <unnamed> -:1:1: no apiVersion/kind: not a Kubernetes object, not checked');
    expect(r.out).to.match(/1 object, 0 control-plane containers checked/);
    // Asked for strictness, what was read but not checked fails the run.
    const strict = await cli(['scan', '--strict', '-'], 'spec:\n  containers:\n  - {name: etcd, command: [etcd]}\n');
    expect(strict.code).to.equal(2);
    expect(strict.err).to.contain('--strict: 1 document or file read but not checked');
  });

  it('rules that are unknown for the same reason at the same place share one line, each fix still said (RKE2: a config file out of sight)', async () => {
    const r = await cli(['scan', fixturePath('distributions/rke2-etcd.yaml')]);
    const reasons = r.out.split('\n').filter((l) => l.startsWith('  unknown '));
    expect(reasons).to.have.length(2);
    expect(reasons[0]).to.match(
      /^ {2}unknown etcd-client-tls, etcd-client-cert-auth, etcd-auto-tls, etcd-peer-auto-tls, etcd-client-auth-effective \(CIS 2\.1, 2\.2, 2\.3, 2\.6\) \[warn\] \S+:20:7: etcd reads its settings from the configuration file/,
    );
    expect(r.out.split('\n').filter((l) => l.startsWith('          fix: '))).to.have.length(8);
  });

  it('a policy file changes the actions: warn mode exits 0', async () => {
    const r = await cli(['scan', '--config', fixturePath('policies/audit-everything.yaml'), fixturePath('insecure/etcd-plaintext.yaml')]);
    expect(r.code).to.equal(0);
    expect(r.out).to.contain('WARN Pod kube-system/etcd-cp-1');
  });

  it('ETCD_TLS_GUARD_CONFIG names the policy file', async () => {
    const r = await cli(['scan', fixturePath('insecure/etcd-plaintext.yaml')], '', {
      ETCD_TLS_GUARD_CONFIG: fixturePath('policies/audit-everything.yaml'),
    });
    expect(r.code).to.equal(0);
  });

  const errors: Array<{ name: string; argv: string[]; stdin?: string; err: RegExp }> = [
    { name: 'no PATH', argv: ['scan'], err: /scan needs at least one PATH/ },
    { name: 'an unknown option', argv: ['scan', '--formt', 'json', 'x'], err: /Unknown option '--formt'/ },
    { name: 'a bad --format', argv: ['scan', '--format', 'xml', 'x'], err: /--format must be text, json, sarif or junit/ },
    { name: 'an invalid policy file', argv: ['scan', '--config', '-', 'x'], err: /invalid policy -/ },
  ];
  for (const c of errors) {
    it(`exit 2 on a usage error: ${c.name}`, async () => {
      const r = await cli(c.argv, c.stdin ?? '');
      expect(r.code).to.equal(2);
      expect(r.err).to.match(c.err);
    });
  }

  it('exit 2 on a missing file or invalid YAML, naming the file and reason, after reading the rest', async () => {
    const r = await cli(['scan', '/nonexistent.yaml', '-', fixturePath('kubeadm/etcd.yaml')], 'a: [b');
    expect(r.code).to.equal(2);
    expect(r.out).to.contain('ERROR /nonexistent.yaml: cannot read: ENOENT');
    expect(r.out).to.match(/ERROR -#0: not valid YAML/);
    expect(r.out).to.contain('PASS Pod kube-system/etcd-cp-1');
  });

  it('unrendered Go and Jinja templates are skipped with a note each, not input errors; invalid YAML without template markup stays an error', async () => {
    const r = await cli(['scan', fixturePath('templates/etcd-pod.gotpl.yaml'), fixturePath('templates/etcd-manifest.yaml.j2')]);
    expect(r.code).to.equal(0);
    expect(r.out).to.match(
      /SKIP \S*templates\/etcd-pod\.gotpl\.yaml: a template \(Go template or Jinja markup\), not valid YAML until it is rendered/,
    );
    expect(r.out).to.match(/SKIP \S*templates\/etcd-manifest\.yaml\.j2: a template/);
    expect(r.out).not.to.contain('ERROR');
    const broken = await cli(['scan', '-'], 'kind: Pod\nspec: [a\n');
    expect(broken.code).to.equal(2);
    expect(broken.out).to.match(/ERROR -#0: not valid YAML/);
  });

  it('exit 2 for a pod Kubernetes would reject (YAML 1.1: `yes` is a boolean, not a string arg)', async () => {
    const r = await cli(
      ['scan', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata: {name: e}\nspec:\n  containers:\n  - {name: etcd, command: [etcd, --auto-tls, yes]}\n',
    );
    expect(r.code).to.equal(2);
    expect(r.out).to.contain('spec.containers[0].command[2]: must be string');
  });

  it('an unquoted timestamp is a string, as kubectl reads it (YAML 1.1 timestamp → RFC 3339 in JSON)', async () => {
    const r = await cli(
      ['scan', '--format', 'json', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd-cp-1\n  annotations: {kubernetes.io/config.seen: 2026-11-22T10:00:00.123Z, deployed: 2026-11-22}\nspec:\n  containers:\n  - {name: etcd, command: [etcd, --auto-tls]}\n',
    );
    expect(r.code, r.err).to.equal(1);
    expect((JSON.parse(r.out) as { errors: unknown[] }).errors).to.deep.equal([]);
  });

  it('exit 2, not a crash, for an alias to no anchor (found by fuzzing)', async () => {
    const r = await cli(['scan', '-'], '*a\n');
    expect(r.code).to.equal(2);
    expect(r.out).to.contain('not valid YAML: Unresolved alias');
  });

  it('--help on every command', async () => {
    for (const cmd of ['serve', 'scan', 'audit', 'certs', 'rules', 'version']) {
      const r = await cli([cmd, '--help']);
      expect(r.code, cmd).to.equal(0);
      expect(r.out, cmd).to.match(/^Usage: etcd-tls-guard /);
    }
    expect((await cli(['--help'])).out).to.contain('Commands:');
    expect((await cli(['bogus'])).code).to.equal(2);
  });

  it('rules lists every rule with its CIS numbers', async () => {
    const r = await cli(['rules', '--format', 'json']);
    const rows = JSON.parse(r.out) as Array<{ id: string; cis: Record<string, string> }>;
    expect(rows.find((x) => x.id === 'apiserver-etcd-cafile')?.cis).to.deep.equal({ '1.5.1': '1.2.32', '1.10': '1.2.26' });
  });

  describe('every finding points at its line and column (the argument, the env entry, the script line, or the container)', () => {
    /** rule → `line:column` of the findings of one container, scanned from `text` as standard input. */
    const places = async (text: string, container: string, rules: string[]): Promise<Record<string, string>> => {
      const r = await cli(['scan', '--format', 'json', '-'], text);
      const report = JSON.parse(r.out) as {
        results: Array<{ container: string; findings: Array<{ rule: string; line: number; column: number }> }>;
      };
      const findings = report.results.find((x) => x.container === container)?.findings ?? [];
      const at: Record<string, string> = {};
      for (const rule of rules) {
        const f = findings.find((x) => x.rule === rule);
        at[rule] = f === undefined ? 'none' : `${f.line}:${f.column}`;
      }
      return at;
    };
    const pod = (container: string[]): string =>
      ['apiVersion: v1', 'kind: Pod', 'metadata: {name: etcd, namespace: kube-system}', 'spec:', '  containers:', ...container, ''].join(
        '\n',
      );

    it('a flag in args and a flag left out (its container), in the second document of a file', async () => {
      const text = `kind: ConfigMap\n---\n${pod(['  - name: etcd', '    command: [etcd]', '    args:', '    - --name=a', '    - --client-cert-auth=false'])}`;
      expect(await places(text, 'etcd', ['etcd-client-cert-auth', 'etcd-auto-tls'])).to.deep.equal({
        'etcd-client-cert-auth': '12:7',
        'etcd-auto-tls': '8:5',
      });
    });
    it('an ETCD_* variable: its env entry', async () => {
      const text = pod([
        '  - name: etcd',
        '    command: [etcd]',
        '    env:',
        '    - name: ETCD_NAME',
        '      value: a',
        '    - {name: ETCD_CLIENT_CERT_AUTH, value: "false"}',
      ]);
      expect(await places(text, 'etcd', ['etcd-client-cert-auth'])).to.deep.equal({ 'etcd-client-cert-auth': '11:7' });
    });
    it('a flag inside a start script: the line in the script where it is written', async () => {
      const text = pod([
        '  - name: etcd',
        '    command:',
        '    - /bin/sh',
        '    - -c',
        '    - |',
        '      set -e',
        '      exec etcd --name a \\',
        '        --auto-tls=true',
      ]);
      expect(await places(text, 'etcd', ['etcd-auto-tls'])).to.deep.equal({ 'etcd-auto-tls': '13:9' });
    });
    it('an AdmissionReview of a StatefulSet, in JSON: the argument in request.object.spec.template', async () => {
      const statefulSet = {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'etcd', namespace: 'tenant-a' },
        spec: { template: { spec: { containers: [{ name: 'etcd', command: ['etcd', '--auto-tls'] }] } } },
      };
      const request = {
        kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
        resource: { group: 'apps', version: 'v1', resource: 'statefulsets' },
      };
      const review = JSON.stringify(admissionReview(statefulSet, request), null, 2);
      const line = review.split('\n').findIndex((l) => l.includes('"--auto-tls"')) + 1;
      // Inside the quotes: where the flag's text starts.
      const column = (review.split('\n')[line - 1] as string).indexOf('--auto-tls') + 1;
      expect(await places(review, 'etcd', ['etcd-auto-tls'])).to.deep.equal({ 'etcd-auto-tls': `${line}:${column}` });
    });
  });
});
