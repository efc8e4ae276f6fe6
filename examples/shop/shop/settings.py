"""The example shop's settings.  The environment chooses what the tests and
benchmarks vary: SHOP_DB (its SQLite database), SHOP_MONITOR=0 (no
monitoring and no plumb app, for the bare baseline), PLUMB_STORE (where monitoring writes),
SHOP_HARVEST (seconds between harvests), SHOP_RATE (sampler Hz),
SHOP_SAMPLER_CPU (the sampler's share of a CPU: tests that count samples
keep its rate from being lowered), SHOP_BACKGROUND=1 (a background thread that works now and then)."""
import os
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["shop.apps.ShopConfig"]
if os.environ.get("SHOP_MONITOR", "1") != "0":
    # Left out of the bare baseline: its instruments (the view's and the SQL
    # hook's wrappers) would run, idle, on every request of it.
    INSTALLED_APPS.append("plumb.contrib.django")
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
if os.environ.get("SHOP_MONITOR", "1") != "0":
    MIDDLEWARE.insert(0, "plumb.contrib.django.middleware.MonitoringMiddleware")
PLUMB_MONITOR = {
    "store": "sqlite:///" + str(BASE / "plumb-monitor.db"),   # PLUMB_STORE overrides it
    "harvest_interval": float(os.environ.get("SHOP_HARVEST", "60")),
    "apdex_t": 0.05,             # so the slow page (250 ms) is past 4T and keeps its traces
}
if "SHOP_RATE" in os.environ:
    PLUMB_MONITOR["rate"] = float(os.environ["SHOP_RATE"])
if "SHOP_SAMPLER_CPU" in os.environ:
    PLUMB_MONITOR["sampler_cpu"] = float(os.environ["SHOP_SAMPLER_CPU"])
ROOT_URLCONF = "shop.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("SHOP_DB", str(BASE / "shop.db"))}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
              "APP_DIRS": True}]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
