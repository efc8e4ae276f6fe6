import logging

from django.apps import AppConfig

log = logging.getLogger("plumb")


class PlumbConfig(AppConfig):
    name = "plumb.contrib.django"
    label = "plumb"
    verbose_name = "plumb profiler"

    def ready(self):
        # Before the first handler builds its middleware chain, so that the
        # chain's parts are instrumented; each instrument records only into
        # a profiled request's trace (plumb/web/trace.py).
        from . import handler, sql, templates

        for instrument in (handler, sql, templates):
            try:
                instrument.install()
            except Exception:   # an instrument that cannot go in is left out
                log.exception("plumb: could not install %s", instrument.__name__)
