/** The pods and AdmissionReviews every part of the benchmark uses. */
import type { Pod } from '../../src/launch/pod.js';
import { admissionReviewJson } from '../admission.js';
import { loadFixture } from '../helpers.js';

/** A kubeadm etcd mirror pod that passes every rule. */
export const passingEtcd = loadFixture('kubeadm/etcd.yaml');

/** The same kubeadm mirror pod with client certificate authentication switched off: denied (CIS 2.2). */
export const failingEtcd: Pod = (() => {
  const pod = loadFixture('kubeadm/etcd.yaml');
  const c = pod.spec.containers[0];
  if (c?.command !== undefined) c.command = c.command.map((a) => (a.startsWith('--client-cert-auth') ? '--client-cert-auth=false' : a));
  return pod;
})();

/** Not a control-plane pod, but large: 200 containers with 20 env vars each. */
export const bigUnrelatedPod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'big', namespace: 'kube-system' },
  spec: {
    containers: Array.from({ length: 200 }, (_, i) => ({
      name: `c${i}`,
      image: 'nginx:1.27',
      command: ['nginx', '-g', 'daemon off;'],
      env: Array.from({ length: 20 }, (_, j) => ({ name: `VAR_${j}`, value: 'x'.repeat(100) })),
    })),
  },
};

/** An etcd pod of about 1 MiB: 4,000 env vars (some ETCD_*) and long args, all of which are read. */
export const oneMiBEtcd: Pod = (() => {
  const pod = loadFixture('kubeadm/etcd.yaml');
  const c = pod.spec.containers[0];
  if (c !== undefined) {
    c.env = Array.from({ length: 4000 }, (_, i) => ({
      name: i % 100 === 0 ? `ETCD_UNUSED_${i}` : `APP_SETTING_${i}`,
      value: `$(HOSTNAME)-${'v'.repeat(220)}`,
    }));
    c.command = [...(c.command ?? []), ...Array.from({ length: 200 }, (_, i) => `--log-outputs=${'/var/log/etcd/'.repeat(20)}${i}`)];
  }
  return pod;
})();

export function reviewOf(pod: Pod, uid = '8c3a8e6a-2f4b-4c1d-9a5e-6b7c8d9e0f10'): string {
  return admissionReviewJson(pod, { uid });
}

/**
 * `n` passing kubeadm etcd pods that differ from each other (and from passingEtcd) in one flag that
 * changes no verdict (--snapshot-count): each is judged afresh, as when every review is a new pod.
 */
export function distinctPassingEtcd(n: number): Pod[] {
  return Array.from({ length: n }, (_, i) => {
    const pod = loadFixture('kubeadm/etcd.yaml');
    const c = pod.spec.containers[0];
    if (c?.command !== undefined)
      c.command = [...c.command.filter((a) => !a.startsWith('--snapshot-count')), `--snapshot-count=${20_000 + i}`];
    return pod;
  });
}
