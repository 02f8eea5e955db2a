/**
 * A bounded memo of judgePod for the webhook: the same pod under the same policy and facts is
 * judged once. Where the same pod comes back: the kubelet retrying a denied mirror pod on each sync,
 * `kubectl apply --dry-run=server` of the same manifest in CI, the API server retrying a failed
 * webhook call, an UPDATE that changes only what the judgement does not read (finalizers, status,
 * the API server's bookkeeping). A hit skips the whole judgement (launch → configuration → rules →
 * decision); what that saves is measured in npm run bench and bench:apiserver (docs/performance.md).
 *
 * The key is everything judgePod reads (judge.ts is pure: pod, policy and facts in, verdict out):
 * - the policy, by identity: a reloaded policy is a new frozen object, and the first request under it
 *   empties the cache, so no verdict outlives the policy it was decided under;
 * - the facts kubeletMirror and observedEtcdMembers, and the previous pod of an UPDATE (ratcheting);
 * - every field of the pod the judgement reads (KEYED_FIELDS, checked against what judgePod really
 *   reads on every fixture), and nothing else: a dry-run create of the same manifest gets a new
 *   uid, creationTimestamp and resourceVersion each time, and hits.
 * Facts with functions (a node check's files, a process's runs) are not keyed: judged uncached.
 * A hit builds no key: the pod's keyed fields are compared, field by field, with those of the pod
 * its verdict was kept for (in the slot of its namespace and name). The key's text (JSON of those
 * fields) is built on a miss only, for the doorkeeper and the byte count.
 *
 * Kept on the second sighting: a pod judged for the first time is remembered by a 32-bit
 * fingerprint of its key only, and its verdict kept when it comes again (TinyLFU's "doorkeeper").
 * Keeping every verdict made each new pod cost 80 % more than judging it without a cache (the kept
 * verdicts are copied and promoted by the garbage collector: 5,000 distinct pods in turn, judgePod
 * 43 µs, a miss that keeps 79 µs); a pod seen once is most pods in a cluster. A fingerprint that
 * collides only keeps a verdict a sighting early: a kept verdict answers only a pod whose keyed
 * fields are all the same.
 *
 * Bounded: at most `maxEntries` verdicts and `maxBytes` of keys plus an estimate per verdict, the
 * oldest not used since it was kept out first (second chance: an approximation of least recently
 * used that costs a hit nothing); 4 × maxEntries fingerprints; a pod whose key alone exceeds
 * `maxKeyBytes` is judged and not kept (a pod that large costs as much to key as to judge).
 */
import type { Container, Pod } from '../launch/pod.js';
import type { Policy } from '../policy/policy.js';
import { judgePod, type PodFacts, type Verdict } from './judge.js';

export interface VerdictCacheLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxKeyBytes: number;
}

/** 1,000 verdicts, 8 MiB: a few hundred control-plane pods with room; a twenty-fourth of the chart's 192 MiB heap at most. */
export const DEFAULT_VERDICT_CACHE_LIMITS: VerdictCacheLimits = { maxEntries: 1000, maxBytes: 8 * 1024 * 1024, maxKeyBytes: 64 * 1024 };

/**
 * What one kept verdict costs besides its key, as charged against maxBytes: measured (1,000 distinct
 * kubeadm etcd verdicts kept, heap used after a full GC: 6.9 KiB each, of which 1.4 KiB is the
 * key), rounded up.
 */
export const VERDICT_BYTES_ESTIMATE = 6144;

/** FNV-1a over the key's UTF-16 code units: a fingerprint for the doorkeeper, where a collision is harmless. */
function fingerprint(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface VerdictCacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  /** Pods judged without being kept (key too large, or facts that cannot be keyed). */
  readonly uncacheable: number;
}

