/**
 * What distributions really ship (test/fixtures/distributions, modeled on their public sources: see
 * SOURCES.md there), and the verdicts a careful human gives each control-plane container.
 */
import { expect } from 'chai';
import { evaluatePod, type ComponentResult } from '../../src/rules/evaluate.js';
import type { Status } from '../../src/rules/rules.js';
import { loadFixture } from '../helpers.js';

const ETCD_RULES = [
  'etcd-client-tls',
  'etcd-client-cert-auth',
  'etcd-auto-tls',
  'etcd-peer-tls',
  'etcd-peer-client-cert-auth',
  'etcd-peer-auto-tls',
  'etcd-client-auth-effective',
  'etcd-peer-auth-effective',
] as const;
const APISERVER_RULES = ['apiserver-etcd-cafile', 'apiserver-etcd-client-cert', 'apiserver-etcd-tls'] as const;

const all = (rules: readonly string[], status: Status): Record<string, Status> => Object.fromEntries(rules.map((r) => [r, status]));

/** Clients served in plaintext by a single member: the client controls fail, the peer ones do not apply. */
const PLAINTEXT_CLIENTS_ONE_MEMBER: Readonly<Record<string, Status>> = {
  'etcd-client-tls': 'fail',
  'etcd-client-cert-auth': 'fail',
  'etcd-auto-tls': 'pass',
  'etcd-peer-tls': 'not-applicable',
  'etcd-peer-client-cert-auth': 'not-applicable',
  'etcd-peer-auto-tls': 'pass',
  'etcd-client-auth-effective': 'fail',
  'etcd-peer-auth-effective': 'not-applicable',
};

interface Expected {
  readonly component: 'etcd' | 'kube-apiserver';
  /** Which release the image says it runs (or why it does not say). */
  readonly release: RegExp;
  readonly statuses: Readonly<Record<string, Status>>;
  /** A message every finding of the container carries (the reason for unknown, say). */
  readonly message?: RegExp;
  /** Evidence the reader must have noted (unrecognised flags, narrowed releases). */
  readonly note?: RegExp;
  /** Where the admin really changes it. */
  readonly fix: RegExp;
}

interface Case {
  readonly fixture: string;
  readonly why: string;
  readonly containers: Readonly<Record<string, Expected>>;
}

