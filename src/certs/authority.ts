/**
 * A certificate authority in a few functions: a self-signed CA and leaf certificates it signs, made
 * with node-forge (Node's crypto parses and verifies certificates but cannot create them). RSA 2048
 * and SHA-256: what every API server and Go TLS client accepts.
 *
 * Keys come either from node-forge (synchronous, pure JavaScript: fine for the CLI and the tests) or,
 * for a running server, from Node's `crypto.generateKeyPair` (`newKeyPair`), which works on the
 * libuv thread pool: a key made while the webhook serves does not stall the event loop.
 */
import { generateKeyPair } from 'node:crypto';
import forge from 'node-forge';

export interface CertificatePair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** An RSA key pair in PEM (SPKI public, PKCS#8 private), as Node's crypto writes it. */
export interface KeyPairPem {
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdated a little so that clocks slightly behind still accept a new certificate. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A 2048-bit RSA key made off the event loop. */
export function newKeyPair(): Promise<KeyPairPem> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
      (err, publicKeyPem, privateKeyPem) => (err !== null ? reject(err) : resolve({ publicKeyPem, privateKeyPem })),
    );
  });
}

function forgeKeys(keys: KeyPairPem | undefined): {
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
  keyPem: string;
} {
  if (keys !== undefined)
    return {
      publicKey: forge.pki.publicKeyFromPem(keys.publicKeyPem),
      privateKey: forge.pki.privateKeyFromPem(keys.privateKeyPem),
      keyPem: keys.privateKeyPem,
    };
  const made = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  return { publicKey: made.publicKey, privateKey: made.privateKey, keyPem: forge.pki.privateKeyToPem(made.privateKey) };
}

function serial(): string {
  // Positive 16-byte serial (RFC 5280: up to 20 octets, positive).
  return `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
}

function newCert(publicKey: forge.pki.PublicKey, notAfter: Date, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = notAfter;
  return cert;
}

export interface CaOptions {
  readonly now?: Date;
  /** Default 10 years. */
  readonly validityMs?: number;
  readonly commonName?: string;
  /** A key made beforehand (newKeyPair); otherwise node-forge makes one. */
  readonly keys?: KeyPairPem;
}

/** A self-signed CA. */
export function generateCa(nowOrOptions: Date | CaOptions = {}): CertificatePair {
  const opts: CaOptions = nowOrOptions instanceof Date ? { now: nowOrOptions } : nowOrOptions;
  const now = opts.now ?? new Date();
  const keys = forgeKeys(opts.keys);
  const ca = newCert(keys.publicKey, new Date(now.getTime() + (opts.validityMs ?? 3650 * DAY_MS)), now);
  const subject = [{ name: 'commonName', value: opts.commonName ?? 'etcd-tls-guard development CA' }];
  ca.setSubject(subject);
  ca.setIssuer(subject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(ca), keyPem: keys.keyPem };
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
  /** Validity in days (default 365), or validityMs. */
  readonly days?: number;
  readonly validityMs?: number;
  readonly now?: Date;
  /** A key made beforehand (newKeyPair); otherwise node-forge makes one. */
  readonly keys?: KeyPairPem;
}

/** A leaf certificate signed by `ca` (as returned by generateCa), never outliving it. */
export function issueCertificate(ca: CertificatePair, opts: IssueOptions): CertificatePair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = forgeKeys(opts.keys);
  const now = opts.now ?? new Date();
  const wanted = now.getTime() + (opts.validityMs ?? (opts.days ?? 365) * DAY_MS);
  const cert = newCert(keys.publicKey, new Date(Math.min(wanted, caCert.validity.notAfter.getTime())), now);
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
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}
