"""plumb's JSON profile (docs/json-format.md): the exact call tree the
tracer records, the numbers pstats holds, conversions both ways, and one
line with exit status 2 for every kind of bad file."""
import json
import marshal
import os
import pstats

import pytest

from conftest import plumb

import plumb as plumb_pkg  # noqa: E402
from plumb import _plumb  # noqa: E402

# leaf() is cheap from a() and dear from b(): edges alone cannot say which
# share of leaf's time belongs under which caller; the paths can.
PROGRAM = """\
import threading

def leaf(n):
    return sum(range(n))

def a():
    return leaf(2000)

def b():
    return leaf(60000)

def main():
    for _ in range(40):
        a()
        b()

def rec(n):
    return 0 if n == 0 else rec(n - 1)

main()
rec(4)
t = threading.Thread(target=main, name="worker")
t.start()
t.join()
"""


class Tree:
    """A JSON profile's tree with names, for assertions."""

    def __init__(self, doc):
        self.doc = doc
        s, fn, t = doc["strings"], doc["functions"], doc["tree"]
        self.t = t
        self.name = lambda f: "ROOT" if f < 0 else s[fn["name"][f]]
        self.n = len(t["parent"])

    def path(self, i):
        names = []
        while i >= 0 and self.t["func"][i] >= 0:
            names.append(self.name(self.t["func"][i]))
            i = self.t["parent"][i]
        return tuple(reversed(names))

    def inclusive(self, node):
        """The node's own value and all its descendants'."""
        total = 0
        for i in range(self.n):
            j = i
            while j >= 0 and j != node:
                j = self.t["parent"][j]
            if j == node:
                total += self.t["self"][i]
        return total

    def by_path_suffix(self, suffix):
        return [i for i in range(self.n) if self.path(i)[-len(suffix):] == suffix]


def profile_program(tmp_path, builtins=True):
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    prof = plumb_pkg.Profile(builtins=builtins)
    code = compile(PROGRAM, str(path), "exec")
    prof.enable()
    exec(code, {"__name__": "__prog__"})
    prof.disable()
    return prof


def test_tree_is_exact_and_agrees_with_the_function_numbers(tmp_path):
    prof = profile_program(tmp_path)
    out = tmp_path / "p.json"
    prof.dump(out)
    doc = json.loads(out.read_text())
    assert doc["plumb_profile"] == 1 and doc["kind"] == "deterministic"
    tree = Tree(doc)
    assert tree.t["exact"] is True and tree.t["unit"] == 1e-9
    # Two threads; names are those of threads alive when the file is
    # written ("worker" has ended by then).
    assert len(tree.t["threads"]["root"]) == 2
    names = [doc["strings"][i] for i in tree.t["threads"]["name"] if i >= 0]
    assert "MainThread" in names

    # Calls along each path are exact.
    for caller in ("a", "b"):
        nodes = tree.by_path_suffix(("main", caller, "leaf"))
        assert len(nodes) == 2   # one per thread
        assert all(tree.t["calls"][i] == 40 for i in nodes)
    chain = tree.by_path_suffix(("rec",))
    assert sorted(len(tree.path(i)) - tree.path(i).index("rec") for i in chain) == [1, 2, 3, 4, 5]
    # leaf under b holds far more of leaf's time than leaf under a: what
    # an edge-only profile cannot tell.
    under_a = sum(tree.inclusive(i) for i in tree.by_path_suffix(("a", "leaf")))
    under_b = sum(tree.inclusive(i) for i in tree.by_path_suffix(("b", "leaf")))
    assert under_b > 5 * under_a

    # Per function, the tree's calls and own time add up to the stats'.
    st = doc["stats"]
    for k, f in enumerate(st["function"]):
        nodes = [i for i in range(tree.n) if tree.t["func"][i] == f]
        assert sum(tree.t["calls"][i] for i in nodes) == st["calls"][k], tree.name(f)
        own_ns = sum(tree.t["self"][i] for i in nodes)
        # Each node's time is rounded to a nanosecond on its own.
        assert abs(own_ns * 1e-9 - st["own"][k]) <= len(nodes) * 1e-9 + 1e-12, tree.name(f)
    # Per edge, the calls of the paths through it add up to the edge's.
    e = doc["edges"]
    for caller, callee, calls in zip(e["caller"], e["callee"], e["calls"]):
        nodes = [i for i in range(tree.n) if tree.t["func"][i] == callee
                 and tree.t["parent"][i] >= 0 and tree.t["func"][tree.t["parent"][i]] == caller]
        assert sum(tree.t["calls"][i] for i in nodes) == calls


