/**
 * Which release of etcd or kube-apiserver a container runs, as far as the pod shows it, and which of
 * the releases our flag tables were measured on it may be.
 *
 * The release is read only from the tag of an image whose publisher builds that program from its
 * upstream source (below): a digest, an unknown registry, a fork or a distribution build leaves it
 * unknown. With the release unknown, every release of the tables is a candidate, and the model claims
 * only what holds in all of them (a flag none of them knows is then evidence, not a refusal).
 */
import type { Component } from '../launch/invocation.js';
import { APISERVER_MEASURED_PATCH, APISERVER_RELEASES } from './apiserver-flags.js';
import { ETCD_MEASURED_PATCH, ETCD_RELEASES } from './etcd-flags.js';

export interface ReleaseScope {
  /** Table releases (minors, `3.5`, `1.33`) the program may be, oldest first. */
  readonly candidates: readonly string[];
  /**
   * The tables list exactly this release's flags: its version is read from the image, its minor is
   * in the tables, and its patch is not newer than the one measured (a later patch may add flags).
   * Only then is a flag the table lacks a refusal.
   */
  readonly flagsCovered: boolean;
  /** For messages: `etcd 3.5.15 (image tag)`, or why the release is not known. */
  readonly description: string;
}

interface Publisher {
  /** Image repository (no tag or digest), any architecture suffix (`-amd64`) allowed. */
  readonly repository: RegExp;
  /** Tag syntax of the publisher's releases; group 1 = major.minor, group 2 = patch. */
  readonly tag: RegExp;
}

/**
 * Publishers whose tags are upstream releases:
 * - registry.k8s.io and its predecessors k8s.gcr.io, gcr.io/google_containers (kubernetes
 *   build/server-image, cluster/images/etcd): `kube-apiserver:v1.33.2`, `hyperkube:v1.18.20`,
 *   `etcd:3.5.15-0` (the suffix is the image revision, not etcd's);
 * - quay.io/coreos/etcd and gcr.io/etcd-development/etcd, etcd's own release images: `v3.5.15`.
 * Distribution builds (rancher/hardened-*, eks-distro, OpenShift's release images) may carry patches
 * and are not listed: their release stays unknown.
 */
const PUBLISHERS: Readonly<Record<Component, readonly Publisher[]>> = {
  etcd: [
    {
      repository:
        /^(registry\.k8s\.io|k8s\.gcr\.io|(eu\.|us\.|asia\.)?gcr\.io\/google[-_]containers)\/etcd(-(amd64|arm64|arm|ppc64le|s390x))?$/,
      tag: /^v?(3\.\d+)\.(\d+)(-\d+)?$/,
    },
    { repository: /^(quay\.io\/coreos|gcr\.io\/etcd-development)\/etcd$/, tag: /^v(3\.\d+)\.(\d+)(-(amd64|arm64|ppc64le|s390x))?$/ },
  ],
  'kube-apiserver': [
    {
      repository:
        /^(registry\.k8s\.io|k8s\.gcr\.io|(eu\.|us\.|asia\.)?gcr\.io\/google[-_]containers)\/(kube-apiserver|hyperkube)(-(amd64|arm64|arm|ppc64le|s390x))?$/,
      tag: /^v(1\.\d+)\.(\d+)$/,
    },
  ],
};

const TABLES: Readonly<Record<Component, { releases: readonly string[]; measured: readonly string[] }>> = {
  etcd: { releases: ETCD_RELEASES, measured: ETCD_MEASURED_PATCH },
  'kube-apiserver': { releases: APISERVER_RELEASES, measured: APISERVER_MEASURED_PATCH },
};

/** `registry.k8s.io/etcd:3.5.15-0` → repository, tag, digest. */
export function splitImage(image: string): { repository: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  const name = at === -1 ? image : image.slice(0, at);
  const digest = at === -1 ? undefined : image.slice(at + 1);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const repository = colon > lastSlash ? name.slice(0, colon) : name;
  const tag = colon > lastSlash ? name.slice(colon + 1) : undefined;
  // docker.io is the default registry: `docker.io/library/x` and `x` name the same image.
  const normalized = repository.replace(/^(docker\.io\/)?(library\/)?/, '');
  return { repository: normalized, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

function unknownScope(component: Component, why: string): ReleaseScope {
  const { releases } = TABLES[component];
  return { candidates: releases, flagsCovered: false, description: `the ${component} release is not known (${why})` };
}

const memo = new Map<string, ReleaseScope>();

/** The release scope of `component` run from `image` (memoized: images repeat across pods). */
export function releaseScope(component: Component, image: string | undefined): ReleaseScope {
  const key = `${component}\u0000${image ?? ''}`;
  let scope = memo.get(key);
  if (scope === undefined) {
    scope = computeScope(component, image);
    if (memo.size < 10_000) memo.set(key, scope);
  }
  return scope;
}

function computeScope(component: Component, image: string | undefined): ReleaseScope {
  if (image === undefined || image === '') return unknownScope(component, 'the container names no image');
  const { repository, tag, digest } = splitImage(image);
  const publisher = PUBLISHERS[component].find((p) => p.repository.test(repository));
  if (publisher === undefined) return unknownScope(component, `image ${repository} is not an upstream ${component} release image`);
  // With a digest, the container runs what the digest names; the tag beside it is not checked.
  if (digest !== undefined)
    return unknownScope(component, `image ${image.length > 80 ? `${image.slice(0, 77)}...` : image} is pinned by digest`);
  const m = tag === undefined ? null : publisher.tag.exec(tag);
  if (m === null) return unknownScope(component, `the tag of image ${image} is not a release version`);
  const minor = m[1] as string;
  const patch = Number(m[2]);
  const version = `${minor}.${patch}`;
  const { releases, measured } = TABLES[component];
  const at = releases.indexOf(minor);
  if (at === -1) {
    const range = `${releases[0] ?? ''}–${releases[releases.length - 1] ?? ''}`;
    return {
      candidates: releases,
      flagsCovered: false,
      description: `${component} ${version} (image tag) is outside the releases the flag tables cover (${range})`,
    };
  }
  const measuredPatch = Number((measured[at] ?? '').split('.')[2]);
  if (patch > measuredPatch) {
    return {
      candidates: [minor],
      flagsCovered: false,
      description: `${component} ${version} (image tag) is newer than ${measured[at] ?? ''}, the ${minor} release the flag table was measured on`,
    };
  }
  return { candidates: [minor], flagsCovered: true, description: `${component} ${version} (image tag)` };
}

/** `3.4`, `3.5`, `3.6` → `3.4–3.6`; one release → itself. */
export function describeReleases(component: Component, minors: readonly string[]): string {
  if (minors.length === 0) return `no ${component} release`;
  const { releases } = TABLES[component];
  const first = minors[0] as string;
  const last = minors[minors.length - 1] as string;
  const contiguous = releases.indexOf(last) - releases.indexOf(first) === minors.length - 1;
  if (minors.length === 1) return `${component} ${first}`;
  return contiguous ? `${component} ${first}–${last}` : `${component} ${minors.join(', ')}`;
}
