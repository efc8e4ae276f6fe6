"""Every SQL query of a profiled request, through Django's own hook
(connection.execute_wrapper): the ORM and raw cursors alike, on every
database.  The wrapper is put first on every connection as it is made
(the connection_created signal), whichever thread makes it, so queries
that async views run in asgiref's worker threads are caught too; it
records only while a request's trace is current (plumb/web/trace.py)."""
from time import perf_counter

from ...web.trace import begin_query, current, end_query, in_query


def record(execute, sql, params, many, context):
    # query_trace() written out: this runs for every query.
    trace = current()
    if trace is None or in_query():
        return execute(sql, params, many, context)
    token = begin_query()   # the driver under Django does not record it again
    started = perf_counter()
    error = None
    try:
        return execute(sql, params, many, context)
    except BaseException as e:
        error = type(e).__name__
        raise
    finally:
        try:
            trace.sql(sql, None if many else params, started, perf_counter() - started,
                      many, error)
        except Exception:   # recording must never fail the query
            pass
        end_query(token)


def _add_to(connection):
    if record not in connection.execute_wrappers:
        # First, not last: execute_wrapper() blocks of the application pop
        # the last wrapper when they end.
        connection.execute_wrappers.insert(0, record)


def _on_connection_created(sender, connection, **kwargs):
    _add_to(connection)


def install():
    from django.db import connections
    from django.db.backends.signals import connection_created

    connection_created.connect(_on_connection_created, dispatch_uid="plumb.sql")
    for connection in connections.all():   # this thread's, made before us
        if connection.connection is not None:
            _add_to(connection)
