import { CONFIG_FILE_URL_FIELDS, readEtcdConfigFile } from './etcd-config-file.js';
import { ETCD_FLAG_TABLE, ETCD_RELEASES } from './etcd-flags.js';
import type { NodeFiles } from './node-files.js';
import { FlagCatalog } from './flag-catalog.js';
import { GO_VALUE_SYNTAX, parseGoFlags, type FlagOccurrence, type FlagSpec } from './flags.js';
import { isServiceLinkName } from '../launch/env.js';
import type { Invocation } from '../launch/invocation.js';
import { boolValue, readFlags, effectiveValue, isNonEmpty, opaqueConfig, type ProgramConfig, type Setting } from './settings.js';

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/;
const ETCD_SCHEMES = new Set(['http', 'https', 'unix', 'unixs']);
const HOST_PORT = /^(\[[^\]]*\]|[^:[\]]*):[^:]*$/;

/**
 * etcd's URL flags (types.NewURLs via flags.UniqueURLs.Set): comma-separated, each with scheme
 * http, https, unix or unixs, a host:port, and no path. A bad one stops etcd at flag parsing.
 */
export function validateEtcdUrls(list: string): string | undefined {
  for (const raw of list.split(',')) {
    const u = raw.trim();
    const m = URL_SHAPE.exec(u);
    if (m === null) return `URL scheme must be http, https, unix, or unixs: ${u}`;
    if (!ETCD_SCHEMES.has((m[1] as string).toLowerCase())) return `URL scheme must be http, https, unix, or unixs: ${u}`;
    const authority = m[2] as string;
    const at = authority.indexOf('@');
    if (!HOST_PORT.test(at === -1 ? authority : authority.slice(at + 1))) return `URL address does not have the form "host:port": ${u}`;
    if (m[3] !== '') return `URL must not contain a path: ${u}`;
  }
  return undefined;
}

function specFor(kind: string): FlagSpec {
  if (kind === 'bool' || kind === 'ignored') return { bool: true };
  if (kind === 'urls') return { bool: false, validate: validateEtcdUrls };
  if (kind === 'int' || kind === 'uint')
    return { bool: false, validate: (v) => (GO_VALUE_SYNTAX[kind].test(v) ? undefined : 'parse error') };
  if (kind === 'duration')
    return { bool: false, validate: (v) => (GO_VALUE_SYNTAX.duration.test(v) ? undefined : `time: invalid duration ${JSON.stringify(v)}`) };
  if (kind.startsWith('choice:')) {
    const valid = kind.slice('choice:'.length).split(',');
    return { bool: false, validate: (v) => (valid.includes(v) ? undefined : `valid values are ${JSON.stringify(valid.join(','))}`) };
  }
  return { bool: false };
}

export const ETCD_CATALOG = new FlagCatalog(ETCD_RELEASES, ETCD_FLAG_TABLE, specFor);
/** Every flag of any release: the ETCD_* variables etcd may read. */
export const ETCD_FLAGS: ReadonlyMap<string, FlagSpec> = ETCD_CATALOG.union;

/**
 * Behaviour that changed between etcd releases, by the first release that has it (read in each
 * release's source, measured on 3.4.23):
 * - envShadowedIsFatal: an ETCD_* variable set beside the same flag stops etcd (pkg/flags verifyEnv,
 *   etcd PR #9382, in 3.4); etcd 3.3 logs "recognized environment variable ..., but unused: shadowed
 *   by corresponding flag" and uses the flag.
 * - trustedCaRequiresClientCert: --trusted-ca-file alone makes etcd require and verify client
 *   certificates (transport TLSInfo.ServerConfig: `TrustedCAFile != "" || ClientCertAuth`, 3.4+);
 *   in 3.3 only the deprecated --ca-file or --client-cert-auth does (`CAFile != "" || ClientCertAuth`).
 */
const SINCE = { envShadowedIsFatal: '3.4', trustedCaRequiresClientCert: '3.4' } as const;

