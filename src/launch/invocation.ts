import { containerEnvironment, overlayEnvironment, processEnvironment, unreadableEnvironment, type Environment } from './env.js';
import { expandKubernetesReferences } from './expand.js';
import type { Container, Pod } from './pod.js';
import { parseShellScript, ShellLimitError, ShellSyntaxError, type SourcedFiles } from './shell.js';
import { WRAPPERS, wrappedCommand } from './wrappers.js';
import { knownPrefix, withPlaceholdersUnknown, type EnvValue, type Word } from './word.js';

export type Component = 'etcd' | 'kube-apiserver';

/** One run of etcd or kube-apiserver found in a container. */
export interface Invocation {
  readonly component: Component;
  /** The program as written (`etcd`, `/usr/local/bin/etcd`). */
  readonly program: string;
  /** The arguments after the program name, as the program receives them. */
  readonly args: readonly Word[];
  readonly env: Environment;
  /** How the argv was found, for messages: "command/args", "sh -c script", "image default". */
  readonly origin: string;
  /** Set when the program's configuration cannot be seen at all (an image's own entrypoint script). */
  readonly opaque?: string;
  /** Set when the container will fail before the program reads its flags (shell syntax error). */
  readonly startError?: string;
  /** The container's image: which release of the program runs (configuration/releases.ts reads it). */
  readonly image: string | undefined;
}

interface ImageDefaults {
  /** Matches the image repository (without tag or digest). */
  readonly repository: RegExp;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  /** The entrypoint builds the program's configuration itself, out of our sight. */
  readonly opaque?: { component: Component; reason: string };
}

/**
 * ENTRYPOINT/CMD of the well-known etcd and kube-apiserver images, used when `command` is empty
 * (Kubernetes runs ENTRYPOINT + (args, or CMD when args is empty): "Define a Command and Arguments").
 * - registry.k8s.io/etcd and registry.k8s.io/kube-apiserver are built on go-runner
 *   (kubernetes cluster/images/etcd/Dockerfile, build/server-image/Dockerfile): ENTRYPOINT
 *   ["/go-runner"], no CMD, so `args` carry the program and its flags.
 * - gcr.io/etcd-development/etcd and quay.io/coreos/etcd (etcd's Dockerfile-release): no ENTRYPOINT,
 *   CMD ["/usr/local/bin/etcd"].
 * - bitnami/etcd: ENTRYPOINT entrypoint.sh, CMD run.sh, which turn ETCD_* variables into flags.
 */
const WELL_KNOWN_IMAGES: readonly ImageDefaults[] = [
  {
    repository: /^(registry\.k8s\.io|k8s\.gcr\.io|[a-z0-9.-]*gcr\.io\/google[-_]containers)\/(etcd|kube-apiserver)(-[a-z0-9]+)?$/,
    entrypoint: ['/go-runner'],
    cmd: [],
  },
  { repository: /^(gcr\.io\/etcd-development|quay\.io\/coreos)\/etcd$/, entrypoint: [], cmd: ['/usr/local/bin/etcd'] },
  {
    repository: /^(docker\.io\/)?bitnami\/etcd$/,
    entrypoint: ['/opt/bitnami/scripts/etcd/entrypoint.sh'],
    cmd: ['/opt/bitnami/scripts/etcd/run.sh'],
    opaque: { component: 'etcd', reason: "the image's run.sh builds etcd's flags from environment variables at start" },
  },
];

/** Image repository without registry default, tag or digest: `registry.k8s.io/etcd:3.5.15-0` → `registry.k8s.io/etcd`. */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0] as string;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'ksh', 'zsh', 'busybox']);
const PROGRAMS: Readonly<Record<string, Component>> = { etcd: 'etcd', 'kube-apiserver': 'kube-apiserver' };

/** What the walk found, and why it could not see further where it could not. */
interface Walk {
  readonly found: Invocation[];
  /** The container's image: which release of a program it runs. */
  readonly image: string | undefined;
  /** Files a script sources, when a node check can read them. */
  readonly sourced?: SourcedFiles;
  /** Set when some program in the chain could not be identified (unknown word, script file). */
  unresolved?: string;
  /**
   * Set when the container runs etcd, but not as a member: `etcd grpc-proxy start`, `etcd gateway
   * start` (etcdmain.Main hands these subcommands to the proxies; measured on etcd 3.4.23, both start).
   */
  proxy?: string;
}

