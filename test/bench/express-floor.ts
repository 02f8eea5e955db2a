/**
 * The express servers of the HTTP benchmark, doing the baseline's work (read the body, JSON.parse it,
 * echo the uid) behind express 5:
 * - `lean`, the express floor: express configured as the webhook configures it (src/webhook/app.ts):
 *   no x-powered-by, no ETag, a POST /validate route with the webhook's own body reader, the answer
 *   written with writeHead/end. The webhook cannot beat it; the gap between it and the bare baseline
 *   is what the framework costs.
 * - `defaults`: express as it comes, as an application would first write it: express.raw, res.send
 *   (ETag hashing of every answer, x-powered-by).
 * Own process:  node dist/test/bench/express-floor.js PORT CERT KEY lean|defaults
 */
import express from 'express';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { MAX_REVIEW_BYTES } from '../../src/webhook/app.js';
import { ByteBudget, defaultBudgetBytes, readBody } from '../../src/webhook/body.js';

const [port, certFile, keyFile, mode = 'lean'] = process.argv.slice(2);
const lean = mode === 'lean';
const budget = new ByteBudget(defaultBudgetBytes(MAX_REVIEW_BYTES));
const body = lean
  ? readBody({ maxBytes: MAX_REVIEW_BYTES, budgetBytes: budget.budgetBytes, bodyTimeoutMs: 10_000 }, budget)
  : express.raw({ type: () => true, limit: MAX_REVIEW_BYTES });
const app = express();
if (lean) {
  app.disable('x-powered-by');
  app.set('etag', false);
}
const validate = (req: express.Request, res: express.Response): void => {
  let uid = '';
  try {
    uid = (JSON.parse((req.body as Buffer).toString('utf8')) as { request?: { uid?: string } }).request?.uid ?? '';
  } catch {
    res.writeHead(400).end();
    return;
  }
  const answer = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });
  if (lean) res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
  else res.type('json').send(answer);
};
app.post('/validate', body, validate);
app.get('/healthz', (_req, res) => {
  res.type('text/plain').send('ok');
});
const tls = { cert: readFileSync(certFile as string), key: readFileSync(keyFile as string), minVersion: 'TLSv1.2' as const };
const server = createServer(tls, app);
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
