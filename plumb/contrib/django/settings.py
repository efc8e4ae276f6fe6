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
    from .sql import capture_sql
    from .templates import capture_templates

    config.setdefault("instruments", (capture_sql, capture_templates))
    return Options(**config)
