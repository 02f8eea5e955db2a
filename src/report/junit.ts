/**
 * JUnit XML, the test report CI dashboards read (GitLab, Jenkins, Azure DevOps, GitHub test
 * reporters): one testsuite per file, one testcase per rule and container, a `failure` for each
 * failing or unverifiable finding (the message, the fix and the line), `skipped` where a rule does
 * not apply, and an `error` testcase for each input that could not be read. Parsed in the suite by a
 * real XML parser (Python's expat).
 */
import type { InputError } from '../input/manifests.js';
import type { Report, ReportFinding, ReportRow, ReportSink } from './report.js';

/** Text as XML character data or an attribute value: the five escapes, and no character XML 1.0 forbids. */
export function xmlText(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

interface Suite {
  readonly name: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  cases: string[];
}

function testcase(row: ReportRow, f: ReportFinding): { xml: string; failure: boolean; skipped: boolean } {
  const object = `${row.kind ?? 'object'} ${row.namespace !== null ? `${row.namespace}/` : ''}${row.name ?? ''}`;
  const line = f.line ?? row.line;
  const attributes = [
    `name="${xmlText(`${f.rule}${f.cis.length > 0 ? ` (CIS ${f.cis.join(', ')})` : ''}`)}"`,
    `classname="${xmlText(`${object} ${row.container ?? ''}`)}"`,
    `file="${xmlText(row.source)}"`,
    ...(line !== undefined ? [`line="${line}"`] : []),
  ].join(' ');
  const where = line !== undefined ? `${row.source}:${line}:${f.column ?? row.column ?? 1}` : row.source;
  if (f.status === 'fail' || f.status === 'unknown') {
    const body = `${f.message}\nFix: ${f.remediation}\nAt: ${where}\nAction: ${f.effectiveAction}\nEvidence:\n${f.evidence.map((e) => `  ${e}`).join('\n')}`;
    return {
      xml: `    <testcase ${attributes}>\n      <failure type="${f.status}" message="${xmlText(f.message)}">${xmlText(body)}</failure>\n    </testcase>`,
      failure: true,
      skipped: false,
    };
  }
  if (f.status === 'not-applicable') {
    return {
      xml: `    <testcase ${attributes}>\n      <skipped message="${xmlText(f.message)}"/>\n    </testcase>`,
      failure: false,
      skipped: true,
    };
  }
  return { xml: `    <testcase ${attributes}/>`, failure: false, skipped: false };
}

/** The whole report as one JUnit XML document, written when the scan ends (the counts come first in XML). */
export function junitSink(write: (text: string) => void): ReportSink {
  const suites = new Map<string, Suite>();
  const suite = (name: string): Suite => {
    let s = suites.get(name);
    if (s === undefined) {
      s = { name, tests: 0, failures: 0, errors: 0, skipped: 0, cases: [] };
      suites.set(name, s);
    }
    return s;
  };
  return {
    row: (row) => {
      if (row.component === null) return;
      const s = suite(row.source);
      for (const f of row.findings) {
        const c = testcase(row, f);
        s.tests++;
        if (c.failure) s.failures++;
        if (c.skipped) s.skipped++;
        s.cases.push(c.xml);
      }
    },
    finish: (errors: readonly InputError[], summary: Report['summary']) => {
      for (const e of errors) {
        const s = suite(e.source);
        s.tests++;
        s.errors++;
        const name = e.document !== undefined ? `read document ${e.document}` : 'read';
        s.cases.push(
          `    <testcase name="${xmlText(name)}" classname="${xmlText(e.source)}" file="${xmlText(e.source)}">\n      <error type="input" message="${xmlText(e.message)}">${xmlText(e.message)}</error>\n    </testcase>`,
        );
      }
      const all = [...suites.values()];
      const sum = (k: 'tests' | 'failures' | 'errors' | 'skipped'): number => all.reduce((n, s) => n + s[k], 0);
      write('<?xml version="1.0" encoding="UTF-8"?>\n');
      write(
        `<testsuites name="etcd-tls-guard" tests="${sum('tests')}" failures="${sum('failures')}" errors="${sum('errors')}" skipped="${sum('skipped')}">\n`,
      );
      for (const s of all) {
        write(
          `  <testsuite name="${xmlText(s.name)}" tests="${s.tests}" failures="${s.failures}" errors="${s.errors}" skipped="${s.skipped}">\n`,
        );
        for (const c of s.cases) write(`${c}\n`);
        write('  </testsuite>\n');
      }
      write(
        `  <!-- ${summary.documents} objects, ${summary.checked} control-plane containers checked, ${summary.failed} failing, ${summary.denied} would be denied -->\n</testsuites>\n`,
      );
    },
  };
}
