import { expect } from 'chai';
import type { Environment, EnvValue } from '../src/core/env.js';
import { parseShellScript, ShellSyntaxError } from '../src/core/shell.js';
import type { Word } from '../src/core/word.js';

function envOf(vars: Record<string, EnvValue>): Environment {
  return { get: (n) => vars[n], definedNames: () => Object.keys(vars) };
}

const baseEnv = envOf({
  HOST: { state: 'known', value: 'cp-1', origin: 'env' },
  FLAGS: { state: 'known', value: '--a=1  --b=2', origin: 'env' },
  SECRET: { state: 'unknown', reason: 'comes from secretKeyRef s/k' },
});

function run(script: string, positional: string[] = []): Word[][] {
  return parseShellScript(script, baseEnv, { text: 'sh' }, positional.map((text) => ({ text }))).map((c) => c.argv);
}

function texts(script: string, positional: string[] = []): string[][] {
  return run(script, positional).map((argv) => argv.map((w) => w.text));
}

describe('POSIX shell scripts (sh -c)', () => {
  const cases: Array<{ name: string; script: string; positional?: string[]; commands: string[][] }> = [
    { name: 'a simple command', script: 'etcd --name=x', commands: [['etcd', '--name=x']] },
    { name: 'exec stays in argv (resolved as a wrapper later)', script: 'exec etcd --a', commands: [['exec', 'etcd', '--a']] },
    { name: '; && || | & and newlines separate commands', script: 'a; b && c || d | e & f\ng', commands: [['a'], ['b'], ['c'], ['d'], ['e'], ['f'], ['g']] },
    { name: 'single quotes are literal', script: "etcd '--name=$HOST x'", commands: [['etcd', '--name=$HOST x']] },
    { name: 'double quotes expand and do not split', script: 'etcd "--name=$HOST" "$FLAGS"', commands: [['etcd', '--name=cp-1', '--a=1  --b=2']] },
    { name: 'unquoted expansion is split into fields', script: 'etcd $FLAGS', commands: [['etcd', '--a=1', '--b=2']] },
    { name: '${VAR} and ${VAR:-default}', script: 'etcd ${HOST} ${NOPE:-dflt} ${HOST:-x}', commands: [['etcd', 'cp-1', 'dflt', 'cp-1']] },
    { name: 'an unset unquoted variable disappears', script: 'etcd $NOPE --a', commands: [['etcd', '--a']] },
    { name: 'an unset quoted variable leaves an empty argument', script: 'etcd "$NOPE" --a', commands: [['etcd', '', '--a']] },
    { name: 'backslash escapes and line continuations', script: 'etcd \\\n  --a=\\$x \\\n  --b', commands: [['etcd', '--a=$x', '--b']] },
    { name: 'comments are ignored', script: '# start\netcd --a # trailing', commands: [['etcd', '--a']] },
    { name: 'redirections and IO numbers are not arguments', script: 'etcd --a 2>&1 >/tmp/log </dev/null', commands: [['etcd', '--a']] },
    { name: 'a here-document body is not run', script: 'cat <<EOF >/x\netcd --evil\nEOF\netcd --good', commands: [['cat'], ['etcd', '--good']] },
    { name: '"$@" gives each positional parameter', script: 'exec etcd "$@"', positional: ['--a=1', 'two words'], commands: [['exec', 'etcd', '--a=1', 'two words']] },
    { name: '$1 and $# ', script: 'etcd --name=$1 --n=$#', positional: ['x', 'y'], commands: [['etcd', '--name=x', '--n=2']] },
    { name: 'if/then/fi keywords start a new command', script: 'if true; then exec etcd --a; fi', commands: [['true'], ['exec', 'etcd', '--a']] },
    { name: 'while/do/done', script: 'while ! ok; do sleep 1; done; etcd', commands: [['ok'], ['sleep', '1'], ['etcd']] },
    { name: 'a for loop word list is not a command (the loop variable is not modelled)', script: 'for i in etcd x; do echo $i; done', commands: [['echo']] },
    { name: 'an assignment without a command sets a shell variable', script: 'N=cp-9; etcd --name=$N', commands: [['etcd', '--name=cp-9']] },
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
