/**
 * Managed certificates, the decisions (src/certs/managed-state.ts): when a CA is staged, when serving
 * switches to it, when the replaced one leaves the bundle, and what a replica may serve. The API side
 * runs against a real kube-apiserver in test/e2e/managed-certificates.e2e.ts.
 *   npm run build && npx mocha dist/test/certs/managed-certificates.test.js
 */
import { expect } from 'chai';
import { generateCa, issueCertificate, newKeyPair, type CertificatePair } from '../../src/certs/authority.js';
import {
  decodeSecret,
  encodeSecret,
  fingerprintOf,
  nextStep,
  trustedBy,
  trustedIssuer,
  withBundle,
  withNewCa,
  withNewCertificate,
  type ManagedCertificateSettings,
  type Situation,
  type StoredCertificates,
} from '../../src/certs/managed-state.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const HOSTS = ['guard.etcd-tls-guard.svc', '127.0.0.1'];

const SETTINGS: ManagedCertificateSettings = {
  hosts: HOSTS,
  caValidityMs: 100 * DAY,
  caRenewBeforeMs: 10 * DAY,
  certValidityMs: 30 * DAY,
  certRenewBeforeMs: 5 * DAY,
  settleMs: 10_000,
  retireAfterMs: 60 * MIN,
};

async function ca(now: Date, validityMs = SETTINGS.caValidityMs): Promise<CertificatePair> {
  return generateCa({ now, validityMs, commonName: 'test CA', keys: await newKeyPair() });
}

async function leaf(
  signer: CertificatePair,
  now: Date,
  sans: readonly string[] = HOSTS,
  validityMs = SETTINGS.certValidityMs,
): Promise<CertificatePair> {
  return issueCertificate(signer, { sans, now, validityMs, usage: 'server', keys: await newKeyPair() });
}

function situation(now: Date, trustedPems: readonly string[]): Situation {
  return { now, settings: SETTINGS, trusted: new Set(trustedPems.map((p) => fingerprintOf(p) as string)) };
}

/** A Secret as the API returns it, decoded again: what every step below starts from. */
function roundTrip(stored: StoredCertificates): StoredCertificates {
  const { data, annotations } = encodeSecret(stored);
  const decoded = decodeSecret(data, annotations);
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.stored;
}

