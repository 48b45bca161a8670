#!/usr/bin/env python3
"""Reads the hvstat lines of a discv run log and checks or prints fields.

    hvstat.py LOG                       print every hvstat object, one per line
    hvstat.py LOG get VM FIELD          print a field (VM: a number or 'total';
                                        FIELD may be dotted: exits_by_cause.ecall)
    hvstat.py LOG check 'EXPR' ...      evaluate Python expressions over `vm`
                                        (a list of per-VM dicts) and `total`;
                                        exit 1 naming the first one that is false

The hvstat format: a line 'hvstat: ' followed by one JSON object, one line
per VM ("vm": N) and one total line ("vm": "total"). If a log holds several
dumps, the last one wins.
"""
import json
import sys


def parse(lines):
    """The per-VM objects (in VM order) and the total of the hvstat lines
    among `lines` (the last dump wins)."""
    vms, total = {}, None
    for line in lines:
        i = line.find("hvstat: ")
        if i < 0:
            continue
        obj = json.loads(line[i + len("hvstat: "):])
        if obj["vm"] == "total":
            total = obj
        else:
            vms[obj["vm"]] = obj
    return [vms[k] for k in sorted(vms)], total


def load(path):
    with open(path, errors="replace") as f:
        return parse(f)


def field(obj, dotted):
    for part in dotted.split("."):
        obj = obj[part]
    return obj


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    vm, total = load(argv[1])
    if total is None:
        print(f"hvstat: no total line in {argv[1]}", file=sys.stderr)
        return 1
    if len(argv) == 2:
        for obj in vm + [total]:
            print(json.dumps(obj))
        return 0
    if argv[2] == "get" and len(argv) == 5:
        obj = total if argv[3] == "total" else vm[int(argv[3])]
        print(field(obj, argv[4]))
        return 0
    if argv[2] == "check":
        for expr in argv[3:]:
            if not eval(expr, {"vm": vm, "total": total, "all": all, "any": any,
                               "len": len, "sum": sum}):
                print(f"hvstat check failed: {expr}", file=sys.stderr)
                for obj in vm + [total]:
                    print(f"  {json.dumps(obj)}", file=sys.stderr)
                return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
