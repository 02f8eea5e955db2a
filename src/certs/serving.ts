import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';

/** A serving certificate, its key and (optionally) the CA that API server client certificates must chain to. */
export interface ServingMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  readonly clientCaPem?: string;
  /** Of the leaf certificate: for the expiry metric and the reload log. */
  readonly notAfter: Date;
  readonly serialNumber: string;
}

export class CertificateError extends Error {
  override name = 'CertificateError';
}

function firstCertificate(pem: string, what: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CertificateError(`${what} has no PEM certificate`);
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CertificateError(`${what} is not a valid PEM certificate: ${(err as Error).message}`);
  }
}

/**
 * Checks a certificate/key pair the way the TLS server will use it, so a half-written file or a key
 * from another pair is refused here (and the pair in service kept) rather than at the next handshake.
 */
export function servingMaterial(certPem: string, keyPem: string, clientCaPem?: string): ServingMaterial {
  const leaf = firstCertificate(certPem, 'the serving certificate');
  if (clientCaPem !== undefined) firstCertificate(clientCaPem, 'the client CA file');
  try {
    createSecureContext(secureContextOptions({ certPem, keyPem, ...(clientCaPem !== undefined ? { clientCaPem } : {}) }));
  } catch (err) {
    const message = (err as Error).message;
    if (/key values mismatch/i.test(message)) throw new CertificateError('the private key does not belong to the serving certificate');
    throw new CertificateError(`the certificate or key cannot be used: ${message}`);
  }
  // Node 20's X509Certificate has validTo ("Nov 22 23:06:35 2027 GMT") but not validToDate.
  const notAfter = new Date(leaf.validTo);
  if (Number.isNaN(notAfter.getTime())) throw new CertificateError(`cannot read the certificate's expiry ${JSON.stringify(leaf.validTo)}`);
  return { certPem, keyPem, ...(clientCaPem !== undefined ? { clientCaPem } : {}), notAfter, serialNumber: leaf.serialNumber };
}

export function secureContextOptions(m: Pick<ServingMaterial, 'certPem' | 'keyPem' | 'clientCaPem'>): SecureContextOptions {
  // The API server speaks TLS 1.2+; older versions have no place on a control plane.
  return { cert: m.certPem, key: m.keyPem, minVersion: 'TLSv1.2', ...(m.clientCaPem !== undefined ? { ca: m.clientCaPem } : {}) };
}
