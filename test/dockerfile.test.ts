import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { generateDevCertificates } from '../src/certs/dev.js';
import { httpsGet, spawnWebhook } from './processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const RUNTIME_NODE_PACKAGE = JSON.parse(readFileSync(join(ROOT, 'test', 'runtime-node', 'package.json'), 'utf8')) as {
  dependencies: { node: string };
};
/** The Node.js binary of the image's major, from the `node` npm package (installed by npm test). */
const RUNTIME_NODE = join(ROOT, 'test', 'runtime-node', 'node_modules', '.bin', 'node');

interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: Instruction[];
}

function stages(): Stage[] {
  const out: { name: string; image: string; instructions: Instruction[] }[] = [];
  for (const instruction of DockerfileParser.parse(DOCKERFILE).getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      out.push({ image: args[0] ?? '', name: args[2] ?? String(out.length), instructions: [] });
    } else out.at(-1)?.instructions.push(instruction);
  }
  return out;
}

function argsOf(stage: Stage, keyword: string): string[][] {
  return stage.instructions.filter((i) => i.getKeyword() === keyword).map((i) => i.getArguments().map((a) => a.getValue()));
}

describe('Dockerfile', () => {
  const all = stages();
  const runtime = all.at(-1) as Stage;

  it('passes the dockerfile-utils linter without a warning', () => {
    const problems = validate(DOCKERFILE).map(
      (d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
    );
    expect(problems).to.deep.equal([]);
  });

  it('is multi-stage: npm ci and the build happen before the runtime stage', () => {
    expect(all.map((s) => s.name)).to.deep.equal(['build', 'deps', 'runtime']);
    const build = all[0] as Stage;
    const runs = argsOf(build, 'RUN').map((a) => a.join(' '));
    expect(runs.some((r) => r.startsWith('npm ci'))).to.equal(true);
    expect(runs).to.include('npm run build');
    expect(argsOf(all[1] as Stage, 'RUN')[0]?.join(' ')).to.match(/^npm ci --omit=dev /);
  });

  it('runs on the Node.js LTS major that CI also tests on (test/runtime-node)', () => {
    const major = /^node:(\d+)-/.exec(runtime.image)?.[1];
    expect(major, runtime.image).to.equal(RUNTIME_NODE_PACKAGE.dependencies.node.split('.')[0]);
    expect(['22', '24']).to.include(major);
    for (const s of all) expect(s.image, `stage ${s.name}`).to.equal(runtime.image);
  });

  it('the runtime stage holds only production dependencies, dist/src and package.json', () => {
    const copies = runtime.instructions
      .filter((i): i is Copy => i.getKeyword() === 'COPY')
      .map((c) => [...c.getFlags().map((f) => `--${f.getName()}=${f.getValue() ?? ''}`), ...c.getArguments().map((a) => a.getValue())]);
    expect(copies).to.deep.equal([
      ['--from=deps', '/app/node_modules', './node_modules'],
      ['--from=build', '/src/dist/src', './dist/src'],
      ['package.json', './'],
    ]);
    expect(DOCKERFILE).to.not.match(/COPY[^\n]*certs-dev/);
  });

  it('runs as a numeric non-root user, exposes 8443, exec-form entrypoint', () => {
    const [user] = argsOf(runtime, 'USER');
    expect(user?.[0]).to.match(/^[1-9][0-9]*:[1-9][0-9]*$/);
    expect(argsOf(runtime, 'EXPOSE').flat()).to.include('8443');
    const entrypoint = runtime.instructions.find((i) => i.getKeyword() === 'ENTRYPOINT');
    expect(entrypoint?.getArgumentsContent()?.trim().startsWith('[')).to.equal(true);
  });

  it('labels the image with the OCI annotations, by default with the version of package.json (a build sets VERSION and REVISION)', () => {
    const labels = new Map<string, string>();
    for (const args of argsOf(runtime, 'LABEL'))
      for (const pair of args) {
        const eq = pair.indexOf('=');
        labels.set(pair.slice(0, eq), pair.slice(eq + 1).replace(/^"|"$/g, ''));
      }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
    for (const key of ['title', 'description', 'source', 'url', 'documentation', 'licenses', 'version', 'revision'])
      expect(labels.has(`org.opencontainers.image.${key}`), key).to.equal(true);
    expect(labels.get('org.opencontainers.image.licenses')).to.equal(pkg.license);
    expect(labels.get('org.opencontainers.image.version')).to.equal('${VERSION}');
    expect(argsOf(runtime, 'ARG').flat()).to.include(`VERSION=${pkg.version}`);
  });

  it('.dockerignore keeps keys, dependencies and local state out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', 'certs-dev']) expect(ignored).to.include(entry);
  });
});

describe('the runtime stage, reproduced without Docker', function () {
  // npm ci of the production dependencies (from the npm cache when warm).
  this.timeout(180_000);

  it('npm ci --omit=dev + dist/src + package.json starts the webhook with the ENTRYPOINT, on the image’s Node.js major', async () => {
    const app = await mkdtemp(join(tmpdir(), 'etg-image-'));
    // The deps stage: production dependencies only, no install scripts.
    await cp(join(ROOT, 'package.json'), join(app, 'package.json'));
    await cp(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
      cwd: app,
      stdio: 'pipe',
    });
    // The runtime stage's COPY lines.
    await cp(join(ROOT, 'dist', 'src'), join(app, 'dist', 'src'), { recursive: true });
    expect(existsSync(join(app, 'node_modules', 'typescript')), 'a dev dependency in the image').to.equal(false);
    expect(existsSync(join(app, 'node_modules', 'express'))).to.equal(true);

    const certs = generateDevCertificates(['localhost']);
    await writeFile(join(app, 'tls.crt'), certs.server.certPem);
    await writeFile(join(app, 'tls.key'), certs.server.keyPem);
    const entrypoint = JSON.parse(runtime().entrypoint) as string[];
    const cmd = JSON.parse(runtime().cmd) as string[];
    expect(entrypoint[0]).to.equal('node');
    expect(existsSync(RUNTIME_NODE), `${RUNTIME_NODE} is missing: npm run runtime-node:install (npm test runs it)`).to.equal(true);
    const node = RUNTIME_NODE;
    const script = (entrypoint[1] as string).replace(/^\/app\//, `${app}/`);
    const { child, url, exited } = await spawnWebhook(node, [script, ...cmd], {
      cwd: app,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        ETCD_TLS_GUARD_PORT: '0',
        ETCD_TLS_GUARD_METRICS_PORT: '0',
        ETCD_TLS_GUARD_TLS_CERT_FILE: join(app, 'tls.crt'),
        ETCD_TLS_GUARD_TLS_KEY_FILE: join(app, 'tls.key'),
      },
    });
    expect((await httpsGet(`${url}/healthz`, certs.ca.certPem)).body).to.equal('ok');
    const version = execFileSync(node, ['-p', 'process.versions.node']).toString().trim();
    expect(version.split('.')[0]).to.equal(RUNTIME_NODE_PACKAGE.dependencies.node.split('.')[0]);
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
  });

  function runtime(): { entrypoint: string; cmd: string } {
    const stage = stages().at(-1) as Stage;
    const content = (k: string): string => stage.instructions.find((i) => i.getKeyword() === k)?.getArgumentsContent() ?? '[]';
    return { entrypoint: content('ENTRYPOINT'), cmd: content('CMD') };
  }
});
