"""Transaction names: what requests of one kind share, bounded by the
application's routes rather than its URLs.

- Django: the resolved view's dotted path (`shop.views.product` for every
  /product/<pk>/; a class-based view's class), from request.resolver_match.
- Flask: the endpoint of the matched rule (`Flask.dispatch_request` is
  wrapped once to note it in the running request's record).
- Starlette and FastAPI: the route's path template (`/items/{item_id}`),
  from the scope the router filled.
- Any other WSGI or ASGI application: the `naming` option's callable
  (environ or scope -> name), else the application's own dotted name.
Requests that no route matched share UNMATCHED."""
import asyncio
import inspect
import sys
import threading

from ..web.instruments import replace_method
from ..web.trace import current
from .record import RequestRecord

_install_lock = threading.Lock()


def dotted_name(thing):
    """module.qualname of a function, class, bound method, partial or
    instance (its class)."""
    thing = getattr(thing, "view_class", thing)   # Django's as_view()
    thing = getattr(thing, "func", thing)         # functools.partial
    if not (isinstance(thing, type) or inspect.isfunction(thing) or inspect.ismethod(thing)
            or inspect.isbuiltin(thing)):
        thing = type(thing)
    module = getattr(thing, "__module__", None) or "?"
    return f"{module}.{getattr(thing, '__qualname__', getattr(thing, '__name__', '?'))}"


# Facts about views (their names, whether they are coroutine functions),
# found once per view: Django asks on every request.  Strong references,
# bounded: views live as long as their URLconf.
_MAX_VIEWS = 4096
known_views = {}    # view -> (name, is a coroutine function); read by handler.py


def is_async(function):
    """Whether function is a coroutine function, by either test: asgiref's
    markcoroutinefunction marks for inspect's test from 3.12, for asyncio's
    before."""
    return inspect.iscoroutinefunction(function) or asyncio.iscoroutinefunction(function)


def _find_view_facts(view):
    return dotted_name(view), is_async(view)


def view_facts(view):
    """(the view's dotted name, whether it is a coroutine function)."""
    try:
        return known_views[view]
    except KeyError:
        pass
    except TypeError:             # unhashable: found each time
        return _find_view_facts(view)
    if len(known_views) >= _MAX_VIEWS:
        known_views.clear()
    facts = known_views[view] = _find_view_facts(view)
    return facts


def exception_name(exc):
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def django_name(request):
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    return view_facts(match.func)[0]


def starlette_name(scope):
    """The template of the route the router chose, or None."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    endpoint = scope.get("endpoint")
    router = scope.get("router")
    if endpoint is None or router is None:
        return None
    for candidate in getattr(router, "routes", ()):
        if getattr(candidate, "endpoint", None) is endpoint:
            path = getattr(candidate, "path", None)
            if isinstance(path, str):
                return path
    return dotted_name(endpoint)


def install_flask():
    """Wraps Flask.dispatch_request, once, if Flask is imported."""
    flask = sys.modules.get("flask")
    if flask is None:
        return
    with _install_lock:
        cls = flask.Flask
        original = cls.dispatch_request
        if getattr(original, "_plumb", False):
            return

        def dispatch_request(self, *args, **kwargs):
            record = current()
            if type(record) is RequestRecord:
                try:
                    endpoint = flask.request.endpoint
                    if endpoint:
                        record.name = endpoint
                except Exception:   # naming must never fail the request
                    pass
            return original(self, *args, **kwargs)

        replace_method(cls, "dispatch_request", dispatch_request, original)


def is_flask(app):
    """app is a Flask application, or its wsgi_app method (which is what
    `app.wsgi_app = WSGIMiddleware(app.wsgi_app)` wraps)."""
    flask = sys.modules.get("flask")
    return flask is not None and isinstance(getattr(app, "__self__", app), flask.Flask)
