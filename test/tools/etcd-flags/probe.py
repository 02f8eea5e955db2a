#!/usr/bin/env python3
"""Measures each etcd release's flag set on its real binary and writes src/program-config/etcd-flags.ts.

usage: probe.py OUT.ts ETCD33_CONFIG_GO RELEASE=BINARY[=SOURCE_DIR]...

For every candidate name, `etcd --NAME=@probe@ --zz-not-a-flag` (empty environment) stops in Go's
flag parsing whatever NAME is: "flag provided but not defined: -NAME" means the release has no such
flag; the error about @probe@ (or, when the value is accepted, about --zz-not-a-flag) gives its kind.
etcd never starts: every probe ends at a flag error before any listener or data directory is touched.
"""
import os
import re
import subprocess
import sys

out_path, src33 = sys.argv[1], sys.argv[2]
binaries = [a.split('=', 2) for a in sys.argv[3:]]


def run(binary, args):
    p = subprocess.run([binary, *args], env={}, capture_output=True, text=True, timeout=20)
    return p.stdout + p.stderr


# Value lists of etcd's SelectiveStringValue flags (etcdmain/config.go newConfig).
KNOWN_CHOICES = {
    'discovery-fallback': 'choice:exit,proxy',
    'initial-cluster-state': 'choice:new,existing',
    'proxy': 'choice:off,readonly,on',
    'v2-deprecation': 'choice:not-yet,write-only,write-only-skip-check,write-only-drop-data,gone',
}


def kind_of(binary, name):
    t = run(binary, [f'--{name}=@probe@', '--zz-not-a-flag'])
    if f'flag provided but not defined: -{name}\n' in t or f'flag provided but not defined: -{name}' == t.strip():
        return None
    if f'-{name}' not in t and 'zz-not-a-flag' not in t:
        raise SystemExit(f'{binary} --{name}: unexpected output:\n{t}')
    if 'invalid boolean value' in t:
        return 'bool'
    if 'invalid duration' in t or 'parse error' in t or 'invalid syntax' in t or 'value out of range' in t:
        # Go's flag package says "parse error" for numbers and durations alike: try values.
        accepts = lambda v: 'zz-not-a-flag' in run(binary, [f'--{name}={v}', '--zz-not-a-flag'])
        if accepts('5s'):
            return 'duration'
        return 'int' if accepts('-1') else 'uint'
    if re.search(rf'for flag -{re.escape(name)}: invalid value( "[^"]*")?\s*$', t.split('Usage')[0].strip() + '\n', re.M):
        # flags.SelectiveStringValue rejects values outside its list without naming them (3.4):
        # the list is the one its source declares (and earlier measurements recorded).
        # Each value any release's source declares is tried on this binary.
        if name not in KNOWN_CHOICES:
            raise SystemExit(f'{binary} --{name}: a choice flag whose values are not known; add them to KNOWN_CHOICES')
        valid = [v for v in KNOWN_CHOICES[name].split(':', 1)[1].split(',')
                 if 'zz-not-a-flag' in run(binary, [f'--{name}={v}', '--zz-not-a-flag'])]
        return 'choice:' + ','.join(valid)
    if 'URL' in t or 'url' in t:
        return 'urls'
    if f'for flag -{name}:' in t:
        # A value with its own syntax (--feature-gates=Name=true,...): it takes a value, which is
        # not checked here.
        return 'string'
    if 'zz-not-a-flag' in t:
        # Accepted any value: a string, or one of the v0.4 flags etcd ignores (flags.IgnoredFlag, a
        # boolean flag that takes no separate argument).
        t2 = run(binary, [f'--{name}', 'positional', '--zz-not-a-flag'])
        return 'ignored' if "'positional' is not a valid flag" in t2 else 'string'
    raise SystemExit(f'{binary} --{name}: cannot classify:\n{t}')


