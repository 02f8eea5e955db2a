import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout, one object per event, with constant keys (uid, namespace, name, decision,
 * rules...). Never given environment values or secrets: findings carry only a flag's own value.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Asynchronous writes to stdout: under load, lines that pile up while a write is in flight go out
  // together (one write per batch instead of one per decision); when idle, each line is written at
  // once (no minimum buffer). A pending write keeps the process alive, so nothing is lost at exit.
  destination ??= pino.destination({ dest: 1, sync: false });
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
