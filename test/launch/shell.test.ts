import { expect } from 'chai';
import type { Environment } from '../../src/launch/env.js';
import type { EnvValue } from '../../src/launch/word.js';
import { parseShellScript, SHELL_LIMITS, ShellLimitError, ShellSyntaxError } from '../../src/launch/shell.js';
import type { Word } from '../../src/launch/word.js';

function envOf(vars: Record<string, EnvValue>): Environment {
  return { get: (n) => vars[n], definedNames: () => Object.keys(vars), open: () => false };
}

const baseEnv = envOf({
  HOST: { state: 'known', value: 'cp-1', origin: 'env' },
  FLAGS: { state: 'known', value: '--a=1  --b=2', origin: 'env' },
  SECRET: { state: 'unknown', reason: 'comes from secretKeyRef s/k' },
});

function run(script: string, positional: string[] = []): Word[][] {
  return parseShellScript(
    script,
    baseEnv,
    { text: 'sh' },
    positional.map((text) => ({ text })),
  ).map((c) => c.argv);
}

function texts(script: string, positional: string[] = []): string[][] {
  return run(script, positional).map((argv) => argv.map((w) => w.text));
}

describe('POSIX shell scripts (sh -c)', () => {
  const cases: Array<{ name: string; script: string; positional?: string[]; commands: string[][] }> = [
    { name: 'a simple command', script: 'etcd --name=x', commands: [['etcd', '--name=x']] },
    { name: 'exec stays in argv (resolved as a wrapper later)', script: 'exec etcd --a', commands: [['exec', 'etcd', '--a']] },
    {
      name: '; && || | & and newlines separate commands',
      script: 'a; b && c || d | e & f\ng',
      commands: [['a'], ['b'], ['c'], ['d'], ['e'], ['f'], ['g']],
    },
    { name: 'single quotes are literal', script: "etcd '--name=$HOST x'", commands: [['etcd', '--name=$HOST x']] },
    {
      name: 'double quotes expand and do not split',
      script: 'etcd "--name=$HOST" "$FLAGS"',
      commands: [['etcd', '--name=cp-1', '--a=1  --b=2']],
    },
    { name: 'unquoted expansion is split into fields', script: 'etcd $FLAGS', commands: [['etcd', '--a=1', '--b=2']] },
    { name: '${VAR} and ${VAR:-default}', script: 'etcd ${HOST} ${NOPE:-dflt} ${HOST:-x}', commands: [['etcd', 'cp-1', 'dflt', 'cp-1']] },
    { name: 'an unset unquoted variable disappears', script: 'etcd $NOPE --a', commands: [['etcd', '--a']] },
    { name: 'an unset quoted variable leaves an empty argument', script: 'etcd "$NOPE" --a', commands: [['etcd', '', '--a']] },
    { name: 'backslash escapes and line continuations', script: 'etcd \\\n  --a=\\$x \\\n  --b', commands: [['etcd', '--a=$x', '--b']] },
    { name: 'comments are ignored', script: '# start\netcd --a # trailing', commands: [['etcd', '--a']] },
    { name: 'redirections and IO numbers are not arguments', script: 'etcd --a 2>&1 >/tmp/log </dev/null', commands: [['etcd', '--a']] },
    {
      name: 'a here-document body is not run',
      script: 'cat <<EOF >/x\netcd --evil\nEOF\netcd --good',
      commands: [['cat'], ['etcd', '--good']],
    },
    {
      name: "a here-string (bash's <<<) is a redirection, not a here-document: the lines after it run",
      script: 'grep -q x <<< "$HOST"\netcd --good',
      commands: [
        ['grep', '-q', 'x'],
        ['etcd', '--good'],
      ],
    },
    {
      name: "a command ended by & runs in a subshell: its `exit` (a backgrounded function's) does not end the script",
      script: 'collect() { etcdctl member list; exit 0; }\ncollect &\nA=1 &\nexec etcd --name "${A:-none}"',
      commands: [
        ['etcdctl', 'member', 'list'],
        ['exec', 'etcd', '--name', 'none'],
      ],
    },
    {
      name: '`return` ends the function, not the script: what follows it in the body does not run',
      script: 'f() { return 0; exec etcd --dead; }\nf\nexec etcd --live',
      commands: [['exec', 'etcd', '--live']],
    },
    {
      name: '`exit` in a function ends the script',
      script: 'f() { exit 0; }\nf\nexec etcd --never',
      commands: [],
    },
    {
      name: 'a backgrounded program is still started',
      script: 'etcd --a &\nwait',
      commands: [['etcd', '--a'], ['wait']],
    },
    {
      name: '"$@" gives each positional parameter',
      script: 'exec etcd "$@"',
      positional: ['--a=1', 'two words'],
      commands: [['exec', 'etcd', '--a=1', 'two words']],
    },
    { name: '$1 and $# ', script: 'etcd --name=$1 --n=$#', positional: ['x', 'y'], commands: [['etcd', '--name=x', '--n=2']] },
    {
      name: 'if/then/fi: the condition and the body are commands (true is a builtin)',
      script: 'if test -f x; then exec etcd --a; fi',
      commands: [
        ['test', '-f', 'x'],
        ['exec', 'etcd', '--a'],
      ],
    },
    { name: 'while/do/done', script: 'while ! ok; do sleep 1; done; etcd', commands: [['ok'], ['sleep', '1'], ['etcd']] },
    {
      name: 'a for loop over known words runs once per word',
      script: 'for i in etcd x; do echo $i; done',
      commands: [
        ['echo', 'etcd'],
        ['echo', 'x'],
      ],
    },
    {
      name: 'an assignment without a command sets a shell variable',
      script: 'N=cp-9; etcd --name=$N',
      commands: [['etcd', '--name=cp-9']],
    },
    { name: 'set -- replaces the positional parameters', script: 'set -- --x=1; etcd "$@"', commands: [['etcd', '--x=1']] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(texts(c.script, c.positional)).to.deep.equal(c.commands);
    });
  }

  it('a command substitution is unknown, with its text', () => {
    const [argv] = run('etcd --name=$(hostname)');
    expect(argv?.[1]?.unknown).to.deep.include({ at: 0 });
    expect(argv?.[1]?.unknown?.reason).to.contain('$(hostname)');
  });

  it('a quoted unknown expansion keeps the known flag name before it', () => {
    const [argv] = run('etcd "--client-cert-auth=$SECRET"');
    expect(argv?.[1]?.unknown?.at).to.equal('--client-cert-auth='.length);
  });

  it('an unquoted unknown expansion may split: the whole argument is unknown', () => {
    const [argv] = run('etcd --client-cert-auth=$SECRET');
    expect(argv?.[1]?.unknown?.at).to.equal(0);
  });

  it('prefix assignments go to that command only', () => {
    const cmds = parseShellScript('ETCD_AUTO_TLS=true etcd; etcd', baseEnv, { text: 'sh' }, []);
    expect(cmds[0]?.env.get('ETCD_AUTO_TLS')).to.include({ value: 'true' });
    expect(cmds[1]?.env.get('ETCD_AUTO_TLS')).to.equal(undefined);
  });

  it('export puts a variable in the environment of later commands', () => {
    const cmds = parseShellScript('export ETCD_CLIENT_CERT_AUTH=true\netcd', baseEnv, { text: 'sh' }, []);
    expect(cmds[0]?.env.get('ETCD_CLIENT_CERT_AUTH')).to.include({ value: 'true' });
  });

  it('a plain assignment is not exported', () => {
    const cmds = parseShellScript('ETCD_CLIENT_CERT_AUTH=true; etcd', baseEnv, { text: 'sh' }, []);
    expect(cmds[0]?.env.get('ETCD_CLIENT_CERT_AUTH')).to.equal(undefined);
  });

  it('reassigning an inherited variable changes what the child sees', () => {
    const cmds = parseShellScript('HOST=cp-2; etcd', baseEnv, { text: 'sh' }, []);
    expect(cmds[0]?.env.get('HOST')).to.include({ value: 'cp-2' });
  });

  it('unset removes an inherited variable from what the child sees', () => {
    const cmds = parseShellScript('unset HOST; etcd --name="$HOST"', baseEnv, { text: 'sh' }, []);
    expect(cmds[0]?.env.get('HOST')).to.equal(undefined);
    expect(cmds[0]?.argv[1]?.text).to.equal('--name=');
  });

  it('sourcing a file makes every variable unknown afterwards', () => {
    const cmds = parseShellScript('. /etc/etcd.env\netcd', baseEnv, { text: 'sh' }, []);
    expect(cmds[0]?.env.get('ETCD_CLIENT_CERT_AUTH')?.state).to.equal('unknown');
    expect(cmds[0]?.env.get('HOST')?.state).to.equal('unknown');
  });

  for (const bad of ["etcd 'unterminated", 'etcd "unterminated', 'etcd $(unterminated', 'cat <<EOF\nno end']) {
    it(`rejects a syntax error: ${JSON.stringify(bad)}`, () => {
      expect(() => run(bad)).to.throw(ShellSyntaxError);
    });
  }
});

