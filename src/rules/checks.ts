/**
 * The checks the pod rules are built from (rules.ts declares each control with them): a flag is
 * true, not true, set; URLs use TLS; client authentication as etcd really applies it. Each returns
 * pass, fail or unknown with the evidence it read; none names a rule.
 */
import { etcdBehaviour, isTlsScheme, knownUrlSchemes } from '../program-config/etcd.js';
import { boolValue, describeSetting, effectiveValue, isNonEmpty, type ProgramConfig, type Setting } from '../program-config/settings.js';
import type { CheckOutcome } from './outcome.js';

/** `(argv)` or `(env ETCD_AUTO_TLS)`: where a set flag came from. */
function whereSet(s: Setting): string {
  if (s.state === 'set' && s.source === 'config-file') return `(${s.key} in ${s.file})`;
  return s.state === 'set' && s.source === 'env' ? `(env ${s.envName ?? ''})` : '(argv)';
}

const evidenceOf = (config: ProgramConfig, flags: readonly string[]): string[] => flags.map((f) => describeSetting(config.get(f)));

function unknownOutcome(config: ProgramConfig, flags: readonly string[]): CheckOutcome | undefined {
  const s = flags.map((f) => config.get(f)).find((x) => x.state === 'unknown');
  return s?.state === 'unknown' ? { status: 'unknown', message: s.reason, evidence: evidenceOf(config, flags) } : undefined;
}

/** Passes when the boolean flag is true (absent means its default, false). */
export function flagIsTrue(flag: string): (config: ProgramConfig) => CheckOutcome {
  return (config) => {
    const unknown = unknownOutcome(config, [flag]);
    if (unknown !== undefined) return unknown;
    const s = config.get(flag);
    const evidence = evidenceOf(config, [flag]);
    if (boolValue(s) === true) return { status: 'pass', message: `--${flag} is true ${whereSet(s)}`, evidence };
    return {
      status: 'fail',
      message: s.state === 'absent' ? `--${flag} is not set (defaults to false)` : `--${flag} is false ${whereSet(s)}`,
      evidence,
    };
  };
}

/** Passes when the boolean flag is absent or false. */
export function flagNotTrue(flag: string): (config: ProgramConfig) => CheckOutcome {
  return (config) => {
    const unknown = unknownOutcome(config, [flag]);
    if (unknown !== undefined) return unknown;
    const s = config.get(flag);
    const evidence = evidenceOf(config, [flag]);
    if (boolValue(s) === true) return { status: 'fail', message: `--${flag} is true ${whereSet(s)}`, evidence };
    return { status: 'pass', message: s.state === 'absent' ? `--${flag} is not set` : `--${flag} is false ${whereSet(s)}`, evidence };
  };
}

/** Passes when every flag is set to a non-empty value. */
export function flagsSet(...flags: string[]): (config: ProgramConfig) => CheckOutcome {
  return (config) => {
    const evidence = evidenceOf(config, flags);
    const missing = flags.filter((f) => isNonEmpty(config.get(f)) === false);
    // A value that starts with known text is set, whatever its unknown rest (isNonEmpty).
    const undecided = flags.filter((f) => isNonEmpty(config.get(f)) === undefined);
    if (missing.length === 0) return unknownOutcome(config, undecided) ?? { status: 'pass', message: evidence.join(', '), evidence };
    return {
      status: 'fail',
      message: `${missing.map((f) => `--${f}`).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`,
      evidence,
    };
  };
}

/** Passes when every URL in the (list-valued) flags uses a TLS scheme; an empty list passes. */
export function urlsUseTls(...flags: string[]): (config: ProgramConfig) => CheckOutcome {
  return (config) => {
    const evidence = evidenceOf(config, flags);
    const lists = flags.map((flag) => ({ flag, urls: knownUrlSchemes(config.get(flag)) }));
    const plain = lists.flatMap(({ flag, urls }) =>
      (urls ?? []).filter((u) => u.scheme !== undefined && !isTlsScheme(u.scheme)).map((u) => ({ flag, url: u.url })),
    );
    // A certainly plaintext URL fails whatever the unknown ones turn out to be.
    if (plain.length === 0) {
      const unknownList = lists.find((l) => l.urls === undefined || l.urls.some((u) => u.scheme === undefined));
      if (unknownList !== undefined) {
        const s = config.get(unknownList.flag);
        return {
          status: 'unknown',
          message: s.state === 'unknown' ? s.reason : `a URL in --${unknownList.flag} has an unknown scheme`,
          evidence,
        };
      }
      return { status: 'pass', message: evidence.join(', '), evidence };
    }
    const first = plain[0] as { flag: string; url: string };
    const defaulted = config.get(first.flag).state === 'absent' ? ` (the default of --${first.flag})` : '';
    return {
      status: 'fail',
      message: `${first.url}${defaulted} is not TLS: plaintext traffic${plain.length > 1 ? ` (+${plain.length - 1} more)` : ''}`,
      evidence,
    };
  };
}