def test_json_holds_exactly_what_pstats_holds(tmp_path):
    prof = profile_program(tmp_path)
    prof.dump(tmp_path / "p.prof")
    prof.dump(tmp_path / "p.json")
    got = plumb("convert", str(tmp_path / "p.json"), "-o", str(tmp_path / "back.prof"))
    assert got.returncode == 0, got.stderr
    with open(tmp_path / "p.prof", "rb") as f:
        direct = marshal.load(f)
    with open(tmp_path / "back.prof", "rb") as f:
        back = marshal.load(f)
    assert back == direct   # every count and float, bit for bit
    # plumb stats reads the JSON itself.
    table = plumb("stats", str(tmp_path / "p.json"), "-s", "tottime", "-n", "5")
    assert table.returncode == 0, table.stderr
    assert "leaf" in table.stdout


def test_stacks_survive_a_round_trip(tmp_path):
    folded = "main (app.py:1);handle (app.py:5);query (db.py:9) 30\nmain (app.py:1);render (t.py:2) 70\n"
    src = tmp_path / "in.folded"
    src.write_text(folded)
    assert plumb("convert", str(src), "-o", str(tmp_path / "s.json")).returncode == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["kind"] == "sampled" and doc["tree"]["exact"] is True
    assert abs(doc["tree"]["unit"] - 0.001) < 1e-15 and sum(doc["tree"]["self"]) == 100
    for name in ("back.folded", "back.speedscope.json"):
        got = plumb("convert", str(tmp_path / "s.json"), "-o", str(tmp_path / name))
        assert got.returncode == 0, got.stderr
    assert sorted((tmp_path / "back.folded").read_text().splitlines()) == sorted(folded.splitlines())


def test_a_tree_rebuilt_from_edges_says_so_and_never_becomes_stacks(tmp_path):
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    sorted(range(1000), key=lambda x: -x)
    prof.disable()
    prof.dump_stats(str(tmp_path / "c.prof"))
    got = plumb("convert", str(tmp_path / "c.prof"), "-o", str(tmp_path / "c.json"))
    assert got.returncode == 0, got.stderr
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["kind"] == "functions" and doc["tree"]["exact"] is False
    tree = Tree(doc)
    assert any(tree.path(i)[-1:] == ("<lambda>",) for i in range(tree.n))
    got = plumb("convert", str(tmp_path / "c.json"), "-o", str(tmp_path / "c.folded"))
    assert got.returncode == 2
    assert "rebuilt from callers and callees" in got.stderr and len(got.stderr.splitlines()) == 1


def test_rebuilt_tree_shares_time_by_callers(tmp_path):
    # f is called by g (3 s of f's time) and by h (1 s): the rebuilt tree
    # puts 3/4 of f's own time under g.
    label = {n: ("m.py", i + 1, n) for i, n in enumerate(("root", "g", "h", "f"))}
    stats = {
        label["root"]: (1, 1, 0.0, 4.0, {}),
        label["g"]: (1, 1, 0.0, 3.0, {label["root"]: (1, 1, 0.0, 3.0)}),
        label["h"]: (1, 1, 0.0, 1.0, {label["root"]: (1, 1, 0.0, 1.0)}),
        label["f"]: (2, 2, 4.0, 4.0, {label["g"]: (1, 1, 3.0, 3.0), label["h"]: (1, 1, 1.0, 1.0)}),
    }
    with open(tmp_path / "x.prof", "wb") as f:
        marshal.dump(stats, f)
    assert plumb("convert", str(tmp_path / "x.prof"), "-o", str(tmp_path / "x.json")).returncode == 0
    tree = Tree(json.loads((tmp_path / "x.json").read_text()))
    own = {tree.path(i): tree.t["self"][i] for i in range(tree.n)}
    assert own[("root", "g", "f")] == 3_000_000_000
    assert own[("root", "h", "f")] == 1_000_000_000


