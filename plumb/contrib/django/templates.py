"""Every template a profiled request renders, as trace segments: Django has
no hook for it outside its test runner, so Template.render is wrapped once,
and records only while a request's trace is current (plumb/web/trace.py),
so other requests and threads pass straight through."""
import threading
import time

from ...web.trace import current

_install_lock = threading.Lock()


def install():
    from django.template import base

    with _install_lock:
        if getattr(base.Template.render, "_plumb", False):
            return
        original = base.Template.render

        def render(self, context):
            trace = current()
            if trace is None:
                return original(self, context)
            started = time.perf_counter()
            try:
                return original(self, context)
            finally:
                trace.segment("template", self.name or "<string>", started,
                              time.perf_counter() - started)

        render._plumb = True
        render.__wrapped__ = original
        base.Template.render = render
