/**
 * k3s's embedded etcd (src/node/k3s.ts): no etcd process and no static pod — the `k3s server`
 * process runs etcd from the configuration file k3s writes, `<data-dir>/server/db/etcd/config`,
 * with etcd-arg merged in (k3s-io/k3s pkg/daemons/executor/executor.go, ETCDConfig.ToConfigFile). The
 * file below is written as k3s writes it for a server with --cluster-init: our own text, with the
 * keys of k3s's ETCDConfig and the certificate paths of its server/tls/etcd directory
 * (test/fixtures/distributions/SOURCES.md, k3s).
 *   npm run build && npx mocha dist/test/node/k3s.test.js
 */
import { expect } from 'chai';
import { checkNode, nothingFound } from '../../src/node/check.js';
import { configFileArgs, configFileOf, k3sArgs, k3sServerSettings } from '../../src/node/k3s.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import type { ReportFinding, ReportRow } from '../../src/report/report.js';
import { HostDir, NODE_IP } from '../node-host.js';

const PID = 4242;

function k3sEtcdConfig(dataDir: string, clientCertAuth: boolean): string {
  const tls = `${dataDir}/server/tls/etcd`;
  return [
    'advertise-client-urls: https://' + NODE_IP + ':2379',
    `data-dir: ${dataDir}/server/db/etcd`,
    'election-timeout: 5000',
    'heartbeat-interval: 500',
    `initial-advertise-peer-urls: https://${NODE_IP}:2380`,
    `initial-cluster: cp-1-0a1b2c3d=https://${NODE_IP}:2380`,
    'initial-cluster-state: new',
    `listen-client-urls: https://127.0.0.1:2379,https://${NODE_IP}:2379`,
    'listen-metrics-urls: http://127.0.0.1:2381',
    `listen-peer-urls: https://127.0.0.1:2380,https://${NODE_IP}:2380`,
    'log-outputs:',
    '- stderr',
    'logger: zap',
    'name: cp-1-0a1b2c3d',
    'client-transport-security:',
    `  cert-file: ${tls}/server-client.crt`,
    `  client-cert-auth: ${String(clientCertAuth)}`,
    `  key-file: ${tls}/server-client.key`,
    `  trusted-ca-file: ${tls}/server-ca.crt`,
    'peer-transport-security:',
    `  cert-file: ${tls}/peer-server-client.crt`,
    '  client-cert-auth: true',
    `  key-file: ${tls}/peer-server-client.key`,
    `  trusted-ca-file: ${tls}/peer-ca.crt`,
    'snapshot-count: 10000',
    '',
  ].join('\n');
}

/** A node whose /proc shows one k3s process with this argv; its root is the host's. */
function k3sNode(argv: readonly string[]): HostDir {
  const host = new HostDir();
  host.write(`proc/${PID}/cmdline`, `${argv.join('\u0000')}\u0000`, 0o444);
  host.write(`proc/${PID}/environ`, 'PATH=/usr/local/bin:/usr/bin\u0000', 0o400);
  host.write(`proc/${PID}/status`, 'Name:\tk3s-server\nUid:\t0\t0\t0\t0\n', 0o444);
  host.link(`proc/${PID}/root`, host.root);
  return host;
}

function check(host: HostDir): ReturnType<typeof checkNode> {
  return checkNode({ root: host.root, procDir: host.path('proc'), policy: DEFAULT_POLICY, now: Date.now(), expiryWarningMs: 0 });
}

function finding(rows: readonly ReportRow[], rule: string): ReportFinding {
  const f = rows.find((r) => r.component === 'etcd')?.findings.find((x) => x.rule === rule);
  if (f === undefined) throw new Error(`no ${rule}: ${JSON.stringify(rows.map((r) => r.name))}`);
  return f;
}

