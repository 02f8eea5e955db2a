/**
 * etcd's `--config-file`, read with etcd's own semantics (server/embed/config.go configFromFile,
 * 3.4–3.7): sigs.k8s.io/yaml turns the YAML (go-yaml v2, so YAML 1.1: `yes`/`on` are booleans) into
 * JSON, and encoding/json fills configYAML from it:
 * - keys match the struct's JSON names case-insensitively, the last of equal keys wins, unknown keys
 *   are ignored;
 * - TLS lives only under `client-transport-security` and `peer-transport-security` (cert-file,
 *   key-file, client-cert-auth, trusted-ca-file, auto-tls); the same names at the top level are not
 *   read at all;
 * - a value of the wrong JSON type (`client-cert-auth: "true"`, a list where a string goes) and a
 *   YAML syntax error stop etcd; `null` leaves the default.
 * Every point above was measured on etcd 3.4.23 (Debian), 3.5.35 and 3.6.16 (test/program-config/etcd-binary.test.ts).
 */
import { readGoYaml } from './go-yaml.js';
import type { Setting } from './settings.js';

/** Top-level string fields of configYAML the rules read, by their JSON name (= the flag name). */
const TOP_LEVEL_STRINGS = [
  'name',
  'data-dir',
  'wal-dir',
  'listen-peer-urls',
  'listen-client-urls',
  'listen-client-http-urls',
  'initial-advertise-peer-urls',
  'advertise-client-urls',
  'initial-cluster',
  'initial-cluster-state',
  'initial-cluster-token',
  'discovery',
  'discovery-srv',
  'discovery-proxy',
] as const;

/** securityConfig's fields → the flag each one stands for, per section. */
const SECTIONS: Readonly<Record<string, Readonly<Record<string, { flag: string; type: 'string' | 'bool' }>>>> = {
  'client-transport-security': {
    'cert-file': { flag: 'cert-file', type: 'string' },
    'key-file': { flag: 'key-file', type: 'string' },
    'client-cert-auth': { flag: 'client-cert-auth', type: 'bool' },
    'trusted-ca-file': { flag: 'trusted-ca-file', type: 'string' },
    'auto-tls': { flag: 'auto-tls', type: 'bool' },
  },
  'peer-transport-security': {
    'cert-file': { flag: 'peer-cert-file', type: 'string' },
    'key-file': { flag: 'peer-key-file', type: 'string' },
    'client-cert-auth': { flag: 'peer-client-cert-auth', type: 'bool' },
    'trusted-ca-file': { flag: 'peer-trusted-ca-file', type: 'string' },
    'auto-tls': { flag: 'peer-auto-tls', type: 'bool' },
  },
};

/** TLS flag names that etcd ignores at the top level of the file (measured: `client-cert-auth: true` there leaves it off). */
const TOP_LEVEL_IGNORED = new Set([
  'cert-file',
  'key-file',
  'client-cert-auth',
  'trusted-ca-file',
  'auto-tls',
  'peer-cert-file',
  'peer-key-file',
  'peer-client-cert-auth',
  'peer-trusted-ca-file',
  'peer-auto-tls',
]);

/** The URL fields etcd parses with types.NewURLs after reading the file (a bad one stops it). */
export const CONFIG_FILE_URL_FIELDS = [
  'listen-peer-urls',
  'listen-client-urls',
  'listen-client-http-urls',
  'initial-advertise-peer-urls',
  'advertise-client-urls',
] as const;

export interface EtcdConfigFile {
  /** Settings the file makes, by flag name. */
  readonly settings: ReadonlyMap<string, Setting>;
  /** Set when etcd stops on this file; the text is etcd's own where it prints one. */
  readonly refusal?: string;
  readonly notes: readonly string[];
}

/** JSON's name of a value's type, as encoding/json says it in its errors. */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v === 'number' || typeof v === 'bigint' ? 'number' : 'string';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Map entries by lower-cased key, the last one winning (encoding/json matches names case-insensitively). */
function entriesOf(v: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (isObject(v)) for (const [key, value] of Object.entries(v)) out.set(key.toLowerCase(), value);
  return out;
}

/** A string field's value (sigs.k8s.io/yaml writes a number's or bool's literal into a string field). */
function stringValue(v: unknown): { value?: string; error?: string } {
  if (v === null || v === undefined) return {};
  if (typeof v === 'string') return { value: v };
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return { value: String(v) };
  return { error: jsonKind(v) };
}

function boolField(v: unknown): { value?: string; error?: string } {
  if (v === null || v === undefined) return {};
  if (typeof v === 'boolean') return { value: String(v) };
  return { error: jsonKind(v) };
}

/**
 * The settings an etcd configuration file makes. Pure: the text comes from the node front door.
 * Bounded: the YAML parser's own limits (aliases) apply and the caller bounds the text's size.
 */
export function readEtcdConfigFile(text: string, file: string): EtcdConfigFile {
  const settings = new Map<string, Setting>();
  const notes: string[] = [];
  const refuse = (refusal: string): EtcdConfigFile => ({ settings, refusal, notes });
  const read = readGoYaml(text);
  if (!read.ok) return refuse(`error converting YAML to JSON: ${read.error} (${file})`);
  const root = read.value;
  if (root !== null && root !== undefined && !isObject(root)) {
    return refuse(`error unmarshaling JSON: json: cannot unmarshal ${jsonKind(root)} into Go value of type embed.configYAML (${file})`);
  }
  const top = entriesOf(root);
  const set = (flag: string, key: string, value: string): void => {
    settings.set(flag, { flag, state: 'set', value, source: 'config-file', file, key });
  };
  for (const field of TOP_LEVEL_STRINGS) {
    const node = top.get(field);
    if (node === undefined) continue;
    const { value, error } = stringValue(node);
    if (error !== undefined)
      return refuse(
        `error unmarshaling JSON: json: cannot unmarshal ${error} into Go struct field configYAML.${field} of type string (${file})`,
      );
    if (value !== undefined) set(field, field, value);
  }
  for (const [section, fields] of Object.entries(SECTIONS)) {
    const node = top.get(section);
    if (node === undefined || node === null) continue;
    if (!isObject(node))
      return refuse(
        `error unmarshaling JSON: json: cannot unmarshal ${jsonKind(node)} into Go struct field configYAML.${section} of type embed.securityConfig (${file})`,
      );
    const inside = entriesOf(node);
    for (const [field, { flag, type }] of Object.entries(fields)) {
      const child = inside.get(field);
      if (child === undefined) continue;
      const { value, error } = type === 'bool' ? boolField(child) : stringValue(child);
      if (error !== undefined)
        return refuse(
          `error unmarshaling JSON: json: cannot unmarshal ${error} into Go struct field securityConfig.${section}.${field} of type ${type} (${file})`,
        );
      if (value !== undefined) set(flag, `${section}.${field}`, value);
    }
  }
  for (const key of top.keys()) {
    if (TOP_LEVEL_IGNORED.has(key))
      notes.push(
        `${key} at the top level of ${file} is ignored: etcd reads it only under client-transport-security or peer-transport-security`,
      );
  }
  return { settings, notes };
}
