import { expect } from 'chai';
import { etcdMembership, readEtcdConfig, validateEtcdUrls } from '../../src/program-config/etcd.js';
import { findInvocations } from '../../src/launch/invocation.js';
import type { EnvFromSource, EnvVar } from '../../src/launch/pod.js';
import type { ProgramConfig } from '../../src/program-config/settings.js';
import { etcdPod, KUBEADM_ETCD_FLAGS } from '../helpers.js';

function config(args: readonly string[], env: EnvVar[] = [], envFrom?: EnvFromSource[]): ProgramConfig {
  const pod = etcdPod(args, { env, ...(envFrom !== undefined ? { envFrom } : {}) });
  const c = pod.spec.containers[0];
  if (c === undefined) throw new Error('no container');
  const [inv] = findInvocations(pod, c);
  if (inv === undefined) throw new Error('no etcd found');
  return readEtcdConfig(inv);
}

const B = [
  '--listen-client-urls=https://127.0.0.1:2379',
  '--advertise-client-urls=https://127.0.0.1:2379',
  '--cert-file=/c',
  '--key-file=/k',
];

describe('etcd environment and config file (etcdmain + pkg/flags)', () => {
  it('ETCD_CLIENT_CERT_AUTH=true is used when the flag is absent from argv', () => {
    const s = config(B, [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'true' }]).get('client-cert-auth');
    expect(s).to.deep.include({ state: 'set', value: 'true', source: 'env', envName: 'ETCD_CLIENT_CERT_AUTH' });
  });
  it('the same setting in argv and env makes etcd refuse to start, even when they agree (measured)', () => {
    const c = config([...B, '--client-cert-auth=true'], [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'true' }]);
    expect(c.refusal).to.contain('conflicting environment variable "ETCD_CLIENT_CERT_AUTH" is shadowed');
  });
  it('an empty ETCD_ variable next to the argv flag still conflicts (measured on 3.4.23)', () => {
    const c = config([...B, '--client-cert-auth=true'], [{ name: 'ETCD_CLIENT_CERT_AUTH', value: '' }]);
    expect(c.refusal).to.contain('conflicting environment variable');
  });
  it('an empty ETCD_ variable alone is ignored (measured: "unrecognized environment variable")', () => {
    const c = config(B, [{ name: 'ETCD_CLIENT_CERT_AUTH', value: '' }]);
    expect(c.refusal).to.equal(undefined);
    expect(c.get('client-cert-auth').state).to.equal('absent');
  });
  it('ETCD_CLIENT_CERT_AUTH=yes makes etcd refuse to start (measured: invalid value "yes" for ETCD_CLIENT_CERT_AUTH)', () => {
    expect(config(B, [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'yes' }]).refusal).to.equal(
      'invalid value "yes" for ETCD_CLIENT_CERT_AUTH: parse error',
    );
  });
  it('lower-case etcd_client_cert_auth is not read (measured)', () => {
    expect(config(B, [{ name: 'etcd_client_cert_auth', value: 'true' }]).get('client-cert-auth').state).to.equal('absent');
  });
  it('a Secret-backed ETCD_ variable is unknown', () => {
    const s = config(B, [{ name: 'ETCD_CLIENT_CERT_AUTH', valueFrom: { secretKeyRef: { name: 'x', key: 'y' } } }]).get('client-cert-auth');
    expect(s).to.deep.equal({ flag: 'client-cert-auth', state: 'unknown', reason: 'ETCD_CLIENT_CERT_AUTH comes from secretKeyRef x/y' });
  });
  it('a flag absent from argv is unknown when envFrom could set it', () => {
    expect(config(B, [], [{ configMapRef: { name: 'etcd' } }]).opaque).to.contain('ETCD_CONFIG_FILE');
  });
  it('an argv flag is not taken as conflicting with what envFrom might hold', () => {
    const c = config(
      [...B, '--config-file='],
      [{ name: 'ETCD_CONFIG_FILE', value: '' }],
      [{ prefix: 'ETCD_', configMapRef: { name: 'etcd' } }],
    );
    expect(c.refusal).to.contain('conflicting environment variable "ETCD_CONFIG_FILE"');
  });
  it('--config-file replaces every other flag and variable: all settings unknown', () => {
    const c = config([...B, '--config-file=/etc/etcd/etcd.conf.yml', '--client-cert-auth=true']);
    expect(c.refusal).to.equal(undefined);
    expect(c.get('client-cert-auth').state).to.equal('unknown');
    expect(c.opaque).to.contain('/etc/etcd/etcd.conf.yml');
  });
  it('the last --config-file wins (measured)', () => {
    expect(config(['--config-file=/a.yml', '--config-file=/b.yml']).opaque).to.contain('/b.yml');
  });
  it('ETCD_CONFIG_FILE is used when --config-file is absent (measured)', () => {
    expect(config(B, [{ name: 'ETCD_CONFIG_FILE', value: '/etc/etcd/c.yml' }]).opaque).to.contain('/etc/etcd/c.yml (ETCD_CONFIG_FILE)');
  });
  it('argv is still parsed with a config file: `--client-cert-auth true` still refuses (measured)', () => {
    expect(config(['--config-file=/c.yml', '--client-cert-auth', 'true']).refusal).to.contain("'true' is not a valid flag");
  });
  it('with a config file, env never conflicts with argv (measured: starts)', () => {
    const c = config(['--config-file=/c.yml', '--client-cert-auth'], [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'yes' }]);
    expect(c.refusal).to.equal(undefined);
  });
  it('https client URL without cert/key refuses to start (measured)', () => {
    const c = config(['--listen-client-urls=https://127.0.0.1:2379', '--advertise-client-urls=https://127.0.0.1:2379']);
    expect(c.refusal).to.equal(
      'TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme',
    );
  });
  it('https client URL without cert/key but with --auto-tls starts (measured)', () => {
    expect(
      config(['--listen-client-urls=https://127.0.0.1:2379', '--advertise-client-urls=https://127.0.0.1:2379', '--auto-tls']).refusal,
    ).to.equal(undefined);
  });
  it('https peer URL without peer cert/key refuses to start (measured)', () => {
    expect(config([...B, '--listen-peer-urls=https://127.0.0.1:2380']).refusal).to.contain(
      'cannot listen on TLS for https://127.0.0.1:2380',
    );
  });
  it('--listen-client-urls without --advertise-client-urls refuses to start (measured)', () => {
    expect(config(['--listen-client-urls=http://127.0.0.1:2379']).refusal).to.equal(
      '--advertise-client-urls is required when --listen-client-urls is set explicitly',
    );
  });
  it('ETCD_ADVERTISE_CLIENT_URLS satisfies that (measured)', () => {
    expect(
      config(['--listen-client-urls=http://127.0.0.1:2379'], [{ name: 'ETCD_ADVERTISE_CLIENT_URLS', value: 'http://127.0.0.1:2379' }])
        .refusal,
    ).to.equal(undefined);
  });
  it('--version prints and exits: etcd does not serve', () => {
    expect(config(['--version']).exits).to.contain('--version');
  });
  it("an absent flag takes etcd's default", () => {
    expect(config(B).get('listen-peer-urls')).to.deep.equal({
      flag: 'listen-peer-urls',
      state: 'absent',
      defaultValue: 'http://localhost:2380',
    });
  });
  it('the kubeadm flags parse without refusal', () => {
    expect(config(KUBEADM_ETCD_FLAGS).refusal).to.equal(undefined);
  });
  it('ETCD_VERSION is not read as --version (etcd 3.5 unsets it)', () => {
    expect(config(B, [{ name: 'ETCD_VERSION', value: 'true' }]).exits).to.equal(undefined);
  });
});

