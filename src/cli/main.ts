#!/usr/bin/env node
import { closeSync, openSync, realpathSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ClusterError } from '../kube/errors.js';
import { CertificateError } from '../certs/serving.js';
import { RULES, rulesMarkdown } from '../rules/rules.js';
import { createLogger } from '../log.js';
import type { Logger } from 'pino';
import { DEFAULT_POLICY, loadPolicyFile, PolicyError, type Policy } from '../policy/policy.js';
import { formatJson, formatText, jsonSink, textSink } from '../report/format.js';
import { exitCodeOf, filteredSink, type ReportSink } from '../report/report.js';
import { junitSink } from '../report/junit.js';
import { sarifSink } from '../report/sarif.js';
import { scanInputs } from '../scan/scan.js';
// Loaded by the commands that use them: express, pino's transport and node-forge cost every other
// command's start-up (etcd-tls-guard node as a one-off Job: ~0.3 s).
import type { Companion, ServingCertificates } from '../webhook/runtime.js';
import {
  DEV_CERT_DIR,
  parseDuration,
  resolveConfigPath,
  resolveDevSans,
  reportApiChoice,
  resolveServeSettings,
  UsageError,
  type Env,
  type ServeSettings,
} from './settings.js';
import { HELP, VERSION } from './help.js';

/**
 * Exit codes, documented in the README and --help: 0 ok, 1 an enforced rule fails (scan, audit),
 * 2 usage or input error, 3 an unexpected internal error (a bug: one line on stderr, never a stack).
 */
export const EXIT = { ok: 0, denied: 1, usage: 2, internal: 3, nothingChecked: 4 } as const;

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Env;
  readonly readStdin: () => Promise<string>;
  /** Standard error is a terminal: a progress line there (rewritten in place; '' clears it). */
  readonly progress?: { readonly line: (text: string) => void; readonly reportToTerminal: boolean };
}

function parse(command: string, args: string[], options: ParseArgsConfig['options']): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nRun 'etcd-tls-guard ${command} --help' for usage.`);
  }
}

async function loadPolicy(path: string | undefined): Promise<Policy> {
  return path === undefined ? DEFAULT_POLICY : loadPolicyFile(path);
}

const STATUSES = ['fail', 'unknown', 'pass', 'not-applicable'] as const;
const ACTIONS = ['enforce', 'warn', 'audit'] as const;

/** A comma-separated list of values from a fixed set (`--status fail,unknown`). */
function listOption(option: string, value: string | undefined, allowed: readonly string[]): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((v) => v.trim());
  const wrong = items.filter((v) => !allowed.includes(v));
  if (wrong.length > 0 || items.length === 0)
    throw new UsageError(`--${option} takes a comma-separated list of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  return new Set(items);
}

