"""Per-request file names, as django-extensions' runprofileserver made them
(`{path}.{duration:06d}ms.{time}` then the extension), so that `plumb merge
--by-path` and existing habits work, and files written without ever
clobbering or tearing one another."""
import itertools
import os
import re
import tempfile

DEFAULT_NAME = "{path}.{duration:06d}ms.{time}"
EXTENSIONS = {"pstats": ".prof", "callgrind": ".callgrind", "collapsed": ".folded",
              "json": ".json", "html": ".html"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_suffixes = itertools.count(1)


def _umask():
    # Read once, at import: os.umask can only be read by setting it, which
    # would race with threads creating files later.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# What open() gives a new file; mkstemp's 0600 would make a request's
# profile unreadable to the user's other tools, unlike its trace.
FILE_MODE = 0o666 & ~_umask()


def path_field(url_path):
    """The URL path without its outer '/', inner '/' as '.', 'root' for '/';
    anything but letters, digits, '.', '_' and '-' becomes '_' (a name, never
    a path), at most 120 characters."""
    name = url_path.strip("/").replace("/", ".")
    name = _UNSAFE.sub("_", name)[:120]
    return name or "root"


def check_name_format(fmt):
    """Raises ValueError with one line if fmt cannot name a file."""
    try:
        name = fmt.format(path="root", duration=1, time=1, method="GET")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"bad file name format {fmt!r}: {exc!r}; the fields are "
                         "{path}, {duration}, {time} and {method}") from None
    if "/" in name or not name:
        raise ValueError(f"bad file name format {fmt!r}: it must name a file, not a path")


def request_file_name(fmt, path, duration_ms, when, method):
    return fmt.format(path=path_field(path), duration=int(duration_ms), time=int(when),
                      method=_UNSAFE.sub("_", method)[:16])


def write_new_file(directory, stem, extension, write):
    """Calls write(tmp_path), then moves the result to directory/stem+extension,
    or stem.1+extension, stem.2+extension...: a new name is taken atomically
    (os.link fails if it exists), so concurrent requests, in threads or in
    processes, never overwrite or tear each other's files.  Returns the path."""
    fd, tmp = tempfile.mkstemp(prefix=".plumb-", suffix=extension, dir=directory)
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)
        write(tmp)
        final = os.path.join(directory, stem + extension)
        for _ in range(10000):
            try:
                os.link(tmp, final)
                return final
            except FileExistsError:
                # Busy endpoints give equal names (same path, milliseconds and
                # second): a counter that only grows keeps the search short.
                final = os.path.join(directory, f"{stem}.{next(_suffixes)}{extension}")
        raise OSError(f"no free name for {stem}{extension} in {directory}")
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
