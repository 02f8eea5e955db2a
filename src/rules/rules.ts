/**
 * The controls, one declaration each. Adding a control means adding one entry to RULES (a node rule:
 * to NODE_RULES, node-rules.ts) and one row to the rules test table; the evaluation, decision and
 * output code never name a rule. The checks they are built from: checks.ts, node-checks.ts.
 */
import { allOf, apiserverEtcdTls, certAuthFlag, effectiveAuth, flagNotTrue, flagsSet, urlsUseTls } from './checks.js';
import { NODE_RULES } from './node-rules.js';
import type { Rule } from './outcome.js';

export type { CheckOutcome, FindingDetails, NodeContext, Status } from './outcome.js';

export type { Rule } from './outcome.js';

export const RULES: readonly Rule[] = [
  {
    // CIS 2.1: Ensure that the --cert-file and --key-file arguments are set as appropriate.
    // We also require TLS on every client URL: certificates are unused on an http:// listener.
    id: 'etcd-client-tls',
    component: 'etcd',
    cis: { '1.5.1': '2.1', '1.10': '2.1' },
    title: 'etcd serves clients over TLS',
    multiMemberOnly: false,
    check: allOf(flagsSet('cert-file', 'key-file'), urlsUseTls('listen-client-urls', 'listen-client-http-urls')),
    remediation: 'Set --cert-file and --key-file, and use only https:// in --listen-client-urls, in {file}',
    passes:
      '`--cert-file` and `--key-file` set, and every client URL (`--listen-client-urls`, `--listen-client-http-urls`) is `https` (or `unixs`)',
  },
  {
    // CIS 2.2: Ensure that the --client-cert-auth argument is set to true.
    id: 'etcd-client-cert-auth',
    component: 'etcd',
    cis: { '1.5.1': '2.2', '1.10': '2.2' },
    title: 'etcd --client-cert-auth is true',
    multiMemberOnly: false,
    check: certAuthFlag('client', '2.2'),
    remediation: 'Set --client-cert-auth=true in {file}',
    passes: '`--client-cert-auth` is true',
  },
  {
    // CIS 2.3: Ensure that the --auto-tls argument is not set to true.
    id: 'etcd-auto-tls',
    component: 'etcd',
    cis: { '1.5.1': '2.3', '1.10': '2.3' },
    title: 'etcd --auto-tls is not true',
    multiMemberOnly: false,
    check: flagNotTrue('auto-tls'),
    remediation: 'Remove --auto-tls (or set --auto-tls=false) in {file}',
    passes: '`--auto-tls` is absent or false',
  },
  {
    // CIS 2.4: Ensure that the --peer-cert-file and --peer-key-file arguments are set as appropriate.
    // The benchmark marks it not applicable to a single-member etcd.
    id: 'etcd-peer-tls',
    component: 'etcd',
    cis: { '1.5.1': '2.4', '1.10': '2.4' },
    title: 'etcd peer certificate and key are set',
    multiMemberOnly: true,
    check: flagsSet('peer-cert-file', 'peer-key-file'),
    remediation: 'Set --peer-cert-file and --peer-key-file in {file}',
    passes: '`--peer-cert-file` and `--peer-key-file` set',
  },
  {
    // CIS 2.5: Ensure that the --peer-client-cert-auth argument is set to true (multi-member only).
    id: 'etcd-peer-client-cert-auth',
    component: 'etcd',
    cis: { '1.5.1': '2.5', '1.10': '2.5' },
    title: 'etcd --peer-client-cert-auth is true',
    multiMemberOnly: true,
    check: certAuthFlag('peer', '2.5'),
    remediation: 'Set --peer-client-cert-auth=true in {file}',
    passes: '`--peer-client-cert-auth` is true',
  },
  {
    // CIS 2.6: Ensure that the --peer-auto-tls argument is not set to true.
    id: 'etcd-peer-auto-tls',
    component: 'etcd',
    cis: { '1.5.1': '2.6', '1.10': '2.6' },
    title: 'etcd --peer-auto-tls is not true',
    multiMemberOnly: false,
    check: flagNotTrue('peer-auto-tls'),
    remediation: 'Remove --peer-auto-tls (or set --peer-auto-tls=false) in {file}',
    passes: '`--peer-auto-tls` is absent or false',
  },
  {
    // Not a CIS control: does etcd really verify client certificates on every client URL?
    id: 'etcd-client-auth-effective',
    component: 'etcd',
    cis: {},
    title: 'etcd verifies client certificates on every client URL',
    multiMemberOnly: false,
    check: effectiveAuth('client'),
    remediation:
      'Serve clients only on https:// with --cert-file, --key-file, --trusted-ca-file and --client-cert-auth=true, without --auto-tls, in {file}',
    passes:
      'etcd really verifies client certificates on every client URL: `--client-cert-auth` (or, from etcd 3.4, `--trusted-ca-file`; in 3.3 `--ca-file`), cert and key files set (so `--auto-tls` does not replace them), every client URL `https`/`unixs`',
  },
  {
    // Not a CIS control: the same for peer traffic.
    id: 'etcd-peer-auth-effective',
    component: 'etcd',
    cis: {},
    title: 'etcd verifies peer certificates on every peer URL',
    multiMemberOnly: true,
    check: effectiveAuth('peer'),
    remediation:
      'Serve peers only on https:// with --peer-cert-file, --peer-key-file, --peer-trusted-ca-file and --peer-client-cert-auth=true, without --peer-auto-tls, in {file}',
    passes: 'the same on the peer side',
  },
  {
    // CIS 1.2.32 (v1.10: 1.2.26): Ensure that the --etcd-cafile argument is set as appropriate.
    id: 'apiserver-etcd-cafile',
    component: 'kube-apiserver',
    cis: { '1.5.1': '1.2.32', '1.10': '1.2.26' },
    title: 'kube-apiserver --etcd-cafile is set',
    multiMemberOnly: false,
    check: flagsSet('etcd-cafile'),
    remediation: 'Set --etcd-cafile to the etcd CA certificate (kubeadm: /etc/kubernetes/pki/etcd/ca.crt) in {file}',
    passes: '`--etcd-cafile` set',
  },
  {
    // CIS 1.2.29 (v1.10: 1.2.23): Ensure that the --etcd-certfile and --etcd-keyfile arguments are set as appropriate.
    id: 'apiserver-etcd-client-cert',
    component: 'kube-apiserver',
    cis: { '1.5.1': '1.2.29', '1.10': '1.2.23' },
    title: 'kube-apiserver --etcd-certfile and --etcd-keyfile are set',
    multiMemberOnly: false,
    check: flagsSet('etcd-certfile', 'etcd-keyfile'),
    remediation: 'Set --etcd-certfile and --etcd-keyfile (kubeadm: /etc/kubernetes/pki/apiserver-etcd-client.crt and .key) in {file}',
    passes: '`--etcd-certfile` and `--etcd-keyfile` set',
  },
  {
    // Not a CIS control: the CA and client certificate above are only used on https:// etcd URLs.
    id: 'apiserver-etcd-tls',
    component: 'kube-apiserver',
    cis: {},
    title: 'kube-apiserver talks to etcd over TLS',
    multiMemberOnly: false,
    check: apiserverEtcdTls,
    remediation: 'Use only https:// URLs in --etcd-servers and --etcd-servers-overrides in {file}',
    passes: 'every `--etcd-servers` and `--etcd-servers-overrides` URL is `https` (the CA and client certificate are unused on `http://`)',
  },

  // Node rules: what only the node shows (etcd-tls-guard node): rules/node-rules.ts.
  ...NODE_RULES,
];

