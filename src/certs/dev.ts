import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateCa, issueCertificate, type CertificatePair } from './authority.js';
import { DEFAULT_DEV_SANS, DEV_FILES } from './dev-files.js';

export interface DevCertificates {
  readonly ca: CertificatePair;
  readonly server: CertificatePair;
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
