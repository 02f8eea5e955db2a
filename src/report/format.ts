import type { Report, ReportRow } from './report.js';

function where(r: ReportRow): string {
  const doc = `${r.source}#${r.document}${r.item !== undefined ? `.items[${r.item}]` : ''}`;
  return doc;
}

function title(r: ReportRow): string {
  const name = r.namespace !== null ? `${r.namespace}/${r.name ?? ''}` : (r.name ?? '<unnamed>');
  return `${r.kind ?? 'object'} ${name}`;
}

/** For people: one line per pod and component, then one line per failing or unverifiable rule. */
export function formatText(report: Report): string {
  const lines: string[] = [];
  for (const e of report.errors) lines.push(`ERROR ${e.source}${e.document !== undefined ? `#${e.document}` : ''}: ${e.message}`);
  for (const r of report.results) {
    if (r.component === null) continue;
    const bad = r.findings.filter((f) => f.status === 'fail' || f.status === 'unknown');
    const denied = bad.some((f) => f.effectiveAction === 'enforce');
    const verdict = bad.length === 0 ? 'PASS' : denied ? 'DENY' : 'WARN';
    lines.push(`${verdict} ${title(r)} (${r.component} in container ${r.container ?? ''}) ${where(r)}`);
    for (const f of bad) {
      const cis = f.cis.length > 0 ? ` (CIS ${f.cis.join(', ')})` : '';
      lines.push(`  ${f.status.padEnd(7)} ${f.rule}${cis} [${f.effectiveAction}]: ${f.message}`);
      lines.push(`          fix: ${f.remediation}`);
      if (f.note !== undefined) lines.push(`          note: ${f.note}`);
    }
  }
  const s = report.summary;
  lines.push(
    `${s.documents} object${s.documents === 1 ? '' : 's'}, ${s.checked} control-plane container${s.checked === 1 ? '' : 's'} checked, ${s.failed} failing, ${s.denied} would be denied${report.errors.length > 0 ? `, ${report.errors.length} input error${report.errors.length === 1 ? '' : 's'}` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Exactly one JSON document. */
export function formatJson(report: Report): string {
  return `${JSON.stringify({ results: report.results, errors: report.errors, summary: report.summary }, null, 2)}\n`;
}
