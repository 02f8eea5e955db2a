import type { EnvValue, UnknownPart, Word } from './word.js';

/**
 * Kubernetes' `$(VAR)` expansion of `command`, `args` and env values, as implemented in
 * k8s.io/kubernetes third_party/forked/golang/expansion/expand.go:
 * - `$(NAME)` is replaced by NAME's value when NAME is defined, and left as written when it is not;
 * - `$$` is an escaped `$`;
 * - `$` followed by anything else, and an unterminated `$(`, are kept literally.
 * A reference to a variable whose value is unknown at admission (Secret, ConfigMap, status field)
 * makes the word unknown from that point on.
 */
/**
 * Longest expansion followed. Each env entry may reference earlier ones, so 40 entries of
 * `$(A)$(A)` would make a 2^40-character value (the JavaScript string limit is 2^29): past this
 * bound the rest of the word is unknown instead. Real values are paths, URLs and names.
 */
export const MAX_EXPANDED_CHARS = 256 * 1024;

export function expandKubernetesReferences(input: string, lookup: (name: string) => EnvValue | undefined): Word {
  if (!input.includes('$')) return { text: input };
  let out = '';
  let unknown: UnknownPart | undefined;
  let i = 0;
  while (i < input.length) {
    // Copy the literal run up to the next `$` in one piece (a 1 MiB pod's values are mostly literal).
    const dollar = input.indexOf('$', i);
    if (dollar === -1 || dollar + 1 >= input.length) {
      out += input.slice(i);
      break;
    }
    out += input.slice(i, dollar);
    i = dollar;
    const ch = '$';
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        // Incomplete reference: expand.go emits "$(" and carries on after it.
        out += '$(';
        i += 2;
        continue;
      }
      const name = input.slice(i + 2, close);
      const value = lookup(name);
      if (value === undefined) {
        out += `$(${name})`;
      } else if (value.state === 'known' && out.length + value.value.length <= MAX_EXPANDED_CHARS) {
        out += value.value;
      } else if (value.state === 'known') {
        unknown ??= {
          at: out.length,
          reason: `$(${name}) makes the value longer than ${MAX_EXPANDED_CHARS} characters, more than etcd-tls-guard follows`,
        };
        out += `$(${name})`;
      } else {
        // The word's list structure stays known while every unknown part is separator-free.
        const separatorFree = value.separatorFree === true && (unknown === undefined || unknown.separatorFree === true);
        if (unknown === undefined)
          unknown = { at: out.length, reason: `$(${name}) ${value.reason}`, ...(separatorFree ? { separatorFree } : {}) };
        else if (!separatorFree && unknown.separatorFree === true) unknown = { at: unknown.at, reason: unknown.reason };
        out += `$(${name})`;
      }
      i = close + 1;
      continue;
    }
    out += ch + next;
    i += 2;
  }
  return unknown === undefined ? { text: out } : { text: out, unknown };
}