/** Whether a behaviour holds for a run that may be any of `releases`: true/false when they all agree. */
export function etcdBehaviour(releases: readonly string[], behaviour: keyof typeof SINCE): boolean | undefined {
  const since = ETCD_RELEASES.indexOf(SINCE[behaviour]);
  const has = releases.map((r) => ETCD_RELEASES.indexOf(r) >= since);
  if (has.length === 0) return undefined;
  if (has.every((h) => h)) return true;
  if (has.every((h) => !h)) return false;
  return undefined;
}

/** Defaults etcd applies when a flag is absent (embed.NewConfig, etcdmain newConfig). */
const DEFAULTS: Readonly<Record<string, string>> = {
  'listen-client-urls': 'http://localhost:2379',
  'listen-peer-urls': 'http://localhost:2380',
  'advertise-client-urls': 'http://localhost:2379',
  'initial-advertise-peer-urls': 'http://localhost:2380',
  'initial-cluster': 'default=http://localhost:2380',
  'initial-cluster-state': 'new',
};

/** `client-cert-auth` → `ETCD_CLIENT_CERT_AUTH` (pkg/flags FlagToEnv). */
export function etcdEnvName(flag: string): string {
  return `ETCD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** Every flag with its ETCD_ variable, computed once: readEtcdConfig looks each one up. */
const FLAG_ENV_NAMES: ReadonlyArray<readonly [string, string, FlagSpec]> = [...ETCD_FLAGS].map(([flag, spec]) => [
  flag,
  etcdEnvName(flag),
  spec,
]);

const FLAG_INDEX: ReadonlyMap<string, number> = new Map(FLAG_ENV_NAMES.map(([flag], i) => [flag, i]));
const FLAG_OF_ENV: ReadonlyMap<string, number> = new Map(FLAG_ENV_NAMES.map(([, envName], i) => [envName, i]));
/** ETCD_* names the kubelet's service links could define (none today; kept exact if the tables change). */
const SERVICE_LINK_SHAPED: readonly number[] = FLAG_ENV_NAMES.flatMap(([, envName], i) => (isServiceLinkName(envName) ? [i] : []));

/**
 * The flags whose setting may differ from the default: those in argv, those whose ETCD_* variable
 * may be set. In a closed environment that is only its defined names (and service-link-shaped ones),
 * so the reader looks at a handful of flags instead of every flag of every release; in table order,
 * so notes and the first refusal are the same as a full pass.
 */
function flagsToRead(
  occurrences: ReadonlyMap<string, unknown>,
  env: Invocation['env'],
): ReadonlyArray<readonly [string, string, FlagSpec]> {
  if (env.open()) return FLAG_ENV_NAMES;
  const picked = new Uint8Array(FLAG_ENV_NAMES.length);
  for (const i of SERVICE_LINK_SHAPED) picked[i] = 1;
  for (const flag of occurrences.keys()) {
    const i = FLAG_INDEX.get(flag);
    if (i !== undefined) picked[i] = 1;
  }
  for (const name of env.definedNames()) {
    const i = FLAG_OF_ENV.get(name);
    if (i !== undefined) picked[i] = 1;
  }
  const out: Array<readonly [string, string, FlagSpec]> = [];
  for (let i = 0; i < picked.length; i++) if (picked[i] === 1) out.push(FLAG_ENV_NAMES[i] as readonly [string, string, FlagSpec]);
  return out;
}

/** A flag left at its default: the same frozen object for every pod (rules read absent flags a lot). */
const ABSENT = new Map<string, Setting>();
function absentSetting(flag: string): Setting {
  let s = ABSENT.get(flag);
  if (s === undefined) {
    s = Object.freeze({
      flag,
      state: 'absent' as const,
      defaultValue: DEFAULTS[flag] ?? (ETCD_FLAGS.get(flag)?.bool === true ? 'false' : ''),
    });
    // Flag names come from the rules and this module; bounded all the same.
    if (ABSENT.size < 1_000) ABSENT.set(flag, s);
  }
  return s;
}

function lastOccurrence(list: readonly FlagOccurrence[] | undefined): FlagOccurrence | undefined {
  return list === undefined ? undefined : list[list.length - 1];
}

/** The setting an argv occurrence makes: unknown when its value, or whether it is a flag at all, is. */
function argvSetting(flag: string, o: FlagOccurrence): Setting {
  if (o.uncertain !== undefined) return { flag, state: 'unknown', reason: `--${flag} (argument ${o.index + 1}) ${o.uncertain}` };
  if (o.value.unknown !== undefined) {
    const reason = `--${flag} ${o.value.unknown.reason}`;
    return {
      flag,
      state: 'unknown',
      reason,
      ...(o.value.unknown.separatorFree === true ? { separatorFreeText: o.value.text } : {}),
      ...(o.value.unknown.at > 0 ? { nonEmpty: true } : {}),
    };
  }
  return { flag, state: 'set', value: o.value.text, source: 'argv', argIndex: o.index };
}

/**
 * etcd's effective configuration for one run, modelled on etcdmain (config.go parse and
 * configFromCmdLine) and pkg/flags (SetFlagsFromEnv, verifyEnv):
 * 1. argv is parsed by Go's flag package; any error, leftover argument, `--help` or `--version`
 *    means etcd does not serve.
 * 2. `--config-file` (the last one), else a non-empty ETCD_CONFIG_FILE, replaces every other flag
 *    and variable; the file is on the node: every setting is unknown, unless a node check hands in
 *    the node's files (`files`), and then the file is read with etcd's semantics (etcd-config-file.ts).
 * 3. Otherwise each flag absent from argv is read from ETCD_<NAME> when that is non-empty; an
 *    ETCD_<NAME> present next to the same flag in argv stops etcd 3.4 and later, even when empty or
 *    equal (measured on etcd 3.4.23: "conflicting environment variable ... is shadowed by
 *    corresponding command-line flag"); etcd 3.3 warns and uses the flag.
 * Which flags exist depends on the release (the image's, narrowed by the flags given; readFlags).
 */
export function readEtcdConfig(inv: Invocation, files?: NodeFiles): ProgramConfig {
  const early = readFlags('etcd', inv, ETCD_CATALOG, (lookup, tolerate) => parseGoFlags(inv.args, lookup, 'etcd', tolerate));
  if ('component' in early) return early;
  const { parsed, releases } = early;
  const notes = [...early.notes];
  const unknownAll = (opaque: string, refusal?: string, configFile?: string): ProgramConfig =>
    opaqueConfig('etcd', opaque, {
      ...(refusal !== undefined ? { refusal } : {}),
      ...(configFile !== undefined ? { configFile } : {}),
      releases,
      notes,
    });
  const fatalShadow = etcdBehaviour(releases, 'envShadowedIsFatal');
  const version = lastOccurrence(parsed.occurrences.get('version'));
  if (
    version !== undefined &&
    version.uncertain === undefined &&
    version.value.unknown === undefined &&
    version.value.text !== 'false' &&
    version.value.text !== '0'
  ) {
    const exits = '--version prints the version and exits';
    return opaqueConfig('etcd', exits, { exits });
  }

  const configFileArg = lastOccurrence(parsed.occurrences.get('config-file'));
  const configFileEnv = inv.env.get('ETCD_CONFIG_FILE');
  const fileNote = (where: string): string =>
    `etcd reads its settings from the configuration file ${where} on the node, which the webhook cannot see; other flags and ETCD_* variables are ignored`;
  const fromFile = (path: string, named: string): ProgramConfig => {
    if (files === undefined) return unknownAll(fileNote(named), undefined, path);
    const read = files.text(path);
    if (read.state !== 'read')
      return unknownAll(
        `etcd reads its settings from the configuration file ${named}, which cannot be read on the node: ${read.reason}`,
        undefined,
        path,
      );
    const file = readEtcdConfigFile(read.text, path);
    notes.push(...file.notes);
    if (file.refusal !== undefined) return unknownAll(file.refusal, file.refusal, path);
    for (const field of CONFIG_FILE_URL_FIELDS) {
      const s = file.settings.get(field);
      const bad = s?.state === 'set' ? validateEtcdUrls(s.value) : undefined;
      if (bad !== undefined)
        return unknownAll(
          `unexpected error setting up ${field}: ${bad} (${path})`,
          `unexpected error setting up ${field}: ${bad} (${path})`,
          path,
        );
    }
    const config: ProgramConfig = {
      component: 'etcd',
      releases,
      notes,
      configFile: path,
      get: (flag) => file.settings.get(flag) ?? absentSetting(flag),
    };
    const refusal = tlsWithoutCertificates(config);
    return refusal === undefined ? config : { ...config, refusal };
  };
  if (configFileArg !== undefined && (configFileArg.value.unknown !== undefined || configFileArg.value.text !== '')) {
    return configFileArg.value.unknown !== undefined
      ? unknownAll(fileNote(`named by ${configFileArg.value.text}`))
      : fromFile(configFileArg.value.text, configFileArg.value.text);
  }
  if (configFileEnv !== undefined) {
    if (configFileEnv.state === 'unknown')
      return unknownAll(`ETCD_CONFIG_FILE ${configFileEnv.reason}; if it names a file, ${fileNote('it names')}`);
    if (configFileEnv.value !== '') return fromFile(configFileEnv.value, `${configFileEnv.value} (ETCD_CONFIG_FILE)`);
  }

  const settings = new Map<string, Setting>();
  const variables = new Map<string, string>();
  for (const [flag, envName, spec] of flagsToRead(parsed.occurrences, inv.env)) {
    const fromArgv = lastOccurrence(parsed.occurrences.get(flag));
    const fromEnv = inv.env.get(envName);
    if (fromArgv !== undefined) {
      if (fromEnv !== undefined && !(fromEnv.state === 'unknown' && fromEnv.maybeUnset === true)) {
        const refusal = `conflicting environment variable "${envName}" is shadowed by corresponding command-line flag --${flag} (either unset environment variable or disable flag)`;
        if (fatalShadow === true) return unknownAll(refusal, refusal);
        // etcd 3.3 warns and uses the flag; with the release unknown, the flag's value is the value
        // whenever etcd starts at all.
        notes.push(
          fatalShadow === false
            ? `${envName} is set beside --${flag}: etcd 3.3 logs that it is shadowed and uses the flag`
            : `${envName} is set beside --${flag}: etcd 3.4 and later refuse to start ("${refusal}"), etcd 3.3 uses the flag; the release is not known`,
        );
      }
      settings.set(flag, argvSetting(flag, fromArgv));
      continue;
    }
    // etcd 3.5+ unsets ETCD_VERSION before reading the environment ("cannot set special environment variable").
    if (flag === 'version' || fromEnv === undefined || (fromEnv.state === 'known' && fromEnv.value === '')) continue;
    if (fromEnv.state === 'unknown') {
      const reason = `${envName} ${fromEnv.reason}`;
      settings.set(
        flag,
        fromEnv.separatorFree === true && fromEnv.text !== undefined
          ? { flag, state: 'unknown', reason, separatorFreeText: fromEnv.text }
          : { flag, state: 'unknown', reason },
      );
      continue;
    }
    const bad = spec.bool
      ? boolValue({ flag, state: 'set', value: fromEnv.value, source: 'env' }) === undefined
        ? 'parse error'
        : undefined
      : spec.validate?.(fromEnv.value);
    if (bad !== undefined) {
      const refusal = `invalid value ${JSON.stringify(fromEnv.value)} for ${envName}: ${bad}`;
      return unknownAll(refusal, refusal);
    }
    settings.set(flag, { flag, state: 'set', value: fromEnv.value, source: 'env', envName });
    variables.set(flag, envName);
  }

  const config: ProgramConfig = {
    component: 'etcd',
    releases,
    notes,
    ...(variables.size > 0 ? { variables } : {}),
    get: (flag) => settings.get(flag) ?? absentSetting(flag),
  };
  const refusal = startupRefusal(config);
  return refusal === undefined ? config : { ...config, refusal };
}

export type Scheme = 'http' | 'https' | 'unix' | 'unixs';

export function urlSchemes(list: string): Array<{ url: string; scheme: Scheme }> {
  return list
    .split(',')
    .map((u) => u.trim())
    .map((url) => ({ url, scheme: url.slice(0, url.indexOf(':')).toLowerCase() as Scheme }));
}

export const isTlsScheme = (scheme: Scheme): boolean => scheme === 'https' || scheme === 'unixs';

/**
 * The URLs of a URL-list setting and their schemes, as far as they are known. A value whose unknown
 * parts hold no `,`, `=` or whitespace (an IP from status.podIP, a node name: separatorFreeText)
 * keeps its list structure, and each URL whose scheme is literal text keeps its scheme:
 * `https://$(POD_IP):2379` is TLS whatever the pod's IP. A scheme with an unknown part in it
 * (`$(SCHEME)://…`) is undefined. Undefined: the list itself is unknown.
 */
export function knownUrlSchemes(s: Setting): Array<{ url: string; scheme: Scheme | undefined }> | undefined {
  if (s.state !== 'unknown') {
    const list = effectiveValue(s) ?? '';
    return list === '' ? [] : urlSchemes(list);
  }
  if (s.separatorFreeText === undefined) return undefined;
  return s.separatorFreeText
    .split(',')
    .map((u) => u.trim())
    .map((url) => {
      const scheme = url.slice(0, Math.max(0, url.indexOf(':')));
      return { url, scheme: /^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme) ? (scheme.toLowerCase() as Scheme) : undefined };
    });
}

