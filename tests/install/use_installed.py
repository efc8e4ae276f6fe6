"""Uses an installed plumb as a new user would, with nothing of the checkout
on sys.path: run by scripts/check-install.sh with the python of a fresh venv
that holds plumb's wheel (built from its sdist) and Django.  Each step
prints what it checked; any failure ends with a message and status 1.

    python use_installed.py WORKDIR
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

work = os.path.abspath(sys.argv[1])
os.chdir(work)
bin_dir = os.path.dirname(sys.executable)
plumb = os.path.join(bin_dir, "plumb")


def fail(message):
    print(f"installed plumb: {message}", file=sys.stderr)
    sys.exit(1)


def run(*args, expect=0, **kw):
    got = subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kw)
    if got.returncode != expect:
        fail(f"{' '.join(args)}: exit status {got.returncode}, expected {expect}\n{got.stderr}")
    return got


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, attempts=200):
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                return r.status, r.read()
        except OSError:
            time.sleep(0.05)
    fail(f"nothing answered on port {port}")


import plumb as package  # noqa: E402

if not package.__file__.startswith(sys.prefix):
    fail(f"plumb imported from {package.__file__}, not from the venv {sys.prefix}")

with open("prog.py", "w") as f:
    f.write("import sys\ndef f(n): return n if n < 2 else f(n-1) + f(n-2)\nf(20)\nsys.exit(4)\n")

# plumb run: the program's exit status, a callgrind file, a table, a report.
run(plumb, "run", "-o", "out.callgrind", "prog.py", expect=4)
if not re.search(r"^c?fn=\(\d+\) f:2$", open("out.callgrind").read(), re.M):
    fail("plumb run wrote no callgrind record of f")
if "prog.py:2(f)" not in run(plumb, "run", "-s", "cumtime", "-n", "3", "prog.py", expect=4).stdout:
    fail("plumb run printed no table with f")
run(plumb, "run", "-o", "out.html", "prog.py", expect=4)
if "window.plumbReport" not in open("out.html").read():
    fail("plumb run -o out.html wrote no report")
print("plumb run: exit status kept, callgrind file, table, HTML report")

# plumb sample and plumb view.
with open("loop.py", "w") as f:
    f.write("import time\ndef spin():\n    end = time.perf_counter() + 0.3\n"
            "    while time.perf_counter() < end: pass\nspin()\n")
run(plumb, "sample", "-o", "loop.folded", "loop.py")
if "spin" not in open("loop.folded").read():
    fail("plumb sample's stacks do not show spin()")
run(plumb, "view", "loop.folded", "-o", "loop.html")
if "window.plumbReport" not in open("loop.html").read():
    fail("plumb view wrote no report")
print("plumb sample and plumb view: stacks and a report")

# A Django site with plumb.contrib.django: runprofileserver serves a request.
site = os.path.join(work, "site")
os.makedirs(site, exist_ok=True)
with open(os.path.join(site, "settings.py"), "w") as f:
    f.write('SECRET_KEY = "x"\nDEBUG = True\nALLOWED_HOSTS = ["*"]\nROOT_URLCONF = "urls"\n'
            'INSTALLED_APPS = ["plumb.contrib.django"]\nDATABASES = {}\nUSE_TZ = True\n')
with open(os.path.join(site, "urls.py"), "w") as f:
    f.write("from django.http import HttpResponse\nfrom django.urls import path\n"
            "def shop(request):\n    return HttpResponse(str(sum(range(10000))))\n"
            "urlpatterns = [path('shop/', shop)]\n")
with open(os.path.join(site, "manage.py"), "w") as f:
    f.write("import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\n"
            "from django.core.management import execute_from_command_line\n"
            "execute_from_command_line(sys.argv)\n")
profiles = os.path.join(work, "profiles")
os.makedirs(profiles, exist_ok=True)
port = free_port()
server = subprocess.Popen([sys.executable, "manage.py", "runprofileserver", "--noreload",
                           "--prof-path", profiles, f"127.0.0.1:{port}"], cwd=site,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
try:
    status, body = get(port, "/shop/")
    if status != 200 or body != str(sum(range(10000))).encode():
        fail(f"runprofileserver answered {status} {body[:80]!r}")
    for _ in range(200):
        made = [n for n in os.listdir(profiles) if n.startswith("shop.") and n.endswith(".prof")]
        if made:
            break
        time.sleep(0.05)
    else:
        fail(f"runprofileserver wrote no profile of /shop/: {os.listdir(profiles)}")
finally:
    server.send_signal(signal.SIGINT)
    try:
        out = server.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        server.kill()
        out = server.communicate()[0]
import pstats  # noqa: E402

names = {k[2] for k in pstats.Stats(os.path.join(profiles, made[0])).stats}
if "shop" not in names:
    fail(f"the request's profile has no shop view: {sorted(names)[:20]}")
print("Django: runprofileserver served /shop/ and wrote", made[0])

# Any WSGI app under plumb.web.WSGIMiddleware, served by wsgiref.
wsgi_out = os.path.join(work, "wsgi-profiles")
os.makedirs(wsgi_out, exist_ok=True)
with open("wsgi_app.py", "w") as f:
    f.write(
        "import sys\nfrom wsgiref.simple_server import make_server\n"
        "from plumb.web import WSGIMiddleware\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'hello']\n"
        "server = make_server('127.0.0.1', int(sys.argv[1]),\n"
        "    WSGIMiddleware(app, requests='all', prof_path=sys.argv[2]))\n"
        "server.handle_request()\n")
port = free_port()
server = subprocess.Popen([sys.executable, "wsgi_app.py", str(port), wsgi_out],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
status, body = get(port, "/hello/")
server.wait(timeout=60)
if status != 200 or body != b"hello":
    fail(f"the WSGI app answered {status} {body!r}")
if not [n for n in os.listdir(wsgi_out) if n.endswith(".prof")]:
    fail(f"WSGIMiddleware wrote no profile: {os.listdir(wsgi_out)}")
print("WSGI: WSGIMiddleware profiled a request into", os.listdir(wsgi_out))
shutil.rmtree(site)
