#!/usr/bin/env python3
"""What plumb's web middleware costs, in one process, side by side:

    .venv/3.13/bin/python benchmarks/web.py [--requests N] [--repeat R]

1. Requests that are not profiled (the middleware only decides): the time
   per request of a bare WSGI app and of a small Django view, with and
   without the middleware (trigger mode, a cookie header present without the
   trigger), interleaved over R repeats; medians, the added microseconds and
   the ratio.  Goal: at most 1% and under 10 us per request.
   The Django view is measured twice: alone, and behind four of Django's own
   middleware, where plumb.contrib.django's trace instruments (a wrapper
   per middleware and around the view) cost something on every request;
   the handlers "without plumb" are built before they are installed.
2. Requests that are profiled: the same Django view under plumb's
   middleware (requests="all", a pstats file per request, with and without
   its transaction trace file) and under a cProfile middleware doing the
   same (enable, respond, disable, dump_stats), against no profiling.

Django's handler is called directly with a prepared environ (no sockets),
so the figures are the middleware's own cost, not the network's."""
import argparse
import cProfile
import io
import os
import statistics
import sys
import tempfile
import time

import django
from django.conf import settings

OUT = tempfile.mkdtemp(prefix="plumb-web-bench-")

settings.configure(
    DEBUG=False, SECRET_KEY="bench", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    MIDDLEWARE=[], INSTALLED_APPS=[], PLUMB={"secret": "k", "prof_path": OUT},
)
django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from plumb.web import WSGIMiddleware  # noqa: E402


def item_view(request, item):
    return HttpResponse(f"item {item}: {sum(range(200))}")


urlpatterns = [path("items/<int:item>/", item_view)]


class CProfileMiddleware:
    """What cProfile-based middleware does per profiled request."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.n = 0

    def __call__(self, request):
        prof = cProfile.Profile()
        prof.enable()
        try:
            return self.get_response(request)
        finally:
            prof.disable()
            self.n += 1
            prof.dump_stats(os.path.join(OUT, f"cprofile.{self.n}.prof"))


def bare_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def environ():
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/items/7/", "QUERY_STRING": "",
            "SERVER_NAME": "bench", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "bench", "HTTP_COOKIE": "sessionid=abc; csrftoken=def",
            "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False,
            "wsgi.run_once": False}


def start_response(status, headers, exc_info=None):
    return None


DJANGO_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware",
                     "django.middleware.common.CommonMiddleware",
                     "django.middleware.csrf.CsrfViewMiddleware",
                     "django.middleware.clickjacking.XFrameOptionsMiddleware"]


def django_handler(middleware):
    settings.MIDDLEWARE = middleware
    handler = WSGIHandler()
    if not INSTRUMENTED:   # as if plumb.contrib.django were not installed
        from django.core.handlers.base import BaseHandler

        view_wrapper = getattr(BaseHandler.make_view_atomic, "__wrapped__",
                               BaseHandler.make_view_atomic)
        handler.make_view_atomic = view_wrapper.__get__(handler)
    return handler


INSTRUMENTED = False


def install_plumb_app():
    """What INSTALLED_APPS = [..., "plumb.contrib.django"] does at start."""
    global INSTRUMENTED
    from plumb.contrib.django import handler, sql, templates

    for part in (handler, sql, templates):
        part.install()
    INSTRUMENTED = True


def per_request(app, n):
    """Seconds per request over n requests."""
    t0 = time.perf_counter()
    for _ in range(n):
        body = app(environ(), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close:
            close()
    return (time.perf_counter() - t0) / n


def compare(title, contenders, n, repeat):
    times = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, app in contenders.items():
            times[name].append(per_request(app, n))
    base_name = next(iter(contenders))
    base = statistics.median(times[base_name])
    print(f"\n{title} ({n} requests x {repeat} interleaved repeats, medians)")
    print(f"  {'':<34}{'us/request':>12}{'added us':>10}{'ratio':>8}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:<34}{med * 1e6:>12.2f}{(med - base) * 1e6:>10.2f}{med / base:>8.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    print(f"CPython {sys.version.split()[0]}, Django {django.get_version()}, "
          f"profiles written to {OUT}")
    bare = {"no middleware": bare_app,
            "plumb WSGIMiddleware (trigger)": WSGIMiddleware(bare_app, secret="k", prof_path=OUT)}
    alone = {"no middleware": django_handler([])}
    behind = {"4 Django middleware, no plumb": django_handler(DJANGO_MIDDLEWARE)}
    profiled = {"no profiling": django_handler([]),
                "cProfile middleware": django_handler([__name__ + ".CProfileMiddleware"])}
    install_plumb_app()
    alone["plumb ProfilingMiddleware (trigger)"] = django_handler(
        ["plumb.contrib.django.middleware.ProfilingMiddleware"])
    alone["plumb WSGIMiddleware (trigger)"] = WSGIMiddleware(django_handler([]), secret="k",
                                                             prof_path=OUT)
    behind["+ plumb app (traced chain)"] = django_handler(DJANGO_MIDDLEWARE)
    behind["+ plumb app and ProfilingMiddleware"] = django_handler(
        ["plumb.contrib.django.middleware.ProfilingMiddleware"] + DJANGO_MIDDLEWARE)
    profiled["plumb WSGIMiddleware (all, no trace)"] = WSGIMiddleware(
        django_handler([]), requests="all", prof_path=OUT, trace=False)
    profiled["plumb WSGIMiddleware (all, + trace)"] = WSGIMiddleware(
        django_handler([]), requests="all", prof_path=OUT)
    compare("Not profiled: a bare WSGI app", bare, args.requests, args.repeat)
    compare("Not profiled: a Django view", alone, args.requests, args.repeat)
    compare("Not profiled: the view behind 4 of Django's middleware", behind, args.requests,
            args.repeat)
    compare("Profiled: a Django view, one pstats file per request", profiled,
            max(200, args.requests // 50), args.repeat)

if __name__ == "__main__":
    main()
