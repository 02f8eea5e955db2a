import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LOG_BATCH_BYTES } from '../src/log.js';
import { until } from './processes.js';

const LOG_MODULE = fileURLToPath(new URL('../src/log.js', import.meta.url));

/** Runs `script` in a child Node.js process with `logger` from createLogger('info'); its stdout so far, and its exit. */
function runLogging(script: string): { stdout: () => string; exited: Promise<number | null>; kill: () => void } {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createLogger } from ${JSON.stringify(LOG_MODULE)};\nconst logger = createLogger('info');\n${script}`,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr.resume();
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { stdout: () => stdout, exited, kill: () => child.kill('SIGKILL') };
}

const messages = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { msg: string }).msg);

describe('log lines on stdout (buffered, flushed when idle and at exit)', () => {
  it('a line logged by a process that then idles reaches stdout without more lines and without an exit', async () => {
    const child = runLogging(`logger.info('alone'); setInterval(() => {}, 60_000);`);
    try {
      await until('the line while the process idles', () => child.stdout().includes('"msg":"alone"'));
    } finally {
      child.kill();
      await child.exited;
    }
  });

  it('lines still buffered are written at exit: process.exit, an uncaught error', async () => {
    const byExit = runLogging(`for (let i = 0; i < 5; i++) logger.info('line ' + i); process.exit(3);`);
    expect(await byExit.exited).to.equal(3);
    expect(messages(byExit.stdout())).to.deep.equal(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);

    const byError = runLogging(`logger.info('before'); throw new Error('boom');`);
    expect(await byError.exited).to.equal(1);
    expect(messages(byError.stdout())).to.deep.equal(['before']);
  });

  it('lines beyond one batch all arrive, whole and in order', async () => {
    const count = Math.ceil((10 * LOG_BATCH_BYTES) / 100);
    const child = runLogging(`for (let i = 0; i < ${count}; i++) logger.info({ i }, 'n'); setTimeout(() => {}, 60_000);`);
    try {
      await until('every line', () => child.stdout().split('\n').length > count);
      const seen = child
        .stdout()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { i: number }).i);
      expect(seen).to.deep.equal([...Array(count).keys()]);
    } finally {
      child.kill();
      await child.exited;
    }
  });
});
