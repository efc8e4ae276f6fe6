import os
import threading
import time

from django.apps import AppConfig


def background_spin(seconds):
    """Work in a thread of its own, serving no request."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _background_loop():
    from plumb.monitor import background_task

    @background_task(name="shop.refresh_cache")
    def refresh_cache():
        background_spin(0.02)

    while True:
        background_spin(0.05)      # untagged: "other"
        refresh_cache()            # a background transaction
        time.sleep(0.05)


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self):
        if os.environ.get("SHOP_BACKGROUND") == "1":
            # Started lazily by the first request, so that it runs in each
            # worker after a --preload fork, as an application's would.
            from . import views
            views.start_background = lambda: threading.Thread(
                target=_background_loop, name="shop-background", daemon=True).start()
