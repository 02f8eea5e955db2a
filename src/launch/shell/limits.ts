/**
 * Limits of the interpreter, so that no script (however hostile) makes it run long or build large
 * strings: a script is at most what fits in a pod (1.5 MiB in etcd), but `A=$A$A` doubles a value
 * per line and a loop or function can repeat work. Reaching a limit throws ShellLimitError: what the
 * script runs is then unknown, never guessed.
 */
export const SHELL_LIMITS = {
  /** Simple commands evaluated, loop passes and function calls included. */
  steps: 20_000,
  /** Characters produced by expansions, over the whole script. */
  expandedChars: 8 * 1024 * 1024,
  /** Characters of one variable's value; a longer value becomes unknown. */
  valueChars: 256 * 1024,
  /** Nesting of compound commands and function calls. */
  depth: 64,
} as const;

export class ShellLimitError extends Error {
  override name = 'ShellLimitError';
}