/**
 * The fields of a pod the judgement reads (launch, configuration, rules, decision, remediation), and
 * so the key. test/verdict-cache.test.ts records every field judgePod reads, on every fixture of
 * every distribution, and fails when one is not covered here: a rule that starts reading another
 * field must add it. Everything else (status, the API server's uid, timestamps and resourceVersion,
 * managedFields, volumes, probes, resources) does not change a verdict; leaving it out keeps the key
 * small (a hit costs a JSON.stringify of the key and a hash of it) and lets a re-sent pod hit.
 */
export const KEYED_FIELDS = [
  'metadata.name',
  'metadata.generateName',
  'metadata.namespace',
  'metadata.labels',
  'metadata.annotations',
  'metadata.ownerReferences',
  'spec.nodeName',
  'spec.serviceAccountName',
  'spec.hostNetwork',
  ...['initContainers', 'containers'].flatMap((list) => ['name', 'image', 'command', 'args', 'env', 'envFrom'].map((field) => `spec.${list}.*.${field}`)),
] as const;

/** A container's keyed fields, in KEYED_FIELDS' order. */
type ContainerParts = readonly [Container['name'], Container['image'], Container['command'], Container['args'], Container['env'], Container['envFrom']];
/** A pod's keyed fields (KEYED_FIELDS), in that order: what podKey serialises and a kept verdict is matched on. */
type PodParts = readonly unknown[];

const containerParts = (c: Container): ContainerParts => [c.name, c.image, c.command, c.args, c.env, c.envFrom];

function podParts(pod: Pod): PodParts {
  const m = pod.metadata;
  const s = pod.spec;
  return [m?.name, m?.generateName, m?.namespace, m?.labels, m?.annotations, m?.ownerReferences, s.nodeName, s.serviceAccountName, s.hostNetwork, s.initContainers?.map(containerParts), s.containers.map(containerParts)];
}

/** The key of one pod: KEYED_FIELDS, in that order. */
export function podKey(pod: Pod): string {
  return JSON.stringify(podParts(pod));
}

/**
 * Whether two JSON values are the same: primitives by ===, arrays element by element, objects key by
 * key in the same order. Stricter than comparing their JSON texts (undefined and null differ), never
 * looser: values it calls the same have the same JSON text, hence the same key. Both are plain data
 * as JSON.parse makes it (no enumerable inherited properties, which for-in would visit).
 * `a`'s keys are walked with for-in, whose `a[key]` V8 reads by field index from the enum cache;
 * Object.keys on both and a look-up by name on each (megamorphic: every labels, annotations and env
 * object has its own shape) made this a third dearer (in-process, kubeadm etcd pod's keyed fields).
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const x: unknown = a[i];
      const y: unknown = b[i];
      if (x !== y && !sameJson(x, y)) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  const keysB = Object.keys(b);
  let i = 0;
  for (const key in a) {
    if (key !== keysB[i]) return false;
    const x = (a as Record<string, unknown>)[key];
    const y = (b as Record<string, unknown>)[key];
    if (x !== y && !sameJson(x, y)) return false;
    i++;
  }
  return i === keysB.length;
}

/**
 * sameJson for what the schema makes a list of strings (command, args) or a map of strings (labels,
 * annotations): the same answer for any values (elements compared with ===, never looser), faster
 * for these, since each comparison here only ever sees strings and V8 compiles it as one.
 */
function sameStrings(live: readonly unknown[] | undefined, kept: unknown): boolean {
  if (live === kept) return true;
  if (live === undefined || !Array.isArray(kept) || live.length !== kept.length) return false;
  for (let i = 0; i < live.length; i++) if (live[i] !== kept[i]) return false;
  return true;
}

function sameStringMap(live: Readonly<Record<string, unknown>> | undefined, kept: unknown): boolean {
  if (live === kept) return true;
  if (live === undefined || typeof kept !== 'object' || kept === null || Array.isArray(live) || Array.isArray(kept)) return false;
  const keys = Object.keys(kept);
  let i = 0;
  for (const key in live) {
    if (key !== keys[i] || live[key] !== (kept as Record<string, unknown>)[key]) return false;
    i++;
  }
  return i === keys.length;
}

