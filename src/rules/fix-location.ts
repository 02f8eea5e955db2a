/**
 * Where a cluster admin really changes a control-plane pod's flags. A static pod's manifest is
 * usually written by a tool (kubeadm, RKE2, an operator, Salt, kops' nodeup), which rewrites it on
 * its next run: the fix belongs in that tool's configuration. Each distribution is recognised from
 * what the pod itself shows (paths, images, labels, annotations, namespace); the first that matches
 * gives the location. Sources are listed per entry and in test/fixtures/distributions/SOURCES.md.
 */
import type { Component } from '../launch/invocation.js';
import { isMirrorPod, type Pod } from '../launch/pod.js';

/** What is known of the pod and the run when the location is chosen. */
export interface FixContext {
  readonly pod: Pod;
  readonly component: Component;
  /** The container's image, command and args joined: where paths and tool names show. */
  readonly text: string;
  /** The etcd configuration file the run reads, when it reads one (--config-file, ETCD_CONFIG_FILE). */
  readonly configFile?: string;
}

interface Distribution {
  readonly name: string;
  readonly matches: (c: FixContext) => boolean;
  /** Replaces `{file}` in a rule's remediation ("Set --client-cert-auth=true in {file}"). */
  readonly location: (c: FixContext, node: string) => string;
}

const STATIC_MANIFEST: Readonly<Record<Component, string>> = {
  etcd: '/etc/kubernetes/manifests/etcd.yaml',
  'kube-apiserver': '/etc/kubernetes/manifests/kube-apiserver.yaml',
};

const labels = (pod: Pod): Readonly<Record<string, string>> => pod.metadata?.labels ?? {};
const annotations = (pod: Pod): Readonly<Record<string, string>> => pod.metadata?.annotations ?? {};
const namespace = (pod: Pod): string => pod.metadata?.namespace ?? '';

