import { expect } from 'chai';
import type { EnvValue } from '../../src/launch/word.js';
import { expandKubernetesReferences } from '../../src/launch/expand.js';
import { findInvocations } from '../../src/launch/invocation.js';
import { podWith } from '../helpers.js';

const vars: Record<string, EnvValue> = {
  NAME: { state: 'known', value: 'cp-1', origin: 'env' },
  EMPTY: { state: 'known', value: '', origin: 'env' },
  SECRET: { state: 'unknown', reason: 'comes from secretKeyRef s/k' },
};
const lookup = (n: string): EnvValue | undefined => vars[n];

describe('$(VAR) expansion (k8s third_party/forked/golang/expansion)', () => {
  const cases: Array<{ name: string; input: string; text: string; unknownAt?: number }> = [
    { name: 'replaces a defined variable', input: '--name=$(NAME)', text: '--name=cp-1' },
    { name: 'replaces with an empty value', input: 'a$(EMPTY)b', text: 'ab' },
    { name: 'keeps an undefined reference as written', input: '--x=$(NOPE)', text: '--x=$(NOPE)' },
    { name: '$$ escapes a dollar', input: '$$(NAME)', text: '$(NAME)' },
    { name: '$$$(NAME) is a dollar then the value', input: '$$$(NAME)', text: '$cp-1' },
    { name: 'a lone $ stays', input: 'cost$', text: 'cost$' },
    { name: '$ before another character stays', input: '$NAME and ${NAME}', text: '$NAME and ${NAME}' },
    { name: 'an unterminated $( stays literal', input: '--x=$(NAME', text: '--x=$(NAME' },
    { name: 'several references in one string', input: '$(NAME)-$(NAME)', text: 'cp-1-cp-1' },
    { name: 'empty name is undefined and kept', input: '$()', text: '$()' },
    {
      name: 'a Secret-backed value is unknown from where it starts',
      input: '--client-cert-auth=$(SECRET)',
      text: '--client-cert-auth=$(SECRET)',
      unknownAt: 19,
    },
    { name: 'text without $ is unchanged', input: '--client-cert-auth=true', text: '--client-cert-auth=true' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const w = expandKubernetesReferences(c.input, lookup);
      expect(w.text).to.equal(c.text);
      expect(w.unknown?.at).to.equal(c.unknownAt);
    });
  }

  it('names the variable, never its value, when unknown', () => {
    const w = expandKubernetesReferences('$(SECRET)', lookup);
    expect(w.unknown?.reason).to.equal('$(SECRET) comes from secretKeyRef s/k');
  });

  it('a value doubled through 40 env entries is bounded: the reference past the bound is unknown (it was a crash)', () => {
    const env = [{ name: 'A0', value: 'x' }];
    for (let i = 1; i <= 40; i++) env.push({ name: `A${i}`, value: `$(A${i - 1})$(A${i - 1})` });
    const c = { name: 'etcd', image: 'registry.k8s.io/etcd:3.5.15-0', command: ['etcd', '--name=$(A40)'], env };
    const [inv] = findInvocations(podWith({}, [c]), c);
    expect(inv?.args[0]?.unknown?.reason).to.match(/longer than \d+ characters/);
  });
});