function invocation(
  walk: Walk,
  component: Component,
  program: string,
  args: readonly Word[],
  env: Environment,
  origin: string,
  extra: { opaque?: string; startError?: string } = {},
): Invocation {
  return { component, program, args: args.map(withPlaceholdersUnknown), env, origin, image: walk.image, ...extra };
}

/**
 * Programs that start etcd themselves, building its flags at run time: the container runs etcd, but
 * its configuration is not on the pod.
 */
const LAUNCHERS: Readonly<Record<string, { component: Component; reason: string }>> = {
  // kops (pkg/model/components/etcdmanager): etcd-manager runs etcd with flags it derives from its
  // own settings and the cluster state in its backup store.
  'etcd-manager': {
    component: 'etcd',
    reason:
      'etcd-manager (kops) starts etcd itself with flags it builds at run time; they are only visible in the running process on the node (/proc/<pid>/cmdline)',
  },
};

/** etcd's subcommands that run a proxy instead of a member (etcdmain.Main: args[1] is the subcommand). */
const ETCD_PROXY_SUBCOMMANDS = new Set(['grpc-proxy', 'gateway']);

/** Walks wrappers (shells, exec, env, nice, go-runner, hyperkube...) down to etcd or kube-apiserver. */
function resolve(argv: readonly Word[], env: Environment, origin: string, depth: number, walk: Walk): void {
  const out = walk.found;
  const first = argv[0];
  if (first === undefined || depth > 16) return;
  if (first.unknown !== undefined) {
    walk.unresolved ??= `the program it runs ${first.unknown.reason}`;
    return;
  }
  const name = basename(first.text);
  const rest = argv.slice(1);

  const component = PROGRAMS[name];
  if (component !== undefined) {
    if (component === 'etcd' && rest[0] !== undefined && ETCD_PROXY_SUBCOMMANDS.has(rest[0].text)) {
      walk.proxy ??= `${name} ${rest[0].text} runs a proxy in front of etcd members, not a member`;
      return;
    }
    out.push(invocation(walk, component, first.text, rest, env, origin));
    return;
  }
  const launcher = LAUNCHERS[name];
  if (launcher !== undefined) {
    out.push(invocation(walk, launcher.component, first.text, rest, env, origin, { opaque: launcher.reason }));
    return;
  }
  switch (name) {
    case 'env': {
      // env [-i] [-u NAME]... [NAME=VALUE]... COMMAND ARGS
      let removed: Set<string> | 'all' = new Set<string>();
      const overrides = new Map<string, EnvValue>();
      let k = 0;
      for (; k < rest.length; k++) {
        const w = rest[k] as Word;
        if (w.text === '-i' || w.text === '-' || w.text === '--ignore-environment') removed = 'all';
        else if (w.text === '-u') {
          const name = rest[++k]?.text ?? '';
          overrides.delete(name);
          if (removed !== 'all') removed.add(name);
        } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(knownPrefix(w))) {
          const eq = w.text.indexOf('=');
          overrides.set(
            w.text.slice(0, eq),
            w.unknown === undefined
              ? { state: 'known', value: w.text.slice(eq + 1), origin: 'env' }
              : { state: 'unknown', reason: w.unknown.reason },
          );
        } else break;
      }
      resolve(rest.slice(k), overlayEnvironment(env, overrides, { removed }), origin, depth + 1, walk);
      return;
    }
    case 'hyperkube': {
      // hyperkube SERVER [flags]: the all-in-one binary of Kubernetes ≤ 1.18 (cmd/hyperkube).
      const sub = rest[0]?.text;
      if (sub === 'kube-apiserver' || sub === 'apiserver') {
        out.push(invocation(walk, 'kube-apiserver', `${first.text} ${sub}`, rest.slice(1), env, origin));
      }
      return;
    }
    case 'openshift': {
      // OpenShift 3.x: `openshift start master api --config=master-config.yaml` runs kube-apiserver
      // (and its etcd client) configured by that file; `openshift start master` runs every master
      // component, the API server included (origin pkg/cmd/server/start).
      const words = rest.map((w) => w.text);
      const api = words[2] === 'api';
      if (words[0] === 'start' && words[1] === 'master' && (api || words[2] === undefined || words[2].startsWith('-'))) {
        const options = words.slice(api ? 3 : 2);
        const at = options.indexOf('--config');
        const config =
          options.find((w) => w.startsWith('--config='))?.slice('--config='.length) ?? (at !== -1 ? options[at + 1] : undefined);
        const reason = `OpenShift 3's master API server reads its etcd connection (etcdClientInfo) from ${config !== undefined ? `the master configuration ${config}` : 'its master configuration'} on the node, which the webhook cannot see`;
        out.push(
          invocation(walk, 'kube-apiserver', `${first.text} start master${api ? ' api' : ''}`, rest.slice(api ? 3 : 2), env, origin, {
            opaque: reason,
          }),
        );
      }
      return;
    }
    default:
      break;
  }
  const wrapper = WRAPPERS[name];
  if (wrapper !== undefined) {
    const next = wrappedCommand(name, wrapper, rest);
    if (next.kind === 'none') return;
    if (next.kind === 'unknown') {
      walk.unresolved ??= next.reason;
      return;
    }
    if (next.kind === 'shell') {
      resolveShell([{ text: '-c' }, next.script], first.text, env, depth, walk);
      return;
    }
    resolve(
      next.argv,
      next.clearsEnvironment === true ? overlayEnvironment(env, new Map(), { removed: 'all' }) : env,
      origin,
      depth + 1,
      walk,
    );
    return;
  }
  if (SHELLS.has(name)) resolveShell(name === 'busybox' ? rest.slice(1) : rest, first.text, env, depth, walk);
}

