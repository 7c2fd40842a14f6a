#!/usr/bin/env python3
"""Checks that a libraftengine.so exports exactly the functions include/raftengine.h declares:
every declared function is exported, and every exported function is declared.

  scripts/check_exports.py path/to/libraftengine.so
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def declared():
    text = open(os.path.join(ROOT, "include", "raftengine.h")).read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)  # comments
    text = re.sub(r"typedef[^;]*\([^;]*;", " ", text)     # function-pointer typedefs
    return set(re.findall(r"\b(re_[a-z0-9_]+)\s*\(", text))


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        # Global symbols only (upper-case type letters); "A" is the version node itself.
        if len(parts) >= 3 and parts[1].isupper() and parts[1] != "A":
            names.add(parts[2].split("@")[0])
    return names


def main():
    lib = sys.argv[1]
    want, have = declared(), exported(lib)
    missing = sorted(want - have)
    extra = sorted(have - want)
    if missing:
        print("declared in raftengine.h but not exported:", " ".join(missing))
    if extra:
        print(f"exported but not in raftengine.h ({len(extra)}):", " ".join(extra[:20]) + (" ..." if len(extra) > 20 else ""))
    if missing or extra:
        sys.exit(1)
    print(f"exports: the {len(want)} functions of raftengine.h, nothing else")


if __name__ == "__main__":
    main()
