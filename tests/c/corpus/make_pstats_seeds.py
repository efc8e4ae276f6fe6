"""Writes the pstats fuzzing seeds into this folder: real files from
cProfile (with marshal's reference flags), the profile module (callers as
counts) and a marshal version 0 file (text floats, no references).  Run
once with any CPython; the seeds are kept in the repository."""
import cProfile
import marshal
import os
import profile
import pstats

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


if __name__ == "__main__":
    main()