describe('etcd URL flags (types.NewURLs)', () => {
  const cases: Array<[string, string | undefined]> = [
    ['https://127.0.0.1:2379', undefined],
    ['https://127.0.0.1:2379,http://[::1]:2379', undefined],
    ['unixs://localhost:2379', undefined],
    ['https://127.0.0.1:2379/x', 'URL must not contain a path: https://127.0.0.1:2379/x'],
    ['ftp://127.0.0.1:2379', 'URL scheme must be http, https, unix, or unixs: ftp://127.0.0.1:2379'],
    ['https://127.0.0.1', 'URL address does not have the form "host:port": https://127.0.0.1'],
    ['127.0.0.1:2379', 'URL scheme must be http, https, unix, or unixs: 127.0.0.1:2379'],
  ];
  for (const [input, error] of cases) {
    it(`${input} → ${error ?? 'valid'}`, () => {
      expect(validateEtcdUrls(input)).to.equal(error);
    });
  }
  it('an invalid URL refuses at flag parsing (measured: listen URL with a path exits 2)', () => {
    expect(config(['--listen-client-urls=http://127.0.0.1:2379/x']).refusal).to.contain('URL must not contain a path');
  });
});

const ROUTABLE_PEERS = '--listen-peer-urls=https://10.0.0.1:2380';
const FIELD = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