/** What etcd checks after parsing, before serving (embed.Config.Validate, embed.StartEtcd). */
function startupRefusal(cfg: ProgramConfig): string | undefined {
  const set = (flag: string): boolean | undefined => {
    const s = cfg.get(flag);
    return s.state === 'unknown' ? undefined : s.state === 'set';
  };
  // etcdmain configFromCmdLine: an explicit listen-client-urls drops the default advertise URL,
  // and embed Validate then refuses (ErrUnsetAdvertiseClientURLsFlag). Measured on 3.4.23. (A
  // configuration file keeps NewConfig's default advertise URL, so this is argv and env only.)
  if (set('listen-client-urls') === true && set('advertise-client-urls') === false) {
    return '--advertise-client-urls is required when --listen-client-urls is set explicitly';
  }
  return tlsWithoutCertificates(cfg);
}

/** embed.StartEtcd: a TLS listener without cert and key (and no auto-tls) stops etcd, however configured. */
function tlsWithoutCertificates(cfg: ProgramConfig): string | undefined {
  for (const side of ['client', 'peer'] as const) {
    const urls = side === 'client' ? [cfg.get('listen-client-urls'), cfg.get('listen-client-http-urls')] : [cfg.get('listen-peer-urls')];
    const prefix = side === 'client' ? '' : 'peer-';
    const hasCerts = isNonEmpty(cfg.get(`${prefix}cert-file`)) === true && isNonEmpty(cfg.get(`${prefix}key-file`)) === true;
    const certsUnknown = isNonEmpty(cfg.get(`${prefix}cert-file`)) === undefined || isNonEmpty(cfg.get(`${prefix}key-file`)) === undefined;
    const autoTls = boolValue(cfg.get(`${prefix}auto-tls`));
    if (hasCerts || certsUnknown || autoTls !== false) continue;
    for (const s of urls) {
      const list = effectiveValue(s);
      if (list === undefined || list === '') continue;
      const tls = urlSchemes(list).find((u) => isTlsScheme(u.scheme));
      if (tls === undefined) continue;
      // Texts as etcd 3.4.23 prints them (measured).
      return side === 'client'
        ? `TLS key/cert (--cert-file, --key-file) must be provided for client url ${tls.url} with HTTPS scheme`
        : `cannot listen on TLS for ${tls.url}: KeyFile and CertFile are not presented`;
    }
  }
  return undefined;
}

