"""plumb.web.Options from Django's settings (PLUMB, DEBUG)."""
from django.conf import settings
from django.utils.module_loading import import_string

from ...web.profiler import Options


def options_from_settings(**overrides):
    config = dict(getattr(settings, "PLUMB", {}) or {})
    config.update(overrides)
    approve = config.get("approve")
    if isinstance(approve, str):
        config["approve"] = import_string(approve)
    config.setdefault("debug", settings.DEBUG)
    # Django's own hook records its queries (sql.py): tracing its driver as
    # well would add the queries Django runs for itself (connection set-up,
    # DEBUG's quoting).  Name "sqlite3" or "psycopg" in PLUMB["instruments"]
    # when the application also uses the driver directly.
    config.setdefault("instruments", ("http",))
    return Options(**config)
