/**
 * Test builders for what the API server sends the webhook, and an HTTPS client that reports what a
 * test needs to see (status, body, the certificate the server presented, whether TLS connected).
 * One place, so every test speaks the same admission.k8s.io/v1 request.
 */
import { request, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';

export const REVIEW_UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

/**
 * A Pod CREATE as kube-apiserver sends it (k8s.io/api/admission/v1 AdmissionRequest), from
 * kubernetes-admin in kube-system; `request` overrides or adds fields (operation, userInfo, oldObject…).
 */
export function admissionReview(
  pod: unknown,
  request: Record<string, unknown> = {},
): { apiVersion: string; kind: string; request: Record<string, unknown> } {
  const name = (pod as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: REVIEW_UID,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'kube-system',
      ...(typeof name === 'string' ? { name } : {}),
      userInfo: { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] },
      object: pod,
      dryRun: false,
      ...request,
    },
  };
}

/** The same, as the JSON body of a POST. */
export function admissionReviewJson(pod: unknown, request: Record<string, unknown> = {}): string {
  return JSON.stringify(admissionReview(pod, request));
}

/** The identity a kubelet writes its mirror pods with. */
export const KUBELET_USER = { username: 'system:node:cp-1', groups: ['system:nodes', 'system:authenticated'] };

export interface HttpsReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** Serial number of the certificate the server presented in this connection's handshake. */
  readonly serial: string;
}

/**
 * One request; by default over a new connection (`agent: false`: a new handshake every time, so the
 * certificate seen is the one served now) to a server named localhost.
 */
export function httpsRequest(url: string, opts: RequestOptions & { body?: string | Buffer } = {}): Promise<HttpsReply> {
  const { body, ...options } = opts;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, servername: 'localhost', ...options }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate?.().serialNumber ?? '';
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), serial }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs an AdmissionReview body to `<base>/validate`. */
export function postReview(base: string, body: string | Buffer, opts: RequestOptions = {}): Promise<HttpsReply> {
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...(opts.headers as Record<string, string> | undefined),
  };
  return httpsRequest(`${base}/validate`, { method: 'POST', ...opts, headers, body });
}
