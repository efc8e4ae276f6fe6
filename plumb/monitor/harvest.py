"""What a worker hands its store once per harvest: plain data, no behaviour,
so that every store (SQLite here, a fleet store later) reads the same thing.

Times are integers of microseconds (`_us`); minutes are Unix seconds at the
start of the minute (multiples of 60).  A histogram is a dict from bucket key
(plumb.monitor.histogram) to count, mergeable by adding counts."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

Frame = Tuple[str, int, str]          # (file, first line, function), as pstats names them


@dataclass
class TransactionMinute:
    minute: int
    name: str
    kind: str                         # "web" or "background"
    count: int = 0
    errors: int = 0                   # 5xx responses and exceptions
    total_us: int = 0
    min_us: int = 0
    max_us: int = 0
    satisfied: int = 0                # apdex: <= T and no error
    tolerating: int = 0               # <= 4T and no error
    frustrated: int = 0               # slower, or an error
    apdex_t_us: int = 500_000
    queue_us: int = 0                 # time before the app saw it (X-Request-Start)
    queue_count: int = 0              # requests that carried a queue time
    sql_us: int = 0
    sql_count: int = 0
    template_us: int = 0
    template_count: int = 0
    http_us: int = 0
    http_count: int = 0
    histogram: Dict[int, int] = field(default_factory=dict)
    error_classes: Dict[str, int] = field(default_factory=dict)
    session: Optional[str] = None     # an X-Ray session's id, for its own copy


@dataclass
class KeptTrace:
    id: str                           # 32 hex digits, unique
    start: float                      # Unix seconds
    name: str
    kind: str
    duration_us: int
    url: str                          # path and bounded query, as the trace recorded it
    status: Optional[int] = None
    error: Optional[str] = None       # exception class, if one ended the request
    document: dict = field(default_factory=dict)   # web.trace.Trace.document() + "samples"
    session: Optional[str] = None


@dataclass
class ProfileMinute:
    minute: int
    name: str                         # the transaction, or "" for kind "other"
    kind: str                         # "web", "background" or "other"
    stacks: List[Tuple[Tuple[Frame, ...], int]] = field(default_factory=list)  # outermost first
    rate_hz: float = 0.0
    mode: str = "wall"
    session: Optional[str] = None


@dataclass
class Harvest:
    id: str                           # unique; a harvest written twice counts once
    host: str
    pid: int
    started: float                    # Unix seconds the harvest covers
    ended: float
    transactions: List[TransactionMinute] = field(default_factory=list)
    traces: List[KeptTrace] = field(default_factory=list)
    profiles: List[ProfileMinute] = field(default_factory=list)
    dropped: Dict[str, int] = field(default_factory=dict)   # what this worker dropped, by reason
