/**
 * `serve`'s settings (src/cli/settings.ts): flags first, then ETCD_TLS_GUARD_* variables, then
 * defaults; what is refused and how it is said.
 *   npm run build && npx mocha dist/test/cli/settings.test.js
 */
import { expect } from 'chai';
import { resolveServeSettings, UsageError } from '../../src/cli/settings.js';
import { DEFAULT_MANAGED_SETTINGS } from '../../src/certs/managed-state.js';

const MANAGED = {
  'certificate-secret': 'etcd-tls-guard/guard-tls',
  'webhook-configuration': 'guard',
  'certificate-hosts': 'guard.etcd-tls-guard.svc, guard.etcd-tls-guard.svc.cluster.local',
};

describe('serve settings: managed certificates', () => {
  it('flags name the Secret, the webhook configuration and the hosts; lifetimes default to cert-controller’s', () => {
    const s = resolveServeSettings(MANAGED, {});
    expect(s).to.not.have.property('certFile');
    expect('managedCertificates' in s && s.managedCertificates).to.deep.equal({
      namespace: 'etcd-tls-guard',
      secretName: 'guard-tls',
      webhookConfigurationName: 'guard',
      settings: { ...DEFAULT_MANAGED_SETTINGS, hosts: ['guard.etcd-tls-guard.svc', 'guard.etcd-tls-guard.svc.cluster.local'] },
    });
  });

  it('the chart’s way: variables, the namespace from POD_NAMESPACE, lifetimes as durations', () => {
    const s = resolveServeSettings(
      {},
      {
        ETCD_TLS_GUARD_CERTIFICATE_SECRET: 'guard-tls',
        POD_NAMESPACE: 'security',
        ETCD_TLS_GUARD_WEBHOOK_CONFIGURATION: 'guard',
        ETCD_TLS_GUARD_CERTIFICATE_HOSTS: 'guard.security.svc',
        ETCD_TLS_GUARD_CA_VALIDITY: '43800h',
        ETCD_TLS_GUARD_CERTIFICATE_VALIDITY: '90d',
        ETCD_TLS_GUARD_CERTIFICATE_RENEW_BEFORE: '30d',
        ETCD_TLS_GUARD_CA_RETIRE_AFTER: '30m',
      },
    );
    const m = 'managedCertificates' in s ? s.managedCertificates : undefined;
    expect(m?.namespace).to.equal('security');
    expect(m?.settings).to.deep.include({
      caValidityMs: 43_800 * 3_600_000,
      certValidityMs: 90 * 86_400_000,
      certRenewBeforeMs: 30 * 86_400_000,
      retireAfterMs: 30 * 60_000,
    });
  });

  const refused: [string, Record<string, string>, Record<string, string>, RegExp][] = [
    ['no namespace anywhere', { ...MANAGED, 'certificate-secret': 'guard-tls' }, {}, /needs a namespace.*POD_NAMESPACE/],
    ['no webhook configuration', { ...MANAGED, 'webhook-configuration': '' }, {}, /--webhook-configuration NAME/],
    ['no hosts', { ...MANAGED, 'certificate-hosts': ' , ' }, {}, /--certificate-hosts LIST/],
    ['a Secret name that is not one', { ...MANAGED, 'certificate-secret': 'a/b/c' }, {}, /NAME or NAMESPACE\/NAME/],
    ['certificate files as well', { ...MANAGED, 'tls-cert-file': 'tls.crt', 'tls-key-file': 'tls.key' }, {}, /exclude each other/],
    ['a lifetime that is not a duration', { ...MANAGED, 'ca-validity': '10y' }, {}, /--ca-validity must be a duration/],
    [
      'a renewal window as long as the lifetime',
      { ...MANAGED, 'certificate-validity': '30d', 'certificate-renew-before': '30d' },
      {},
      /shorter than --certificate-validity/,
    ],
  ];
  for (const [what, flags, env, message] of refused) {
    it(`refuses ${what}, saying what to give`, () => {
      const flagsWithoutEmpty = Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, v === '' ? undefined : v]));
      expect(() => resolveServeSettings(flagsWithoutEmpty, env))
        .to.throw(UsageError)
        .that.satisfies((e: Error) => message.test(e.message));
    });
  }
});
