/**
 * The YAML of the Go programs' configuration files (src/program-config/go-yaml.ts): what go-yaml v2
 * gives etcd, the kubelet, k3s and OpenShift's API server, measured for etcd in test/program-config/etcd-binary.test.ts.
 */
import { expect } from 'chai';
import { readGoYaml } from '../../src/program-config/go-yaml.js';

describe('go-yaml: configuration files as the Go programs read them', () => {
  const value = (text: string): unknown => {
    const r = readGoYaml(text);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  };

  it('YAML 1.1 scalars: yes and on are booleans', () => {
    expect(value('a: yes\nb: on\nc: "yes"\n')).to.deep.equal({ a: true, b: true, c: 'yes' });
  });

  it('a repeated key: the last wins, as go-yaml v2 fills a map', () => {
    expect(value('staticPodPath: /a\nstaticPodPath: /b\n')).to.deep.equal({ staticPodPath: '/b' });
  });

  it('a timestamp stays its text (go-yaml v2 into interface{})', () => {
    expect(value('initial-cluster-token: 2001-12-14\n')).to.deep.equal({ 'initial-cluster-token': '2001-12-14' });
  });

  it('merge keys are merged', () => {
    expect(value('base: &b {x: 1}\nuse: {<<: *b, z: 2}\n')).to.deep.include({ use: { x: 1, z: 2 } });
  });

  it('an empty file is null; invalid YAML and an alias bomb are errors with the first line of the reason', () => {
    expect(readGoYaml('')).to.deep.equal({ ok: true, value: null });
    const invalid = readGoYaml('a: [\n');
    expect(invalid.ok).to.equal(false);
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${'bcdefghi'[i] ?? ''}: &${'bcdefghi'[i] ?? ''} [${Array(10)
            .fill(`*${'abcdefgh'[i] ?? ''}`)
            .join(', ')}]`,
      ),
    ].join('\n');
    const r = readGoYaml(bomb);
    expect(r.ok).to.equal(false);
    expect(!r.ok && r.error).to.not.include('\n');
  });
});
