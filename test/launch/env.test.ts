import { expect } from 'chai';
import { containerEnvironment } from '../../src/launch/env.js';
import { container, podWith } from '../helpers.js';

describe('container environment (kubelet makeEnvironmentVariables)', () => {
  const pod = (env: Parameters<typeof container>[0]['env'], envFrom?: Parameters<typeof container>[0]['envFrom']) => {
    const c = container({ env, envFrom });
    return { p: podWith({ nodeName: 'cp-1' }, [c]), c };
  };

  it('a plain value is known', () => {
    const { p, c } = pod([{ name: 'ETCD_NAME', value: 'cp-1' }]);
    expect(containerEnvironment(p, c).get('ETCD_NAME')).to.deep.equal({ state: 'known', value: 'cp-1', origin: 'env' });
  });

  it('an unset variable is absent', () => {
    const { p, c } = pod([]);
    expect(containerEnvironment(p, c).get('ETCD_NAME')).to.equal(undefined);
  });

  it('the last entry of a name wins', () => {
    const { p, c } = pod([
      { name: 'A', value: 'first' },
      { name: 'A', value: 'second' },
    ]);
    expect(containerEnvironment(p, c).get('A')).to.include({ value: 'second' });
  });

  it('a value expands $(VAR) of variables defined before it only', () => {
    const { p, c } = pod([
      { name: 'B', value: '$(A)-x' },
      { name: 'A', value: 'a' },
      { name: 'C', value: '$(A)-y' },
    ]);
    const env = containerEnvironment(p, c);
    expect(env.get('B')).to.include({ value: '$(A)-x' });
    expect(env.get('C')).to.include({ value: 'a-y' });
  });

  it('secretKeyRef and configMapKeyRef values are unknown', () => {
    const { p, c } = pod([
      { name: 'S', valueFrom: { secretKeyRef: { name: 'etcd', key: 'auth' } } },
      { name: 'M', valueFrom: { configMapKeyRef: { name: 'etcd', key: 'auth' } } },
    ]);
    const env = containerEnvironment(p, c);
    expect(env.get('S')).to.deep.equal({ state: 'unknown', reason: 'comes from secretKeyRef etcd/auth' });
    expect(env.get('M')?.state).to.equal('unknown');
  });

  it('fieldRef metadata.name, metadata.namespace and spec.nodeName are known from the pod', () => {
    const { p, c } = pod([
      { name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ]);
    const env = containerEnvironment(p, c);
    expect(env.get('N')).to.include({ value: 'etcd-cp-1' });
    expect(env.get('NS')).to.include({ value: 'kube-system' });
    expect(env.get('NODE')).to.include({ value: 'cp-1' });
    expect(env.get('IP')?.state).to.equal('unknown');
  });

  it('envFrom may set any name it could hold: unknown, and possibly unset', () => {
    const { p, c } = pod([], [{ configMapRef: { name: 'etcd-env' } }]);
    expect(containerEnvironment(p, c).get('ETCD_CLIENT_CERT_AUTH')).to.deep.equal({
      state: 'unknown',
      reason: 'may be set by envFrom configMapRef etcd-env',
      maybeUnset: true,
    });
  });

  it('an envFrom prefix rules out names without it', () => {
    const { p, c } = pod([], [{ prefix: 'APP_', secretRef: { name: 's' } }]);
    const env = containerEnvironment(p, c);
    expect(env.get('ETCD_CLIENT_CERT_AUTH')).to.equal(undefined);
    expect(env.get('APP_X')?.state).to.equal('unknown');
  });

  it('env overrides envFrom', () => {
    const { p, c } = pod([{ name: 'ETCD_AUTO_TLS', value: 'false' }], [{ configMapRef: { name: 'x' } }]);
    expect(containerEnvironment(p, c).get('ETCD_AUTO_TLS')).to.include({ state: 'known', value: 'false' });
  });

  it('service link variables are unknown, not absent', () => {
    const { p, c } = pod([]);
    expect(containerEnvironment(p, c).get('KUBERNETES_SERVICE_HOST')?.state).to.equal('unknown');
    expect(containerEnvironment(p, c).get('ETCD_PORT_2379_TCP_ADDR')?.state).to.equal('unknown');
  });
});
