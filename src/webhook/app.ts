import express, { type NextFunction, type Request, type Response } from 'express';
import { isUtf8 } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { admit, BadAdmissionRequest, type Judge } from './admission.js';
import { checkAdmissionReview, errored, reviewOf, uidOf, type AdmissionRequest, type AdmissionResponse, type AdmissionReview } from '../input/admission-review.js';
import type { Verdict } from '../judgement/judge.js';
import type { Policy } from '../policy/policy.js';
import { BodyError, ByteBudget, defaultBudgetBytes, readBody } from './body.js';
import { NO_OBSERVER, type Observer, type ReviewEvent } from './metrics.js';

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
  /** How pods are judged: judgePod when absent, or a VerdictCache's memo of it (runtime.ts). */
  readonly judge?: Judge;
}


/** The webhook's path, as express would match the route '/validate' (case-insensitive, non-strict). */
function isValidatePath(path: string): boolean {
  return path === '/validate' || /^\/validate\/?$/i.test(path);
}

function send(res: Response, httpStatus: number, response: AdmissionResponse): void {
  const body = JSON.stringify(reviewOf(response));
  // With its length known, the answer goes out in one piece, without chunked framing.
  res.writeHead(httpStatus, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** The request's identity on every log line about it (one object, not a child logger per request). */
function identity(request: AdmissionRequest): { uid: string; namespace: string; name: string; operation: string; dryRun: boolean } {
  return { uid: request.uid, namespace: request.namespace ?? '', name: request.name ?? '', operation: request.operation, dryRun: request.dryRun === true };
}

/** The components judged, each once (a pod with etcd in two containers names it once). */
function componentsOf(verdict: Verdict): string[] {
  const components: string[] = [];
  for (const r of verdict.results) if (!components.includes(r.component)) components.push(r.component);
  return components;
}

/** Whether any finding is one an admin acts on (fail or unknown): checked on every review, allocates nothing. */
function hasFailingRule(verdict: Verdict): boolean {
  for (const r of verdict.results) for (const f of r.findings) if (f.status === 'fail' || f.status === 'unknown') return true;
  return false;
}

/** The findings an admin acts on (fail and unknown), as the decision line names them. */
function failingRules(verdict: Verdict): { rule: string; component: string; status: string; action: string }[] {
  const failing: { rule: string; component: string; status: string; action: string }[] = [];
  for (const r of verdict.results) {
    for (const f of r.findings) if (f.status === 'fail' || f.status === 'unknown') failing.push({ rule: f.rule, component: r.component, status: f.status, action: f.effectiveAction });
  }
  return failing;
}

/** Why a Content-Type is refused (415), or undefined for JSON in UTF-8, with any parameters and case. */
function refusedContentType(contentType: string): { status: number; message: string; uid: string } | undefined {
  const [mediaType = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replaceAll('"', '');
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    return { status: 415, uid: '', message: `Content-Type must be application/json (UTF-8), got ${JSON.stringify(contentType)}` };
  }
  return undefined;
}

/** Decodes the body in the order the contract fixes: content type → UTF-8 → JSON → schema. */
function decodeReview(req: Request): { review: AdmissionReview } | { status: number; message: string; uid: string } {
  // Read the header itself: req.is() answers null for a request without a body, which would turn
  // an empty body into a misleading 415.
  const contentType = req.headers['content-type'] ?? '';
  // What the API server sends (k8s.io/apiserver webhook client), checked first without parsing.
  if (contentType !== 'application/json') {
    const refused = refusedContentType(contentType);
    if (refused !== undefined) return refused;
  }
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) return { status: 400, uid: '', message: 'request body is empty' };
  // Decoded, then validated only where it could be invalid: the decoder puts U+FFFD for every
  // malformed sequence, so a text without one came from valid UTF-8 (a review is ASCII, and V8
  // answers that indexOf on a one-byte string at once); with one, the bytes are checked (simdutf).
  // A third of a fatal TextDecoder's cost (--cpu-prof at 2,000 reviews/s), and without the separate
  // validation pass over every body. A leading byte-order mark dropped, as TextDecoder does.
  let text = body.toString('utf8');
  if (text.includes('\uFFFD') && !isUtf8(body)) return { status: 400, uid: '', message: 'request body is not valid UTF-8' };
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
 * The request and response classes Node's server should construct for this app: subclasses of
 * Node's own, whose prototypes become express's (app.request, app.response).
 *
 * Why express's prototypes from the start: express 5 gives every request and response its
 * prototype when it starts handling them (application.js, app.handle:
 * `Object.setPrototypeOf(req, this.request)`). V8 then keeps each request's objects alive through
 * young-generation collections: measured with --trace-gc at 1,000 reviews/s, every scavenge copied
 * and promoted about 10 KiB per request and took 4–15 ms, which was the p99 of express (13 ms,
 * against 1.5 ms without express). Constructed with express's prototypes, the swap changes nothing
 * (V8 returns early when the prototype is already the one asked for).
 *
 * Why subclasses (`class … extends IncomingMessage`), not plain functions that call Node's with
 * another prototype: V8 sizes an object's in-object fields from its constructor, and for a derived
 * class it counts the base constructor's fields too. Built by a plain wrapper function, a request
 * had 10 in-object fields and the rest in a backing store grown as properties were added, and after
 * express and the router had added theirs, both the request and the response were in dictionary
 * mode (%DebugPrint, Node.js 20): every property read a hash lookup, in Node's HTTP code as in
 * ours. As subclasses, both keep fast properties, all of them in the object (34 and 45 fields).
 * (node:http createServer options IncomingMessage and ServerResponse, which node:https passes on;
 * express documents app.request and app.response as the prototypes it gives requests and responses.)
 */
export function expressClasses(app: express.Express): { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } {
  class ExpressRequest extends IncomingMessage {}
  class ExpressResponse extends ServerResponse {}
  app.request = adoptPrototype(ExpressRequest.prototype, app.request) as typeof app.request;
  app.response = adoptPrototype(ExpressResponse.prototype, app.response) as typeof app.response;
  return { IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse as typeof ServerResponse };
}

/**
 * Makes a class's prototype stand in for one of express's: the same parent (express's request or
 * response methods) and the same own properties (express sets `app` on it). Returns it.
 */
function adoptPrototype(classPrototype: object, expressPrototype: object): object {
  Object.setPrototypeOf(classPrototype, Object.getPrototypeOf(expressPrototype) as object | null);
  Object.defineProperties(classPrototype, Object.getOwnPropertyDescriptors(expressPrototype));
  return classPrototype;
}

export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const observer = deps.observer ?? NO_OBSERVER;
  // performance.now(): monotonic, sub-microsecond, and a plain number (hrtime.bigint() allocates).
  const seconds = (started: number): number => (performance.now() - started) / 1000;
  const record = (event: Omit<ReviewEvent, 'results'>): void => {
    observer.reviewed({ ...event, results: [] });
  };

  /** Whether the connection presents a certificate from --client-ca; answers 401 when it does not. */
  const trustedClient = (req: Request, res: Response): boolean => {
    const socket = req.socket as TLSSocket;
    if (socket.authorized) return true;
    const reason = socket.authorizationError === undefined ? 'no client certificate' : String(socket.authorizationError);
    deps.logger.warn({ httpStatus: 401, reason, remoteAddress: socket.remoteAddress }, 'rejected admission request without a trusted client certificate');
    record({ operation: 'unknown', decision: 'error', dryRun: false, seconds: 0 });
    send(res, 401, errored('', 401, `a client certificate signed by the configured client CA is required (${reason})`));
    return false;
  };

  const judge = deps.judge;
  const budget = deps.budget ?? new ByteBudget(defaultBudgetBytes(MAX_REVIEW_BYTES));
  const readReview = readBody({ maxBytes: MAX_REVIEW_BYTES, budgetBytes: budget.budgetBytes, bodyTimeoutMs: deps.bodyTimeoutMs ?? 10_000 }, budget);

  /** Judges one review, its body read, and answers it. */
  const validate = (req: Request, res: Response): void => {
    const started = performance.now();
    const decoded = decodeReview(req);
    if (!('review' in decoded)) {
      deps.logger.warn({ uid: decoded.uid, httpStatus: decoded.status, reason: decoded.message }, 'rejected malformed admission request');
      send(res, decoded.status, errored(decoded.uid, decoded.status, decoded.message));
      record({ operation: 'unknown', decision: 'error', dryRun: false, seconds: seconds(started) });
      return;
    }
    const request = decoded.review.request;
    const operation = request.operation;
    const dryRun = request.dryRun === true;
    let outcome: ReturnType<typeof admit>;
    try {
      outcome = admit(request, deps.policy(), judge);
    } catch (err) {
      const about = identity(request);
      if (err instanceof BadAdmissionRequest) {
        deps.logger.warn({ ...about, httpStatus: err.httpStatus, reason: err.message }, 'rejected malformed admission request');
        send(res, err.httpStatus, errored(request.uid, err.httpStatus, err.message));
      } else {
        // Never allow on an internal error: answer 500 and let the API server's failurePolicy decide.
        deps.logger.error({ ...about, err }, 'internal error while evaluating admission request');
        send(res, 500, errored(request.uid, 500, `internal error: ${(err as Error).message}`));
      }
      record({ operation, dryRun, decision: 'error', seconds: seconds(started) });
      return;
    }
    const elapsedMs = performance.now() - started;
    // The answer first: the log line and the metrics below are not part of the API server's wait.
    send(res, 200, outcome.response);
    const verdict = outcome.verdict;
    const decision = outcome.response.allowed ? 'allowed' : 'denied';
    // Every decision is logged; at info those an admin acts on (a denial, a failing or unknown rule,
    // a warning), at debug a pod that passes every rule and a request that is not a pod's. As
    // Gatekeeper (--log-denies) and controller-runtime's webhooks do: a line per passing pod is noise
    // in a cluster's logs, and it was the largest cost of a review answered from the verdict cache
    // (15–20 µs of CPU of the ~105 a cached review cost under load: docs/performance.md). The record
    // of every admission is the API server's audit log; the counts are in the metrics.
    // Written field by field, not spread from an identity object: on Node.js 20 an object literal
    // that starts with a spread has no enum cache, and pino serialised it through V8's slow path
    // (11 µs a line instead of 2).
    if (verdict === undefined) {
      if (deps.logger.isLevelEnabled('debug')) {
        deps.logger.debug(
          { uid: request.uid, namespace: request.namespace ?? '', name: request.name ?? '', operation, dryRun, decision, skipped: outcome.skipped, elapsedMs },
          'admission decision',
        );
      }
    } else {
      const noteworthy = decision === 'denied' || (outcome.response.warnings?.length ?? 0) > 0 || hasFailingRule(verdict);
      if (noteworthy || deps.logger.isLevelEnabled('debug')) {
        deps.logger[noteworthy ? 'info' : 'debug'](
          {
            uid: request.uid,
            namespace: request.namespace ?? '',
            name: request.name ?? '',
            operation,
            dryRun,
            decision,
            components: componentsOf(verdict),
            kubeletMirror: outcome.kubeletMirror,
            rules: failingRules(verdict),
            elapsedMs,
          },
          'admission decision',
        );
      }
    }
    observer.reviewed({ operation, dryRun, decision, seconds: seconds(started), results: verdict?.results ?? [] });
  };

  // /validate is a root middleware that matches its own path, not app.post('/validate'): express's
  // router enters a root layer without running a path pattern, and there is no Route to dispatch
  // through. 9–12 µs less per review with the CPU caches cold, as a review meets them behind the API
  // server, where a no-op webhook adds about 500 µs (docs/performance.md). Still express: its
  // router, its error handler, its request and response. The path is matched as express matches
  // routes: without the query (the API server adds ?timeout=), in any case, with or without a
  // trailing slash.
  app.use((req, res, next) => {
    if (!isValidatePath(req.path)) {
      next();
      return;
    }
    if (deps.requireClientCertificate === true && !trustedClient(req, res)) return;
    if (req.method !== 'POST') {
      res.set('Allow', 'POST');
      send(res, 405, errored('', 405, 'only POST is accepted on /validate'));
      return;
    }
    readReview(req, res, (err?: unknown) => {
      if (err !== undefined) {
        next(err);
        return;
      }
      // Called from the body stream's 'end' event, outside the router's own try/catch: anything
      // unexpected goes to the error handler (500), as a route handler's would.
      try {
        validate(req, res);
      } catch (unexpected) {
        next(unexpected);
      }
    });
  });

  // After /validate: express tries its layers in order, and every review passes the ones before it.
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const reason = deps.notReady();
    if (reason === undefined) res.type('text/plain').send('ok');
    else res.status(503).type('text/plain').send(reason);
  });

  app.use((req, res) => {
    send(res, 404, errored('', 404, `no handler for ${req.method} ${req.path}; the webhook listens on POST /validate`));
  });

  // Errors from body reading (too large, aborted) and anything unexpected: a status, never a crash.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
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
    if (status >= 500) deps.logger.error({ err, path: req.path }, 'internal error');
    else deps.logger.warn({ httpStatus: status, reason: message, path: req.path }, 'rejected request');
    if (isValidatePath(req.path)) record({ operation: 'unknown', decision: 'error', dryRun: false, seconds: 0 });
    if (res.headersSent) return;
    send(res, status, errored('', status, message));
  });

  return app;
}