export function allOf(...checks: Array<(config: ProgramConfig) => CheckOutcome>): (config: ProgramConfig) => CheckOutcome {
  return (config) => {
    const outcomes = checks.map((c) => c(config));
    const evidence = [...new Set(outcomes.flatMap((o) => o.evidence))];
    const failed = outcomes.filter((o) => o.status === 'fail');
    if (failed.length > 0) return { status: 'fail', message: failed.map((o) => o.message).join('; '), evidence };
    const unknown = outcomes.find((o) => o.status === 'unknown');
    if (unknown !== undefined) return { ...unknown, evidence };
    return { status: 'pass', message: evidence.join(', '), evidence };
  };
}

const SIDES = {
  client: {
    urls: ['listen-client-urls', 'listen-client-http-urls'],
    cert: 'cert-file',
    key: 'key-file',
    auth: 'client-cert-auth',
    ca: 'trusted-ca-file',
    deprecatedCa: 'ca-file',
    auto: 'auto-tls',
    what: 'client',
  },
  peer: {
    urls: ['listen-peer-urls'],
    cert: 'peer-cert-file',
    key: 'peer-key-file',
    auth: 'peer-client-cert-auth',
    ca: 'peer-trusted-ca-file',
    deprecatedCa: 'peer-ca-file',
    auto: 'peer-auto-tls',
    what: 'peer',
  },
} as const;

/** Three-valued OR and AND: undefined means unknown. */
function anyOf(...xs: Array<boolean | undefined>): boolean | undefined {
  return xs.includes(true) ? true : xs.every((x) => x === false) ? false : undefined;
}
function bothOf(a: boolean | undefined, b: boolean | undefined): boolean | undefined {
  return a === false || b === false ? false : a === true && b === true ? true : undefined;
}

/**
 * What etcd really does with client (or peer) connections (etcd embed + client/pkg/transport):
 * - TLSInfo.ServerConfig requires and verifies client certificates when ClientCertAuth is on OR,
 *   from etcd 3.4, a trusted CA file is given (measured on 3.4.23: --trusted-ca-file alone rejects a
 *   client without a certificate; read in 3.5–3.7's source). etcd 3.3 requires them with
 *   ClientCertAuth or its deprecated --ca-file only (`CAFile != "" || ClientCertAuth`);
 * - --auto-tls acts only when cert and key files are both empty, and then replaces the whole TLS
 *   setup with a self-signed one, dropping --client-cert-auth and --trusted-ca-file (measured);
 * - an http:// or unix:// listener serves plaintext and ignores certificates and client auth.
 */
