"""The HTML report: one self-contained file (no network, opens from file://)
that draws a plumb JSON profile (docs/json-format.md) as a flame graph, an
icicle, a squaremap, a function table with callers and callees, top-down
and bottom-up trees, and the source of the selected function.

The profile's JSON is embedded as it is; this module adds the source lines
the report shows, read now because the files may be gone when the report
is opened, and inlines the page's own CSS and JavaScript (report.css,
report.js)."""
import html
import json
import os
import re
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Source kept per function, and in all: a report must stay mailable.
MAX_FUNCTION_LINES = 300
MAX_SOURCE_BYTES = 4 << 20
MAX_FILE_BYTES = 2 << 20


def _asset(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read()


def _script_safe(json_text):
    """JSON that cannot end the <script> element it sits in ("</script>")
    nor open a comment ("<!--"): outside strings JSON has no '<', and inside
    them "\\u003c" is the same character."""
    return json_text.replace("<", "\\u003c")


def _function_span(lines, first, is_module):
    """The lines of the function that starts at line `first` (1-based):
    the def line (after its decorators) and every following line indented
    deeper, as Python's own blocks are, at most MAX_FUNCTION_LINES."""
    if is_module:
        return 1, lines[:MAX_FUNCTION_LINES]
    start = first - 1
    if not 0 <= start < len(lines):
        return None
    head = lines[start]
    indent = len(head) - len(head.lstrip())
    end = start + 1
    # A def's header may run over several lines; the body follows it.
    while end < len(lines) and end - start < MAX_FUNCTION_LINES:
        text = lines[end]
        stripped = text.strip()
        if stripped and not stripped.startswith("#") and len(text) - len(text.lstrip()) <= indent:
            if not stripped.startswith((")", "]", "}")):
                break
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return first, lines[start:end]


def collect_sources(profile):
    """{function index: [first line, [lines]]} for the functions whose file
    can be read now, hottest first until the budget is spent."""
    strings = profile.get("strings") or []
    funcs = profile.get("functions") or {}
    files, lines_of, names = funcs.get("file", []), funcs.get("line", []), funcs.get("name", [])
    stats = profile.get("stats") or {}
    order = sorted(range(len(stats.get("function", []))),
                   key=lambda i: -(stats.get("total") or [0])[i])
    wanted = [stats["function"][i] for i in order]
    cache, sources, budget = {}, {}, MAX_SOURCE_BYTES
    for f in wanted:
        if budget <= 0:
            break
        try:
            path, line, name = strings[files[f]], lines_of[f], strings[names[f]]
        except (IndexError, TypeError):
            continue
        if path == "~" or path.startswith("<") or not path:
            continue
        if path not in cache:
            cache[path] = _read_lines(path)
        lines = cache[path]
        if lines is None:
            continue
        span = _function_span(lines, line, name == "<module>" or line <= 0)
        if span is None:
            continue
        first, text = span
        budget -= sum(len(t) for t in text)
        sources[str(f)] = [first, text]
    return sources


def _read_lines(path):
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return None
        with open(path, "rb") as f:
            data = f.read()
    except (OSError, ValueError):
        return None
    if b"\0" in data:
        return None
    return data.decode("utf-8", "replace").splitlines()


def render(profile_json, title=None, trace=None, assets=None, sources=True, view=None):
    """The report's HTML for a plumb JSON profile's text (and a web
    request's transaction trace, drawn as a waterfall).

    assets: None for one self-contained file; else the URL prefix its CSS
    and JavaScript are served at (report.css, report.js), for pages under a
    content security policy that forbids inline scripts (the dashboard's).
    sources: False leaves out the functions' source lines.  view: the view
    shown first ("timeline", "topdown"...), else the flame graph."""
    profile = json.loads(profile_json)
    meta = {
        "title": title or "plumb profile",
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "sources": collect_sources(profile) if sources else {},
    }
    if trace is not None:
        meta["trace"] = trace
    if view is not None:
        meta["view"] = view
    page = _asset("report.html")
    if assets is None:
        css, js = _asset("report.css"), _asset("report.js")
    else:
        prefix = html.escape(assets, quote=True)
        page = page.replace("<style>/*{{CSS}}*/</style>",
                            f'<link rel="stylesheet" href="{prefix}report.css">')
        page = page.replace("<script>/*{{JS}}*/</script>",
                            f'<script src="{prefix}report.js"></script>')
        css = js = ""
    parts = {
        "{{TITLE}}": html.escape(meta["title"]),
        "/*{{CSS}}*/": css,
        "{{PROFILE}}": _script_safe(profile_json.strip()),
        "{{META}}": _script_safe(json.dumps(meta, separators=(",", ":"))),
        "/*{{JS}}*/": js,
    }
    # One pass, so that nothing inserted (a function named "{{JS}}") is
    # taken for a placeholder.
    pattern = re.compile("|".join(re.escape(key) for key in parts))
    return pattern.sub(lambda m: parts[m.group(0)], page)


def write_report_from(json_path, out_path, title=None, trace=None):
    """Writes the report of the JSON profile at json_path to out_path."""
    with open(json_path, encoding="utf-8") as f:
        page = render(f.read(), title, trace)
    tmp = f"{os.fspath(out_path)}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, out_path)
