import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import { DEFAULT_DEV_SANS, DEV_FILES } from './dev-files.js';

export interface CertificatePair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface DevCertificates {
  readonly ca: CertificatePair;
  readonly server: CertificatePair;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function serial(): string {
  // Positive 16-byte serial (RFC 5280: up to 20 octets, positive).
  return `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
}

function newCert(publicKey: forge.pki.PublicKey, days: number, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  // Backdated a little so that clocks slightly behind still accept it.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
  return cert;
}

const CA_SUBJECT = [{ name: 'commonName', value: 'etcd-tls-guard development CA' }];

/** A self-signed CA, 10 years. */
export function generateCa(now = new Date()): CertificatePair {
  const caKeys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const ca = newCert(caKeys.publicKey, 3650, now);
  ca.setSubject(CA_SUBJECT);
  ca.setIssuer(CA_SUBJECT);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(ca), keyPem: forge.pki.privateKeyToPem(caKeys.privateKey) };
}

export interface IssueOptions {
  /** DNS names or IPv4 addresses; the first is also the common name. */
  readonly sans: readonly string[];
  /** serverAuth for the webhook, clientAuth for an API server's client certificate. */
  readonly usage?: 'server' | 'client' | 'both';
  /** Subject O values: Kubernetes reads them as the user's groups (system:masters, system:nodes). */
  readonly organization?: readonly string[];
  /** Subject CN (the Kubernetes user name); default the first SAN. */
  readonly commonName?: string;
  readonly days?: number;
  readonly now?: Date;
}

/** A leaf certificate signed by `ca` (as returned by generateCa). */
export function issueCertificate(ca: CertificatePair, opts: IssueOptions): CertificatePair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = newCert(keys.publicKey, opts.days ?? 365, opts.now ?? new Date());
  cert.setSubject([
    { name: 'commonName', value: opts.commonName ?? opts.sans[0] ?? 'localhost' },
    ...(opts.organization ?? []).map((o) => ({ name: 'organizationName', value: o })),
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: opts.usage !== 'client', clientAuth: opts.usage === 'client' || opts.usage === 'both' },
    ...(opts.sans.length > 0
      ? [{ name: 'subjectAltName', altNames: opts.sans.map((s) => (IPV4.test(s) ? { type: 7, ip: s } : { type: 2, value: s })) }]
      : []),
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/**
 * A CA and a serving certificate signed by it, made with node-forge. RSA 2048 and SHA-256: what
 * every API server and Go TLS client accepts.
 */
export function generateDevCertificates(sans: readonly string[] = DEFAULT_DEV_SANS, now = new Date(), serverDays = 365): DevCertificates {
  const ca = generateCa(now);
  return { ca, server: issueCertificate(ca, { sans, now, days: serverDays }) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes dev certificates into `dir` (keys readable by the owner only). */
export async function writeDevCertificates(dir: string, sans: readonly string[] = DEFAULT_DEV_SANS): Promise<DevCertificates> {
  const certs = generateDevCertificates(sans);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, DEV_FILES.caCert), certs.ca.certPem);
  await writeFile(join(dir, DEV_FILES.caKey), certs.ca.keyPem, { mode: 0o600 });
  await writeFile(join(dir, DEV_FILES.cert), certs.server.certPem);
  await writeFile(join(dir, DEV_FILES.key), certs.server.keyPem, { mode: 0o600 });
  return certs;
}

/** Creates dev certificates in `dir` unless a serving pair is already there; says whether it did. */
export async function ensureDevCertificates(dir: string, sans: readonly string[] = DEFAULT_DEV_SANS): Promise<boolean> {
  if ((await exists(join(dir, DEV_FILES.cert))) && (await exists(join(dir, DEV_FILES.key)))) return false;
  await writeDevCertificates(dir, sans);
  return true;
}

export async function readPair(certFile: string, keyFile: string): Promise<CertificatePair> {
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { certPem, keyPem };
}