function sameContainers(live: readonly Container[] | undefined, kept: unknown): boolean {
  if (live === undefined || kept === undefined) return live === kept;
  const parts = kept as readonly ContainerParts[];
  if (live.length !== parts.length) return false;
  for (let i = 0; i < live.length; i++) {
    const c = live[i] as Container;
    const k = parts[i] as ContainerParts;
    if (c.name !== k[0] || c.image !== k[1] || !sameStrings(c.command, k[2]) || !sameStrings(c.args, k[3]) || !sameJson(c.env, k[4]) || !sameJson(c.envFrom, k[5])) return false;
  }
  return true;
}

/**
 * Whether `pod`'s keyed fields are those kept in `parts` (podParts of an earlier pod): the same as
 * comparing their keys, without serialising this pod (2.5 µs for a kubeadm etcd pod; the walk,
 * 0.5 µs, and it allocates nothing). Bounded by the kept pod's size: lengths are compared first.
 */
function matches(pod: Pod, parts: PodParts): boolean {
  const m = pod.metadata;
  const s = pod.spec;
  return (
    m?.name === parts[0] &&
    m?.generateName === parts[1] &&
    m?.namespace === parts[2] &&
    sameStringMap(m?.labels, parts[3]) &&
    sameStringMap(m?.annotations, parts[4]) &&
    sameJson(m?.ownerReferences, parts[5]) &&
    s.nodeName === parts[6] &&
    s.serviceAccountName === parts[7] &&
    s.hostNetwork === parts[8] &&
    sameContainers(s.initContainers, parts[9]) &&
    sameContainers(s.containers, parts[10])
  );
}

/** Whether the containers' own text already exceeds `max` characters: such a pod is not keyed at all. */
function obviouslyLarger(pod: Pod, max: number): boolean {
  // On every request: the two lists are walked where they are, not copied into one.
  let size = 0;
  for (const list of [pod.spec.initContainers, pod.spec.containers]) {
    for (const c of list ?? []) {
      for (const word of c.command ?? []) size += word.length;
      for (const word of c.args ?? []) size += word.length;
      for (const e of c.env ?? []) size += e.name.length + (e.value?.length ?? 0);
      if (size > max) return true;
    }
  }
  return false;
}

/**
 * Where a pod's verdict is kept: one slot per pod name. A pod that changes under its name replaces
 * its verdict once the new version is kept.
 */
function slotOf(pod: Pod): string {
  const m = pod.metadata;
  return `${m?.namespace ?? ''}/${m?.name ?? ''}/${m?.generateName ?? ''}`;
}

/**
 * A kept verdict and what it was judged from: the facts and the keyed fields of the pod (and of the
 * pod before an UPDATE). The fields are the pod's own arrays and objects, held by reference: nothing
 * changes a pod after it was decoded from a review.
 */
interface Kept {
  /** Answered from the cache since it was kept or last spared from eviction (second chance). */
  used: boolean;
  readonly kubeletMirror: boolean;
  readonly observedEtcdMembers: number | undefined;
  readonly pod: PodParts;
  readonly previous: PodParts | undefined;
  readonly verdict: Verdict;
  readonly bytes: number;
}

export class VerdictCache {
  readonly #entries = new Map<string, Kept>();
  /** Fingerprints of keys judged once and not kept, oldest first. */
  readonly #seenOnce = new Set<number>();
  #policy: Policy | undefined;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #uncacheable = 0;

  constructor(readonly limits: VerdictCacheLimits = DEFAULT_VERDICT_CACHE_LIMITS) {}

