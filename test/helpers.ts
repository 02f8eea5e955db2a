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

/** Flags of a compliant single-member kubeadm etcd; tests add or override from here. */
export const KUBEADM_ETCD_FLAGS = [
  '--advertise-client-urls=https://10.0.0.11:2379',
  '--cert-file=/etc/kubernetes/pki/etcd/server.crt',
  '--client-cert-auth=true',
  '--data-dir=/var/lib/etcd',
  '--initial-advertise-peer-urls=https://10.0.0.11:2380',
  '--initial-cluster=cp-1=https://10.0.0.11:2380',
  '--key-file=/etc/kubernetes/pki/etcd/server.key',
  '--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.11:2379',
  '--listen-peer-urls=https://10.0.0.11:2380',
  '--name=cp-1',
  '--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt',
  '--peer-client-cert-auth=true',
  '--peer-key-file=/etc/kubernetes/pki/etcd/peer.key',
  '--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
  '--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
];

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

export function etcdPod(args: string[], opts: PodOptions = {}): Pod {
  return podWith({ ...opts, command: ['etcd', ...args] });
}
