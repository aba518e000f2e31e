"""Writes the PTX of every gpu.binary in attn-opt's output (stdin) to
DIR/kernel<N>.ptx, for ptxas to check (test-only helper)."""
import re
import sys

text = sys.stdin.read()
found = re.findall(r'assembly = "((?:[^"\\]|\\.)*)"', text)
if not found:
    sys.exit("no gpu.binary assembly in the input")
for n, escaped in enumerate(found):
    ptx = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), escaped)
    with open(f"{sys.argv[1]}/kernel{n}.ptx", "w") as out:
        out.write(ptx)
