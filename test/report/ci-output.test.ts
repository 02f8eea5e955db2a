/**
 * `scan` in a CI pipeline: SARIF that Microsoft's SARIF Multitool and the official SARIF 2.1.0 schema
 * accept and that points at the right line, JUnit that a real XML parser reads, --output, the
 * filters, --exclude, templates in a repository, and paths that cannot be read.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { fixturePath } from '../helpers.js';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MULTITOOL_DIR = join(ROOT, 'node_modules', '@microsoft', 'sarif-multitool-linux');

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[], stdin = ''): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), env: {}, readStdin: () => Promise.resolve(stdin) });
  return { code, out, err };
}

/** The Multitool's `validate` with its SARIF and GitHub rules: one `: error ` line per problem found. */
function multitoolErrors(file: string): string[] {
  const tool = join(MULTITOOL_DIR, 'Sarif.Multitool');
  try {
    accessSync(tool, constants.X_OK);
  } catch {
    // npm 11 skips the package's own `chmod u+x` postinstall unless scripts are allowed.
    chmodSync(tool, 0o755);
  }
  const out = spawnSync(tool, ['validate', file, '-o', `${file}.validation.sarif`, '--rule-kind', 'Sarif;Gh', '--log', 'ForceOverwrite'], {
    encoding: 'utf8',
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1' },
  });
  expect(out.stdout, out.stderr).to.match(/Analysis completed successfully|Done\./);
  return out.stdout.split('\n').filter((l) => l.includes(': error '));
}

const schema = JSON.parse(readFileSync(join(MULTITOOL_DIR, 'sarif-2.1.0.json'), 'utf8')) as object;
const validateSarif = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(schema);

interface SarifLog {
  runs: Array<{
    tool: { driver: { name: string; version: string; rules: Array<{ id: string; properties: { cis: Record<string, string> } }> } };
    results: Array<{
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number; startColumn: number } } }>;
      partialFingerprints: Record<string, string>;
    }>;
    invocations: Array<{ executionSuccessful: boolean }>;
  }>;
}

