/**
 * Which release a container runs, read from its image, and what that lets the model claim: a refusal
 * for a flag the release lacks only when the tables cover that exact release; behaviour that changed
 * between releases only when every release the run may be agrees.
 */
import { expect } from 'chai';
import { readApiserverConfig } from '../../src/program-config/apiserver.js';
import { readEtcdConfig } from '../../src/program-config/etcd.js';
import { evaluatePod } from '../../src/rules/evaluate.js';
import { findInvocations } from '../../src/launch/invocation.js';
import type { EnvVar } from '../../src/launch/pod.js';
import { releaseScope, splitImage } from '../../src/program-config/releases.js';
import type { ProgramConfig } from '../../src/program-config/settings.js';
import { container, podWith } from '../helpers.js';

function configOf(image: string, argv: string[], env: EnvVar[] = []): ProgramConfig {
  const c = container({ image, command: argv, env });
  const [inv] = findInvocations(podWith({}, [c]), c);
  if (inv === undefined) throw new Error('nothing found');
  return inv.component === 'etcd' ? readEtcdConfig(inv) : readApiserverConfig(inv);
}

describe('the release an image runs', () => {
  const cases: Array<{
    component: 'etcd' | 'kube-apiserver';
    image: string;
    candidates: string[] | 'all';
    covered: boolean;
    says: RegExp;
  }> = [
    {
      component: 'etcd',
      image: 'registry.k8s.io/etcd:3.5.15-0',
      candidates: ['3.5'],
      covered: true,
      says: /^etcd 3\.5\.15 \(image tag\)$/,
    },
    { component: 'etcd', image: 'k8s.gcr.io/etcd-amd64:3.4.13-0', candidates: ['3.4'], covered: true, says: /etcd 3\.4\.13/ },
    { component: 'etcd', image: 'quay.io/coreos/etcd:v3.3.10', candidates: ['3.3'], covered: true, says: /etcd 3\.3\.10/ },
    {
      component: 'etcd',
      image: 'gcr.io/etcd-development/etcd:v3.6.99',
      candidates: ['3.6'],
      covered: false,
      says: /newer than 3\.6\.\d+, the 3\.6 release the flag table was measured on/,
    },
    {
      component: 'etcd',
      image: 'quay.io/coreos/etcd:v3.2.18',
      candidates: 'all',
      covered: false,
      says: /outside the releases the flag tables cover \(3\.3–/,
    },
    {
      component: 'etcd',
      image: 'registry.k8s.io/etcd@sha256:0123456789abcdef',
      candidates: 'all',
      covered: false,
      says: /pinned by digest/,
    },
    {
      component: 'etcd',
      image: 'registry.k8s.io/etcd:3.5.15-0@sha256:0123456789abcdef',
      candidates: 'all',
      covered: false,
      says: /pinned by digest/,
    },
    {
      component: 'etcd',
      image: 'mirror.example.com/etcd:3.5.15-0',
      candidates: 'all',
      covered: false,
      says: /not an upstream etcd release image/,
    },
    { component: 'etcd', image: 'registry.k8s.io/etcd:latest', candidates: 'all', covered: false, says: /not a release version/ },
    {
      component: 'kube-apiserver',
      image: 'registry.k8s.io/kube-apiserver:v1.31.2',
      candidates: ['1.31'],
      covered: true,
      says: /kube-apiserver 1\.31\.2 \(image tag\)/,
    },
    {
      component: 'kube-apiserver',
      image: 'registry.k8s.io/kube-apiserver-amd64:v1.30.2',
      candidates: ['1.30'],
      covered: true,
      says: /kube-apiserver 1\.30\.2/,
    },
    {
      component: 'kube-apiserver',
      image: 'registry.k8s.io/kube-apiserver:v1.33.2',
      candidates: ['1.33'],
      covered: true,
      says: /kube-apiserver 1\.33\.2 \(image tag\)/,
    },
    {
      component: 'kube-apiserver',
      image: 'registry.k8s.io/kube-apiserver:v1.37.2',
      candidates: ['1.37'],
      covered: true,
      says: /kube-apiserver 1\.37\.2 \(image tag\)/,
    },
    {
      component: 'kube-apiserver',
      image: 'registry.k8s.io/kube-apiserver:v1.27.1',
      candidates: ['1.27'],
      covered: true,
      says: /kube-apiserver 1\.27\.1/,
    },
    {
      component: 'kube-apiserver',
      image: 'registry.k8s.io/kube-apiserver:v1.26.15',
      candidates: 'all',
      covered: false,
      says: /1\.26\.15 \(image tag\) is outside the releases the flag tables cover \(1\.27–1\.37\)/,
    },
    {
      component: 'kube-apiserver',
      image: 'k8s.gcr.io/hyperkube:v1.18.20',
      candidates: 'all',
      covered: false,
      says: /1\.18\.20 \(image tag\) is outside/,
    },
    {
      component: 'kube-apiserver',
      image: 'registry.k8s.io/kube-apiserver:v1.38.0-beta.0',
      candidates: 'all',
      covered: false,
      says: /not a release version/,
    },
    {
      component: 'kube-apiserver',
      image: 'rancher/hardened-kubernetes:v1.30.4-rke2r1-build20240815',
      candidates: 'all',
      covered: false,
      says: /not an upstream kube-apiserver release image/,
    },
  ];
  for (const c of cases) {
    it(`${c.image} → ${c.candidates === 'all' ? 'any release of the tables' : c.candidates.join(',')}${c.covered ? ', flags covered' : ''}`, () => {
      const scope = releaseScope(c.component, c.image);
      if (c.candidates !== 'all') expect(scope.candidates).to.deep.equal(c.candidates);
      else expect(scope.candidates.length).to.be.greaterThan(1);
      expect(scope.flagsCovered).to.equal(c.covered);
      expect(scope.description).to.match(c.says);
    });
  }

  it('splits registry, repository, tag and digest as the container runtime does', () => {
    expect(splitImage('localhost:5000/etcd:3.5.1-0')).to.deep.equal({ repository: 'localhost:5000/etcd', tag: '3.5.1-0' });
    expect(splitImage('docker.io/library/etcd')).to.deep.equal({ repository: 'etcd' });
    expect(splitImage('quay.io/coreos/etcd@sha256:ab')).to.deep.equal({ repository: 'quay.io/coreos/etcd', digest: 'sha256:ab' });
  });
});

describe('a flag the release does not define', () => {
  it('is a refusal when the tables cover the release, naming the release (and where the flag exists)', () => {
    const cfg = configOf('registry.k8s.io/etcd:3.5.15-0', ['etcd', '--ca-file=/ca.crt']);
    expect(cfg.refusal).to.equal(
      'flag provided but not defined: -ca-file (etcd 3.5.15 (image tag) has no such flag; it exists in etcd 3.3)',
    );
  });

  it('kube-apiserver: a flag a later release removed is refused on that release, naming where it exists', () => {
    const cfg = configOf('registry.k8s.io/kube-apiserver:v1.33.2', [
      'kube-apiserver',
      '--etcd-servers=https://127.0.0.1:2379',
      '--cloud-provider-gce-lb-src-cidrs=130.211.0.0/22',
    ]);
    expect(cfg.refusal).to.match(
      /^unknown flag: --cloud-provider-gce-lb-src-cidrs \(kube-apiserver 1\.33\.2 \(image tag\) has no such flag; it exists in kube-apiserver 1\.27–1\.30\)$/,
    );
  });

  it('kube-apiserver: --insecure-port on a covered 1.30 image is refused as its own flag set refuses it', () => {
    const cfg = configOf('registry.k8s.io/kube-apiserver:v1.30.2', [
      'kube-apiserver',
      '--etcd-servers=https://127.0.0.1:2379',
      '--insecure-port=0',
    ]);
    expect(cfg.refusal).to.match(/^unknown flag: --insecure-port \(kube-apiserver 1\.30\.2 \(image tag\) has no such flag/);
  });

  it('is evidence, not a refusal, when the release is not known; the rest of the configuration decides', () => {
    const cfg = configOf('mirror.example.com/etcd:3.5.15-0', ['etcd', '--force-new-cluster-bump-amount=5', '--client-cert-auth=true']);
    expect(cfg.refusal).to.equal(undefined);
    expect(cfg.get('client-cert-auth')).to.deep.include({ state: 'set', value: 'true' });
    expect(cfg.notes.join('\n')).to.match(
      /--force-new-cluster-bump-amount is not a flag of etcd 3\.3–3\.\d \(its value is given with =\); the etcd release is not known/,
    );
  });

  it('a single-dash long name is an unknown shorthand: refused on a covered release, evidence (by its name) otherwise', () => {
    const args = ['kube-apiserver', '--etcd-servers=https://127.0.0.1:2379', '-etcd-cafile=/ca'];
    expect(configOf('registry.k8s.io/kube-apiserver:v1.33.2', args).refusal).to.match(/^unknown shorthand flag: 'e' in -etcd-cafile=\/ca/);
    const unknown = configOf('mirror.example.com/kube-apiserver:x', args);
    expect(unknown.refusal).to.equal(undefined);
    expect(unknown.notes.join('\n')).to.match(/--etcd-cafile is not a flag of kube-apiserver 1\.27–1\.37 \(its value is given with =\)/);
    expect(unknown.get('etcd-cafile').state).to.equal('absent');
  });

  it('an unrecognised flag in the space form takes the next word as its value; before another flag, that flag becomes unknown', () => {
    const cfg = configOf('mirror.example.com/etcd:3.5', [
      'etcd',
      '--experimental-x',
      '--client-cert-auth=true',
      '--bogus',
      'v',
      '--auto-tls=false',
    ]);
    expect(cfg.get('client-cert-auth')).to.deep.include({ state: 'unknown' });
    expect(cfg.get('auto-tls')).to.deep.include({ state: 'set', value: 'false' });
  });

  it('no --etcd-servers beside a flag the tables do not know: not a refusal (that flag may configure etcd), the etcd settings are unknown', () => {
    const cfg = configOf('mirror.example.com/kube-apiserver:v1.30.0', ['kube-apiserver', '--distro-config=/etc/distro/apiserver.yaml']);
    expect(cfg.refusal).to.equal(undefined);
    expect(cfg.get('etcd-cafile')).to.deep.include({ state: 'unknown' });
    expect((cfg.get('etcd-servers') as { reason: string }).reason).to.match(
      /unless --distro-config, which etcd-tls-guard does not know for this release, configures etcd/,
    );
    // Without such a flag, upstream kube-apiserver's own Validate refuses, in every release.
    expect(configOf('mirror.example.com/kube-apiserver:v1.30.0', ['kube-apiserver', '--v=2']).refusal).to.equal(
      '--etcd-servers must be specified',
    );
  });

  it('a flag that exists only in some releases narrows the run to them (if it starts, it is one of those)', () => {
    const cfg = configOf('mirror.example.com/etcd:x', ['etcd', '--ca-file=/ca.crt']);
    expect(cfg.releases).to.deep.equal(['3.3']);
    expect(cfg.notes.join('\n')).to.match(/if it starts, it is etcd 3\.3: --ca-file is not a flag of the other releases in scope/);
  });
});

describe('behaviour that changed between etcd releases', () => {
  const HTTPS = [
    '--listen-client-urls=https://10.0.0.1:2379',
    '--advertise-client-urls=https://10.0.0.1:2379',
    '--cert-file=/c',
    '--key-file=/k',
  ];

  it('ETCD_* beside the same flag: etcd 3.4+ refuses to start (measured), etcd 3.3 warns and uses the flag', () => {
    const env = [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'false' }];
    expect(configOf('registry.k8s.io/etcd:3.4.23-0', ['etcd', ...HTTPS, '--client-cert-auth=true'], env).refusal).to.match(
      /conflicting environment variable "ETCD_CLIENT_CERT_AUTH"/,
    );
    const v33 = configOf('quay.io/coreos/etcd:v3.3.10', ['etcd', ...HTTPS, '--client-cert-auth=true'], env);
    expect(v33.refusal).to.equal(undefined);
    expect(v33.get('client-cert-auth')).to.deep.include({ value: 'true', source: 'argv' });
    expect(v33.notes.join('\n')).to.match(/etcd 3\.3 logs that it is shadowed and uses the flag/);
  });

  it('with the release unknown, the conflict is not claimed as a refusal: the flag is the value whenever etcd starts', () => {
    const cfg = configOf(
      'mirror.example.com/etcd:x',
      ['etcd', ...HTTPS, '--client-cert-auth=true'],
      [{ name: 'ETCD_CLIENT_CERT_AUTH', value: 'false' }],
    );
    expect(cfg.refusal).to.equal(undefined);
    expect(cfg.get('client-cert-auth')).to.deep.include({ value: 'true' });
    expect(cfg.notes.join('\n')).to.match(/etcd 3\.4 and later refuse to start .* etcd 3\.3 uses the flag; the release is not known/);
  });

  const effective = (image: string, extra: string[]): string | undefined =>
    evaluatePod(podWith({}, [container({ image, command: ['etcd', ...HTTPS, ...extra] })]), {
      etcdTopology: 'single',
    }).results[0]?.findings.find((f) => f.rule === 'etcd-client-auth-effective')?.status;

  it('--trusted-ca-file alone verifies client certificates from 3.4 on, not in 3.3; unknown release → unknown', () => {
    expect(effective('registry.k8s.io/etcd:3.5.15-0', ['--trusted-ca-file=/ca'])).to.equal('pass');
    expect(effective('quay.io/coreos/etcd:v3.3.10', ['--trusted-ca-file=/ca'])).to.equal('fail');
    expect(effective('mirror.example.com/etcd:x', ['--trusted-ca-file=/ca'])).to.equal('unknown');
  });

  it('etcd 3.3\'s deprecated --ca-file turns verification on (CAFile != "" || ClientCertAuth)', () => {
    expect(effective('quay.io/coreos/etcd:v3.3.10', ['--ca-file=/ca'])).to.equal('pass');
    // Unknown release: only etcd 3.3 has --ca-file, so if etcd starts it verifies.
    expect(effective('mirror.example.com/etcd:x', ['--ca-file=/ca'])).to.equal('pass');
  });
});
