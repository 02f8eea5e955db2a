/**
 * NodeFiles over a HostRoot: a program's paths mapped to the node (through its pod's hostPath volumes,
 * or unchanged under a process's own root), read once each, certificates parsed with Node's own
 * X509Certificate. (node-forge, which makes the dev and test PKI, reads RSA only: it throws "Cannot
 * read public key. OID is not RSA." on the ECDSA certificates RKE2 and k3s issue.)
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Answer, CertificateFacts, CertificatesRead, FileFacts, NodeFiles, TextRead } from '../program-config/node-files.js';
import type { Container, Pod } from '../launch/pod.js';
import type { HostRoot } from './host.js';

/** A program path on the node, or why it is not there (`not-on-node`: inside the container image). */
export type PathMapping = (path: string) => { readonly hostPath: string; readonly via: string } | { readonly reason: string };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
/** A CA bundle rarely holds more than a few hundred certificates (the Mozilla store: ~150). */
const MAX_CERTIFICATES = 1_000;

function sans(x: X509Certificate): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const entry of (x.subjectAltName ?? '').split(/, (?=[A-Za-z ]+:)/)) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4).replace(/^"|"$/g, ''));
    else if (entry.startsWith('IP Address:')) ip.push(entry.slice('IP Address:'.length));
  }
  return { dns, ip };
}

export function certificateFacts(x: X509Certificate): CertificateFacts {
  const notBefore = Date.parse(x.validFrom);
  const notAfter = Date.parse(x.validTo);
  const { dns, ip } = sans(x);
  const eku = x.keyUsage as string[] | undefined;
  return {
    subject: x.subject.split('\n').join(', '),
    issuer: x.issuer.split('\n').join(', '),
    notBefore,
    notAfter,
    notBeforeText: new Date(notBefore).toISOString(),
    notAfterText: new Date(notAfter).toISOString(),
    dnsNames: dns,
    ipAddresses: ip,
    extKeyUsage: eku === undefined || eku.length === 0 ? undefined : eku,
    isCa: x.ca,
    fingerprint: x.fingerprint256,
  };
}

type Parsed =
  { ok: true; certs: X509Certificate[]; where: string } | { ok: false; state: Exclude<CertificatesRead['state'], 'read'>; reason: string };

export class HostNodeFiles implements NodeFiles {
  readonly #host: HostRoot;
  readonly #map: PathMapping;
  readonly #accounts: () => { users: Map<number, string>; groups: Map<number, string> };
  readonly #texts = new Map<string, TextRead>();
  readonly #parsed = new Map<string, Parsed>();
  readonly runsAsUid?: number;

  constructor(
    host: HostRoot,
    map: PathMapping,
    accounts: () => { users: Map<number, string>; groups: Map<number, string> },
    runsAsUid?: number,
  ) {
    this.#host = host;
    this.#map = map;
    this.#accounts = accounts;
    if (runsAsUid !== undefined) this.runsAsUid = runsAsUid;
  }

  hasAccount(name: string): boolean {
    for (const n of this.#accounts().users.values()) if (n === name) return true;
    return false;
  }

  stat(path: string): FileFacts {
    const m = this.#map(path);
    if ('reason' in m) return { path, state: 'not-on-node', reason: m.reason };
    const at = this.#host.locate(m.hostPath);
    if (!at.ok) return { path, state: at.problem, reason: `${m.via}: ${at.reason}` };
    const { users, groups } = this.#accounts();
    const type = at.stats.isFile() ? 'file' : at.stats.isDirectory() ? 'directory' : 'other';
    return {
      path,
      state: 'present',
      type,
      mode: at.stats.mode & 0o7777,
      uid: at.stats.uid,
      gid: at.stats.gid,
      owner: users.get(at.stats.uid) ?? String(at.stats.uid),
      group: groups.get(at.stats.gid) ?? String(at.stats.gid),
      where: m.via,
    };
  }

  text(path: string): TextRead {
    let t = this.#texts.get(path);
    if (t === undefined) {
      const m = this.#map(path);
      if ('reason' in m) t = { state: 'not-on-node', reason: m.reason };
      else {
        const r = this.#host.read(m.hostPath);
        t = r.ok ? { state: 'read', text: r.bytes.toString('utf8'), where: m.via } : { state: r.problem, reason: `${m.via}: ${r.reason}` };
      }
      this.#texts.set(path, t);
    }
    return t;
  }

  #certificates(path: string): Parsed {
    let p = this.#parsed.get(path);
    if (p === undefined) {
      const t = this.text(path);
      if (t.state !== 'read') p = { ok: false, state: t.state, reason: t.reason };
      else {
        const blocks = (t.text.match(PEM_CERTIFICATE) ?? []).slice(0, MAX_CERTIFICATES);
        try {
          p =
            blocks.length === 0
              ? { ok: false, state: 'invalid', reason: `${t.where}: no PEM certificate in it` }
              : { ok: true, certs: blocks.map((b) => new X509Certificate(b)), where: t.where };
        } catch (e) {
          p = { ok: false, state: 'invalid', reason: `${t.where}: not a certificate (${(e as Error).message})` };
        }
      }
      this.#parsed.set(path, p);
    }
    return p;
  }

