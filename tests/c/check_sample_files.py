"""The sampled writers' files (test_samples.c writes them into DIR), read by
the tools that consume them: Python's json (with speedscope's required
fields) and pstats.  All of them must agree on the fixture's 18 samples at
1 ms.  Run by tests/c/Makefile:

    python3 check_sample_files.py DIR
"""
import io
import json
import pstats
import re
import sys

d = sys.argv[1]
lines = open(d + "/profile.collapsed", encoding="utf-8").read().splitlines()
assert all(re.fullmatch(r"[^;\n]+(;[^;\n]+)* \d+", l) for l in lines), lines
assert sum(int(l.rsplit(" ", 1)[1]) for l in lines) == 18
def speedscope(path, total):
    f = json.load(open(path, encoding="utf-8"))
    assert f["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert f["exporter"] == "plumb" and f["activeProfileIndex"] == 0
    frames = f["shared"]["frames"]
    assert all(isinstance(fr["name"], str) for fr in frames)
    weight = 0
    for p in f["profiles"]:
        for key in ("type", "name", "unit", "startValue", "endValue", "samples", "weights"):
            assert key in p, key
        assert p["type"] == "sampled" and p["unit"] == "seconds" and p["startValue"] == 0
        assert len(p["samples"]) == len(p["weights"])
        assert all(0 <= i < len(frames) for s in p["samples"] for i in s)
        assert abs(sum(p["weights"]) - p["endValue"]) < 1e-9
        weight += p["endValue"]
    assert total is None or abs(weight - total) < 1e-9, weight
    return f
f = speedscope(d + "/profile.speedscope.json", 0.018)
assert [p["name"] for p in f["profiles"]] == ["MainThread", "thread 7"]
assert "a;b\nc\td" in [fr["name"] for fr in f["shared"]["frames"]]
speedscope(d + "/empty.speedscope.json", 0)
speedscope(d + "/large.speedscope.json", None)
out = io.StringIO()
st = pstats.Stats(d + "/profile.pstats", stream=out)
assert abs(st.total_tt - 0.018) < 1e-12, st.total_tt
st.sort_stats("cumulative").print_stats()
st.print_callers()
st.print_callees()
assert "busy" in out.getvalue() and "helper" in out.getvalue()
busy = st.stats[("prog.py", 3, "busy")]
assert busy[:2] == (0, 0) and abs(busy[2] - 0.008) < 1e-12 and abs(busy[3] - 0.010) < 1e-12
pstats.Stats(d + "/large.pstats", stream=io.StringIO()).print_stats()
print("sample files read by json, pstats:", d)
