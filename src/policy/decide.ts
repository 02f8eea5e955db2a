import type { ComponentResult, Finding, PodEvaluation } from '../rules/evaluate.js';
import { cisNumbers, ruleById } from '../rules/rules.js';
import type { Action, Exemption, Policy } from './policy.js';

/** Facts about the admission request (not the pod) that change what an action does. */
export interface RequestFacts {
  /** A kubelet (user system:node:<n>, group system:nodes) writing a pod with the mirror annotation. */
  readonly kubeletMirror: boolean;
  /** A workload controller creating an object for the workload it manages (judged when it was applied). */
  readonly controllerCreated?: boolean;
  /** `container/rule` keys already failing on the old object of an UPDATE. */
  readonly preexisting?: ReadonlySet<string>;
}

export interface DecidedFinding extends Finding {
  /** The policy's action for this finding (rule action, or unknownAction for an unknown status). */
  readonly action: Action;
  /** What was done for this request, after exemptions, the kubelet rule and ratcheting. */
  readonly effectiveAction: Action;
  /** Why effectiveAction differs from action. */
  readonly note?: string;
}

/** A container's results with the policy's action on each finding. */
export interface DecidedResult extends Omit<ComponentResult, 'findings'> {
  readonly findings: readonly DecidedFinding[];
}

export interface Decision {
  readonly allowed: boolean;
  /** Grouped as the evaluation: one entry per container that runs etcd or kube-apiserver. */
  readonly results: readonly DecidedResult[];
  /** Set when denied: every failing enforced rule, with what was found and the fix. */
  readonly denialMessage?: string;
  readonly warnings: readonly string[];
  readonly auditAnnotations: Readonly<Record<string, string>>;
}

const STRENGTH: Readonly<Record<Action, number>> = { off: 0, audit: 1, warn: 2, enforce: 3 };

/**
 * Limits of what the API server passes on (k8s.io/apiserver admission webhook warnings and the
 * "Response" section of the dynamic admission control docs): a warning should be at most 120
 * characters, longer than 256 may be truncated, and the total is capped (4096 bytes) after which
 * warnings are dropped. Audit annotation keys are prefixed with the webhook name and must be a
 * valid qualified-name part: no `/`, at most 63 characters.
 */
export const WARNING_PREFERRED = 120;
export const WARNING_MAX = 256;
export const WARNINGS_TOTAL_MAX = 4096;
const AUDIT_VALUE_MAX = 1024;

const globCache = new Map<string, RegExp>();

/** `*` any run of characters, `?` one character; compiled once per pattern. */
function glob(pattern: string): RegExp {
  const cached = globCache.get(pattern);
  if (cached !== undefined) return cached;
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  const re = new RegExp(`^${escaped}$`);
  globCache.set(pattern, re);
  return re;
}

function exemptionFor(exemptions: readonly Exemption[], namespace: string, name: string, rule: string): Exemption | undefined {
  return exemptions.find(
    (e) => glob(e.namespace).test(namespace) && glob(e.name).test(name) && (e.rules === undefined || e.rules.includes(rule)),
  );
}

function configuredAction(policy: Policy, finding: Finding): Action {
  const ruleAction = policy.actions[finding.rule] ?? policy.defaultAction;
  if (finding.status !== 'unknown') return ruleAction;
  // Unknown is not pass, but it is not more than a failure either.
  return STRENGTH[policy.unknownAction] < STRENGTH[ruleAction] ? policy.unknownAction : ruleAction;
}

function cisLabel(f: Finding): string {
  const cis = cisNumbers(ruleById(f.rule));
  return cis.length > 0 ? `CIS ${cis.join(', ')}` : 'effective';
}

