"""The dashboard as a Django view: plumb.contrib.django.urls sends every
path under its mount point here, and this hands (method, sub-path, query,
body) to plumb.dashboard's DashboardApp, the one plumb serve answers with.

What Django adds, in place of plumb serve's token and loopback rules: the
site's login (dashboard_access.py decides who), Django's CSRF protection on
changes (the view is csrf_protect'ed even where the site's MIDDLEWARE lacks
CsrfViewMiddleware, and every answer sets the csrftoken cookie the pages
read), and, as under plumb serve, the X-Plumb-Request: 1 header a change
must carry.

The store is the one the site's monitoring writes (settings.PLUMB_MONITOR's
"store", overridden by $PLUMB_STORE, as MonitoringMiddleware reads them),
opened at the first request in each process: a gunicorn master that
imported the site with --preload forks workers, and a connection must not
cross a fork."""
import os
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie

from ...dashboard.access import CHANGE_HEADER, Access
from ...dashboard.api import MAX_BODY
from ...dashboard.app import DashboardApp, json_response
from ...dashboard.app import SECURITY_HEADERS
from .dashboard_access import current_rule
from .monitoring import options_from_settings

MAX_MOUNT_POINTS = 8      # the include() may appear more than once; SCRIPT_NAME may vary


class _Dashboards:
    """One store per process, and one DashboardApp per mount point over it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._store = None
        self._apps = {}

    def app_for(self, base):
        with self._lock:
            if self._pid != os.getpid():        # first use, or a forked child: its own store
                self._pid, self._store, self._apps = os.getpid(), None, {}
            if self._store is None:
                from ...monitor.store import open_store

                self._store = open_store(options_from_settings().store)   # StoreError: 503
            app = self._apps.get(base)
            if app is None:
                app = DashboardApp(self._store, base=base)
                if len(self._apps) < MAX_MOUNT_POINTS:
                    self._apps[base] = app
            return app


_dashboards = _Dashboards()


def _to_django(response):
    answer = HttpResponse(response.body, status=response.status,
                          content_type=response.content_type)
    for name, value in SECURITY_HEADERS + response.headers:
        answer[name] = value
    return answer


def _login(request):
    """As login_required: to settings.LOGIN_URL, with this page as next."""
    # Imported here: django.contrib.auth's views need its models, so a
    # module-level import would break any site (or check) that imports
    # this module without django.contrib.auth installed.
    from django.contrib.auth.views import redirect_to_login

    login_url = resolve_url(settings.LOGIN_URL)
    here = request.get_full_path()
    if "://" in login_url and not login_url.startswith(request.build_absolute_uri("/")):
        here = request.build_absolute_uri()     # a login page on another host needs it whole
    return redirect_to_login(here, login_url)


def _mount_point(request, sub_path):
    """request.path less the sub-path the URL pattern captured: "/plumb"
    under path("plumb/", include(...)), with the site's SCRIPT_NAME."""
    full = request.path
    return full[:len(full) - len(sub_path)] if sub_path and full.endswith(sub_path) else full


def _body(request):
    """(body, None) or (None, refusal) for a change's body, never reading
    more than the API takes."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 <= length <= MAX_BODY:
        return None, json_response(413, {"error": "the body is too large"})
    return request.body, None


@csrf_protect
@ensure_csrf_cookie
def dashboard(request, sub_path=""):
    if not hasattr(request, "user"):
        raise ImproperlyConfigured("plumb.contrib.django.urls needs django.contrib.auth's "
                                   "AuthenticationMiddleware in settings.MIDDLEWARE")
    rule = current_rule()
    if not rule.allows(request):
        if not request.user.is_authenticated:
            return _login(request)
        return _to_django(json_response(403, {
            "error": f"settings.PLUMB_DASHBOARD allows {rule.who} only"}))
    method = "GET" if request.method == "HEAD" else request.method
    body = None
    if method == "POST":
        if not Access.change_allowed(request.headers):
            return _to_django(json_response(403, {
                "error": f"a change needs the header {CHANGE_HEADER}: 1"}))
        body, refused = _body(request)
        if refused is not None:
            return _to_django(refused)
    from ...monitor.store import StoreError

    try:
        app = _dashboards.app_for(_mount_point(request, sub_path))
    except StoreError as e:
        return _to_django(json_response(503, {"error": str(e)}))
    return _to_django(app.respond(method, "/" + sub_path, request.META.get("QUERY_STRING", ""),
                                  body))
