#!/usr/bin/env python3
"""Summarize an Autobahn TestSuite report (index.json) and fail on any FAILED case.

Usage: summarize.py REPORT_DIR AGENT
Prints the count of cases per behaviour (and per close behaviour), lists every case whose
behaviour is not OK, and exits 1 when a case is FAILED or when no case ran at all.
"""
import collections
import json
import os
import sys


def main():
    report_dir, agent = sys.argv[1], sys.argv[2]
    with open(os.path.join(report_dir, "index.json")) as f:
        index = json.load(f)
    cases = index.get(agent, {})
    if not cases:
        print("autobahn: no cases ran for agent %r in %s" % (agent, report_dir))
        return 1
    behaviours = collections.Counter(c["behavior"] for c in cases.values())
    closes = collections.Counter(c["behaviorClose"] for c in cases.values())
    print("autobahn %s: %d cases" % (report_dir, len(cases)))
    print("  behaviour:       " + ", ".join("%s=%d" % kv for kv in sorted(behaviours.items())))
    print("  close behaviour: " + ", ".join("%s=%d" % kv for kv in sorted(closes.items())))

    def case_key(name):
        return [int(p) for p in name.split(".")]

    failed = 0
    for name in sorted(cases, key=case_key):
        c = cases[name]
        if c["behavior"] != "OK" or c["behaviorClose"] != "OK":
            print("  case %s: %s / close %s" % (name, c["behavior"], c["behaviorClose"]))
        if c["behavior"] == "FAILED" or c["behaviorClose"] == "FAILED":
            failed += 1
    print("autobahn: %d passed, %d failed" % (len(cases) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
