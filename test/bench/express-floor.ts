/**
 * The express floor of the HTTP benchmark: the baseline's work (read the body, JSON.parse it, echo
 * the uid) behind express 5, configured as the webhook is (no x-powered-by, no ETag, the webhook's
 * own body reader: `lean`), or with express's body parser (`raw`: express.raw, as the webhook read
 * bodies before). The webhook cannot beat the lean floor; the gap between it and the bare baseline
 * is what the framework costs. Own process:
 *   node dist/test/bench/express-floor.js PORT CERT KEY lean|raw
 */
import express from 'express';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { MAX_REVIEW_BYTES } from '../../src/webhook/app.js';
import { ByteBudget, defaultBudgetBytes, readBody } from '../../src/webhook/body.js';

const [port, certFile, keyFile, mode = 'lean'] = process.argv.slice(2);
const budget = new ByteBudget(defaultBudgetBytes(MAX_REVIEW_BYTES));
const body = mode === 'raw' ? express.raw({ type: () => true, limit: MAX_REVIEW_BYTES }) : readBody({ maxBytes: MAX_REVIEW_BYTES, budgetBytes: budget.budgetBytes, bodyTimeoutMs: 10_000 }, budget);
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/healthz', (_req, res) => {
  res.type('text/plain').send('ok');
});
app.post('/validate', body, (req, res) => {
  let uid = '';
  try {
    uid = (JSON.parse((req.body as Buffer).toString('utf8')) as { request?: { uid?: string } }).request?.uid ?? '';
  } catch {
    res.writeHead(400).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
});
const server = createServer({ cert: readFileSync(certFile as string), key: readFileSync(keyFile as string), minVersion: 'TLSv1.2' }, app);
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
