/**
 * Reading AdmissionReview bodies with a bound on the bytes held at once.
 *
 * Memory: a review is held as bytes, then as a string and a parsed object graph, until its answer is
 * written. The API server sends reviews of up to two 3 MiB objects; 32 of them at once peaked at
 * 380 MiB RSS (npm run bench), above the chart's 256 Mi limit. So the bytes of requests being read
 * or judged are counted against a budget: a request that does not fit waits, unread, in arrival
 * order (its bytes stay in the kernel's socket buffers: TCP flow control holds the sender), and is
 * read when earlier ones are answered. A request is charged its Content-Length up front (the API
 * server always sends one; without it, the largest accepted size), and released when its response
 * is finished or its connection closes.
 *
 * Nothing is shed: a request that waits too long meets the API server's own timeout
 * (timeoutSeconds), and then its failurePolicy decides, as for any slow webhook (docs/http.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getHeapStatistics } from 'node:v8';

/** A request on the webhook's routes: the body reader leaves the raw body in `body`. */
export interface ReviewRequest extends IncomingMessage {
  body?: Buffer;
}

/** The router's continuation (express.Router): next() to go on, next(err) to its error handlers. */
export type Next = (err?: unknown) => void;

/**
 * The default budget: a thirty-second of the heap this process may use, at least one review of the
 * largest size, at most 64 MiB (the chart's 256 Mi limit gives a 192 MiB heap, so 7 MiB: one of the
 * largest reviews at a time, any number of small ones). A review in flight costs about five times its
 * bytes (the string, the parsed object and oldObject, the judgement of both). Measured (npm run bench,
 * 32 UPDATE reviews of 5.9 MiB at once, the chart's heap): an eighth of the heap peaked at 226 MiB RSS
 * on Node.js 20; a sixteenth at 150–156 MiB there but 189–202 MiB on Node.js 24, the image's runtime,
 * whose binary and heap are larger; a thirty-second at 171–184 MiB on Node.js 24 (127–128 on 20), the
 * burst answered as fast (3.6–4.8 s against 3.6–4.5 s: one thread judges one review at a time anyway).
 */
export function defaultBudgetBytes(maxBytes: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(maxBytes, Math.floor(getHeapStatistics().heap_size_limit / 32)));
}

/** The limits the body reader enforces on each request. */
export interface BodyLimits {
  /** Largest body accepted (413 beyond). */
  readonly maxBytes: number;
  /** Body bytes held at once by all requests together; at least maxBytes. */
  readonly budgetBytes: number;
  /**
   * Once admitted, the whole body must arrive within this long (408 otherwise). The API server writes
   * a review at once; without this, a client that declares 7 MiB and sends it a byte at a time would
   * hold its share of the budget until the request timeout (30 s), and a few such clients would stall
   * every review behind them.
   */
  readonly bodyTimeoutMs: number;
}

export interface BudgetStats {
  /** Bytes charged now. */
  readonly inFlightBytes: number;
  /** Highest inFlightBytes seen. */
  readonly peakInFlightBytes: number;
  /** Requests waiting now. */
  readonly queued: number;
  /** Requests that had to wait, since start. */
  readonly queuedTotal: number;
}

/** A body-reading error the router's error handler (app.ts) turns into an HTTP answer (body-parser's shape). */
export class BodyError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
  ) {
    super(message);
  }
}

interface Waiting {
  readonly bytes: number;
  readonly start: () => void;
}

/** FIFO admission of byte charges against a budget. */
export class ByteBudget {
  #inFlight = 0;
  #peak = 0;
  #queuedTotal = 0;
  readonly #waiting: Waiting[] = [];

  constructor(readonly budgetBytes: number) {}

  /** Runs `start` once `bytes` fit (at once, or after earlier requests are released); returns the release. */
  acquire(bytes: number, start: () => void): () => void {
    let released = false;
    let started = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (started) {
        this.#inFlight -= bytes;
        this.#drain();
      } else {
        // Closed while waiting: it leaves the queue without ever being charged.
        const i = this.#waiting.findIndex((w) => w.start === run);
        if (i !== -1) this.#waiting.splice(i, 1);
        this.#drain();
      }
    };
    const run = (): void => {
      started = true;
      this.#charge(bytes);
      start();
    };
    if (this.#waiting.length === 0 && this.#fits(bytes)) run();
    else {
      this.#queuedTotal++;
      this.#waiting.push({ bytes, start: run });
    }
    return release;
  }

  stats(): BudgetStats {
    return { inFlightBytes: this.#inFlight, peakInFlightBytes: this.#peak, queued: this.#waiting.length, queuedTotal: this.#queuedTotal };
  }

  /** Nothing in flight always fits, so a request as large as the budget is never starved. */
  #fits(bytes: number): boolean {
    return this.#inFlight === 0 || this.#inFlight + bytes <= this.budgetBytes;
  }

  #charge(bytes: number): void {
    this.#inFlight += bytes;
    if (this.#inFlight > this.#peak) this.#peak = this.#inFlight;
  }

  #drain(): void {
    while (this.#waiting.length > 0 && this.#fits((this.#waiting[0] as Waiting).bytes)) (this.#waiting.shift() as Waiting).start();
  }
}

/**
 * Middleware of the webhook's router: the raw body as a Buffer in req.body, read within the budget. Lean on purpose
 * (measured in npm run bench against express.raw): the webhook accepts one encoding (identity) and
 * one media type, checked by the handler.
 */
export function readBody(limits: BodyLimits, budget: ByteBudget): (req: ReviewRequest, res: ServerResponse, next: Next) => void {
  return (req, res, next) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      next(
        new BodyError(
          `Content-Encoding ${JSON.stringify(encoding)} is not supported; send the review uncompressed`,
          415,
          'encoding.unsupported',
        ),
      );
      return;
    }
    const declared = req.headers['content-length'];
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      next(new BodyError('invalid Content-Length', 400, 'request.size.invalid'));
      return;
    }
    if (length !== undefined && length > limits.maxBytes) {
      next(new BodyError(`request body is larger than ${limits.maxBytes} bytes`, 413, 'entity.too.large'));
      return;
    }
    // The stream is paused until the budget admits it: nothing is read, TCP holds the sender.
    req.pause();
    const release = budget.acquire(length ?? limits.maxBytes, () => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const deadline = setTimeout(
        () => finish(new BodyError(`request body not received within ${limits.bodyTimeoutMs} ms`, 408, 'request.timeout')),
        limits.bodyTimeoutMs,
      );
      const finish = (err?: BodyError): void => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        req.off('data', onData);
        req.off('end', onEnd);
        if (err !== undefined) {
          // Stop reading; the answer (413/400) is sent and the connection closed after it.
          res.setHeader('Connection', 'close');
          next(err);
          return;
        }
        req.body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        next();
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > limits.maxBytes) finish(new BodyError(`request body is larger than ${limits.maxBytes} bytes`, 413, 'entity.too.large'));
        else chunks.push(chunk);
      };
      // An aborted request: stop; its connection is gone and the budget is released on close.
      const onError = (): void => {
        done = true;
        clearTimeout(deadline);
        req.off('data', onData);
        req.off('end', onEnd);
      };
      const onEnd = (): void => {
        if (length !== undefined && size !== length)
          finish(new BodyError('request body is shorter than its Content-Length', 400, 'request.size.invalid'));
        else finish();
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.once('error', onError);
      req.resume();
    });
    // Released when the answer is written, or when the connection goes (aborted, timed out).
    res.once('finish', release);
    res.once('close', release);
  };
}
