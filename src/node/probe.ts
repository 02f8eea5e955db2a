/**
 * The probes behind the observed rules (rules/observed.ts): connect to an etcd endpoint as a client
 * with no certificate, send `GET /version` (what etcd answers on its client and peer ports alike),
 * and record what happened. Read-only and bounded: nothing is written to etcd, no credentials are
 * sent, each endpoint has a deadline, and at most `maxEndpoints` are probed, a few at a time.
 *
 * How a refusal looks, as Go's crypto/tls (etcd's server) sends it:
 * - TLS 1.2: the server asks for a certificate, the client sends none, the server ends the
 *   handshake with an alert (bad_certificate) — an error before `secureConnect`;
 * - TLS 1.3: the client's side of the handshake completes first; the server's alert
 *   (certificate_required) arrives as an error on the first read, before any HTTP answer.
 * An HTTP status line back means the server served a client that has no certificate.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Observation, ProbeTarget, ServerCertificate } from '../judgement/judge.js';

export interface ProbeOptions {
  /** Per endpoint, from connect to the answer. */
  readonly timeoutMs: number;
  readonly maxEndpoints: number;
  readonly concurrency: number;
}

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = { timeoutMs: 2_000, maxEndpoints: 32, concurrency: 4 };

const TLS_ALERT = /alert|certificate required|bad certificate|handshake failure|SSL routines/i;

function serverCertificateOf(socket: TLSSocket): ServerCertificate | undefined {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return undefined;
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

/** `alert bad certificate (42)` out of OpenSSL's long error string. */
function alertOf(message: string): string {
  const name = /alert ([a-z_ ]+?)(?::|$)/i.exec(message)?.[1];
  const number = /alert number (\d+)/i.exec(message)?.[1];
  return name !== undefined ? `TLS alert ${name}${number !== undefined ? ` (${number})` : ''}` : (message.split('\n')[0] ?? message);
}

function statusLine(data: string): string | undefined {
  const line = data.split('\r\n')[0] ?? '';
  return /^HTTP\/\d(\.\d)? \d{3}/.test(line) ? line : undefined;
}

/** One endpoint: what a client with no certificate meets there. Never throws. */
export function probeEndpoint(target: ProbeTarget, timeoutMs: number): Promise<Observation> {
  return new Promise((resolve) => {
    let settled = false;
    let handshaken = false;
    let server: ServerCertificate | undefined;
    let received = '';
    const hostHeader = target.host.includes(':') ? `[${target.host}]` : target.host;
    const request = `GET /version HTTP/1.1\r\nHost: ${hostHeader}:${target.port}\r\nUser-Agent: etcd-tls-guard-probe\r\nConnection: close\r\n\r\n`;
    const isIp = /^[0-9.]+$|:/.test(target.host);
    const socket: Socket | TLSSocket = target.tls
      ? tlsConnect({
          host: target.host,
          port: target.port,
          // No verification of the server here: this probe asks what the server demands of a client,
          // and says which CA signed the server's certificate.
          rejectUnauthorized: false,
          ...(isIp ? {} : { servername: target.host }),
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect({ host: target.host, port: target.port });
    const done = (o: Observation): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(
      () =>
        done(
          handshaken
            ? { kind: 'unreachable', detail: `no answer within ${timeoutMs} ms after the TLS handshake` }
            : { kind: 'unreachable', detail: `no answer within ${timeoutMs} ms` },
        ),
      timeoutMs,
    );
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      handshaken = true;
      if (target.tls) server = serverCertificateOf(socket as TLSSocket);
      socket.write(request);
    });
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      const line = statusLine(received);
      if (line !== undefined)
        done({
          kind: 'served',
          transport: target.tls ? 'tls' : 'plaintext',
          detail: target.tls
            ? `TLS handshake completed without a client certificate; GET /version answered ${line}`
            : `plaintext GET /version answered ${line}`,
          ...(server !== undefined ? { server } : {}),
        });
      else if (received.length > 4096) done({ kind: 'unreachable', detail: 'answered something other than HTTP' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const reason = `${err.code ?? ''} ${err.message}`.trim();
      if (target.tls && TLS_ALERT.test(reason))
        done({
          kind: 'refused',
          detail: `the server ended the TLS handshake without a client certificate (${alertOf(err.message)})`,
          ...(server !== undefined ? { server } : {}),
        });
      else if (handshaken && target.tls && err.code === 'ECONNRESET')
        done({
          kind: 'refused',
          detail: 'the server reset the connection after the TLS handshake, before any answer',
          ...(server !== undefined ? { server } : {}),
        });
      else done({ kind: 'unreachable', detail: reason });
    });
    socket.on('close', () => {
      done(
        handshaken && target.tls
          ? {
              kind: 'refused',
              detail: 'the server closed the connection after the TLS handshake without answering',
              ...(server !== undefined ? { server } : {}),
            }
          : { kind: 'unreachable', detail: 'the connection closed without an answer' },
      );
    });
  });
}

/** Probes each distinct URL once (at most maxEndpoints of them), a few at a time. */
export async function probeEndpoints(
  targets: readonly ProbeTarget[],
  options: ProbeOptions = DEFAULT_PROBE_OPTIONS,
): Promise<Map<string, Observation>> {
  const distinct = [...new Map(targets.map((t) => [t.url, t])).values()].slice(0, options.maxEndpoints);
  const results = new Map<string, Observation>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < distinct.length) {
      const t = distinct[next++] as ProbeTarget;
      results.set(t.url, await probeEndpoint(t, options.timeoutMs));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, distinct.length) }, worker));
  return results;
}
