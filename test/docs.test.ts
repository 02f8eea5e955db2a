/**
 * The docs a cluster admin reads: the README stays short enough to read cold (reference material lives
 * in docs/), and every relative link in them leads somewhere — a file that exists, a heading that exists.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const README = join(ROOT, 'README.md');
const DOCS = [
  README,
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f)),
];

/** GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replaceAll(' ', '-');
}

function anchorsIn(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] as string)));
}

describe('docs', () => {
  it('the README is at most 15 KB', () => {
    expect(readFileSync(README).length).to.be.at.most(15 * 1024);
  });

  it('the README starts with what it is, then the two quickstart commands', () => {
    const readme = readFileSync(README, 'utf8');
    const quickstart = readme.indexOf('## Quickstart');
    expect(quickstart).to.be.greaterThan(0);
    const block = readme.slice(quickstart, readme.indexOf('```\n', readme.indexOf('```sh', quickstart) + 5));
    expect(block).to.contain('npm ci && npm start').and.contain('npm ci && npm test');
  });

  for (const file of DOCS) {
    it(`every relative link in ${file.slice(ROOT.length + 1)} resolves (file and heading)`, () => {
      const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      const broken: string[] = [];
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] as string;
        if (/^[a-z]+:/.test(link)) continue; // https:, mailto:
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? file : resolve(dirname(file), path);
        if (!existsSync(target)) broken.push(`${link}: no file`);
        else if (anchor !== undefined && target.endsWith('.md') && !anchorsIn(target).has(anchor))
          broken.push(`${link}: no heading #${anchor}`);
      }
      expect(broken).to.deep.equal([]);
    });
  }
});