/** Long options of bash that take an argument (bash(1)); the others take none. */
const SHELL_LONG_WITH_ARG = new Set(['--rcfile', '--init-file']);

/**
 * `sh [-options] [-o NAME] -c SCRIPT [NAME [ARG...]]`: options cluster (`-ec`, `-xec`, `-euo
 * pipefail`: each `o` in a cluster takes the next word as an option name), `+` turns one off, and
 * bash's long options (`--norc`, `--login`, `--rcfile FILE`) come first.
 */
function resolveShell(args: readonly Word[], shell: string, env: Environment, depth: number, walk: Walk): void {
  const out = walk.found;
  let commandMode = false;
  let k = 0;
  while (k < args.length) {
    const t = args[k]?.text ?? '';
    if (t === '--' || t === '-') {
      k++;
      break;
    }
    if (/^--[a-z-]+$/.test(t)) {
      k += SHELL_LONG_WITH_ARG.has(t) ? 2 : 1;
      continue;
    }
    if (!/^[-+][A-Za-z]+$/.test(t)) break;
    if (t.startsWith('-') && t.includes('c')) commandMode = true;
    k += 1 + [...t].filter((c) => c === 'o').length;
  }
  const script = args[k];
  if (script === undefined) return;
  if (!commandMode) {
    walk.unresolved ??= `it runs the script file ${script.text}, which is not visible at admission`;
    return;
  }
  const scriptName = args[k + 1] ?? { text: shell };
  const positional = args.slice(k + 2);
  const origin = `${basename(shell)} -c script`;
  let commands;
  try {
    commands = parseShellScript(script.text, env, scriptName, [...positional], walk.sourced);
  } catch (err) {
    if (!(err instanceof ShellSyntaxError) && !(err instanceof ShellLimitError)) throw err;
    // The script mentions a program it may run: say what stops us (or the shell) from following it.
    for (const [program, component] of Object.entries(PROGRAMS)) {
      if (new RegExp(`(^|[\\s/;&|'"])${program}(\\s|$)`).test(script.text)) {
        out.push(
          err instanceof ShellSyntaxError
            ? invocation(walk, component, program, [], env, origin, {
                startError: `${basename(shell)} will reject the script: ${err.message}`,
              })
            : invocation(walk, component, program, [], env, origin, {
                opaque: `etcd-tls-guard does not follow the script further: ${err.message}`,
              }),
        );
      }
    }
    return;
  }
  const inner: Walk = { found: [], image: walk.image, ...(walk.sourced !== undefined ? { sourced: walk.sourced } : {}) };
  for (const cmd of commands) resolve(cmd.argv, cmd.env, origin, depth + 1, inner);
  if (inner.proxy !== undefined) walk.proxy ??= inner.proxy;
  // The script itself is unknown where it was built from unknown values: say so on what it runs.
  const reason = script.unknown?.reason;
  const scriptNote = reason === undefined ? undefined : `the script is built from a value that ${reason}`;
  for (const inv of inner.found) out.push(scriptNote === undefined ? inv : { ...inv, opaque: inv.opaque ?? scriptNote });
  if (inner.unresolved !== undefined) walk.unresolved ??= scriptNote ?? `its script: ${inner.unresolved}`;
}