export function effectiveAuth(side: keyof typeof SIDES): (config: ProgramConfig) => CheckOutcome {
  const s = SIDES[side];
  const flags = [...s.urls, s.cert, s.key, s.auth, s.ca, s.auto];
  return (config) => {
    const deprecatedCa = isNonEmpty(config.get(s.deprecatedCa));
    const evidence = evidenceOf(config, deprecatedCa === false ? flags : [...flags, s.deprecatedCa]);
    const cert = isNonEmpty(config.get(s.cert));
    const key = isNonEmpty(config.get(s.key));
    // Three-valued: false as soon as one is false, undefined (unknown) if one is unknown.
    const files = cert === false || key === false ? false : cert === undefined || key === undefined ? undefined : true;
    const auto = boolValue(config.get(s.auto));
    const auth = boolValue(config.get(s.auth));
    const ca = isNonEmpty(config.get(s.ca));
    const trustedCaVerifies = etcdBehaviour(config.releases, 'trustedCaRequiresClientCert');
    const verifies = anyOf(auth, deprecatedCa, bothOf(ca, trustedCaVerifies));
    const urlLists = s.urls.map((f) => knownUrlSchemes(config.get(f)));
    const plain = urlLists.flatMap((urls) => (urls ?? []).filter((u) => u.url !== '' && u.scheme !== undefined && !isTlsScheme(u.scheme)));
    const fail = (message: string): CheckOutcome => ({ status: 'fail', message, evidence });
    // Certain failures first: an unknown setting elsewhere cannot repair them.
    if (files === false && auto === true)
      return fail(
        `--${s.auto} serves a self-signed certificate and drops --${s.auth} and --${s.ca}: ${s.what} certificates are not verified`,
      );
    if (files === false && auto === false) return fail(`--${s.cert}/--${s.key} are not set: etcd serves ${s.what}s without TLS`);
    if (files === true && verifies === false) {
      return fail(
        ca === true
          ? `--${s.auth} is not set and --${s.ca} alone does not turn verification on in etcd 3.3: ${s.what} certificates are not verified`
          : `neither --${s.auth} nor --${s.ca} is set: ${s.what} certificates are not verified`,
      );
    }
    if (plain.length > 0)
      return fail(`${plain.map((u) => u.url).join(', ')} serves plaintext: no TLS and no ${s.what} certificate verification there`);
    if (
      files === undefined ||
      (files === false && auto === undefined) ||
      verifies === undefined ||
      urlLists.some((urls) => urls === undefined || urls.some((u) => u.scheme === undefined))
    ) {
      if (verifies === undefined && ca === true && auth === false && trustedCaVerifies === undefined) {
        return {
          status: 'unknown',
          message: `only --${s.ca} asks for ${s.what} certificates: etcd 3.4 and later then verify them, etcd 3.3 does not, and the etcd release is not known`,
          evidence,
        };
      }
      return unknownOutcome(config, flags) ?? { status: 'unknown', message: 'not determined', evidence };
    }
    const how =
      auth === true
        ? `--${s.auth}=true`
        : deprecatedCa === true
          ? `--${s.deprecatedCa} (deprecated; etcd 3.3 verifies with it)`
          : `--${s.ca} (verification is on even without --${s.auth})`;
    const pool = ca === true ? '' : ` (no --${s.ca}: certificates are checked against the system CA pool)`;
    return { status: 'pass', message: `${s.what} certificates are verified on every ${s.what} URL: ${how}${pool}`, evidence };
  };
}

/**
 * A CIS cert-auth control checks the flag literally; where the effective behaviour differs the
 * message says so, so that an auditor and an operator read the same finding.
 */
export function certAuthFlag(side: keyof typeof SIDES, cisNumber: string): (config: ProgramConfig) => CheckOutcome {
  const literal = flagIsTrue(SIDES[side].auth);
  const effective = effectiveAuth(side);
  return (config) => {
    const outcome = literal(config);
    if (outcome.status === 'unknown') return outcome;
    const real = effective(config);
    if (outcome.status === 'fail' && real.status === 'pass') {
      const because = isNonEmpty(config.get(SIDES[side].deprecatedCa)) === true ? SIDES[side].deprecatedCa : SIDES[side].ca;
      return {
        ...outcome,
        message: `CIS ${cisNumber} fails: ${outcome.message}; ${SIDES[side].what} certificates are nevertheless verified because --${because} is set`,
      };
    }
    if (outcome.status === 'pass' && real.status === 'fail') {
      return { ...outcome, message: `${outcome.message}; but ${real.message}` };
    }
    return outcome;
  };
}

/** --etcd-servers-overrides: "group/resource#url;url,group/resource#url" → its URLs. */
function overrideUrls(config: ProgramConfig): CheckOutcome | string[] {
  const s = config.get('etcd-servers-overrides');
  if (s.state === 'unknown') return { status: 'unknown', message: s.reason, evidence: [describeSetting(s)] };
  const value = effectiveValue(s) ?? '';
  return value === ''
    ? []
    : value
        .split(',')
        .flatMap((o) => (o.split('#')[1] ?? '').split(';'))
        .filter((u) => u !== '');
}

export function apiserverEtcdTls(config: ProgramConfig): CheckOutcome {
  const servers = urlsUseTls('etcd-servers')(config);
  const overrides = overrideUrls(config);
  if (!Array.isArray(overrides)) return servers.status === 'fail' ? servers : overrides;
  const plain = overrides.filter((u) => !/^(https|unixs):\/\//i.test(u));
  if (plain.length === 0 || servers.status === 'unknown') return servers;
  const evidence = [...servers.evidence, describeSetting(config.get('etcd-servers-overrides'))];
  const message = `${servers.status === 'fail' ? `${servers.message}; ` : ''}--etcd-servers-overrides sends resources to ${plain.join(', ')} without TLS`;
  return { status: 'fail', message, evidence };
}
