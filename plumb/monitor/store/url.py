"""Store URLs: which store a URL names, and the registry that lets another
store (a fleet store) plug in by its scheme.

    sqlite:///relative/path.db      relative to the current directory
    sqlite:////absolute/path.db     (SQLAlchemy's spelling)
    /var/lib/app/plumb.db           a bare filesystem path is an SQLite file
    <any of them>?retention_days=3  options, as open_store's keyword arguments

PLUMB_STORE, when set, is the default URL; without it the default is the
SQLite file plumb-monitor.db in the current directory."""
import os
import urllib.parse

from .base import StoreError

DEFAULT_FILE = "plumb-monitor.db"
ENVIRONMENT_VARIABLE = "PLUMB_STORE"

_factories = {}


def register_scheme(scheme, factory):
    """Make `scheme://...` URLs open with factory(url, location, options):
    `location` is what follows "scheme://", `options` a dict of the URL's
    query options (strings) updated with open_store's keyword arguments.
    The factory returns a Store and raises StoreError for options it does
    not know (take_options does the checking)."""
    if not scheme or not scheme.isidentifier():
        raise ValueError(f"a store scheme is a name, not {scheme!r}")
    _factories[scheme.lower()] = factory


def default_store_url():
    """$PLUMB_STORE if set and not empty, else plumb-monitor.db here."""
    return os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_FILE


def split_url(url):
    """(scheme, location, options) of a store URL; a bare path is
    ("sqlite", path, {})."""
    if not isinstance(url, str) or not url.strip():
        raise StoreError(f"store URL {url!r}: it is empty")
    if "://" not in url:
        return "sqlite", url, {}
    scheme, _, rest = url.partition("://")
    location, _, query = rest.partition("?")
    options = {}
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise StoreError(f"store URL {url!r}: its options {query!r} are not name=value pairs") \
            from None
    for name, value in pairs:
        if name in options:
            raise StoreError(f"store URL {url!r}: option {name!r} is given twice")
        options[name] = value
    return scheme.lower(), urllib.parse.unquote(location), options


def take_options(url, options, known):
    """`options` converted by `known` ({name: (type, default)}), with every
    default filled in.  Unknown names and values of the wrong type raise
    StoreError naming the URL."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise StoreError(f"store URL {url!r}: unknown option {unknown[0]!r} "
                         f"(known: {', '.join(sorted(known))})")
    taken = {}
    for name, (kind, default) in known.items():
        value = options.get(name, default)
        try:
            value = kind(value)
        except (TypeError, ValueError):
            raise StoreError(f"store URL {url!r}: option {name}={value!r} "
                             f"is not {'a number' if kind in (int, float) else kind.__name__}") \
                from None
        if kind in (int, float) and not value > 0:
            raise StoreError(f"store URL {url!r}: option {name}={value!r} must be more than 0")
        taken[name] = value
    return taken


def check_store_url(url):
    """Raises StoreError if url names no known kind of store; opens nothing
    (middleware check their URL at start-up, in a master that forks)."""
    scheme, location, _ = split_url(url)
    if scheme not in _factories:
        known = ", ".join(sorted(_factories))
        raise StoreError(f"store URL {url!r}: unknown scheme {scheme!r} (known: {known})")
    if not location:
        raise StoreError(f"store URL {url!r}: it names no store (the path is empty)")
    return scheme, location


def open_store(url=None, **options):
    """The store `url` names (default: default_store_url()), opened."""
    if url is None:
        url = default_store_url()
    scheme, location, query_options = split_url(url)
    factory = _factories.get(scheme)
    if factory is None:
        known = ", ".join(sorted(_factories))
        raise StoreError(f"store URL {url!r}: unknown scheme {scheme!r} (known: {known})")
    if not location:
        raise StoreError(f"store URL {url!r}: it names no store (the path is empty)")
    query_options.update(options)
    return factory(url, location, query_options)
