import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let built: string | undefined;

/**
 * The real Helm (v4), built once from its Go module at the version test/tools/helm/build.sh pins
 * and cached beside the kube-apiserver builds; the path of the binary.
 */
export function helmBinary(): string {
  built ??= execFileSync('bash', [join(ROOT, 'test', 'tools', 'helm', 'build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return built;
}