describe('shell control flow, run as far as it can be known', () => {
  /** The first argument etcd receives (after `exec`, if the script execs it). */
  const arg = (script: string): Word | undefined => {
    const argv = run(script).find((a) => a.some((w) => w.text === 'etcd'));
    return argv?.[(argv.findIndex((w) => w.text === 'etcd') ?? 0) + 1];
  };

  const cases: Array<{ name: string; script: string; value?: string; unknown?: RegExp }> = [
    {
      name: 'if/else that set different values: unknown, naming the construct',
      script: 'if test -f /x; then N=a; else N=b; fi; etcd --name=$N',
      unknown: /may be changed by an `if`/,
    },
    { name: 'if/else that agree: known', script: 'if test -f /x; then N=a; else N=a; fi; etcd --name=$N', value: '--name=a' },
    {
      name: 'if without else: unknown when the branch changes it',
      script: 'N=a; if test -f /x; then N=b; fi; etcd --name=$N',
      unknown: /may be changed by an `if`/,
    },
    { name: 'elif chains are branches too', script: 'N=a; if x; then :; elif y; then N=c; fi; etcd --name=$N', unknown: /`if`/ },
    {
      name: 'a while loop that changes a variable: unknown after it',
      script: 'N=a; while test -n "$N"; do N=$N.x; done; etcd --name=$N',
      unknown: /`while` loop/,
    },
    {
      name: 'a loop that does not touch a variable leaves it known',
      script: 'N=a; until ok; do sleep 1; done; etcd --name=$N',
      value: '--name=a',
    },
    {
      name: 'a function that may return early: what the returning path set is merged after the call',
      script: 'pick() { if test -f /x; then N=a; return; fi; N=b; }\npick\netcd --name=$N',
      unknown: /may be changed by a function that may `return`/,
    },
    {
      name: 'a function whose paths all return the same value: known',
      script: 'pick() { if test -f /x; then N=a; return 0; fi; N=a; }\npick\netcd --name=$N',
      value: '--name=a',
    },
    { name: 'case arms are branches', script: 'N=a; case "$X" in a|b) N=z ;; *) ;; esac; etcd --name=$N', unknown: /`case`/ },
    {
      name: 'a function is run where it is called, with its own "$@"',
      script: 'start() { exec etcd "$@"; }\nstart --name=f',
      value: '--name=f',
    },
    { name: '`function NAME { }` form', script: 'function go { etcd --name=$1; }; go g', value: '--name=g' },
    { name: "a subshell's assignments do not last", script: 'N=a; (N=b); etcd --name=$N', value: '--name=a' },
    { name: "a pipeline's commands run in subshells", script: 'N=a; N=b | cat; etcd --name=$N', value: '--name=a' },
    {
      name: '[[ … && … ]] is a test, not a list',
      script: 'N=a; if [[ "$N" != "b" && -n "$N" ]]; then :; fi; etcd --name=$N',
      value: '--name=a',
    },
    { name: '(( )) may assign the variables it names', script: 'i=1; (( i += 1 )); etcd --name=$i', unknown: /arithmetic/ },
    {
      name: 'exec {FD}>file is a redirection, not a command',
      script: 'exec {LOCK_FD}>/var/lock/x && flock -w 30 "${LOCK_FD}"; etcd --name=a',
      value: '--name=a',
    },
    {
      name: 'a sourced file makes earlier values unknown, later assignments known again',
      script: 'N=a; . /etc/env; M=b; etcd --name=$N --x=$M',
      unknown: /may be set by `\. \/etc\/env`, a file the webhook cannot see/,
    },
    { name: 'read assigns an unknown value', script: 'read N < /etc/name; etcd --name=$N', unknown: /is read by `read`/ },
    {
      name: 'an IP or node name from a fieldRef keeps the argument one word when unquoted',
      script: 'etcd --name=$SECRET',
      unknown: /secretKeyRef/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const w = arg(c.script);
      if (c.value !== undefined) {
        expect(w?.unknown).to.equal(undefined);
        expect(w?.text).to.equal(c.value);
      } else {
        expect(w?.unknown?.reason).to.match(c.unknown as RegExp);
      }
    });
  }

  it('after a sourced file, a later assignment is known', () => {
    expect(arg('. /etc/env; M=b; etcd --x=$M')?.text).to.equal('--x=b');
  });

  it('exit ends the script: nothing after it runs', () => {
    expect(texts('test -f /x || exit 1; exit 0; etcd --a')).to.deep.equal([['test', '-f', '/x']]);
  });

  it('exec replaces the shell: what follows it (even after ||) never runs', () => {
    expect(texts('exec etcd --a || mv /a /b\netcd --b')).to.deep.equal([['exec', 'etcd', '--a']]);
  });

  it('exec inside a function ends the script too', () => {
    expect(texts('start() { exec etcd --a; }\nif test -f /x; then start; else start; fi\netcd --b')).to.deep.equal([
      ['test', '-f', '/x'],
      ['exec', 'etcd', '--a'],
      ['exec', 'etcd', '--a'],
    ]);
  });

  it('set -a exports every later assignment; set +a stops it', () => {
    const [cmd] = parseShellScript('set -a; ETCD_AUTO_TLS=true; set +a; ETCD_NAME=x; etcd', baseEnv, { text: 'sh' }, []);
    expect(cmd?.env.get('ETCD_AUTO_TLS')).to.include({ value: 'true' });
    expect(cmd?.env.get('ETCD_NAME')).to.equal(undefined);
  });

  it('exported on some paths only: maybe set, so never a certain ETCD_* twin', () => {
    const [, cmd] = parseShellScript('if x; then set -a; fi; ETCD_NAME=a; etcd', baseEnv, { text: 'sh' }, []);
    expect(cmd?.env.get('ETCD_NAME')).to.deep.include({ state: 'unknown', maybeUnset: true });
  });

  it('set -euo pipefail and set -x change no variable and no positional parameter', () => {
    expect(texts('set -euo pipefail; set -x; etcd "$@"', ['--a'])).to.deep.equal([['etcd', '--a']]);
  });

  it('set WORDS (no options) replaces the positional parameters', () => {
    expect(texts('set -e x y; etcd "$@"')).to.deep.equal([['etcd', 'x', 'y']]);
  });
});