  certificates(path: string): CertificatesRead {
    const p = this.#certificates(path);
    return p.ok ? { state: 'read', certificates: p.certs.map(certificateFacts), where: p.where } : { state: p.state, reason: p.reason };
  }

  keyMatches(certPath: string, keyPath: string): Answer {
    const p = this.#certificates(certPath);
    if (!p.ok) return { reason: p.reason };
    const k = this.text(keyPath);
    if (k.state !== 'read')
      return k.state === 'absent' ? { answer: false, detail: `the key file is missing: ${k.reason}` } : { reason: k.reason };
    try {
      const key = createPrivateKey(k.text);
      return { answer: (p.certs[0] as X509Certificate).checkPrivateKey(key) };
    } catch (e) {
      return { answer: false, detail: `${k.where} is not a private key: ${(e as Error).message}` };
    }
  }

  signedBy(certPath: string, ca: { readonly files: NodeFiles; readonly path: string }): Answer {
    const p = this.#certificates(certPath);
    if (!p.ok) return { reason: p.reason };
    const other = ca.files instanceof HostNodeFiles ? ca.files.#certificates(ca.path) : undefined;
    if (other === undefined) return { reason: 'the CA file is not readable here' };
    if (!other.ok)
      return other.state === 'absent' || other.state === 'invalid' ? { answer: false, detail: other.reason } : { reason: other.reason };
    const leaf = p.certs[0] as X509Certificate;
    return { answer: other.certs.some((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey)) };
  }
}

/** How a pod's container sees the node: its hostPath volumes, by the longest mount path. */
export function podPathMapping(pod: Pod, container: Container): PathMapping {
  // Not validated upstream (checkPod reads only what the rules need): take only well-formed entries.
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]).filter((x) => typeof x === 'object' && x !== null) : []);
  const volumes = new Map(list<NonNullable<Pod['spec']['volumes']>[number]>(pod.spec.volumes).map((v) => [v.name, v]));
  const mounts = list<NonNullable<Container['volumeMounts']>[number]>(container.volumeMounts)
    .filter((m) => typeof m.mountPath === 'string' && m.mountPath.startsWith('/'))
    .map((m) => ({ m, v: volumes.get(m.name) }))
    .filter((x) => typeof x.v?.hostPath?.path === 'string')
    .sort((a, b) => b.m.mountPath.length - a.m.mountPath.length);
  return (path) => {
    for (const { m, v } of mounts) {
      const at = m.mountPath.replace(/\/+$/, '');
      if (path !== at && !path.startsWith(`${at}/`)) continue;
      const base = (v?.hostPath?.path ?? '').replace(/\/+$/, '');
      const sub = m.subPath !== undefined && m.subPath !== '' ? `/${m.subPath}` : '';
      const hostPath = `${base}${sub}${path.slice(at.length)}` || '/';
      return { hostPath, via: hostPath === path ? path : `${path} (hostPath ${hostPath})` };
    }
    return { reason: `${path} is not on a hostPath volume of container ${container.name}: it is inside the container, not on the node` };
  };
}

/** A process's paths: the same paths under its own root (/proc/PID/root). */
export function processPathMapping(pid: number): PathMapping {
  return (path) => ({ hostPath: path, via: `${path} (pid ${pid})` });
}
