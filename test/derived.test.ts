/**
 * What is generated from the source is committed up to date: `npm run generate` rewrites it, and this
 * fails until it has been run. Adding a control is one entry in src/rules/rules.ts and its rows in
 * test/rules.test.ts; the README's rules table and the chart's policy schema follow.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { main } from '../src/cli/main.js';
import { rulesMarkdown } from '../src/rules/rules.js';
import { CHART_SCHEMA, derivedChartSchema, derivedReadme, derivedRulesDoc, README, RULES_DOC } from './tools/generate-derived.js';

describe('generated files are up to date (npm run generate)', () => {
  it("README.md's rules table is `etcd-tls-guard rules --format markdown`", () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme, 'run npm run generate').to.equal(derivedReadme(readme));
    expect(readme).to.contain(rulesMarkdown());
  });

  it("docs/rules.md's node rules table is generated from the rules", () => {
    const doc = readFileSync(RULES_DOC, 'utf8');
    expect(doc, 'run npm run generate').to.equal(derivedRulesDoc(doc));
  });

  it("the chart's values.schema.json carries the webhook's policy schema", () => {
    const schema = readFileSync(CHART_SCHEMA, 'utf8');
    expect(schema, 'run npm run generate').to.equal(derivedChartSchema(schema));
  });

  it('rules --format markdown prints that table', async () => {
    let out = '';
    const code = await main(['rules', '--format', 'markdown'], {
      out: (t) => (out += t),
      err: () => undefined,
      env: {},
      readStdin: () => Promise.resolve(''),
    });
    expect(code).to.equal(0);
    expect(out).to.equal(rulesMarkdown());
  });
});
