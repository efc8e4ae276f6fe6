"""Each harvest's profile pushed to a Pyroscope-compatible server: one POST
to URL/ingest per (transaction, kind, host) in the harvest, the label set in
the application name as Pyroscope's HTTP ingest API documents it
(`name=APP{transaction=...,kind=...,host=...}`), the body a gzipped pprof
(format=pprof) whose samples carry the same labels.

It runs on the harvest thread, before the store is written, never on a
request.  Each harvest gets one time budget (the option's timeout): the
first request that fails or times out, or the budget running out, drops
what is left of that harvest's profile; the label sets not sent are
counted in the harvest's dropped["pyroscope_failed"] and the log says so
once until a push succeeds again."""
import logging
import math
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from .labelled import label_pairs, write_labelled_pprof

log = logging.getLogger("plumb")

DEFAULT_APP = "plumb"
DROP_REASON = "pyroscope_failed"
# Characters Pyroscope's name syntax gives a meaning ({, }, =, ,) or that
# no label value should hold; replaced by "_".
_UNSAFE = re.compile(r"[{}=,\s\"\\\x00-\x1f]")


def parse_url(url):
    """(ingest URL, app name) from http(s)://HOST[:PORT][/PATH][?app=NAME];
    ValueError with one line for anything else."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"pyroscope must be a URL such as http://localhost:4040, not {url!r}")
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port
    except ValueError:
        raise ValueError(f"pyroscope URL {url!r} has a bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"pyroscope must be an http:// or https:// URL with a host, not {url!r}")
    if parts.fragment or parts.username or parts.password:
        raise ValueError(f"pyroscope URL {url!r}: only ?app=NAME may follow the host and path")
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    if set(query) - {"app"} or len(query.get("app", [])) > 1:
        raise ValueError(f"pyroscope URL {url!r}: only ?app=NAME may follow the host and path")
    app = query.get("app", [DEFAULT_APP])[0]
    if not app or _UNSAFE.search(app):
        raise ValueError(f"pyroscope app name {app!r} must be non-empty, without spaces or {{}}=,")
    ingest = urllib.parse.urlunsplit((parts.scheme, parts.netloc,
                                      parts.path.rstrip("/") + "/ingest", "", ""))
    return ingest, app


def series_name(app, labels):
    """APP{key=value,...}: Pyroscope's series name for a label set."""
    pairs = ",".join(f"{key}={_UNSAFE.sub('_', value)}" for key, value in label_pairs(labels))
    return f"{app}{{{pairs}}}"


def profile_groups(harvest):
    """The harvest's profile by label set: [(labels, stacks, rate_hz, mode)],
    minutes merged.  X-Ray sessions' copies are left out (their samples are
    in the ordinary rows too)."""
    groups = {}
    for p in harvest.profiles:
        if p.session is not None or not p.stacks:
            continue
        key = (p.name, p.kind)
        entry = groups.setdefault(key, [{}, 0.0, p.mode])
        for frames, count in p.stacks:
            entry[0][frames] = entry[0].get(frames, 0) + count
        entry[1] = max(entry[1], p.rate_hz)
    return [({"transaction": name, "kind": kind, "host": harvest.host},
             list(stacks.items()), rate_hz, mode)
            for (name, kind), (stacks, rate_hz, mode) in sorted(groups.items())]


def pprof_bytes(labels, stacks, rate_hz, mode):
    """One label set's stacks as a gzipped pprof."""
    with tempfile.TemporaryDirectory(prefix="plumb-pyroscope-") as folder:
        path = os.path.join(folder, "profile.pb.gz")
        write_labelled_pprof([(labels, stacks)], path, rate_hz, mode)
        with open(path, "rb") as f:
            return f.read()


class Pusher:
    def __init__(self, url, timeout):
        self.ingest, self.app = parse_url(url)
        self.timeout = timeout
        self._failing = False       # said in the log; quiet until a push succeeds

    def push(self, harvest):
        """Sends the harvest's profile; returns how many label sets were
        not sent (and says so once).  Never raises."""
        groups = profile_groups(harvest)
        deadline = time.monotonic() + self.timeout
        start, until = int(harvest.started), int(math.ceil(harvest.ended))
        for sent, (labels, stacks, rate_hz, mode) in enumerate(groups):
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError(f"the {self.timeout:g} s budget of a harvest ran out")
                self._post(labels, stacks, rate_hz, mode, start, until, left)
            except Exception as e:
                dropped = len(groups) - sent
                if not self._failing:
                    log.warning("plumb: pushing profiles to %s failed, %d dropped (said once "
                                "until it works again): %s", self.ingest, dropped, e)
                    self._failing = True
                return dropped
        if groups:
            self._failing = False
        return 0

    def _post(self, labels, stacks, rate_hz, mode, start, until, timeout):
        query = urllib.parse.urlencode({
            "name": series_name(self.app, labels), "from": start, "until": until,
            "format": "pprof", "sampleRate": int(round(rate_hz)) or 100, "spyName": "plumb"})
        request = urllib.request.Request(
            f"{self.ingest}?{query}", data=pprof_bytes(labels, stacks, rate_hz, mode),
            method="POST", headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()


