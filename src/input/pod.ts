/**
 * The judgement's input, defined once: the pod fields the core reads (the `Pod` type of
 * launch/pod.ts) as a JSON schema that the compiler checks against that type (ajv's JSONSchemaType:
 * a field in the type and not in the schema, or the other way round, does not compile), and one
 * decoder that every front door uses — the webhook (AdmissionReview), `scan` (manifest documents),
 * `audit` (API objects) and `node` (static pod manifests).
 *
 * The decoder validates, then copies exactly the schema's fields: the judgement sees nothing it
 * was not declared to read, and the view is small and plain whatever the object carried. Optional
 * fields may be `null`, as the API server accepts them (an `envFrom:` or `annotations:` a chart
 * template left empty): a null is the same as an absent field, and the view leaves it out.
 */
import type { JSONSchemaType } from 'ajv';
import type { Container, EnvFromSource, EnvVar, EnvVarSource, ObjectMeta, Pod, PodSpec } from '../launch/pod.js';
import { ajv, formatAjvErrors } from './schema.js';

const string = { type: 'string' } as const;
const optionalString = { type: 'string', nullable: true } as const;
const optionalBoolean = { type: 'boolean', nullable: true } as const;
const optionalStrings = { type: 'array', items: string, nullable: true } as const;
const optionalStringMap = { type: 'object', required: [], additionalProperties: string, nullable: true } as const;

const envVarSource: JSONSchemaType<EnvVarSource> = {
  type: 'object',
  properties: {
    fieldRef: { type: 'object', required: ['fieldPath'], properties: { fieldPath: string, apiVersion: optionalString }, nullable: true },
    resourceFieldRef: {
      type: 'object',
      required: ['resource'],
      properties: { resource: string, containerName: optionalString },
      nullable: true,
    },
    configMapKeyRef: {
      type: 'object',
      required: ['key'],
      properties: { name: optionalString, key: string, optional: optionalBoolean },
      nullable: true,
    },
    secretKeyRef: {
      type: 'object',
      required: ['key'],
      properties: { name: optionalString, key: string, optional: optionalBoolean },
      nullable: true,
    },
    fileKeyRef: {
      type: 'object',
      required: ['path'],
      properties: { path: string, volumeName: optionalString, key: optionalString },
      nullable: true,
    },
  },
};

const envVar: JSONSchemaType<EnvVar> = {
  type: 'object',
  required: ['name'],
  properties: { name: string, value: optionalString, valueFrom: { ...envVarSource, nullable: true } },
};

const envFromSource: JSONSchemaType<EnvFromSource> = {
  type: 'object',
  properties: {
    prefix: optionalString,
    configMapRef: { type: 'object', properties: { name: optionalString, optional: optionalBoolean }, nullable: true },
    secretRef: { type: 'object', properties: { name: optionalString, optional: optionalBoolean }, nullable: true },
  },
};

const container: JSONSchemaType<Container> = {
  type: 'object',
  required: ['name'],
  properties: {
    name: string,
    image: optionalString,
    command: optionalStrings,
    args: optionalStrings,
    env: { type: 'array', items: envVar, nullable: true },
    envFrom: { type: 'array', items: envFromSource, nullable: true },
    volumeMounts: {
      type: 'array',
      items: { type: 'object', required: ['name', 'mountPath'], properties: { name: string, mountPath: string, subPath: optionalString } },
      nullable: true,
    },
  },
};

const objectMeta: JSONSchemaType<ObjectMeta> = {
  type: 'object',
  properties: {
    name: optionalString,
    generateName: optionalString,
    namespace: optionalString,
    uid: optionalString,
    labels: optionalStringMap,
    annotations: optionalStringMap,
    ownerReferences: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          kind: optionalString,
          name: optionalString,
          apiVersion: optionalString,
          uid: optionalString,
          controller: optionalBoolean,
        },
      },
      nullable: true,
    },
  },
};

const podSpec: JSONSchemaType<PodSpec> = {
  type: 'object',
  required: ['containers'],
  properties: {
    nodeName: optionalString,
    serviceAccountName: optionalString,
    containers: { type: 'array', items: container },
    initContainers: { type: 'array', items: container, nullable: true },
    volumes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: string, hostPath: { type: 'object', properties: { path: optionalString }, nullable: true } },
      },
      nullable: true,
    },
  },
};

/** Every field of a Pod that the judgement reads, and nothing else. */
export const POD_SCHEMA: JSONSchemaType<Pod> = {
  type: 'object',
  required: ['spec'],
  properties: {
    apiVersion: optionalString,
    kind: optionalString,
    metadata: { ...objectMeta, nullable: true },
    spec: podSpec,
  },
};

const validatePod = ajv.compile(POD_SCHEMA);

/** A schema node as a projection reads it: an object's properties or map values, an array's items. */
interface SchemaNode {
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
}

type Projection = (value: unknown) => unknown;
const asIs: Projection = (value) => value;

/**
 * How to copy a value the schema validated with exactly the schema's fields: undeclared properties
 * dropped, null optional fields left out (the API server treats them as absent). Built once from the
 * schema, so a decode walks the object and not the schema. Strings, string lists and string maps
 * (labels, annotations) are taken as they are.
 */
function projection(schema: SchemaNode): Projection {
  if (schema.properties !== undefined) {
    const fields = Object.entries(schema.properties).map(([key, field]) => [key, projection(field)] as const);
    return (value) => {
      const source = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, project] of fields) {
        const v = source[key];
        if (v !== undefined && v !== null) out[key] = project(v);
      }
      return out;
    };
  }
  if (schema.items !== undefined) {
    const item = projection(schema.items);
    return item === asIs ? asIs : (value) => (value as unknown[]).map(item);
  }
  return asIs;
}

const projectPod = projection(POD_SCHEMA as SchemaNode);

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Decodes a Pod (or a pod template shaped as one) into the view the judgement reads. `root` names
 * the object in messages: `request.object.spec.containers[0].args[2]: must be string`.
 */
export function decodePod(object: unknown, root: string): Decoded<Pod> {
  if (!validatePod(object)) return { ok: false, problems: formatAjvErrors(validatePod.errors, root) };
  return { ok: true, value: projectPod(object) as Pod };
}