describe('the interpreter is bounded on hostile scripts', () => {
  it('a variable doubled forty times becomes unknown past the value budget (it was a 500 before)', () => {
    const script = `A=x; ${'A=$A$A; '.repeat(40)}exec etcd --name=$A`;
    const [argv] = run(script);
    expect(argv?.[2]?.unknown?.reason).to.match(/longer than \d+ characters/);
    expect(argv?.[2]?.text.length).to.be.at.most(SHELL_LIMITS.valueChars + '--name='.length);
  });

  it('nesting deeper than the limit is a ShellLimitError, not a stack overflow', () => {
    const depth = SHELL_LIMITS.depth + 10;
    expect(() => run(`${'{ '.repeat(depth)}etcd${' ; }'.repeat(depth)}`)).to.throw(ShellLimitError, /nests compound commands/);
  });

  it('more commands than the limit is a ShellLimitError', () => {
    expect(() => run(': ;'.repeat(SHELL_LIMITS.steps + 1))).to.throw(ShellLimitError, /runs more than/);
  });

  it('a function calling itself stops at the depth limit', () => {
    expect(() => run('f() { f; }; f')).to.throw(ShellLimitError, /calls functions more than/);
  });

  it('an argument built past the character budget is a ShellLimitError', () => {
    const script = `A=x; ${'A=$A$A; '.repeat(17)}etcd ${'$A'.repeat(200)}`;
    expect(() => run(script)).to.throw(ShellLimitError, /builds/);
  });
});
