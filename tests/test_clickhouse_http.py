"""The ClickHouse store's HTTP client against a server of the test's own
(http.server): which bound each kind of request carries, an answer too
long refused, an error line that is not ClickHouse's read as code 0."""
import http.server
import json
import threading
import urllib.parse

import pytest

from plumb.monitor.store import clickhouse_http
from plumb.monitor.store.base import StoreError
from plumb.monitor.store.clickhouse_http import ClickHouseHTTP, error_code


class Recorder(http.server.BaseHTTPRequestHandler):
    answers = []        # (status, body) to give, in order; then 200 {"data": []}
    seen = []           # the query parameters of each request

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        query = urllib.parse.urlparse(self.path).query
        type(self).seen.append(dict(urllib.parse.parse_qsl(query)))
        status, body = (type(self).answers.pop(0) if type(self).answers
                        else (200, json.dumps({"data": []}).encode()))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.answers, Recorder.seen = [], []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_writes_carry_the_short_bound_and_reads_the_long_one(server):
    client = ClickHouseHTTP("127.0.0.1", server, "plumb", timeout_s=3, read_timeout_s=30)
    client.execute("CREATE TABLE t (a UInt8) ENGINE = Memory")
    client.insert("t", [{"a": 1}])
    client.select("SELECT 1", writing=True)   # a write's own check
    client.select("SELECT a FROM t")          # a reader's
    bounds = [seen["max_execution_time"] for seen in Recorder.seen]
    assert bounds == ["3", "3", "3", "30"]


def test_an_answer_too_long_is_refused_not_read(server, monkeypatch):
    monkeypatch.setattr(clickhouse_http, "MAX_ANSWER_BYTES", 1000)
    Recorder.answers = [(200, b'{"data": [' + b"[1]," * 500 + b"[1]]}")]
    client = ClickHouseHTTP("127.0.0.1", server, "plumb")
    with pytest.raises(StoreError, match="an answer over .* was refused"):
        client.select("SELECT 1")


def test_an_error_line_is_one_line_with_its_code(server):
    Recorder.answers = [(500, b"Code: 60, e.displayText() = DB::Exception: Table plumb.x "
                              b"doesn't exist\nstack trace...\n"),
                        (502, b"Bad gateway: Code: none\n")]
    client = ClickHouseHTTP("127.0.0.1", server, "plumb")
    with pytest.raises(StoreError) as first:
        client.select("SELECT * FROM x")
    assert first.value.code == 60 and "\n" not in str(first.value)
    with pytest.raises(StoreError) as second:
        client.select("SELECT * FROM y")
    assert second.value.code == 0


@pytest.mark.parametrize("line, code", [
    ("Code: 216, e.displayText() = DB::Exception: Query with id = x is already running", 216),
    ("Code: , nothing", 0), ("Code: 12x, odd", 0), ("Code: 99999999999999999999, big", 0),
    ("Not ClickHouse's", 0), ("", 0)])
def test_error_codes_are_read_only_from_clickhouse_lines(line, code):
    assert error_code(line) == code


class CountingBody:
    """A response body that records how much each read() asked for."""

    def __init__(self, data):
        self.data, self.asked = data, []

    def read(self, n):
        self.asked.append(n)
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


def test_an_answer_is_read_a_chunk_at_a_time():
    # CPython 3.9's read(n) allocates n bytes before reading: asking for
    # the whole bound (256 MiB) made every statement cost ~0.25 s there.
    body = CountingBody(b"x" * (3 * clickhouse_http.READ_CHUNK + 5))
    got = clickhouse_http._read_bounded(body, clickhouse_http.MAX_ANSWER_BYTES + 1)
    assert got == b"x" * (3 * clickhouse_http.READ_CHUNK + 5)
    assert max(body.asked) <= clickhouse_http.READ_CHUNK
    short = CountingBody(b"y" * 100)
    assert clickhouse_http._read_bounded(short, 10) == b"y" * 10   # never past the limit