function lazyEnvironment(build: () => Environment): Environment {
  let env: Environment | undefined;
  const force = (): Environment => (env ??= build());
  return { get: (name) => force().get(name), definedNames: () => force().definedNames(), open: () => force().open() };
}

/**
 * Every etcd and kube-apiserver run in a container, with its argv and environment as Kubernetes and
 * any wrapper would build them. Empty when the container runs neither.
 */
export function findInvocations(pod: Pod, container: Container, options: { readonly sourced?: SourcedFiles } = {}): Invocation[] {
  // Built only when something reads it: most containers of most pods never need it.
  const env = lazyEnvironment(() => containerEnvironment(pod, container));
  const expand = (s: string): Word => (s.includes('$') ? expandKubernetesReferences(s, (name) => env.get(name)) : { text: s });
  const command = (container.command ?? []).map(expand);
  const args = (container.args ?? []).map(expand);
  const walk: Walk = { found: [], image: container.image, ...(options.sourced !== undefined ? { sourced: options.sourced } : {}) };
  const repository = imageRepository(container.image ?? '');
  const known = command.length === 0 ? WELL_KNOWN_IMAGES.find((img) => img.repository.test(repository)) : undefined;

  if (command.length > 0) {
    resolve([...command, ...args], env, 'command/args', 0, walk);
  } else if (known?.opaque !== undefined && args.length === 0) {
    const { component, reason } = known.opaque;
    return [invocation(walk, component, known.cmd[0] ?? repository, [], env, 'image default', { opaque: reason })];
  } else if (known !== undefined) {
    const argv = [...known.entrypoint, ...(args.length > 0 ? [] : known.cmd)].map((s): Word => ({ text: s }));
    // An entrypoint script that ends in `exec "$@"` (bitnami's) runs args as the command.
    resolve(known.opaque !== undefined ? args : [...argv, ...args], env, args.length > 0 ? 'args' : 'image default', 0, walk);
  } else {
    // An image we do not know: without an ENTRYPOINT, args are the command (the common case for
    // `args: [etcd, ...]`); with one, we cannot tell.
    resolve(args, env, 'args', 0, walk);
    if (walk.found.length === 0 && walk.unresolved === undefined)
      walk.unresolved = `the entrypoint of image ${container.image ?? ''} is not known`;
  }
  // An image *named* etcd or kube-apiserver whose command cannot be followed is still one of ours:
  // its configuration is unknown, not absent.
  const component = PROGRAMS[basename(repository)];
  if (walk.found.length === 0 && walk.unresolved !== undefined && walk.proxy === undefined && component !== undefined) {
    return [
      invocation(walk, component, repository, args, env, command.length > 0 ? 'command/args' : 'image default', {
        opaque: `${walk.unresolved}; set the container's command explicitly`,
      }),
    ];
  }
  return walk.found;
}

/**
 * The etcd or kube-apiserver run of a process seen on the node: its argv exactly as the kernel has
 * it (no `$(VAR)` expansion: that already happened) and its environment exactly as it started.
 * `image`, when the process is known to come from a container, tells its release.
 */
export function processInvocations(
  argv: readonly string[],
  vars: ReadonlyMap<string, string> | { readonly unreadable: string },
  image?: string,
): Invocation[] {
  const walk: Walk = { found: [], image };
  resolve(
    argv.map((text): Word => ({ text })),
    vars instanceof Map
      ? processEnvironment(vars)
      : unreadableEnvironment(`the process environment cannot be read: ${(vars as { unreadable: string }).unreadable}`),
    'process',
    0,
    walk,
  );
  return walk.found;
}
