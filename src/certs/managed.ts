/**
 * Managed certificates, the edge: keeps the Secret and the webhook configuration's caBundle as
 * managed-state.ts decides, and hands each replica the pair it may serve. Every replica runs this;
 * they agree through the API server (optimistic concurrency on both objects), with no leader.
 *
 * Each pass reads the webhook configuration first, then the Secret, and writes the configuration with
 * the resourceVersion it read: a replica holding an older Secret than the one behind the bundle it
 * read gets a conflict instead of writing an older bundle back.
 *
 * Triggers: a watch on each object (fieldSelector metadata.name, which RBAC resourceNames allow),
 * a timer at the next renewal or retirement point, a resync, and a retry with backoff after an API
 * error. Errors never stop the loop: the pair in service stays, the reason is logged, counted and
 * answered on /readyz while nothing trusted is served yet.
 */
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  Watch,
  type KubeConfig,
  type V1Secret,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { describeApiError } from '../kube/api.js';
import { generateCa, issueCertificate, newKeyPair, type CertificatePair } from './authority.js';
import {
  decodeSecret,
  encodeSecret,
  joinBundle,
  nextStep,
  splitBundle,
  trustedBy,
  trustedIssuer,
  withBundle,
  withNewCa,
  withNewCertificate,
  type Decoded,
  type ManagedCertificateSettings,
  type StoredCertificates,
} from './managed-state.js';

export interface ManagedCertificatesOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly secretName: string;
  readonly webhookConfigurationName: string;
  readonly settings: ManagedCertificateSettings;
  readonly logger: Logger;
  /** Both objects are re-read at least this often, watch or not. */
  readonly resyncMs: number;
}

export interface ManagedCertificateEvents {
  /** Each pass: whether it reached its end (false: an API error, retried with backoff). */
  synced(ok: boolean): void;
  /** A new CA staged, or a new serving certificate written. */
  rotated(what: 'ca' | 'certificate'): void;
  caExpiry(notAfter: Date): void;
}

export interface ManagedCertificates {
  /** Starts the loop; `serve` receives every pair to serve from then on (the first as soon as one is trusted). */
  start(serve: (pair: CertificatePair) => void, events?: ManagedCertificateEvents): void;
  /** Why the webhook must not take reviews yet (no trusted pair in service), or undefined. */
  notReady(): string | undefined;
  /** Runs one pass now (and any pass it triggers); resolves when the loop is idle. */
  sync(): Promise<void>;
  stop(): void;
}

const FIELD_MANAGER = 'etcd-tls-guard';
const MAX_ROUNDS = 6;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

