/**
 * What a node check can see of the files a program names: the view the node front door (src/node/)
 * builds of the host — through the pod's hostPath volumes, or through a running process's own root
 * (/proc/PID/root) — handed to the configuration and the node rules as data and functions over a
 * snapshot. Nothing here reads a file: the edge does, so the stages that use it stay pure.
 */

/** Why a file gave nothing: it is not there, cannot be read, lies outside the host root, or is not on the node at all. */
export type FileProblem = 'absent' | 'unreadable' | 'outside' | 'not-on-node' | 'too-large' | 'invalid';

export type FileFacts =
  | {
      readonly path: string;
      readonly state: 'present';
      readonly type: 'file' | 'directory' | 'other';
      /** Permission bits (mode & 0o7777). */
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      /** Owner and group names when the host's /etc/passwd and /etc/group have them. */
      readonly owner: string;
      readonly group: string;
      /** Where it is on the host, for messages. */
      readonly where: string;
    }
  | { readonly path: string; readonly state: FileProblem; readonly reason: string };

export type TextRead =
  { readonly state: 'read'; readonly text: string; readonly where: string } | { readonly state: FileProblem; readonly reason: string };

/** What a node check needs of one X.509 certificate (parsed at the edge). */
export interface CertificateFacts {
  readonly subject: string;
  readonly issuer: string;
  /** Milliseconds since the epoch, and the same as ISO 8601 text for reports. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly notBeforeText: string;
  readonly notAfterText: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** Extended key usage OIDs, or undefined when the certificate has no such extension (any usage). */
  readonly extKeyUsage: readonly string[] | undefined;
  readonly isCa: boolean;
  /** SHA-256 of the DER encoding: the same certificate has the same fingerprint at any path. */
  readonly fingerprint: string;
}

export type CertificatesRead =
  | { readonly state: 'read'; readonly certificates: readonly CertificateFacts[]; readonly where: string }
  | { readonly state: FileProblem; readonly reason: string };

export type Answer = { readonly answer: boolean; readonly detail?: string } | { readonly reason: string };

/** One program's files as the node shows them; every path is the program's own (container or process) path. */
export interface NodeFiles {
  stat(path: string): FileFacts;
  text(path: string): TextRead;
  /** Every certificate of a PEM file (a bundle has several; the first is the leaf). */
  certificates(path: string): CertificatesRead;
  /** The private key at keyPath is the key of the first certificate at certPath. */
  keyMatches(certPath: string, keyPath: string): Answer;
  /** The first certificate at certPath is signed by a certificate of the CA file (possibly another program's view). */
  signedBy(certPath: string, ca: { readonly files: NodeFiles; readonly path: string }): Answer;
  /** The node has a user account of this name (its /etc/passwd). */
  hasAccount(name: string): boolean;
  /** Owner uid of the running program, when known (a process read from /proc). */
  readonly runsAsUid?: number;
}

export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const ANY_EKU = '2.5.29.37.0';
