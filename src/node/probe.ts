/**
 * The probes behind the observed rules (rules/observed.ts): connect to an etcd endpoint as a client
 * with no certificate, send `GET /version` (what etcd answers on its client and peer ports alike),
 * and record what happened. Read-only and bounded: nothing is written to etcd, no credentials are
 * sent but kube-apiserver's own to a server that refused a client without one (the positive check),
 * each endpoint has a deadline, and at most `maxEndpoints` are probed, a few at a time.
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
import type { ClientIdentity, Observation, ProbeTarget, ServerCertificate } from '../judgement/judge.js';
import type { NodeFiles } from '../program-config/node-files.js';

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

/**
 * The client certificate kube-apiserver presents to etcd and the CA it verifies etcd with, read
 * from its view of the node (ClientIdentity names them); or why they could not be read.
 */
export type ClientCredentials =
  | { readonly certFile: string; readonly cert: string; readonly key: string; readonly caFile?: string; readonly ca?: string }
  | { readonly certFile: string; readonly problem: string };

/** One conversation: a TLS handshake (with a certificate or none) or a plain connection, then GET /version. */
interface Conversation {
  readonly observation: Observation;
  /** With a CA given: whether the server's certificate is verified by it for the host dialled. */
  readonly verification?: { readonly verified: boolean; readonly detail: string };
}

/** A plain or TLS connection to the target; throws (synchronously) when Node cannot use the credentials. */
function connectTo(target: ProbeTarget, credentials?: { cert: string; key: string; ca?: string }): Socket | TLSSocket {
  if (!target.tls) return netConnect({ host: target.host, port: target.port });
  const isIp = /^[0-9.]+$|:/.test(target.host);
  return tlsConnect({
    host: target.host,
    port: target.port,
    // The handshake goes on whatever the server's certificate: this probe asks what the server
    // demands of a client. With a CA, socket.authorized then says whether it verifies the server.
    rejectUnauthorized: false,
    ...(isIp ? {} : { servername: target.host }),
    ALPNProtocols: ['http/1.1'],
    ...(credentials !== undefined
      ? { cert: credentials.cert, key: credentials.key, ...(credentials.ca !== undefined ? { ca: credentials.ca } : {}) }
      : {}),
  });
}

function converse(target: ProbeTarget, timeoutMs: number, credentials?: { cert: string; key: string; ca?: string }): Promise<Conversation> {
  return new Promise((resolve) => {
    let settled = false;
    let handshaken = false;
    let server: ServerCertificate | undefined;
    let verification: Conversation['verification'];
    let received = '';
    const hostHeader = target.host.includes(':') ? `[${target.host}]` : target.host;
    const request = `GET /version HTTP/1.1\r\nHost: ${hostHeader}:${target.port}\r\nUser-Agent: etcd-tls-guard-probe\r\nConnection: close\r\n\r\n`;
    let socket: Socket | TLSSocket;
    try {
      socket = connectTo(target, credentials);
    } catch (err) {
      // Node refuses a key that is not the certificate's, or PEM it cannot read, before connecting.
      resolve({
        observation: { kind: 'unreachable', detail: `the client certificate, key or CA cannot be used: ${(err as Error).message}` },
      });
      return;
    }
    const done = (o: Observation): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ observation: o, ...(verification !== undefined ? { verification } : {}) });
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
    const withoutCertificate = credentials === undefined ? ' without a client certificate' : '';
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      handshaken = true;
      if (target.tls) {
        const tlsSocket = socket as TLSSocket;
        server = serverCertificateOf(tlsSocket);
        if (credentials?.ca !== undefined)
          verification = tlsSocket.authorized
            ? { verified: true, detail: 'chain and host verified' }
            : { verified: false, detail: String(tlsSocket.authorizationError) };
      }
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
            ? `TLS handshake completed${withoutCertificate}; GET /version answered ${line}`
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
          detail: `the server ended the TLS handshake${withoutCertificate} (${alertOf(err.message)})`,
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

/**
 * One endpoint: what a client with no certificate meets there. When it is refused and credentials
 * are given (kube-apiserver's), the positive check: the same request with kube-apiserver's client
 * certificate, its server verified by kube-apiserver's --etcd-cafile. Credentials are sent only
 * then, never to a server that serves anyone. Never throws.
 */
export async function probeEndpoint(target: ProbeTarget, timeoutMs: number, credentials?: ClientCredentials): Promise<Observation> {
  const { observation } = await converse(target, timeoutMs);
  if (observation.kind !== 'refused' || credentials === undefined) return observation;
  if ('problem' in credentials)
    return { ...observation, withCertificate: { certFile: credentials.certFile, result: 'not-tried', detail: credentials.problem } };
  const second = await converse(target, timeoutMs, credentials);
  const o = second.observation;
  const result = o.kind === 'served' ? 'accepted' : o.kind === 'refused' ? 'refused' : 'not-tried';
  const verifiedBy =
    credentials.caFile !== undefined && second.verification !== undefined
      ? { caFile: credentials.caFile, ...second.verification }
      : undefined;
  return {
    ...observation,
    ...(observation.server === undefined && o.kind !== 'unreachable' && o.server !== undefined ? { server: o.server } : {}),
    withCertificate: { certFile: credentials.certFile, result, detail: o.detail, ...(verifiedBy !== undefined ? { verifiedBy } : {}) },
  };
}

/** Reads kube-apiserver's etcd client certificate, key and CA through its view of the node. */
export function credentialsOf(identity: ClientIdentity, files: NodeFiles): ClientCredentials {
  const read = (path: string): { text: string } | { problem: string } => {
    const t = files.text(path);
    return t.state === 'read' ? { text: t.text } : { problem: t.reason };
  };
  const cert = read(identity.certFile);
  const key = read(identity.keyFile);
  const ca = identity.caFile !== undefined ? read(identity.caFile) : undefined;
  for (const r of [cert, key, ca]) if (r !== undefined && 'problem' in r) return { certFile: identity.certFile, problem: r.problem };
  return {
    certFile: identity.certFile,
    cert: (cert as { text: string }).text,
    key: (key as { text: string }).text,
    ...(identity.caFile !== undefined && ca !== undefined && 'text' in ca ? { caFile: identity.caFile, ca: ca.text } : {}),
  };
}

/**
 * Probes each distinct URL once (at most maxEndpoints of them), a few at a time. A URL named by
 * several programs is probed as the one with credentials names it (kube-apiserver's), if any.
 */
export async function probeEndpoints(
  targets: ReadonlyArray<ProbeTarget | { readonly target: ProbeTarget; readonly files: NodeFiles }>,
  options: ProbeOptions = DEFAULT_PROBE_OPTIONS,
): Promise<Map<string, Observation>> {
  const byUrl = new Map<string, { target: ProbeTarget; files?: NodeFiles }>();
  for (const t of targets) {
    const entry = 'target' in t ? t : { target: t };
    const seen = byUrl.get(entry.target.url);
    if (seen === undefined || (seen.target.identity === undefined && entry.target.identity !== undefined))
      byUrl.set(entry.target.url, entry);
  }
  const distinct = [...byUrl.values()].slice(0, options.maxEndpoints);
  const results = new Map<string, Observation>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < distinct.length) {
      const { target, files } = distinct[next++] as { target: ProbeTarget; files?: NodeFiles };
      const credentials = target.identity !== undefined && files !== undefined ? credentialsOf(target.identity, files) : undefined;
      results.set(target.url, await probeEndpoint(target, options.timeoutMs, credentials));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, distinct.length) }, worker));
  return results;
}
