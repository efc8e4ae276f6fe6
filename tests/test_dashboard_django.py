"""The dashboard mounted in a Django site, path("plumb/", include(
"plumb.contrib.django.urls")), behind Django's login: who gets in under
each settings.PLUMB_DASHBOARD rule (anonymous users to the login page, the
others refused with 403), the API's answers the same as plumb serve's over
the same store, changes needing both Django's CSRF token and
X-Plumb-Request, the mount point in redirects, one-line errors for bad
settings, and the whole under runserver with a logged-in session while the
site's own monitoring writes into the store the dashboard reads.

Django runs in a subprocess per site (its settings are once per process),
with Django's test Client (enforce_csrf_checks=True)."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse

import pytest

from conftest import default_signals, env_with_plumb, free_port, http_get, wait_for_port
from monitor_seed import PRODUCT, durations_us, seed_store

import django  # noqa: F401  (installed by scripts/setup-venvs.sh: its absence is a failure)

SETTINGS = """\
SECRET_KEY = "test"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "plumb.contrib.django"]
MIDDLEWARE = {monitoring} + [
    "django.contrib.sessions.middleware.SessionMiddleware",{csrf}
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "urls"
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {db!r}}}}}
USE_TZ = True
LOGIN_URL = "/accounts/login/"
PLUMB_MONITOR = {monitor!r}
"""

URLS = """\
from django.http import HttpResponse
from django.urls import include, path


def home(request):
    return HttpResponse("home")


def ops_or_key(request):
    # A callable rule: operators by name, and a script (no login) by a header.
    return request.user.username.startswith("ops-") or \\
        request.headers.get("X-Dashboard-Key") == "k"


urlpatterns = [path("", home), path("plumb/", include("plumb.contrib.django.urls"))]
"""

# Runs requests given as JSON [[user, method, path, headers, csrf, body], ...]
# with one Client per user (logged in with force_login) and prints the
# answers, and the session cookie of each logged-in user.
CLIENT = """\
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
import django
django.setup()
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client

requests = json.loads(sys.argv[1])
users = {}
if any(name != "anonymous" for name, *_ in requests):
    call_command("migrate", verbosity=0)
    for name, flags in (("plain", {}), ("staff", {"is_staff": True}), ("viewer", {}),
                        ("ops-ann", {}), ("admin", {"is_staff": True, "is_superuser": True})):
        users[name] = User.objects.get_or_create(username=name, defaults=flags)[0]
    users["viewer"].user_permissions.add(
        Permission.objects.get(codename="view_user", content_type__app_label="auth"))
