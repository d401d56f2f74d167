#!/usr/bin/env python3
"""stats.py: read numbers (one a line) and print "median min max n"."""
import statistics
import sys

v = [float(x) for x in sys.stdin.read().split()]
if not v:
    print("- - - 0")
else:
    print("%g %g %g %d" % (statistics.median(v), min(v), max(v), len(v)))
