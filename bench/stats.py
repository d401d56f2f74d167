#!/usr/bin/env python3
"""stats.py: read numbers (one a line) and print "median min max n".

Numbers are printed in full, never in exponent form: a p99.9 of two
seconds in microseconds is 2010280, not 2.01028e+06."""
import statistics
import sys


def fmt(x):
    if x == int(x):
        return "%d" % x
    if abs(x) >= 1e5:
        return "%.0f" % x
    return "%g" % x


v = [float(x) for x in sys.stdin.read().split()]
if not v:
    print("- - - 0")
else:
    print("%s %s %s %d" % (fmt(statistics.median(v)), fmt(min(v)),
                           fmt(max(v)), len(v)))
