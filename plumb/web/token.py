"""Signed, expiring tokens that ask for a request to be profiled: "EXPIRY.MAC",
MAC = HMAC-SHA256(secret, "plumb-profile:" + EXPIRY), base64url. Anyone
with the token can have requests profiled until it expires, so tokens are
short-lived and the secret stays on the server (`plumb token` prints one)."""
import base64
import hashlib
import hmac
import time

DEFAULT_TTL = 3600            # seconds
MAX_TTL = 30 * 24 * 3600      # a token claiming a later expiry is refused


def _mac(secret, expiry):
    if isinstance(secret, str):
        secret = secret.encode()
    digest = hmac.new(secret, b"plumb-profile:%d" % expiry, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_token(secret, ttl=DEFAULT_TTL, now=None):
    """A token valid for ttl seconds from now."""
    if not secret:
        raise ValueError("a token needs a secret")
    if not 0 < ttl <= MAX_TTL:
        raise ValueError(f"a token lives between 1 second and {MAX_TTL // 86400} days")
    expiry = int((time.time() if now is None else now) + ttl)
    return f"{expiry}.{_mac(secret, expiry)}"


def check_token(token, secret, now=None):
    """Whether token was made with secret and has not expired."""
    if not secret or not token or len(token) > 100:
        return False
    expiry_text, _, mac = token.partition(".")
    if not expiry_text.isdigit() or len(expiry_text) > 12:
        return False
    expiry = int(expiry_text)
    now = time.time() if now is None else now
    if not now <= expiry <= now + MAX_TTL:
        return False
    return hmac.compare_digest(mac, _mac(secret, expiry))
