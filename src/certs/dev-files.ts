/**
 * Where development certificates live and what they name, apart from making them (dev.ts): the CLI's
 * settings read these on every command, and node-forge, which dev.ts loads, is needed only when
 * certificates are made (`certs`, or `serve` without certificate files).
 */

/** SANs of the dev serving certificate: local use and the in-cluster Service of the Helm chart. */
export const DEFAULT_DEV_SANS = [
  'localhost',
  '127.0.0.1',
  'etcd-tls-guard.etcd-tls-guard.svc',
  'etcd-tls-guard.etcd-tls-guard.svc.cluster.local',
];

export const DEV_FILES = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;
