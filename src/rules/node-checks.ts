/**
 * The vocabulary of node rules: certificates the flags name (parsed at the edge, judged here against
 * the clock the node check hands in), and the permissions and owners of the files the CIS benchmark
 * lists (section 1.1). Pure: every fact comes in through NodeContext.
 */
import { ANY_EKU, CLIENT_AUTH, SERVER_AUTH, type CertificateFacts, type FileFacts, type NodeFiles } from '../program-config/node-files.js';
import { describeSetting, effectiveValue, type ProgramConfig } from '../program-config/settings.js';
import type { CheckOutcome, FindingDetails, Neighbour, NodeContext } from './outcome.js';

const DAY_MS = 86_400_000;

const NOT_A_NODE_CHECK: CheckOutcome = { status: 'unknown', message: 'only a node check (etcd-tls-guard node) can see this', evidence: [] };

/** A flag's value as a path: the value, '' when not set, or an unknown outcome. */
function pathOf(config: ProgramConfig, flag: string): string | CheckOutcome {
  const s = config.get(flag);
  if (s.state === 'unknown') return { status: 'unknown', message: s.reason, evidence: [describeSetting(s)] };
  return effectiveValue(s) ?? '';
}

/** IPv6 text in one canonical form (eight groups, no leading zeros), IPv4 as is. */
export function canonicalIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '').toLowerCase();
  if (!bare.includes(':')) return bare;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  let text = bare;
  if (v4 !== null) {
    const parts = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${bare.slice(0, -(v4[1] as string).length)}${((parts[0] << 8) | parts[1]).toString(16)}:${((parts[2] << 8) | parts[3]).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/** The hosts of a URL list, without unix sockets: what a peer or client connects to by name. */
export function urlHosts(list: string): string[] {
  const hosts: string[] = [];
  for (const raw of list.split(',')) {
    const m = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]*\]|[^:/?#]*)/i.exec(raw.trim());
    if (m === null || /^unix/i.test(m[1] as string)) continue;
    hosts.push(m[2] as string);
  }
  return [...new Set(hosts)];
}

/** RFC 6125 matching, as Go's crypto/x509 VerifyHostname does it: a wildcard stands for one whole left-most label. */
function dnsMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p === h) return true;
  if (!p.startsWith('*.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

function coversHost(cert: CertificateFacts, host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (IPV4.test(bare) || bare.includes(':')) {
    const want = canonicalIp(bare);
    return cert.ipAddresses.some((ip) => canonicalIp(ip) === want);
  }
  return cert.dnsNames.some((d) => dnsMatches(d, bare));
}

const USAGE_NAMES: Readonly<Record<string, string>> = { [SERVER_AUTH]: 'serverAuth', [CLIENT_AUTH]: 'clientAuth' };

function allowsUsage(cert: CertificateFacts, oid: string): boolean {
  return cert.extKeyUsage === undefined || cert.extKeyUsage.includes(oid) || cert.extKeyUsage.includes(ANY_EKU);
}

function daysBetween(now: number, then: number): number {
  return Math.floor((then - now) / DAY_MS);
}

export interface CertificateSpec {
  /** What it is, for messages: "etcd's serving certificate". */
  readonly what: string;
  readonly certFlag: string;
  readonly keyFlag: string;
  /** The CA flag of the same program that must have signed it (when set). */
  readonly caFlag?: string;
  readonly usages: readonly string[];
  /** URL flags whose hosts the certificate's SANs must cover. */
  readonly sanFlags?: readonly string[];
}

interface Judged {
  readonly problems: string[];
  readonly unknowns: string[];
  readonly evidence: string[];
  details: FindingDetails;
}

/**
 * Reads and judges one certificate and key: parse, validity window, key match, usages, SANs, and the
 * signing CA of the same program. Returns an outcome directly when the flags leave nothing to judge.
 */
function judgeCertificate(config: ProgramConfig, node: NodeContext, spec: CertificateSpec): Judged | CheckOutcome {
  const certPath = pathOf(config, spec.certFlag);
  const keyPath = pathOf(config, spec.keyFlag);
  if (typeof certPath !== 'string') return certPath;
  if (typeof keyPath !== 'string') return keyPath;
  const evidence = [describeSetting(config.get(spec.certFlag)), describeSetting(config.get(spec.keyFlag))];
  if (certPath === '' || keyPath === '') {
    return {
      status: 'not-applicable',
      message: `--${spec.certFlag} and --${spec.keyFlag} are not both set: no ${spec.what} to check (the flag rules report that)`,
      evidence,
    };
  }
  const read = node.files.certificates(certPath);
  const details: FindingDetails = { file: certPath };
  if (read.state !== 'read') {
    const status = read.state === 'absent' || read.state === 'invalid' ? 'fail' : 'unknown';
    return { status, message: `${spec.what} ${certPath}: ${read.reason}`, evidence, details };
  }
  const leaf = read.certificates[0] as CertificateFacts;
  const j: Judged = {
    problems: [],
    unknowns: [],
    evidence,
    details: { file: certPath, subject: leaf.subject, notAfter: leaf.notAfterText, daysToExpiry: daysBetween(node.now, leaf.notAfter) },
  };
  if (leaf.notBefore > node.now) j.problems.push(`not valid before ${leaf.notBeforeText}`);
  if (leaf.notAfter <= node.now) j.problems.push(`expired on ${leaf.notAfterText}`);
  else if (leaf.notAfter - node.now < node.expiryWarningMs) {
    j.details = {
      ...j.details,
      warning: `${spec.what} ${certPath} expires on ${leaf.notAfterText} (in ${daysBetween(node.now, leaf.notAfter)} days)`,
    };
  }
  const match = node.files.keyMatches(certPath, keyPath);
  if ('reason' in match) j.unknowns.push(`key ${keyPath}: ${match.reason}`);
  else if (!match.answer)
    j.problems.push(`the key ${keyPath} is not the key of this certificate${match.detail !== undefined ? ` (${match.detail})` : ''}`);
  for (const usage of spec.usages) {
    if (!allowsUsage(leaf, usage)) j.problems.push(`its extended key usage does not allow ${USAGE_NAMES[usage] ?? usage}`);
  }
  if (spec.caFlag !== undefined) {
    const ca = pathOf(config, spec.caFlag);
    if (typeof ca !== 'string') j.unknowns.push(ca.message);
    else if (ca !== '') {
      j.evidence.push(describeSetting(config.get(spec.caFlag)));
      const signed = node.files.signedBy(certPath, { files: node.files, path: ca });
      if ('reason' in signed) j.unknowns.push(`--${spec.caFlag} ${ca}: ${signed.reason}`);
      else if (!signed.answer) j.problems.push(`it is not signed by --${spec.caFlag} ${ca}`);
    }
  }
  for (const flag of spec.sanFlags ?? []) {
    const list = pathOf(config, flag);
    if (typeof list !== 'string') {
      j.unknowns.push(list.message);
      continue;
    }
    j.evidence.push(describeSetting(config.get(flag)));
    const missing = urlHosts(list).filter((h) => !coversHost(leaf, h));
    if (missing.length > 0) j.problems.push(`its subject alternative names do not cover ${missing.join(', ')} (--${flag})`);
  }
  return j;
}

function outcomeOf(spec: { what: string }, path: string, j: Judged): CheckOutcome {
  if (j.problems.length > 0)
    return { status: 'fail', message: `${spec.what} ${path}: ${j.problems.join('; ')}`, evidence: j.evidence, details: j.details };
  if (j.unknowns.length > 0)
    return { status: 'unknown', message: `${spec.what} ${path}: ${j.unknowns.join('; ')}`, evidence: j.evidence, details: j.details };
  const days = j.details.daysToExpiry ?? 0;
  return {
    status: 'pass',
    message: `${spec.what} ${path} is valid until ${j.details.notAfter ?? ''} (${days} days), matches its key${j.evidence.length > 2 ? ', is signed by its CA and covers its URLs' : ''}`,
    evidence: j.evidence,
    details: j.details,
  };
}

/** A program's own certificate and key (etcd-server-cert, etcd-peer-cert). */
export function certificateValid(spec: CertificateSpec): (config: ProgramConfig, node?: NodeContext) => CheckOutcome {
  return (config, node) => {
    if (node === undefined) return NOT_A_NODE_CHECK;
    const j = judgeCertificate(config, node, spec);
    return 'status' in j ? j : outcomeOf(spec, effectiveValue(config.get(spec.certFlag)) ?? '', j);
  };
}

function etcdNeighbours(node: NodeContext): Neighbour[] {
  return node.neighbours.filter((n) => n.config.component === 'etcd' && n.config.opaque === undefined && n.config.refusal === undefined);
}

/**
 * kube-apiserver's etcd client certificate: valid and clientAuth; when etcd runs on this node, signed
 * by the CA etcd trusts (--trusted-ca-file), and kube-apiserver's --etcd-cafile verifies etcd's
 * serving certificate (otherwise kube-apiserver cannot connect, or trusts the wrong CA).
 */
export function apiserverEtcdClientCertificate(config: ProgramConfig, node?: NodeContext): CheckOutcome {
  if (node === undefined) return NOT_A_NODE_CHECK;
  const spec: CertificateSpec = {
    what: "kube-apiserver's etcd client certificate",
    certFlag: 'etcd-certfile',
    keyFlag: 'etcd-keyfile',
    usages: [CLIENT_AUTH],
  };
  const j = judgeCertificate(config, node, spec);
  if ('status' in j) return j;
  const certPath = effectiveValue(config.get('etcd-certfile')) ?? '';
  const etcds = etcdNeighbours(node);
  if (etcds.length === 0) j.evidence.push('etcd does not run on this node: its CA and serving certificate are not compared');
  const caFile = pathOf(config, 'etcd-cafile');
  for (const etcd of etcds) {
    const trusted = pathOf(etcd.config, 'trusted-ca-file');
    if (typeof trusted === 'string' && trusted !== '') {
      j.evidence.push(`etcd ${describeSetting(etcd.config.get('trusted-ca-file'))}`);
      const signed = node.files.signedBy(certPath, { files: etcd.files, path: trusted });
      if ('reason' in signed) j.unknowns.push(`etcd's --trusted-ca-file ${trusted}: ${signed.reason}`);
      else if (!signed.answer) j.problems.push(`it is not signed by the CA etcd trusts (--trusted-ca-file ${trusted}): etcd rejects it`);
    }
    const serving = pathOf(etcd.config, 'cert-file');
    if (typeof caFile === 'string' && caFile !== '' && typeof serving === 'string' && serving !== '') {
      j.evidence.push(describeSetting(config.get('etcd-cafile')), `etcd ${describeSetting(etcd.config.get('cert-file'))}`);
      const verifies = etcd.files.signedBy(serving, { files: node.files, path: caFile });
      if ('reason' in verifies) j.unknowns.push(`--etcd-cafile ${caFile}: ${verifies.reason}`);
      else if (!verifies.answer)
        j.problems.push(`--etcd-cafile ${caFile} does not verify etcd's serving certificate ${serving}: kube-apiserver cannot trust etcd`);
    }
  }
  return outcomeOf(spec, certPath, j);
}

/** SHA-256 fingerprints of every certificate in a CA file, or why they cannot be known. */
function fingerprints(files: NodeFiles, path: string): Set<string> | { readonly state: string; readonly reason: string } {
  const read = files.certificates(path);
  return read.state === 'read' ? new Set(read.certificates.map((c) => c.fingerprint)) : read;
}

/**
 * CIS 2.7: etcd's --trusted-ca-file is not the CA of kube-apiserver's --client-ca-file. Compared by
 * content (certificate fingerprints), so a copy of the cluster CA under another path still fails.
 */
export function etcdUniqueCa(config: ProgramConfig, node?: NodeContext): CheckOutcome {
  if (node === undefined) return NOT_A_NODE_CHECK;
  const ca = pathOf(config, 'trusted-ca-file');
  if (typeof ca !== 'string') return ca;
  const evidence = [describeSetting(config.get('trusted-ca-file'))];
  if (ca === '')
    return { status: 'fail', message: '--trusted-ca-file is not set: etcd has no CA of its own for client certificates', evidence };
  const ours = fingerprints(node.files, ca);
  // A CA file missing or not a certificate breaks client authentication outright; unreadable is unknown.
  if (!(ours instanceof Set))
    return {
      status: ours.state === 'absent' || ours.state === 'invalid' ? 'fail' : 'unknown',
      message: `--trusted-ca-file ${ca}: ${ours.reason}`,
      evidence,
      details: { file: ca },
    };
  const apiservers = node.neighbours.filter((n) => n.config.component === 'kube-apiserver' && n.config.opaque === undefined);
  if (apiservers.length === 0)
    return {
      status: 'unknown',
      message: 'kube-apiserver does not run on this node: its --client-ca-file cannot be compared',
      evidence,
      details: { file: ca },
    };
  for (const api of apiservers) {
    const clientCa = pathOf(api.config, 'client-ca-file');
    if (typeof clientCa !== 'string') return clientCa;
    evidence.push(`kube-apiserver ${describeSetting(api.config.get('client-ca-file'))}`);
    if (clientCa === '') continue;
    const theirs = fingerprints(api.files, clientCa);
    if (!(theirs instanceof Set))
      return {
        status: 'unknown',
        message: `kube-apiserver --client-ca-file ${clientCa}: ${theirs.reason}`,
        evidence,
        details: { file: ca },
      };
    if ([...ours].some((f) => theirs.has(f))) {
      return {
        status: 'fail',
        message: `etcd's --trusted-ca-file ${ca} holds the same CA certificate as kube-apiserver's --client-ca-file ${clientCa}: any client certificate of the cluster CA can read and write etcd`,
        evidence,
        details: { file: ca },
      };
    }
  }
  return { status: 'pass', message: `etcd's CA ${ca} is not kube-apiserver's client CA`, evidence, details: { file: ca } };
}

// ---------------------------------------------------------------------------------------------
// Files (CIS 1.1)

function octal(mode: number): string {
  return mode.toString(8).padStart(3, '0');
}

function describeFile(f: FileFacts & { state: 'present' }): string {
  return `${f.where} ${octal(f.mode)} ${f.owner}:${f.group}`;
}

/** Checks a list of files; `judge` returns a problem text or undefined. */
function filesOutcome(
  files: readonly FileFacts[],
  judge: (f: FileFacts & { state: 'present' }) => string | undefined,
  what: string,
): CheckOutcome {
  if (files.length === 0) return { status: 'not-applicable', message: `no ${what} to check`, evidence: [] };
  const evidence: string[] = [];
  const problems: string[] = [];
  const unknowns: string[] = [];
  const missing: string[] = [];
  for (const f of files) {
    if (f.state !== 'present') {
      (f.state === 'absent' ? missing : unknowns).push(`${f.path}: ${f.reason}`);
      continue;
    }
    evidence.push(describeFile(f));
    const p = judge(f);
    if (p !== undefined) problems.push(`${f.where}: ${p}`);
  }
  if (problems.length > 0)
    return { status: 'fail', message: problems.join('; '), evidence, details: { file: (files[0] as FileFacts).path } };
  // A file that is not there has no mode or owner to fix: said as missing (the rules about the
  // certificate or the program itself report what its absence breaks), never a chmod/chown failure.
  if (missing.length > 0)
    return {
      status: 'unknown',
      message: `missing on the node: ${missing.join('; ')} (no mode or owner to check)`,
      evidence,
    };
  if (unknowns.length > 0) return { status: 'unknown', message: unknowns.join('; '), evidence };
  return { status: 'pass', message: evidence.join(', '), evidence };
}

/** Mode `allowed` or stricter: no permission bit outside it. */
export function modeAtMost(allowed: number): (f: FileFacts & { state: 'present' }) => string | undefined {
  return (f) => ((f.mode & 0o7777 & ~allowed) === 0 ? undefined : `mode ${octal(f.mode)} is more permissive than ${octal(allowed)}`);
}

export const ownedByRoot = (f: FileFacts & { state: 'present' }): string | undefined =>
  f.uid === 0 && f.gid === 0 ? undefined : `owned by ${f.owner}:${f.group}, not root:root`;

/** The static pod manifest a run comes from (CIS 1.1.1/1.1.2, 1.1.7/1.1.8). */
export function manifestFile(
  judge: (f: FileFacts & { state: 'present' }) => string | undefined,
): (config: ProgramConfig, node?: NodeContext) => CheckOutcome {
  return (_config, node) => {
    if (node === undefined) return NOT_A_NODE_CHECK;
    if (node.manifest === undefined)
      return { status: 'not-applicable', message: 'not started from a static pod manifest on this node', evidence: [] };
    return filesOutcome([node.manifest], judge, 'manifest');
  };
}

/**
 * etcd's data directory (CIS 1.1.11/1.1.12). The benchmark's audit reads `etcd:etcd`; what it means
 * is the account etcd runs as, which is root on kubeadm: the owner must be the uid the etcd process
 * runs as when the node shows it, else a user named etcd.
 */
export function etcdDataDir(kind: 'mode' | 'owner'): (config: ProgramConfig, node?: NodeContext) => CheckOutcome {
  return (config, node) => {
    if (node === undefined) return NOT_A_NODE_CHECK;
    const dir = pathOf(config, 'data-dir');
    if (typeof dir !== 'string') return dir;
    // etcd's default data dir is "${name}.etcd" relative to its working directory: not a node path we can name.
    if (dir === '' || !dir.startsWith('/'))
      return {
        status: 'unknown',
        message: `--data-dir is ${dir === '' ? 'not set (etcd uses <name>.etcd in its working directory)' : `relative (${dir})`}`,
        evidence: [describeSetting(config.get('data-dir'))],
      };
    const facts = node.files.stat(dir);
    if (kind === 'mode') return filesOutcome([facts], modeAtMost(0o700), 'data directory');
    const uid = node.files.runsAsUid;
    if (uid === undefined && facts.state === 'present' && facts.owner !== 'etcd' && !node.files.hasAccount('etcd')) {
      return {
        status: 'unknown',
        message: `${facts.where} is owned by ${facts.owner}:${facts.group}; etcd's process is not visible and the node has no etcd account, so which user etcd runs as is not known`,
        evidence: [`${facts.where} ${octal(facts.mode)} ${facts.owner}:${facts.group}`],
      };
    }
    return filesOutcome(
      [facts],
      (f) =>
        uid !== undefined
          ? f.uid === uid
            ? undefined
            : `owned by uid ${f.uid} (${f.owner}), but etcd runs as uid ${uid}`
          : f.owner === 'etcd'
            ? undefined
            : `owned by ${f.owner}:${f.group}, not etcd:etcd (etcd's process is not visible to tell which user it runs as)`,
      'data directory',
    );
  };
}

/** The certificate and key files a program's flags name, and the directories that hold them (CIS 1.1.19–1.1.21). */
export function pkiFiles(
  certFlags: readonly string[],
  keyFlags: readonly string[],
  kind: 'owner' | 'cert-mode' | 'key-mode',
): (config: ProgramConfig, node?: NodeContext) => CheckOutcome {
  return (config, node) => {
    if (node === undefined) return NOT_A_NODE_CHECK;
    const flags = kind === 'cert-mode' ? certFlags : kind === 'key-mode' ? keyFlags : [...certFlags, ...keyFlags];
    const paths: string[] = [];
    for (const flag of flags) {
      const p = pathOf(config, flag);
      if (typeof p !== 'string') return p;
      if (p !== '' && !paths.includes(p)) paths.push(p);
    }
    if (kind === 'owner') for (const dir of [...new Set(paths.map((p) => p.slice(0, p.lastIndexOf('/')) || '/'))]) paths.push(dir);
    const facts = paths.map((p) => node.files.stat(p)).filter((f) => f.state !== 'not-on-node');
    const judge = kind === 'owner' ? ownedByRoot : modeAtMost(kind === 'cert-mode' ? 0o644 : 0o600);
    return filesOutcome(facts, judge, kind === 'owner' ? 'PKI files' : kind === 'cert-mode' ? 'certificate files' : 'key files');
  };
}

/** The settings the rules read: what drift between a manifest and its running process is measured on. */
const DRIFT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  etcd: [
    'listen-client-urls',
    'advertise-client-urls',
    'listen-peer-urls',
    'initial-advertise-peer-urls',
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
    'data-dir',
  ],
  'kube-apiserver': ['etcd-servers', 'etcd-servers-overrides', 'etcd-cafile', 'etcd-certfile', 'etcd-keyfile', 'client-ca-file'],
};

/**
 * The running process has the settings its manifest gives: a manifest edited since the process
 * started (the kubelet has not restarted it yet, or cannot), or a process started by hand, differ.
 */
export function runningMatchesManifest(config: ProgramConfig, node?: NodeContext): CheckOutcome {
  if (node === undefined) return NOT_A_NODE_CHECK;
  const counterpart = node.manifestConfig;
  if (counterpart === undefined)
    return { status: 'not-applicable', message: 'a manifest (the running process is checked against it)', evidence: [] };
  if (counterpart === null)
    return {
      status: 'unknown',
      message: `no static pod manifest on this node runs ${config.component}: the process was started otherwise (etcd-manager, systemd, a container runtime directly)`,
      evidence: [],
    };
  const differences: string[] = [];
  const evidence: string[] = [];
  for (const flag of DRIFT_FLAGS[config.component] ?? []) {
    const running = config.get(flag);
    const declared = counterpart.config.get(flag);
    if (running.state === 'unknown' || declared.state === 'unknown') continue;
    const a = effectiveValue(running) ?? '';
    const b = effectiveValue(declared) ?? '';
    if (a !== b) {
      differences.push(`--${flag}: running ${a === '' ? '(not set)' : a}, manifest ${b === '' ? '(not set)' : b}`);
      evidence.push(`running ${describeSetting(running)}`, `manifest ${describeSetting(declared)}`);
    }
  }
  if (differences.length > 0)
    return {
      status: 'fail',
      message: `the running ${config.component} differs from ${counterpart.where}: ${differences.join('; ')}`,
      evidence,
      details: { file: counterpart.where },
    };
  return { status: 'pass', message: `the running ${config.component} has the settings of ${counterpart.where}`, evidence: [] };
}
