import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Container, EnvFromSource, EnvVar, Pod } from '../src/launch/pod.js';
import type { Word } from '../src/launch/word.js';

/** test/fixtures, from dist/test/ where the compiled tests run. */
export const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

export function fixturePath(rel: string): string {
  return `${FIXTURES}${rel}`;
}

export function loadFixture(rel: string): Pod {
  return parse(readFileSync(fixturePath(rel), 'utf8')) as Pod;
}

export function words(...texts: string[]): Word[] {
  return texts.map((text) => ({ text }));
}

export interface PodOptions {
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: EnvVar[];
  readonly envFrom?: EnvFromSource[];
  readonly image?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly mirror?: boolean;
  readonly nodeName?: string;
}

export function container(opts: PodOptions & { containerName?: string }): Container {
  return {
    name: opts.containerName ?? 'main',
    image: opts.image ?? 'registry.k8s.io/etcd:3.5.15-0',
    ...(opts.command !== undefined ? { command: opts.command } : {}),
    ...(opts.args !== undefined ? { args: opts.args } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
    ...(opts.envFrom !== undefined ? { envFrom: opts.envFrom } : {}),
  };
}

export function podWith(opts: PodOptions, containers?: Container[]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: opts.name ?? 'etcd-cp-1',
      namespace: opts.namespace ?? 'kube-system',
      ...(opts.mirror === true ? { annotations: { 'kubernetes.io/config.mirror': 'abc', 'kubernetes.io/config.source': 'file' } } : {}),
    },
    spec: {
      ...(opts.nodeName !== undefined ? { nodeName: opts.nodeName } : {}),
      containers: containers ?? [container({ ...opts, containerName: 'etcd' })],
    },
  };
}

/**
 * Flags of a compliant single-member kubeadm etcd — the kubeadm fixture's own
 * (test/fixtures/kubeadm/etcd.yaml, one source of truth); tests add or override from here.
 */
export const KUBEADM_ETCD_FLAGS: readonly string[] = (loadFixture('kubeadm/etcd.yaml').spec.containers[0]?.command ?? []).slice(1);

/** Replaces (by flag name) or adds flags; `--x` with value `null` removes --x. */
export function withFlags(base: readonly string[], changes: Readonly<Record<string, string | null>>): string[] {
  const name = (f: string): string => f.replace(/^--/, '').split('=')[0] as string;
  const out = base.filter((f) => !(name(f) in changes));
  for (const [flag, value] of Object.entries(changes)) {
    if (value === null) continue;
    const written = flag.startsWith('-') ? flag : `--${flag}`; // `-etcd-cafile`: written as given
    if (value === '') out.push(written);
    else if (value.endsWith(' X'))
      out.push(written, value.slice(0, -2)); // `--flag value` (space form)
    else out.push(`${written}=${value}`);
  }
  return out;
}

export function etcdPod(args: readonly string[], opts: PodOptions = {}): Pod {
  return podWith({ ...opts, command: ['etcd', ...args] });
}