const CASES: readonly Case[] = [
  {
    fixture: 'openshift4-etcd.yaml',
    why: 'the script is followed through set -euo pipefail, $(…), time while…done, export and exec nice -n -19 ionice -c2 -n0 etcd; etcd-metrics is a grpc-proxy, not a member',
    containers: {
      etcd: {
        component: 'etcd',
        release: /release is not known \(image quay\.io\/openshift-release-dev\/ocp-v4\.0-art-dev is not an upstream etcd release image/,
        statuses: all(ETCD_RULES, 'pass'),
        note: /if it starts, it is etcd 3\.4–3\.6: --logger, --experimental-initial-corrupt-check are not flags of the other releases in scope/,
        fix: /cluster-etcd-operator's configuration \(OpenShift writes this static pod and reverts edits/,
      },
    },
  },
  {
    fixture: 'openshift4-kube-apiserver.yaml',
    why: 'exec watch-termination … -- hyperkube kube-apiserver --openshift-config=FILE: the etcd connection is in that file on the node',
    containers: {
      'kube-apiserver': {
        component: 'kube-apiserver',
        release: /release is not known/,
        statuses: all(APISERVER_RULES, 'unknown'),
        message:
          /KubeAPIServerConfig file \/etc\/kubernetes\/static-pod-resources\/configmaps\/config\/config\.yaml on the node \(--openshift-config\)/,
        note: /--openshift-config is not a flag of kube-apiserver/,
        fix: /cluster-kube-apiserver-operator's configuration/,
      },
    },
  },
  {
    fixture: 'openshift4.3-etcd-member.yaml',
    why: 'the script sources /run/etcd/environment (a host file) before using its variables unquoted in argv: they may split into arguments that set any flag',
    containers: {
      'etcd-member': {
        component: 'etcd',
        release: /release is not known/,
        statuses: all(ETCD_RULES, 'unknown'),
        message: /could set any flag: \$ETCD_IPV4_ADDRESS may be set by `source \/run\/etcd\/environment`, a file the webhook cannot see/,
        fix: /cluster-etcd-operator's configuration/,
      },
    },
  },
  {
    fixture: 'openshift3-master-api.yaml',
    why: 'bash sources master.env with allexport, then execs `openshift start master api --config=FILE`',
    containers: {
      api: {
        component: 'kube-apiserver',
        release: /release is not known/,
        statuses: all(APISERVER_RULES, 'unknown'),
        message:
          /OpenShift 3's master API server reads its etcd connection \(etcdClientInfo\) from the master configuration \/etc\/origin\/master\/master-config\.yaml on the node/,
        fix: /\/etc\/origin\/master\/master-config\.yaml on node master-1\.example\.test \(etcdClientInfo\)/,
      },
    },
  },
  {
    fixture: 'openshift3-master-etcd.yaml',
    why: 'set -o allexport; source /etc/etcd/etcd.conf; exec etcd: every setting is an ETCD_* variable from a host file',
    containers: {
      etcd: {
        component: 'etcd',
        release: /the tag of image quay\.io\/coreos\/etcd:v3\.3 is not a release version/,
        statuses: all(ETCD_RULES, 'unknown'),
        message: /may be set by `source \/etc\/etcd\/etcd\.conf`, a file the webhook cannot see/,
        fix: /\/etc\/etcd\/etcd\.conf on node master-1\.example\.test \(the ETCD_\* variables the pod sources\)/,
      },
    },
  },
  {
    fixture: 'kops-kube-apiserver.yaml',
    why: 'Kubernetes 1.18 flags that later releases removed are evidence, not a refusal: 1.18 is outside the tables',
    containers: {
      'kube-apiserver': {
        component: 'kube-apiserver',
        release: /kube-apiserver 1\.18\.0 \(image tag\) is outside the releases the flag tables cover/,
        statuses: all(APISERVER_RULES, 'pass'),
        note: /--insecure-port is not a flag of kube-apiserver 1\.\d+–1\.\d+ \(its value is given with =\)/,
        fix: /kops cluster spec \(`kops edit cluster`: spec\.kubeAPIServer\)/,
      },
    },
  },
  {
    fixture: 'kops-etcd-manager.yaml',
    why: 'etcd-manager starts etcd with flags it builds at run time',
    containers: {
      'etcd-manager': {
        component: 'etcd',
        release: /release is not known/,
        statuses: all(ETCD_RULES, 'unknown'),
        message: /etcd-manager \(kops\) starts etcd itself with flags it builds at run time/,
        fix: /kops cluster spec \(`kops edit cluster`: spec\.etcdClusters\)/,
      },
    },
  },
  {
    fixture: 'kube-up-etcd.yaml',
    why: "clients over http://127.0.0.1:2379 (kube-up's default); one member in --initial-cluster, so the peer controls do not apply",
    containers: {
      'etcd-container': {
        component: 'etcd',
        release: /etcd 3\.5\.15 \(image tag\)/,
        statuses: PLAINTEXT_CLIENTS_ONE_MEMBER,
        fix: /kube-up configuration \(cluster\/gce\/config-default\.sh/,
      },
    },
  },
  {
    fixture: 'kube-up-kube-apiserver.yaml',
    why: 'go-runner with its own flags runs kube-apiserver, which talks to etcd over http',
    containers: {
      'kube-apiserver': {
        component: 'kube-apiserver',
        release: /kube-apiserver 1\.30\.2 \(image tag\)/,
        statuses: all(APISERVER_RULES, 'fail'),
        fix: /kube-up configuration/,
      },
    },
  },
  {
    fixture: 'kubemark-etcd.yaml',
    why: 'a folded sh -c line; peers on loopback only, so a single member; clients in plaintext on every address',
    containers: {
      'etcd-container': {
        component: 'etcd',
        release: /etcd 3\.5\.15 \(image tag\)/,
        statuses: PLAINTEXT_CLIENTS_ONE_MEMBER,
        fix: /kube-up configuration/,
      },
    },
  },
  {
    fixture: 'hyperkube-kube-apiserver.yaml',
    why: '/hyperkube kube-apiserver on 1.16: --insecure-port 8080 (space form) is read as flag and value, not a refusal',
    containers: {
      'kube-apiserver': {
        component: 'kube-apiserver',
        release: /kube-apiserver 1\.16\.15 \(image tag\) is outside the releases the flag tables cover/,
        statuses: all(APISERVER_RULES, 'pass'),
        note: /--insecure-port is not a flag of kube-apiserver 1\.\d+–1\.\d+ \(the argument after it is read as its value, the only reading under which the program starts\)/,
        fix: /\/etc\/kubernetes\/manifests\/kube-apiserver\.yaml on node node1/,
      },
    },
  },
  {
    fixture: 'metalk8s-etcd.yaml',
    why: 'kubeadm-like flags from Salt; two members listed',
    containers: {
      etcd: {
        component: 'etcd',
        release: /release is not known \(image metalk8s-registry-from-config\.invalid/,
        statuses: all(ETCD_RULES, 'pass'),
        fix: /MetalK8s Salt configuration that renders this manifest on node bootstrap/,
      },
    },
  },
  {
    fixture: 'rke2-etcd.yaml',
    why: 'etcd --config-file: every setting lives in that file on the node',
    containers: {
      etcd: {
        component: 'etcd',
        release: /release is not known \(image index\.docker\.io\/rancher\/hardened-etcd/,
        statuses: all(ETCD_RULES, 'unknown'),
        message: /configuration file \/var\/lib\/rancher\/rke2\/server\/db\/etcd\/config on the node/,
        fix: /\/var\/lib\/rancher\/rke2\/server\/db\/etcd\/config on node srv-1, which rke2-server rewrites at every start: .* an etcd-arg cannot change them .* and restart rke2-server$/,
      },
    },
  },
  {
    fixture: 'rke2-kube-apiserver.yaml',
    why: 'k3s-generated flags on a hardened image (release not read from a distribution build)',
    containers: {
      'kube-apiserver': {
        component: 'kube-apiserver',
        release: /release is not known/,
        statuses: all(APISERVER_RULES, 'pass'),
        fix: /\/etc\/rancher\/rke2\/config\.yaml on node srv-1 as kube-apiserver-arg/,
      },
    },
  },
  {
    fixture: 'talos-kube-apiserver.yaml',
    why: 'upstream image, flags rendered by machined',
    containers: {
      'kube-apiserver': {
        component: 'kube-apiserver',
        release: /kube-apiserver 1\.31\.1 \(image tag\)/,
        statuses: all(APISERVER_RULES, 'pass'),
        fix: /Talos machine config on node talos-cp-1 \(`talosctl edit machineconfig`: cluster\.apiServer\.extraArgs\)/,
      },
    },
  },
];

describe('real distributions: the verdicts a careful human gives', () => {
  for (const c of CASES) {
    describe(`${c.fixture}: ${c.why}`, () => {
      const evaluation = evaluatePod(loadFixture(`distributions/${c.fixture}`), { etcdTopology: 'auto' });
      const byContainer = new Map<string, ComponentResult>(evaluation.results.map((r) => [r.container, r]));

      it('judges exactly the containers that run etcd or kube-apiserver as a member or server', () => {
        expect([...byContainer.keys()].sort()).to.deep.equal(Object.keys(c.containers).sort());
      });

      for (const [name, want] of Object.entries(c.containers)) {
        it(`${name}: ${want.component}, ${Object.entries(want.statuses)
          .map(([r, s]) => `${r} ${s}`)
          .join(', ')}`, () => {
          const got = byContainer.get(name);
          expect(got?.component).to.equal(want.component);
          expect(got?.release).to.match(want.release);
          // The rules named here; a rule added later is judged by its own test table.
          const statuses = Object.fromEntries((got?.findings ?? []).map((f) => [f.rule, f.status]));
          expect(Object.fromEntries(Object.keys(want.statuses).map((r) => [r, statuses[r]]))).to.deep.equal(want.statuses);
          for (const f of (got?.findings ?? []).filter((x) => want.statuses[x.rule] !== undefined)) {
            if (want.message !== undefined) expect(f.message, f.rule).to.match(want.message);
            expect(f.remediation, f.rule).to.match(want.fix);
            if (want.note !== undefined && f.status !== 'not-applicable') expect(f.evidence.join('\n'), f.rule).to.match(want.note);
          }
        });
      }

      it('never claims that the program will refuse to start', () => {
        const claims = evaluation.results.flatMap((r) => r.findings.filter((f) => /refuse to start|will not serve/.test(f.message)));
        expect(claims.map((f) => f.message)).to.deep.equal([]);
      });
    });
  }
});