clients = {}
answers = []
for name, method, path, headers, csrf, body in requests:
    if name not in clients:
        clients[name] = Client(enforce_csrf_checks=True)
        if name != "anonymous":
            clients[name].force_login(users[name])
    client = clients[name]
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()
             if k != "SCRIPT_NAME"}
    if "SCRIPT_NAME" in headers:
        extra["SCRIPT_NAME"] = headers["SCRIPT_NAME"]
    if csrf:
        client.get("/plumb/api/v1/")          # an answer of the dashboard sets csrftoken
        extra["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    try:
        r = client.generic(method, path, body.encode(), content_type="application/json", **extra)
    except ImproperlyConfigured as e:
        answers.append({"improperly_configured": str(e)})
        continue
    answers.append({"status": r.status_code, "headers": dict(r.items()),
                    "body": r.content.decode()})
print(json.dumps({"answers": answers, "sessions": {
    name: c.cookies["sessionid"].value for name, c in clients.items() if name != "anonymous"}}))
"""


def site(tmp_path, dashboard=None, monitor=None, monitoring=False, csrf_middleware=True):
    """A Django project in tmp_path/site (its database a file there)."""
    folder = tmp_path / "site"
    folder.mkdir()
    settings = SETTINGS.format(
        monitoring=["plumb.contrib.django.middleware.MonitoringMiddleware"] if monitoring else [],
        csrf='\n    "django.middleware.csrf.CsrfViewMiddleware",' if csrf_middleware else "",
        db=str(folder / "site.db"), monitor=monitor or {})
    if dashboard is not None:
        settings += f"PLUMB_DASHBOARD = {dashboard!r}\n"
    (folder / "settings.py").write_text(settings)
    (folder / "urls.py").write_text(URLS)
    (folder / "client.py").write_text(CLIENT)
    return folder


@pytest.fixture
def store(tmp_path):
    path = str(tmp_path / "m.db")
    trace_id, session = seed_store(path)
    return path, trace_id, session


def environment(store_variable=None):
    env = env_with_plumb()
    env.pop("PLUMB_STORE", None)
    if store_variable:
        env["PLUMB_STORE"] = store_variable
    return env


def run_client(folder, requests, env):
    """The answers to requests (see CLIENT), and the users' session keys."""
    got = subprocess.run([sys.executable, "client.py", json.dumps(requests)], cwd=folder,
                         env=env, capture_output=True, text=True, timeout=180)
    assert got.returncode == 0, got.stderr[-3000:]
    out = json.loads(got.stdout)
    return out["answers"], out["sessions"]


def get(user, path, headers=None):
    return [user, "GET", path, headers or {}, False, ""]


def post(user, path, value, csrf, plumb_header):
    return [user, "POST", path, {"X-Plumb-Request": "1"} if plumb_header else {}, csrf,
            json.dumps(value)]


def serve_answer(store_path, path):
    """What `plumb serve` answers for path over the same store."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "plumb", "serve", "--store", store_path,
                               "--port", str(port)], env=environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=default_signals)
    try:
        wait_for_port(port, server)
        status, _, body = http_get(port, path)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert status == 200
    return json.loads(body)


def test_staff_only_by_default_with_the_same_answers_as_plumb_serve(store, tmp_path):
    path, trace_id, _ = store
    now = int(time.time())
    window = f"since={now - 3600}&until={now + 120}"     # fixed: both answers cover the same
    folder = site(tmp_path)                              # the store from $PLUMB_STORE
    answers, _ = run_client(folder, [
        get("anonymous", f"/plumb/api/v1/transactions?{window}"),
        get("plain", "/plumb/api/v1/transactions"),
        get("staff", f"/plumb/api/v1/transactions?{window}"),
        get("staff", f"/plumb/api/v1/traces/{trace_id}"),
        get("staff", "/plumb/metrics"),
        get("staff", "/plumb/api"),
        get("staff", "/plumb/api", {"SCRIPT_NAME": "/shop"}),
        get("staff", "/plumb/api/v1/nothing"),
        get("anonymous", "/"),
        get("staff", "/plumb/"),
    ], environment(f"sqlite:///{path}"))
    anonymous, plain, staff, trace, metrics, redirect, under_script, missing, home, pages = answers

    assert anonymous["status"] == 302
    login = urllib.parse.urlsplit(anonymous["headers"]["Location"])
    assert login.path == "/accounts/login/"
    assert urllib.parse.parse_qs(login.query) == {"next": [f"/plumb/api/v1/transactions?{window}"]}
    assert plain["status"] == 403 and "staff" in json.loads(plain["body"])["error"]

    assert staff["status"] == 200 and staff["headers"]["Content-Type"] == "application/json"
    rows = {r["name"]: r for r in json.loads(staff["body"])["transactions"]}
    assert rows[PRODUCT]["count"] == len(durations_us()) and rows[PRODUCT]["errors"] == 3
    assert json.loads(staff["body"]) == serve_answer(path, f"/api/v1/transactions?{window}")
    for name, value in (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'"),
                        ("X-Frame-Options", "SAMEORIGIN"), ("Cache-Control", "no-store")):
        assert staff["headers"][name] == value, name
    assert json.loads(trace["body"])["document"]["segments"][0]["kind"] == "view"

    assert metrics["status"] == 200
    assert metrics["headers"]["Content-Type"].startswith("text/plain; version=0.0.4")
    assert f'plumb_requests_total{{transaction="{PRODUCT}",kind="web",host="web-1"}} 1000' in metrics["body"]

    assert redirect["status"] == 302 and redirect["headers"]["Location"] == "/plumb/api/v1/"
    assert under_script["headers"]["Location"] == "/shop/plumb/api/v1/"
    assert missing["status"] == 404 and "\n" not in json.loads(missing["body"])["error"]
    assert home["status"] == 200 and home["body"] == "home"
    # The pages, with the mount point written in for their links and fetches.
    assert pages["status"] == 200 and pages["headers"]["Content-Type"].startswith("text/html")
    assert 'data-base="/plumb/"' in pages["body"]


@pytest.mark.parametrize("csrf_middleware", [True, False], ids=["csrf-middleware", "without-it"])
def test_a_change_needs_the_csrf_token_and_x_plumb_request(store, tmp_path, csrf_middleware):
    path = store[0]
    # The store from settings; the view is protected without the site's CsrfViewMiddleware too.
    folder = site(tmp_path, monitor={"store": f"sqlite:///{path}"}, csrf_middleware=csrf_middleware)
    xray = {"kind": "xray", "transaction": PRODUCT, "duration_s": 30}
    answers, _ = run_client(folder, [
        post("staff", "/plumb/api/v1/sessions", xray, csrf=False, plumb_header=True),
        post("staff", "/plumb/api/v1/sessions", xray, csrf=True, plumb_header=False),
        post("staff", "/plumb/api/v1/sessions", xray, csrf=True, plumb_header=True),
        post("plain", "/plumb/api/v1/sessions", xray, csrf=True, plumb_header=True),
        get("staff", "/plumb/api/v1/sessions?limit=10"),
    ], environment())
    no_token, no_header, both, not_staff, sessions = answers
    assert no_token["status"] == 403 and "CSRF" in no_token["body"]
    assert no_header["status"] == 403
    assert "X-Plumb-Request" in json.loads(no_header["body"])["error"]
    assert both["status"] == 200
    created = json.loads(both["body"])["id"]
    assert not_staff["status"] == 403
    found = {s["id"]: s for s in json.loads(sessions["body"])["sessions"]}
    assert found[created]["transaction"] == PRODUCT and found[created]["kind"] == "xray"
    assert len(found) == 2           # the seeded session and this one: the refused made none


USERS = ("anonymous", "plain", "staff", "viewer", "ops-ann", "admin")


@pytest.mark.parametrize("allow, expected", [
    ("superuser", {"anonymous": 302, "plain": 403, "staff": 403, "viewer": 403, "ops-ann": 403,
                   "admin": 200}),
    ("perm:auth.view_user", {"anonymous": 302, "plain": 403, "staff": 403, "viewer": 200,
                             "ops-ann": 403, "admin": 200}),
    ("urls.ops_or_key", {"anonymous": 302, "plain": 403, "staff": 403, "viewer": 403,
                         "ops-ann": 200, "admin": 403}),
])
def test_rules_of_settings_plumb_dashboard(store, tmp_path, allow, expected):
    folder = site(tmp_path, dashboard={"allow": allow}, monitor={"store": f"sqlite:///{store[0]}"})
    requests = [get(user, "/plumb/api/v1/hosts") for user in USERS]
    requests.append(get("anonymous", "/plumb/api/v1/hosts", {"X-Dashboard-Key": "k"}))
    answers, _ = run_client(folder, requests, environment())
    got = {user: answer["status"] for user, answer in zip(USERS, answers)}
    assert got == expected
    with_key = answers[-1]
    if allow == "urls.ops_or_key":         # a callable decides for anonymous requests too
        hosts = json.loads(with_key["body"])["hosts"]
        assert with_key["status"] == 200 and [h["host"] for h in hosts] == ["web-1"]
    else:
        assert with_key["status"] == 302


@pytest.mark.parametrize("dashboard, message", [
    ("staff", "must be a dict"),
    ({"alow": "staff"}, "unknown option 'alow'"),
    ({"allow": "admins"}, "allow='admins' is neither staff, superuser"),
    ({"allow": "perm:view_user"}, "perm:app_label.codename"),
    ({"allow": "nowhere.allowed"}, "nor an importable callable"),
    ({"allow": "urls.urlpatterns"}, "names list, not a callable"),
    ({"allow": 3}, "allow must be 'staff'"),
])
def test_bad_settings_are_one_line_and_only_the_dashboard_fails(tmp_path, dashboard, message):
    folder = site(tmp_path, dashboard=dashboard, monitor={"store": f"sqlite:///{tmp_path}/m.db"})
    answers, _ = run_client(folder, [get("anonymous", "/plumb/api/v1/"),
                                     get("anonymous", "/")], environment())
    error = answers[0]["improperly_configured"]
    assert error.startswith("settings.PLUMB_DASHBOARD: ") and message in error, error
    assert "\n" not in error
    assert answers[1]["status"] == 200                 # the rest of the site goes on


def test_under_runserver_with_a_logged_in_staff_session(store, tmp_path):
    path = store[0]
    folder = site(tmp_path, monitoring=True,
                  monitor={"store": f"sqlite:///{path}", "harvest_interval": 1.0})
    env = environment()
    _, sessions = run_client(folder, [get("staff", "/plumb/api/v1/hosts")], env)
    cookie = {"Cookie": f"sessionid={sessions['staff']}"}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=folder, env=dict(env, DJANGO_SETTINGS_MODULE="settings",
                             PYTHONPATH=os.pathsep.join(filter(None, [str(folder),
                                                                      env.get("PYTHONPATH")]))),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)
    try:
        wait_for_port(port, server, timeout=60)
        status, headers, _ = http_get(port, "/plumb/api/v1/transactions")
        assert status == 302 and headers["location"].startswith("/accounts/login/?next=")
        status, headers, body = http_get(port, "/plumb/api/v1/transactions", cookie)
        assert status == 200 and headers["x-frame-options"] == "SAMEORIGIN"
        rows = {r["name"]: r for r in json.loads(body)["transactions"]}
        assert rows[PRODUCT]["count"] == len(durations_us())
        for _ in range(3):
            assert http_get(port, "/")[0] == 200
        # The site's monitoring harvests every second into the store the
        # dashboard reads: wait for all three requests, which a harvest may
        # split (one seen under ASan; no timing asserted).
        deadline = time.time() + 60
        while time.time() < deadline:
            _, _, body = http_get(port, "/plumb/api/v1/transactions?since=10m", cookie)
            rows = {r["name"]: r for r in json.loads(body)["transactions"]}
            if rows.get("urls.home", {}).get("count", 0) >= 3:
                break
            time.sleep(0.5)
        assert rows.get("urls.home", {}).get("count") == 3, sorted(rows)
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=60)[0]
    assert "Traceback" not in output, output[-3000:]