describe('managed certificates: the decisions', () => {
  let firstCa: CertificatePair;
  let first: StoredCertificates;
  before(async () => {
    firstCa = await ca(T0);
    first = roundTrip(withNewCa(undefined, firstCa, await leaf(firstCa, T0), [], T0));
  });

  describe('what the Secret needs', () => {
    it('no Secret, or one that cannot be used: a new CA, with the reason', async () => {
      expect(nextStep(undefined, situation(T0, []))).to.deep.equal({ kind: 'new-ca', reason: 'the Secret does not exist' });
      const foreign = await leaf(await ca(T0), T0);
      const { data } = encodeSecret({ ...first, ca: { certPem: firstCa.certPem, keyPem: foreign.keyPem } });
      expect(nextStep(decodeSecret(data), situation(T0, []))).to.deep.equal({
        kind: 'new-ca',
        reason: 'the Secret cannot be used: ca.key is missing or is not the key of ca.crt',
      });
      expect(nextStep(decodeSecret({ 'tls.crt': 'bm90IGEgY2VydA==' }), situation(T0, []))).to.include({ kind: 'new-ca' });
    });

    it('a first install: the CA and a certificate it signed, the bundle holding the CA alone; nothing to do until the next renewal', () => {
      expect(first.bundle.map(fingerprintOf)).to.deep.equal([fingerprintOf(firstCa.certPem)]);
      const step = nextStep({ ok: true, stored: first }, situation(at(DAY), [firstCa.certPem]));
      // The serving certificate (30 days, renewed 5 days ahead) comes before the CA (100, 10 ahead).
      expect(step.kind).to.equal('keep');
      expect(step.kind === 'keep' && step.at.getTime()).to.be.closeTo(at(25 * DAY).getTime(), 10 * MIN);
    });

    it('a serving certificate in its renewal window, or not naming every host: a new one from the same CA', async () => {
      expect(nextStep({ ok: true, stored: first }, situation(at(26 * DAY), [firstCa.certPem]))).to.include({ kind: 'new-certificate' });
      const narrow = { ...first, serving: await leaf(firstCa, T0, ['guard.etcd-tls-guard.svc']) };
      expect(nextStep({ ok: true, stored: narrow }, situation(T0, [firstCa.certPem]))).to.deep.equal({
        kind: 'new-certificate',
        reason: 'the serving certificate does not name 127.0.0.1',
      });
      // Renewing the certificate of the same CA starts no retirement: nothing was replaced.
      expect(withNewCertificate(first, await leaf(firstCa, at(26 * DAY)), at(26 * DAY)).rotatedAt).to.equal(undefined);
    });

    it('a CA rotation: staged beside the pair in service, switched only once trusted and settled, the old CA retired an hour later', async () => {
      const renewAt = at(91 * DAY);
      expect(nextStep({ ok: true, stored: first }, situation(renewAt, [firstCa.certPem]))).to.deep.include({ kind: 'new-ca' });

      // 1. Staged: the new CA signs nothing served yet; the bundle trusts both, newest first.
      const secondCa = await ca(renewAt);
      const staged = roundTrip(withNewCa(first, secondCa, first.serving, [firstCa.certPem], renewAt));
      expect(staged.serving.certPem).to.equal(first.serving.certPem);
      expect(staged.bundle.map(fingerprintOf)).to.deep.equal([fingerprintOf(secondCa.certPem), fingerprintOf(firstCa.certPem)]);

      // 2. Not in the webhook configuration yet: wait. In it, but just now: wait for the API server.
      expect(nextStep({ ok: true, stored: staged }, situation(renewAt, [firstCa.certPem]))).to.include({
        kind: 'wait',
        reason: 'the new CA is not yet in the webhook configuration',
      });
      const bothTrusted = [secondCa.certPem, firstCa.certPem];
      const settling = nextStep({ ok: true, stored: staged }, situation(new Date(renewAt.getTime() + 3_000), bothTrusted));
      expect(settling).to.deep.equal({
        kind: 'wait',
        reason: 'the new CA is settling in the webhook configuration',
        at: new Date(renewAt.getTime() + 10_000),
      });

      // 3. Switched: a certificate of the new CA, the retirement clock started.
      const switchAt = new Date(renewAt.getTime() + 10_000);
      expect(nextStep({ ok: true, stored: staged }, situation(switchAt, bothTrusted))).to.include({ kind: 'new-certificate' });
      const switched = roundTrip(withNewCertificate(staged, await leaf(secondCa, switchAt), switchAt));
      expect(switched.rotatedAt).to.deep.equal(switchAt);
      const keep = nextStep({ ok: true, stored: switched }, situation(new Date(switchAt.getTime() + 30 * MIN), bothTrusted));
      expect(keep).to.deep.equal({ kind: 'keep', at: new Date(switchAt.getTime() + 60 * MIN) });

      // 4. Retired: the bundle back to the new CA alone, the clock cleared.
      const retire = nextStep({ ok: true, stored: switched }, situation(new Date(switchAt.getTime() + 60 * MIN), bothTrusted));
      expect(retire.kind).to.equal('retire');
      const retired = roundTrip(withBundle(switched, retire.kind === 'retire' ? retire.keep : []));
      expect(retired.bundle.map(fingerprintOf)).to.deep.equal([fingerprintOf(secondCa.certPem)]);
      expect(retired.rotatedAt).to.equal(undefined);
      expect(nextStep({ ok: true, stored: retired }, situation(new Date(switchAt.getTime() + 61 * MIN), [secondCa.certPem])).kind).to.equal(
        'keep',
      );
    });

    it('a deleted Secret while replicas serve: the new CA is staged beside the pair still served, the CAs trusted today kept', async () => {
      const now = at(2 * DAY);
      const fresh = await ca(now);
      const recreated = withNewCa(undefined, fresh, first.serving, [firstCa.certPem], now);
      expect(recreated.serving).to.equal(first.serving);
      expect(recreated.bundle.map(fingerprintOf)).to.deep.equal([fingerprintOf(fresh.certPem), fingerprintOf(firstCa.certPem)]);
      expect(nextStep({ ok: true, stored: roundTrip(recreated) }, situation(now, [firstCa.certPem])).kind).to.equal('wait');
    });

    it('an expired CA leaves the bundle whatever the retirement clock says', async () => {
      const shortCa = await ca(T0, 2 * DAY);
      const withExpired = roundTrip({ ...first, bundle: [firstCa.certPem, shortCa.certPem] });
      const step = nextStep({ ok: true, stored: withExpired }, situation(at(3 * DAY), [firstCa.certPem, shortCa.certPem]));
      expect(step.kind).to.equal('retire');
      expect(step.kind === 'retire' && step.keep.map(fingerprintOf)).to.deep.equal([fingerprintOf(firstCa.certPem)]);
    });
  });

  describe('what a replica may serve', () => {
    it('a pair whose issuer every webhook of the configuration trusts; nothing else', async () => {
      const other = await ca(T0);
      const b64 = (...pems: string[]): string => Buffer.from(pems.join('')).toString('base64');
      expect(trustedIssuer(first.serving.certPem, first.bundle, trustedBy([b64(firstCa.certPem)]))).to.equal(first.bundle[0]);
      expect(trustedIssuer(first.serving.certPem, first.bundle, trustedBy([b64(other.certPem)]))).to.equal(undefined);
      // Two webhooks, one of them without the CA: not trusted (the API server calls both).
      expect(
        trustedIssuer(first.serving.certPem, first.bundle, trustedBy([b64(firstCa.certPem, other.certPem), b64(other.certPem)])),
      ).to.equal(undefined);
      expect(trustedBy([]).size).to.equal(0);
      expect(trustedBy([undefined]).size).to.equal(0);
    });
  });
});
