"""Outbound HTTP calls as trace segments: http.client, which urllib and
urllib3 (so requests) are built on.  A call runs from putrequest() to the
return of getresponse() (the response's headers), connecting included.
Segments are named by method and URL without its query string, which
often carries credentials; the detail is the status."""
import time

from .instruments import replace_method
from .trace import current


def _url(conn, target):
    path = target.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:       # an absolute URL (through a proxy)
        return path
    import http.client

    https = isinstance(conn, getattr(http.client, "HTTPSConnection", ()))
    scheme, default = ("https", 443) if https else ("http", 80)
    host = conn.host if ":" not in conn.host else f"[{conn.host}]"
    port = "" if conn.port in (None, default) else f":{conn.port}"
    return f"{scheme}://{host}{port}{path}"


def _record(call, detail, error=None):
    trace, name, started = call
    try:
        trace.segment("http", name, started, time.perf_counter() - started, detail=detail,
                      error=error)
    except Exception:   # recording must never fail the call
        pass


def install():
    import http.client

    cls = http.client.HTTPConnection
    if getattr(cls.putrequest, "_plumb", False):
        return
    putrequest, endheaders, getresponse = cls.putrequest, cls.endheaders, cls.getresponse

    def traced_putrequest(self, method, url, *args, **kwargs):
        trace = current()
        if trace is not None:
            try:
                self._plumb_call = (trace, f"{method} {_url(self, url)}", time.perf_counter())
            except Exception:
                pass
        return putrequest(self, method, url, *args, **kwargs)

    def traced_endheaders(self, *args, **kwargs):
        try:
            return endheaders(self, *args, **kwargs)
        except BaseException as e:   # could not connect or send: the call ends here
            call = self.__dict__.pop("_plumb_call", None)
            if call is not None:
                _record(call, None, type(e).__name__)
            raise

    def traced_getresponse(self, *args, **kwargs):
        call = self.__dict__.pop("_plumb_call", None)
        if call is None:
            return getresponse(self, *args, **kwargs)
        try:
            response = getresponse(self, *args, **kwargs)
        except BaseException as e:
            _record(call, None, type(e).__name__)
            raise
        _record(call, str(response.status))
        return response

    for name, method, original in (("putrequest", traced_putrequest, putrequest),
                                   ("endheaders", traced_endheaders, endheaders),
                                   ("getresponse", traced_getresponse, getresponse)):
        replace_method(cls, name, method, original)
