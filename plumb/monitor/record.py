"""One monitored request (or background task) while it runs: its name, its
start, and what the instruments saw.

The record is plumb._plumb.RequestRecord (src/cpython/request_record.c):
what plumb.web.trace's context variable holds while the request runs, so
the instruments written for profiled requests' traces (SQL through
Django's hook and the DB-API drivers, templates, outbound HTTP, Django's
middleware and view) record into it unchanged.  Recording is C, since it
happens on every request: a sum per kind and a tuple per segment, keeping
references (the SQL text, the view's arguments) and doing no formatting.
Only a request that is kept (slow, or in an X-Ray session) becomes a real
plumb.web.trace.Trace, built from those tuples later, in the harvest
thread (trace_document): SQL shapes, duplicates, N+1, the view's
arguments.

Segment tuples: (kind, name, started, seconds, detail, error, extra), where
extra is (params, many) for SQL and the view's (args, kwargs) for a view
(None when it had none);
past MAX_SEGMENTS a request's segments are counted in its sums and in its
dropped only."""
from .. import _plumb
from ..web.trace import Trace

RequestRecord = _plumb.RequestRecord
MAX_SEGMENTS = _plumb.RECORD_MAX_SEGMENTS


def trace_document(record, duration_s):
    """The request of record as a plumb.web.trace document (what the
    report's Timeline draws), built from its recorded tuples."""
    url = record.path + ("?" + record.query if record.query else "")
    trace = Trace(record.method or "", url, sql_params=record.sql_params, started=record.started,
                  wall_start=record.wall_start)
    for kind, name, started, seconds, detail, error, extra in record.segments:
        if kind == "sql":
            params, many = extra
            trace.sql(name, params, started, seconds, many, error)
        else:
            trace.segment(kind, name, started, seconds, detail=detail, error=error,
                          arguments=extra)
    trace.dropped = record.dropped
    document = trace.document(duration_s)
    document["transaction"] = record.name
    document["kind"] = record.kind
    if record.status is not None:
        document["status"] = record.status
    if record.error is not None:
        document["error"] = record.error
    if record.queue_s is not None:
        document["queue_time"] = record.queue_s
    return document
