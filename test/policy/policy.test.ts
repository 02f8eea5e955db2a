import { expect } from 'chai';
import { RULE_IDS } from '../../src/rules/rules.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY, PolicyError, policyFromObject, policyFromText } from '../../src/policy/policy.js';
import { fixturePath } from '../helpers.js';

function problems(doc: unknown): readonly string[] {
  try {
    policyFromObject(doc, 'test.yaml');
  } catch (err) {
    if (err instanceof PolicyError) return err.problems;
    throw err;
  }
  return [];
}

describe('policy configuration', () => {
  it('defaults: every rule enforce, unknown warns, topology auto, kubelet mirror pods audited', () => {
    expect(policyFromObject({})).to.deep.equal(DEFAULT_POLICY);
    expect(policyFromObject(null)).to.deep.equal(DEFAULT_POLICY);
  });

  it('reads the audit-everything example', () => {
    const p = policyFromText(readFileSync(fixturePath('policies/audit-everything.yaml'), 'utf8'), 'audit-everything.yaml');
    expect(p.defaultAction).to.equal('warn');
    expect(p.exemptions[0]).to.deep.equal({
      namespace: 'lab-*',
      name: 'etcd-*',
      reason: 'throwaway etcd in lab namespaces (ticket SEC-1234)',
    });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(policyFromObject({ actions: { 'etcd-auto-tls': 'warn' } }).actions)).to.equal(true);
  });

  const cases: Array<{ name: string; doc: unknown; problems: string[] }> = [
    { name: 'an unknown field', doc: { defaultActon: 'warn' }, problems: ['policy.defaultActon: unknown field'] },
    {
      name: 'a bad defaultAction',
      doc: { defaultAction: 'block' },
      problems: ['policy.defaultAction: must be one of "enforce", "warn", "audit"'],
    },
    {
      name: 'off is not a defaultAction',
      doc: { defaultAction: 'off' },
      problems: ['policy.defaultAction: must be one of "enforce", "warn", "audit"'],
    },
    {
      name: 'an unknown rule id in actions',
      doc: { actions: { 'etcd-client-cert-auht': 'warn' } },
      // Every rule id, in the rule table's order (a new rule needs no change here).
      problems: [
        `policy.actions.etcd-client-cert-auht: unknown name; expected one of ${RULE_IDS.map((id) => JSON.stringify(id)).join(', ')}`,
      ],
    },
    {
      name: 'a bad action',
      doc: { actions: { 'etcd-auto-tls': 'deny' } },
      problems: ['policy.actions.etcd-auto-tls: must be one of "enforce", "warn", "audit", "off"'],
    },
    {
      name: 'an exemption without a reason',
      doc: { exemptions: [{ namespace: 'x' }] },
      problems: ['policy.exemptions[0].reason: required field is missing'],
    },
    {
      name: 'an exemption with a blank reason',
      doc: { exemptions: [{ reason: '  ' }] },
      problems: ['policy.exemptions[0].reason: must match pattern "\\S"'],
    },
    {
      name: 'an exemption by label is not possible',
      doc: { exemptions: [{ reason: 'x', labelSelector: { a: 'b' } }] },
      problems: ['policy.exemptions[0].labelSelector: unknown field'],
    },
    { name: 'a bad topology', doc: { etcdTopology: 'ha' }, problems: ['policy.etcdTopology: must be one of "auto", "single", "cluster"'] },
    {
      name: 'several errors at once',
      doc: { unknownAction: 1, kubeletMirrorPods: 'deny' },
      problems: [
        'policy.unknownAction: must be string',
        'policy.unknownAction: must be one of "enforce", "warn", "audit", "off"',
        'policy.kubeletMirrorPods: must be one of "audit", "enforce"',
      ],
    },
    { name: 'not an object', doc: ['a'], problems: ['policy: must be object'] },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}, naming the field`, () => {
      expect(problems(c.doc)).to.deep.equal(c.problems);
    });
  }

  it('rejects text that is not YAML', () => {
    expect(() => policyFromText('defaultAction: [', 'p.yaml')).to.throw(PolicyError, /p.yaml[\s\S]*not valid YAML or JSON/);
  });
});
