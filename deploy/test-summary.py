#!/usr/bin/python3
"""Sums test results from meson's JUnit logs and extra pass/fail counts into one line.

Usage: test-summary.py [--extra PASSED FAILED] JUNIT.xml ...
Prints "N passed, N failed" (", N skipped" when any) as the last line.
"""
import sys
import xml.etree.ElementTree as ET

args = sys.argv[1:]
passed = failed = skipped = 0
while args and args[0] == "--extra":
    passed += int(args[1])
    failed += int(args[2])
    args = args[3:]
for path in args:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"cannot read {path}: {e}", file=sys.stderr)
        failed += 1
        continue
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
