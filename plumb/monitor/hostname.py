"""A worker's host: the name its harvests carry in the store, and what
readers filter by (`--host NAME`, the API's `host=`, the pages' host
select, /metrics' `host` label).

By default the machine's name (socket.gethostname()); the `host` option
or $PLUMB_HOST (which overrides the code, as PLUMB_STORE does) names it
otherwise: containers whose hostnames are random, or several "hosts" on
one machine."""
import os
import socket

ENVIRONMENT_VARIABLE = "PLUMB_HOST"
MAX_HOST = 512          # as the stores keep names


def is_host_name(text):
    """A name a host may have: 1 to 512 printable characters, without
    spaces at either end."""
    return isinstance(text, str) and 0 < len(text) <= MAX_HOST and text.isprintable() \
        and text == text.strip()


def host_of(option=None):
    """The host a worker writes as: $PLUMB_HOST, else the option, else the
    machine's name.  ValueError (one line) when it is not a host name."""
    host = os.environ.get(ENVIRONMENT_VARIABLE) or option or socket.gethostname()
    if not is_host_name(host):
        raise ValueError(f"host must be a name of 1 to {MAX_HOST} printable characters, "
                         f"not {host!r}")
    return host
