"""Every SQL query of a profiled request, through Django's own hook
(connection.execute_wrapper): the ORM and raw cursors alike, on every
database.  The wrapper is put first on every connection as it is made
(the connection_created signal), whichever thread makes it, so queries
that async views run in asgiref's worker threads are caught too; it
records only while a request's trace is current (plumb/web/trace.py).

The wrapper, record(execute, sql, params, many, context), is C
(plumb._plumb.DjangoQueryHook, src/cpython/query_hook.c), since it runs
for every query: it marks the query so the driver under it does not
record it again, reads the clock around execute, and records the query,
its error class included, into the current RequestRecord or Trace;
recording never fails the query."""
from ... import _plumb
from ...web.trace import current_variable, in_query_variable

record = _plumb.DjangoQueryHook(current_variable, in_query_variable).record


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
