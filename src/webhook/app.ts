import express from 'express';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { admit, BadAdmissionRequest } from './admission.js';
import {
  checkAdmissionReview,
  errored,
  reviewOf,
  uidOf,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
} from '../input/admission-review.js';
import type { Verdict } from '../judgement/judge.js';
import type { Policy } from '../policy/policy.js';
import { BodyError, ByteBudget, defaultBudgetBytes, readBody, type Next, type ReviewRequest } from './body.js';
import { NO_OBSERVER, type Observer } from './metrics.js';

/**
 * Largest AdmissionReview accepted. The API server stores objects of up to 3 MiB
 * (--max-request-bytes / MaxRequestBodyBytes) and an UPDATE review carries two of them (object and
 * oldObject) plus the request envelope, well under 1 MiB: 7 MiB, as controller-runtime's webhook
 * server chose for the same reason. express's default of 100 kB would refuse real pods.
 */
export const MAX_REVIEW_BYTES = 7 * 1024 * 1024;

export interface AppDependencies {
  /** The policy in force; read once per request so a reload applies to the next request. */
  readonly policy: () => Policy;
  readonly logger: Logger;
  /** Undefined when ready to serve; otherwise why not (shutting down), answered on /readyz with 503. */
  readonly notReady: () => string | undefined;
  /**
   * Set when the server asks for client certificates (--client-ca): /validate then answers only
   * a client whose certificate chains to that CA. Probes (/healthz, /readyz) stay open, since the
   * kubelet presents no certificate.
   */
  readonly requireClientCertificate?: boolean;
  readonly observer?: Observer;
  /** Bounds the review bytes held at once (body.ts); a default one when absent. */
  readonly budget?: ByteBudget;
  /** How long an admitted review's body may take to arrive (body.ts); 10 s when absent. */
  readonly bodyTimeoutMs?: number;
  /**
   * True while shutting down: each answer on /validate then carries `Connection: close`, so the API
   * server retires its kept-alive connections here one by one, after a response, rather than finding
   * them closed under a request it has just sent (a POST, which Go's client does not retry).
   */
  readonly draining?: () => boolean;
}

function send(res: ServerResponse, httpStatus: number, response: AdmissionResponse): void {
  const body = JSON.stringify(reviewOf(response));
  // With its length known, the answer goes out in one piece, without chunked framing.
  res.writeHead(httpStatus, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** The request's identity on every log line about it (one object, not a child logger per request). */
function identity(request: AdmissionRequest): { uid: string; namespace: string; name: string; operation: string; dryRun: boolean } {
  return {
    uid: request.uid,
    namespace: request.namespace ?? '',
    name: request.name ?? '',
    operation: request.operation,
    dryRun: request.dryRun === true,
  };
}

/** The components judged, each once (a pod with etcd in two containers names it once). */
function componentsOf(verdict: Verdict): string[] {
  const components: string[] = [];
  for (const r of verdict.results) if (!components.includes(r.component)) components.push(r.component);
  return components;
}

/** The findings an admin acts on (fail and unknown), as the decision line names them. */
function failingRules(verdict: Verdict): { rule: string; component: string; status: string; action: string }[] {
  const failing: { rule: string; component: string; status: string; action: string }[] = [];
  for (const r of verdict.results) {
    for (const f of r.findings)
      if (f.status === 'fail' || f.status === 'unknown')
        failing.push({ rule: f.rule, component: r.component, status: f.status, action: f.effectiveAction });
  }
  return failing;
}

/** Why a Content-Type is refused (415), or undefined for JSON in UTF-8, with any parameters and case. */
function refusedContentType(contentType: string): { status: number; message: string; uid: string } | undefined {
  const [mediaType = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replaceAll('"', '');
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    return { status: 415, uid: '', message: `Content-Type must be application/json (UTF-8), got ${JSON.stringify(contentType)}` };
  }
  return undefined;
}

/** Decodes the body in the order the contract fixes: content type → UTF-8 → JSON → schema. */
function decodeReview(req: ReviewRequest): { review: AdmissionReview } | { status: number; message: string; uid: string } {
  // Read the header itself: req.is() answers null for a request without a body, which would turn
  // an empty body into a misleading 415.
  const refused = refusedContentType(req.headers['content-type'] ?? '');
  if (refused !== undefined) return refused;
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) return { status: 400, uid: '', message: 'request body is empty' };
  if (!isUtf8(body)) return { status: 400, uid: '', message: 'request body is not valid UTF-8' };
  // A leading byte-order mark dropped, as TextDecoder does.
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { status: 400, uid: '', message: `request body is not valid JSON: ${(err as Error).message}` };
  }
  const problems = checkAdmissionReview(parsed);
  if (problems.length > 0) return { status: 400, uid: uidOf(parsed), message: `not a valid AdmissionReview: ${problems.join('; ')}` };
  return { review: parsed as AdmissionReview };
}