/** A decided finding with the container it belongs to: the unit warnings and denials speak of. */
interface Located {
  readonly container: string;
  readonly finding: DecidedFinding;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * One self-contained warning line, as short as the finding allows: the label already names the CIS
 * control, and past 120 characters only the first clause is kept when that fits (the audit
 * annotation keeps the whole message).
 */
function warningText({ container, finding: f }: Located, withContainer: boolean): string {
  const head = `${f.rule} (${cisLabel(f)})${withContainer ? ` [${container}]` : ''}: ${f.status === 'unknown' ? 'cannot verify: ' : ''}`;
  const body = f.message.replace(/^CIS [\d.]+ fails: /, '');
  const full = head + body;
  const short = head + (body.split('; ')[0] ?? body);
  return truncate(full.length > WARNING_PREFERRED && short.length <= WARNING_PREFERRED ? short : full, WARNING_MAX);
}

/** A finding with the policy's actions on it (and why they differ), as plain data. */
function withActions(f: Finding, action: Action, effectiveAction: Action, note: string | undefined): DecidedFinding {
  const decided: { -readonly [K in keyof DecidedFinding]: DecidedFinding[K] } = {
    rule: f.rule,
    status: f.status,
    message: f.message,
    remediation: f.remediation,
    evidence: f.evidence,
    action,
    effectiveAction,
  };
  if (f.details !== undefined) decided.details = f.details;
  if (note !== undefined) decided.note = note;
  return decided;
}

/**
 * Applies the policy to an evaluation: which findings deny, warn or are recorded for audit.
 * Pure: the same evaluation, policy and facts always give the same decision.
 */
export function decide(evaluation: PodEvaluation, policy: Policy, facts: RequestFacts): Decision {
  const namespace = evaluation.namespace ?? '';
  const name = evaluation.name ?? '';
  const active: Located[] = [];
  const results = evaluation.results.map((result): DecidedResult => {
    const findings = result.findings.map((f): DecidedFinding => {
      const action = configuredAction(policy, f);
      let effectiveAction = action;
      let note: string | undefined;
      const failing = f.status === 'fail' || f.status === 'unknown';
      const exemption = failing ? exemptionFor(policy.exemptions, namespace, name, f.rule) : undefined;
      if (exemption !== undefined) {
        effectiveAction = 'off';
        note = `exempted: ${exemption.reason}`;
      } else if (failing && facts.kubeletMirror && policy.kubeletMirrorPods === 'audit' && STRENGTH[action] > STRENGTH.audit) {
        effectiveAction = 'audit';
        note = 'kubelet mirror pod: recorded, not denied (kubeletMirrorPods: audit)';
      } else if (failing && facts.controllerCreated === true && policy.controllerPods === 'audit' && STRENGTH[action] > STRENGTH.audit) {
        effectiveAction = 'audit';
        note = 'created by a workload controller for a workload judged when it was applied: recorded, not denied (controllerPods: audit)';
      } else if (failing && action === 'enforce' && facts.preexisting?.has(`${result.container}/${f.rule}`) === true) {
        effectiveAction = 'warn';
        note = 'already failing before this update: warned, not denied';
      }
      const decided = withActions(f, action, effectiveAction, note);
      if (failing && effectiveAction !== 'off') active.push({ container: result.container, finding: decided });
      return decided;
    });
    return { ...result, findings };
  });

  const multiContainer = new Set(evaluation.results.map((r) => r.container)).size > 1;
  const denied = active.filter((l) => l.finding.effectiveAction === 'enforce');

  const warnings: string[] = [];
  const warned = active.filter((l) => l.finding.effectiveAction === 'warn');
  let total = 0;
  for (const [idx, f] of warned.entries()) {
    const text = warningText(f, multiContainer);
    // Keep room for the closing "N more" line unless this is the last warning.
    const reserve = idx === warned.length - 1 ? 0 : 100;
    if (total + text.length + reserve > WARNINGS_TOTAL_MAX) {
      warnings.push(`etcd-tls-guard: ${warned.length - idx} more findings not shown; see the audit annotations`);
      break;
    }
    warnings.push(text);
    total += text.length;
  }

  // Every failing finding that is not off is recorded: the audit log is the complete record, even
  // for requests that were denied or only warned.
  const auditAnnotations: Record<string, string> = {};
  for (const { container, finding: f } of active) {
    const key = f.rule.slice(0, 63);
    const value = `${f.status}: ${multiContainer ? `[${container}] ` : ''}${f.message}`;
    const previous = auditAnnotations[key];
    auditAnnotations[key] = truncate(previous === undefined ? value : `${previous} | ${value}`, AUDIT_VALUE_MAX);
  }

  if (denied.length === 0) return { allowed: true, results, warnings, auditAnnotations };
  const object = `${evaluation.kind === 'Pod' ? 'pod' : evaluation.kind} ${namespace !== '' ? `${namespace}/${name}` : name}`;
  const lines = denied.map(
    ({ container, finding: f }) =>
      `- [${f.rule}] ${cisLabel(f)}${multiContainer ? ` (container ${container})` : ''}: ${f.status === 'unknown' ? 'cannot verify: ' : ''}${f.message}. Fix: ${f.remediation}`,
  );
  const denialMessage = `etcd-tls-guard: ${denied.length} etcd TLS ${denied.length === 1 ? 'control fails' : 'controls fail'} for ${object}:\n${lines.join('\n')}`;
  return { allowed: false, results, denialMessage, warnings, auditAnnotations };
}
