"""The one error a command ends with when it was called wrongly or given
what it cannot use: its message is one line for stderr, and plumb exits
with status 2 (USAGE_ERROR).  Raised by the command line, the runner and
the commands alike; the API raises ValueError and OSError as Python does."""

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in how plumb was called, or an input it cannot use."""
