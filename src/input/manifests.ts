import { readdirSync, readFileSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { minimatch } from 'minimatch';
import jsyaml from 'js-yaml';
import { LineCounter, parseAllDocuments } from 'yaml';
import { JsYamlPositions, SourceText, yamlTree, type SourceTree } from './positions.js';

/** One parsed YAML/JSON document of an input. */
export interface LoadedDocument {
  /** File path, or `-` for standard input. */
  readonly source: string;
  /** Index of the document in its file (YAML `---` separated), from 0. */
  readonly document: number;
  readonly object: unknown;
  /** Where each node of the object is in the file (absent for objects that come from no file). */
  readonly tree?: SourceTree;
}

export interface InputError {
  readonly source: string;
  readonly document?: number;
  readonly message: string;
}

export interface LoadedInputs {
  readonly documents: LoadedDocument[];
  readonly errors: InputError[];
  /** Files that are not manifests (templates): said, not read. */
  readonly skipped?: ReadonlyArray<{ readonly source: string; readonly reason: string }>;
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
 *
 * Two readers, one result. The reference is the `yaml` package in YAML 1.1 mode (every 1.1 scalar
 * type, alias limits, its error messages); it costs about 0.65 ms for a small manifest, 11 s for
 * 10,000. The fast reader is js-yaml (about 0.07 ms) with a schema that decides only the scalars on
 * which YAML 1.1 and plain reading agree — strings that no 1.1 type matches, null, true/false,
 * plain decimal integers — and gives the document to the reference at the first scalar YAML 1.1
 * could read otherwise (yes/no/on/off, octal, hex, binary, `_`, base 60, floats, timestamps, `<<`),
 * at any anchor, alias or tag, and at any error. So a document reads the same either way
 * (test/program-config/fuzz.test.ts checks it on random documents); only the time differs.
 */
export function parseManifestText(text: string, source: string): LoadedInputs {
  return readFast(text, source) ?? readReference(text, source);
}

/** The reference reader (exported for the differential test). */
export function readReference(text: string, source: string): LoadedInputs {
  const documents: LoadedDocument[] = [];
  const errors: InputError[] = [];
  const parsed = parseAllDocuments(text, { version: '1.1', prettyErrors: true, uniqueKeys: false, lineCounter: new LineCounter() });
  const docs = Array.isArray(parsed) ? parsed : [parsed];
  const sourceText = new SourceText(text);
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
    documents.push({ source, document: index, object, tree: { source: sourceText, root: yamlTree(doc.contents, doc.range[0]) } });
  });
  return { documents, errors };
}

/** Thrown inside the fast reader when a scalar needs YAML 1.1's own reading. */
class NeedsReference extends Error {}

