/**
 * The node rules: what only the node shows (`etcd-tls-guard node`) — certificates and keys, file
 * modes and owners (CIS 1.1), the running process against its manifest, and what etcd does on the
 * wire (observed.ts). One declaration each, as in rules.ts, which lists them after the pod rules.
 */
import { CLIENT_AUTH, SERVER_AUTH } from '../program-config/node-files.js';
import {
  apiserverEtcdClientCertificate,
  certificateValid,
  runningMatchesManifest,
  etcdDataDir,
  etcdUniqueCa,
  manifestFile,
  modeAtMost,
  ownedByRoot,
  pkiFiles,
} from './node-checks.js';
import { observedClientAuth } from './observed.js';
import type { Rule } from './outcome.js';

export const NODE_RULES: readonly Rule[] = [
  {
    id: 'etcd-server-cert',
    component: 'etcd',
    cis: {},
    title: "etcd's serving certificate is valid",
    multiMemberOnly: false,
    scope: 'node',
    check: certificateValid({
      what: "etcd's serving certificate",
      certFlag: 'cert-file',
      keyFlag: 'key-file',
      caFlag: 'trusted-ca-file',
      usages: [SERVER_AUTH],
      sanFlags: ['advertise-client-urls'],
    }),
    remediation:
      'Renew or reissue the certificate named by --cert-file (kubeadm: kubeadm certs renew etcd-server) so that it parses, is within its validity, matches --key-file, is signed by --trusted-ca-file, allows serverAuth and names every --advertise-client-urls host (flags in {file})',
    passes:
      '`--cert-file`/`--key-file` read and parse, the certificate is within its validity (a warning within `--expiry-warning`), matches its key, is signed by `--trusted-ca-file`, allows serverAuth, and its SANs cover every `--advertise-client-urls` host',
  },
  {
    id: 'etcd-peer-cert',
    component: 'etcd',
    cis: {},
    title: "etcd's peer certificate is valid",
    multiMemberOnly: true,
    scope: 'node',
    check: certificateValid({
      what: "etcd's peer certificate",
      certFlag: 'peer-cert-file',
      keyFlag: 'peer-key-file',
      caFlag: 'peer-trusted-ca-file',
      usages: [SERVER_AUTH, CLIENT_AUTH],
      sanFlags: ['initial-advertise-peer-urls'],
    }),
    remediation:
      'Renew or reissue the certificate named by --peer-cert-file (kubeadm: kubeadm certs renew etcd-peer) with serverAuth and clientAuth and every --initial-advertise-peer-urls host (flags in {file})',
    passes:
      'the same for `--peer-cert-file`/`--peer-key-file`/`--peer-trusted-ca-file`, with serverAuth and clientAuth, SANs covering `--initial-advertise-peer-urls`',
  },
  {
    // CIS 2.7: Ensure that a unique Certificate Authority is used for etcd.
    id: 'etcd-unique-ca',
    component: 'etcd',
    cis: { '1.5.1': '2.7', '1.10': '2.7' },
    title: 'etcd uses a CA of its own',
    multiMemberOnly: false,
    scope: 'node',
    check: etcdUniqueCa,
    remediation:
      "Give etcd a CA of its own (kubeadm: /etc/kubernetes/pki/etcd/ca.crt) in --trusted-ca-file, not the cluster CA of kube-apiserver's --client-ca-file, in {file}",
    passes: "`--trusted-ca-file` holds no certificate of kube-apiserver's `--client-ca-file` (compared by content, not path)",
  },
  {
    id: 'apiserver-etcd-client-cert-valid',
    component: 'kube-apiserver',
    cis: {},
    title: "kube-apiserver's etcd client certificate is valid",
    multiMemberOnly: false,
    scope: 'node',
    check: apiserverEtcdClientCertificate,
    remediation:
      "Renew or reissue --etcd-certfile (kubeadm: kubeadm certs renew apiserver-etcd-client) with clientAuth, signed by the CA etcd trusts, and point --etcd-cafile at the CA that signed etcd's serving certificate, in {file}",
    passes:
      "`--etcd-certfile`/`--etcd-keyfile` parse, match, are within validity and allow clientAuth; with etcd on the node, signed by etcd's `--trusted-ca-file`, and `--etcd-cafile` verifies etcd's serving certificate",
  },
  ...fileRules('etcd', { permissions: '1.1.7', ownership: '1.1.8' }),
  ...fileRules('kube-apiserver', { permissions: '1.1.1', ownership: '1.1.2' }),
  {
    // CIS 1.1.11: Ensure that the etcd data directory permissions are set to 700 or more restrictive.
    id: 'etcd-data-dir-permissions',
    component: 'etcd',
    cis: { '1.5.1': '1.1.11', '1.10': '1.1.11' },
    title: "etcd's data directory is 700 or stricter",
    multiMemberOnly: false,
    scope: 'node',
    check: etcdDataDir('mode'),
    remediation: 'Run chmod 700 on the --data-dir of {manifest}',
    passes: '`--data-dir` is mode 700 or stricter',
  },
  {
    // CIS 1.1.12: Ensure that the etcd data directory ownership is set to etcd:etcd.
    id: 'etcd-data-dir-ownership',
    component: 'etcd',
    cis: { '1.5.1': '1.1.12', '1.10': '1.1.12' },
    title: "etcd's data directory is owned by the user etcd runs as",
    multiMemberOnly: false,
    scope: 'node',
    check: etcdDataDir('owner'),
    remediation: 'Run chown to the user etcd runs as (etcd:etcd where etcd has its own account) on the --data-dir of {manifest}',
    passes: "`--data-dir` is owned by the uid the etcd process runs as (the benchmark's `etcd:etcd` where etcd has its own account)",
  },
  ...(['etcd', 'kube-apiserver'] as const).map((component): Rule => ({
    id: `${component === 'etcd' ? 'etcd' : 'apiserver'}-running-matches-manifest`,
    component,
    cis: {},
    title: `the running ${component} has its manifest's settings`,
    multiMemberOnly: false,
    scope: 'node',
    check: runningMatchesManifest,
    remediation: `Restart ${component} from its manifest (move {manifest} out of the static pod directory and back), or correct the manifest to what should run`,
    passes: `the running ${component} process (\`/proc\`) has the TLS settings its static pod manifest gives`,
  })),
  ...pkiRules('etcd', ['cert-file', 'peer-cert-file', 'trusted-ca-file', 'peer-trusted-ca-file'], ['key-file', 'peer-key-file']),
  ...pkiRules(
    'kube-apiserver',
    ['etcd-certfile', 'etcd-cafile', 'client-ca-file', 'tls-cert-file'],
    ['etcd-keyfile', 'tls-private-key-file'],
  ),
  // Observed on the wire (rules/observed.ts): what a client with no certificate meets.
  {
    id: 'etcd-client-auth-observed',
    component: 'etcd',
    cis: {},
    title: 'etcd refuses clients without a certificate, observed on the wire',
    multiMemberOnly: false,
    scope: 'node',
    check: observedClientAuth('etcd', 'client'),
    remediation:
      'Make etcd demand client certificates: --client-cert-auth=true with --trusted-ca-file (and https:// in --listen-client-urls), in {file}; then restart etcd — the running process is what was probed',
    passes:
      'every `--listen-client-urls` endpoint, probed as a client with no certificate, ends the TLS handshake (a plaintext or TLS answer fails; unreachable is unknown)',
  },
  {
    id: 'etcd-peer-auth-observed',
    component: 'etcd',
    cis: {},
    title: 'etcd refuses peers without a certificate, observed on the wire',
    multiMemberOnly: true,
    scope: 'node',
    check: observedClientAuth('etcd', 'peer'),
    remediation:
      'Make etcd demand peer certificates: --peer-client-cert-auth=true with --peer-trusted-ca-file (and https:// in --listen-peer-urls), in {file}; then restart etcd',
    passes: 'every `--listen-peer-urls` endpoint, probed with no certificate, ends the TLS handshake',
  },
  {
    id: 'apiserver-etcd-auth-observed',
    component: 'kube-apiserver',
    cis: {},
    title: 'the etcd kube-apiserver uses refuses clients without a certificate, observed on the wire (external etcd too)',
    multiMemberOnly: false,
    scope: 'node',
    check: observedClientAuth('kube-apiserver', 'client'),
    remediation:
      "Make every etcd of kube-apiserver's --etcd-servers demand client certificates (--client-cert-auth=true with --trusted-ca-file on those members, wherever they run); kube-apiserver keeps its --etcd-certfile/--etcd-keyfile",
    passes: 'every server of `--etcd-servers` (and `--etcd-servers-overrides`), probed with no certificate, ends the TLS handshake',
  },
];

