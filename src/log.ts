import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout, one object per event, with constant keys (uid, namespace, name, decision,
 * rules...). Never given environment values or secrets: findings carry only a flag's own value.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
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
