"""Who may see the dashboard Django mounts (plumb.contrib.django.urls):
settings.PLUMB_DASHBOARD = {"allow": RULE}, RULE one of

    "staff" (the default)        active users with is_staff, as Django's admin
    "superuser"                  active users with is_superuser
    "perm:app_label.codename"    users holding that permission (user.has_perm)
    "dotted.path.to.callable"    callable(request) -> bool (or the callable itself)

A callable decides for anonymous requests too (a script, Prometheus, that
cannot log in); the other rules never let an anonymous request in.  A
setting that is wrong raises ImproperlyConfigured with one line the first
time the dashboard is asked for, and only the dashboard's own pages fail:
the rest of the site goes on."""
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

SETTING = "PLUMB_DASHBOARD"
KNOWN = ("allow",)
DEFAULT_RULE = "staff"


def _refuse(message):
    return ImproperlyConfigured(f"settings.{SETTING}: {message}")


def _staff(request):
    user = request.user
    return user.is_active and user.is_staff


def _superuser(request):
    user = request.user
    return user.is_active and user.is_superuser


def _permission(name):
    def allowed(request):
        return request.user.has_perm(name)   # False for inactive users (ModelBackend)
    return allowed


class Rule:
    """allows(request) -> bool; `who` says whom, for 403 answers."""

    def __init__(self, who, allows, anonymous_too):
        self.who = who
        self._allows = allows
        self.anonymous_too = anonymous_too

    def allows(self, request):
        if not self.anonymous_too and not request.user.is_authenticated:
            return False
        return bool(self._allows(request))


def _callable_rule(text, target):
    if isinstance(target, str):
        try:
            target = import_string(target)
        except ImportError as e:
            first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise _refuse(f"allow={text!r} is neither staff, superuser, perm:app_label.codename "
                          f"nor an importable callable ({first_line})") from None
    if not callable(target):
        raise _refuse(f"allow={text!r} names {type(target).__name__}, not a callable(request)")
    return Rule("those its callable allows", target, anonymous_too=True)


def rule_from_settings():
    config = getattr(settings, SETTING, None)
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise _refuse(f"must be a dict such as {{'allow': 'staff'}}, not {type(config).__name__}")
    unknown = sorted(set(config) - set(KNOWN), key=str)
    if unknown:
        raise _refuse(f"unknown option {unknown[0]!r} (known: {', '.join(KNOWN)})")
    allow = config.get("allow", DEFAULT_RULE)
    if callable(allow):
        return _callable_rule(getattr(allow, "__qualname__", repr(allow)), allow)
    if not isinstance(allow, str) or not allow.strip():
        raise _refuse(f"allow must be 'staff', 'superuser', 'perm:app_label.codename' or a "
                      f"dotted path to a callable(request), not {allow!r}")
    if allow == "staff":
        return Rule("staff", _staff, anonymous_too=False)
    if allow == "superuser":
        return Rule("superusers", _superuser, anonymous_too=False)
    if allow.startswith("perm:"):
        name = allow[len("perm:"):]
        label, dot, codename = name.partition(".")
        if not (label and dot and codename) or "." in codename or " " in name:
            raise _refuse(f"allow={allow!r}: a permission is perm:app_label.codename "
                          "(perm:auth.view_user)")
        return Rule(f"users with the permission {name}", _permission(name), anonymous_too=False)
    if "." not in allow:
        raise _refuse(f"allow={allow!r} is neither staff, superuser, perm:app_label.codename "
                      "nor a dotted path to a callable(request)")
    return _callable_rule(allow, allow)


_lock = threading.Lock()
_rule = []


def current_rule():
    """The rule, built once (a callable is imported at the first request,
    when the site's modules are all loaded, not while its URLconf is)."""
    if not _rule:
        with _lock:
            if not _rule:
                _rule.append(rule_from_settings())
    return _rule[0]
