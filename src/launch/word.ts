/**
 * One argument (or one environment value) as the program will receive it.
 *
 * Parts of a word can be unknown at admission time: a `$(VAR)` whose VAR comes from a Secret, a
 * ConfigMap or the pod's status, a shell command substitution, a file sourced by a script. Such a word
 * keeps its text as written (so messages can show it) and records where the unknown part starts, so
 * that `--flag=$(FROM_SECRET)` still tells us *which* flag is set even though its value is unknown.
 */
export interface Word {
  readonly text: string;
  readonly unknown?: UnknownPart;
}

export interface UnknownPart {
  /** Index in `text` of the first character that is not known. */
  readonly at: number;
  /** Why it is not known, for messages: names a variable or construct, never a value. */
  readonly reason: string;
  /**
   * Every unknown part of the word is a value that contains no `,`, `=` or whitespace (an IP
   * address, a node or pod name: status.hostIP, spec.nodeName...), so the word's list structure
   * (`NAME=URL,NAME=URL`) is known even though its text is not.
   */
  readonly separatorFree?: boolean;
}

/** The part of the word that is certainly known (all of it for a known word). */
export function knownPrefix(word: Word): string {
  return word.unknown === undefined ? word.text : word.text.slice(0, word.unknown.at);
}

/**
 * A template placeholder left in a value the program receives: `{{ .Values.x }}` (Helm, Go
 * templates, Jinja) or `${x}` (Terraform, envsubst). Kubernetes expands only `$(VAR)`, so such text
 * reaches the program as written: the manifest is a template that was not rendered, and what it
 * will say is unknown — never a plaintext URL or a false flag.
 */
const PLACEHOLDER = /\{\{.*?\}\}|\$\{[^}]*\}/;

/** The word with its first unrendered template placeholder, and all after it, unknown. */
export function withPlaceholdersUnknown(word: Word): Word {
  const known = knownPrefix(word);
  if (!known.includes('{{') && !known.includes('${')) return word;
  const match = PLACEHOLDER.exec(known);
  if (match === null) return word;
  return {
    text: word.text,
    unknown: { at: match.index, reason: `holds ${match[0]}, an unrendered template placeholder (render the manifest first)` },
  };
}

/** Drops the first `n` characters of a word, keeping track of its unknown part. */
export function sliceWord(word: Word, n: number): Word {
  const text = word.text.slice(n);
  if (word.unknown === undefined) return { text };
  return { text, unknown: { ...word.unknown, at: Math.max(0, word.unknown.at - n) } };
}

/** What the webhook knows about one environment variable of a container. */
export type EnvValue =
  | { readonly state: 'known'; readonly value: string; readonly origin: string }
  | {
      readonly state: 'unknown';
      readonly reason: string;
      /** The variable may not be set at all (an envFrom source or a service link might set it). */
      readonly maybeUnset?: boolean;
      /** The value contains no `,`, `=` or whitespace (see UnknownPart.separatorFree)... */
      readonly separatorFree?: boolean;
      /** ...and this is its text with the unknown parts as written (`$(HOST_IP)`). */
      readonly text?: string;
    };
