/**
 * Properties of the node check's readers on hostile input: etcd's config file and OpenShift's
 * KubeAPIServerConfig never throw, whatever the text; the host root is never left, whatever the
 * symbolic links.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readEtcdConfigFile } from '../../src/program-config/etcd-config-file.js';
import { readOpenShiftConfig } from '../../src/program-config/apiserver.js';
import { HostRoot } from '../../src/node/host.js';

const yamlish = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc
    .array(
      fc.tuple(
        fc.constantFrom(
          'client-transport-security',
          'peer-transport-security',
          'Client-Cert-Auth',
          'listen-client-urls',
          'storageConfig',
          'apiServerArguments',
          'a',
          '<<',
          '&x',
          '*x',
        ),
        fc.constantFrom(
          ': true',
          ': yes',
          ': "true"',
          ': [1, 2]',
          ': {a: 1}',
          ':\n  client-cert-auth: on',
          ': &x {cert-file: 1}',
          ': *x',
          ': !!binary aGk=',
          ': 2001-12-14',
          ': ~',
          ':',
        ),
      ),
      { maxLength: 12 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${k}${v}`).join('\n')),
);

describe('node readers on hostile input (properties)', function () {
  this.timeout(60_000);

  it("etcd's config file reader never throws, and every setting it makes is text", () => {
    fc.assert(
      fc.property(yamlish, (text) => {
        const r = readEtcdConfigFile(text, '/f');
        for (const s of r.settings.values()) expect(s.state === 'set' && typeof s.value === 'string').to.equal(true);
        return r.refusal === undefined || typeof r.refusal === 'string';
      }),
      { numRuns: 2_000 },
    );
  });

  it('the KubeAPIServerConfig reader never throws', () => {
    fc.assert(
      fc.property(yamlish, (text) => {
        const r = readOpenShiftConfig(text, '/f');
        return typeof r === 'string' || r instanceof Map;
      }),
      { numRuns: 2_000 },
    );
  });

  it('a billion-laughs alias bomb is refused, not expanded', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    expect(readEtcdConfigFile(bomb, '/f').refusal).to.match(/alias|Excessive/i);
  });

  it('whatever the symbolic links, a located path is under the root', () => {
    const base = mkdtempSync(join(tmpdir(), 'etg-links-'));
    try {
      const outside = join(base, 'outside');
      mkdirSync(outside);
      writeFileSync(join(outside, 'secret'), 'x');
      let n = 0;
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              fc.constantFrom('a', 'b', 'c', 'a/d'),
              fc.constantFrom(
                '/',
                '..',
                '../..',
                '../../../outside',
                outside,
                `${outside}/secret`,
                '/a',
                'b',
                '../b',
                '/etc',
                '.',
                'a/../../..',
              ),
            ),
            { minLength: 1, maxLength: 6 },
          ),
          fc.constantFrom('/a', '/b', '/c/x', '/a/d/secret', '/b/secret', '/a/../../outside/secret'),
          (links, lookup) => {
            const root = join(base, `r${n++}`);
            mkdirSync(join(root, 'a'), { recursive: true });
            for (const [at, target] of links) {
              try {
                symlinkSync(target, join(root, at));
              } catch {
                // already there, or its parent is a link: the tree is whatever it became
              }
            }
            const found = new HostRoot(root).locate(lookup);
            return !found.ok || found.real === root || found.real.startsWith(`${root}/`);
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