  /** judgePod, answered from the cache when the same pod, policy and facts were judged before. */
  judge(pod: Pod, policy: Policy, facts: PodFacts = {}): Verdict {
    if (this.limits.maxEntries <= 0 || facts.node !== undefined || facts.invocations !== undefined) {
      this.#uncacheable++;
      return judgePod(pod, policy, facts);
    }
    if (policy !== this.#policy) {
      this.clear();
      this.#policy = policy;
    }
    const slot = slotOf(pod);
    const found = this.#entries.get(slot);
    if (found !== undefined && this.#isFor(found, pod, facts)) {
      this.#hits++;
      // A hit only marks its entry (eviction gives it a second chance): moving it to the end of
      // the Map, as an exact LRU does, cost 0.8–1 µs of the ~2 a hit took (Map.delete + set
      // rehash and reallocate the table; measured in-process, 1,000,000 hits).
      found.used = true;
      return found.verdict;
    }
    if (obviouslyLarger(pod, this.limits.maxKeyBytes) || (facts.previous !== undefined && obviouslyLarger(facts.previous, this.limits.maxKeyBytes))) {
      this.#uncacheable++;
      return judgePod(pod, policy, facts);
    }
    const key = `${facts.kubeletMirror === true ? 'm' : '-'}${facts.observedEtcdMembers ?? ''}|${podKey(pod)}${facts.previous !== undefined ? `|${podKey(facts.previous)}` : ''}`;
    if (key.length > this.limits.maxKeyBytes) {
      this.#uncacheable++;
      return judgePod(pod, policy, facts);
    }
    this.#misses++;
    const verdict = judgePod(pod, policy, facts);
    const print = fingerprint(key);
    if (!this.#seenOnce.delete(print)) {
      this.#seenOnce.add(print);
      if (this.#seenOnce.size > 4 * this.limits.maxEntries) this.#seenOnce.delete(this.#seenOnce.values().next().value as number);
      return verdict;
    }
    // Remediations are computed when first read, from the pod (rules/evaluate.ts): read them now, so
    // that the kept verdict holds its text and not the pod it was computed from.
    for (const result of verdict.results) for (const finding of result.findings) void finding.remediation;
    const bytes = key.length + VERDICT_BYTES_ESTIMATE;
    if (found !== undefined) {
      this.#entries.delete(slot);
      this.#bytes -= found.bytes;
    }
    const kept: Kept = {
      used: false,
      kubeletMirror: facts.kubeletMirror === true,
      observedEtcdMembers: facts.observedEtcdMembers,
      pod: podParts(pod),
      previous: facts.previous !== undefined ? podParts(facts.previous) : undefined,
      verdict,
      bytes,
    };
    this.#entries.set(slot, kept);
    this.#bytes += bytes;
    this.#evict(slot, kept);
    return verdict;
  }

  /**
   * Back within the limits, oldest first, sparing once each entry used since it was kept or last
   * spared (it goes to the end, unmarked: "second chance", the CLOCK approximation of least recently
   * used) and the entry just kept. A Map iterates in insertion order and visits entries re-inserted
   * during the walk, so the walk ends: every entry is spared at most once.
   */
  #evict(keptSlot: string, justKept: Kept): void {
    const within = (): boolean => this.#entries.size <= this.limits.maxEntries && this.#bytes <= this.limits.maxBytes;
    for (const [slot, entry] of this.#entries) {
      if (within()) return;
      if (entry === justKept) continue;
      this.#entries.delete(slot);
      if (entry.used) {
        entry.used = false;
        this.#entries.set(slot, entry);
      } else {
        this.#bytes -= entry.bytes;
      }
    }
    // Everything else is gone and the limits are still exceeded (maxBytes below one entry): not kept.
    if (!within()) {
      this.#entries.delete(keptSlot);
      this.#bytes -= justKept.bytes;
    }
  }

  /** Whether `kept` was judged from this pod and these facts: the same key, compared field by field. */
  #isFor(kept: Kept, pod: Pod, facts: PodFacts): boolean {
    return (
      kept.kubeletMirror === (facts.kubeletMirror === true) &&
      kept.observedEtcdMembers === facts.observedEtcdMembers &&
      matches(pod, kept.pod) &&
      (facts.previous === undefined ? kept.previous === undefined : kept.previous !== undefined && matches(facts.previous, kept.previous))
    );
  }

  clear(): void {
    this.#entries.clear();
    this.#seenOnce.clear();
    this.#bytes = 0;
  }

  stats(): VerdictCacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses, uncacheable: this.#uncacheable };
  }
}
