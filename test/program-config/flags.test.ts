import { expect } from 'chai';
import { parseGoBool, parseGoFlags, parsePflags, type FlagLookup, type FlagSpec } from '../../src/program-config/flags.js';
import { words } from '../helpers.js';

const goFlags = new Map<string, FlagSpec>([
  ['client-cert-auth', { bool: true }],
  ['name', { bool: false }],
  ['listen-client-urls', { bool: false }],
]);
const table: FlagLookup = (name) => goFlags.get(name);

function goLast(args: string[], flag: string): string | undefined {
  const r = parseGoFlags(words(...args), table, 'etcd');
  const list = r.occurrences.get(flag);
  return list?.[list.length - 1]?.value.text;
}

describe('etcd flags (Go flag package)', () => {
  it('-name is the same flag as --name', () => {
    expect(goLast(['-name=a'], 'name')).to.equal('a');
    expect(goLast(['-client-cert-auth'], 'client-cert-auth')).to.equal('true');
  });
  it('--name=value and --name value', () => {
    expect(goLast(['--name=a'], 'name')).to.equal('a');
    expect(goLast(['--name', 'a'], 'name')).to.equal('a');
  });
  it('a non-boolean flag takes the next argument even when it starts with -- (measured: --name --foo starts)', () => {
    expect(goLast(['--name', '--client-cert-auth'], 'name')).to.equal('--client-cert-auth');
    expect(goLast(['--name', '--client-cert-auth'], 'client-cert-auth')).to.equal(undefined);
  });
  it('a bare boolean means true', () => {
    expect(goLast(['--client-cert-auth'], 'client-cert-auth')).to.equal('true');
  });
  it('last --client-cert-auth wins', () => {
    expect(goLast(['--client-cert-auth=true', '--client-cert-auth=false'], 'client-cert-auth')).to.equal('false');
    expect(goLast(['--client-cert-auth=false', '--client-cert-auth'], 'client-cert-auth')).to.equal('true');
  });
  it('boolean values are exactly strconv.ParseBool: 1 t T true TRUE True / 0 f F false FALSE False', () => {
    for (const v of ['1', 't', 'T', 'true', 'TRUE', 'True']) expect(parseGoBool(v), v).to.equal(true);
    for (const v of ['0', 'f', 'F', 'false', 'FALSE', 'False']) expect(parseGoBool(v), v).to.equal(false);
    for (const v of ['yes', 'on', 'no', 'off', '', 'tRUE', 'y']) expect(parseGoBool(v), v).to.equal(undefined);
  });

  const refusals: Array<{ name: string; args: string[]; error: RegExp }> = [
    {
      name: '--client-cert-auth=yes makes etcd exit (measured: invalid boolean value "yes")',
      args: ['--client-cert-auth=yes'],
      error: /invalid boolean value "yes" for -client-cert-auth/,
    },
    { name: '--client-cert-auth= (empty) makes etcd exit (measured)', args: ['--client-cert-auth='], error: /invalid boolean value ""/ },
    {
      name: "--client-cert-auth true, space form: 'true' is not a valid flag (measured)",
      args: ['--client-cert-auth', 'true'],
      error: /'true' is not a valid flag/,
    },
    {
      name: 'names are case-sensitive: --Client-Cert-Auth is not defined (measured)',
      args: ['--Client-Cert-Auth'],
      error: /flag provided but not defined: -Client-Cert-Auth/,
    },
    {
      name: 'an unknown flag (measured: flag provided but not defined)',
      args: ['--bogus-flag'],
      error: /flag provided but not defined: -bogus-flag/,
    },
    {
      name: "anything after -- is refused (measured: 'foo' is not a valid flag)",
      args: ['--name=a', '--', 'foo'],
      error: /'foo' is not a valid flag/,
    },
    { name: 'a lone - is a non-flag argument (measured)', args: ['-'], error: /'-' is not a valid flag/ },
    { name: '---name is bad syntax (measured)', args: ['---name=a'], error: /bad flag syntax: ---name=a/ },
    { name: '--=x is bad syntax (measured)', args: ['--=x'], error: /bad flag syntax/ },
    { name: 'a value flag at the end needs an argument (measured)', args: ['--name'], error: /flag needs an argument: -name/ },
  ];
  for (const c of refusals) {
    it(c.name, () => {
      expect(parseGoFlags(words(...c.args), table, 'etcd').error).to.match(c.error);
    });
  }

  it('-- at the very end is accepted (measured: etcd starts)', () => {
    expect(parseGoFlags(words('--name=a', '--'), table, 'etcd').error).to.equal(undefined);
  });
  it('-h and --help print usage and exit 0 (measured)', () => {
    expect(parseGoFlags(words('-h'), table, 'etcd').exits).to.contain('usage');
    expect(parseGoFlags(words('--help'), table, 'etcd').exits).to.contain('usage');
  });
  it('a flag whose value is unknown keeps its name', () => {
    const r = parseGoFlags([{ text: '--name=$(X)', unknown: { at: 7, reason: 'secret' } }], table, 'etcd');
    expect(r.occurrences.get('name')?.[0]?.value.unknown).to.deep.equal({ at: 0, reason: 'secret' });
  });
  it('an argument whose name is unknown makes everything indeterminate', () => {
    const r = parseGoFlags([{ text: '$(ARGS)', unknown: { at: 0, reason: 'comes from configMapKeyRef' } }], table, 'etcd');
    expect(r.indeterminate).to.contain('could set any flag');
  });
});

