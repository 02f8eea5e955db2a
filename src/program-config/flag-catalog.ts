import type { FlagLookup, FlagSpec } from './flags.js';

/**
 * A program's flags in each release of its tables (etcd-flags.ts, apiserver-flags.ts): answers what a
 * flag is in the releases a container may run, and in which releases it exists at all.
 */
export class FlagCatalog {
  /** Every flag any release knows, with its spec in the newest release that has it. */
  readonly union: ReadonlyMap<string, FlagSpec>;
  private readonly lookups = new Map<string, FlagLookup>();
  private readonly specs = new Map<string, FlagSpec>();
  private readonly definedIn = new Map<string, readonly string[]>();

  constructor(
    readonly releases: readonly string[],
    private readonly table: Readonly<Record<string, readonly string[]>>,
    private readonly specFor: (kind: string) => FlagSpec,
  ) {
    const union = new Map<string, FlagSpec>();
    for (const [name, kinds] of Object.entries(table)) {
      const newest = [...kinds].reverse().find((k) => k !== '');
      if (newest !== undefined) union.set(name, this.spec(newest));
    }
    this.union = union;
  }

  private spec(kind: string): FlagSpec {
    let s = this.specs.get(kind);
    if (s === undefined) {
      s = this.specFor(kind);
      this.specs.set(kind, s);
    }
    return s;
  }

  /** Releases (of the tables) that define `name`; memoized for the table's own names only. */
  releasesOf(name: string): readonly string[] {
    const known = this.definedIn.get(name);
    if (known !== undefined) return known;
    const kinds = Object.prototype.hasOwnProperty.call(this.table, name) ? this.table[name] : undefined;
    if (kinds === undefined) return [];
    const releases = this.releases.filter((_, i) => (kinds[i] ?? '') !== '');
    this.definedIn.set(name, releases);
    return releases;
  }

  /**
   * The flags of the candidate releases: a flag is known when one of them defines it, with its kind
   * in the newest such release. Memoized per candidate set (there are few).
   */
  lookupFor(candidates: readonly string[]): FlagLookup {
    const key = candidates.join(',');
    let lookup = this.lookups.get(key);
    if (lookup === undefined) {
      const idx = candidates
        .map((c) => this.releases.indexOf(c))
        .filter((i) => i !== -1)
        .sort((a, b) => b - a);
      const table = this.table;
      // null: looked up, not a flag of these releases (one Map read per lookup either way).
      const memo = new Map<string, FlagSpec | null>();
      lookup = (name: string): FlagSpec | undefined => {
        const known = memo.get(name);
        if (known !== undefined) return known ?? undefined;
        const kinds = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
        const kind = kinds === undefined ? undefined : idx.map((i) => kinds[i] ?? '').find((k) => k !== '');
        const spec = kind === undefined ? undefined : this.spec(kind);
        if (memo.size < 1_000) memo.set(name, spec ?? null);
        return spec;
      };
      this.lookups.set(key, lookup);
    }
    return lookup;
  }
}
