"""The trace tables of the seed document's sections 1-4 (shared/seed/test_command_1.rst), read
from the fixture the Swift tests read too (Tests/Fixtures/seed-trace-tables.txt)."""
import os

_FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "..", "Tests", "Fixtures", "seed-trace-tables.txt")


def _tables():
    tables, current = {}, None
    with open(_FIXTURE, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith("@@ section "):
                current = int(line[len("@@ section "):])
                tables[current] = []
            elif current is not None:
                tables[current].append(line)
    for lines in tables.values():
        while lines and lines[-1] == "":
            lines.pop()
    return {n: "\n".join(lines) + "\n" for n, lines in tables.items()}


_T = _tables()
SECTION_1, SECTION_2, SECTION_3, SECTION_4 = _T[1], _T[2], _T[3], _T[4]
