import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout, one object per event, with constant keys (uid, namespace, name, decision,
 * rules...). Never given environment values or secrets: findings carry only a flag's own value.
 */
/** Bytes of log lines written to stdout together; see createLogger. */
export const LOG_BATCH_BYTES = 4096;
/** The longest a log line waits in the buffer before it is written. */
export const LOG_FLUSH_MS = 100;

export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Asynchronous, buffered writes to stdout: lines go out 4 KiB at a time (about a dozen decision
  // lines) or within 100 ms, whichever comes first. One write per line cost the webhook about 10 µs
  // of CPU a line (a thread-pool round trip each: npm run bench, docs/performance.md); batched, 6.
  // pino writes what is buffered synchronously when the process exits, also on a fatal error; only
  // a SIGKILL (an OOM kill) loses the last 100 ms of lines.
  destination ??= pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });
  return pino(
    {
      level,
      base: { service: 'etcd-tls-guard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
