/**
 * The express servers of the HTTP benchmark, doing the baseline's work (read the body, JSON.parse it,
 * echo the uid):
 * - `lean`, the express floor: express as the webhook uses it (src/webhook/app.ts): express.Router
 *   as the node:https request listener, a POST /validate route with the webhook's own body reader,
 *   the answer written with writeHead/end. The webhook cannot beat it; the gap between it and the bare
 *   baseline is what the framework costs.
 * - `defaults`: an express application as it comes, as an application would first write it:
 *   express(), express.raw, res.send (the prototype swap of every request, ETag hashing of every
 *   answer, x-powered-by).
 * Own process:  node dist/test/bench/express-floor.js PORT CERT KEY lean|defaults
 */
import express from 'express';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { MAX_REVIEW_BYTES } from '../../src/webhook/app.js';
import { ByteBudget, defaultBudgetBytes, readBody, type Next, type ReviewRequest } from '../../src/webhook/body.js';

const [port, certFile, keyFile, mode = 'lean'] = process.argv.slice(2);

const uidOf = (body: Buffer): string | undefined => {
  try {
    return (JSON.parse(body.toString('utf8')) as { request?: { uid?: string } }).request?.uid ?? '';
  } catch {
    return undefined;
  }
};
const answerFor = (uid: string): string =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });

function lean(): RequestListener {
  const budget = new ByteBudget(defaultBudgetBytes(MAX_REVIEW_BYTES));
  const body = readBody({ maxBytes: MAX_REVIEW_BYTES, budgetBytes: budget.budgetBytes, bodyTimeoutMs: 10_000 }, budget);
  const router = express.Router();
  router.post('/validate', body, (req: ReviewRequest, res: ServerResponse) => {
    const uid = uidOf(req.body ?? Buffer.alloc(0));
    if (uid === undefined) {
      res.writeHead(400).end();
      return;
    }
    const answer = answerFor(uid);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
  });
  router.get('/healthz', (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  // As in src/webhook/app.ts: express's types describe a router inside an express application.
  const dispatch = router as unknown as (req: IncomingMessage, res: ServerResponse, done: Next) => void;
  return (req, res) => {
    dispatch(req, res, () => res.writeHead(404).end());
  };
}

function defaults(): RequestListener {
  const app = express();
  app.post('/validate', express.raw({ type: () => true, limit: MAX_REVIEW_BYTES }), (req, res) => {
    const uid = uidOf(req.body as Buffer);
    if (uid === undefined) {
      res.status(400).end();
      return;
    }
    res.type('json').send(answerFor(uid));
  });
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  return app;
}

const tls = { cert: readFileSync(certFile as string), key: readFileSync(keyFile as string), minVersion: 'TLSv1.2' as const };
const server = createServer(tls, mode === 'lean' ? lean() : defaults());
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