export const RULE_IDS: readonly string[] = RULES.map((r) => r.id);

const RULES_BY_ID: ReadonlyMap<string, Rule> = new Map(RULES.map((r) => [r.id, r]));

/** The declaration of a rule a finding names: where its CIS numbers, title and component live. */
export function ruleById(id: string): Rule {
  const rule = RULES_BY_ID.get(id);
  if (rule === undefined) throw new Error(`no rule ${id}`);
  return rule;
}

/** The CIS 1.5.1 control numbers of a rule (empty when it is not in the benchmark). */
export function cisNumbers(rule: Rule): readonly string[] {
  return rule.cis['1.5.1'] !== undefined ? [rule.cis['1.5.1']] : [];
}

/** What a rule applies to, as the README says it. */
function appliesTo(rule: Rule): string {
  return rule.multiMemberOnly ? `${rule.component} with more than one member` : rule.component;
}

function cisCell(r: Rule): string {
  return r.cis['1.5.1'] !== undefined ? `${r.cis['1.5.1']} (${r.cis['1.10'] ?? '—'})` : '—';
}

/**
 * The README's rules: the table of the rules the pod decides, then the node rules by id and CIS
 * number (their table is docs/rules.md's, nodeRulesMarkdown). `etcd-tls-guard rules --format
 * markdown`; `npm run generate` writes it.
 */
export function rulesMarkdown(rules: readonly Rule[] = RULES): string {
  const rows = rules.filter((r) => r.scope !== 'node').map((r) => `| \`${r.id}\` | ${cisCell(r)} | ${r.passes} | ${appliesTo(r)} |`);
  const node = rules
    .filter((r) => r.scope === 'node')
    .map((r) => `\`${r.id}\`${r.cis['1.5.1'] !== undefined ? ` (${r.cis['1.5.1']})` : ''}`);
  return (
    [
      '| id | CIS 1.5.1 (v1.10) | passes when | applies to |',
      '|---|---|---|---|',
      ...rows,
      '',
      `On the node only ([\`etcd-tls-guard node\`](#node-checks); what each checks: [docs/rules.md](docs/rules.md#node-rules)): ${node.join(', ')}.`,
    ].join('\n') + '\n'
  );
}

/** docs/rules.md's table of the node rules (`npm run generate` writes it). */
export function nodeRulesMarkdown(rules: readonly Rule[] = RULES): string {
  const rows = rules
    .filter((r) => r.scope === 'node')
    .map(
      (r) =>
        `| \`${r.id}\` | ${cisCell(r)} | ${r.passes} | ${r.multiMemberOnly ? `${r.component} with more than one member` : r.component} |`,
    );
  return ['| id | CIS 1.5.1 (v1.10) | passes when | applies to |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}
