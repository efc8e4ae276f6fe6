"""Monitoring for any WSGI application (Flask, Django, Bottle...):

    from plumb.monitor import WSGIMiddleware
    app = WSGIMiddleware(app, store="sqlite:////var/lib/app/plumb.db")

Every request is measured from the call until the server closes its body
(streaming included), named (naming.py) and counted in its transaction's
minute.  Options: plumb.monitor.options.Options."""
import time

from ..web.wsgi import ClosingBody
from . import naming, queue_time
from .agent import UNMATCHED, agent_for
from .options import Options


class WSGIMiddleware:
    def __init__(self, app, options=None, **settings):
        self.app = app
        self.options = options or Options(**settings)
        self.agent = agent_for(self.options) if self.options.enabled else None
        naming.install_flask()
        self._default_name = UNMATCHED if naming.is_flask(app) else naming.dotted_name(app)
        self._naming = self.options.naming

    def __call__(self, environ, start_response):
        agent = self.agent
        if agent is None:
            return self.app(environ, start_response)
        name = self._default_name
        if self._naming is not None:
            try:
                name = str(self._naming(environ))
            except Exception:
                pass
        record = agent.begin("web", name, environ.get("REQUEST_METHOD", ""),
                             environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
                             queue_time.from_environ(environ, time.time()))
        status = [None]

        def start(line, headers, exc_info=None):
            try:
                status[0] = int(line[:3])
            except (TypeError, ValueError):
                pass
            return start_response(line, headers, exc_info)

        try:
            body = self.app(environ, start)
        except BaseException as e:
            record.error = naming.exception_name(e)
            agent.end(record, status[0] or 500)
            raise

        def on_error(e):
            # A body that raises while streaming is a failed request; a
            # client gone away (GeneratorExit) is not the application's fault.
            if not isinstance(e, GeneratorExit) and record.error is None:
                record.error = naming.exception_name(e)

        return ClosingBody(body, lambda: agent.end(record, status[0]), on_error)
