"""ClickHouse's HTTP interface, spoken with the standard library: a query
in the body of a POST, rows back as JSONCompact, rows in as JSONEachRow.
plumb needs nothing at run time beyond CPython, and this is all of the
protocol the store uses (docs/store.md says why no client library).

Every failure (refused connection, timeout, an error ClickHouse answers
with) becomes one StoreError line naming the server."""
import base64
import http.client
import json
import socket
import urllib.parse

from .base import StoreError

# ClickHouse's code for "a query with this query_id is still running"; the
# store uses it to know that an earlier attempt of a write is not over.
QUERY_ID_RUNNING = 216
# An answer longer than this is refused, not read: what comes back over the
# network is bounded like every other input.
MAX_ANSWER_BYTES = 256 << 20


class ClickHouseError(StoreError):
    """An error ClickHouse answered with; `code` is its number (0 when the
    server could not be reached or answered nothing sensible)."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.code = code


def quote(value):
    """A string as a ClickHouse literal."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def error_code(line):
    """The number of ClickHouse's `Code: N, e.displayText() = ...` line, 0
    for any other line."""
    if not line.startswith("Code: "):
        return 0
    digits = line[6:].split(",")[0].strip()
    return int(digits) if digits.isdigit() and len(digits) < 10 else 0


READ_CHUNK = 1 << 16


def _read_bounded(response, limit):
    """At most limit bytes of response's body, read a chunk at a time:
    CPython 3.9's read(n) allocates n bytes first, and n is the 256 MiB
    bound, which made every statement cost a quarter of a second there
    (3-4 s to open a store, seconds a harvest)."""
    parts, size = [], 0
    while size < limit:
        chunk = response.read(min(READ_CHUNK, limit - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


class ClickHouseHTTP:
    def __init__(self, host, port, database, user=None, password=None, timeout_s=3.0,
                 read_timeout_s=30.0):
        """timeout_s bounds writes and statements (a worker's harvest thread
        waits that long at most); read_timeout_s bounds SELECTs, which
        a person reading a month of a fleet waits for."""
        self.host, self.port, self.database = host, port, database
        self.timeout_s = timeout_s
        self.read_timeout_s = read_timeout_s
        self.name = f"clickhouse://{host}:{port}/{database}"
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = "Basic " + token

    def _post(self, sql, body=b"", database=True, query_id=None, timeout_s=None):
        # The server stops a query that runs past the bound too; the client's
        # socket timeout covers the network.
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        params = {"max_execution_time": max(1, int(timeout_s)),
                  "output_format_json_quote_64bit_integers": 0}
        if database:
            params["database"] = self.database
        if query_id:
            params["query_id"] = query_id
        data = sql.encode() if not body else sql.encode() + b"\n" + body
        path = "/?" + urllib.parse.urlencode(params)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout_s)
        try:
            conn.request("POST", path, body=data, headers=self._headers)
            response = conn.getresponse()
            raw = _read_bounded(response, MAX_ANSWER_BYTES + 1)
        except socket.timeout:
            raise ClickHouseError(f"store {self.name}: no answer within {timeout_s:g} s") \
                from None
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise ClickHouseError(f"store {self.name}: cannot reach the server ({reason})") \
                from None
        finally:
            conn.close()
        if len(raw) > MAX_ANSWER_BYTES:
            raise ClickHouseError(f"store {self.name}: an answer over "
                                  f"{MAX_ANSWER_BYTES >> 20} MiB was refused")
        text = raw.decode("utf-8", "replace")
        if response.status != 200:
            first = text.strip().splitlines()[0] if text.strip() else f"HTTP {response.status}"
            raise ClickHouseError(f"store {self.name}: {first[:300]}", error_code(first))
        return text

    def execute(self, sql, database=True, query_id=None):
        """Run a statement that returns nothing (DDL, ALTER)."""
        self._post(sql, database=database, query_id=query_id)

    def select(self, sql, query_id=None, writing=False):
        """The rows of a SELECT, as lists.  writing: asked on a write's
        behalf (the harvest thread's), so bounded as writes are."""
        text = self._post(sql + " FORMAT JSONCompact", query_id=query_id,
                          timeout_s=self.timeout_s if writing else self.read_timeout_s)
        try:
            return json.loads(text)["data"]
        except (ValueError, KeyError):
            raise ClickHouseError(f"store {self.name}: the answer to a query is not JSON") \
                from None

    def insert(self, table, rows, query_id=None):
        """Insert dicts into a table in one INSERT: one block, all or nothing."""
        if not rows:
            return
        body = "\n".join(json.dumps(row, separators=(",", ":")) for row in rows).encode()
        self._post(f"INSERT INTO {table} FORMAT JSONEachRow", body, query_id=query_id)
