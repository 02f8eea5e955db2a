#!/usr/bin/env bash
# Regenerates src/core/apiserver-flags.ts from kube-apiserver's own flag set, for each release given
# (default: the ones the table was made from). Needs Go and the Go module proxy; takes a few minutes
# per release (it compiles kube-apiserver's command). Not run by CI.
#   test/tools/kube-apiserver-flags/generate.sh v1.30.14 v1.31.2 v1.33.13 v1.37.2
# The same binary answers `kflags parse ARGS...` with how kube-apiserver parses ARGS (JSON).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
work=${WORK:-$(mktemp -d)}
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(v1.30.14 v1.31.2 v1.33.13 v1.37.2)
for v in "${versions[@]}"; do
  d="$work/$v"; mkdir -p "$d"; cp "$here/main.go" "$d/"
  minor=$(echo "$v" | cut -d. -f2); patch=$(echo "$v" | cut -d. -f3)
  dir=$(cd "$d" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  # k8s.io/kubernetes maps its staging modules to ./staging; outside the repo they are v0.MINOR.PATCH.
  {
    printf 'module kflags\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$v"
    grep -E '=> \./staging' "$dir/go.mod" | awk -v sv="v0.$minor.$patch" '{print "\t" $1 " => " $1 " " sv}'
    printf ')\n'
  } > "$d/go.mod"
  (cd "$d" && go mod tidy && go build -o kflags . && ./kflags > flags.tsv)
  echo "$v: $(wc -l < "$d/flags.tsv") flags" >&2
done
python3 - "$work" "$repo/src/core/apiserver-flags.ts" "${versions[@]}" <<'PY'
import sys
work, out, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
kinds = {}
numeric = {'int': 'int', 'int32': 'int', 'int64': 'int', 'uint': 'uint', 'duration': 'duration'}
for v in versions:
    for line in open(f'{work}/{v}/flags.tsv'):
        name, short, noopt, typ = line.rstrip('\n').split('\t')
        if noopt == 'true' and typ in ('bool', 'version'):
            kinds[name] = 'bool' if typ == 'bool' else 'version'
        elif typ in ('stringSlice', 'stringArray'):
            kinds[name] = 'list'
        else:
            kinds[name] = numeric.get(typ, 'value')
lines = [
    "// Generated from kube-apiserver's own flag set (app.NewAPIServerCommand().Flags(), with cli.Run's",
    f"// word-separator normalization) of Kubernetes {', '.join(versions)}, merged: a flag",
    '// known to any of them is accepted. "bool": NoOptDefVal "true" (a bare --flag means true, the next',
    '// argument is not its value); "list": a StringSlice/StringArray whose occurrences accumulate;',
    '// "int", "uint", "duration": values checked as strconv and time.ParseDuration would.',
    '// Regenerate with test/tools/kube-apiserver-flags/generate.sh.',
    'export const APISERVER_FLAG_KINDS: Readonly<Record<string, string>> = {',
]
lines += [f"  '{n}': '{kinds[n]}'," for n in sorted(kinds)]
lines.append('};')
open(out, 'w').write('\n'.join(lines) + '\n')
PY
