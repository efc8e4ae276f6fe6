"""The instruments that fill a request's transaction trace: wrappers put
once around the calls worth a segment (database drivers, http.client,
Django's handler, templates and SQL hook), which record into the current
request's trace (trace.py) and otherwise pass straight through, so that
requests not profiled pay one context-variable read per wrapped call.

An instrument is installed when its module has been imported by the
application (checked when a middleware starts and again at every
profiled request), never by importing a driver the application does not
use."""
import logging
import sys
import threading

log = logging.getLogger("plumb")

_lock = threading.Lock()
_installed = set()


def _known():
    from . import dbapi, outbound

    # name -> (module that must be imported first, install function)
    return {"sqlite3": ("sqlite3", dbapi.install_sqlite3),
            "psycopg": ("psycopg", dbapi.install_psycopg),
            "http": ("http.client", outbound.install)}


NAMES = ("sqlite3", "psycopg", "http")


def replace_method(cls, name, wrapper, original):
    """Puts wrapper in place of cls.name, looking like the original and
    marked, so that installing twice is seen (and `__wrapped__` leads back)."""
    wrapper._plumb = True
    wrapper.__wrapped__ = original
    wrapper.__name__ = original.__name__
    wrapper.__qualname__ = original.__qualname__
    wrapper.__doc__ = original.__doc__
    setattr(cls, name, wrapper)


def check_names(names):
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError(f"unknown instrument {unknown[0]!r}: choose from {', '.join(NAMES)}")


def ensure(names):
    """Installs the named instruments whose modules are imported; never
    raises (an instrument that fails to install is logged and left out)."""
    if not names or _installed.issuperset(names):
        return
    with _lock:
        known = _known()
        for name in names:
            if name in _installed:
                continue
            module, install = known[name]
            if module not in sys.modules:
                continue
            try:
                install()
            except Exception:
                log.exception("plumb: could not install the %s instrument", name)
            _installed.add(name)
