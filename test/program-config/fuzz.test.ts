import { expect } from 'chai';
import fc from 'fast-check';
import { Agent } from 'node:https';
import { checkAdmissionReview } from '../../src/input/admission-review.js';
import type { DevCertificates } from '../../src/certs/dev.js';
import { containerEnvironment } from '../../src/launch/env.js';
import type { EnvVar } from '../../src/launch/pod.js';
import { parseShellScript, SHELL_LIMITS, ShellLimitError, ShellSyntaxError } from '../../src/launch/shell.js';
import { DEFAULT_POLICY, PolicyError, policyFromObject } from '../../src/policy/policy.js';
import { parseManifestText, readFast, readReference, type LoadedInputs } from '../../src/input/manifests.js';
import type { SourceNode } from '../../src/input/positions.js';
import { judgePod } from '../../src/judgement/judge.js';
import { exitCodeOf } from '../../src/report/report.js';
import { RULES } from '../../src/rules/rules.js';
import { scanDocuments } from '../../src/scan/scan.js';
import type { RunningServer } from '../../src/webhook/serve.js';
import { admissionReview, httpsRequest, postReview } from '../admission.js';
import { etcdPod, KUBEADM_ETCD_FLAGS, loadFixture, podWith, withFlags } from '../helpers.js';
import { startTestServer } from '../webhook/server.js';

// Bounded: a fixed seed per run would hide new cases, so fast-check picks one and prints it on failure.
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/**
 * The reference model of how etcd reads --client-cert-auth, written from the semantics (Go's flag
 * package and etcd's pkg/flags), independently of src/launch and src/program-config:
 * - `--x` and `-x` set a bool flag to true; `--x=v` parses v with strconv.ParseBool;
 * - a bool flag never takes the next argument: `--x false` leaves "false" as the first positional
 *   argument, where flag parsing stops, and etcd refuses positional arguments;
 * - the last occurrence wins;
 * - ETCD_CLIENT_CERT_AUTH set (even empty) next to the flag in argv stops etcd (shadowed variable);
 *   without the flag, a non-empty value is parsed with ParseBool, an empty one is ignored;
 * - anything etcd refuses fails the rule ("etcd will refuse to start").
 */
type Token = { kind: 'bare'; dashes: '-' | '--' } | { kind: 'eq'; value: string } | { kind: 'space'; value: string } | { kind: 'other' };
const GO_BOOL: Readonly<Record<string, boolean>> = {
  1: true,
  t: true,
  T: true,
  TRUE: true,
  true: true,
  True: true,
  0: false,
  f: false,
  F: false,
  FALSE: false,
  false: false,
  False: false,
};

function referenceVerdict(tokens: readonly Token[], env: string | undefined): 'pass' | 'fail' {
  let value: boolean | undefined;
  let seen = false;
  for (const t of tokens) {
    if (t.kind === 'other') continue;
    seen = true;
    if (t.kind === 'bare') value = true;
    else if (t.kind === 'eq') {
      const b = GO_BOOL[t.value];
      if (b === undefined) return 'fail'; // invalid boolean value: etcd exits
      value = b;
    } else {
      // `--client-cert-auth VALUE`: true, then VALUE is a positional argument and parsing stops.
      return 'fail';
    }
  }
  if (seen) return env !== undefined ? 'fail' : value === true ? 'pass' : 'fail';
  if (env === undefined || env === '') return 'fail'; // default false
  const b = GO_BOOL[env];
  return b === true ? 'pass' : 'fail';
}

function argvOf(tokens: readonly Token[]): string[] {
  return tokens.flatMap((t) => {
    switch (t.kind) {
      case 'bare':
        return [`${t.dashes}client-cert-auth`];
      case 'eq':
        return [`--client-cert-auth=${t.value}`];
      case 'space':
        return ['--client-cert-auth', t.value];
      case 'other':
        return ['--snapshot-count=10000'];
    }
  });
}

const boolText = fc.constantFrom('true', 'false', '1', '0', 't', 'f', 'T', 'F', 'TRUE', 'False', 'yes', 'no', '', 'on', '2');
const token: fc.Arbitrary<Token> = fc.oneof(
  fc.record({ kind: fc.constant('bare' as const), dashes: fc.constantFrom('-' as const, '--' as const) }),
  fc.record({ kind: fc.constant('eq' as const), value: boolText }),
  fc.record({ kind: fc.constant('space' as const), value: boolText }),
  fc.record({ kind: fc.constant('other' as const) }),
);

