/**
 * The npm package people install: `npm pack` gives the compiled program, its license and README and
 * nothing else (no tests, no fixtures), and the tarball installs in an empty directory and runs
 * `scan` and `serve` there, outside this checkout.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDevCertificates } from '../src/certs/dev.js';
import { fixturePath } from './helpers.js';
import { httpsGet, spawnWebhook } from './processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; license: string };

describe('the npm package', function () {
  // npm install of the production dependencies (from the npm cache when warm).
  this.timeout(180_000);

  it('holds the compiled program, LICENSE, README and package.json, and nothing else', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }),
    ) as Array<{
      files: Array<{ path: string }>;
      size: number;
    }>;
    const paths = (packed?.files ?? []).map((f) => f.path);
    expect(paths.filter((p) => !p.startsWith('dist/src/')).sort()).to.deep.equal(['LICENSE', 'README.md', 'package.json']);
    expect(paths).to.include('dist/src/cli/main.js');
    expect(paths.some((p) => p.includes('test/') || p.includes('fixtures'))).to.equal(false);
    expect(packed?.size, 'a lean tarball').to.be.below(1024 * 1024);
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8'))
      .to.contain('Apache License')
      .and.contain('Version 2.0, January 2004');
    expect(PACKAGE.license).to.equal('Apache-2.0');
  });

  it('installs from its tarball in an empty directory and runs scan and serve there', async () => {
    const work = await mkdtemp(join(tmpdir(), 'etg-pack-'));
    const tarball = execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop() as string;
    const app = join(work, 'app');
    execFileSync('bash', ['-c', `mkdir -p ${app} && cd ${app} && npm init -y >/dev/null`]);
    execFileSync('npm', ['install', join(work, tarball), '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
      cwd: app,
      stdio: 'pipe',
    });
    const bin = join(app, 'node_modules', '.bin', 'etcd-tls-guard');
    expect(existsSync(bin)).to.equal(true);
    expect(existsSync(join(app, 'node_modules', 'typescript')), 'no dev dependency is installed').to.equal(false);

    expect(execFileSync(bin, ['version'], { encoding: 'utf8' }).trim()).to.equal(PACKAGE.version);
    const scan = spawnSync(bin, ['scan', fixturePath('insecure/etcd-plaintext.yaml')], { cwd: app, encoding: 'utf8' });
    expect(scan.status).to.equal(1);
    expect(scan.stdout).to.contain('DENY Pod kube-system/etcd-cp-1');

    const certs = generateDevCertificates(['localhost']);
    await writeFile(join(app, 'tls.crt'), certs.server.certPem);
    await writeFile(join(app, 'tls.key'), certs.server.keyPem);
    const { child, url, exited } = await spawnWebhook(
      process.execPath,
      [join(app, 'node_modules', 'etcd-tls-guard', 'dist', 'src', 'cli', 'main.js'), 'serve'],
      {
        cwd: app,
        env: {
          PATH: process.env.PATH,
          ETCD_TLS_GUARD_PORT: '0',
          ETCD_TLS_GUARD_METRICS_PORT: '0',
          ETCD_TLS_GUARD_TLS_CERT_FILE: join(app, 'tls.crt'),
          ETCD_TLS_GUARD_TLS_KEY_FILE: join(app, 'tls.key'),
        },
      },
    );
    expect((await httpsGet(`${url}/healthz`, certs.ca.certPem)).body).to.equal('ok');
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
  });
});
