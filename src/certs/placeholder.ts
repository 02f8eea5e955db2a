import { generateCa, newKeyPair, type CertificatePair } from './authority.js';

/**
 * A self-signed pair served until the managed certificate is in place: the kubelet's probes (which
 * do not verify) get their answers — /healthz alive, /readyz not ready with the reason — and nobody
 * trusts it, so no review is ever judged behind it.
 */
export async function placeholderPair(): Promise<CertificatePair> {
  return generateCa({
    commonName: 'etcd-tls-guard placeholder (not trusted)',
    validityMs: 365 * 24 * 60 * 60 * 1000,
    keys: await newKeyPair(),
  });
}
