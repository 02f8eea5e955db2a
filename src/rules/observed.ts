/**
 * Observed rules: what etcd does on the wire, not what its configuration says. A node check
 * connects to each etcd endpoint it can name — the client and peer listeners of local etcd, and
 * every server of a local kube-apiserver's --etcd-servers (external etcd included) — as a client
 * with no certificate, and records what happened (node/probe.ts). These checks judge those
 * observations; they are pure: the probes ran before the judgement and come in as a lookup.
 *
 * Why it matters: configuration and behaviour part ways — a flag etcd ignores, a config file or a
 * variable out of sight, a restart that did not happen, and above all external etcd, where the API
 * server's node holds only a URL. Measured on etcd 3.4.23, 3.5.35, 3.6.16 and 3.7.3, client and peer
 * ports (test/node/probe.test.ts): TLS with no client authentication answers GET /version to a
 * client with no certificate; a trusted CA, with or without --client-cert-auth, ends the handshake.
 */
import type { ProgramConfig } from '../program-config/settings.js';
import type { CertificateProbe, CheckOutcome, NodeContext, Observation } from './outcome.js';

export type { CertificateProbe, Observation, ServerCertificate } from './outcome.js';

export type ProbeSide = 'client' | 'peer';

/** One endpoint to probe: the URL as configured, and where to dial. */
export interface ProbeTarget {
  /** The configured URL (`https://0.0.0.0:2379`): the key of its observation. */
  readonly url: string;
  readonly side: ProbeSide;
  readonly tls: boolean;
  /** A wildcard listen address is dialled on the loopback of its family. */
  readonly host: string;
  readonly port: number;
  /**
   * The client certificate kube-apiserver presents to this server and the CA it verifies the server
   * with, as paths in kube-apiserver's view of the node: the positive check (node/probe.ts).
   */
  readonly identity?: ClientIdentity;
}

export interface ClientIdentity {
  readonly certFile: string;
  readonly keyFile: string;
  /** Absent: kube-apiserver trusts the system's CAs for etcd. */
  readonly caFile?: string;
}

const DEFAULT_PORT: Readonly<Record<ProbeSide, number>> = { client: 2379, peer: 2380 };

function settingValue(config: ProgramConfig, flag: string): string | undefined {
  const s = config.get(flag);
  if (s.state === 'set') return s.value;
  if (s.state === 'absent') return s.defaultValue;
  return undefined;
}

function targetsOf(list: string, side: ProbeSide, identity?: ClientIdentity): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const raw of list.split(/[,;]/)) {
    const url = raw.trim();
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      continue;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') continue; // unix sockets: not on the network
    const bare = parsed.hostname.replace(/^\[|\]$/g, '');
    const host = bare === '0.0.0.0' || bare === '' ? '127.0.0.1' : bare === '::' ? '::1' : bare;
    const tls = parsed.protocol === 'https:';
    const port = parsed.port !== '' ? Number(parsed.port) : DEFAULT_PORT[side];
    out.push({ url, side, tls, host, port, ...(tls && identity !== undefined ? { identity } : {}) });
  }
  return out;
}

/**
 * The endpoints of one program a node can probe: etcd's --listen-client-urls and --listen-peer-urls
 * (their defaults when unset), kube-apiserver's --etcd-servers and the servers of
 * --etcd-servers-overrides (`group/resource#https://a;https://b`). A value out of sight gives none.
 */
export function probeTargetsOf(component: 'etcd' | 'kube-apiserver', config: ProgramConfig): ProbeTarget[] {
  if (component === 'etcd') {
    return [
      ...targetsOf(settingValue(config, 'listen-client-urls') ?? '', 'client'),
      ...targetsOf(settingValue(config, 'listen-peer-urls') ?? '', 'peer'),
    ];
  }
  const overrides = (settingValue(config, 'etcd-servers-overrides') ?? '')
    .split(',')
    .map((o) => o.split('#')[1] ?? '')
    .join(';');
  const identity = identityOf(config);
  return [...targetsOf(settingValue(config, 'etcd-servers') ?? '', 'client', identity), ...targetsOf(overrides, 'client', identity)];
}

/** kube-apiserver's etcd client certificate, when both halves are set (one alone, it presents none). */
function identityOf(config: ProgramConfig): ClientIdentity | undefined {
  const set = (flag: string): string | undefined => {
    const s = config.get(flag);
    return s.state === 'set' && s.value !== '' ? s.value : undefined;
  };
  const certFile = set('etcd-certfile');
  const keyFile = set('etcd-keyfile');
  const caFile = set('etcd-cafile');
  return certFile !== undefined && keyFile !== undefined ? { certFile, keyFile, ...(caFile !== undefined ? { caFile } : {}) } : undefined;
}

/** The settings that name the endpoints of one side. */
function settingsOf(component: 'etcd' | 'kube-apiserver', side: ProbeSide): string[] {
  if (component === 'kube-apiserver') return ['etcd-servers', 'etcd-servers-overrides'];
  return side === 'client' ? ['listen-client-urls'] : ['listen-peer-urls'];
}