describe('scan in CI: SARIF, JUnit, --output, filters, whole repositories', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etg-ci-'));
  });

  describe('--format sarif', () => {
    it('passes the SARIF Multitool (schema, SARIF and GitHub code scanning rules) and the official schema', async () => {
      const file = join(dir, 'scan.sarif');
      const r = await cli(
        ['scan', '--format', 'sarif', '--status', 'fail,unknown', '--output', file, fixturePath('insecure'), fixturePath('workloads'), '-'],
        'kind: Pod\nspec: [a\n',
      );
      expect(r.code, 'an input error is exit 2, whatever the format').to.equal(2);
      expect(r.out, 'the report went to --output').to.equal('');
      const log = JSON.parse(await readFile(file, 'utf8')) as SarifLog;
      expect(log.runs[0]?.results.length).to.be.greaterThan(20);
      expect(log.runs[0]?.invocations[0]?.executionSuccessful, 'an unreadable input makes the run unsuccessful').to.equal(false);
      expect(validateSarif(log), JSON.stringify(validateSarif.errors?.slice(0, 3))).to.equal(true);
      expect(multitoolErrors(file)).to.deep.equal([]);
    });

    it('a result per failing finding, at the line of the flag, with the fix, the level of its action and a stable fingerprint', async () => {
      const run = async (): Promise<SarifLog> =>
        JSON.parse((await cli(['scan', '--format', 'sarif', fixturePath('insecure/etcd-plaintext.yaml')])).out) as SarifLog;
      const log = await run();
      const results = log.runs[0]?.results ?? [];
      const rules = log.runs[0]?.tool.driver.rules ?? [];
      const certAuth = results.find((x) => x.ruleId === 'etcd-client-cert-auth');
      // Absent flag: the container (line 23, `  - command:`); a plaintext URL: the argument (line 27).
      expect(certAuth?.locations[0]?.physicalLocation.region).to.deep.equal({ startLine: 23, startColumn: 5 });
      expect(results.find((x) => x.ruleId === 'etcd-client-tls')?.locations[0]?.physicalLocation.region?.startLine).to.equal(27);
      // Relative to the working directory, as code scanning resolves it against the checkout.
      expect(certAuth?.locations[0]?.physicalLocation.artifactLocation.uri).to.equal(
        relative(process.cwd(), fixturePath('insecure/etcd-plaintext.yaml')),
      );
      expect(certAuth?.level).to.equal('error');
      expect(certAuth?.message.text).to.contain('Fix: Set --client-cert-auth=true');
      expect(rules[certAuth?.ruleIndex ?? -1]?.id).to.equal('etcd-client-cert-auth');
      expect(rules.find((x) => x.id === 'etcd-client-cert-auth')?.properties.cis).to.deep.equal({ '1.5.1': '2.2', '1.10': '2.2' });
      expect(results.every((x) => x.level === 'error')).to.equal(true);
      // Passing findings are not results; the same input gives the same fingerprints.
      expect(results.map((x) => x.ruleId)).not.to.include('etcd-auto-tls');
      expect((await run()).runs[0]?.results.map((x) => x.partialFingerprints)).to.deep.equal(results.map((x) => x.partialFingerprints));
    });

    it('warn and audit actions are warnings and notes', async () => {
      const policy = join(dir, 'warn.yaml');
      await writeFile(policy, 'defaultAction: warn\nactions:\n  etcd-client-cert-auth: audit\n');
      const log = JSON.parse(
        (await cli(['scan', '--format', 'sarif', '--config', policy, fixturePath('insecure/etcd-plaintext.yaml')])).out,
      ) as SarifLog;
      const levels = Object.fromEntries((log.runs[0]?.results ?? []).map((x) => [x.ruleId, x.level]));
      expect(levels['etcd-client-cert-auth']).to.equal('note');
      expect(levels['etcd-client-tls']).to.equal('warning');
    });
  });

  describe('--format junit', () => {
    it('a real XML parser reads it: a suite per file, a test case per rule and container, failures with the fix and the line', async () => {
      const file = join(dir, 'junit.xml');
      const r = await cli([
        'scan',
        '--format',
        'junit',
        '-o',
        file,
        fixturePath('insecure/etcd-plaintext.yaml'),
        fixturePath('kubeadm'),
        '/nonexistent.yaml',
      ]);
      expect(r.code).to.equal(2);
      // Python's xml.etree (expat): a well-formed document, read back.
      const summary = execFileSync(
        'python3',
        [
          '-c',
          [
            'import json, sys, xml.etree.ElementTree as ET',
            'root = ET.parse(sys.argv[1]).getroot()',
            'suites = root.findall("testsuite")',
            'failures = [f for s in suites for c in s.findall("testcase") for f in c.findall("failure")]',
            'print(json.dumps({"root": root.tag, "tests": int(root.get("tests")), "failures": int(root.get("failures")), "errors": int(root.get("errors")),',
            '  "suites": len(suites), "cases": sum(len(s.findall("testcase")) for s in suites),',
            '  "first": failures[0].text, "firstMessage": failures[0].get("message"), "line": [c.get("line") for s in suites for c in s.findall("testcase") if c.find("failure") is not None][0]}))',
          ].join('\n'),
          file,
        ],
        { encoding: 'utf8' },
      );
      const x = JSON.parse(summary) as Record<string, unknown>;
      expect(x.root).to.equal('testsuites');
      expect(x.suites, 'the insecure pod, three kubeadm files, the unreadable path').to.equal(5);
      expect(x.cases).to.equal(x.tests);
      expect(x.errors).to.equal(1);
      expect(x.failures).to.be.greaterThan(3);
      expect(x.first).to.match(/Fix: Set --cert-file and --key-file/);
      expect(x.first).to.match(/At: \S+etcd-plaintext\.yaml:27:7/);
      expect(x.line).to.equal('27');
    });

    it('escapes what XML cannot hold as it is', async () => {
      const pod =
        'apiVersion: v1\nkind: Pod\nmetadata: {name: "a<&>\\"b", namespace: x}\nspec:\n  containers:\n  - {name: "e\\u0001", command: [etcd]}\n';
      const r = await cli(['scan', '--format', 'junit', '-'], pod);
      const parsed = spawnSync('python3', ['-c', 'import sys, xml.etree.ElementTree as ET; ET.fromstring(sys.stdin.read()); print("ok")'], {
        input: r.out,
        encoding: 'utf8',
      });
      expect(parsed.stdout.trim(), parsed.stderr).to.equal('ok');
      expect(r.out).to.contain('Pod x/a&lt;&amp;&gt;&quot;b');
    });
  });

  describe('filters and output', () => {
    it('--quiet shows only what fails and the summary; --status and --action filter findings; the exit code stays', async () => {
      const paths = [fixturePath('kubeadm'), fixturePath('insecure/etcd-plaintext.yaml')];
      const quiet = await cli(['scan', '--quiet', ...paths]);
      expect(quiet.code).to.equal(1);
      expect(quiet.out).not.to.contain('PASS');
      expect(quiet.out).to.contain('DENY Pod kube-system/etcd-cp-1');
      const json = JSON.parse((await cli(['scan', '--format', 'json', '--status', 'fail', '--quiet', ...paths])).out) as {
        results: Array<{ findings: Array<{ status: string }> }>;
        summary: { checked: number };
      };
      expect(json.results).to.have.length(1);
      expect(json.results.flatMap((r) => r.findings.map((f) => f.status))).to.satisfy((s: string[]) => s.every((x) => x === 'fail'));
      expect(json.summary.checked, 'the counts are of the whole scan').to.equal(4);
      const none = await cli(['scan', '--action', 'audit', '--quiet', ...paths]);
      expect(none.code).to.equal(1);
      expect(none.out).not.to.contain('DENY');
    });

    it('a progress line on a terminal when the report goes elsewhere, cleared at the end; none when the report is on that terminal', async () => {
      const lines: string[] = [];
      const run = (reportToTerminal: boolean, argv: string[]): Promise<number> =>
        main(argv, {
          out: () => {},
          err: () => {},
          env: {},
          readStdin: () => Promise.resolve(''),
          progress: { line: (t) => lines.push(t), reportToTerminal },
        });
      await run(false, ['scan', fixturePath('')]);
      expect(lines[0]).to.match(/^scanned 1 file…$/);
      expect(lines[lines.length - 1], 'cleared').to.equal('');
      lines.length = 0;
      await run(true, ['scan', fixturePath('')]);
      expect(lines).to.deep.equal([]);
      await run(true, ['scan', '--output', join(dir, 'progress.txt'), fixturePath('')]);
      expect(lines.length).to.be.greaterThan(0);
    });

    it('usage errors for a bad list or an output that cannot be written', async () => {
      expect((await cli(['scan', '--status', 'failed', 'x'])).err).to.match(
        /--status takes a comma-separated list of fail, unknown, pass, not-applicable/,
      );
      const r = await cli(['scan', '--output', join(dir, 'no', 'such', 'dir', 'x.sarif'), fixturePath('kubeadm')]);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/cannot write --output .*ENOENT/);
    });
  });

  describe('whole repositories', () => {
    let repo: string;
    before(async () => {
      repo = join(dir, 'repo');
      const etcd = await readFile(fixturePath('insecure/etcd-plaintext.yaml'), 'utf8');
      await mkdir(join(repo, 'clusters', 'prod'), { recursive: true });
      await mkdir(join(repo, 'charts', 'etcd', 'templates'), { recursive: true });
      await mkdir(join(repo, 'vendor'), { recursive: true });
      await writeFile(join(repo, 'clusters', 'prod', 'etcd.yaml'), etcd);
      await writeFile(join(repo, 'vendor', 'etcd.yaml'), etcd);
      await writeFile(join(repo, 'charts', 'etcd', 'Chart.yaml'), 'apiVersion: v2\nname: etcd\nversion: 1.0.0\n');
      await writeFile(join(repo, 'charts', 'etcd', 'values.yaml'), 'replicas: 3\n');
      await writeFile(
        join(repo, 'charts', 'etcd', 'templates', 'sts.yaml'),
        'apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ .Release.Name }}\n',
      );
      await writeFile(
        join(repo, 'charts', 'etcd', 'templates', 'quoted.yaml'),
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "{{ .Release.Name }}"\n',
      );
      // Paths that cannot be read: a dangling symlink and a loop; a symlinked directory is followed once.
      await symlink(join(repo, 'missing.yaml'), join(repo, 'clusters', 'dangling.yaml'));
      await symlink(repo, join(repo, 'clusters', 'loop'));
    });

    it('charts and templates are notes, an unreadable path is one error, and the rest is judged; --exclude leaves paths out', async () => {
      const r = await cli(['scan', '--exclude', 'vendor/**', repo]);
      expect(r.out).to.match(
        /SKIP \S*charts\/etcd\/templates\/sts\.yaml: a template of the Helm chart in \S*charts\/etcd, not a manifest: scan what it renders \(helm template RELEASE/,
      );
      expect(r.out).to.match(/SKIP \S*charts\/etcd\/templates\/quoted\.yaml: a template of the Helm chart/);
      expect(r.out).to.match(/ERROR \S*clusters\/dangling\.yaml: cannot read: ENOENT/);
      expect(r.out).to.match(/DENY Pod kube-system\/etcd-cp-1 \(etcd in container etcd\) \S*clusters\/prod\/etcd\.yaml:23:5/);
      expect(r.out.match(/DENY /g), 'vendor/ is excluded and the loop adds nothing').to.have.length(1);
      expect(r.code, 'the dangling symlink is an input error').to.equal(2);
      const clean = await cli(['scan', '--exclude', 'vendor/**', '--exclude', 'clusters/dangling.yaml', '--quiet', repo]);
      expect(clean.code).to.equal(1);
      expect(clean.out).not.to.contain('SKIP');
    });
  });
});