const apiFlags = new Map<string, FlagSpec>([
  ['allow-privileged', { bool: true }],
  ['help', { bool: true }],
  ['version', { bool: true, validate: (v: string) => (v === 'raw' || v === 'true' || v === 'false' ? undefined : 'invalid') }],
  ['etcd-cafile', { bool: false }],
  ['etcd-certfile', { bool: false }],
  ['etcd-servers', { bool: false, accumulates: true }],
  ['v', { bool: false }],
]);
const apiTable: FlagLookup = (name) => apiFlags.get(name);
const shorthands = new Map([
  ['v', 'v'],
  ['h', 'help'],
]);

function pLast(args: string[], flag: string): string | undefined {
  const r = parsePflags(words(...args), apiTable, shorthands, 'kube-apiserver');
  const list = r.occurrences.get(flag);
  return list?.[list.length - 1]?.value.text;
}

// Every expectation below was measured with kube-apiserver v1.31.2's own flag set
// (app.NewAPIServerCommand().Flags() after cli.Run's normalization), built from k8s.io/kubernetes.
describe('kube-apiserver flags (spf13/pflag)', () => {
  it('--name=value and --name value', () => {
    expect(pLast(['--etcd-cafile=/a'], 'etcd-cafile')).to.equal('/a');
    expect(pLast(['--etcd-cafile', '/a'], 'etcd-cafile')).to.equal('/a');
  });
  it('the next argument is taken as the value even when it starts with --', () => {
    expect(pLast(['--etcd-cafile', '--etcd-certfile=/c'], 'etcd-cafile')).to.equal('--etcd-certfile=/c');
    expect(pLast(['--etcd-cafile', '--etcd-certfile=/c'], 'etcd-certfile')).to.equal(undefined);
  });
  it('_ in a name reads as - (WordSepNormalizeFunc)', () => {
    expect(pLast(['--etcd_cafile=/a'], 'etcd-cafile')).to.equal('/a');
  });
  it('last occurrence wins', () => {
    expect(pLast(['--etcd-cafile=/a', '--etcd-cafile=/b'], 'etcd-cafile')).to.equal('/b');
  });
  it('list flags accumulate', () => {
    const r = parsePflags(words('--etcd-servers=https://a:2379', '--etcd-servers=https://b:2379'), apiTable, shorthands, 'kube-apiserver');
    expect(r.occurrences.get('etcd-servers')?.map((o) => o.value.text)).to.deep.equal(['https://a:2379', 'https://b:2379']);
  });
  it('a boolean flag does not take the next argument', () => {
    const r = parsePflags(words('--allow-privileged', 'true'), apiTable, shorthands, 'kube-apiserver');
    expect(r.error).to.match(/does not take any arguments, got "true"/);
  });
  it('a single-dash long name is an unknown shorthand', () => {
    expect(parsePflags(words('-etcd-cafile=/a'), apiTable, shorthands, 'kube-apiserver').error).to.equal(
      "unknown shorthand flag: 'e' in -etcd-cafile=/a",
    );
  });
  it('-v=2, -v 2 and -v2 are klog verbosity', () => {
    expect(pLast(['-v=2'], 'v')).to.equal('2');
    expect(pLast(['-v', '3'], 'v')).to.equal('3');
    expect(pLast(['-v4'], 'v')).to.equal('4');
  });
  it('interspersed positional arguments are refused by kube-apiserver', () => {
    expect(parsePflags(words('--etcd-cafile=/a', 'extra', '--etcd-servers=x'), apiTable, shorthands, 'kube-apiserver').error).to.match(
      /does not take any arguments/,
    );
  });
  it('--help and -h exit', () => {
    expect(parsePflags(words('--help'), apiTable, shorthands, 'kube-apiserver').exits).to.contain('usage');
    expect(parsePflags(words('-h'), apiTable, shorthands, 'kube-apiserver').exits).to.contain('usage');
  });
  it('--help=false is no help', () => {
    expect(parsePflags(words('--help=false', '--etcd-cafile=/a'), apiTable, shorthands, 'kube-apiserver').exits).to.equal(undefined);
  });
  it('-hv is help then -v without its value: an error', () => {
    expect(parsePflags(words('-hv'), apiTable, shorthands, 'kube-apiserver').error).to.equal("flag needs an argument: 'v' in -hv");
  });
  it('--version exits, --version=false does not', () => {
    expect(parsePflags(words('--version=raw'), apiTable, shorthands, 'kube-apiserver').exits).to.contain('version');
    expect(parsePflags(words('--version=false'), apiTable, shorthands, 'kube-apiserver').exits).to.equal(undefined);
  });
  it('an unknown flag is an error (unknown flag: --bogus)', () => {
    expect(parsePflags(words('--bogus=1'), apiTable, shorthands, 'kube-apiserver').error).to.equal('unknown flag: --bogus');
  });
  it('a value flag at the end needs an argument', () => {
    expect(parsePflags(words('--etcd-cafile'), apiTable, shorthands, 'kube-apiserver').error).to.equal(
      'flag needs an argument: --etcd-cafile',
    );
  });
  it('---etcd-cafile is bad syntax', () => {
    expect(parsePflags(words('---etcd-cafile=/a'), apiTable, shorthands, 'kube-apiserver').error).to.equal(
      'bad flag syntax: ---etcd-cafile=/a',
    );
  });
  it('--etcd-cafile= sets an empty value (not "set" for CIS)', () => {
    expect(pLast(['--etcd-cafile='], 'etcd-cafile')).to.equal('');
  });
  it('an invalid boolean value is an error', () => {
    expect(parsePflags(words('--allow-privileged=yes'), apiTable, shorthands, 'kube-apiserver').error).to.match(
      /invalid argument "yes" for "--allow-privileged" flag/,
    );
  });
});

