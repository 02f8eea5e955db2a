/**
 * Settings of the commands, from flags first, then ETCD_TLS_GUARD_* environment variables, then
 * defaults. The environment is passed in: this module and main.ts's call are the only readers of
 * process.env.
 */
import { join } from 'node:path';
import { DEFAULT_DEV_SANS, DEV_FILES } from '../certs/dev-files.js';
import { DEFAULT_MANAGED_SETTINGS, type ManagedCertificateSettings } from '../certs/managed-state.js';
import type { ReportApiChoice } from '../kube/api.js';

export type Env = Readonly<Record<string, string | undefined>>;

export class UsageError extends Error {
  override name = 'UsageError';
}

export const DEV_CERT_DIR = 'certs-dev';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Certificate and key files (given, or development ones made on first run in devCertDir). */
export interface CertificateFileSettings {
  readonly certFile: string;
  readonly keyFile: string;
  /** Set when no certificate was configured: dev certificates are made here on first run. */
  readonly devCertDir?: string;
}

/** Certificates the webhook manages itself in a Secret, with the caBundle of its webhook configuration. */
export interface ManagedCertificateFlags {
  readonly namespace: string;
  readonly secretName: string;
  readonly webhookConfigurationName: string;
  readonly settings: ManagedCertificateSettings;
  readonly kubeconfig?: string;
}

export type ServeSettings = ServeCommonSettings & (CertificateFileSettings | { readonly managedCertificates: ManagedCertificateFlags });

interface ServeCommonSettings {
  readonly host: string;
  readonly port: number;
  readonly clientCaFile?: string;
  readonly configPath?: string;
  readonly logLevel: string;
  /** Undefined when disabled (`--metrics-port 0`, as controller-runtime's bind address "0"). */
  readonly metricsPort?: number;
  readonly reloadIntervalMs: number;
  readonly shutdownDelayMs: number;
  readonly drainTimeoutMs: number;
  readonly audit?: {
    readonly intervalMs: number;
    readonly namespaces: readonly string[] | 'all';
    readonly policyReport: boolean;
    readonly reportApi: ReportApiChoice;
  };
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
            reportApi: reportApiChoice(pick(flags['report-api'], env, 'ETCD_TLS_GUARD_REPORT_API')),
          },
        }
      : {}),
  };
  const managed = managedCertificateFlags(flags, env);
  if (managed !== undefined) {
    if (certFile !== undefined) throw new UsageError('--certificate-secret (managed certificates) and --tls-cert-file exclude each other');
    return { ...base, managedCertificates: managed };
  }
  if (certFile !== undefined && keyFile !== undefined) return { ...base, certFile, keyFile };
  return { ...base, certFile: join(DEV_CERT_DIR, DEV_FILES.cert), keyFile: join(DEV_CERT_DIR, DEV_FILES.key), devCertDir: DEV_CERT_DIR };
}

/** `30d`, `720h`, `1h30m`, `90s` → milliseconds (Go's duration units, and d for days). */
export function parseDuration(text: string): number | undefined {
  const UNITS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };
  if (!/^(\d+(\.\d+)?[dhms])+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)([dhms])/g)) ms += Number(m[1]) * (UNITS[m[2] as string] ?? 0);
  return ms;
}

function duration(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000)
    throw new UsageError(`${flag} must be a duration of at least 1s such as 8760h, 90d or 30s, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * The managed mode's settings, or undefined when --certificate-secret is not given. The namespace
 * is the flag's, else the pod's own (the service account's namespace file, as client-go reads it).
 */
function managedCertificateFlags(flags: Readonly<Record<string, string | undefined>>, env: Env): ManagedCertificateFlags | undefined {
  const secret = pick(flags['certificate-secret'], env, 'ETCD_TLS_GUARD_CERTIFICATE_SECRET');
  if (secret === undefined) return undefined;
  const m = /^(?:([a-z0-9-]+)\/)?([a-z0-9.-]+)$/.exec(secret);
  if (m === null) throw new UsageError(`--certificate-secret must be NAME or NAMESPACE/NAME, got ${JSON.stringify(secret)}`);
  const namespace = m[1] ?? pick(undefined, env, 'POD_NAMESPACE');
  if (namespace === undefined)
    throw new UsageError('--certificate-secret needs a namespace: NAMESPACE/NAME, or POD_NAMESPACE set (the chart sets it)');
  const webhookConfigurationName = pick(flags['webhook-configuration'], env, 'ETCD_TLS_GUARD_WEBHOOK_CONFIGURATION');
  if (webhookConfigurationName === undefined)
    throw new UsageError('--certificate-secret needs --webhook-configuration NAME (whose caBundle it keeps)');
  const hosts = (pick(flags['certificate-hosts'], env, 'ETCD_TLS_GUARD_CERTIFICATE_HOSTS') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  if (hosts.length === 0)
    throw new UsageError(
      '--certificate-secret needs --certificate-hosts LIST: the names the API server calls the webhook by (SERVICE.NAMESPACE.svc)',
    );
  const d = DEFAULT_MANAGED_SETTINGS;
  const settings: ManagedCertificateSettings = {
    hosts,
    caValidityMs: duration(pick(flags['ca-validity'], env, 'ETCD_TLS_GUARD_CA_VALIDITY'), '--ca-validity', d.caValidityMs),
    caRenewBeforeMs: duration(
      pick(flags['ca-renew-before'], env, 'ETCD_TLS_GUARD_CA_RENEW_BEFORE'),
      '--ca-renew-before',
      d.caRenewBeforeMs,
    ),
    certValidityMs: duration(
      pick(flags['certificate-validity'], env, 'ETCD_TLS_GUARD_CERTIFICATE_VALIDITY'),
      '--certificate-validity',
      d.certValidityMs,
    ),
    certRenewBeforeMs: duration(
      pick(flags['certificate-renew-before'], env, 'ETCD_TLS_GUARD_CERTIFICATE_RENEW_BEFORE'),
      '--certificate-renew-before',
      d.certRenewBeforeMs,
    ),
    settleMs: d.settleMs,
    retireAfterMs: duration(pick(flags['ca-retire-after'], env, 'ETCD_TLS_GUARD_CA_RETIRE_AFTER'), '--ca-retire-after', d.retireAfterMs),
  };
  if (settings.caRenewBeforeMs >= settings.caValidityMs) throw new UsageError('--ca-renew-before must be shorter than --ca-validity');
  if (settings.certRenewBeforeMs >= settings.certValidityMs)
    throw new UsageError('--certificate-renew-before must be shorter than --certificate-validity');
  const kubeconfig = pick(flags.kubeconfig, env, 'ETCD_TLS_GUARD_KUBECONFIG');
  return { namespace, secretName: m[2] as string, webhookConfigurationName, settings, ...(kubeconfig !== undefined ? { kubeconfig } : {}) };
}

/** --report-api: auto (default: what the cluster serves, OpenReports first), openreports or wgpolicyk8s. */
export function reportApiChoice(text: string | undefined): ReportApiChoice {
  const value = text ?? 'auto';
  if (value !== 'auto' && value !== 'openreports' && value !== 'wgpolicyk8s')
    throw new UsageError(`--report-api must be auto, openreports or wgpolicyk8s, got ${JSON.stringify(value)}`);
  return value;
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
