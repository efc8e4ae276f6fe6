"""Every template a profiled request renders, as trace segments: Django has
no hook for it outside its test runner, so Template.render is wrapped once,
and records only while a request's trace is current (a context variable,
so other requests and threads pass straight through)."""
import contextlib
import contextvars
import threading
import time

_current = contextvars.ContextVar("plumb_template_trace", default=None)
_install_lock = threading.Lock()


def _install():
    from django.template import base

    with _install_lock:
        if getattr(base.Template.render, "_plumb", False):
            return
        original = base.Template.render

        def render(self, context):
            trace = _current.get()
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


@contextlib.contextmanager
def capture_templates(trace):
    _install()
    token = _current.set(trace)
    try:
        yield
    finally:
        _current.reset(token)