function isConflict(err: unknown): boolean {
  const code = (err as { code?: number }).code;
  return code === 409;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

class ApiCallError extends Error {
  override name = 'ApiCallError';
}

export function startManagedCertificates(opts: ManagedCertificatesOptions): ManagedCertificates {
  const { kc, namespace, secretName, webhookConfigurationName: vwcName, settings, logger } = opts;
  const core = kc.makeApiClient(CoreV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const log = logger.child({ secret: `${namespace}/${secretName}`, webhookConfiguration: vwcName });

  let serve: ((pair: CertificatePair) => void) | undefined;
  let events: ManagedCertificateEvents | undefined;
  let served: CertificatePair | undefined;
  let waiting = 'no pass yet';
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const watches: AbortController[] = [];

  const call = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) throw err;
      throw new ApiCallError(`cannot ${what}: ${describeApiError(err)}`);
    }
  };

  const readVwc = async (): Promise<V1ValidatingWebhookConfiguration | undefined> => {
    try {
      return await call(`read ValidatingWebhookConfiguration ${vwcName}`, () =>
        admission.readValidatingWebhookConfiguration({ name: vwcName }),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  const readSecret = async (): Promise<V1Secret | undefined> => {
    try {
      return await call(`read Secret ${namespace}/${secretName}`, () => core.readNamespacedSecret({ name: secretName, namespace }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  /** Writes the Secret; false when another replica wrote first (the caller reads again). */
  const writeSecret = async (existing: V1Secret | undefined, next: StoredCertificates): Promise<boolean> => {
    const { data, annotations } = encodeSecret(next);
    const labels = { ...existing?.metadata?.labels, 'app.kubernetes.io/managed-by': 'etcd-tls-guard' };
    try {
      if (existing === undefined) {
        await call(`create Secret ${namespace}/${secretName}`, () =>
          core.createNamespacedSecret({
            namespace,
            fieldManager: FIELD_MANAGER,
            body: {
              apiVersion: 'v1',
              kind: 'Secret',
              type: 'kubernetes.io/tls',
              metadata: { name: secretName, namespace, labels, annotations },
              data,
            },
          }),
        );
      } else {
        const body: V1Secret = {
          ...existing,
          // A Secret of another type (Opaque, made by hand) keeps its type: type is immutable.
          metadata: { ...existing.metadata, labels, annotations: { ...existing.metadata?.annotations, ...annotations } },
          data,
        };
        await call(`update Secret ${namespace}/${secretName}`, () =>
          core.replaceNamespacedSecret({ name: secretName, namespace, body, fieldManager: FIELD_MANAGER }),
        );
      }
      return true;
    } catch (err) {
      if (isConflict(err) || (existing !== undefined && isNotFound(err))) return false;
      throw err;
    }
  };

  /** Sets every webhook's caBundle to `bundle`; false on a conflict. */
  const writeBundle = async (vwc: V1ValidatingWebhookConfiguration, bundle: readonly string[]): Promise<boolean> => {
    const caBundle = Buffer.from(joinBundle(bundle)).toString('base64');
    const body: V1ValidatingWebhookConfiguration = {
      ...vwc,
      webhooks: (vwc.webhooks ?? []).map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle } })),
    };
    try {
      await call(`update ValidatingWebhookConfiguration ${vwcName}`, () =>
        admission.replaceValidatingWebhookConfiguration({ name: vwcName, body, fieldManager: FIELD_MANAGER }),
      );
      return true;
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return false;
      throw err;
    }
  };

  const bundleInPlace = (vwc: V1ValidatingWebhookConfiguration, bundle: readonly string[]): boolean => {
    const caBundle = Buffer.from(joinBundle(bundle)).toString('base64');
    return (vwc.webhooks ?? []).every((w) => w.clientConfig.caBundle === caBundle);
  };

  const caPair = async (now: Date): Promise<CertificatePair> =>
    generateCa({ now, validityMs: settings.caValidityMs, commonName: `${secretName} CA`, keys: await newKeyPair() });

  const servingPair = async (ca: CertificatePair, now: Date): Promise<CertificatePair> =>
    issueCertificate(ca, { sans: settings.hosts, usage: 'server', now, validityMs: settings.certValidityMs, keys: await newKeyPair() });

  /** The Secret's next contents for a step that writes. */
  const build = async (
    step: 'new-ca' | 'new-certificate' | 'retire',
    decoded: Decoded | undefined,
    vwc: V1ValidatingWebhookConfiguration | undefined,
    now: Date,
  ): Promise<StoredCertificates> => {
    const stored = decoded?.ok === true ? decoded.stored : undefined;
    if (step === 'new-certificate' && stored !== undefined) return withNewCertificate(stored, await servingPair(stored.ca, now), now);
    const ca = await caPair(now);
    const trustedToday = (vwc?.webhooks ?? []).flatMap((w) =>
      splitBundle(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8')),
    );
    const trusted = trustedBy((vwc?.webhooks ?? []).map((w) => w.clientConfig.caBundle));
    // Keep serving what the API server trusts today (the Secret's pair, or this replica's when the
    // Secret was deleted); a first install has nothing trusted and starts with the new CA's pair.
    const inService = [stored?.serving, served].find(
      (p): p is CertificatePair => p !== undefined && trustedIssuer(p.certPem, trustedToday, trusted) !== undefined,
    );
    return withNewCa(stored, ca, inService ?? (await servingPair(ca, now)), trustedToday, now);
  };

  const schedule = (at: Date): void => {
    if (timer !== undefined) clearTimeout(timer);
    if (stopped) return;
    const delay = Math.max(0, Math.min(at.getTime() - Date.now(), opts.resyncMs));
    timer = setTimeout(() => void trigger(), delay);
    timer.unref();
  };

  const pass = async (): Promise<void> => {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = new Date();
      const vwc = await readVwc();
      const secret = await readSecret();
      const trusted = trustedBy((vwc?.webhooks ?? []).map((w) => w.clientConfig.caBundle));
      const decoded = secret !== undefined ? decodeSecret(secret.data, secret.metadata?.annotations) : undefined;
      const step = nextStep(decoded, { now, settings, trusted });
      if (step.kind === 'new-ca' || step.kind === 'new-certificate' || step.kind === 'retire') {
        const next =
          step.kind === 'retire' && decoded?.ok === true
            ? withBundle(decoded.stored, step.keep)
            : await build(step.kind, decoded, vwc, now);
        if (await writeSecret(secret, next)) {
          log.info(
            { step: step.kind, reason: step.reason },
            step.kind === 'new-ca'
              ? 'staged a new CA'
              : step.kind === 'retire'
                ? 'retired replaced CAs'
                : 'wrote a new serving certificate',
          );
          if (step.kind !== 'retire') events?.rotated(step.kind === 'new-ca' ? 'ca' : 'certificate');
        }
        continue;
      }
      if (decoded?.ok !== true) return;
      const { stored } = decoded;
      if (vwc === undefined) {
        const reason = `the ValidatingWebhookConfiguration ${vwcName} does not exist`;
        // Said once when it starts (it is looked for again every 5 s), not at every look.
        if (waiting !== reason) log.warn('waiting for the ValidatingWebhookConfiguration to exist to put the CA in its caBundle');
        waiting = reason;
        schedule(new Date(now.getTime() + Math.min(opts.resyncMs, 5_000)));
        return;
      }
      if (!bundleInPlace(vwc, stored.bundle)) {
        if (await writeBundle(vwc, stored.bundle)) log.info({ cas: stored.bundle.length }, 'set the caBundle of the webhook configuration');
        continue;
      }
      events?.caExpiry(new Date(new X509Certificate(stored.ca.certPem).validTo));
      if (trustedIssuer(stored.serving.certPem, stored.bundle, trusted) !== undefined && served?.certPem !== stored.serving.certPem) {
        served = stored.serving;
        serve?.(stored.serving);
      }
      waiting = served === undefined ? 'the serving certificate is not yet signed by a CA the webhook configuration trusts' : 'in service';
      schedule(step.at);
      return;
    }
    // Rounds used up: other replicas are writing at the same time; the watch brings us back.
    schedule(new Date(Date.now() + BACKOFF_MIN_MS));
  };

  const runPass = async (): Promise<void> => {
    try {
      await pass();
      failures = 0;
      events?.synced(true);
    } catch (err) {
      failures += 1;
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures - 1, 10));
      waiting = (err as Error).message;
      events?.synced(false);
      log.error({ reason: (err as Error).message, retryInMs: backoff, failures }, 'managing the certificates failed; retrying');
      schedule(new Date(Date.now() + backoff));
    }
  };

  // One pass at a time; a trigger during a pass runs one more after it.
  const trigger = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await runPass();
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const watchObject = (path: string, name: string, what: string): void => {
    let delay = BACKOFF_MIN_MS;
    const begin = (): void => {
      if (stopped) return;
      new Watch(kc)
        .watch(
          path,
          { fieldSelector: `metadata.name=${name}`, allowWatchBookmarks: false },
          () => {
            delay = BACKOFF_MIN_MS;
            void trigger();
          },
          (err: unknown) => {
            if (stopped) return;
            if (err !== null && err !== undefined) log.debug({ reason: describeApiError(err), watch: what }, 'watch ended; restarting');
            const t = setTimeout(begin, delay);
            t.unref();
            delay = Math.min(BACKOFF_MAX_MS, delay * 2);
          },
        )
        .then(
          (controller) => {
            if (stopped) controller.abort();
            else watches.push(controller);
          },
          (err: unknown) => {
            log.debug({ reason: describeApiError(err), watch: what }, 'cannot watch; the resync still reads it');
            const t = setTimeout(begin, delay);
            t.unref();
            delay = Math.min(BACKOFF_MAX_MS, delay * 2);
          },
        );
    };
    begin();
  };

  return {
    start: (onServe, onEvents) => {
      serve = onServe;
      events = onEvents;
      void trigger();
      watchObject(`/api/v1/namespaces/${namespace}/secrets`, secretName, 'Secret');
      watchObject('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', vwcName, 'ValidatingWebhookConfiguration');
    },
    notReady: () => (served === undefined ? `no managed serving certificate yet: ${waiting}` : undefined),
    sync: async () => {
      await trigger();
      while (running !== undefined) await running;
    },
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const w of watches) w.abort();
    },
  };
}
