import { expect } from 'chai';
import { findInvocations, imageRepository } from '../../src/launch/invocation.js';
import type { Container } from '../../src/launch/pod.js';
import { container, podWith } from '../helpers.js';

function found(c: Partial<Container>): Array<{ component: string; args: string[]; origin: string; opaque?: string; startError?: string }> {
  const full = { ...container({}), ...c };
  return findInvocations(podWith({}, [full]), full).map((i) => ({
    component: i.component,
    args: i.args.map((w) => w.text),
    origin: i.origin,
    ...(i.opaque !== undefined ? { opaque: i.opaque } : {}),
    ...(i.startError !== undefined ? { startError: i.startError } : {}),
  }));
}

describe('which containers run etcd or kube-apiserver', () => {
  const cases: Array<{ name: string; container: Partial<Container>; expect: Array<{ component: string; args: string[] }> }> = [
    { name: 'command[0] is etcd', container: { command: ['etcd', '--a'] }, expect: [{ component: 'etcd', args: ['--a'] }] },
    {
      name: 'command[0] is a path to etcd, args follow command',
      container: { command: ['/usr/local/bin/etcd'], args: ['--a'] },
      expect: [{ component: 'etcd', args: ['--a'] }],
    },
    {
      name: 'kube-apiserver by basename',
      container: { command: ['/usr/local/bin/kube-apiserver', '--x=1'] },
      expect: [{ component: 'kube-apiserver', args: ['--x=1'] }],
    },
    { name: 'etcdctl is not etcd', container: { command: ['etcdctl', 'get', 'x'] }, expect: [] },
    { name: 'an unrelated program', container: { command: ['nginx'], image: 'nginx' }, expect: [] },
    {
      name: 'hyperkube kube-apiserver',
      container: { command: ['/hyperkube', 'kube-apiserver', '--x'] },
      expect: [{ component: 'kube-apiserver', args: ['--x'] }],
    },
    {
      name: 'go-runner with its own flags',
      container: { command: ['/go-runner', '--log-file=/var/log/etcd.log', '--also-stdout', 'etcd', '--a'] },
      expect: [{ component: 'etcd', args: ['--a'] }],
    },
    {
      name: 'env NAME=VALUE wrapper',
      container: { command: ['env', 'ETCD_AUTO_TLS=true', 'etcd', '--a'] },
      expect: [{ component: 'etcd', args: ['--a'] }],
    },
    {
      name: 'sh -c script with exec',
      container: { command: ['sh', '-c', 'exec etcd --a "--b=c d"'] },
      expect: [{ component: 'etcd', args: ['--a', '--b=c d'] }],
    },
    {
      name: 'bash -ec combined options',
      container: { command: ['/bin/bash', '-ec', 'sleep 1 && etcd --a'] },
      expect: [{ component: 'etcd', args: ['--a'] }],
    },
    {
      name: 'sh -c with "$@" and $0',
      container: { command: ['sh', '-c', 'exec etcd "$@"', 'etcd-wrapper', '--a=1'] },
      expect: [{ component: 'etcd', args: ['--a=1'] }],
    },
    {
      name: 'sh running a script file in an unrelated image is not ours',
      container: { image: 'alpine:3.20', command: ['sh', '/scripts/start.sh'] },
      expect: [],
    },
    {
      name: 'etcd --version && exec etcd: both runs are found',
      container: { command: ['sh', '-c', 'etcd --version && exec etcd --a'] },
      expect: [
        { component: 'etcd', args: ['--version'] },
        { component: 'etcd', args: ['--a'] },
      ],
    },
    {
      name: 'registry.k8s.io/etcd with args only: go-runner runs args[0]',
      container: { image: 'registry.k8s.io/etcd:3.5.15-0', args: ['etcd', '--a'] },
      expect: [{ component: 'etcd', args: ['--a'] }],
    },
    {
      name: 'quay.io/coreos/etcd with nothing: CMD /usr/local/bin/etcd',
      container: { image: 'quay.io/coreos/etcd:v3.5.15' },
      expect: [{ component: 'etcd', args: [] }],
    },
    {
      name: 'an image without ENTRYPOINT runs args as the command',
      container: { image: 'alpine:3.20', args: ['etcd', '--a'] },
      expect: [{ component: 'etcd', args: ['--a'] }],
    },
    {
      name: 'registry.k8s.io/kube-apiserver with args',
      container: { image: 'registry.k8s.io/kube-apiserver:v1.31.2', args: ['kube-apiserver', '--x'] },
      expect: [{ component: 'kube-apiserver', args: ['--x'] }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(found(c.container).map(({ component, args }) => ({ component, args }))).to.deep.equal(c.expect);
    });
  }

  it('$(VAR) in command and args is expanded from env before anything else', () => {
    const [inv] = found({
      command: ['$(BIN)', '--name=$(NAME)'],
      env: [
        { name: 'BIN', value: 'etcd' },
        { name: 'NAME', value: 'cp-1' },
      ],
    });
    expect(inv?.args).to.deep.equal(['--name=cp-1']);
  });

  it('env -u removes a variable and env -i clears the environment (unset is not the same as empty)', () => {
    const c = {
      ...container({}),
      command: ['env', '-u', 'ETCD_CLIENT_CERT_AUTH', 'etcd'],
      env: [
        { name: 'ETCD_CLIENT_CERT_AUTH', value: '' },
        { name: 'ETCD_AUTO_TLS', value: 'true' },
      ],
    } as Container;
    const [inv] = findInvocations(podWith({}, [c]), c);
    expect(inv?.env.get('ETCD_CLIENT_CERT_AUTH')).to.equal(undefined);
    expect(inv?.env.get('ETCD_AUTO_TLS')).to.include({ value: 'true' });
    const cleared = { ...c, command: ['env', '-i', 'ETCD_NAME=x', 'etcd'] } as Container;
    const [inv2] = findInvocations(podWith({}, [cleared]), cleared);
    expect(inv2?.env.get('ETCD_AUTO_TLS')).to.equal(undefined);
    expect(inv2?.env.get('ETCD_NAME')).to.include({ value: 'x' });
  });

  describe('programs that run the real binary: each wrapper read with its own grammar', () => {
    const cases: Array<{ name: string; command: string[]; args: string[] | null; envCleared?: boolean }> = [
      {
        name: 'nice -n -19 (an adjustment of -19, not the obsolete -N form)',
        command: ['nice', '-n', '-19', 'etcd', '--a'],
        args: ['--a'],
      },
      { name: 'nice -19 (obsolete form: one option)', command: ['nice', '-19', 'etcd', '--a'], args: ['--a'] },
      { name: 'nice --adjustment=5', command: ['nice', '--adjustment=5', 'etcd'], args: [] },
      { name: 'ionice -c2 -n0 (attached arguments)', command: ['ionice', '-c2', '-n0', 'etcd', '--a'], args: ['--a'] },
      { name: 'ionice -c 2 -n 0 (separate arguments)', command: ['ionice', '-c', '2', '-n', '0', 'etcd'], args: [] },
      { name: 'ionice -p PID runs no command', command: ['ionice', '-c2', '-p', '1', 'etcd'], args: null },
      { name: 'nice then ionice then etcd', command: ['nice', '-n', '-19', 'ionice', '-c2', '-n0', 'etcd', '--a'], args: ['--a'] },
      { name: 'taskset MASK', command: ['taskset', '0x3', 'etcd', '--a'], args: ['--a'] },
      { name: 'taskset -c LIST', command: ['taskset', '-c', '0-1', 'etcd'], args: [] },
      { name: 'taskset -p is about another process', command: ['taskset', '-p', '0x3', '1'], args: null },
      { name: 'chrt -f PRIORITY', command: ['chrt', '-f', '10', 'etcd', '--a'], args: ['--a'] },
      { name: 'timeout -k 5 DURATION', command: ['timeout', '-k', '5', '30s', 'etcd', '--a'], args: ['--a'] },
      { name: 'timeout --signal=TERM DURATION', command: ['timeout', '--signal=TERM', '1h', 'etcd'], args: [] },
      {
        name: 'setpriv --reuid=1000 --regid 1000 --clear-groups',
        command: ['setpriv', '--reuid=1000', '--regid', '1000', '--clear-groups', 'etcd', '--a'],
        args: ['--a'],
      },
      { name: 'setpriv --reset-env clears the environment', command: ['setpriv', '--reset-env', 'etcd'], args: [], envCleared: true },
      { name: 'su-exec USER', command: ['su-exec', 'etcd:etcd', 'etcd', '--a'], args: ['--a'] },
      { name: 'gosu USER', command: ['gosu', '1000', 'etcd'], args: [] },
      { name: 'tini --', command: ['/sbin/tini', '--', 'etcd', '--a'], args: ['--a'] },
      { name: 'tini -s -p SIGTERM --', command: ['tini', '-s', '-p', 'SIGTERM', '--', 'etcd'], args: [] },
      { name: 'dumb-init -c', command: ['dumb-init', '-c', 'etcd', '--a'], args: ['--a'] },
      { name: 'dumb-init --rewrite 15:2', command: ['dumb-init', '--rewrite', '15:2', 'etcd'], args: [] },
      { name: 'stdbuf -oL -e0', command: ['stdbuf', '-oL', '-e0', 'etcd', '--a'], args: ['--a'] },
      { name: 'numactl --interleave=all', command: ['numactl', '--interleave=all', 'etcd'], args: [] },
      { name: 'numactl -N 0 -m 0', command: ['numactl', '-N', '0', '-m', '0', 'etcd', '--a'], args: ['--a'] },
      { name: 'prlimit --nofile=65536 (attached optional argument)', command: ['prlimit', '--nofile=65536', 'etcd', '--a'], args: ['--a'] },
      { name: 'flock FILE COMMAND', command: ['flock', '-w', '30', '/var/lock/etcd', 'etcd', '--a'], args: ['--a'] },
      { name: 'flock FILE -c "SCRIPT" runs a shell', command: ['flock', '/var/lock/etcd', '-c', 'exec etcd --a'], args: ['--a'] },
      { name: 'flock FD (no command)', command: ['flock', '-w', '30', '9'], args: null },
      {
        name: 'watch-termination … -- COMMAND',
        command: ['watch-termination', '--termination-touch-file=/x', '--graceful-termination-duration=135s', '--', 'etcd', '--a'],
        args: ['--a'],
      },
      {
        name: 'go-runner -log-file PATH (Go flag, separate value)',
        command: ['/go-runner', '-log-file', '/var/log/etcd.log', '--also-stdout=false', 'etcd', '--a'],
        args: ['--a'],
      },
      { name: 'setsid', command: ['setsid', '-w', 'etcd'], args: [] },
      { name: 'catatonit --', command: ['catatonit', '--', 'etcd'], args: [] },
      { name: 'exec -a NAME', command: ['sh', '-c', 'exec -a etcd-x etcd --a'], args: ['--a'] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const full = {
          ...container({ image: 'alpine:3.20' }),
          command: c.command,
          env: [{ name: 'ETCD_AUTO_TLS', value: 'true' }],
        } as Container;
        const found = findInvocations(podWith({}, [full]), full);
        if (c.args === null) {
          expect(found).to.deep.equal([]);
          return;
        }
        expect(found.map((i) => ({ component: i.component, args: i.args.map((w) => w.text) }))).to.deep.equal([
          { component: 'etcd', args: c.args },
        ]);
        expect(found[0]?.env.get('ETCD_AUTO_TLS') === undefined).to.equal(c.envCleared === true);
      });
    }

    it('etcd grpc-proxy and etcd gateway are proxies, not members: the container is not judged as etcd', () => {
      for (const sub of ['grpc-proxy', 'gateway']) {
        const c = {
          ...container({ image: 'registry.k8s.io/etcd:3.5.15-0' }),
          command: ['etcd', sub, 'start', '--endpoints=https://10.0.0.1:2379'],
        } as Container;
        expect(findInvocations(podWith({}, [c]), c)).to.deep.equal([]);
      }
    });

    it('OpenShift 3: `openshift start master api --config=FILE` is kube-apiserver configured by that file', () => {
      const c = {
        ...container({ image: 'openshift/origin:v3.11' }),
        command: ['openshift', 'start', 'master', 'api', '--config=/etc/origin/master/master-config.yaml'],
      } as Container;
      const [inv] = findInvocations(podWith({}, [c]), c);
      expect(inv?.component).to.equal('kube-apiserver');
      expect(inv?.opaque).to.match(/etcdClientInfo\) from the master configuration \/etc\/origin\/master\/master-config\.yaml on the node/);
    });

    it('`openshift start master` (every component) runs the API server too; without --config the message does not invent one', () => {
      const c = {
        ...container({ image: 'openshift/origin:v3.6.0' }),
        command: ['openshift', 'start', 'master', '--loglevel=2'],
      } as Container;
      const [inv] = findInvocations(podWith({}, [c]), c);
      expect(inv?.component).to.equal('kube-apiserver');
      expect(inv?.opaque).to.match(/from its master configuration on the node/);
      const controllers = { ...c, command: ['openshift', 'start', 'master', 'controllers'] } as Container;
      expect(findInvocations(podWith({}, [controllers]), controllers)).to.deep.equal([]);
    });

    it('watch-termination without `--` cannot be followed: unknown, not absent, when the image is an etcd image', () => {
      const c = { ...container({ image: 'registry.k8s.io/etcd:3.5.15-0' }), command: ['watch-termination', '--x=1', 'etcd'] } as Container;
      expect(findInvocations(podWith({}, [c]), c)[0]?.opaque).to.match(/watch-termination runs the command after `--`/);
    });
  });

  it('bitnami/etcd with no command: etcd, but configured by its scripts (opaque)', () => {
    const [inv] = found({ image: 'docker.io/bitnami/etcd:3.5.15' });
    expect(inv?.component).to.equal('etcd');
    expect(inv?.opaque).to.contain('run.sh');
  });

  it('an unknown image named etcd with no command: etcd whose entrypoint is unknown', () => {
    const [inv] = found({ image: 'myregistry.example/etcd:custom', args: ['--a'] });
    expect(inv?.component).to.equal('etcd');
    expect(inv?.opaque).to.contain('entrypoint');
  });

  it('an etcd image running a script file: etcd, whose configuration is not visible', () => {
    const [inv] = found({ command: ['sh', '/scripts/start-etcd.sh'] });
    expect(inv?.component).to.equal('etcd');
    expect(inv?.opaque).to.contain('/scripts/start-etcd.sh');
  });

  it('etcdctl in an etcd image (a backup job) is not etcd', () => {
    expect(found({ command: ['etcdctl', 'snapshot', 'save', '/backup/db'] })).to.deep.equal([]);
  });

  it('a shell syntax error is reported as a start error', () => {
    const [inv] = found({ command: ['sh', '-c', "exec etcd --name='x"] });
    expect(inv?.startError).to.contain('unterminated single quote');
  });

  it('a script built from a Secret is opaque', () => {
    const [inv] = found({
      command: ['sh', '-c', '$(SCRIPT) etcd --a'],
      env: [{ name: 'SCRIPT', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    });
    expect(inv?.opaque).to.contain('secretKeyRef');
  });

  it('init containers are found too', () => {
    expect(found({ command: ['etcd'] })).to.have.length(1);
  });
});

describe('image repository', () => {
  for (const [image, repo] of [
    ['registry.k8s.io/etcd:3.5.15-0', 'registry.k8s.io/etcd'],
    ['localhost:5000/etcd:v1', 'localhost:5000/etcd'],
    ['quay.io/coreos/etcd@sha256:abc', 'quay.io/coreos/etcd'],
    ['etcd', 'etcd'],
  ]) {
    it(`${image} → ${repo}`, () => {
      expect(imageRepository(image as string)).to.equal(repo);
    });
  }
});
