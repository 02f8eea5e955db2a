/** What a rule declares and what its check answers, and what a node check knows besides a program's configuration. */
import type { NodeFiles, FileFacts } from '../program-config/node-files.js';
import type { ProgramConfig } from '../program-config/settings.js';
import type { Component } from '../launch/invocation.js';

export type Status = 'pass' | 'fail' | 'not-applicable' | 'unknown';

/** Facts a node rule adds to a finding for reports: which file, which certificate, until when. */
export interface FindingDetails {
  /** A pass that will not last: a certificate expiring within the warning window (with its date). */
  readonly warning?: string;
  readonly file?: string;
  readonly subject?: string;
  /** ISO 8601. */
  readonly notAfter?: string;
  /** Whole days until notAfter (negative once expired): the node agent's gauge. */
  readonly daysToExpiry?: number;
}

export interface CheckOutcome {
  readonly status: Status;
  readonly message: string;
  /** The settings looked at, as found: `--client-cert-auth=false (argv)`, `--cert-file not set`. */
  readonly evidence: readonly string[];
  readonly details?: FindingDetails;
}

/** What a probe met (rules/observed.ts judges it; node/probe.ts makes it). */
export interface ServerCertificate {
  readonly subject: string;
  readonly issuer: string;
  /** ISO 8601. */
  readonly notAfter: string;
}

/**
 * The positive check of an endpoint that refused a client with no certificate: the same request
 * with the client certificate kube-apiserver presents to etcd, and the server's certificate checked
 * against kube-apiserver's --etcd-cafile, as kube-apiserver checks it (chain and the URL's host).
 */
export interface CertificateProbe {
  /** --etcd-certfile, as kube-apiserver names it. */
  readonly certFile: string;
  /** accepted: answered with the certificate; refused: refused with it too; not-tried: why in detail. */
  readonly result: 'accepted' | 'refused' | 'not-tried';
  readonly detail: string;
  /** Absent when kube-apiserver has no --etcd-cafile (it then trusts the system's CAs) or nothing was verified. */
  readonly verifiedBy?: { readonly caFile: string; readonly verified: boolean; readonly detail: string };
}

/** What a client with no certificate met at one endpoint. */
export type Observation =
  /** Served: a plaintext answer, or a TLS handshake completed and a request answered. */
  | { readonly kind: 'served'; readonly transport: 'plaintext' | 'tls'; readonly detail: string; readonly server?: ServerCertificate }
  /**
   * The server ended the TLS handshake (or the connection right after it) for want of a certificate.
   * `withCertificate`: the second look, as kube-apiserver connects (its --etcd-certfile), when the
   * node holds that certificate.
   */
  | {
      readonly kind: 'refused';
      readonly detail: string;
      readonly server?: ServerCertificate;
      readonly withCertificate?: CertificateProbe;
    }
  /** No answer to judge: refused connection, timeout, a close with nothing said. */
  | { readonly kind: 'unreachable'; readonly detail: string };

/** Another control-plane program on the same node, with its own view of the node's files. */
export interface Neighbour {
  readonly config: ProgramConfig;
  readonly files: NodeFiles;
}

/** What only a node check knows: files, the clock, the node's other programs. */
export interface NodeContext {
  /** This run's files (through the pod's hostPath volumes, or the process's root). */
  readonly files: NodeFiles;
  /** Milliseconds since the epoch: the moment certificates are judged at. */
  readonly now: number;
  /** A certificate expiring sooner than this many milliseconds is a warning. */
  readonly expiryWarningMs: number;
  /** The static pod manifest the run comes from, when it comes from one. */
  readonly manifest?: FileFacts;
  /** The other etcd and kube-apiserver runs on the node. */
  readonly neighbours: readonly Neighbour[];
  /**
   * For a running process: the configuration its static pod manifest gives the same program, to
   * tell drift (`null`: the process has no manifest on this node). Absent for a manifest.
   */
  readonly manifestConfig?: { readonly config: ProgramConfig; readonly where: string } | null;
  /**
   * What a client with no certificate met at an endpoint (node/probe.ts), by configured URL; absent
   * when nothing was probed (--no-probe).
   */
  readonly observed?: (url: string) => Observation | undefined;
}

/** A control's declaration (rules.ts, node-rules.ts): what it checks, how to fix it, what passing means. */
export interface Rule {
  readonly id: string;
  readonly component: Component;
  /** Control numbers in the CIS Kubernetes Benchmark, by benchmark version (numbering moved). */
  readonly cis: { readonly '1.5.1'?: string; readonly '1.10'?: string };
  readonly title: string;
  /** Only for etcd clusters of more than one member (peer traffic exists). */
  readonly multiMemberOnly: boolean;
  /**
   * `node`: the rule reads what only the node shows (files, certificates, the other programs there);
   * only `etcd-tls-guard node` evaluates it. Absent: the pod spec is enough (webhook, scan, audit).
   */
  readonly scope?: 'node';
  readonly check: (config: ProgramConfig, node?: NodeContext) => CheckOutcome;
  /**
   * One line; `{file}` is replaced by where a flag is fixed (the static pod manifest and the
   * distribution's own configuration, or the pod spec); `{manifest}` by the file or process a node
   * rule found on the node.
   */
  readonly remediation: string;
  /** When it passes, in Markdown: the README's rules table is generated from it (`rules --format markdown`). */
  readonly passes: string;
}