function describe(url: string, o: Observation): string {
  const server =
    o.kind !== 'unreachable' && o.server !== undefined
      ? ` (server certificate ${o.server.subject}, issued by ${o.server.issuer}, valid until ${o.server.notAfter})`
      : '';
  const positive = o.kind === 'refused' && o.withCertificate !== undefined ? `; ${describePositive(o.withCertificate)}` : '';
  return `${url}: ${o.detail}${server}${positive}`;
}

function describePositive(p: CertificateProbe): string {
  const verified =
    p.verifiedBy === undefined
      ? ''
      : p.verifiedBy.verified
        ? `; its certificate is verified by --etcd-cafile ${p.verifiedBy.caFile}`
        : `; its certificate is NOT verified by --etcd-cafile ${p.verifiedBy.caFile} (${p.verifiedBy.detail})`;
  const result = { accepted: 'accepted', refused: 'refused it too', 'not-tried': 'not tried' }[p.result];
  return `with kube-apiserver's --etcd-certfile ${p.certFile}: ${result} (${p.detail})${verified}`;
}

/**
 * Judges the observations of one side of one program: fail when any endpoint served a client with
 * no certificate; pass only when every endpoint was reached and refused it; unknown otherwise —
 * an endpoint unreachable or not probed is never a pass.
 */
export function observedClientAuth(
  component: 'etcd' | 'kube-apiserver',
  side: ProbeSide,
): (config: ProgramConfig, node?: NodeContext) => CheckOutcome {
  return (config, node) => {
    const targets = probeTargetsOf(component, config).filter((t) => t.side === side);
    const who = side === 'peer' ? 'peer' : 'client';
    const what = component === 'etcd' ? `${side} endpoint` : 'etcd server';
    const hidden = settingsOf(component, side)
      .map((flag) => config.get(flag))
      .flatMap((s) => (s.state === 'unknown' ? [`--${s.flag}: ${s.reason}`] : []));
    if (targets.length === 0 && hidden.length > 0)
      return { status: 'unknown', message: `the ${what} URLs are out of sight: ${hidden.join('; ')}`, evidence: [] };
    if (targets.length === 0)
      return {
        status: 'not-applicable',
        message: `no ${what} URL on the network to probe (unset, or unix sockets)`,
        evidence: [],
      };
    // Probes turned off (--no-probe), or a manifest (only running processes are probed): nothing was
    // looked at on the wire, and nothing is claimed either way.
    if (node?.observed === undefined)
      return {
        status: 'not-applicable',
        message: 'not probed (--no-probe; or a manifest: the running process is what is probed)',
        evidence: targets.map((t) => t.url),
      };
    const seen = targets.map((t) => ({ t, o: node.observed?.(t.url) }));
    const evidence = seen.map(({ t, o }) => (o === undefined ? `${t.url}: not probed (beyond the endpoint limit)` : describe(t.url, o)));
    const served = seen.filter(({ o }) => o?.kind === 'served');
    if (served.length > 0)
      return {
        status: 'fail',
        message: `a ${who} with no certificate was served at ${served.map(({ t }) => t.url).join(', ')}`,
        evidence,
      };
    // A URL list out of sight (an --etcd-servers-overrides from a file, say) may name servers not
    // probed: whatever those that were show, that is never a pass.
    if (hidden.length > 0) return { status: 'unknown', message: `some ${what} URLs are out of sight: ${hidden.join('; ')}`, evidence };
    const unseen = seen.filter(({ o }) => o === undefined || o.kind === 'unreachable');
    if (unseen.length > 0)
      return {
        status: 'unknown',
        message: `could not observe ${unseen.map(({ t }) => t.url).join(', ')}: ${unseen.map(({ o }) => o?.detail ?? 'not probed').join('; ')}`,
        evidence,
      };
    const positive = seen.flatMap(({ o }) => (o?.kind === 'refused' && o.withCertificate !== undefined ? [o.withCertificate] : []));
    return {
      status: 'pass',
      message: `every ${what} refused a ${who} with no certificate${positiveSummary(positive, seen.length)}`,
      evidence,
    };
  };
}

/**
 * What the positive checks add to a pass: the refusals were for want of a certificate when
 * kube-apiserver's own is accepted; one refused with it, or a server its --etcd-cafile does not
 * verify, is a server kube-apiserver cannot use as configured (the control holds all the same).
 */
function positiveSummary(probes: readonly CertificateProbe[], endpoints: number): string {
  if (probes.length === 0) return '';
  const accepted = probes.filter((p) => p.result === 'accepted').length;
  const refused = probes.filter((p) => p.result === 'refused').length;
  const unverified = probes.filter((p) => p.verifiedBy?.verified === false).length;
  const parts = [
    accepted === endpoints
      ? "and accepted kube-apiserver's client certificate"
      : accepted > 0
        ? `${accepted} of ${endpoints} accepted kube-apiserver's client certificate`
        : '',
    refused > 0 ? `${refused} refused kube-apiserver's client certificate too` : '',
    unverified > 0 ? `${unverified} served a certificate --etcd-cafile does not verify` : '',
  ].filter((p) => p !== '');
  if (parts.length === 0) return '';
  return `${accepted === endpoints ? ' ' : '; '}${parts.join('; ')}`;
}
