import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let built: string | undefined;

/**
 * The real promtool (Prometheus 3), built once from its Go module at the version
 * test/tools/promtool/build.sh pins and cached beside Helm; the path of the binary.
 */
export function promtoolBinary(): string {
  built ??= execFileSync('bash', [join(ROOT, 'test', 'tools', 'promtool', 'build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return built;
}
