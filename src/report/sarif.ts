/**
 * SARIF 2.1.0 (OASIS), the format GitHub code scanning, GitLab, Azure DevOps and SonarQube ingest:
 * one reporting descriptor per rule, one result per finding whose status the user asked for (fail
 * by default), at the line and column the finding points at. Checked in the suite by Microsoft's
 * SARIF Multitool (`validate`, with its GitHub rules) and the official JSON schema it ships.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InputError } from '../input/manifests.js';
import { RULES, type Rule } from '../rules/rules.js';
import type { ReportFinding, ReportRow, ReportSink } from './report.js';

/** The project's home: the tool's informationUri, and where each rule's help lives. */
export const PROJECT_URI = 'https://github.com/etcd-tls-guard/etcd-tls-guard';
const RULES_HELP_URI = `${PROJECT_URI}/blob/main/docs/rules.md`;

export interface SarifOptions {
  readonly version: string;
  /** The finding statuses that become results (fail, and unknown when asked). */
  readonly statuses: ReadonlySet<string>;
  /** Paths are made relative to this directory (the repository root in CI): the working directory. */
  readonly root: string;
}

/** The policy's action as a SARIF level: what blocks admission is an error, a warning a warning, a record a note. */
const LEVEL: Readonly<Record<string, 'error' | 'warning' | 'note'>> = { enforce: 'error', warn: 'warning', audit: 'note' };

function descriptor(rule: Rule): Record<string, unknown> {
  const cis = Object.entries(rule.cis).map(([benchmark, control]) => `CIS Kubernetes Benchmark ${benchmark}: ${control}`);
  const help = rule.remediation
    .replaceAll('{file}', 'the pod spec (or the tool that writes it)')
    .replaceAll('{manifest}', 'the file named');
  return {
    id: rule.id,
    name: rule.id.replace(/(?:^|-)([a-z0-9])/g, (_m, c: string) => c.toUpperCase()),
    shortDescription: { text: rule.title },
    fullDescription: { text: `${rule.title}.${cis.length > 0 ? ` ${cis.join('; ')}.` : ''}` },
    help: { text: help, markdown: `${rule.passes}\n\nFix: ${help}` },
    helpUri: RULES_HELP_URI,
    defaultConfiguration: { level: 'error' },
    properties: { tags: ['security', rule.component], cis: rule.cis, scope: rule.scope ?? 'pod' },
  };
}

/** The artifact a finding is in: relative to the root (as code scanning wants it), else a file URI; standard input as `stdin`. */
function artifactLocation(source: string, root: string): Record<string, unknown> {
  if (source === '-') return { uri: 'stdin' };
  const absolute = resolve(root, source);
  const rel = relative(root, absolute);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) {
    return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
  }
  return { uri: pathToFileURL(absolute).href };
}

/** Stable across runs and line moves: the rule, the file, and the object and container it is about. */
function fingerprint(row: ReportRow, finding: ReportFinding): string {
  const key = [finding.rule, row.source, row.kind ?? '', row.namespace ?? '', row.name ?? '', row.container ?? ''].join('\u0000');
  return createHash('sha256').update(key).digest('hex');
}

function result(row: ReportRow, finding: ReportFinding, ruleIndex: number, root: string): Record<string, unknown> {
  const object = `${row.kind ?? 'object'} ${row.namespace !== null ? `${row.namespace}/` : ''}${row.name ?? ''}`;
  const region =
    finding.line !== undefined
      ? { startLine: finding.line, startColumn: finding.column ?? 1 }
      : row.line !== undefined
        ? { startLine: row.line, startColumn: row.column ?? 1 }
        : undefined;
  const unverifiable = finding.status === 'unknown' ? 'Cannot be verified: ' : '';
  return {
    ruleId: finding.rule,
    ruleIndex,
    level: LEVEL[finding.effectiveAction] ?? 'warning',
    message: {
      text: `${unverifiable}${finding.message} (${row.component ?? ''} in container ${row.container ?? ''} of ${object}). Fix: ${finding.remediation}`,
    },
    locations: [
      {
        physicalLocation: { artifactLocation: artifactLocation(row.source, root), ...(region !== undefined ? { region } : {}) },
        logicalLocations: [{ fullyQualifiedName: `${object}/${row.container ?? ''}`, kind: 'object' }],
      },
    ],
    partialFingerprints: { 'etcdTlsGuardFinding/v1': fingerprint(row, finding) },
    properties: { status: finding.status, action: finding.effectiveAction, evidence: finding.evidence },
  };
}

/** `value` as JSON, every line after the first indented by `spaces`. */
const indented = (value: unknown, spaces: number): string => JSON.stringify(value, null, 2).replaceAll('\n', `\n${' '.repeat(spaces)}`);

/**
 * One SARIF log, written result by result (nothing held after it is written); input errors become
 * the run's tool execution notifications, and make it unsuccessful.
 */
export function sarifSink(write: (text: string) => void, options: SarifOptions): ReportSink {
  const ruleIndex = new Map(RULES.map((r, i) => [r.id, i]));
  const root = resolve(options.root);
  const driver = { name: 'etcd-tls-guard', version: options.version, semanticVersion: options.version, informationUri: PROJECT_URI };
  // The log as a template with two holes, filled as the scan goes: the results, then the invocation.
  const log = JSON.stringify(
    {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { ...driver, rules: RULES.map(descriptor) } },
          originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(root.endsWith(sep) ? root : `${root}${sep}`).href } },
          results: 'RESULTS',
          invocations: 'INVOCATIONS',
        },
      ],
    },
    null,
    2,
  );
  const [beforeResults = '', afterResults = ''] = log.split('"RESULTS"');
  const [betweenHoles = '', end = ''] = afterResults.split('"INVOCATIONS"');
  write(`${beforeResults}[`);
  let results = 0;
  return {
    row: (row) => {
      for (const f of row.findings) {
        if (!options.statuses.has(f.status)) continue;
        write(`${results === 0 ? '' : ','}\n        ${indented(result(row, f, ruleIndex.get(f.rule) ?? 0, root), 8)}`);
        results++;
      }
    },
    finish: (errors: readonly InputError[]) => {
      write(results === 0 ? ']' : '\n      ]');
      const invocation = {
        executionSuccessful: errors.length === 0,
        toolExecutionNotifications: errors.map((e) => ({
          level: 'error',
          message: { text: e.message },
          locations: [{ physicalLocation: { artifactLocation: artifactLocation(e.source, root) } }],
        })),
      };
      write(`${betweenHoles}[\n        ${indented(invocation, 8)}\n      ]${end}\n`);
    },
  };
}
