#!/bin/sh
# Debian packages plumb's set-up uses: gcc (builds the extension) and
# valgrind (callgrind_annotate reads our callgrind files, in the demo and
# the tests).  With --test, also what only the tests use: clang (libFuzzer
# runs the readers' fuzz targets), golang-go (`go tool pprof` reads our
# pprof files), chromium (the HTML report's tests run in it), postgresql
# (Django and psycopg run against a server the tests start), wrk (the
# load generator of the web tests) and prometheus (it scrapes `plumb
# serve`'s /metrics in the dashboard's tests), tmux (`plumb top`'s tests
# draw it in a detached session) and clickhouse-server (the ClickHouse
# store's tests start one).  Installs only what is missing.
missing=""
command -v callgrind_annotate >/dev/null 2>&1 || missing="$missing valgrind"
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
if [ "$1" = "--test" ]; then
    command -v clang >/dev/null 2>&1 || missing="$missing clang"
    command -v go >/dev/null 2>&1 || missing="$missing golang-go"
    command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
    command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
    command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
    command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
    command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || \
        missing="$missing clickhouse-server"
fi
if [ -n "$missing" ]; then
    echo "installing:$missing"
    apt-get update -qq && apt-get install -y -qq $missing
fi
