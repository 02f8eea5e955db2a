/**
 * Settings of the commands, from flags first, then ETCD_TLS_GUARD_* environment variables, then
 * defaults. The environment is passed in: this module and main.ts's call are the only readers of
 * process.env.
 */
import { join } from 'node:path';
import { DEFAULT_DEV_SANS, DEV_FILES } from '../certs/dev-files.js';

export type Env = Readonly<Record<string, string | undefined>>;

export class UsageError extends Error {
  override name = 'UsageError';
}

export const DEV_CERT_DIR = 'certs-dev';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ServeSettings {
  readonly host: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  /** Set when no certificate was configured: dev certificates are made here on first run. */
  readonly devCertDir?: string;
  readonly clientCaFile?: string;
  readonly configPath?: string;
  readonly logLevel: string;
  /** Undefined when disabled (`--metrics-port 0`, as controller-runtime's bind address "0"). */
  readonly metricsPort?: number;
  readonly reloadIntervalMs: number;
  readonly shutdownDelayMs: number;
  readonly drainTimeoutMs: number;
  readonly audit?: { readonly intervalMs: number; readonly namespaces: readonly string[] | 'all'; readonly policyReport: boolean };
}

function pick(flag: string | undefined, env: Env, name: string): string | undefined {
  if (flag !== undefined) return flag;
  const v = env[name];
  return v !== undefined && v !== '' ? v : undefined;
}

function port(text: string, flag: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 65535)
    throw new UsageError(`${flag} must be a number from 0 to 65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

function seconds(text: string, flag: string, min: number): number {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || Number(text) < min || Number(text) > 3600) {
    throw new UsageError(`${flag} must be a number of seconds from ${min} to 3600, got ${JSON.stringify(text)}`);
  }
  return Math.round(Number(text) * 1000);
}

export function resolveServeSettings(flags: Readonly<Record<string, string | undefined>>, env: Env): ServeSettings {
  const host = pick(flags.host, env, 'ETCD_TLS_GUARD_HOST') ?? '127.0.0.1';
  const webhookPort = port(pick(flags.port, env, 'ETCD_TLS_GUARD_PORT') ?? '8443', '--port');
  const metricsPort = port(pick(flags['metrics-port'], env, 'ETCD_TLS_GUARD_METRICS_PORT') ?? '9090', '--metrics-port');
  const reloadIntervalMs = seconds(pick(flags['reload-interval'], env, 'ETCD_TLS_GUARD_RELOAD_INTERVAL') ?? '10', '--reload-interval', 0.1);
  const shutdownDelayMs = seconds(pick(flags['shutdown-delay'], env, 'ETCD_TLS_GUARD_SHUTDOWN_DELAY') ?? '0', '--shutdown-delay', 0);
  const drainTimeoutMs = seconds(pick(flags['drain-timeout'], env, 'ETCD_TLS_GUARD_DRAIN_TIMEOUT') ?? '10', '--drain-timeout', 0);
  const clientCaFile = pick(flags['client-ca'], env, 'ETCD_TLS_GUARD_CLIENT_CA_FILE');
  const auditIntervalMs = seconds(pick(flags['audit-interval'], env, 'ETCD_TLS_GUARD_AUDIT_INTERVAL') ?? '0', '--audit-interval', 0);
  const auditNamespaces = (pick(flags['audit-namespaces'], env, 'ETCD_TLS_GUARD_AUDIT_NAMESPACES') ?? 'kube-system')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const policyReportText = pick(flags['policy-report'], env, 'ETCD_TLS_GUARD_POLICY_REPORT') ?? 'false';
  if (policyReportText !== 'true' && policyReportText !== 'false')
    throw new UsageError(`--policy-report must be true or false, got ${JSON.stringify(policyReportText)}`);
  if (auditIntervalMs > 0 && auditIntervalMs < 10_000) throw new UsageError('--audit-interval must be 0 (off) or at least 10 seconds');
  const certFile = pick(flags['tls-cert-file'], env, 'ETCD_TLS_GUARD_TLS_CERT_FILE');
  const keyFile = pick(flags['tls-key-file'], env, 'ETCD_TLS_GUARD_TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert-file and --tls-key-file go together');
  const logLevel = pick(flags['log-level'], env, 'ETCD_TLS_GUARD_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  const configPath = pick(flags.config, env, 'ETCD_TLS_GUARD_CONFIG');
  const base = {
    host,
    port: webhookPort,
    logLevel,
    reloadIntervalMs,
    shutdownDelayMs,
    drainTimeoutMs,
    ...(metricsPort !== 0 ? { metricsPort } : {}),
    ...(configPath !== undefined ? { configPath } : {}),
    ...(clientCaFile !== undefined ? { clientCaFile } : {}),
    ...(auditIntervalMs > 0
      ? {
          audit: {
            intervalMs: auditIntervalMs,
            namespaces: auditNamespaces.includes('*') ? ('all' as const) : auditNamespaces,
            policyReport: policyReportText === 'true',
          },
        }
      : {}),
  };
  if (certFile !== undefined && keyFile !== undefined) return { ...base, certFile, keyFile };
  return { ...base, certFile: join(DEV_CERT_DIR, DEV_FILES.cert), keyFile: join(DEV_CERT_DIR, DEV_FILES.key), devCertDir: DEV_CERT_DIR };
}

export function resolveDevSans(flagSans: readonly string[] | undefined, env: Env): string[] {
  if (flagSans !== undefined && flagSans.length > 0) return [...flagSans];
  const fromEnv = env.ETCD_TLS_GUARD_DEV_SANS;
  if (fromEnv !== undefined && fromEnv.trim() !== '')
    return fromEnv
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  return [...DEFAULT_DEV_SANS];
}

export function resolveConfigPath(flag: string | undefined, env: Env): string | undefined {
  return pick(flag, env, 'ETCD_TLS_GUARD_CONFIG');
}
