/**
 * Managed certificates, the decisions (pure: no API, no clock, no key generation). The webhook keeps
 * its CA and serving certificate in a Secret and the CAs the API server must trust in its
 * ValidatingWebhookConfiguration's caBundle, as open-policy-agent/cert-controller (Gatekeeper) does,
 * with one thing more: **no admission call fails during a rotation**. Three rules make that so:
 *
 * 1. A CA is added to the webhook configuration's caBundle before any certificate it signed is served:
 *    a new CA is *staged* (written as `ca.crt` beside the serving pair it did not sign, and into the
 *    bundle), and the serving certificate is switched to one it signed only `settleMs` after the bundle
 *    holds it — the API server reads webhook configurations through an informer, so it learns of the
 *    bundle a moment after the write.
 * 2. Each replica serves the Secret's pair only when its issuer is in the bundle it reads back from the
 *    webhook configuration (`trustedIssuer`); otherwise it keeps the pair it serves.
 * 3. A replaced CA leaves the bundle `retireAfterMs` after the switch (every replica watches the Secret
 *    and reloads within seconds; the margin covers a replica that missed a watch event and finds the
 *    change at its next resync), or when it expires.
 *
 * The Secret (type kubernetes.io/tls, so `kubectl` and cert-manager users read it as they expect):
 * `tls.crt`/`tls.key` the pair to serve, `ca.crt`/`ca.key` the CA that signs new serving
 * certificates, `ca-bundle.crt` the CAs to trust, newest first; annotations say when the CA was staged
 * and when serving switched to it.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { CertificatePair } from './authority.js';

export const SECRET_KEYS = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key', bundle: 'ca-bundle.crt' } as const;
export const ANNOTATIONS = {
  stagedAt: 'etcd-tls-guard.io/ca-staged-at',
  rotatedAt: 'etcd-tls-guard.io/ca-rotated-at',
} as const;

export interface ManagedCertificateSettings {
  /** DNS names and IP addresses the serving certificate must cover (the Service's names, and any URL host). */
  readonly hosts: readonly string[];
  readonly caValidityMs: number;
  /** A CA this close to expiry is replaced. */
  readonly caRenewBeforeMs: number;
  readonly certValidityMs: number;
  /** A serving certificate this close to expiry is replaced. */
  readonly certRenewBeforeMs: number;
  /** How long a staged CA sits in the bundle before a certificate it signed is served. */
  readonly settleMs: number;
  /** How long a replaced CA stays in the bundle after serving switched away from it. */
  readonly retireAfterMs: number;
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Defaults as cert-controller's (a 10-year CA, renewal 90 days before expiry), with a serving
 * certificate of one year, renewed 90 days ahead: a yearly rotation exercises the path long before
 * the CA's, so a broken rotation is found while there is time to fix it.
 */
export const DEFAULT_MANAGED_SETTINGS: Omit<ManagedCertificateSettings, 'hosts'> = {
  caValidityMs: 3650 * DAY_MS,
  caRenewBeforeMs: 90 * DAY_MS,
  certValidityMs: 365 * DAY_MS,
  certRenewBeforeMs: 90 * DAY_MS,
  settleMs: 10_000,
  retireAfterMs: HOUR_MS,
};

/** The Secret's contents, decoded and checked. */
export interface StoredCertificates {
  readonly ca: CertificatePair;
  readonly serving: CertificatePair;
  /** PEM of each CA to trust, newest first; always holds `ca`. */
  readonly bundle: readonly string[];
  readonly stagedAt: Date;
  readonly rotatedAt?: Date;
}

export type Decoded = { readonly ok: true; readonly stored: StoredCertificates } | { readonly ok: false; readonly reason: string };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle, each as its own PEM (unparseable blocks left out). */
export function splitBundle(text: string): string[] {
  return (text.match(PEM_CERTIFICATE) ?? []).filter((pem) => parse(pem) !== undefined).map((pem) => `${pem}\n`);
}

