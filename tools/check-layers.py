#!/usr/bin/env python3
"""Checks that discv's calls only go down its layers (hyp/LAYERS).

  tools/check-layers.py [--objects DIR] [--graph] | --self-test

Include check: every `#include "..."` of every file under hyp/ and boot/
names a header of the file's own layer or a lower one. Call check (with
--objects, the build's object directory): every symbol a file references
is defined by a file of its own layer or a lower one (this also catches
hand-written extern declarations that no include shows). --graph prints
which folder uses which. Exits 1 on any violation.
"""
import collections, glob, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_layers(path):
    layers = []
    for line in open(path):
        line = line.split('#', 1)[0].strip()
        if line:
            layers.append(line.split()[0])
    return {name: rank for rank, name in enumerate(layers)}


def layer_of(rel):
    """hyp/X/... -> X; hyp/file and boot/... -> top."""
    parts = rel.split('/')
    if parts[0] == 'boot' or (parts[0] == 'hyp' and len(parts) == 2):
        return 'top'
    return parts[1]


def sources(root):
    out = []
    for pat in ('hyp/**/*.[chS]', 'boot/*.[chS]'):
        out += glob.glob(os.path.join(root, pat), recursive=True)
    return sorted(os.path.relpath(p, root) for p in out
                  if '/lib/include/' not in p)


def resolve(root, rel, name):
    for base in (os.path.dirname(rel), 'hyp'):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.exists(os.path.join(root, cand)):
            return cand
    return None


def check_includes(root, rank, edges):
    bad = []
    for rel in sources(root):
        mine = layer_of(rel)
        if mine not in rank:
            bad.append(f'{rel}: folder "{mine}" is not in hyp/LAYERS')
            continue
        for name in INCLUDE.findall(open(os.path.join(root, rel)).read()):
            hdr = resolve(root, rel, name)
            if hdr is None:
                bad.append(f'{rel}: includes "{name}", which does not exist')
                continue
            theirs = layer_of(hdr)
            if theirs not in rank:
                bad.append(f'{rel}: includes {hdr} of unknown layer "{theirs}"')
            elif rank[theirs] > rank[mine]:
                bad.append(f'{rel}: includes {hdr} (layer {mine} -> higher layer {theirs})')
            if theirs != mine:
                edges[mine].add(theirs)
    return bad


def check_symbols(objdir, rank, edges):
    nm = os.environ.get('NM', 'riscv64-linux-gnu-nm')
    defined, used = {}, collections.defaultdict(set)
    objs = [o for o in glob.glob(os.path.join(objdir, '**/*.o'), recursive=True)
            if '/libfdt/' not in o]
    for obj in objs:
        rel = os.path.relpath(obj, objdir)[:-2]	# hyp/core/vm.c
        if not os.path.exists(os.path.join(ROOT, rel)):
            continue	# a stale object of a file that moved
        out = subprocess.run([nm, obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in 'TDBRGS':
                defined[f[2]] = rel
            elif len(f) == 2 and f[0] == 'U':
                used[rel].add(f[1])
    bad = []
    for rel, syms in sorted(used.items()):
        mine = layer_of(rel)
        for sym in sorted(syms):
            where = defined.get(sym)
            if not where or where == rel:
                continue
            theirs = layer_of(where)
            if mine in rank and theirs in rank and rank[theirs] > rank[mine]:
                bad.append(f'{rel}: references {sym} of {where} '
                           f'(layer {mine} -> higher layer {theirs})')
            if theirs != mine:
                edges[mine].add(theirs)
    return bad, len(objs)


def self_test():
    """The check must fail on an upward include and pass on a downward one."""
    import tempfile
    outcomes = []
    for upward in (False, True):
        with tempfile.TemporaryDirectory() as d:
            for f in ('hyp/low', 'hyp/high'):
                os.makedirs(os.path.join(d, f))
            open(os.path.join(d, 'hyp/LAYERS'), 'w').write('low\nhigh\ntop\n')
            open(os.path.join(d, 'hyp/low/a.h'), 'w').write('')
            open(os.path.join(d, 'hyp/high/b.h'), 'w').write('')
            src = '#include "high/b.h"\n' if upward else '#include "low/a.h"\n'
            open(os.path.join(d, 'hyp/low/a.c' if upward else 'hyp/high/b.c'),
                 'w').write(src)
            r = subprocess.run([sys.executable, __file__, '--root', d],
                               capture_output=True, text=True)
            outcomes.append(r.returncode)
    ok = outcomes == [0, 1]
    print(f'layers: self-test {"passed" if ok else "FAILED"} '
          f'(downward include: exit {outcomes[0]}, upward: exit {outcomes[1]})')
    return 0 if ok else 1


def main(argv):
    if '--self-test' in argv:
        return self_test()
    root = ROOT
    objdir = None
    graph = '--graph' in argv
    if '--objects' in argv:
        objdir = argv[argv.index('--objects') + 1]
    if '--root' in argv:		# the self-test's fake trees
        root = argv[argv.index('--root') + 1]
    rank = read_layers(os.path.join(root, 'hyp/LAYERS'))
    edges = collections.defaultdict(set)
    bad = check_includes(root, rank, edges)
    nobj = 0
    if objdir:
        sym_bad, nobj = check_symbols(objdir, rank, edges)
        bad += sym_bad
    for b in bad:
        print(b)
    if graph:
        for layer in sorted(rank, key=rank.get, reverse=True):
            if edges[layer]:
                print(f'{layer} -> ' + ' '.join(sorted(edges[layer], key=rank.get,
                                                       reverse=True)))
    what = f', {nobj} objects' if objdir else ''
    print(f'layers: {len(sources(root))} files{what}, {len(bad)} violations')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
