/**
 * A host root in a temporary directory, as a control-plane node has it: manifests, a PKI made with
 * node-forge, /etc/passwd, data directories. Tests change one file and check the node again.
 */
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateCa, issueCertificate, type CertificatePair, type IssueOptions } from '../src/certs/authority.js';

export const FIXTURES = new URL('../../test/fixtures/', import.meta.url);

export class HostDir {
  readonly root = mkdtempSync(join(tmpdir(), 'etg-node-'));

  path(p: string): string {
    return join(this.root, p);
  }

  write(p: string, content: string, mode = 0o600): void {
    mkdirSync(dirname(this.path(p)), { recursive: true });
    rmSync(this.path(p), { force: true });
    writeFileSync(this.path(p), content);
    chmodSync(this.path(p), mode);
  }

  dir(p: string, mode = 0o700): void {
    mkdirSync(this.path(p), { recursive: true });
    chmodSync(this.path(p), mode);
  }

  link(p: string, target: string): void {
    mkdirSync(dirname(this.path(p)), { recursive: true });
    rmSync(this.path(p), { force: true, recursive: true });
    symlinkSync(target, this.path(p));
  }

  fixture(name: string): string {
    return readFileSync(new URL(name, FIXTURES), 'utf8');
  }

  pair(p: string, pair: CertificatePair): void {
    this.write(`${p}.crt`, pair.certPem, 0o644);
    this.write(`${p}.key`, pair.keyPem, 0o600);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A CA and what it issues, as kubeadm lays them out; every certificate valid for a year. */
export interface KubeadmPki {
  readonly clusterCa: CertificatePair;
  readonly etcdCa: CertificatePair;
  readonly issue: (ca: CertificatePair, opts: IssueOptions) => CertificatePair;
}

export const NODE_IP = '10.0.0.11';

interface KubeadmFiles {
  readonly clusterCa: CertificatePair;
  readonly etcdCa: CertificatePair;
  readonly pairs: ReadonlyArray<readonly [string, CertificatePair]>;
}

/** The PKI is made once per process (eight RSA keys): each test gets a fresh copy of the files. */
let made: KubeadmFiles | undefined;
function kubeadmFiles(): KubeadmFiles {
  if (made !== undefined) return made;
  const clusterCa = generateCa();
  const etcdCa = generateCa();
  const sans = ['cp-1', 'localhost', NODE_IP, '127.0.0.1'];
  made = {
    clusterCa,
    etcdCa,
    pairs: [
      ['etc/kubernetes/pki/ca', clusterCa],
      ['etc/kubernetes/pki/etcd/ca', etcdCa],
      ['etc/kubernetes/pki/etcd/server', issueCertificate(etcdCa, { sans, usage: 'both' })],
      ['etc/kubernetes/pki/etcd/peer', issueCertificate(etcdCa, { sans, usage: 'both' })],
      [
        'etc/kubernetes/pki/apiserver-etcd-client',
        issueCertificate(etcdCa, { sans: [], commonName: 'kube-apiserver-etcd-client', usage: 'client' }),
      ],
      ['etc/kubernetes/pki/apiserver', issueCertificate(clusterCa, { sans: ['kubernetes', NODE_IP], usage: 'server' })],
    ],
  };
  return made;
}

/** kubeadm's first control-plane node (stacked etcd): the kubeadm fixtures, a matching PKI. */
export function kubeadmNode(): { host: HostDir; pki: KubeadmPki } {
  const host = new HostDir();
  const files = kubeadmFiles();
  const pki: KubeadmPki = { clusterCa: files.clusterCa, etcdCa: files.etcdCa, issue: issueCertificate };
  host.write('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\netcd:x:998:998::/var/lib/etcd:/usr/sbin/nologin\n', 0o644);
  host.write('etc/group', 'root:x:0:\netcd:x:998:\n', 0o644);
  host.write('etc/kubernetes/manifests/etcd.yaml', host.fixture('kubeadm/etcd.yaml'));
  host.write('etc/kubernetes/manifests/kube-apiserver.yaml', host.fixture('kubeadm/kube-apiserver.yaml'));
  host.dir('etc/kubernetes/pki', 0o755);
  host.dir('etc/kubernetes/pki/etcd', 0o755);
  host.dir('var/lib/etcd', 0o700);
  for (const [path, pair] of files.pairs) host.pair(path, pair);
  return { host, pki };
}
