import { readFileSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

/** The version of this package, from its package.json (dist/src/metrics → the package root). */
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * `etcd_tls_guard_build_info{version,nodejs,component} 1`, as Prometheus' own build_info: which release
 * runs where, joinable to every other series of the process.
 */
export function registerBuildInfo(registry: Registry, component: 'webhook' | 'node-agent'): void {
  new Gauge({
    name: 'etcd_tls_guard_build_info',
    help: 'Always 1; the labels say which etcd-tls-guard and Node.js run, and which component this is.',
    labelNames: ['version', 'nodejs', 'component'] as const,
    registers: [registry],
  }).set({ version: VERSION, nodejs: process.version, component }, 1);
}