/** A fenced block of docs/ci.md whose first line is `# NAME`, parsed as YAML. */
function docsJob(name: string): unknown {
  const text = readFileSync(join(ROOT, 'docs', 'ci.md'), 'utf8');
  const block = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string).find((b) => b.startsWith(`# ${name}\n`));
  expect(block, name).to.be.a('string');
  return parse(block as string);
}

/** Runs a documented `npx --yes etcd-tls-guard …` command line with this checkout's CLI, in `cwd`. */
function runDocumented(command: string, cwd: string): number {
  const args = command.replace(/^npx --yes etcd-tls-guard /, '').match(/'[^']*'|\S+/g) ?? [];
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args.map((a) => a.replace(/^'|'$/g, ''))], {
    cwd,
    encoding: 'utf8',
  });
  return r.status ?? -1;
}

describe('the CI jobs docs/ci.md gives, run as far as this machine allows', () => {
  let repo: string;
  before(async () => {
    repo = await mkdtemp(join(tmpdir(), 'etg-docs-ci-'));
    await mkdir(join(repo, 'clusters'), { recursive: true });
    await mkdir(join(repo, 'vendor'), { recursive: true });
    await writeFile(join(repo, 'clusters', 'etcd.yaml'), await readFile(fixturePath('insecure/etcd-plaintext.yaml'), 'utf8'));
    await writeFile(join(repo, 'vendor', 'etcd.yaml'), await readFile(fixturePath('insecure/etcd-plaintext.yaml'), 'utf8'));
  });

  it('GitHub Actions: the scan step writes the SARIF file the upload step names, and it validates', () => {
    const workflow = docsJob('.github/workflows/etcd-tls-guard.yaml') as {
      permissions: Record<string, string>;
      jobs: { scan: { steps: Array<{ uses?: string; run?: string; if?: string; with?: Record<string, string> }> } };
    };
    expect(workflow.permissions['security-events']).to.equal('write');
    const steps = workflow.jobs.scan.steps;
    const scan = steps.find((s) => s.run?.includes('etcd-tls-guard scan'));
    const upload = steps.find((s) => s.uses?.startsWith('github/codeql-action/upload-sarif@'));
    expect(upload?.if, 'findings are uploaded when the scan fails the job').to.equal('always()');
    expect(runDocumented(scan?.run as string, repo), 'the job fails: the webhook would deny').to.equal(1);
    const sarif = join(repo, upload?.with?.sarif_file as string);
    const log = JSON.parse(readFileSync(sarif, 'utf8')) as SarifLog;
    expect(validateSarif(log)).to.equal(true);
    const uris = new Set(log.runs[0]?.results.map((x) => x.locations[0]?.physicalLocation.artifactLocation.uri));
    expect([...uris], 'relative to the checkout; vendor/ excluded').to.deep.equal(['clusters/etcd.yaml']);
  });

  it('GitLab: the script writes the JUnit report the job declares', () => {
    const job = (docsJob('.gitlab-ci.yml') as Record<string, { script: string[]; artifacts: { reports: { junit: string } } }>)[
      'etcd-tls-guard'
    ];
    expect(runDocumented(job?.script[0] as string, repo)).to.equal(1);
    const xml = readFileSync(join(repo, job?.artifacts.reports.junit as string), 'utf8');
    expect(xml).to.match(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="etcd-tls-guard"/);
    expect(xml).to.contain('<failure type="fail"');
  });

  it('pre-commit: the hook this repository defines fails a commit with a failing manifest and passes a good one (real pre-commit)', function () {
    const which = spawnSync('pre-commit', ['--version'], { encoding: 'utf8' });
    if (which.status !== 0) {
      // .ci/run installs Debian's pre-commit: there, its absence is a failure, not a skip; a developer
      // machine may not have it.
      expect(process.env.CI, 'pre-commit is missing, and .ci/run installs it').not.to.equal('true');
      this.skip();
    }
    this.timeout(600_000);
    const hooks = parse(readFileSync(join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as Array<{ id: string; entry: string }>;
    expect(hooks.map((h) => h.id)).to.deep.equal(['etcd-tls-guard']);
    // As a user's repository uses it: .pre-commit-config.yaml naming this repository at its commit
    // (the environment is installed once, then reused by both commits).
    const work = join(repo, 'precommit');
    const rev = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const config = `repos:\n  - repo: ${ROOT}\n    rev: ${rev}\n    hooks:\n      - id: etcd-tls-guard\n`;
    execFileSync('bash', [
      '-c',
      `mkdir -p ${work} && cd ${work} && git init -q && cp ${fixturePath('insecure/etcd-plaintext.yaml')} bad.yaml && cp ${fixturePath('kubeadm/etcd.yaml')} good.yaml && git add .`,
    ]);
    execFileSync('bash', ['-c', `cat > ${work}/.pre-commit-config.yaml`], { input: config });
    const run = (file: string): ReturnType<typeof spawnSync> =>
      spawnSync('pre-commit', ['run', '--files', file], {
        cwd: work,
        encoding: 'utf8',
        env: { ...process.env, PRE_COMMIT_HOME: join(repo, 'pre-commit-home') },
      });
    const bad = run('bad.yaml');
    expect(bad.status, String(bad.stdout)).to.equal(1);
    expect(String(bad.stdout)).to.match(/etcd-client-cert-auth \(CIS 2\.2\) \[enforce\] bad\.yaml:23:5/);
    const good = run('good.yaml');
    expect(good.status, String(good.stdout)).to.equal(0);
  });
});
