/**
 * Programs that run another program: the option grammar of each, as its manual gives it, so that
 * `nice -n -19 ionice -c2 -n0 etcd ...` is followed to etcd with the right argv. One declaration per
 * tool; `wrappedCommand` reads any of them.
 *
 * All of these parse options only up to the first operand (getopt with a leading `+`, or their own
 * loop), so a command's own options are never taken for the wrapper's.
 */
import type { Word } from './word.js';

export interface WrapperGrammar {
  /** Short options that take an argument, attached (`-n5`) or as the next word (`-n 5`). */
  readonly shortWithArg?: string;
  /** Long options that take an argument: `--name=V` or `--name V`. */
  readonly longWithArg?: readonly string[];
  /** Options after which the tool runs no command (`ionice -p PID`, `--help`, `--version`). */
  readonly noCommand?: readonly string[];
  /** Options that clear the environment of the command (`setpriv --reset-env`). */
  readonly clearsEnvironment?: readonly string[];
  /** Operands between the options and the command: `timeout DURATION`, `taskset MASK`, `flock FILE`. */
  readonly operands?: number;
  /** The obsolete `nice -N` form: a dash and digits is one option. */
  readonly numericOption?: boolean;
  /** Options whose argument is a shell command the tool runs with `sh -c` (`flock FILE -c CMD`). */
  readonly shellCommand?: readonly string[];
  /** Go `flag` options (`-name value` or `--name=value`; these take a value, others are booleans). */
  readonly goFlagsWithArg?: readonly string[];
  /** The command is what follows `--` (watch-termination); without `--` it cannot be told. */
  readonly commandAfterDoubleDash?: boolean;
  /** Where the grammar comes from. */
  readonly manual: string;
}

const HELP = ['-h', '--help', '-V', '--version'];

export const WRAPPERS: Readonly<Record<string, WrapperGrammar>> = {
  exec: { shortWithArg: 'a', manual: 'XCU exec, bash(1): exec [-cl] [-a name] [command [arguments]]' },
  command: { noCommand: ['-v', '-V'], manual: 'XCU command: command [-p] command_name [argument...]' },
  nohup: { noCommand: HELP, manual: 'nohup(1): nohup COMMAND [ARG]...' },
  nice: {
    shortWithArg: 'n',
    longWithArg: ['--adjustment'],
    numericOption: true,
    noCommand: ['--help', '--version'],
    manual: 'nice(1) coreutils: nice [-n N | --adjustment=N | -N] [COMMAND [ARG]...]',
  },
  ionice: {
    shortWithArg: 'cnpPu',
    longWithArg: ['--class', '--classdata', '--pid', '--pgid', '--uid'],
    noCommand: ['-p', '--pid', '-P', '--pgid', '-u', '--uid', ...HELP],
    manual: 'ionice(1) util-linux: ionice [-c class] [-n level] [-t] COMMAND [ARG]...',
  },
  taskset: {
    noCommand: ['-p', '--pid', ...HELP],
    operands: 1,
    manual: 'taskset(1) util-linux: taskset [-a] [-c] MASK|LIST COMMAND [ARG]...',
  },
  chrt: {
    longWithArg: ['--sched-runtime', '--sched-period', '--sched-deadline'],
    shortWithArg: 'TPD',
    noCommand: ['-p', '--pid', '-m', '--max', ...HELP],
    operands: 1,
    manual: 'chrt(1) util-linux: chrt [options] PRIORITY COMMAND [ARG]...',
  },
  timeout: {
    shortWithArg: 'ks',
    longWithArg: ['--kill-after', '--signal'],
    noCommand: ['--help', '--version'],
    operands: 1,
    manual: 'timeout(1) coreutils: timeout [OPTION] DURATION COMMAND [ARG]...',
  },
  setpriv: {
    longWithArg: [
      '--reuid',
      '--regid',
      '--ruid',
      '--rgid',
      '--euid',
      '--egid',
      '--groups',
      '--inh-caps',
      '--ambient-caps',
      '--bounding-set',
      '--securebits',
      '--pdeathsig',
      '--selinux-label',
      '--apparmor-profile',
      '--landlock-access',
      '--landlock-rule',
      '--ptracer',
    ],
    noCommand: ['-d', '--dump', ...HELP],
    clearsEnvironment: ['--reset-env'],
    manual: 'setpriv(1) util-linux: setpriv [options] PROGRAM [ARG]...; --reset-env clears the environment but TERM',
  },
  'su-exec': { operands: 1, manual: 'su-exec: su-exec USER[:GROUP] COMMAND [ARG]...' },
  gosu: { operands: 1, noCommand: ['--help', '--version', '-h'], manual: 'gosu: gosu USER[:GROUP] COMMAND [ARG]...' },
  tini: {
    shortWithArg: 'ep',
    noCommand: ['-h', '--version'],
    manual: 'tini: tini [-s] [-v] [-w] [-g] [-l] [-e CODE] [-p SIGNAL] [--] PROGRAM [ARGS]',
  },
  'tini-static': { shortWithArg: 'ep', noCommand: ['-h', '--version'], manual: 'tini (static build)' },
  'dumb-init': {
    shortWithArg: 'r',
    longWithArg: ['--rewrite'],
    noCommand: HELP,
    manual: 'dumb-init: dumb-init [-c] [-r s:r] [-v] COMMAND [ARG]...',
  },
  catatonit: { noCommand: ['-h', '--help', '-V', '--version'], manual: 'catatonit: catatonit [-g] [-p] [--] PROGRAM [ARGS]' },
  stdbuf: {
    shortWithArg: 'ioe',
    longWithArg: ['--input', '--output', '--error'],
    noCommand: ['--help', '--version'],
    manual: 'stdbuf(1) coreutils: stdbuf OPTION... COMMAND',
  },
  numactl: {
    shortWithArg: 'iNmCpPwb',
    longWithArg: [
      '--interleave',
      '--cpunodebind',
      '--membind',
      '--physcpubind',
      '--preferred',
      '--preferred-many',
      '--weighted-interleave',
    ],
    noCommand: ['-s', '--show', '-H', '--hardware', ...HELP],
    manual:
      'numactl(8): numactl [--interleave nodes] [--membind nodes] [--cpunodebind nodes] [--physcpubind cpus] [--localalloc] [--preferred node] COMMAND ARGS',
  },
  prlimit: {
    shortWithArg: 'po',
    longWithArg: ['--pid', '--output'],
    noCommand: ['-p', '--pid', ...HELP],
    manual: 'prlimit(1) util-linux: prlimit [options] [--RESOURCE=limits] COMMAND; resource limits are attached (--nofile=N, -nN)',
  },
  flock: {
    shortWithArg: 'wE',
    longWithArg: ['--timeout', '--wait', '--conflict-exit-code'],
    noCommand: HELP,
    shellCommand: ['-c', '--command'],
    operands: 1,
    manual: 'flock(1) util-linux: flock [options] FILE|DIR COMMAND [ARG]... | flock [options] FILE|DIR -c COMMAND | flock [options] FD',
  },
  setsid: { noCommand: HELP, manual: 'setsid(1) util-linux: setsid [-c] [-f] [-w] PROGRAM [ARG]...' },
  'watch-termination': {
    commandAfterDoubleDash: true,
    manual: "OpenShift's watch-termination (openshift/kubernetes): watch-termination [--flags] -- COMMAND [ARG]...",
  },
  'go-runner': {
    goFlagsWithArg: ['log-file'],
    manual: 'kubernetes build/go-runner: go-runner [-log-file PATH] [-also-stdout] [-redirect-stderr] COMMAND [ARG]...',
  },
  'kube-log-runner': {
    goFlagsWithArg: ['log-file', 'log-file-size', 'flush-interval'],
    manual:
      'k8s.io/component-base/logs/kube-log-runner: kube-log-runner [-log-file PATH] [-log-file-size SIZE] [-also-stdout] [-redirect-stderr] COMMAND [ARG]...',
  },
};

