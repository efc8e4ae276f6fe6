"""plumb.monitor: production monitoring inside the application.

Every request is measured and named, slow requests keep their traces, a
sampler profiles what every thread does split by transaction, and a
background thread harvests it all into a store (an SQLite file by default).

    from plumb.monitor import WSGIMiddleware      # or ASGIMiddleware
    app = WSGIMiddleware(app, store="sqlite:////var/lib/app/plumb.db")

Django: plumb.contrib.django.middleware.MonitoringMiddleware, first in
MIDDLEWARE, with settings.PLUMB_MONITOR.  Background work:
@plumb.monitor.background_task.  Reading it: `plumb transactions`,
`plumb traces`, `plumb trace ID`, `plumb profile`."""
__all__ = ["WSGIMiddleware", "ASGIMiddleware", "Options", "background_task", "configure"]

# Loaded when first used, so that the command line's readers of the store
# (plumb.monitor.commands) do not load the collector.
_EXPORTS = {"WSGIMiddleware": "wsgi", "ASGIMiddleware": "asgi", "Options": "options",
            "background_task": "background", "configure": "background"}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'plumb.monitor' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__():
    return sorted(list(globals()) + __all__)
