"""The ClickHouse store of schema version 1's layout: its tables made as
that version made them (the workers' coarser rows only, no host or fleet
rows) and its harvests written as it wrote them (version 2 changed no table
a harvest writes), its readers reading the workers' rows.  For the
migration's tests and the benchmark's before-and-after."""
from urllib.parse import urlsplit

from plumb.monitor.store import ClickHouseStore


class LayoutV1Store(ClickHouseStore):
    schema_version = 1


def open_layout_v1(url, **options):
    """A LayoutV1Store of a clickhouse://USER:PASSWORD@HOST:PORT/DATABASE URL."""
    parts = urlsplit(url)
    return LayoutV1Store(parts.hostname, parts.port, parts.path.lstrip("/"),
                         user=parts.username, password=parts.password, **options)