/** Where a report goes: standard output, or a file (--output), in chunks of about 64 KiB. */
function reportWriter(io: Io, output: string | undefined): { write: (text: string) => void; close: () => void } {
  let fd: number | undefined;
  if (output !== undefined) {
    try {
      fd = openSync(output, 'w');
    } catch (err) {
      throw new UsageError(`cannot write --output ${output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let pending = '';
  const flush = (): void => {
    if (pending === '') return;
    if (fd !== undefined) writeSync(fd, pending);
    else io.out(pending);
    pending = '';
  };
  return {
    write: (text) => {
      pending += text;
      if (pending.length >= 65_536) flush();
    },
    close: () => {
      flush();
      if (fd !== undefined) closeSync(fd);
    },
  };
}

async function scanCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('scan', args, {
    config: { type: 'string' },
    format: { type: 'string', default: 'text' },
    output: { type: 'string', short: 'o' },
    quiet: { type: 'boolean', short: 'q', default: false },
    status: { type: 'string' },
    action: { type: 'string' },
    exclude: { type: 'string', multiple: true },
    strict: { type: 'boolean', default: false },
  });
  if (values.help === true) {
    io.out(HELP.scan as string);
    return EXIT.ok;
  }
  const format = values.format as string;
  if (!['text', 'json', 'sarif', 'junit'].includes(format))
    throw new UsageError(`--format must be text, json, sarif or junit, got ${JSON.stringify(format)}`);
  if (positionals.length === 0)
    throw new UsageError(
      "scan needs at least one PATH (a file, a directory, or - for standard input)\nRun 'etcd-tls-guard scan --help' for usage.",
    );
  const statuses = listOption('status', values.status as string | undefined, STATUSES);
  const actions = listOption('action', values.action as string | undefined, ACTIONS);
  const policy = await loadPolicy(resolveConfigPath(values.config as string | undefined, io.env));
  const output = values.output as string | undefined;
  // Written as it is made: a large scan holds neither its inputs nor its report (JUnit holds its
  // test cases, since the counts come first).
  const out = reportWriter(io, output);
  const sink =
    format === 'json'
      ? jsonSink(out.write)
      : format === 'sarif'
        ? sarifSink(out.write, { version: VERSION, statuses: statuses ?? new Set(['fail']), root: process.cwd() })
        : format === 'junit'
          ? junitSink(out.write)
          : textSink(out.write);
  // A progress line on a terminal, for long scans, when the report does not go to that terminal.
  const progress = io.progress !== undefined && (output !== undefined || io.progress.reportToTerminal === false) ? io.progress : undefined;
  let last = 0;
  // What was read but not checked: documents without apiVersion/kind, templates (--strict fails on them).
  let unchecked = 0;
  const shown = filteredSink(sink, { statuses, actions, quiet: values.quiet === true });
  const counted: ReportSink = {
    row: (r) => {
      if (r.skipped !== undefined && r.kind === null) unchecked++;
      shown.row(r);
    },
    finish: (errors, summary) => shown.finish(errors, summary),
  };
  const outcome = await scanInputs(positionals, io.readStdin, policy, counted, {
    exclude: (values.exclude as string[] | undefined) ?? [],
    ...(progress !== undefined
      ? {
          progress: (n: number) => {
            const now = Date.now();
            if (now - last < 200) return;
            last = now;
            progress.line(`scanned ${n} file${n === 1 ? '' : 's'}…`);
          },
        }
      : {}),
  });
  progress?.line('');
  out.close();
  for (const e of outcome.errors)
    if (format !== 'text' || output !== undefined)
      io.err(`etcd-tls-guard: ${e.source}${e.document !== undefined ? `#${e.document}` : ''}: ${e.message}\n`);
  if (values.strict === true && unchecked > 0) {
    const what = `${unchecked} document${unchecked === 1 ? '' : 's'} or file${unchecked === 1 ? '' : 's'}`;
    io.err(`etcd-tls-guard: --strict: ${what} read but not checked (no apiVersion/kind, or a template)\n`);
    return EXIT.usage;
  }
  return exitCodeOf(outcome);
}

async function auditCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse('audit', args, {
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    namespace: { type: 'string', short: 'n', multiple: true },
    'all-namespaces': { type: 'boolean', short: 'A', default: false },
    config: { type: 'string' },
    format: { type: 'string', default: 'text' },
    'policy-report': { type: 'boolean', default: false },
    'report-api': { type: 'string' },
  });
  if (values.help === true) {
    io.out(HELP.audit as string);
    return EXIT.ok;
  }
  if (values.format !== 'text' && values.format !== 'json')
    throw new UsageError(`--format must be text or json, got ${JSON.stringify(values.format)}`);
  const namespaceFlags = (values.namespace as string[] | undefined) ?? [];
  if (values['all-namespaces'] === true && namespaceFlags.length > 0)
    throw new UsageError('--namespace and --all-namespaces exclude each other');
  const policy = await loadPolicy(resolveConfigPath(values.config as string | undefined, io.env));
  // Loaded here only: @kubernetes/client-node and its dependencies cost the other commands' start-up.
  const [{ loadKubeConfig }, { runAudit }] = await Promise.all([import('../kube/api.js'), import('../audit/run.js')]);
  const kc = loadKubeConfig({
    env: io.env,
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig as string } : {}),
    ...(values.context !== undefined ? { context: values.context as string } : {}),
  });
  const outcome = await runAudit(kc, {
    namespaces: values['all-namespaces'] === true ? 'all' : namespaceFlags.length > 0 ? namespaceFlags : ['kube-system'],
    policy,
    policyReport: values['policy-report'] === true,
    reportApi: reportApiChoice((values['report-api'] as string | undefined) ?? io.env.ETCD_TLS_GUARD_REPORT_API),
    source: `cluster:${kc.getCurrentContext()}`,
    now: () => new Date(),
  });
  io.out(values.format === 'json' ? formatJson(outcome.report) : formatText(outcome.report));
  if (outcome.policyReports.length > 0) io.err(`wrote ${outcome.reportKind ?? 'report'} in ${outcome.policyReports.join(', ')}\n`);
  return exitCodeOf(outcome.report);
}

async function nodeCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('node', args, {
    root: { type: 'string', default: '/' },
    proc: { type: 'string' },
    manifests: { type: 'string', multiple: true },
    'expiry-warning': { type: 'string', default: '30d' },
    config: { type: 'string' },
    format: { type: 'string', default: 'text' },
    interval: { type: 'string' },
    'metrics-port': { type: 'string', default: '9090' },
    'policy-report': { type: 'boolean', default: false },
    'report-api': { type: 'string' },
    'node-name': { type: 'string' },
    pid: { type: 'string', multiple: true },
    'no-probe': { type: 'boolean', default: false },
  });
  if (values.help === true) {
    io.out(HELP.node as string);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new UsageError(`node takes no arguments, got ${JSON.stringify(positionals[0])}\nRun 'etcd-tls-guard node --help' for usage.`);
  if (values.format !== 'text' && values.format !== 'json')
    throw new UsageError(`--format must be text or json, got ${JSON.stringify(values.format)}`);
  const expiryWarningMs = parseDuration(values['expiry-warning'] as string);
  if (expiryWarningMs === undefined)
    throw new UsageError(`--expiry-warning must be a duration such as 30d or 720h, got ${JSON.stringify(values['expiry-warning'])}`);
  const policyPath = resolveConfigPath(values.config as string | undefined, io.env);
  const policy = await loadPolicy(policyPath);
  const manifestDirs = values.manifests as string[] | undefined;
  const pidList = (values.pid as string[] | undefined) ?? [];
  for (const p of pidList) if (!/^[1-9]\d*$/.test(p)) throw new UsageError(`--pid must be a process id, got ${JSON.stringify(p)}`);
  const base = {
    ...(pidList.length > 0 ? { pids: new Set(pidList.map(Number)) } : {}),
    root: values.root as string,
    ...(values.proc !== undefined ? { procDir: values.proc as string } : {}),
    ...(manifestDirs !== undefined ? { manifestDirs } : {}),
    policy,
    expiryWarningMs,
  };
  if (values.interval !== undefined) {
    const interval = Number(values.interval);
    if (!Number.isInteger(interval) || interval < 10)
      throw new UsageError(`--interval must be a whole number of seconds, at least 10, got ${JSON.stringify(values.interval)}`);
    const metricsPort = Number(values['metrics-port']);
    if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)
      throw new UsageError(`--metrics-port must be a port number, got ${JSON.stringify(values['metrics-port'])}`);
    const nodeName = (values['node-name'] as string | undefined) ?? io.env.NODE_NAME;
    if (values['policy-report'] === true && (nodeName === undefined || nodeName === ''))
      throw new UsageError('--policy-report needs --node-name (or NODE_NAME, from the downward API)');
    const { runNodeAgent } = await import('../node/agent.js');
    await runNodeAgent({
      ...base,
      intervalMs: interval * 1000,
      metricsPort,
      policyReport: values['policy-report'] === true,
      reportApi: reportApiChoice((values['report-api'] as string | undefined) ?? io.env.ETCD_TLS_GUARD_REPORT_API),
      nodeName: nodeName ?? '',
      probe: values['no-probe'] !== true,
      log: createLogger(io.env.ETCD_TLS_GUARD_LOG_LEVEL ?? 'info'),
      ...(policyPath !== undefined ? { reloadPolicy: () => loadPolicy(policyPath) } : {}),
    });
    return EXIT.ok;
  }
  const { checkNode, checkNodeProbing, nodeReport, nothingFound } = await import('../node/check.js');
  const check =
    values['no-probe'] === true ? checkNode({ ...base, now: Date.now() }) : await checkNodeProbing({ ...base, now: Date.now() });
  const report = nodeReport(check);
  io.out(values.format === 'json' ? formatJson(report) : formatText(report));
  for (const e of report.errors)
    if (values.format === 'json') io.err(`etcd-tls-guard: ${e.source}${e.document !== undefined ? `#${e.document}` : ''}: ${e.message}\n`);
  const code = exitCodeOf(report);
  // Nothing judged is no green check: its own exit status, and what was looked at.
  if (code === EXIT.ok && report.summary.checked === 0) {
    io.err(`etcd-tls-guard: warning: ${nothingFound(check)}\n`);
    return EXIT.nothingChecked;
  }
  return code;
}

async function certsCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse('certs', args, {
    out: { type: 'string', default: DEV_CERT_DIR },
    san: { type: 'string', multiple: true },
    force: { type: 'boolean', default: false },
  });
  if (values.help === true) {
    io.out(HELP.certs as string);
    return EXIT.ok;
  }
  const dir = values.out as string;
  const sans = resolveDevSans(values.san as string[] | undefined, io.env);
  const { ensureDevCertificates, writeDevCertificates } = await import('../certs/dev.js');
  if (values.force === true) await writeDevCertificates(dir, sans);
  else if (!(await ensureDevCertificates(dir, sans))) {
    io.out(`${dir}/tls.crt already exists; use --force to replace it\n`);
    return EXIT.ok;
  }
  io.out(`wrote ${dir}/ca.crt, ca.key, tls.crt, tls.key (SANs: ${sans.join(', ')})\n`);
  return EXIT.ok;
}

function rulesCommand(args: string[], io: Io): number {
  const { values } = parse('rules', args, { format: { type: 'string', default: 'text' } });
  if (values.help === true) {
    io.out(HELP.rules as string);
    return EXIT.ok;
  }
  if (values.format !== 'text' && values.format !== 'json' && values.format !== 'markdown') {
    throw new UsageError(`--format must be text, json or markdown, got ${JSON.stringify(values.format)}`);
  }
  // scope: `pod` rules decide from the pod spec (every command); `node` rules only in `etcd-tls-guard node`.
  const rows = RULES.map((r) => ({
    id: r.id,
    component: r.component,
    cis: r.cis,
    multiMemberOnly: r.multiMemberOnly,
    scope: r.scope ?? 'pod',
    title: r.title,
  }));
  if (values.format === 'markdown') io.out(rulesMarkdown());
  else if (values.format === 'json') io.out(`${JSON.stringify(rows, null, 2)}\n`);
  else {
    const width = Math.max(...rows.map((r) => r.id.length)) + 1;
    for (const r of rows) {
      const cis = r.cis['1.5.1'] !== undefined ? `CIS ${r.cis['1.5.1']} (v1.10 ${r.cis['1.10'] ?? '-'})` : 'not in CIS';
      io.out(`${r.id.padEnd(width)} ${r.component.padEnd(15)} ${r.scope.padEnd(5)} ${cis.padEnd(26)} ${r.title}\n`);
    }
  }
  return EXIT.ok;
}

/**
 * The serving certificate: files, development files made on first run, or certificates the webhook
 * manages itself (certs/managed.ts) — which need node-forge and client-node, so they are loaded only
 * then: a webhook given its certificate files loads neither.
 */
async function servingCertificates(settings: ServeSettings, logger: Logger, env: Env): Promise<ServingCertificates> {
  if ('managedCertificates' in settings) {
    const m = settings.managedCertificates;
    const [{ loadKubeConfig }, { startManagedCertificates }, { placeholderPair }] = await Promise.all([
      import('../kube/api.js'),
      import('../certs/managed.js'),
      import('../certs/placeholder.js'),
    ]);
    const kc = loadKubeConfig({ ...(m.kubeconfig !== undefined ? { kubeconfig: m.kubeconfig } : {}), env });
    const source = startManagedCertificates({
      kc,
      namespace: m.namespace,
      secretName: m.secretName,
      webhookConfigurationName: m.webhookConfigurationName,
      settings: m.settings,
      logger,
      resyncMs: MANAGED_RESYNC_MS,
    });
    return { source, placeholder: await placeholderPair() };
  }
  if (settings.devCertDir !== undefined) {
    const { ensureDevCertificates } = await import('../certs/dev.js');
    if (await ensureDevCertificates(settings.devCertDir))
      logger.info({ dir: settings.devCertDir }, 'created development certificates; clients must trust certs-dev/ca.crt');
  }
  return { certFile: settings.certFile, keyFile: settings.keyFile };
}

/** Managed certificates: the Secret and webhook configuration are re-read at least this often, watch or not. */
const MANAGED_RESYNC_MS = 5 * 60 * 1000;

async function serveCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse('serve', args, {
    host: { type: 'string' },
    port: { type: 'string' },
    'tls-cert-file': { type: 'string' },
    'tls-key-file': { type: 'string' },
    'client-ca': { type: 'string' },
    config: { type: 'string' },
    'metrics-port': { type: 'string' },
    'reload-interval': { type: 'string' },
    'shutdown-delay': { type: 'string' },
    'drain-timeout': { type: 'string' },
    'audit-interval': { type: 'string' },
    'audit-namespaces': { type: 'string' },
    'policy-report': { type: 'string' },
    'report-api': { type: 'string' },
    'log-level': { type: 'string' },
    'certificate-secret': { type: 'string' },
    'webhook-configuration': { type: 'string' },
    'certificate-hosts': { type: 'string' },
    'ca-validity': { type: 'string' },
    'ca-renew-before': { type: 'string' },
    'certificate-validity': { type: 'string' },
    'certificate-renew-before': { type: 'string' },
    'ca-retire-after': { type: 'string' },
    kubeconfig: { type: 'string' },
  });
  if (values.help === true) {
    io.out(HELP.serve as string);
    return EXIT.ok;
  }
  const settings = resolveServeSettings(values as Record<string, string | undefined>, io.env);
  const logger = createLogger(settings.logLevel);
  const { startWebhook } = await import('../webhook/runtime.js');
  const { audit, ...webhookSettings } = settings;
  // The periodic audit is loaded only when it is on: the webhook alone never talks to the API server.
  const companion: Companion | undefined =
    audit === undefined ? undefined : async (ctx) => (await import('../audit/periodic.js')).startPeriodicAudit(audit, ctx);
  const serving = await servingCertificates(settings, logger, io.env);
  const webhook = await startWebhook({ ...webhookSettings, ...serving, ...(companion !== undefined ? { companion } : {}), logger });
  logger.info(
    {
      url: `${webhook.url}/validate`,
      metricsUrl: webhook.metricsUrl ?? null,
      policyFile: settings.configPath ?? null,
      clientCertificates: settings.clientCaFile !== undefined ? 'required' : 'not asked for',
      certificates:
        'managedCertificates' in settings
          ? `managed in Secret ${settings.managedCertificates.namespace}/${settings.managedCertificates.secretName}`
          : settings.certFile,
    },
    'etcd-tls-guard webhook listening',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info(
        { signal, shutdownDelayMs: settings.shutdownDelayMs, drainTimeoutMs: settings.drainTimeoutMs },
        'shutting down: not ready, finishing in-flight requests',
      );
      void webhook.shutdown().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  logger.info('stopped');
  return EXIT.ok;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest, io);
      case 'scan':
        return await scanCommand(rest, io);
      case 'node':
        return await nodeCommand(rest, io);
      case 'audit':
        return await auditCommand(rest, io);
      case 'certs':
        return await certsCommand(rest, io);
      case 'rules':
        return rulesCommand(rest, io);
      case 'version':
      case '--version':
        io.out(rest.includes('--help') || rest.includes('-h') ? (HELP.version as string) : `${VERSION}\n`);
        return EXIT.ok;
      case undefined:
      case 'help':
      case '--help':
      case '-h': {
        const topic = rest[0];
        io.out(topic !== undefined && HELP[topic] !== undefined ? HELP[topic] : (HELP.main as string));
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${HELP.main ?? ''}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof PolicyError || err instanceof CertificateError || err instanceof ClusterError) {
      io.err(`etcd-tls-guard: ${err.message}\n`);
      return EXIT.usage;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      io.err(`etcd-tls-guard: cannot listen: ${(err as Error).message}\n`);
      return EXIT.usage;
    }
    // A bug, not an input problem: one line, an exit code of its own (never 1, which means "denied").
    io.err(`etcd-tls-guard: internal error: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.internal;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

// Run only when executed (npm bin symlink included), not when imported by tests.
const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isEntryPoint) {
  // A reader that goes away (`etcd-tls-guard rules | head -1`) is not an error: stop writing, finish,
  // and exit with the command's own code.
  let stdoutClosed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutClosed = true;
  });
  const code = await main(process.argv.slice(2), {
    out: (t) => {
      if (!stdoutClosed) process.stdout.write(t);
    },
    err: (t) => process.stderr.write(t),
    env: process.env,
    readStdin: () => readAll(process.stdin),
    ...(process.stderr.isTTY
      ? { progress: { line: (t: string) => process.stderr.write(`\r\u001b[K${t}`), reportToTerminal: process.stdout.isTTY === true } }
      : {}),
  });
  process.exitCode = code;
}