/** CIS 1.1.1/1.1.2 (kube-apiserver) and 1.1.7/1.1.8 (etcd): the static pod manifest's mode and owner. */
function fileRules(component: 'etcd' | 'kube-apiserver', cis: { permissions: string; ownership: string }): Rule[] {
  const prefix = component === 'etcd' ? 'etcd' : 'apiserver';
  return [
    {
      id: `${prefix}-manifest-permissions`,
      component,
      cis: { '1.5.1': cis.permissions, '1.10': cis.permissions },
      title: `the ${component} static pod manifest is 600 or stricter`,
      multiMemberOnly: false,
      scope: 'node',
      check: manifestFile(modeAtMost(0o600)),
      remediation: 'Run chmod 600 {manifest}',
      passes: `the ${component} manifest file is mode 600 or stricter (benchmark 1.5.1 allowed 644; later versions ask 600)`,
    },
    {
      id: `${prefix}-manifest-ownership`,
      component,
      cis: { '1.5.1': cis.ownership, '1.10': cis.ownership },
      title: `the ${component} static pod manifest is owned by root:root`,
      multiMemberOnly: false,
      scope: 'node',
      check: manifestFile(ownedByRoot),
      remediation: 'Run chown root:root {manifest}',
      passes: `the ${component} manifest file is owned by root:root`,
    },
  ];
}