export function joinBundle(pems: readonly string[]): string {
  return pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** A stable identity for a certificate: the SHA-256 of its DER. */
export function fingerprintOf(pem: string): string | undefined {
  return parse(pem)?.fingerprint256;
}

function notAfterOf(cert: X509Certificate): Date {
  // Node 20 has validTo ("Nov 22 23:06:35 2027 GMT") but not validToDate.
  return new Date(cert.validTo);
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    return fromKey.equals(cert.publicKey.export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
}

/** Whether `ca` signed `leaf` (issuer name and signature both). */
export function issuedBy(leafPem: string, caPem: string): boolean {
  const leaf = parse(leafPem);
  const ca = parse(caPem);
  return leaf !== undefined && ca !== undefined && leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

function date(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Reads a Secret's data (base64 values, as the API returns them) and annotations. */
export function decodeSecret(
  data: Readonly<Record<string, string>> | undefined,
  annotations: Readonly<Record<string, string>> = {},
): Decoded {
  const text = (key: string): string => Buffer.from(data?.[key] ?? '', 'base64').toString('utf8');
  const [caCert, caKey, cert, key, bundleText] = [
    text(SECRET_KEYS.caCert),
    text(SECRET_KEYS.caKey),
    text(SECRET_KEYS.cert),
    text(SECRET_KEYS.key),
    text(SECRET_KEYS.bundle),
  ];
  const ca = parse(caCert);
  if (ca === undefined) return { ok: false, reason: `${SECRET_KEYS.caCert} is missing or not a PEM certificate` };
  if (!ca.ca) return { ok: false, reason: `${SECRET_KEYS.caCert} is not a CA certificate` };
  if (!keyMatches(ca, caKey)) return { ok: false, reason: `${SECRET_KEYS.caKey} is missing or is not the key of ${SECRET_KEYS.caCert}` };
  const leaf = parse(cert);
  if (leaf === undefined) return { ok: false, reason: `${SECRET_KEYS.cert} is missing or not a PEM certificate` };
  if (!keyMatches(leaf, key)) return { ok: false, reason: `${SECRET_KEYS.key} is missing or is not the key of ${SECRET_KEYS.cert}` };
  const bundle = splitBundle(bundleText);
  const caPrint = ca.fingerprint256;
  // The signing CA always belongs to the bundle, first.
  const rest = bundle.filter((pem) => fingerprintOf(pem) !== caPrint);
  const rotatedAt = date(annotations[ANNOTATIONS.rotatedAt]);
  return {
    ok: true,
    stored: {
      ca: { certPem: caCert, keyPem: caKey },
      serving: { certPem: cert, keyPem: key },
      bundle: [caCert.endsWith('\n') ? caCert : `${caCert}\n`, ...rest],
      stagedAt: date(annotations[ANNOTATIONS.stagedAt]) ?? new Date(0),
      ...(rotatedAt !== undefined ? { rotatedAt } : {}),
    },
  };
}

export function encodeSecret(stored: StoredCertificates): { data: Record<string, string>; annotations: Record<string, string> } {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return {
    data: {
      [SECRET_KEYS.caCert]: b64(stored.ca.certPem),
      [SECRET_KEYS.caKey]: b64(stored.ca.keyPem),
      [SECRET_KEYS.cert]: b64(stored.serving.certPem),
      [SECRET_KEYS.key]: b64(stored.serving.keyPem),
      [SECRET_KEYS.bundle]: b64(joinBundle(stored.bundle)),
    },
    annotations: {
      [ANNOTATIONS.stagedAt]: stored.stagedAt.toISOString(),
      ...(stored.rotatedAt !== undefined ? { [ANNOTATIONS.rotatedAt]: stored.rotatedAt.toISOString() } : {}),
    },
  };
}

/** What to do next with the Secret. `at` is when to look again if nothing happens before. */
export type Step =
  | { readonly kind: 'new-ca'; readonly reason: string }
  | { readonly kind: 'new-certificate'; readonly reason: string }
  | { readonly kind: 'retire'; readonly reason: string; readonly keep: readonly string[] }
  | { readonly kind: 'wait'; readonly reason: string; readonly at: Date }
  | { readonly kind: 'keep'; readonly at: Date };

export interface Situation {
  readonly now: Date;
  readonly settings: ManagedCertificateSettings;
  /** Fingerprints of the CAs every webhook of the configuration trusts now (empty when it is missing). */
  readonly trusted: ReadonlySet<string>;
}

function uncovered(certPem: string, hosts: readonly string[]): string[] {
  const cert = parse(certPem);
  if (cert === undefined) return [...hosts];
  return hosts.filter((h) =>
    /^[0-9.]+$|:/.test(h) ? cert.checkIP(h) === undefined : cert.checkHost(h, { wildcards: false }) === undefined,
  );
}

function earliest(...dates: readonly Date[]): Date {
  return new Date(Math.min(...dates.map((d) => d.getTime())));
}

/** The one next step for a Secret (undefined: there is none, or it cannot be read). */
export function nextStep(decoded: Decoded | undefined, s: Situation): Step {
  if (decoded === undefined) return { kind: 'new-ca', reason: 'the Secret does not exist' };
  if (!decoded.ok) return { kind: 'new-ca', reason: `the Secret cannot be used: ${decoded.reason}` };
  const { stored } = decoded;
  const { now, settings } = s;
  const ca = parse(stored.ca.certPem) as X509Certificate;
  const caRenewAt = new Date(notAfterOf(ca).getTime() - settings.caRenewBeforeMs);
  if (now >= caRenewAt) return { kind: 'new-ca', reason: `the CA expires at ${notAfterOf(ca).toISOString()}` };

  const caPrint = ca.fingerprint256;
  if (!issuedBy(stored.serving.certPem, stored.ca.certPem)) {
    // A staged CA: switch once the API server has had time to trust it.
    if (!s.trusted.has(caPrint))
      return {
        kind: 'wait',
        reason: 'the new CA is not yet in the webhook configuration',
        at: new Date(now.getTime() + settings.settleMs),
      };
    const switchAt = new Date(stored.stagedAt.getTime() + settings.settleMs);
    if (now < switchAt) return { kind: 'wait', reason: 'the new CA is settling in the webhook configuration', at: switchAt };
    return { kind: 'new-certificate', reason: 'switching to a certificate of the new CA' };
  }

  const leaf = parse(stored.serving.certPem) as X509Certificate;
  const certRenewAt = new Date(notAfterOf(leaf).getTime() - settings.certRenewBeforeMs);
  if (now >= certRenewAt)
    return { kind: 'new-certificate', reason: `the serving certificate expires at ${notAfterOf(leaf).toISOString()}` };
  const missing = uncovered(stored.serving.certPem, settings.hosts);
  if (missing.length > 0) return { kind: 'new-certificate', reason: `the serving certificate does not name ${missing.join(', ')}` };

  const retireAt = stored.rotatedAt !== undefined ? new Date(stored.rotatedAt.getTime() + settings.retireAfterMs) : undefined;
  const old = stored.bundle.slice(1);
  const expired = old.filter((pem) => {
    const c = parse(pem);
    return c === undefined || notAfterOf(c) <= now;
  });
  if (old.length > 0 && ((retireAt !== undefined && now >= retireAt) || expired.length > 0)) {
    const keep =
      retireAt !== undefined && now >= retireAt ? [stored.bundle[0] as string] : stored.bundle.filter((p) => !expired.includes(p));
    return { kind: 'retire', reason: `${stored.bundle.length - keep.length} replaced CA(s) leave the bundle`, keep };
  }
  const checks = [caRenewAt, certRenewAt, ...(retireAt !== undefined && old.length > 0 ? [retireAt] : [])];
  for (const pem of old) {
    const c = parse(pem);
    if (c !== undefined) checks.push(notAfterOf(c));
  }
  return { kind: 'keep', at: earliest(...checks) };
}

/**
 * The Secret after a new CA: the pair in service stays (it is what the API server trusts today);
 * the CAs the bundle or webhook configuration trusts today stay in the bundle until retired.
 */
export function withNewCa(
  previous: StoredCertificates | undefined,
  ca: CertificatePair,
  serving: CertificatePair,
  trustedToday: readonly string[],
  now: Date,
): StoredCertificates {
  const seen = new Set<string>();
  const bundle: string[] = [];
  for (const pem of [ca.certPem, ...(previous?.bundle ?? []), ...trustedToday]) {
    const c = parse(pem);
    if (c === undefined || seen.has(c.fingerprint256) || notAfterOf(c) <= now) continue;
    seen.add(c.fingerprint256);
    bundle.push(pem.endsWith('\n') ? pem : `${pem}\n`);
  }
  return { ca, serving, bundle, stagedAt: now };
}

/** The Secret after a new serving certificate; a switch to a new CA's certificate starts the retirement clock. */
export function withNewCertificate(stored: StoredCertificates, serving: CertificatePair, now: Date): StoredCertificates {
  const switched = !issuedBy(stored.serving.certPem, stored.ca.certPem);
  return { ...stored, serving, ...(switched ? { rotatedAt: now } : {}) };
}

export function withBundle(stored: StoredCertificates, keep: readonly string[]): StoredCertificates {
  // The retirement is done: the clock goes with the CAs it was for.
  return { ca: stored.ca, serving: stored.serving, bundle: keep, stagedAt: stored.stagedAt };
}

/** The CA of `bundle` (fingerprints `trusted`) that issued `certPem`, if any. */
export function trustedIssuer(certPem: string, bundle: readonly string[], trusted: ReadonlySet<string>): string | undefined {
  return bundle.find((ca) => trusted.has(fingerprintOf(ca) ?? '') && issuedBy(certPem, ca));
}

/** Fingerprints of the CAs that every webhook of a configuration trusts (the intersection of their caBundles). */
export function trustedBy(caBundles: readonly (string | undefined)[]): Set<string> {
  if (caBundles.length === 0) return new Set();
  const sets = caBundles.map(
    (b64) =>
      new Set(
        splitBundle(Buffer.from(b64 ?? '', 'base64').toString('utf8'))
          .map(fingerprintOf)
          .filter((f): f is string => f !== undefined),
      ),
  );
  const [first, ...others] = sets as [Set<string>, ...Set<string>[]];
  return new Set([...first].filter((f) => others.every((o) => o.has(f))));
}
