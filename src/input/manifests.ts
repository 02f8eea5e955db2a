import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One parsed YAML/JSON document of an input. */
export interface LoadedDocument {
  /** File path, or `-` for standard input. */
  readonly source: string;
  /** Index of the document in its file (YAML `---` separated), from 0. */
  readonly document: number;
  readonly object: unknown;
}

export interface InputError {
  readonly source: string;
  readonly document?: number;
  readonly message: string;
}

export interface LoadedInputs {
  readonly documents: LoadedDocument[];
  readonly errors: InputError[];
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * YAML 1.1 resolves an unquoted `2026-11-22T10:00:00Z` to a timestamp. kubectl (go-yaml v2 through
 * sigs.k8s.io/yaml) does too, then converts the document to JSON, where a time.Time becomes its
 * RFC 3339 string: an annotation written that way is a string to the API server, and so to us.
 */
function timestampsAsStrings(_key: unknown, value: unknown): unknown {
  return value instanceof Date ? value.toISOString().replace('.000Z', 'Z') : value;
}

/**
 * Parses a file's text: every YAML document (JSON is accepted as YAML). YAML 1.1 is used because
 * kubectl reads manifests with go-yaml v2 (sigs.k8s.io/yaml), where `on`, `yes` and `off` are
 * booleans: `args: [--client-cert-auth, yes]` is the boolean true there, which Kubernetes rejects
 * as a non-string argument, and so do we.
 */
export function parseManifestText(text: string, source: string): LoadedInputs {
  const documents: LoadedDocument[] = [];
  const errors: InputError[] = [];
  const parsed = parseAllDocuments(text, { version: '1.1', prettyErrors: true, uniqueKeys: false });
  const docs = Array.isArray(parsed) ? parsed : [parsed];
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      const first = doc.errors[0];
      errors.push({ source, document: index, message: `not valid YAML: ${(first?.message ?? 'parse error').split('\n')[0] ?? ''}` });
      return;
    }
    let object: unknown;
    try {
      // Throws for what the parser accepts but cannot resolve: an alias to no anchor, an alias bomb.
      object = doc.toJS({ maxAliasCount: 100, reviver: timestampsAsStrings });
    } catch (err) {
      errors.push({ source, document: index, message: `not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}` });
      return;
    }
    if (object === null || object === undefined) return; // an empty document between separators
    documents.push({ source, document: index, object });
  });
  return { documents, errors };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    const info = await stat(path);
    if (info.isDirectory()) out.push(...(await filesUnder(path)));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(path);
  }
  return out;
}

/**
 * Reads every input: files, directories (recursively, *.yaml *.yml *.json, in name order) and `-`
 * for standard input. An unreadable input is an error entry, not an exception: the others are read.
 */
export async function loadInputs(paths: readonly string[], readStdin: () => Promise<string>): Promise<LoadedInputs> {
  const documents: LoadedDocument[] = [];
  const errors: InputError[] = [];
  const add = (text: string, source: string): void => {
    const r = parseManifestText(text, source);
    documents.push(...r.documents);
    errors.push(...r.errors);
  };
  for (const path of paths) {
    if (path === '-') {
      add(await readStdin(), '-');
      continue;
    }
    try {
      const info = await stat(path);
      const files = info.isDirectory() ? await filesUnder(path) : [path];
      for (const file of files) add(await readFile(file, 'utf8'), file);
    } catch (err) {
      errors.push({ source: path, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    }
  }
  return { documents, errors };
}