GOOD = {
    "plumb_profile": 1, "kind": "sampled", "creator": "test",
    "strings": ["app.py", "main", "work"],
    "functions": {"file": [0, 0], "line": [1, 5], "name": [1, 2]},
    "stats": {"function": [0, 1], "prim_calls": [0, 0], "calls": [0, 0], "own": [0.0, 0.002],
              "total": [0.002, 0.002]},
    "edges": {"caller": [0], "callee": [1], "prim_calls": [0], "calls": [0], "own": [0.002],
              "total": [0.002], "count_only": [0]},
    "tree": {"exact": True, "unit": 0.001, "threads": {"id": [7], "name": [-1], "root": [0]},
             "parent": [-1, 0, 1], "func": [-1, 0, 1], "self": [0, 0, 2]},
    "summary": {"mode": "wall"},
}


def bad(**changes):
    doc = json.loads(json.dumps(GOOD))
    for path, value in changes.items():
        target = doc
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return doc


BAD_DOCS = [
    ("version 2", bad(plumb_profile=2), "version"),
    ("unknown kind", bad(kind="magic"), "kind"),
    ("string index out of range", bad(functions__name=[1, 9]), "name"),
    ("short column", bad(functions__line=[1]), "line"),
    ("listed function out of range", bad(stats__function=[0, 5]), "listed function"),
    ("negative calls", bad(stats__calls=[-1, 0]), "call count"),
    ("fractional calls", bad(stats__calls=[0.5, 0]), "call count"),
    ("time not a number", bad(stats__own=["x", 0]), "own time"),
    ("edge to nowhere", bad(edges__callee=[3]), "callee"),
    ("a cycle: parent after child", bad(tree__parent=[-1, 2, 1]), "parent"),
    ("self parent", bad(tree__parent=[-1, 1, 1]), "parent"),
    ("root with a function", bad(tree__func=[0, 0, 1]), "root"),
    ("orphan root", bad(tree__parent=[-1, -1, 1], tree__func=[-1, -1, 1]), "thread"),
    ("two threads, one root", bad(tree__threads={"id": [1, 2], "name": [-1, -1], "root": [0, 0]}),
     "share a root"),
    ("huge count", bad(tree__self=[0, 0, 1e300]), "own value"),
    ("zero unit", bad(tree__unit=0), "unit"),
    ("tree not an object", bad(tree=[1, 2]), "tree"),
    ("no stats", {k: v for k, v in GOOD.items() if k != "stats"}, "stats"),
    ("not ours", {"hello": "world"}, "plumb_profile"),
    ("listed twice", bad(stats__function=[1, 1]), "listed twice"),
    ("edge twice", bad(edges={"caller": [0, 0], "callee": [1, 1], "prim_calls": [0, 0],
                              "calls": [0, 0], "own": [0, 0], "total": [0, 0],
                              "count_only": [0, 0]}), "edge given twice"),
    ("path twice", bad(tree__parent=[-1, 0, 0], tree__func=[-1, 0, 0]), "path given twice"),
]


@pytest.mark.parametrize("what,doc,says", BAD_DOCS, ids=[b[0] for b in BAD_DOCS])
def test_bad_files_get_one_line_and_status_2(tmp_path, what, doc, says):
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(doc))
    got = plumb("convert", str(src), "-o", str(tmp_path / "out.prof"), "--from", "json")
    assert got.returncode == 2, (what, got.stdout, got.stderr)
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], (what, got.stderr)
    assert "Traceback" not in got.stderr


def test_the_good_document_reads(tmp_path):
    src = tmp_path / "good.json"
    src.write_text(json.dumps(GOOD))
    got = plumb("convert", str(src), "-o", str(tmp_path / "out.folded"))
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out.folded").read_text() == "main (app.py:1);work (app.py:5) 2\n"


def test_every_truncation_is_refused_cleanly(tmp_path):
    prof = profile_program(tmp_path, builtins=False)
    prof.dump(tmp_path / "p.json")
    data = (tmp_path / "p.json").read_bytes()
    # Every cut in the first 2 KB, then every 97th byte: never a crash.
    cuts = list(range(0, min(len(data), 2048))) + list(range(2048, len(data), 97))
    out = str(tmp_path / "o.prof")
    for cut in cuts:
        with pytest.raises(ValueError):
            _plumb.convert_samples(data[:cut], "json", out, "pstats", 0.001)
    _plumb.convert_samples(data, "json", out, "pstats", 0.001)
    assert pstats.Stats(out).total_calls > 0
