"""Who may see the dashboard.

Bound to a loopback address, it answers anyone on this machine, but only
requests whose Host header names loopback (a page elsewhere cannot reach it
through a DNS name that resolves to 127.0.0.1: DNS rebinding).  Bound
elsewhere, it refuses to start without a token (--token or
PLUMB_DASHBOARD_TOKEN), and then asks for it: scripts send
`Authorization: Bearer TOKEN`; a browser opens `/?token=TOKEN` once, which
sets an HttpOnly, SameSite=Strict cookie holding an HMAC of the token (not
the token) for that browser session.

Changes (starting a session) are POSTs that must carry the header
`X-Plumb-Request: 1`: a form or an image on another site cannot set a
custom header, and the dashboard answers no CORS preflight, so a
cross-site request cannot forge one."""
import hashlib
import hmac
import ipaddress

COOKIE = "plumb_dashboard"
CHANGE_HEADER = "X-Plumb-Request"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")


def _same(a, b):
    """Constant-time equality of two texts (any characters)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def is_loopback(host):
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def session_value(token):
    return hmac.new(token.encode("utf-8"), b"plumb dashboard session", hashlib.sha256).hexdigest()


def host_of(header):
    """The name in a Host header, without its port."""
    header = (header or "").strip().lower()
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def cookies_of(header):
    found = {}
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            found[name] = value
    return found


class Access:
    def __init__(self, token, loopback):
        self.token = token or None
        self.loopback = loopback
        self.session = session_value(self.token) if self.token else None

    def allowed(self, headers):
        """None if the request may go on, else (status, reason)."""
        if self.token is None:
            if host_of(headers.get("Host")) not in LOOPBACK_NAMES:
                return 403, "this dashboard answers loopback names only"
            return None
        bearer = headers.get("Authorization", "")
        if bearer.startswith("Bearer ") and _same(bearer[7:].strip(), self.token):
            return None
        cookie = cookies_of(headers.get("Cookie")).get(COOKIE, "")
        if cookie and _same(cookie, self.session):
            return None
        return 401, "a token is needed: open /?token=TOKEN once, or send Authorization: Bearer TOKEN"

    def token_matches(self, given):
        return self.token is not None and _same(given or "", self.token)

    def cookie_header(self):
        return f"{COOKIE}={self.session}; HttpOnly; SameSite=Strict; Path=/"

    @staticmethod
    def change_allowed(headers):
        return headers.get(CHANGE_HEADER) == "1"
