"""Writes the pstats fuzzing seeds into this folder: real files from
cProfile (with marshal's reference flags), the profile module (callers as
counts), `python -m profile -o` (a code object in a label; its layout
changed in 3.11, so the seeds are written by 3.9 and by 3.11 and 3.13:
run with each, it writes profile-cli-<version>.prof) and a marshal
version 0 file (text floats, no references).  Run once with any CPython;
the seeds are kept in the repository."""
import cProfile
import marshal
import os
import profile
import pstats
import subprocess
import sys
import tempfile

# Nested code, and constants of every marshal type a script's code holds.
CLI_PROGRAM = """\
class K:
    def m(self):
        return [x * 2 for x in range(3)]
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
data = {"a": (1, 2.5, 3j, b"\\x00bytes", None, True, ..., frozenset({1}), "nul\\x00str", 10**30)}
sorted([3, 1, 2], key=lambda x: -x)
K().m()
fib(6)
"""

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pstats")


def work():
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)
    sorted([3, 1, 2], key=lambda x: -x)
    return fib(8)


def main():
    os.makedirs(HERE, exist_ok=True)
    p = cProfile.Profile()
    p.runcall(work)
    p.dump_stats(os.path.join(HERE, "cprofile.prof"))
    q = profile.Profile()
    q.runcall(work)
    q.dump_stats(os.path.join(HERE, "profile_module.prof"))
    stats = pstats.Stats(os.path.join(HERE, "cprofile.prof")).stats
    with open(os.path.join(HERE, "marshal_v0.prof"), "wb") as f:
        f.write(marshal.dumps(stats, 0))
    with open(os.path.join(HERE, "empty_dict.prof"), "wb") as f:
        f.write(marshal.dumps({}))
    with tempfile.TemporaryDirectory() as tmp:
        prog = os.path.join(tmp, "seedprog.py")
        with open(prog, "w") as f:
            f.write(CLI_PROGRAM)
        version = "%d.%d" % sys.version_info[:2]
        subprocess.run([sys.executable, "-m", "profile", "-o",
                        os.path.join(HERE, f"profile-cli-{version}.prof"), prog], check=True,
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