describe('a flag no release in scope knows, when the release is not covered (tolerated)', () => {
  // The arity of an unrecognised flag is unknown: the documented reading rule (Collector.unrecognizedFlag).
  const cases: Array<{ name: string; args: string[]; form: string; name2?: string; flag: string; value?: string; uncertain?: boolean }> = [
    {
      name: '--x=v is complete',
      args: ['--force-new-cluster-bump-amount=5', '--client-cert-auth'],
      form: 'inline',
      flag: 'client-cert-auth',
      value: 'true',
    },
    {
      name: '--x WORD takes WORD as its value (the only reading under which etcd starts)',
      args: ['--ca-file', '/ca.crt', '--name=a'],
      form: 'separate',
      flag: 'name',
      value: 'a',
    },
    { name: '--x last is bare', args: ['--name=a', '--experimental-thing'], form: 'bare', flag: 'name', value: 'a' },
    {
      name: '--x --y: --y may be the value of --x, so what it sets is uncertain',
      args: ['--bogus', '--client-cert-auth'],
      form: 'ambiguous',
      flag: 'client-cert-auth',
      value: 'true',
      uncertain: true,
    },
  ];
  for (const c of cases) {
    it(`Go flag: ${c.name}`, () => {
      const r = parseGoFlags(words(...c.args), table, 'etcd', true);
      expect(r.error).to.equal(undefined);
      expect(r.unrecognized.map((u) => u.form)).to.deep.equal([c.form]);
      const occ = r.occurrences.get(c.flag)?.at(-1);
      expect(occ?.value.text).to.equal(c.value);
      expect(occ?.uncertain !== undefined).to.equal(c.uncertain === true);
    });
  }

  it('pflag: an unknown long flag is recorded and parsing goes on', () => {
    const r = parsePflags(
      words('--insecure-port=8080', '--etcd-cafile=/ca', '--openshift-config', '/cfg.yaml'),
      apiTable,
      shorthands,
      'kube-apiserver',
      true,
    );
    expect(r.error).to.equal(undefined);
    expect(r.unrecognized.map((u) => [u.name, u.form])).to.deep.equal([
      ['insecure-port', 'inline'],
      ['openshift-config', 'separate'],
    ]);
    expect(r.occurrences.get('etcd-cafile')?.[0]?.value.text).to.equal('/ca');
  });

  it('pflag: an unknown flag before a known one makes the known one uncertain', () => {
    const r = parsePflags(words('--bogus', '--etcd-cafile=/ca'), apiTable, shorthands, 'kube-apiserver', true);
    expect(r.occurrences.get('etcd-cafile')?.[0]?.uncertain).to.contain('--bogus');
  });

  it('without tolerance the same argv is refused, with the flag named', () => {
    const r = parseGoFlags(words('--bogus', '--client-cert-auth'), table, 'etcd');
    expect(r.error).to.equal('flag provided but not defined: -bogus');
    expect(r.undefinedFlag).to.equal('bogus');
  });
});
