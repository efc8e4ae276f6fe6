"""plumb: a profiler for Python programs, with a C engine.

    import plumb
    with plumb.Profile() as prof:      # a drop-in for cProfile.Profile
        work()
    prof.dump("out.prof")              # pstats; "out.callgrind" for KCacheGrind

    @plumb.profile(sort="tottime", limit=20)
    def critical(): ...

    plumb.Stats("a.prof", "b.prof").sort_stats("cumulative").print_stats(20)

Command line: `plumb run`, `plumb sample`, `plumb stats`, `plumb merge`
(`plumb --help`).
"""
import os as _os

try:
    from . import _plumb
except ImportError:
    import glob as _glob

    _here = _os.path.dirname(_os.path.abspath(__file__))
    if _glob.glob(_os.path.join(_here, "_plumb*.so")):
        raise
    # A source tree, not an installed plumb: say how to get the extension.
    raise ImportError(f"plumb's C extension is not built in {_here}: install plumb "
                      f"(pip install .) or build it in place "
                      f"(python setup.py build_ext --inplace)") from None
from .decorator import profile
from .formats import format_for_path
from .profile import Profile, run, runctx
from .sampler import Sampler
from .stats import Stats, StatsFileError

__version__ = "0.1.0"

# plumb's own frames (plumb run's wrappers, Profile.__exit__) stay out of
# the profiles it takes.
_plumb._set_own_dir(_os.path.dirname(_os.path.abspath(__file__)))
__all__ = ["Profile", "Sampler", "Stats", "StatsFileError", "profile", "run", "runctx", "format_for_path", "__version__"]
