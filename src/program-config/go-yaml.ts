/**
 * YAML as the Go programs we judge read their configuration files: etcd's `--config-file` (go-yaml
 * v2 through sigs.k8s.io/yaml, measured on the real binaries: test/program-config/etcd-binary.test.ts), the
 * kubelet's `--config`, k3s's config.yaml and OpenShift's KubeAPIServerConfig. One set of options
 * for all of them:
 * - YAML 1.1 scalars (`yes`, `on` are booleans), as go-yaml v2 reads them;
 * - repeated keys: the last wins (go-yaml v2 into a map), and `<<` merge keys;
 * - timestamps stay text: go-yaml v2 decodes a timestamp into interface{} as its string;
 * - at most 100 aliases expanded (a billion-laughs document is an error, not memory).
 * The webhook's own files and the manifests kubectl applies have their own readers
 * (policy/policy.ts, input/manifests.ts): different programs, different YAML.
 */
import { parseAllDocuments, type Document } from 'yaml';

const PARSE_OPTIONS = {
  version: '1.1',
  uniqueKeys: false,
  merge: true,
  logLevel: 'error',
  customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
} as const satisfies Parameters<typeof parseAllDocuments>[1];

const MAX_ALIASES = 100;

/** The first document of a Go program's YAML file, or the reason it cannot be read (the first error line). */
export function readGoYaml(text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string } {
  let first: Document.Parsed | undefined;
  try {
    const docs = parseAllDocuments(text, PARSE_OPTIONS);
    first = (Array.isArray(docs) ? docs : [docs])[0];
  } catch (e) {
    return { ok: false, error: firstLine((e as Error).message) };
  }
  if (first === undefined) return { ok: true, value: null };
  if (first.errors.length > 0) return { ok: false, error: firstLine(first.errors[0]?.message ?? 'invalid YAML') };
  try {
    return { ok: true, value: first.toJS({ maxAliasCount: MAX_ALIASES }) as unknown };
  } catch (e) {
    return { ok: false, error: firstLine((e as Error).message) };
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
