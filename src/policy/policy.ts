import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { EtcdTopology } from '../rules/evaluate.js';
import { RULE_IDS } from '../rules/rules.js';
import { ajv, formatAjvErrors } from '../input/schema.js';

/** What happens to a finding: deny the request, warn the client, record it in the audit log, or nothing. */
export type Action = 'enforce' | 'warn' | 'audit' | 'off';

export interface Exemption {
  /** Glob (`*`, `?`) on the pod's namespace; default `*`. */
  readonly namespace: string;
  /** Glob on the pod's name; default `*`. */
  readonly name: string;
  /** Rule ids exempted; all rules when absent. */
  readonly rules?: readonly string[];
  /** Why; required, and reported with every finding it exempts. */
  readonly reason: string;
}

export interface Policy {
  readonly defaultAction: Exclude<Action, 'off'>;
  readonly actions: Readonly<Record<string, Action>>;
  /** Action for findings whose status is unknown; never stronger than the rule's own action. */
  readonly unknownAction: Action;
  readonly etcdTopology: EtcdTopology;
  /** `audit`: requests from a kubelet creating its mirror pod are never denied (docs/configuration.md). */
  readonly kubeletMirrorPods: 'audit' | 'enforce';
  /**
   * `audit`: what a workload controller creates for a workload it manages (a StatefulSet's pods, a
   * Deployment's ReplicaSet) is never denied: the workload was judged when applied (docs/configuration.md).
   */
  readonly controllerPods: 'audit' | 'enforce';
  readonly exemptions: readonly Exemption[];
}

export const DEFAULT_POLICY: Policy = Object.freeze({
  defaultAction: 'enforce',
  actions: Object.freeze({}),
  unknownAction: 'warn',
  etcdTopology: 'auto',
  kubeletMirrorPods: 'audit',
  controllerPods: 'audit',
  exemptions: Object.freeze([]),
});

const ACTIONS = ['enforce', 'warn', 'audit', 'off'];

export const POLICY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    defaultAction: { type: 'string', enum: ['enforce', 'warn', 'audit'] },
    actions: {
      type: 'object',
      propertyNames: { type: 'string', enum: [...RULE_IDS] },
      additionalProperties: { type: 'string', enum: ACTIONS },
    },
    unknownAction: { type: 'string', enum: ACTIONS },
    etcdTopology: { type: 'string', enum: ['auto', 'single', 'cluster'] },
    kubeletMirrorPods: { type: 'string', enum: ['audit', 'enforce'] },
    controllerPods: { type: 'string', enum: ['audit', 'enforce'] },
    exemptions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['reason'],
        properties: {
          namespace: { type: 'string', minLength: 1 },
          name: { type: 'string', minLength: 1 },
          rules: { type: 'array', minItems: 1, items: { type: 'string', enum: [...RULE_IDS] } },
          reason: { type: 'string', minLength: 1, pattern: '\\S' },
        },
      },
    },
  },
} as const;

const validatePolicy = ajv.compile(POLICY_SCHEMA);

export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid policy ${source}:\n  ${problems.join('\n  ')}`);
  }
}

/** Validates a parsed policy document, fills defaults, and freezes the result. */
export function policyFromObject(input: unknown, source = '(inline)'): Policy {
  const doc = input ?? {};
  if (!validatePolicy(doc)) throw new PolicyError(source, formatAjvErrors(validatePolicy.errors, 'policy'));
  const raw = doc as Partial<{
    defaultAction: Policy['defaultAction'];
    actions: Record<string, Action>;
    unknownAction: Action;
    etcdTopology: EtcdTopology;
    kubeletMirrorPods: Policy['kubeletMirrorPods'];
    controllerPods: Policy['controllerPods'];
    exemptions: Array<Partial<Exemption> & { reason: string }>;
  }>;
  return Object.freeze({
    defaultAction: raw.defaultAction ?? DEFAULT_POLICY.defaultAction,
    actions: Object.freeze({ ...(raw.actions ?? {}) }),
    unknownAction: raw.unknownAction ?? DEFAULT_POLICY.unknownAction,
    etcdTopology: raw.etcdTopology ?? DEFAULT_POLICY.etcdTopology,
    kubeletMirrorPods: raw.kubeletMirrorPods ?? DEFAULT_POLICY.kubeletMirrorPods,
    controllerPods: raw.controllerPods ?? DEFAULT_POLICY.controllerPods,
    exemptions: Object.freeze(
      (raw.exemptions ?? []).map((e) =>
        Object.freeze({
          namespace: e.namespace ?? '*',
          name: e.name ?? '*',
          ...(e.rules !== undefined ? { rules: Object.freeze([...e.rules]) } : {}),
          reason: e.reason,
        }),
      ),
    ),
  });
}

/** Parses policy text (YAML, which includes JSON). */
export function policyFromText(text: string, source: string): Policy {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new PolicyError(source, [`not valid YAML or JSON: ${(err as Error).message.split('\n')[0] ?? ''}`]);
  }
  return policyFromObject(doc, source);
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PolicyError(path, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return policyFromText(text, path);
}
