"""Medians of hyperfine runs pooled over the rounds of tests/lib.sh's paired_rounds."""
import glob
import json
import statistics


def pooled_medians(prefix):
    """[(command, median in seconds)] over PREFIX-*.json, in the first round's order."""
    times, order = {}, []
    for f in sorted(glob.glob(f"{prefix}-*.json")):
        for r in json.load(open(f))["results"]:
            if r["command"] not in times:
                times[r["command"]] = []
                order.append(r["command"])
            times[r["command"]] += r["times"]
    if not order:
        raise SystemExit(f"no hyperfine results at {prefix}-*.json")
    return [(c, statistics.median(times[c])) for c in order]
