/**
 * The controls, one declaration each. Adding a control means adding one entry to RULES (and one row
 * to the rules test table); the evaluation, decision and output code never name a rule.
 */
import { etcdBehaviour, isTlsScheme, knownUrlSchemes } from '../program-config/etcd.js';
import type { Component } from '../launch/invocation.js';
import { boolValue, describeSetting, effectiveValue, isNonEmpty, type ProgramConfig, type Setting } from '../program-config/settings.js';
import {
  apiserverEtcdClientCertificate,
  certificateValid,
  runningMatchesManifest,
  etcdDataDir,
  etcdUniqueCa,
  manifestFile,
  modeAtMost,
  ownedByRoot,
  pkiFiles,
} from './node-checks.js';
import { CLIENT_AUTH, SERVER_AUTH } from '../program-config/node-files.js';
import type { CheckOutcome, NodeContext } from './outcome.js';
import { observedClientAuth } from './observed.js';

export type { CheckOutcome, FindingDetails, NodeContext, Status } from './outcome.js';

export interface Rule {
  readonly id: string;
  readonly component: Component;
  /** Control numbers in the CIS Kubernetes Benchmark, by benchmark version (numbering moved). */
  readonly cis: { readonly '1.5.1'?: string; readonly '1.10'?: string };
  readonly title: string;
  /** Only for etcd clusters of more than one member (peer traffic exists). */
  readonly multiMemberOnly: boolean;
  /**
   * `node`: the rule reads what only the node shows (files, certificates, the other programs there);
   * only `etcd-tls-guard node` evaluates it. Absent: the pod spec is enough (webhook, scan, audit).
   */
  readonly scope?: 'node';
  readonly check: (config: ProgramConfig, node?: NodeContext) => CheckOutcome;
  /**
   * One line; `{file}` is replaced by where a flag is fixed (the static pod manifest and the
   * distribution's own configuration, or the pod spec); `{manifest}` by the file or process a node
   * rule found on the node.
   */
  readonly remediation: string;
  /** When it passes, in Markdown: the README's rules table is generated from it (`rules --format markdown`). */
  readonly passes: string;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary of checks

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
function flagIsTrue(flag: string): (config: ProgramConfig) => CheckOutcome {
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
function flagNotTrue(flag: string): (config: ProgramConfig) => CheckOutcome {
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
function flagsSet(...flags: string[]): (config: ProgramConfig) => CheckOutcome {
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
function urlsUseTls(...flags: string[]): (config: ProgramConfig) => CheckOutcome {
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

function allOf(...checks: Array<(config: ProgramConfig) => CheckOutcome>): (config: ProgramConfig) => CheckOutcome {
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
function effectiveAuth(side: keyof typeof SIDES): (config: ProgramConfig) => CheckOutcome {
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
function certAuthFlag(side: keyof typeof SIDES, cisNumber: string): (config: ProgramConfig) => CheckOutcome {
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

function apiserverEtcdTls(config: ProgramConfig): CheckOutcome {
  const servers = urlsUseTls('etcd-servers')(config);
  const overrides = overrideUrls(config);
  if (!Array.isArray(overrides)) return servers.status === 'fail' ? servers : overrides;
  const plain = overrides.filter((u) => !/^(https|unixs):\/\//i.test(u));
  if (plain.length === 0 || servers.status === 'unknown') return servers;
  const evidence = [...servers.evidence, describeSetting(config.get('etcd-servers-overrides'))];
  const message = `${servers.status === 'fail' ? `${servers.message}; ` : ''}--etcd-servers-overrides sends resources to ${plain.join(', ')} without TLS`;
  return { status: 'fail', message, evidence };
}

// ---------------------------------------------------------------------------------------------
// The controls

export const RULES: readonly Rule[] = [
  {
    // CIS 2.1: Ensure that the --cert-file and --key-file arguments are set as appropriate.
    // We also require TLS on every client URL: certificates are unused on an http:// listener.
    id: 'etcd-client-tls',
    component: 'etcd',
    cis: { '1.5.1': '2.1', '1.10': '2.1' },
    title: 'etcd serves clients over TLS',
    multiMemberOnly: false,
    check: allOf(flagsSet('cert-file', 'key-file'), urlsUseTls('listen-client-urls', 'listen-client-http-urls')),
    remediation: 'Set --cert-file and --key-file, and use only https:// in --listen-client-urls, in {file}',
    passes:
      '`--cert-file` and `--key-file` set, and every client URL (`--listen-client-urls`, `--listen-client-http-urls`) is `https` (or `unixs`)',
  },
  {
    // CIS 2.2: Ensure that the --client-cert-auth argument is set to true.
    id: 'etcd-client-cert-auth',
    component: 'etcd',
    cis: { '1.5.1': '2.2', '1.10': '2.2' },
    title: 'etcd --client-cert-auth is true',
    multiMemberOnly: false,
    check: certAuthFlag('client', '2.2'),
    remediation: 'Set --client-cert-auth=true in {file}',
    passes: '`--client-cert-auth` is true',
  },
  {
    // CIS 2.3: Ensure that the --auto-tls argument is not set to true.
    id: 'etcd-auto-tls',
    component: 'etcd',
    cis: { '1.5.1': '2.3', '1.10': '2.3' },
    title: 'etcd --auto-tls is not true',
    multiMemberOnly: false,
    check: flagNotTrue('auto-tls'),
    remediation: 'Remove --auto-tls (or set --auto-tls=false) in {file}',
    passes: '`--auto-tls` is absent or false',
  },
  {
    // CIS 2.4: Ensure that the --peer-cert-file and --peer-key-file arguments are set as appropriate.
    // The benchmark marks it not applicable to a single-member etcd.
    id: 'etcd-peer-tls',
    component: 'etcd',
    cis: { '1.5.1': '2.4', '1.10': '2.4' },
    title: 'etcd peer certificate and key are set',
    multiMemberOnly: true,
    check: flagsSet('peer-cert-file', 'peer-key-file'),
    remediation: 'Set --peer-cert-file and --peer-key-file in {file}',
    passes: '`--peer-cert-file` and `--peer-key-file` set',
  },
  {
    // CIS 2.5: Ensure that the --peer-client-cert-auth argument is set to true (multi-member only).
    id: 'etcd-peer-client-cert-auth',
    component: 'etcd',
    cis: { '1.5.1': '2.5', '1.10': '2.5' },
    title: 'etcd --peer-client-cert-auth is true',
    multiMemberOnly: true,
    check: certAuthFlag('peer', '2.5'),
    remediation: 'Set --peer-client-cert-auth=true in {file}',
    passes: '`--peer-client-cert-auth` is true',
  },
  {
    // CIS 2.6: Ensure that the --peer-auto-tls argument is not set to true.
    id: 'etcd-peer-auto-tls',
    component: 'etcd',
    cis: { '1.5.1': '2.6', '1.10': '2.6' },
    title: 'etcd --peer-auto-tls is not true',
    multiMemberOnly: false,
    check: flagNotTrue('peer-auto-tls'),
    remediation: 'Remove --peer-auto-tls (or set --peer-auto-tls=false) in {file}',
    passes: '`--peer-auto-tls` is absent or false',
  },
  {
    // Not a CIS control: does etcd really verify client certificates on every client URL?
    id: 'etcd-client-auth-effective',
    component: 'etcd',
    cis: {},
    title: 'etcd verifies client certificates on every client URL',
    multiMemberOnly: false,
    check: effectiveAuth('client'),
    remediation:
      'Serve clients only on https:// with --cert-file, --key-file, --trusted-ca-file and --client-cert-auth=true, without --auto-tls, in {file}',
    passes:
      'etcd really verifies client certificates on every client URL: `--client-cert-auth` (or, from etcd 3.4, `--trusted-ca-file`; in 3.3 `--ca-file`), cert and key files set (so `--auto-tls` does not replace them), every client URL `https`/`unixs`',
  },
  {
    // Not a CIS control: the same for peer traffic.
    id: 'etcd-peer-auth-effective',
    component: 'etcd',
    cis: {},
    title: 'etcd verifies peer certificates on every peer URL',
    multiMemberOnly: true,
    check: effectiveAuth('peer'),
    remediation:
      'Serve peers only on https:// with --peer-cert-file, --peer-key-file, --peer-trusted-ca-file and --peer-client-cert-auth=true, without --peer-auto-tls, in {file}',
    passes: 'the same on the peer side',
  },
  {
    // CIS 1.2.32 (v1.10: 1.2.26): Ensure that the --etcd-cafile argument is set as appropriate.
    id: 'apiserver-etcd-cafile',
    component: 'kube-apiserver',
    cis: { '1.5.1': '1.2.32', '1.10': '1.2.26' },
    title: 'kube-apiserver --etcd-cafile is set',
    multiMemberOnly: false,
    check: flagsSet('etcd-cafile'),
    remediation: 'Set --etcd-cafile to the etcd CA certificate (kubeadm: /etc/kubernetes/pki/etcd/ca.crt) in {file}',
    passes: '`--etcd-cafile` set',
  },
  {
    // CIS 1.2.29 (v1.10: 1.2.23): Ensure that the --etcd-certfile and --etcd-keyfile arguments are set as appropriate.
    id: 'apiserver-etcd-client-cert',
    component: 'kube-apiserver',
    cis: { '1.5.1': '1.2.29', '1.10': '1.2.23' },
    title: 'kube-apiserver --etcd-certfile and --etcd-keyfile are set',
    multiMemberOnly: false,
    check: flagsSet('etcd-certfile', 'etcd-keyfile'),
    remediation: 'Set --etcd-certfile and --etcd-keyfile (kubeadm: /etc/kubernetes/pki/apiserver-etcd-client.crt and .key) in {file}',
    passes: '`--etcd-certfile` and `--etcd-keyfile` set',
  },
  {
    // Not a CIS control: the CA and client certificate above are only used on https:// etcd URLs.
    id: 'apiserver-etcd-tls',
    component: 'kube-apiserver',
    cis: {},
    title: 'kube-apiserver talks to etcd over TLS',
    multiMemberOnly: false,
    check: apiserverEtcdTls,
    remediation: 'Use only https:// URLs in --etcd-servers and --etcd-servers-overrides in {file}',
    passes: 'every `--etcd-servers` and `--etcd-servers-overrides` URL is `https` (the CA and client certificate are unused on `http://`)',
  },

  // -------------------------------------------------------------------------------------------
  // Node rules: what only the node shows (etcd-tls-guard node).
  {
    id: 'etcd-server-cert',
    component: 'etcd',
    cis: {},
    title: "etcd's serving certificate is valid",
    multiMemberOnly: false,
    scope: 'node',
    check: certificateValid({
      what: "etcd's serving certificate",
      certFlag: 'cert-file',
      keyFlag: 'key-file',
      caFlag: 'trusted-ca-file',
      usages: [SERVER_AUTH],
      sanFlags: ['advertise-client-urls'],
    }),
    remediation:
      'Renew or reissue the certificate named by --cert-file (kubeadm: kubeadm certs renew etcd-server) so that it parses, is within its validity, matches --key-file, is signed by --trusted-ca-file, allows serverAuth and names every --advertise-client-urls host (flags in {file})',
    passes:
      '`--cert-file`/`--key-file` read and parse, the certificate is within its validity (a warning within `--expiry-warning`), matches its key, is signed by `--trusted-ca-file`, allows serverAuth, and its SANs cover every `--advertise-client-urls` host',
  },
  {
    id: 'etcd-peer-cert',
    component: 'etcd',
    cis: {},
    title: "etcd's peer certificate is valid",
    multiMemberOnly: true,
    scope: 'node',
    check: certificateValid({
      what: "etcd's peer certificate",
      certFlag: 'peer-cert-file',
      keyFlag: 'peer-key-file',
      caFlag: 'peer-trusted-ca-file',
      usages: [SERVER_AUTH, CLIENT_AUTH],
      sanFlags: ['initial-advertise-peer-urls'],
    }),
    remediation:
      'Renew or reissue the certificate named by --peer-cert-file (kubeadm: kubeadm certs renew etcd-peer) with serverAuth and clientAuth and every --initial-advertise-peer-urls host (flags in {file})',
    passes:
      'the same for `--peer-cert-file`/`--peer-key-file`/`--peer-trusted-ca-file`, with serverAuth and clientAuth, SANs covering `--initial-advertise-peer-urls`',
  },
  {
    // CIS 2.7: Ensure that a unique Certificate Authority is used for etcd.
    id: 'etcd-unique-ca',
    component: 'etcd',
    cis: { '1.5.1': '2.7', '1.10': '2.7' },
    title: 'etcd uses a CA of its own',
    multiMemberOnly: false,
    scope: 'node',
    check: etcdUniqueCa,
    remediation:
      "Give etcd a CA of its own (kubeadm: /etc/kubernetes/pki/etcd/ca.crt) in --trusted-ca-file, not the cluster CA of kube-apiserver's --client-ca-file, in {file}",
    passes: "`--trusted-ca-file` holds no certificate of kube-apiserver's `--client-ca-file` (compared by content, not path)",
  },
  {
    id: 'apiserver-etcd-client-cert-valid',
    component: 'kube-apiserver',
    cis: {},
    title: "kube-apiserver's etcd client certificate is valid",
    multiMemberOnly: false,
    scope: 'node',
    check: apiserverEtcdClientCertificate,
    remediation:
      "Renew or reissue --etcd-certfile (kubeadm: kubeadm certs renew apiserver-etcd-client) with clientAuth, signed by the CA etcd trusts, and point --etcd-cafile at the CA that signed etcd's serving certificate, in {file}",
    passes:
      "`--etcd-certfile`/`--etcd-keyfile` parse, match, are within validity and allow clientAuth; with etcd on the node, signed by etcd's `--trusted-ca-file`, and `--etcd-cafile` verifies etcd's serving certificate",
  },
  ...fileRules('etcd', { permissions: '1.1.7', ownership: '1.1.8' }),
  ...fileRules('kube-apiserver', { permissions: '1.1.1', ownership: '1.1.2' }),
  {
    // CIS 1.1.11: Ensure that the etcd data directory permissions are set to 700 or more restrictive.
    id: 'etcd-data-dir-permissions',
    component: 'etcd',
    cis: { '1.5.1': '1.1.11', '1.10': '1.1.11' },
    title: "etcd's data directory is 700 or stricter",
    multiMemberOnly: false,
    scope: 'node',
    check: etcdDataDir('mode'),
    remediation: 'Run chmod 700 on the --data-dir of {manifest}',
    passes: '`--data-dir` is mode 700 or stricter',
  },
  {
    // CIS 1.1.12: Ensure that the etcd data directory ownership is set to etcd:etcd.
    id: 'etcd-data-dir-ownership',
    component: 'etcd',
    cis: { '1.5.1': '1.1.12', '1.10': '1.1.12' },
    title: "etcd's data directory is owned by the user etcd runs as",
    multiMemberOnly: false,
    scope: 'node',
    check: etcdDataDir('owner'),
    remediation: 'Run chown to the user etcd runs as (etcd:etcd where etcd has its own account) on the --data-dir of {manifest}',
    passes: "`--data-dir` is owned by the uid the etcd process runs as (the benchmark's `etcd:etcd` where etcd has its own account)",
  },
  ...(['etcd', 'kube-apiserver'] as const).map((component): Rule => ({
    id: `${component === 'etcd' ? 'etcd' : 'apiserver'}-running-matches-manifest`,
    component,
    cis: {},
    title: `the running ${component} has its manifest's settings`,
    multiMemberOnly: false,
    scope: 'node',
    check: runningMatchesManifest,
    remediation: `Restart ${component} from its manifest (move {manifest} out of the static pod directory and back), or correct the manifest to what should run`,
    passes: `the running ${component} process (\`/proc\`) has the TLS settings its static pod manifest gives`,
  })),
  ...pkiRules('etcd', ['cert-file', 'peer-cert-file', 'trusted-ca-file', 'peer-trusted-ca-file'], ['key-file', 'peer-key-file']),
  ...pkiRules(
    'kube-apiserver',
    ['etcd-certfile', 'etcd-cafile', 'client-ca-file', 'tls-cert-file'],
    ['etcd-keyfile', 'tls-private-key-file'],
  ),
  // Observed on the wire (rules/observed.ts): what a client with no certificate meets.
  {
    id: 'etcd-client-auth-observed',
    component: 'etcd',
    cis: {},
    title: 'etcd refuses clients without a certificate, observed on the wire',
    multiMemberOnly: false,
    scope: 'node',
    check: observedClientAuth('etcd', 'client'),
    remediation:
      'Make etcd demand client certificates: --client-cert-auth=true with --trusted-ca-file (and https:// in --listen-client-urls), in {file}; then restart etcd — the running process is what was probed',
    passes:
      'every `--listen-client-urls` endpoint, probed as a client with no certificate, ends the TLS handshake (a plaintext or TLS answer fails; unreachable is unknown)',
  },
  {
    id: 'etcd-peer-auth-observed',
    component: 'etcd',
    cis: {},
    title: 'etcd refuses peers without a certificate, observed on the wire',
    multiMemberOnly: true,
    scope: 'node',
    check: observedClientAuth('etcd', 'peer'),
    remediation:
      'Make etcd demand peer certificates: --peer-client-cert-auth=true with --peer-trusted-ca-file (and https:// in --listen-peer-urls), in {file}; then restart etcd',
    passes: 'every `--listen-peer-urls` endpoint, probed with no certificate, ends the TLS handshake',
  },
  {
    id: 'apiserver-etcd-auth-observed',
    component: 'kube-apiserver',
    cis: {},
    title: 'the etcd kube-apiserver uses refuses clients without a certificate, observed on the wire (external etcd too)',
    multiMemberOnly: false,
    scope: 'node',
    check: observedClientAuth('kube-apiserver', 'client'),
    remediation:
      "Make every etcd of kube-apiserver's --etcd-servers demand client certificates (--client-cert-auth=true with --trusted-ca-file on those members, wherever they run); kube-apiserver keeps its --etcd-certfile/--etcd-keyfile",
    passes: 'every server of `--etcd-servers` (and `--etcd-servers-overrides`), probed with no certificate, ends the TLS handshake',
  },
];

/** CIS 1.1.1/1.1.2 (kube-apiserver) and 1.1.7/1.1.8 (etcd): the static pod manifest's mode and owner. */
function fileRules(component: 'etcd' | 'kube-apiserver', cis: { permissions: string; ownership: string }): Rule[] {
  const prefix = component === 'etcd' ? 'etcd' : 'apiserver';
  return [
    {
      id: `${prefix}-manifest-permissions`,
      component,
      cis: { '1.5.1': cis.permissions, '1.10': cis.permissions },
      title: `the ${component} static pod manifest is 600 or stricter`,
      multiMemberOnly: false,
      scope: 'node',
      check: manifestFile(modeAtMost(0o600)),
      remediation: 'Run chmod 600 {manifest}',
      passes: `the ${component} manifest file is mode 600 or stricter (benchmark 1.5.1 allowed 644; later versions ask 600)`,
    },
    {
      id: `${prefix}-manifest-ownership`,
      component,
      cis: { '1.5.1': cis.ownership, '1.10': cis.ownership },
      title: `the ${component} static pod manifest is owned by root:root`,
      multiMemberOnly: false,
      scope: 'node',
      check: manifestFile(ownedByRoot),
      remediation: 'Run chown root:root {manifest}',
      passes: `the ${component} manifest file is owned by root:root`,
    },
  ];
}

/** CIS 1.1.19–1.1.21: the certificate and key files a program's flags name. */
function pkiRules(component: 'etcd' | 'kube-apiserver', certFlags: readonly string[], keyFlags: readonly string[]): Rule[] {
  const prefix = component === 'etcd' ? 'etcd' : 'apiserver';
  const flags = (list: readonly string[]): string => list.map((f) => `\`--${f}\``).join(', ');
  return [
    {
      id: `${prefix}-pki-ownership`,
      component,
      cis: { '1.5.1': '1.1.19', '1.10': '1.1.19' },
      title: `${component}'s certificate and key files are owned by root:root`,
      multiMemberOnly: false,
      scope: 'node',
      check: pkiFiles(certFlags, keyFlags, 'owner'),
      remediation: `Run chown root:root on the files named by the ${component} certificate and key flags, and their directories, of {manifest}`,
      passes: `the files ${flags([...certFlags, ...keyFlags])} name, and their directories, are owned by root:root`,
    },
    {
      id: `${prefix}-pki-cert-permissions`,
      component,
      cis: { '1.5.1': '1.1.20', '1.10': '1.1.20' },
      title: `${component}'s certificate files are 644 or stricter`,
      multiMemberOnly: false,
      scope: 'node',
      check: pkiFiles(certFlags, keyFlags, 'cert-mode'),
      remediation: `Run chmod 644 (or 600) on the certificate files named by the flags of {manifest}`,
      passes: `the certificate files ${flags(certFlags)} name are mode 644 or stricter`,
    },
    {
      id: `${prefix}-pki-key-permissions`,
      component,
      cis: { '1.5.1': '1.1.21', '1.10': '1.1.21' },
      title: `${component}'s key files are 600 or stricter`,
      multiMemberOnly: false,
      scope: 'node',
      check: pkiFiles(certFlags, keyFlags, 'key-mode'),
      remediation: `Run chmod 600 on the key files named by the flags of {manifest}`,
      passes: `the key files ${flags(keyFlags)} name are mode 600 or stricter`,
    },
  ];
}

export const RULE_IDS: readonly string[] = RULES.map((r) => r.id);

const RULES_BY_ID: ReadonlyMap<string, Rule> = new Map(RULES.map((r) => [r.id, r]));

/** The declaration of a rule a finding names: where its CIS numbers, title and component live. */
export function ruleById(id: string): Rule {
  const rule = RULES_BY_ID.get(id);
  if (rule === undefined) throw new Error(`no rule ${id}`);
  return rule;
}

/** The CIS 1.5.1 control numbers of a rule (empty when it is not in the benchmark). */
export function cisNumbers(rule: Rule): readonly string[] {
  return rule.cis['1.5.1'] !== undefined ? [rule.cis['1.5.1']] : [];
}

/** What a rule applies to, as the README says it. */
function appliesTo(rule: Rule): string {
  return rule.multiMemberOnly ? `${rule.component} with more than one member` : rule.component;
}

function cisCell(r: Rule): string {
  return r.cis['1.5.1'] !== undefined ? `${r.cis['1.5.1']} (${r.cis['1.10'] ?? '—'})` : '—';
}

/**
 * The README's rules: the table of the rules the pod decides, then the node rules by id and CIS
 * number (their table is docs/rules.md's, nodeRulesMarkdown). `etcd-tls-guard rules --format
 * markdown`; `npm run generate` writes it.
 */
export function rulesMarkdown(rules: readonly Rule[] = RULES): string {
  const rows = rules.filter((r) => r.scope !== 'node').map((r) => `| \`${r.id}\` | ${cisCell(r)} | ${r.passes} | ${appliesTo(r)} |`);
  const node = rules
    .filter((r) => r.scope === 'node')
    .map((r) => `\`${r.id}\`${r.cis['1.5.1'] !== undefined ? ` (${r.cis['1.5.1']})` : ''}`);
  return (
    [
      '| id | CIS 1.5.1 (v1.10) | passes when | applies to |',
      '|---|---|---|---|',
      ...rows,
      '',
      `On the node only ([\`etcd-tls-guard node\`](#node-checks); what each checks: [docs/rules.md](docs/rules.md#node-rules)): ${node.join(', ')}.`,
    ].join('\n') + '\n'
  );
}

/** docs/rules.md's table of the node rules (`npm run generate` writes it). */
export function nodeRulesMarkdown(rules: readonly Rule[] = RULES): string {
  const rows = rules
    .filter((r) => r.scope === 'node')
    .map(
      (r) =>
        `| \`${r.id}\` | ${cisCell(r)} | ${r.passes} | ${r.multiMemberOnly ? `${r.component} with more than one member` : r.component} |`,
    );
  return ['| id | CIS 1.5.1 (v1.10) | passes when | applies to |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}