describe('property: etcd --client-cert-auth, the model and a reference written from the semantics agree', () => {
  it(`${RUNS} random argv/env combinations give the same verdict`, function () {
    this.timeout(30_000);
    const base = withFlags(KUBEADM_ETCD_FLAGS, { 'client-cert-auth': null });
    const verdicts = { pass: 0, fail: 0 };
    fc.assert(
      fc.property(fc.array(token, { maxLength: 4 }), fc.option(boolText, { nil: undefined }), (tokens, env) => {
        verdicts[referenceVerdict(tokens, env)]++;
        const envVars: EnvVar[] = env === undefined ? [] : [{ name: 'ETCD_CLIENT_CERT_AUTH', value: env }];
        const pod = etcdPod([...base, ...argvOf(tokens)], { env: envVars });
        const finding = judgePod(pod, DEFAULT_POLICY).results[0]?.findings.find((f) => f.rule === 'etcd-client-cert-auth');
        expect(finding?.status, JSON.stringify({ argv: argvOf(tokens), env, message: finding?.message })).to.equal(
          referenceVerdict(tokens, env),
        );
      }),
      { numRuns: RUNS },
    );
    // The generator reaches both verdicts often: the property is not satisfied by one answer.
    // (about 11 % of cases pass; at least 10 of 300 is 4 standard deviations below that.)
    expect(Math.min(verdicts.pass, verdicts.fail)).to.be.at.least(RUNS / 30);
  });
});