export type Membership =
  | {
      readonly kind: 'single' | 'cluster';
      readonly evidence: string;
      /**
       * A single member told by --initial-cluster (one member listed, or none: etcd's default), which
       * etcd reads only when a member first starts: a member that later starts with a data
       * directory belongs to whatever cluster it joined then.
       */
      readonly firstStartOnly?: boolean;
    }
  | { readonly kind: 'undetermined'; readonly evidence: string };

/** Hosts only this machine can reach: a peer listener on them takes no connection from another member. */
function isLocalOnly(url: string): boolean {
  const m = /^([a-z]+):\/\/(\[[^\]]*\]|[^:/]*)/i.exec(url.trim());
  if (m === null) return false;
  const scheme = (m[1] as string).toLowerCase();
  if (scheme === 'unix' || scheme === 'unixs') return true;
  const host = (m[2] as string).toLowerCase();
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

/** The member names of an --initial-cluster value (one member may list several peer URLs). */
function memberNames(list: string): Set<string> {
  return new Set(
    list
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '')
      .map((m) => m.slice(0, m.includes('=') ? m.indexOf('=') : m.length)),
  );
}

/**
 * How many members the etcd cluster has, from `--initial-cluster` (NAME=URL pairs; one member may
 * list several peer URLs under the same name), discovery flags, or where peers can connect from.
 * Undetermined when that cannot be told: the policy's `etcdTopology` then decides.
 * - A value whose unknown parts cannot hold `,` or `=` (`$(NODE_NAME)=https://$(HOST_IP):2380`)
 *   still has a known number of members.
 * - Peers listening only on loopback or unix sockets (the default http://localhost:2380 included):
 *   no member on another machine can reach this one, so there is no other member to talk to.
 */
