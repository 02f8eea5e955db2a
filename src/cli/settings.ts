/**
 * Settings of the commands, from flags first, then ETCD_TLS_GUARD_* environment variables, then
 * defaults. The environment is passed in: this module and main.ts's call are the only readers of
 * process.env.
 */
import { join } from 'node:path';
import { DEFAULT_DEV_SANS, DEV_FILES } from '../certs/dev.js';

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
  readonly configPath?: string;
  readonly logLevel: string;
}

function pick(flag: string | undefined, env: Env, name: string): string | undefined {
  if (flag !== undefined) return flag;
  const v = env[name];
  return v !== undefined && v !== '' ? v : undefined;
}

export function resolveServeSettings(flags: Readonly<Record<string, string | undefined>>, env: Env): ServeSettings {
  const host = pick(flags.host, env, 'ETCD_TLS_GUARD_HOST') ?? '127.0.0.1';
  const portText = pick(flags.port, env, 'ETCD_TLS_GUARD_PORT') ?? '8443';
  if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got ${JSON.stringify(portText)}`);
  const certFile = pick(flags['tls-cert-file'], env, 'ETCD_TLS_GUARD_TLS_CERT_FILE');
  const keyFile = pick(flags['tls-key-file'], env, 'ETCD_TLS_GUARD_TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert-file and --tls-key-file go together');
  const logLevel = pick(flags['log-level'], env, 'ETCD_TLS_GUARD_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  const configPath = pick(flags.config, env, 'ETCD_TLS_GUARD_CONFIG');
  const base = { host, port: Number(portText), logLevel, ...(configPath !== undefined ? { configPath } : {}) };
  if (certFile !== undefined && keyFile !== undefined) return { ...base, certFile, keyFile };
  return { ...base, certFile: join(DEV_CERT_DIR, DEV_FILES.cert), keyFile: join(DEV_CERT_DIR, DEV_FILES.key), devCertDir: DEV_CERT_DIR };
}

export function resolveDevSans(flagSans: readonly string[] | undefined, env: Env): string[] {
  if (flagSans !== undefined && flagSans.length > 0) return [...flagSans];
  const fromEnv = env.ETCD_TLS_GUARD_DEV_SANS;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return [...DEFAULT_DEV_SANS];
}

export function resolveConfigPath(flag: string | undefined, env: Env): string | undefined {
  return pick(flag, env, 'ETCD_TLS_GUARD_CONFIG');
}
