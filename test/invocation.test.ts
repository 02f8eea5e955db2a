import { expect } from 'chai';
import { findInvocations, imageRepository } from '../src/core/invocation.js';
import type { Container } from '../src/core/pod.js';
import { container, podWith } from './helpers.js';

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
    { name: 'command[0] is a path to etcd, args follow command', container: { command: ['/usr/local/bin/etcd'], args: ['--a'] }, expect: [{ component: 'etcd', args: ['--a'] }] },
    { name: 'kube-apiserver by basename', container: { command: ['/usr/local/bin/kube-apiserver', '--x=1'] }, expect: [{ component: 'kube-apiserver', args: ['--x=1'] }] },
    { name: 'etcdctl is not etcd', container: { command: ['etcdctl', 'get', 'x'] }, expect: [] },
    { name: 'an unrelated program', container: { command: ['nginx'], image: 'nginx' }, expect: [] },
    { name: 'hyperkube kube-apiserver', container: { command: ['/hyperkube', 'kube-apiserver', '--x'] }, expect: [{ component: 'kube-apiserver', args: ['--x'] }] },
    { name: 'go-runner with its own flags', container: { command: ['/go-runner', '--log-file=/var/log/etcd.log', '--also-stdout', 'etcd', '--a'] }, expect: [{ component: 'etcd', args: ['--a'] }] },
    { name: 'env NAME=VALUE wrapper', container: { command: ['env', 'ETCD_AUTO_TLS=true', 'etcd', '--a'] }, expect: [{ component: 'etcd', args: ['--a'] }] },
    { name: 'sh -c script with exec', container: { command: ['sh', '-c', 'exec etcd --a "--b=c d"'] }, expect: [{ component: 'etcd', args: ['--a', '--b=c d'] }] },
    { name: 'bash -ec combined options', container: { command: ['/bin/bash', '-ec', 'sleep 1 && etcd --a'] }, expect: [{ component: 'etcd', args: ['--a'] }] },
    { name: 'sh -c with "$@" and $0', container: { command: ['sh', '-c', 'exec etcd "$@"', 'etcd-wrapper', '--a=1'] }, expect: [{ component: 'etcd', args: ['--a=1'] }] },
    { name: 'sh running a script file in an unrelated image is not ours', container: { image: 'alpine:3.20', command: ['sh', '/scripts/start.sh'] }, expect: [] },
    { name: 'etcd --version && exec etcd: both runs are found', container: { command: ['sh', '-c', 'etcd --version && exec etcd --a'] }, expect: [{ component: 'etcd', args: ['--version'] }, { component: 'etcd', args: ['--a'] }] },
    { name: 'registry.k8s.io/etcd with args only: go-runner runs args[0]', container: { image: 'registry.k8s.io/etcd:3.5.15-0', args: ['etcd', '--a'] }, expect: [{ component: 'etcd', args: ['--a'] }] },
    { name: 'quay.io/coreos/etcd with nothing: CMD /usr/local/bin/etcd', container: { image: 'quay.io/coreos/etcd:v3.5.15' }, expect: [{ component: 'etcd', args: [] }] },
    { name: 'an image without ENTRYPOINT runs args as the command', container: { image: 'alpine:3.20', args: ['etcd', '--a'] }, expect: [{ component: 'etcd', args: ['--a'] }] },
    { name: 'registry.k8s.io/kube-apiserver with args', container: { image: 'registry.k8s.io/kube-apiserver:v1.31.2', args: ['kube-apiserver', '--x'] }, expect: [{ component: 'kube-apiserver', args: ['--x'] }] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(found(c.container).map(({ component, args }) => ({ component, args }))).to.deep.equal(c.expect);
    });
  }

  it('$(VAR) in command and args is expanded from env before anything else', () => {
    const [inv] = found({ command: ['$(BIN)', '--name=$(NAME)'], env: [{ name: 'BIN', value: 'etcd' }, { name: 'NAME', value: 'cp-1' }] });
    expect(inv?.args).to.deep.equal(['--name=cp-1']);
  });

  it('env -u removes a variable and env -i clears the environment (unset is not the same as empty)', () => {
    const c = { ...container({}), command: ['env', '-u', 'ETCD_CLIENT_CERT_AUTH', 'etcd'], env: [{ name: 'ETCD_CLIENT_CERT_AUTH', value: '' }, { name: 'ETCD_AUTO_TLS', value: 'true' }] } as Container;
    const [inv] = findInvocations(podWith({}, [c]), c);
    expect(inv?.env.get('ETCD_CLIENT_CERT_AUTH')).to.equal(undefined);
    expect(inv?.env.get('ETCD_AUTO_TLS')).to.include({ value: 'true' });
    const cleared = { ...c, command: ['env', '-i', 'ETCD_NAME=x', 'etcd'] } as Container;
    const [inv2] = findInvocations(podWith({}, [cleared]), cleared);
    expect(inv2?.env.get('ETCD_AUTO_TLS')).to.equal(undefined);
    expect(inv2?.env.get('ETCD_NAME')).to.include({ value: 'x' });
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
    const [inv] = found({ command: ['sh', '-c', '$(SCRIPT) etcd --a'], env: [{ name: 'SCRIPT', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] });
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