export function etcdMembership(cfg: ProgramConfig): Membership {
  if (cfg.opaque !== undefined) return { kind: 'undetermined', evidence: 'the configuration cannot be seen' };
  for (const flag of ['discovery', 'discovery-srv', 'discovery-endpoints']) {
    const s = cfg.get(flag);
    if (s.state === 'set' && s.value !== '') return { kind: 'cluster', evidence: `--${flag} is set (members join by discovery)` };
  }
  const s = cfg.get('initial-cluster');
  const where = s.state === 'set' && s.source === 'env' ? 'ETCD_INITIAL_CLUSTER' : '--initial-cluster';
  const listed = s.state === 'set' ? s.value : s.state === 'unknown' ? s.separatorFreeText : undefined;
  if (listed !== undefined) {
    const names = memberNames(listed);
    if (names.size > 1) return { kind: 'cluster', evidence: `${where} lists ${names.size} members` };
  }
  const peers = effectiveValue(cfg.get('listen-peer-urls'));
  if (peers !== undefined && peers !== '' && peers.split(',').every(isLocalOnly)) {
    return { kind: 'single', evidence: `peers listen only on ${peers}, which no other member can reach` };
  }
  if (listed !== undefined)
    return {
      kind: 'single',
      evidence: `${where} lists one member${s.state === 'unknown' ? ' (its name and address are only known when the pod runs)' : ''}`,
      firstStartOnly: true,
    };
  if (s.state === 'unknown') return { kind: 'undetermined', evidence: s.reason };
  // Not set: etcd bootstraps a cluster of itself alone, <name>=<initial-advertise-peer-urls>
  // (etcdmain configFromCmdLine: InitialClusterFromName). Measured on etcd 3.4.23 started with --name
  // and no --initial-cluster: "added member … to cluster", "single voting member cluster". Joining an
  // existing cluster (--initial-cluster-state=existing) needs a member list, so that case stays open.
  const state = cfg.get('initial-cluster-state');
  if (state.state === 'set' && state.value === 'existing')
    return { kind: 'undetermined', evidence: '--initial-cluster-state=existing without --initial-cluster' };
  if (state.state === 'unknown') return { kind: 'undetermined', evidence: state.reason };
  return {
    kind: 'single',
    evidence: '--initial-cluster is not set: etcd bootstraps a one-member cluster of itself (<name>=<initial-advertise-peer-urls>)',
    firstStartOnly: true,
  };
}
