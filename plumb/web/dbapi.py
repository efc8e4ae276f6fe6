"""SQL of DB-API drivers used directly, without Django (whose own hook,
plumb.contrib.django.sql, records its queries; a query it records is not
recorded again here).

sqlite3's connection and cursor are C types, whose methods cannot be
replaced: `sqlite3.connect` is wrapped to make connections of a subclass
whose cursors time execute, executemany and executescript.  Connections
made before the wrapper (or with a factory of the caller's) are not
traced.  psycopg's (3) cursors are Python classes: their execute and
executemany are wrapped in place, for the blocking and asyncio cursors and
the server-side ones."""
import time

from .. import _plumb
from .instruments import replace_method
from .trace import begin_query, end_query, query_trace


def _record(trace, sql, params, started, many, error):
    try:
        trace.sql(sql, params, started, time.perf_counter() - started, many, error)
    except Exception:   # recording must never fail the query
        pass


def _timed(trace, run, sql, params, many, /, *args, **kwargs):
    token = begin_query()
    started = time.perf_counter()
    error = None
    try:
        return run(*args, **kwargs)
    except BaseException as e:
        error = type(e).__name__
        raise
    finally:
        _record(trace, sql, params, started, many, error)
        end_query(token)


async def _timed_async(trace, run, sql, params, many, /, *args, **kwargs):
    token = begin_query()
    started = time.perf_counter()
    error = None
    try:
        return await run(*args, **kwargs)
    except BaseException as e:
        error = type(e).__name__
        raise
    finally:
        _record(trace, sql, params, started, many, error)
        end_query(token)


# -- sqlite3 -------------------------------------------------------------------

def install_sqlite3():
    import sqlite3
    import sqlite3.dbapi2 as dbapi2

    if getattr(sqlite3.connect, "_plumb", False):
        return
    # Django's query hook marks its queries from now on, so that these
    # wrappers under it do not record them again.
    _plumb.mark_driver_queries()
    base_execute = sqlite3.Cursor.execute
    base_executemany = sqlite3.Cursor.executemany
    base_executescript = sqlite3.Cursor.executescript

    class TracedCursor(sqlite3.Cursor):
        def execute(self, sql, parameters=(), /):
            trace = query_trace()
            if trace is None:
                return base_execute(self, sql, parameters)
            return _timed(trace, base_execute, sql, parameters, False, self, sql, parameters)

        def executemany(self, sql, seq_of_parameters, /):
            trace = query_trace()
            if trace is None:
                return base_executemany(self, sql, seq_of_parameters)
            return _timed(trace, base_executemany, sql, None, True, self, sql, seq_of_parameters)

        def executescript(self, sql_script, /):
            trace = query_trace()
            if trace is None:
                return base_executescript(self, sql_script)
            return _timed(trace, base_executescript, sql_script, None, True, self, sql_script)

    class TracedConnection(sqlite3.Connection):
        # The C methods make a plain cursor without looking cursor() up,
        # so these go through our own.
        def cursor(self, factory=TracedCursor):
            return super().cursor(factory)

        def execute(self, sql, parameters=(), /):
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql, seq_of_parameters, /):
            return self.cursor().executemany(sql, seq_of_parameters)

        def executescript(self, sql_script, /):
            return self.cursor().executescript(sql_script)

    original = sqlite3.connect
    FACTORY_POSITION = 5   # connect(database, timeout, detect_types, isolation_level, check_same_thread, factory, ...)

    def connect(*args, **kwargs):
        if len(args) <= FACTORY_POSITION and "factory" not in kwargs:
            kwargs["factory"] = TracedConnection
        return original(*args, **kwargs)

    connect._plumb = True
    connect.__wrapped__ = original
    connect.__doc__ = original.__doc__
    sqlite3.connect = connect
    dbapi2.connect = connect


# -- psycopg (3) ---------------------------------------------------------------

def _query_text(query, cursor):
    if isinstance(query, (str, bytes)):
        return query
    try:
        return query.as_string(cursor)    # psycopg.sql.Composable
    except Exception:
        return str(query)


def _params(args, kwargs):
    return args[0] if args else kwargs.get("params", kwargs.get("params_seq"))


def _wrap_psycopg(cls, name, is_async):
    original = cls.__dict__.get(name)
    if original is None or getattr(original, "_plumb", False):
        return
    many = name == "executemany"
    if is_async:
        async def method(self, query, *args, **kwargs):
            trace = query_trace()
            if trace is None:
                return await original(self, query, *args, **kwargs)
            return await _timed_async(trace, original, _query_text(query, self),
                                      None if many else _params(args, kwargs), many,
                                      self, query, *args, **kwargs)
    else:
        def method(self, query, *args, **kwargs):
            trace = query_trace()
            if trace is None:
                return original(self, query, *args, **kwargs)
            return _timed(trace, original, _query_text(query, self),
                          None if many else _params(args, kwargs), many,
                          self, query, *args, **kwargs)
    replace_method(cls, name, method, original)


def install_psycopg():
    import psycopg

    _plumb.mark_driver_queries()

    for cls, is_async in ((psycopg.Cursor, False), (psycopg.ServerCursor, False),
                          (psycopg.AsyncCursor, True), (psycopg.AsyncServerCursor, True)):
        for name in ("execute", "executemany"):
            _wrap_psycopg(cls, name, is_async)