describe('k3s: the embedded etcd of a k3s server', () => {
  it('is judged from the configuration k3s writes: client certificates demanded, read from the file', () => {
    const host = k3sNode(['/usr/local/bin/k3s', 'server', '--cluster-init']);
    try {
      host.write('var/lib/rancher/k3s/server/db/etcd/config', k3sEtcdConfig('/var/lib/rancher/k3s', true));
      const { rows } = check(host);
      expect(rows.map((r) => [r.kind, r.name, r.component])).to.deep.equal([
        ['Process', `k3s server (pid ${PID})`, 'etcd'],
        ['Process', `k3s server (pid ${PID})`, 'kube-apiserver'],
      ]);
      const f = finding(rows, 'etcd-client-cert-auth');
      expect(f.status).to.equal('pass');
      expect(f.evidence).to.deep.equal(['client-transport-security.client-cert-auth: true (/var/lib/rancher/k3s/server/db/etcd/config)']);
      expect(finding(rows, 'etcd-client-tls').status).to.equal('pass');
      // One member in initial-cluster (--cluster-init): the peer rules wait for a second server.
      expect(finding(rows, 'etcd-peer-client-cert-auth').status).to.equal('not-applicable');
    } finally {
      host.remove();
    }
  });

  it('a failing TLS setting is not sent to etcd-arg (etcd ignores TLS keys at the top level, where k3s puts an etcd-arg): restart k3s', () => {
    const host = k3sNode(['/usr/local/bin/k3s', 'server']);
    try {
      host.write('var/lib/rancher/k3s/server/db/etcd/config', k3sEtcdConfig('/var/lib/rancher/k3s', false));
      const f = finding(check(host).rows, 'etcd-client-cert-auth');
      expect(f.status).to.equal('fail');
      expect(f.remediation).to.equal(
        'Set --client-cert-auth=true in /var/lib/rancher/k3s/server/db/etcd/config, which k3s rewrites at every start: it writes the client-transport-security and peer-transport-security keys itself (its own certificates, client-cert-auth: true), and an etcd-arg cannot change them (it becomes a top-level key, where etcd ignores TLS settings); remove what set the value — an etcd-arg in /etc/rancher/k3s/config.yaml for a top-level key such as listen-client-urls, or a hand edit of the file — and restart k3s',
      );
    } finally {
      host.remove();
    }
  });

  it('an etcd-arg lands at the top of the file k3s writes: etcd ignores a TLS key there (the model says so, as etcd does)', () => {
    const host = k3sNode(['/usr/local/bin/k3s', 'server']);
    try {
      // What `--etcd-arg=client-cert-auth=false` makes of k3s's file: the nested key k3s wrote stays.
      host.write('var/lib/rancher/k3s/server/db/etcd/config', `${k3sEtcdConfig('/var/lib/rancher/k3s', true)}client-cert-auth: false\n`);
      const f = finding(check(host).rows, 'etcd-client-cert-auth');
      expect(f.status, f.message).to.equal('pass');
    } finally {
      host.remove();
    }
  });

  it('the data directory: --data-dir beats the configuration files; config.yaml.d files override config.yaml in name order', () => {
    const dataDir = (args: string[], configs: string[] = []): string => k3sServerSettings(args, configs).dataDir;
    expect(dataDir(['--cluster-init', '-d', '/srv/k3s'])).to.equal('/srv/k3s');
    expect(dataDir(['--data-dir=/a', '--data-dir', '/b'])).to.equal('/b');
    // Go's flag package, as urfave/cli uses it: one dash or two, and the alias and the name are one flag.
    expect(dataDir(['-data-dir', '/c'])).to.equal('/c');
    expect(dataDir(['--data-dir=/a', '-d=/d'])).to.equal('/d');
    expect(dataDir(['-d', '/d', '--data-dir', '/a'])).to.equal('/a');
    expect(dataDir([], ['data-dir: /from-config\n', 'token: x\n', 'data-dir: /from-drop-in\n'])).to.equal('/from-drop-in');
    expect(dataDir(['--data-dir', '/from-cli'], ['data-dir: /from-config\n'])).to.equal('/from-cli');
    expect(dataDir([], ['write-kubeconfig-mode: "0644"\n'])).to.equal('/var/lib/rancher/k3s');
    // $K3S_DATA_DIR where the arguments and files leave it unset.
    expect(k3sServerSettings([], [], new Map([['K3S_DATA_DIR', '/env']])).dataDir).to.equal('/env');
    expect(k3sServerSettings([], ['data-dir: /file\n'], new Map([['K3S_DATA_DIR', '/env']])).dataDir).to.equal('/file');

    const host = k3sNode(['/usr/local/bin/k3s', 'server']);
    try {
      host.write('etc/rancher/k3s/config.yaml', 'data-dir: /opt/first\n', 0o600);
      host.write('etc/rancher/k3s/config.yaml.d/50-storage.yaml', 'data-dir: /opt/k3s\n', 0o600);
      host.write('opt/k3s/server/db/etcd/config', k3sEtcdConfig('/opt/k3s', true));
      expect(finding(check(host).rows, 'etcd-client-cert-auth').evidence).to.deep.equal([
        'client-transport-security.client-cert-auth: true (/opt/k3s/server/db/etcd/config)',
      ]);
    } finally {
      host.remove();
    }
  });

  it('a k3s server on SQLite, and a k3s agent: nothing to judge, and the warning says why', () => {
    for (const [argv, note] of [
      [['/usr/local/bin/k3s', 'server'], `k3s server (pid ${PID}) without embedded etcd: no /var/lib/rancher/k3s/server/db/etcd/config`],
      [
        ['/usr/local/bin/k3s', 'agent', '--server', 'https://10.0.0.10:6443'],
        `k3s agent (pid ${PID}): an agent node runs no etcd or kube-apiserver`,
      ],
    ] as const) {
      const host = k3sNode(argv);
      try {
        const result = check(host);
        expect(result.rows).to.deep.equal([]);
        expect(nothingFound(result)).to.contain(note);
      } finally {
        host.remove();
      }
    }
  });

  it('k3s’s configuration files become flags before the command line’s: a later file replaces a key, key+ appends, lists give a flag each', () => {
    expect(
      configFileArgs([
        'kube-apiserver-arg: [a=1, b=2]\ndata-dir: /x\ncluster-init: true\n',
        'kube-apiserver-arg+: c=3\n',
        'data-dir: /y\n',
      ]),
    ).to.deep.equal([
      '--kube-apiserver-arg=a=1',
      '--kube-apiserver-arg=b=2',
      '--kube-apiserver-arg=c=3',
      '--data-dir=/y',
      '--cluster-init=true',
    ]);
    expect(configFileArgs(['kube-apiserver-arg: [a=1]\n', 'kube-apiserver-arg: b=2\n'])).to.deep.equal(['--kube-apiserver-arg=b=2']);
    // The files' entries come first, then the command line's.
    expect(
      k3sServerSettings(['--kube-apiserver-arg', 'etcd-cafile=/cli.crt'], ['kube-apiserver-arg: [etcd-cafile=/file.crt]\n'])
        .kubeApiserverArgs,
    ).to.deep.equal(['etcd-cafile=/file.crt', 'etcd-cafile=/cli.crt']);
  });

  it('the configuration file: $K3S_CONFIG_FILE, then --config/-c, then /etc/rancher/k3s/config.yaml', () => {
    expect(configFileOf([], new Map())).to.equal('/etc/rancher/k3s/config.yaml');
    expect(configFileOf(['-c', '/srv/k3s.yaml'], new Map())).to.equal('/srv/k3s.yaml');
    expect(configFileOf(['--config=/srv/k3s.yaml'], new Map([['K3S_CONFIG_FILE', '/env.yaml']]))).to.equal('/env.yaml');
  });

  it('kube-apiserver’s flags as k3s builds them (GetArgs): a key replaces the default, repeats accumulate, key+ appends, key- prepends, sorted', () => {
    const defaults = new Map([
      ['etcd-servers', 'https://127.0.0.1:2379'],
      ['etcd-cafile', '/ca.crt'],
    ]);
    expect(k3sArgs(defaults, [])).to.deep.equal(['--etcd-cafile=/ca.crt', '--etcd-servers=https://127.0.0.1:2379']);
    expect(k3sArgs(defaults, ['etcd-cafile=/a', '--etcd-cafile=/b'])).to.deep.equal([
      '--etcd-cafile=/a',
      '--etcd-cafile=/b',
      '--etcd-servers=https://127.0.0.1:2379',
    ]);
    expect(k3sArgs(defaults, ['etcd-servers+=https://10.0.0.5:2379'])).to.deep.equal([
      '--etcd-cafile=/ca.crt',
      '--etcd-servers=https://127.0.0.1:2379',
      '--etcd-servers=https://10.0.0.5:2379',
    ]);
    expect(k3sArgs(defaults, ['etcd-servers-=http://10.0.0.5:2379', 'profiling'])).to.deep.equal([
      '--etcd-cafile=/ca.crt',
      '--etcd-servers=http://10.0.0.5:2379',
      '--etcd-servers=https://127.0.0.1:2379',
      '--profiling=true',
    ]);
  });

  it('the embedded kube-apiserver is judged with k3s’s storage flags: the etcd CA, client certificate and https endpoint k3s gives it', () => {
    const host = k3sNode(['/usr/local/bin/k3s', 'server', '--cluster-init']);
    try {
      host.write('var/lib/rancher/k3s/server/db/etcd/config', k3sEtcdConfig('/var/lib/rancher/k3s', true));
      const rows = check(host).rows;
      const apiserver = rows.find((r) => r.component === 'kube-apiserver');
      const status = (rule: string) => apiserver?.findings.find((f) => f.rule === rule);
      expect(status('apiserver-etcd-cafile')).to.deep.include({ status: 'pass' });
      expect(status('apiserver-etcd-cafile')?.evidence).to.deep.equal([
        '--etcd-cafile=/var/lib/rancher/k3s/server/tls/etcd/server-ca.crt (argv)',
      ]);
      expect(status('apiserver-etcd-client-cert')).to.deep.include({ status: 'pass' });
      expect(status('apiserver-etcd-tls')).to.deep.include({ status: 'pass' });
    } finally {
      host.remove();
    }
  });

  it('a kube-apiserver-arg that sends kube-apiserver to etcd in plaintext fails, and the fix is k3s’s own setting', () => {
    const host = k3sNode(['/usr/local/bin/k3s', 'server', '--cluster-init']);
    try {
      host.write('var/lib/rancher/k3s/server/db/etcd/config', k3sEtcdConfig('/var/lib/rancher/k3s', true));
      host.write('etc/rancher/k3s/config.yaml.d/90-storage.yaml', 'kube-apiserver-arg:\n- etcd-servers=http://127.0.0.1:2399\n', 0o600);
      const f = check(host)
        .rows.find((r) => r.component === 'kube-apiserver')
        ?.findings.find((x) => x.rule === 'apiserver-etcd-tls');
      expect(f?.status).to.equal('fail');
      expect(f?.remediation).to.contain(
        '/etc/rancher/k3s/config.yaml (or a file of /etc/rancher/k3s/config.yaml.d/) as kube-apiserver-arg, then restart k3s',
      );
    } finally {
      host.remove();
    }
  });
});
