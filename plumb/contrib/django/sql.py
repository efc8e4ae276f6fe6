"""Every SQL query a profiled request runs, through Django's own hook
(connection.execute_wrapper, Django 2.0+): the ORM and raw cursors alike,
on every configured database, in the request's thread."""
import contextlib
import time

from django.db import connections


@contextlib.contextmanager
def capture_sql(trace):
    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            trace.sql(sql, params, started, time.perf_counter() - started, many)

    with contextlib.ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(record))
        yield
