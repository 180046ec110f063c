#!/usr/bin/env python3
"""bench/section.py NAME FILE [RESULTS]: puts the marked section NAME of
FILE (the text between <!-- NAME:begin --> and <!-- NAME:end -->, markers
included, or the whole file wrapped in them) into RESULTS (default
bench/RESULTS.md), replacing that section if it is there, else appending
it.  Each benchmark script owns one section; bench/compare.sh keeps them
when it rewrites the file."""
import os
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    name, src = sys.argv[1], sys.argv[2]
    out = sys.argv[3] if len(sys.argv) == 4 else "bench/RESULTS.md"
    b, e = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
    text = open(src).read()
    if b in text and e in text:
        text = text[text.index(b):text.index(e) + len(e)]
    else:
        text = "%s\n%s\n%s" % (b, text.strip(), e)
    old = open(out).read() if os.path.exists(out) else ""
    if b in old and e in old:
        new = old[:old.index(b)] + text + old[old.index(e) + len(e):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    open(out, "w").write(new)
    print("section: %s -> %s" % (name, out), file=sys.stderr)


main()
