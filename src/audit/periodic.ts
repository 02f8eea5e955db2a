import type { Logger } from 'pino';
import type { Policy } from '../policy/policy.js';
import { loadKubeConfig, type ReportApiChoice } from '../kube/api.js';
import { runAudit } from './run.js';

export interface PeriodicAuditSettings {
  readonly intervalMs: number;
  readonly namespaces: readonly string[] | 'all';
  readonly policyReport: boolean;
  readonly reportApi?: ReportApiChoice;
  readonly kubeconfig?: string;
}

/** What a pass reports to (the webhook's metrics satisfy it; audit does not depend on the webhook). */
export interface AuditObserver {
  audited(
    event:
      | {
          readonly ok: true;
          readonly at: Date;
          readonly findings: readonly { readonly namespace: string; readonly rule: string; readonly status: string }[];
        }
      | { readonly ok: false; readonly at: Date },
  ): void;
}

/**
 * Audits the running pods every intervalMs (the first pass at once), one pass at a time, with the
 * policy in force at each pass. A failed pass (API unreachable, forbidden) is logged and counted;
 * the next one is tried on schedule. Throws at once when the credentials cannot be loaded.
 */
export function startPeriodicAudit(
  settings: PeriodicAuditSettings,
  ctx: { policy: () => Policy; observer: AuditObserver; logger: Logger },
): { stop(): void } {
  const { observer, logger } = ctx;
  const kc = loadKubeConfig(settings.kubeconfig !== undefined ? { kubeconfig: settings.kubeconfig } : {});
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const pass = async (): Promise<void> => {
    const started = Date.now();
    try {
      const outcome = await runAudit(kc, {
        namespaces: settings.namespaces,
        policy: ctx.policy(),
        policyReport: settings.policyReport,
        ...(settings.reportApi !== undefined ? { reportApi: settings.reportApi } : {}),
        source: 'cluster',
        now: () => new Date(),
      });
      const findings = outcome.report.results.flatMap((r) =>
        r.findings.map((f) => ({ namespace: r.namespace ?? '', rule: f.rule, status: f.status })),
      );
      observer.audited({ ok: true, at: new Date(), findings });
      logger.info(
        {
          ...outcome.report.summary,
          policyReports: outcome.policyReports,
          reportKind: outcome.reportKind,
          elapsedMs: Date.now() - started,
        },
        'audit of running pods done',
      );
    } catch (err) {
      observer.audited({ ok: false, at: new Date() });
      logger.error({ reason: (err as Error).message }, 'audit of running pods failed');
    }
    if (!stopped) {
      timer = setTimeout(() => void pass(), settings.intervalMs);
      timer.unref();
    }
  };
  void pass();
  return {
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