const DISTRIBUTIONS: readonly Distribution[] = [
  {
    // OpenShift 4: cluster-etcd-operator and cluster-kube-apiserver-operator render these pods
    // (bindata/etcd/pod.yaml, bindata/assets/kube-apiserver/pod.yaml) into openshift-etcd and
    // openshift-kube-apiserver; a hand edit is reverted by the next revision.
    name: 'OpenShift',
    matches: (c) => /^openshift-(etcd|kube-apiserver)$/.test(namespace(c.pod)) || c.text.includes('/etc/kubernetes/static-pod-resources/'),
    location: (c) =>
      `the ${c.component === 'etcd' ? 'cluster-etcd-operator' : 'cluster-kube-apiserver-operator'}'s configuration (OpenShift writes this static pod and reverts edits to it: see \`oc get ${c.component === 'etcd' ? 'etcd' : 'kubeapiserver'} cluster -o yaml\`, and report a setting the operator does not expose to Red Hat)`,
  },
  {
    // OpenShift 3.11: openshift-ansible's master static pods in kube-system (roles/openshift_control_plane,
    // roles/etcd): the API server reads /etc/origin/master/master-config.yaml, etcd /etc/etcd/etcd.conf.
    name: 'OpenShift 3',
    matches: (c) =>
      labels(c.pod)['openshift.io/control-plane'] === 'true' ||
      c.text.includes('/etc/origin/master/') ||
      (c.text.includes('openshift start master') && /(^|[\s/])openshift start master/.test(c.text)),
    location: (c, node) =>
      c.component === 'etcd'
        ? `/etc/etcd/etcd.conf${node} (the ETCD_* variables the pod sources), through openshift-ansible's inventory so that an upgrade keeps it`
        : `/etc/origin/master/master-config.yaml${node} (etcdClientInfo), through openshift-ansible's inventory so that an upgrade keeps it`,
  },
  {
    // k3s: etcd runs inside the k3s server process, reading the configuration file k3s writes from
    // its own settings at every start (k3s-io/k3s pkg/daemons/executor/executor.go,
    // ETCDConfig.ToConfigFile).
    name: 'k3s',
    matches: (c) => /(^|[\s/])k3s server(\s|$)/.test(c.text) || c.text.includes('/var/lib/rancher/k3s/'),
    location: (c, node) =>
      c.component === 'etcd' && c.configFile !== undefined
        ? rancherEtcdLocation('k3s', '/etc/rancher/k3s/config.yaml', c.configFile, node)
        : `/etc/rancher/k3s/config.yaml (or a file of /etc/rancher/k3s/config.yaml.d/)${node} as ${c.component === 'etcd' ? 'etcd-arg' : 'kube-apiserver-arg'}, then restart k3s`,
  },
  {
    // RKE2: the rke2 server writes /var/lib/rancher/rke2/agent/pod-manifests/{etcd,kube-apiserver}.yaml
    // from /etc/rancher/rke2/config.yaml; etcd reads /var/lib/rancher/rke2/server/db/etcd/config,
    // written by the same ToConfigFile as k3s's (rancher/rke2 pkg/podexecutor, docs.rke2.io).
    name: 'RKE2',
    matches: (c) =>
      c.text.includes('/var/lib/rancher/rke2/') ||
      c.text.includes('rancher/hardened-') ||
      annotations(c.pod)['etcd.k3s.io/initial'] !== undefined,
    location: (c, node) =>
      c.component === 'etcd' && c.configFile !== undefined
        ? rancherEtcdLocation('rke2-server', '/etc/rancher/rke2/config.yaml', c.configFile, node)
        : `/etc/rancher/rke2/config.yaml${node} as ${c.component === 'etcd' ? 'etcd-arg' : 'kube-apiserver-arg'} (RKE2 regenerates the static pod from it when rke2-server restarts)`,
  },
  {
    // kops: nodeup writes the kube-apiserver manifest and etcd-manager runs etcd, both from the
    // cluster spec (kops edit cluster: spec.kubeAPIServer, spec.etcdClusters).
    name: 'kops',
    // (/srv/kubernetes/ as a path of its own: kube-up's is /etc/srv/kubernetes/.)
    matches: (c) =>
      c.text.includes('etcd-manager') ||
      (c.text.includes('/srv/kubernetes/') && /(^|[\s=:,"'])\/srv\/kubernetes\//.test(c.text)) ||
      annotations(c.pod)['dns.alpha.kubernetes.io/internal'] !== undefined,
    location: (c) =>
      `the kops cluster spec (\`kops edit cluster\`: ${c.component === 'etcd' ? 'spec.etcdClusters' : 'spec.kubeAPIServer'}), then \`kops update cluster --yes\` and \`kops rolling-update cluster\``,
  },
  {
    // Talos: machined writes kube-apiserver's static pod from the machine config (cluster.apiServer).
    name: 'Talos',
    matches: (c) => Object.keys(annotations(c.pod)).some((k) => k.startsWith('talos.dev/')) || c.text.includes('/system/secrets/'),
    location: (c, node) =>
      `the Talos machine config${node} (\`talosctl edit machineconfig\`: ${c.component === 'etcd' ? 'cluster.etcd.extraArgs' : 'cluster.apiServer.extraArgs'})`,
  },
  {
    // MetalK8s: Salt states render the manifests (salt/metalk8s/kubernetes/{etcd,apiserver}).
    name: 'MetalK8s',
    matches: (c) =>
      labels(c.pod)['app.kubernetes.io/managed-by'] === 'salt' ||
      Object.keys(labels(c.pod)).some((k) => k.startsWith('metalk8s.scality.com/')),
    location: (_c, node) =>
      `the MetalK8s Salt configuration that renders this manifest${node} (a hand edit is reverted by the next highstate)`,
  },
  {
    // kube-up / GCE: cluster/gce/gci/configure-helper.sh writes /etc/kubernetes/manifests/*.manifest.
    name: 'kube-up',
    matches: (c) =>
      c.text.includes('/etc/srv/kubernetes/') || c.text.includes('/var/log/etcd.log') || c.text.includes('/var/log/kube-apiserver.log'),
    location: (c, node) =>
      `the kube-up configuration (cluster/gce/config-default.sh: ${c.component === 'etcd' ? 'ETCD_* settings' : 'APISERVER_TEST_ARGS'}; kubemark masters: start-kubemark-master.sh), from which configure-helper.sh writes /etc/kubernetes/manifests/${c.component}.manifest${node}`,
  },
  {
    // kubeadm: its annotations and PKI paths; `kubeadm upgrade` rewrites the manifest from
    // ClusterConfiguration, so the flag must also go into etcd.local.extraArgs / apiServer.extraArgs.
    name: 'kubeadm',
    matches: (c) =>
      Object.keys(annotations(c.pod)).some((k) => k.startsWith('kubeadm.kubernetes.io/')) || c.text.includes('/etc/kubernetes/pki/'),
    location: (c, node) =>
      `${STATIC_MANIFEST[c.component]}${node}, and in kubeadm's ClusterConfiguration (${c.component === 'etcd' ? 'etcd.local.extraArgs' : 'apiServer.extraArgs'}) so that \`kubeadm upgrade\` keeps it`,
  },
];

/**
 * k3s and RKE2 write etcd's configuration file at every start: the client-transport-security and
 * peer-transport-security keys from their own settings (their certificates, client-cert-auth: true;
 * k3s pkg/etcd/etcd.go), then each `etcd-arg=key=value` as a key at the top of the file
 * (ToConfigFile). etcd reads TLS keys only under *-transport-security: measured on etcd 3.4.23 to 3.7.3
 * (test/node/probe.test.ts), a top-level client-cert-auth, cert-file or auto-tls changes nothing (the config-file model,
 * configuration/etcd-config-file.ts, says so too). So an etcd-arg can move a URL (listen-client-urls)
 * but cannot set or unset TLS: the fix is to remove what changed the file, and restart.
 */
function rancherEtcdLocation(tool: string, config: string, configFile: string, node: string): string {
  return `${configFile}${node}, which ${tool} rewrites at every start: it writes the client-transport-security and peer-transport-security keys itself (its own certificates, client-cert-auth: true), and an etcd-arg cannot change them (it becomes a top-level key, where etcd ignores TLS settings); remove what set the value — an etcd-arg in ${config} for a top-level key such as listen-client-urls, or a hand edit of the file — and restart ${tool}`;
}

/** Where the fix goes: the tool that writes the pod, the static pod manifest, or the owning object. */
export function fixLocation(c: FixContext): string {
  const pod = c.pod;
  // A workload's pod template, judged at admission or by scan: never a static pod, whatever paths it
  // shares with one (a hosted etcd may mount /etc/kubernetes/pki): the fix goes into that template,
  // or into the chart release that renders it.
  if (pod.kind !== undefined && pod.kind !== 'Pod' && pod.kind !== 'Process') return workloadLocation(pod);
  const node = pod.spec.nodeName !== undefined && pod.spec.nodeName !== '' ? ` on node ${pod.spec.nodeName}` : '';
  const distribution = DISTRIBUTIONS.find((d) => d.matches(c));
  if (distribution !== undefined) return distribution.location(c, node);
  // etcd's configuration file (embed.Config YAML): the TLS flags are keys of client-transport-security
  // and peer-transport-security (`--client-cert-auth` is client-transport-security.client-cert-auth).
  if (c.configFile !== undefined) {
    return `the etcd configuration file ${c.configFile}${node} (TLS flags are keys there: client-transport-security.cert-file, .key-file, .client-cert-auth, .trusted-ca-file, .auto-tls, and the same under peer-transport-security)`;
  }
  if (isMirrorPod(pod)) return `${STATIC_MANIFEST[c.component]}${node}`;
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller === true) ?? pod.metadata?.ownerReferences?.[0];
  const ns = pod.metadata?.namespace ?? 'default';
  if (owner?.kind !== undefined && owner.kind !== 'Node') return `the pod template of ${owner.kind} ${ns}/${owner.name ?? ''}`;
  const name = pod.metadata?.name ?? pod.metadata?.generateName ?? '';
  return `the pod spec of ${ns}/${name} (or ${STATIC_MANIFEST[c.component]} if it is a static pod)`;
}

/**
 * Where a workload's template is fixed. A chart's standard labels on the template say that Helm
 * renders it (helm.sh docs, "Labels and Annotations": app.kubernetes.io/managed-by,
 * app.kubernetes.io/instance, helm.sh/chart; Helm 2 charts: heritage, release, chart): the next
 * `helm upgrade` overwrites an edit to the object, so the fix goes into the release's values.
 */
function workloadLocation(pod: Pod): string {
  const template = `the pod template of ${pod.kind ?? 'Pod'} ${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
  const l = labels(pod);
  const helm = l['app.kubernetes.io/managed-by'] === 'Helm' || l['heritage'] === 'Helm' || l['heritage'] === 'Tiller';
  if (!helm) return `${template} (or the chart values or operator resource that render it)`;
  const release = l['app.kubernetes.io/instance'] ?? l['release'];
  const chart = l['helm.sh/chart'] ?? l['chart'];
  const named = [release !== undefined ? `release ${release}` : undefined, chart !== undefined ? `chart ${chart}` : undefined]
    .filter((x) => x !== undefined)
    .join(', ');
  return `the values of the Helm release that renders ${template}${named === '' ? '' : ` (${named})`}, applied with \`helm upgrade\` (an edit to the object itself is overwritten by the next upgrade)`;
}

/** The distribution a pod's control-plane container looks like, for reports. */
export function distributionOf(c: FixContext): string | undefined {
  return DISTRIBUTIONS.find((d) => d.matches(c))?.name;
}