describe('property: parsers never throw on hostile input', () => {
  const shellChars = fc.constantFrom(...'ab e t c d $(){}[]\'"\\`;&|<>\n\t=-#*?~!0123456789_'.split(''));
  const script = fc.array(shellChars, { maxLength: 80 }).map((cs) => cs.join(''));

  it('a random sh -c script: parsed, or a ShellSyntaxError / ShellLimitError — nothing else', () => {
    const env = containerEnvironment(podWith({}), { name: 'c' });
    fc.assert(
      fc.property(script, (text) => {
        try {
          parseShellScript(text, env, { text: 'sh' }, []);
        } catch (err) {
          expect(err instanceof ShellSyntaxError || err instanceof ShellLimitError, String(err)).to.equal(true);
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('a random container (command, args, env, image): a well-formed verdict, the same every time', () => {
    const word = fc.oneof(
      script,
      fc.constantFrom(
        'etcd',
        'kube-apiserver',
        'sh',
        '-c',
        'exec',
        'env',
        '$(A)',
        '$(ETCD_X)',
        '--client-cert-auth',
        '--etcd-servers=https://x',
      ),
    );
    const env = fc.array(fc.record({ name: fc.constantFrom('A', 'ETCD_CLIENT_CERT_AUTH', 'ETCD_AUTO_TLS', 'B'), value: script }), {
      maxLength: 4,
    });
    let judged = 0;
    fc.assert(
      fc.property(
        fc.array(word, { maxLength: 6 }),
        fc.array(word, { maxLength: 6 }),
        env,
        fc.constantFrom('registry.k8s.io/etcd:3.5', 'busybox', 'bitnami/etcd'),
        (command, args, envVars, image) => {
          const pod = podWith({ command, args, env: envVars, image });
          const verdict = judgePod(pod, DEFAULT_POLICY);
          if (verdict.results.length > 0) judged++;
          // Pure: judged again, the same verdict.
          expect(judgePod(pod, DEFAULT_POLICY)).to.deep.equal(verdict);
          for (const r of verdict.results) {
            // Every rule of the component, once, in the rule table's order; never a silent gap.
            expect(r.findings.map((f) => f.rule)).to.deep.equal(
              RULES.filter((rule) => rule.component === r.component && rule.scope !== 'node').map((rule) => rule.id),
            );
            for (const f of r.findings) expect(f.message, f.rule).to.not.equal('');
          }
          // The decision follows the findings: denied exactly when an enforced rule fails or cannot be verified.
          const enforcedFailure = verdict.results.some((r) =>
            r.findings.some((f) => (f.status === 'fail' || f.status === 'unknown') && f.effectiveAction === 'enforce'),
          );
          expect(verdict.allowed).to.equal(!enforcedFailure);
          expect(verdict.denialMessage !== undefined).to.equal(enforcedFailure);
        },
      ),
      { numRuns: RUNS },
    );
    // The generator reaches containers that run a program often enough for the checks above to bite.
    expect(judged).to.be.at.least(RUNS / 10);
  });
});

/**
 * Growth patterns: each line or env entry doubles what the previous one built, or nests one level
 * deeper. Unbounded, 40 doublings make a 2^40-character string (a crash: "Invalid string length") and
 * deep nesting overflows the stack. Bounded, every case is judged, and what the verdict holds stays
 * small: no argument longer than the value budget, the whole verdict under a fixed size. (Time is
 * bounded by the same budgets: SHELL_LIMITS.steps and expandedChars; npm run bench measures it.)
 */
describe('property: growth patterns stay bounded', () => {
  const VERDICT_MAX_BYTES = 4 * 1024 * 1024;

  function checkBounded(pod: ReturnType<typeof podWith>): void {
    const verdict = judgePod(pod, DEFAULT_POLICY);
    const size = JSON.stringify(verdict).length;
    expect(size, 'verdict size').to.be.at.most(VERDICT_MAX_BYTES);
    for (const r of verdict.results) {
      for (const f of r.findings)
        for (const e of f.evidence) expect(e.length, 'one piece of evidence').to.be.at.most(SHELL_LIMITS.valueChars + 1024);
    }
  }

  const doublings = fc.integer({ min: 1, max: 64 });
  const doubledBy = fc.constantFrom('$A$A', '"$A$A"', '${A}${A}', '$A"$A"');

  it('a shell variable doubled n times (plain, quoted, braced; in sequence, in a loop, in a function)', () => {
    fc.assert(
      fc.property(doublings, doubledBy, fc.constantFrom('seq', 'loop', 'function'), (n, dbl, shape) => {
        const body =
          shape === 'seq'
            ? `A=${dbl}; `.repeat(n)
            : shape === 'loop'
              ? `for i in ${'x '.repeat(Math.min(n, 16))}; do A=${dbl}; done; `
              : `d() { A=${dbl}; }; ${'d; '.repeat(n)}`;
        checkBounded(podWith({ command: ['sh', '-c', `A=xy; ${body}exec etcd --name="$A" --client-cert-auth=true`] }));
      }),
      { numRuns: 60 },
    );
  });

  it('an env value doubled through n $(VAR) entries', () => {
    fc.assert(
      fc.property(doublings, fc.boolean(), (n, inArgs) => {
        const env = [{ name: 'A0', value: 'xy' }];
        for (let i = 1; i <= n; i++) env.push({ name: `A${i}`, value: `$(A${i - 1})$(A${i - 1})` });
        const ref = `$(A${n})`;
        checkBounded(
          podWith({
            command: ['etcd', `--name=${ref}`],
            ...(inArgs ? { args: [`--initial-cluster=${ref}=https://${ref}:2380`] } : {}),
            env,
          }),
        );
      }),
      { numRuns: 40 },
    );
  });

  it('nesting n deep: subshells, command substitutions, braces, if, functions calling functions', () => {
    const nesting = fc.integer({ min: 1, max: 200 });
    fc.assert(
      fc.property(nesting, fc.constantFrom('subshell', 'substitution', 'brace', 'if', 'calls'), (n, kind) => {
        const inner = 'etcd --client-cert-auth=true';
        const script =
          kind === 'subshell'
            ? `${'('.repeat(n)}${inner}${')'.repeat(n)}`
            : kind === 'substitution'
              ? `X=${'$('.repeat(n)}echo${')'.repeat(n)}; ${inner} --name=$X`
              : kind === 'brace'
                ? `${'{ '.repeat(n)}${inner}; ${'}; '.repeat(n)}`
                : kind === 'if'
                  ? `${'if true; then '.repeat(n)}${inner}; ${'fi; '.repeat(n)}`
                  : `${Array.from({ length: n }, (_, i) => `f${i}() { f${i + 1}; }; `).join('')}f${n}() { ${inner}; }; f0`;
        checkBounded(podWith({ command: ['sh', '-c', script] }));
      }),
      { numRuns: 60 },
    );
  });
});

describe('property: configuration and manifest input never crash the loaders', () => {
  it('a random policy document: a policy, or a PolicyError naming the fields — nothing else', () => {
    const policyLike = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          defaultAction: fc.oneof(fc.constantFrom('enforce', 'warn', 'audit', 'off', 'block'), fc.jsonValue()),
          unknownAction: fc.oneof(fc.constantFrom('enforce', 'warn', 'audit', 'off'), fc.jsonValue()),
          actions: fc.oneof(
            fc.dictionary(
              fc.constantFrom('etcd-client-cert-auth', 'etcd-auto-tls', 'nope', '__proto__'),
              fc.constantFrom('warn', 'off', 'x'),
            ),
            fc.jsonValue(),
          ),
          exemptions: fc.oneof(
            fc.array(fc.record({ namespace: fc.string(), name: fc.string(), reason: fc.string() }, { requiredKeys: [] })),
            fc.jsonValue(),
          ),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(policyLike, (doc) => {
        try {
          const policy = policyFromObject(doc);
          expect(Object.isFrozen(policy)).to.equal(true);
        } catch (err) {
          expect(err).to.be.instanceOf(PolicyError);
          expect((err as PolicyError).problems.length).to.be.greaterThan(0);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('a JSON document reads as exactly that JSON value (a manifest may be JSON)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const loaded = parseManifestText(JSON.stringify(value), 'fuzz.json');
        expect(loaded.errors).to.deep.equal([]);
        expect(loaded.documents.map((d) => d.object)).to.deep.equal([JSON.parse(JSON.stringify(value))]);
      }),
      { numRuns: RUNS },
    );
  });

  it('the fast YAML reader reads every document it takes exactly as the YAML 1.1 reference does', () => {
    // Scalars YAML 1.1 types specially (kubectl's go-yaml v2 does too), and ordinary ones.
    const special = fc.constantFrom(
      ...[
        'yes',
        'no',
        'on',
        'off',
        'y',
        'n',
        'Yes',
        'NO',
        'On',
        'null',
        'Null',
        '~',
        '0755',
        '0x1F',
        '1_000',
        '0b101',
        '1.5',
        '.5',
        '1e3',
        '-.inf',
        '.nan',
      ],
      ...['12:30', '190:20:30', '2026-11-22', '2026-11-22T10:00:00Z', '2001-12-14 21:59:43.10', '<<', '+1', '-0', '00', '08', '1.'],
    );
    const ordinary = fc.constantFrom(
      'true',
      'False',
      'TRUE',
      '0',
      '7',
      '-3',
      '42',
      '--flag=value',
      '--client-cert-auth',
      'v1',
      'etcd',
      '3.5.15-0',
      '10.0.0.1',
      'a b',
      'café',
      'https://x:2379',
    );
    const scalar = fc.oneof({ arbitrary: ordinary, weight: 12 }, { arbitrary: special, weight: 1 });
    const value = fc.oneof(
      scalar,
      scalar.map((x) => JSON.stringify(x)),
      fc.constant(''),
    );
    const line = fc
      .tuple(scalar, fc.oneof(value, fc.array(value, { minLength: 1, maxLength: 3 })))
      .map(([k, v]) => (Array.isArray(v) ? `${k}:\n${v.map((x) => `  - ${x}`).join('\n')}` : `${k}: ${v}`));
    const doc = fc.array(line, { minLength: 1, maxLength: 6 }).map((ls) => ls.join('\n'));
    let fast = 0;
    fc.assert(
      fc.property(fc.array(doc, { minLength: 1, maxLength: 3 }), (docs) => {
        const text = docs.join('\n---\n');
        const quick = readFast(text, 'f.yaml');
        if (quick === undefined) return;
        fast++;
        const reference = readReference(text, 'f.yaml');
        const objects = (r: LoadedInputs): unknown => ({ ...r, documents: r.documents.map(({ tree: _tree, ...d }) => d) });
        expect(objects(quick), text).to.deep.equal(objects(reference));
        // Both readers place every node where the other does (an empty value's place aside: it has no text).
        const places = (n: SourceNode): unknown => ({
          at: n.kind === 'scalar' && n.value === null ? null : n.at,
          kind: n.kind,
          value: n.value,
          children: n.children.map(places),
        });
        const trees = (r: LoadedInputs): unknown => r.documents.map((d) => (d.tree === undefined ? null : places(d.tree.root)));
        expect(trees(quick), text).to.deep.equal(trees(reference));
      }),
      { numRuns: RUNS * 3 },
    );
    // Both paths are exercised: documents of ordinary scalars take the fast one.
    expect(fast).to.be.within(RUNS / 10, RUNS * 3 - RUNS / 10);
  });

  it('random YAML text: documents or input errors, never an exception', () => {
    const yamlChars = fc.constantFrom(...'ab:- \n{}[],"\'&*!|>#%@`?=~0123456789.'.split(''));
    fc.assert(
      fc.property(fc.array(yamlChars, { maxLength: 120 }), (cs) => {
        const loaded = parseManifestText(cs.join(''), 'fuzz.yaml');
        // Each YAML document is at most one of: an object, an error (empty documents are neither).
        const indices = [...loaded.documents.map((d) => d.document), ...loaded.errors.map((e) => e.document)];
        expect(new Set(indices).size, 'a document both read and in error').to.equal(indices.length);
        for (const d of loaded.documents) expect(d.object).to.not.equal(null);
        for (const e of loaded.errors) expect(e.message).to.match(/^not valid YAML: /);
        const report = scanDocuments(loaded.documents, DEFAULT_POLICY, loaded.errors);
        expect(report.errors.length).to.be.at.least(loaded.errors.length);
        expect(exitCodeOf(report) === 2).to.equal(report.errors.length > 0);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: hostile AdmissionReview bodies over HTTPS', function () {
  this.timeout(60_000);
  let certs: DevCertificates;
  let server: RunningServer;
  let agent: Agent;

  before(async () => {
    ({ server, certs } = await startTestServer());
    agent = new Agent({ keepAlive: true, maxSockets: 4, ca: certs.ca.certPem, servername: 'localhost' });
  });
  after(async () => {
    agent.destroy();
    await server.close(1000);
  });

  async function post(body: Buffer): Promise<{ status: number; text: string }> {
    const reply = await postReview(server.url, body, { agent });
    return { status: reply.status, text: reply.body };
  }

  const valid = admissionReview(loadFixture('insecure/etcd-plaintext.yaml'), { uid: 'f00dfeed-0000-4000-8000-000000000000' });
  const validText = JSON.stringify(valid);

  /** Replaces the value at a random path of a JSON object with `replacement`. */
  function mutateAt(doc: unknown, path: readonly number[], replacement: unknown): unknown {
    if (path.length === 0 || typeof doc !== 'object' || doc === null) return replacement;
    const keys = Object.keys(doc);
    if (keys.length === 0) return replacement;
    const key = keys[(path[0] as number) % keys.length] as string;
    const copy: Record<string, unknown> = Array.isArray(doc)
      ? ([...(doc as unknown[])] as unknown as Record<string, unknown>)
      : { ...(doc as Record<string, unknown>) };
    copy[key] = mutateAt((doc as Record<string, unknown>)[key], path.slice(1), replacement);
    return copy;
  }

  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  const body: fc.Arbitrary<Buffer> = fc.oneof(
    // Truncated JSON.
    fc.integer({ min: 0, max: validText.length - 1 }).map((n) => Buffer.from(validText.slice(0, n))),
    // A value anywhere replaced by anything JSON can hold.
    fc
      .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.jsonValue())
      .map(([path, v]) => Buffer.from(JSON.stringify(mutateAt(valid, path, v)))),
    // __proto__ and constructor keys where objects are expected.
    fc
      .constantFrom(
        validText.replace('"request":{', '"request":{"__proto__":{"allowed":true},'),
        validText.replace('"metadata":{', '"metadata":{"__proto__":{"namespace":"x"},"constructor":{"prototype":{"polluted":true}},'),
        `{"__proto__":{"apiVersion":"admission.k8s.io/v1"},"kind":"AdmissionReview"}`,
      )
      .map((t) => Buffer.from(t)),
    // Huge strings and deep nesting.
    fc
      .constantFrom(
        JSON.stringify(mutateAt(valid, [2, 0], 'x'.repeat(1024 * 1024))),
        validText.replace('"object":', `"deep":${deep(5000)},"object":`),
        deep(100_000),
      )
      .map((t) => Buffer.from(t)),
    // Invalid UTF-8 inside an otherwise valid review.
    fc
      .integer({ min: 1, max: validText.length - 2 })
      .map((n) => Buffer.concat([Buffer.from(validText.slice(0, n)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(validText.slice(n))])),
    // Random bytes.
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  );

  it(`${RUNS} hostile bodies: always a 4xx or a valid AdmissionReview, never allowed for a malformed request, never a crash`, async () => {
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await post(b);
        expect([200, 400, 413], res.text.slice(0, 200)).to.include(res.status);
        const review = JSON.parse(res.text) as { apiVersion: string; kind: string; response: { uid: string; allowed: boolean } };
        expect(review).to.deep.include({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
        expect(review.response.uid).to.be.a('string');
        if (res.status !== 200) expect(review.response.allowed).to.equal(false);
        if (review.response.allowed) {
          // Allowed only when the request is a well-formed review (and so the object was judged).
          const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b));
          expect(checkAdmissionReview(parsed)).to.deep.equal([]);
        }
      }),
      { numRuns: RUNS },
    );
    // And the server is still there.
    expect((await httpsRequest(`${server.url}/healthz`, { agent })).status).to.equal(200);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
