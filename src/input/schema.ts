import { Ajv, type ErrorObject } from 'ajv';

/**
 * One ajv instance for every schema: compiled once at start, reporting all errors (a user fixing a
 * config file wants the whole list, not one error per try).
 */
export const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

/** `/actions/foo` → `actions.foo`, `/spec/containers/0/args/2` → `spec.containers[0].args[2]`. */
function fieldPath(root: string, instancePath: string, extra?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (extra !== undefined) parts.push(extra);
  let out = root;
  for (const p of parts) {
    if (/^[0-9]+$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** Messages that name the field: `policy.actions["etcd-client-cert-auht"]: unknown rule id`. */
export function formatAjvErrors(errors: readonly ErrorObject[] | null | undefined, root: string): string[] {
  const out: string[] = [];
  for (const e of errors ?? []) {
    const params = e.params as Record<string, unknown>;
    // Errors about a property *name* (propertyNames) carry it here.
    const prop = e.propertyName ?? (typeof params.propertyName === 'string' ? params.propertyName : undefined);
    switch (e.keyword) {
      case 'additionalProperties':
        out.push(`${fieldPath(root, e.instancePath, String(params.additionalProperty))}: unknown field`);
        break;
      case 'required':
        out.push(`${fieldPath(root, e.instancePath, String(params.missingProperty))}: required field is missing`);
        break;
      case 'enum':
        out.push(
          prop !== undefined
            ? `${fieldPath(root, e.instancePath, prop)}: unknown name; expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
            : `${fieldPath(root, e.instancePath)}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        );
        break;
      case 'propertyNames':
        break; // reported through the nested error on the property name itself
      default:
        out.push(`${fieldPath(root, e.instancePath, prop)}: ${e.message ?? 'is invalid'}`);
    }
  }
  return [...new Set(out)];
}