/** CIS 1.1.19–1.1.21: the certificate and key files a program's flags name. */
function pkiRules(component: 'etcd' | 'kube-apiserver', certFlags: readonly string[], keyFlags: readonly string[]): Rule[] {
  const prefix = component === 'etcd' ? 'etcd' : 'apiserver';
  const flags = (list: readonly string[]): string => list.map((f) => `\`--${f}\``).join(', ');
  return [
    {
      id: `${prefix}-pki-ownership`,
      component,
      cis: { '1.5.1': '1.1.19', '1.10': '1.1.19' },
      title: `${component}'s certificate and key files are owned by root:root`,
      multiMemberOnly: false,
      scope: 'node',
      check: pkiFiles(certFlags, keyFlags, 'owner'),
      remediation: `Run chown root:root on the files named by the ${component} certificate and key flags, and their directories, of {manifest}`,
      passes: `the files ${flags([...certFlags, ...keyFlags])} name, and their directories, are owned by root:root`,
    },
    {
      id: `${prefix}-pki-cert-permissions`,
      component,
      cis: { '1.5.1': '1.1.20', '1.10': '1.1.20' },
      title: `${component}'s certificate files are 644 or stricter`,
      multiMemberOnly: false,
      scope: 'node',
      check: pkiFiles(certFlags, keyFlags, 'cert-mode'),
      remediation: `Run chmod 644 (or 600) on the certificate files named by the flags of {manifest}`,
      passes: `the certificate files ${flags(certFlags)} name are mode 644 or stricter`,
    },
    {
      id: `${prefix}-pki-key-permissions`,
      component,
      cis: { '1.5.1': '1.1.21', '1.10': '1.1.21' },
      title: `${component}'s key files are 600 or stricter`,
      multiMemberOnly: false,
      scope: 'node',
      check: pkiFiles(certFlags, keyFlags, 'key-mode'),
      remediation: `Run chmod 600 on the key files named by the flags of {manifest}`,
      passes: `the key files ${flags(keyFlags)} name are mode 600 or stricter`,
    },
  ];
}