export type WrappedCommand =
  | { readonly kind: 'command'; readonly argv: readonly Word[]; readonly clearsEnvironment?: boolean }
  | { readonly kind: 'shell'; readonly script: Word }
  | { readonly kind: 'none' }
  | { readonly kind: 'unknown'; readonly reason: string };

/** What `name ARGS...` runs, read with the wrapper's grammar. */
export function wrappedCommand(name: string, g: WrapperGrammar, args: readonly Word[]): WrappedCommand {
  if (g.commandAfterDoubleDash === true) {
    const dd = args.findIndex((w) => w.text === '--');
    return dd === -1
      ? { kind: 'unknown', reason: `${name} runs the command after \`--\`, and there is none` }
      : { kind: 'command', argv: args.slice(dd + 1) };
  }
  let clears = false;
  let k = 0;
  while (k < args.length) {
    const w = args[k] as Word;
    if (w.unknown !== undefined) return { kind: 'unknown', reason: `an argument of ${name} ${w.unknown.reason}` };
    const t = w.text;
    if (t === '--') {
      k++;
      break;
    }
    if (!t.startsWith('-') || t === '-') break;
    if (g.goFlagsWithArg !== undefined) {
      // Go flag: -name or --name, `=value` or the next word for flags that take a value.
      const body = t.replace(/^--?/, '');
      const eq = body.indexOf('=');
      k += eq === -1 && g.goFlagsWithArg.includes(body) ? 2 : 1;
      continue;
    }
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      const option = eq === -1 ? t : t.slice(0, eq);
      if (g.noCommand?.includes(option) === true) return { kind: 'none' };
      if (g.clearsEnvironment?.includes(option) === true) clears = true;
      if (g.shellCommand?.includes(option) === true) {
        const script = eq === -1 ? args[k + 1] : { text: t.slice(eq + 1) };
        return script === undefined ? { kind: 'none' } : { kind: 'shell', script };
      }
      k += eq === -1 && g.longWithArg?.includes(option) === true ? 2 : 1;
      continue;
    }
    if (g.numericOption === true && /^-[0-9]+$/.test(t)) {
      k++;
      continue;
    }
    // A cluster of short options: `-c2`, `-xvf`; the first that takes an argument ends it.
    let used = 1;
    for (let j = 1; j < t.length; j++) {
      const option = `-${t[j] ?? ''}`;
      if (g.noCommand?.includes(option) === true) return { kind: 'none' };
      if (g.clearsEnvironment?.includes(option) === true) clears = true;
      if (g.shellCommand?.includes(option) === true) {
        const script = j + 1 < t.length ? { text: t.slice(j + 1) } : args[k + 1];
        return script === undefined ? { kind: 'none' } : { kind: 'shell', script };
      }
      if (g.shortWithArg?.includes(t[j] ?? '') === true) {
        if (j + 1 === t.length) used = 2;
        break;
      }
    }
    k += used;
  }
  k += g.operands ?? 0;
  const next = args[k];
  if (g.shellCommand !== undefined && next !== undefined && g.shellCommand.includes(next.text)) {
    const script = args[k + 1];
    return script === undefined ? { kind: 'none' } : { kind: 'shell', script };
  }
  const argv = args.slice(k);
  if (argv.length === 0) return { kind: 'none' };
  return clears ? { kind: 'command', argv, clearsEnvironment: true } : { kind: 'command', argv };
}