/**
 * The webhook's HTTP handler: express's router (express.Router, the `router` package express 5 is
 * built on) with the routes, the body reader and the error handler, as a node:https request
 * listener. Not an express application: `express()` swaps every request's and response's prototype
 * for its own (application.js, `Object.setPrototypeOf`, to give them res.send and friends). On
 * Node.js 20 (V8 11.3), the lowest the package supports, objects whose prototype changed survive
 * young-generation collections — at a steady 1,000 reviews/s, 0.8 MB survived each scavenge against
 * 0.12 MB with the router alone, a full collection every 0.7 s, a p99 of 9–11 ms against 3.2–3.7 ms,
 * twice the CPU per review; on Node.js 24, which the image runs, the swap costs little (the same
 * figures within the noise). docs/performance.md; expressjs/express#5998. The webhook uses none of
 * that sugar: it writes its answers with writeHead/end.
 */
export function createApp(deps: AppDependencies): RequestListener {
  const router = express.Router();

  const observer = deps.observer ?? NO_OBSERVER;
  const seconds = (started: number): number => (performance.now() - started) / 1000;
  const recordError = (started: number, operation = 'unknown', dryRun = false): void => {
    observer.reviewed({ operation, decision: 'error', dryRun, seconds: seconds(started), results: [] });
  };

  /** With --client-ca, /validate answers only a connection whose certificate chains to that CA (401 otherwise). */
  const requireTrustedClient = (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    const socket = req.socket as TLSSocket;
    if (deps.requireClientCertificate !== true || socket.authorized) {
      next();
      return;
    }
    const reason = socket.authorizationError === undefined ? 'no client certificate' : String(socket.authorizationError);
    deps.logger.warn(
      { httpStatus: 401, reason, remoteAddress: socket.remoteAddress },
      'rejected admission request without a trusted client certificate',
    );
    recordError(performance.now());
    send(res, 401, errored('', 401, `a client certificate signed by the configured client CA is required (${reason})`));
  };

  const budget = deps.budget ?? new ByteBudget(defaultBudgetBytes(MAX_REVIEW_BYTES));
  const readReview = readBody(
    { maxBytes: MAX_REVIEW_BYTES, budgetBytes: budget.budgetBytes, bodyTimeoutMs: deps.bodyTimeoutMs ?? 10_000 },
    budget,
  );

  /** Judges one review, its body read, and answers it. */
  const validate = (req: ReviewRequest, res: ServerResponse): void => {
    const started = performance.now();
    const decoded = decodeReview(req);
    if (!('review' in decoded)) {
      deps.logger.warn({ uid: decoded.uid, httpStatus: decoded.status, reason: decoded.message }, 'rejected malformed admission request');
      send(res, decoded.status, errored(decoded.uid, decoded.status, decoded.message));
      recordError(started);
      return;
    }
    const request = decoded.review.request;
    const about = identity(request);
    let outcome: ReturnType<typeof admit>;
    try {
      outcome = admit(request, deps.policy());
    } catch (err) {
      if (err instanceof BadAdmissionRequest) {
        deps.logger.warn({ ...about, httpStatus: err.httpStatus, reason: err.message }, 'rejected malformed admission request');
        send(res, err.httpStatus, errored(request.uid, err.httpStatus, err.message));
      } else {
        // Never allow on an internal error: answer 500 and let the API server's failurePolicy decide.
        deps.logger.error({ ...about, err }, 'internal error while evaluating admission request');
        send(res, 500, errored(request.uid, 500, `internal error: ${(err as Error).message}`));
      }
      recordError(started, about.operation, about.dryRun);
      return;
    }
    const elapsedMs = performance.now() - started;
    // The answer first: the log line and the metrics below are not part of the API server's wait.
    send(res, 200, outcome.response);
    const verdict = outcome.verdict;
    const decision = outcome.response.allowed ? 'allowed' : 'denied';
    // Every decision is logged; at info those an admin acts on (a denial, a failing or unknown rule,
    // a warning), at debug a pod that passes every rule and a request that is not judged. As
    // Gatekeeper (--log-denies) and controller-runtime's webhooks do: a line per passing pod is noise
    // in a cluster's logs; the record of every admission is the API server's audit log, the counts
    // are in the metrics.
    if (verdict === undefined) {
      deps.logger.debug({ ...about, decision, skipped: outcome.skipped, elapsedMs }, 'admission decision');
    } else {
      const rules = failingRules(verdict);
      const noteworthy = decision === 'denied' || (outcome.response.warnings?.length ?? 0) > 0 || rules.length > 0;
      deps.logger[noteworthy ? 'info' : 'debug'](
        { ...about, decision, components: componentsOf(verdict), kubeletMirror: outcome.kubeletMirror, rules, elapsedMs },
        'admission decision',
      );
    }
    observer.reviewed({
      operation: about.operation,
      dryRun: about.dryRun,
      decision,
      seconds: seconds(started),
      results: verdict?.results ?? [],
    });
  };

  const methodNotAllowed = (_req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('Allow', 'POST');
    send(res, 405, errored('', 405, 'only POST is accepted on /validate'));
  };
  const closeWhenDraining = (_req: IncomingMessage, res: ServerResponse, next: Next): void => {
    if (deps.draining?.() === true) res.setHeader('Connection', 'close');
    next();
  };
  const text = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  };
  router.route('/validate').all(closeWhenDraining, requireTrustedClient).post(readReview, validate).all(methodNotAllowed);

  router.get('/healthz', (_req: IncomingMessage, res: ServerResponse) => {
    text(res, 200, 'ok');
  });
  router.get('/readyz', (_req: IncomingMessage, res: ServerResponse) => {
    const reason = deps.notReady();
    text(res, reason === undefined ? 200 : 503, reason ?? 'ok');
  });

  router.use((req: IncomingMessage, res: ServerResponse) => {
    send(res, 404, errored('', 404, `no handler for ${req.method} ${pathOf(req)}; the webhook listens on POST /validate`));
  });

  // Errors from body reading (too large, aborted) and anything unexpected: a status, never a crash.
  const answerError = (err: unknown, req: IncomingMessage & { route?: unknown }, res: ServerResponse): void => {
    const e = err as { status?: number; statusCode?: number; type?: string; message?: string };
    const status = e.status ?? e.statusCode ?? 500;
    const message =
      e.type === 'entity.too.large'
        ? `request body is larger than ${MAX_REVIEW_BYTES} bytes`
        : err instanceof BodyError
          ? err.message
          : status >= 500
            ? 'internal error'
            : (e.message ?? 'bad request');
    if (status >= 500) deps.logger.error({ err, path: pathOf(req) }, 'internal error');
    else deps.logger.warn({ httpStatus: status, reason: message, path: pathOf(req) }, 'rejected request');
    if (req.route !== undefined) recordError(performance.now());
    if (res.headersSent) return;
    send(res, status, errored('', status, message));
  };
  router.use((err: unknown, req: IncomingMessage, res: ServerResponse, _next: Next) => {
    answerError(err, req, res);
  });

  // express's types describe a router mounted in an express application (express's own request and
  // response); run alone it is the `router` package's (req, res, done) on node's request and response
  // (router's index.d.ts), which is how it is called here.
  const dispatch = router as unknown as (req: IncomingMessage, res: ServerResponse, done: Next) => void;
  // The router hands a request back only when the error handler above threw (every request matches
  // the 404 handler): answer 500 without running it again, so that nothing escapes to Node.js.
  const lastResort = (res: ServerResponse): void => {
    if (res.headersSent) res.destroy();
    else send(res, 500, errored('', 500, 'internal error'));
  };
  return (req, res) => {
    dispatch(req, res, () => lastResort(res));
  };
}

/** The request's path without its query, for messages and logs. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
