/**
 * What is generated from the source is committed up to date: `npm run generate` rewrites it, and this
 * fails until it has been run. Adding a control is one entry in src/rules/rules.ts and its rows in
 * test/rules/rules.test.ts; the README's rules table and the chart's policy schema follow.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { main } from '../src/cli/main.js';
import { rulesMarkdown } from '../src/rules/rules.js';
import { parse } from 'yaml';
import {
  CHART_README,
  CHART_SCHEMA,
  CHART_VALUES,
  derivedChartReadme,
  derivedChartSchema,
  derivedReadme,
  derivedRulesDoc,
  README,
  RULES_DOC,
} from './tools/generate-derived.js';

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

  it("the chart's README lists every value with its type, default and description (values.yaml, values.schema.json)", () => {
    const readme = readFileSync(CHART_README, 'utf8');
    const values = readFileSync(CHART_VALUES, 'utf8');
    expect(readme, 'run npm run generate').to.equal(derivedChartReadme(readme, values, readFileSync(CHART_SCHEMA, 'utf8')));
    // Every top-level value has its row (or the rows of its keys).
    for (const key of Object.keys(parse(values) as Record<string, unknown>)) expect(readme, key).to.match(new RegExp(`\\| \`${key}[.\`]`));
    expect(readme).to.contain('| `replicaCount` | integer | `2` | Two replicas on different nodes');
  });

  it('Chart.yaml carries what Artifact Hub reads: icon, maintainers, license, images, links', () => {
    const chart = parse(readFileSync(CHART_README.replace('README.md', 'Chart.yaml'), 'utf8')) as {
      icon: string;
      maintainers: Array<{ name: string }>;
      appVersion: string;
      annotations: Record<string, string>;
    };
    expect(chart.icon).to.match(/\/docs\/icon\.svg$/);
    expect(readFileSync(new URL('../../docs/icon.svg', import.meta.url), 'utf8')).to.match(/^<svg /);
    expect(chart.maintainers.length).to.be.greaterThan(0);
    expect(chart.annotations['artifacthub.io/license']).to.equal('Apache-2.0');
    const images = parse(chart.annotations['artifacthub.io/images'] ?? '') as Array<{ image: string }>;
    expect(images[0]?.image).to.match(new RegExp(`:${chart.appVersion.replaceAll('.', '\\.')}$`));
    expect((parse(chart.annotations['artifacthub.io/links'] ?? '') as unknown[]).length).to.be.greaterThan(0);
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