def source_flags_33(path):
    """etcd 3.3's flags as declared in etcdmain/config.go (fs.XxxVar(..., "name", ...))."""
    text = open(path).read()
    kinds = {}
    method_kind = {'StringVar': 'string', 'BoolVar': 'bool', 'UintVar': 'uint', 'Uint64Var': 'uint',
                   'IntVar': 'int', 'Int64Var': 'int', 'DurationVar': 'duration'}
    for method, name in re.findall(r'fs\.(\w+)\([^"\n]*"([a-z0-9.-]+)"', text):
        if method == 'Var':
            line = re.search(r'fs\.Var\(([^\n]*)"' + re.escape(name) + '"', text).group(1)
            if 'URLsValue' in line:
                kinds[name] = 'urls'
            elif 'clusterState' in line:
                kinds[name] = 'choice:new,existing'
            elif 'fallback' in line:
                kinds[name] = 'choice:exit,proxy'
            elif 'cf.proxy' in line:
                kinds[name] = 'choice:off,readonly,on'
            elif 'IgnoredFlag' in line:
                continue
            else:
                kinds[name] = 'string'
        else:
            kinds[name] = method_kind[method]
    block = re.search(r'ignored = \[\]string\{(.*?)\}', text, re.S).group(1)
    for name in re.findall(r'"([a-z][a-z0-9.-]*)"', block):
        if not name.startswith('test.'):
            kinds[name] = 'ignored'
    return kinds


releases = {'3.3': source_flags_33(src33)}
candidates = set(releases['3.3'])
if os.path.exists(out_path):
    candidates |= set(re.findall(r"^  '([a-z0-9.-]+)':", open(out_path).read(), re.M))
for entry in binaries:
    help_text = run(entry[1], ['--help'])
    candidates |= set(re.findall(r'--([a-z][a-z0-9-]+)', help_text))
    if len(entry) > 2:
        for root, _, files in os.walk(entry[2]):
            for f in files:
                if f == 'config.go' and ('etcdmain' in root or root.endswith('embed')):
                    candidates |= set(re.findall(r'fs\.\w+\([^"\n]*"([a-z][a-z0-9.-]+)"', open(os.path.join(root, f)).read()))
candidates -= {'help', 'h', 'zz-not-a-flag'}
versions = ['3.3.27']
for entry in binaries:
    release, binary = entry[0], entry[1]
    version = re.search(r'etcd Version: (\S+)', run(binary, ['--version']))
    if version is None or version.group(1) != release:
        raise SystemExit(f'{binary} says {version and version.group(1)}, expected {release}')
    minor = '.'.join(release.split('.')[:2])
    releases[minor] = {n: k for n in sorted(candidates) if (k := kind_of(binary, n)) is not None}
    versions.append(release)
    print(f'{release}: {len(releases[minor])} flags', file=sys.stderr)

minors = list(releases)
names = sorted(set().union(*releases.values()))
lines = [
    '// Generated by test/tools/etcd-flags/generate.sh: the flags of each etcd minor release, measured on',
    f"// real binaries ({', '.join(versions[1:])}: `etcd --NAME=VALUE` probes) and, for {versions[0]}, read from",
    '// its etcdmain/config.go. Each flag: its kind in each release of ETCD_RELEASES, \'\' where the release',
    '// has no such flag. Kinds follow the Go flag.Value type; "ignored" are the v0.4 flags etcd accepts',
    '// and ignores (flags.IgnoredFlag, a boolean flag); "choice:a,b" a value etcd checks against a list.',
    f"export const ETCD_RELEASES: readonly string[] = [{', '.join(repr(m) for m in minors)}];",
    f"/** The exact release each minor's flags were measured on: a later patch may add flags. */",
    f"export const ETCD_MEASURED_PATCH: readonly string[] = [{', '.join(repr(v) for v in versions)}];",
    '',
    'export const ETCD_FLAG_TABLE: Readonly<Record<string, readonly string[]>> = {',
]
for n in names:
    lines.append(f"  '{n}': [{', '.join(repr(releases[m].get(n, '')) for m in minors)}],")
lines.append('};')
open(out_path, 'w').write('\n'.join(lines) + '\n')