describe('etcd membership', () => {
  const cases: Array<{ name: string; args: string[]; env?: EnvVar[]; kind: string }> = [
    { name: 'one member in --initial-cluster', args: ['--initial-cluster=a=https://1.1.1.1:2380'], kind: 'single' },
    { name: 'three members', args: ['--initial-cluster=a=https://1:2380,b=https://2:2380,c=https://3:2380'], kind: 'cluster' },
    { name: 'one member with two peer URLs is one member', args: ['--initial-cluster=a=https://1:2380,a=https://2:2380'], kind: 'single' },
    {
      name: 'from ETCD_INITIAL_CLUSTER',
      args: [],
      env: [{ name: 'ETCD_INITIAL_CLUSTER', value: 'a=https://1:2380,b=https://2:2380' }],
      kind: 'cluster',
    },
    // Measured on etcd 3.4.23: with --name and no --initial-cluster it bootstraps a one-member cluster of itself.
    { name: 'absent, peers on a routable address: single (etcd bootstraps a cluster of itself)', args: [ROUTABLE_PEERS], kind: 'single' },
    {
      name: 'absent with --initial-cluster-state=existing: undetermined (it joins a cluster it does not list)',
      args: [ROUTABLE_PEERS, '--initial-cluster-state=existing'],
      kind: 'undetermined',
    },
    { name: 'absent, peers on the default http://localhost:2380: single (no other member can reach it)', args: [], kind: 'single' },
    {
      name: 'peers on 127.0.0.1 and [::1] only: single',
      args: ['--listen-peer-urls=https://127.0.0.1:2380,https://[::1]:2380'],
      kind: 'single',
    },
    {
      name: 'peers on loopback, but --initial-cluster lists three: cluster',
      args: [
        '--listen-peer-urls=http://127.0.0.1:2380',
        '--initial-cluster=a=http://127.0.0.1:2380,b=http://127.0.0.1:2381,c=http://127.0.0.1:2382',
      ],
      kind: 'cluster',
    },
    { name: 'discovery: cluster', args: ['--discovery-srv=example.com'], kind: 'cluster' },
    {
      name: 'unknown (configMapKeyRef): undetermined',
      args: [ROUTABLE_PEERS],
      env: [{ name: 'ETCD_INITIAL_CLUSTER', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }],
      kind: 'undetermined',
    },
    {
      name: '$(NODE_NAME)=https://$(HOST_IP):2380 is one member, though both are only known when the pod runs',
      args: [ROUTABLE_PEERS, '--initial-cluster=$(NODE_NAME)=https://$(HOST_IP):2380'],
      env: [FIELD('NODE_NAME', 'spec.nodeName'), FIELD('HOST_IP', 'status.hostIP')],
      kind: 'single',
    },
    {
      name: 'two entries built from node names and IPs are two members',
      args: [ROUTABLE_PEERS, '--initial-cluster=$(NODE_NAME)=https://$(HOST_IP):2380,cp-2=https://10.0.0.2:2380'],
      env: [FIELD('NODE_NAME', 'spec.nodeName'), FIELD('HOST_IP', 'status.hostIP')],
      kind: 'cluster',
    },
    {
      name: 'status.podIPs (a comma-separated list) keeps the count unknown',
      args: [ROUTABLE_PEERS, '--initial-cluster=a=https://$(IPS):2380'],
      env: [FIELD('IPS', 'status.podIPs')],
      kind: 'undetermined',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(etcdMembership(config(c.args, c.env)).kind).to.equal(c.kind);
    });
  }
});