/** YAML 1.1 implicit types (the `yaml` package's 1.1 schema) other than str, null, bool true/false and timestamp. */
const YAML11_SPECIAL: readonly RegExp[] = [
  /^(?:Y|y|[Yy]es|YES|[Oo]n|ON|N|n|[Nn]o|NO|[Oo]ff|OFF)$/,
  /^[-+]?0b[0-1_]+$/,
  /^[-+]?0[0-7_]+$/,
  /^[-+]?[0-9][0-9_]*$/,
  /^[-+]?0x[0-9a-fA-F_]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
  /^<<$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/,
];
/** YAML 1.1's timestamp (the reference's own pattern): groups year … second, fraction, zone. */
const TIMESTAMP =
  /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:t|T|[ \t]+)([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2}(\.[0-9]+)?)(?:[ \t]*(Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?$/;

/**
 * A timestamp in UTC, as the reference reads it: a Date from the same fields (written out as a
 * string afterwards, by datesAsStrings, as the reference's reviver does; as a mapping key, the Date's
 * own text, as the reference gives). One with another zone, or not a real date, is left to the reference.
 */
function utcTimestamp(m: RegExpExecArray): Date {
  if (m[8] !== undefined && m[8] !== 'Z') throw new NeedsReference();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millisec = m[7] !== undefined ? Number(`${m[7]}00`.substring(1, 4)) : 0;
  const date = new Date(Date.UTC(year, month - 1, day, hour || 0, minute || 0, second || 0, millisec));
  if (Number.isNaN(date.getTime())) throw new NeedsReference();
  return date;
}

/** Every Date value of a parsed document as the reference's reviver writes it (in place). */
function datesAsStrings(value: unknown): unknown {
  if (value instanceof Date) return timestampsAsStrings('', value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = datesAsStrings(value[i]);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = datesAsStrings(record[key]);
  }
  return value;
}
/** The integers both readers give the same number: plain decimal, no sign but `-`, no `_`. */
const PLAIN_DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUE = new Set(['true', 'True', 'TRUE']);
const FALSE = new Set(['false', 'False', 'FALSE']);
/** A character a plain scalar of a special type can start with; anything else is a string at once. */
const SPECIAL_START = /^[-+.0-9<YyNnOo]/;

const plainScalar = new jsyaml.Type('tag:yaml.org,2002:plain', {
  kind: 'scalar',
  // Every plain scalar comes here first; the answer is the value, or the reference reads the document.
  resolve: () => true,
  construct: (data: string): unknown => {
    if (NULLS.has(data)) return null;
    if (TRUE.has(data)) return true;
    if (FALSE.has(data)) return false;
    if (!SPECIAL_START.test(data)) return data;
    if (PLAIN_DECIMAL.test(data)) return Number(data);
    const timestamp = TIMESTAMP.exec(data);
    if (timestamp !== null) return utcTimestamp(timestamp);
    if (YAML11_SPECIAL.some((re) => re.test(data))) throw new NeedsReference();
    return data;
  },
});
const FAST_SCHEMA = new jsyaml.Schema({ implicit: [plainScalar], explicit: [] });
/**
 * Left to the reference: an `&anchor`, `*alias` or `!tag`, a `%` directive, a `?` complex key, and a
 * null or empty key (`~:`, `: x`), which the two readers name differently ("" and "null"), and a
 * `__proto__` key (each reader guards it its own way). A false alarm only costs time.
 */
const LEAVE_TO_REFERENCE = /(?:^|[\s[{,])[&*!]|^%|(?:^|\s)\?(?:\s|$)|(?:^|[\s[{,])(?:~|null|Null|NULL)?:(?:\s|$)/m;

/** The fast reader: undefined when the document is the reference's to read (exported for the differential test). */
export function readFast(text: string, source: string): LoadedInputs | undefined {
  if (LEAVE_TO_REFERENCE.test(text) || text.includes('__proto__')) return undefined;
  let objects: unknown[];
  const positions = new JsYamlPositions();
  try {
    // json: a repeated key keeps the last value, as the reference is configured (uniqueKeys: false).
    objects = jsyaml.loadAll(text, undefined, { schema: FAST_SCHEMA, json: true, listener: positions.listener });
  } catch {
    return undefined;
  }
  const documents: LoadedDocument[] = [];
  const sourceText = new SourceText(text);
  objects.forEach((object, index) => {
    const root = positions.roots[index];
    if (object !== null && object !== undefined)
      documents.push({
        source,
        document: index,
        object: datesAsStrings(object),
        ...(root !== undefined ? { tree: { source: sourceText, root } } : {}),
      });
  });
  return { documents, errors: [] };
}

/** What to leave out of a walk: globs matched against the path relative to each PATH given (and against the path as written). */
export interface WalkOptions {
  readonly exclude?: readonly string[];
}

/** A file to read, or a path that cannot be walked (one error each; the walk goes on). */
type Walked = { readonly file: string; readonly chartTemplate?: string } | { readonly error: InputError };

/** Checked before the entry is looked at, so as a file and as a directory (`vendor/**` matches `vendor/`). */
function excluded(path: string, root: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return false;
  const rel = relative(root, path).split(sep).join('/');
  const candidates = [rel, `${rel}/`, path, `${path}/`];
  return patterns.some((p) => candidates.some((c) => c !== '' && minimatch(c, p, { dot: true })));
}

const errorText = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/**
 * The manifests under a directory, in name order: *.yaml, *.yml, *.json, recursively. A symlink to a
 * file or directory is followed, a directory at most once (a loop ends there); an entry that cannot
 * be read (a dangling symlink, a loop, no permission) is one error and the walk goes on. Files under
 * a Helm chart's templates/ (a directory holding Chart.yaml) are templates, not manifests.
 */
function* walk(dir: string, root: string, options: WalkOptions, seen: Set<string>, chart: string | undefined): Generator<Walked> {
  let real: string;
  let entries: Dirent[];
  try {
    real = realpathSync(dir);
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    yield { error: { source: dir, message: `cannot read: ${errorText(err)}` } };
    return;
  }
  if (seen.has(real)) return;
  seen.add(real);
  const names = new Set(entries.map((e) => e.name));
  const chartHere = chart ?? (names.has('Chart.yaml') ? dir : undefined);
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    // Excluded before it is looked at: an excluded dangling symlink is no error.
    if (excluded(path, root, options.exclude ?? [])) continue;
    let info: Stats;
    try {
      // stat, not the entry's type: a symlink is followed to what it names.
      info = statSync(path);
    } catch (err) {
      yield { error: { source: path, message: `cannot read: ${errorText(err)}` } };
      continue;
    }
    if (info.isDirectory()) {
      const inTemplates = chartHere !== undefined && (chart !== undefined || entry.name === 'templates') ? chartHere : undefined;
      yield* walk(path, root, options, seen, inTemplates);
    } else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
      yield chart !== undefined ? { file: path, chartTemplate: chart } : { file: path };
    }
  }
}

/** One input's text, why it could not be read, or why it is not read as a manifest. */
export type InputText =
  | { readonly source: string; readonly text: string }
  | { readonly error: InputError }
  | { readonly skipped: { readonly source: string; readonly reason: string } };

/**
 * Every input's text, one at a time: files, directories (walk: recursively, *.yaml *.yml *.json, in
 * name order) and `-` for standard input. An unreadable input is an error entry, not an exception:
 * the others are read. Only one file's text is held at once. Files are read synchronously: the command
 * has nothing else to do meanwhile, and awaiting each small read left the CPU idle 40 % of a
 * 10,000-file scan (measured with --cpu-prof).
 */
export async function* inputTexts(
  paths: readonly string[],
  readStdin: () => Promise<string>,
  options: WalkOptions = {},
): AsyncGenerator<InputText> {
  for (const path of paths) {
    if (path === '-') {
      yield { source: '-', text: await readStdin() };
      continue;
    }
    let walked: Iterable<Walked>;
    try {
      walked = statSync(path).isDirectory() ? walk(path, path, options, new Set(), undefined) : [{ file: path }];
    } catch (err) {
      yield { error: { source: path, message: `cannot read: ${errorText(err)}` } };
      continue;
    }
    for (const w of walked) {
      if ('error' in w) {
        yield w;
        continue;
      }
      if (w.chartTemplate !== undefined) {
        yield {
          skipped: {
            source: w.file,
            reason: `a template of the Helm chart in ${w.chartTemplate}, not a manifest: scan what it renders (helm template RELEASE ${w.chartTemplate} | etcd-tls-guard scan -)`,
          },
        };
        continue;
      }
      let text: string;
      try {
        text = readFileSync(w.file, 'utf8');
      } catch (err) {
        yield { error: { source: w.file, message: `cannot read: ${errorText(err)}` } };
        continue;
      }
      yield { source: w.file, text };
    }
  }
}

/** Go template and Jinja markup: `{{ … }}`, `{% … %}`, `{# … #}`. */
const TEMPLATE_MARKUP = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/;

/**
 * A file's documents; a file that is not valid YAML because it is a template (Go template, Helm,
 * Jinja markup in it) is one note, not input errors: a repository holds templates beside its
 * manifests. A template that happens to be valid YAML is read as YAML: its placeholders are unknown.
 */
function parsedText(text: string, source: string): LoadedInputs {
  const parsed = parseManifestText(text, source);
  if (parsed.errors.length === 0 || !TEMPLATE_MARKUP.test(text)) return parsed;
  return {
    documents: [],
    errors: [],
    skipped: [{ source, reason: 'a template (Go template or Jinja markup), not valid YAML until it is rendered: scan what it renders' }],
  };
}

/** Every input, parsed, one at a time: its documents and its errors (an unreadable input is one error). */
export async function* parsedInputs(
  paths: readonly string[],
  readStdin: () => Promise<string>,
  options: WalkOptions = {},
): AsyncGenerator<LoadedInputs> {
  for await (const input of inputTexts(paths, readStdin, options)) {
    if ('error' in input) yield { documents: [], errors: [input.error] };
    else if ('skipped' in input) yield { documents: [], errors: [], skipped: [input.skipped] };
    else yield parsedText(input.text, input.source);
  }
}

/** Every input read and parsed at once (tests, small inputs; `scan` streams with parsedInputs). */
export async function loadInputs(paths: readonly string[], readStdin: () => Promise<string>): Promise<LoadedInputs> {
  const documents: LoadedDocument[] = [];
  const errors: InputError[] = [];
  const skipped: Array<{ source: string; reason: string }> = [];
  for await (const parsed of parsedInputs(paths, readStdin)) {
    documents.push(...parsed.documents);
    errors.push(...parsed.errors);
    skipped.push(...(parsed.skipped ?? []));
  }
  return { documents, errors, skipped };
}
