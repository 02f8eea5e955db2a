import type { Report, ReportFinding, ReportRow, ReportSink } from './report.js';

/** `etcd.yaml:14:5` where the position is known (scan), else the document: `etcd.yaml#0`, `list.yaml#0.items[2]`. */
function where(r: ReportRow): string {
  if (r.line !== undefined) return `${r.source}:${r.line}:${r.column ?? 1}`;
  return `${r.source}#${r.document}${r.item !== undefined ? `.items[${r.item}]` : ''}`;
}

function title(r: ReportRow): string {
  const name = r.namespace !== null ? `${r.namespace}/${r.name ?? ''}` : (r.name ?? '<unnamed>');
  return `${r.kind ?? 'object'} ${name}`;
}

/** The lines of one row: its verdict, then each failing or unverifiable rule. */
function textLines(r: ReportRow): string[] {
  // A whole file left unread (a template): no object to name.
  if (r.skipped !== undefined && r.kind === null && r.line === undefined) return [`SKIP ${r.source}: ${r.skipped}`];
  if (r.skipped !== undefined) return [`${r.kind === null ? 'SKIP' : 'ALLOW'} ${title(r)} ${where(r)}: ${r.skipped}`];
  if (r.component === null) return [];
  const lines: string[] = [];
  const bad = r.findings.filter((f) => f.status === 'fail' || f.status === 'unknown');
  const denied = bad.some((f) => f.effectiveAction === 'enforce');
  const expiring = r.findings.filter((f) => f.status === 'pass' && f.warning !== undefined);
  const verdict = bad.length === 0 && expiring.length === 0 ? 'PASS' : denied ? 'DENY' : 'WARN';
  lines.push(`${verdict} ${title(r)} (${r.component} in container ${r.container ?? ''}) ${where(r)}`);
  // Rules that fail for the same reason at the same place share one line (a configuration file out of
  // sight makes every rule unknown alike), each distinct fix and note still said.
  const groups = new Map<string, ReportFinding[]>();
  for (const f of bad) {
    const key = [f.status, f.effectiveAction, f.message, f.line, f.column].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const group of groups.values()) {
    const f = group[0] as ReportFinding;
    const cisNumbers = group.flatMap((g) => g.cis);
    const cis = cisNumbers.length > 0 ? ` (CIS ${cisNumbers.join(', ')})` : '';
    const at = f.line !== undefined ? ` ${r.source}:${f.line}:${f.column ?? 1}` : '';
    lines.push(`  ${f.status.padEnd(7)} ${group.map((g) => g.rule).join(', ')}${cis} [${f.effectiveAction}]${at}: ${f.message}`);
    for (const fix of new Set(group.map((g) => g.remediation))) lines.push(`          fix: ${fix}`);
    for (const note of new Set(group.flatMap((g) => (g.note !== undefined ? [g.note] : [])))) lines.push(`          note: ${note}`);
  }
  for (const f of expiring) lines.push(`  expires ${f.rule}: ${f.warning ?? ''}`);
  return lines;
}

/**
 * For people: input errors first, then one line per pod and component with one line per failing or
 * unverifiable rule, then the counts. Rows are kept as text until the end (errors come first).
 */
export function textSink(write: (text: string) => void): ReportSink {
  const rows: string[] = [];
  return {
    row: (r) => {
      for (const line of textLines(r)) rows.push(`${line}\n`);
    },
    finish: (errors, s) => {
      for (const e of errors) write(`ERROR ${e.source}${e.document !== undefined ? `#${e.document}` : ''}: ${e.message}\n`);
      for (const line of rows) write(line);
      write(
        `${s.documents} object${s.documents === 1 ? '' : 's'}, ${s.checked} control-plane container${s.checked === 1 ? '' : 's'} checked, ${s.failed} failing, ${s.denied} would be denied${errors.length > 0 ? `, ${errors.length} input error${errors.length === 1 ? '' : 's'}` : ''}\n`,
      );
    },
  };
}

/** `JSON.stringify(value, null, 2)` for a value nested `depth` levels deep: every line after the first indented. */
function nested(value: unknown, depth: number): string {
  return JSON.stringify(value, null, 2).replaceAll('\n', `\n${'  '.repeat(depth)}`);
}

/**
 * Exactly one JSON document, the text `JSON.stringify({ results, errors, summary }, null, 2)` gives,
 * written row by row so that no row is held after it is written.
 */
export function jsonSink(write: (text: string) => void): ReportSink {
  let rows = 0;
  write('{\n  "results": [');
  return {
    row: (r) => {
      write(`${rows === 0 ? '\n' : ',\n'}    ${nested(r, 2)}`);
      rows++;
    },
    finish: (errors, summary) => {
      write(rows === 0 ? '],\n' : '\n  ],\n');
      write(`  "errors": ${nested(errors, 1)},\n  "summary": ${nested(summary, 1)}\n}\n`);
    },
  };
}

function collect(report: Report, sinkOf: (write: (text: string) => void) => ReportSink): string {
  let out = '';
  const sink = sinkOf((t) => (out += t));
  for (const r of report.results) sink.row(r);
  sink.finish(report.errors, report.summary);
  return out;
}

/** For people (textSink, all at once). */
export function formatText(report: Report): string {
  return collect(report, textSink);
}

/** Exactly one JSON document (jsonSink, all at once). */
export function formatJson(report: Report): string {
  return collect(report, jsonSink);
}
