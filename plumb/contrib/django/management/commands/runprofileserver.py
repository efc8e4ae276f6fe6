"""`python manage.py runprofileserver`: runserver with every request
profiled into its own file, as django-extensions' command of the same name
did, with its options: --prof-path, --prof-file, --kcachegrind, --nomedia
(and runserver's --noreload, --nothreading...).  --sample profiles with
the sampler instead; --format picks any of plumb's per-request formats.
--use-cprofile and --use-lsprof are accepted and change nothing: plumb's
own profiler is the one used.

Requests are profiled one at a time (the interpreter has one profiling
slot); with threading on, a request that comes while another is profiled
waits for it."""
from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError

from plumb.contrib.django.settings import options_from_settings
from plumb.web.naming import DEFAULT_NAME
from plumb.web.profiler import FORMATS
from plumb.web.wsgi import WSGIMiddleware

if apps.is_installed("django.contrib.staticfiles"):
    from django.contrib.staticfiles.management.commands.runserver import Command as Runserver
else:
    from django.core.management.commands.runserver import Command as Runserver


class Command(Runserver):
    help = "Starts a development web server that profiles every request into its own file."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--prof-path", default=None,
                            help="directory for the profiles (default: the system temp folder)")
        parser.add_argument("--prof-file", default=DEFAULT_NAME,
                            help="file name format, with {path}, {duration}, {time}, {method} "
                                 "(default: %(default)s); the format's extension is added")
        parser.add_argument("--kcachegrind", action="store_true",
                            help="write callgrind files for KCacheGrind")
        parser.add_argument("--format", choices=FORMATS, default=None,
                            help="pstats (default), callgrind, collapsed (with --sample), json, html")
        parser.add_argument("--nomedia", action="store_true",
                            help="do not profile requests for MEDIA_URL and STATIC_URL")
        parser.add_argument("--sample", action="store_true",
                            help="profile with the sampler instead of the deterministic profiler")
        parser.add_argument("--use-cprofile", "--use-lsprof", action="store_true",
                            help="accepted for django-extensions' habits; changes nothing")

    def handle(self, *args, **options):
        # Checked before the server starts: a bad option is one line
        # (CommandError), not a traceback from the first request's thread.
        self._plumb_options = self._options(options)
        return super().handle(*args, **options)

    @staticmethod
    def _options(options):
        if options.get("format") and options.get("kcachegrind"):
            raise CommandError("--kcachegrind and --format: choose one", returncode=2)
        fmt = options.get("format") or ("callgrind" if options.get("kcachegrind") else "pstats")
        skip = ()
        if options.get("nomedia"):
            skip = tuple(u for u in (getattr(settings, "MEDIA_URL", ""),
                                     getattr(settings, "STATIC_URL", ""))
                         if u and u.startswith("/") and u != "/")
        try:
            return options_from_settings(
                requests="all", prof_path=options.get("prof_path"),
                prof_file=options["prof_file"], format=fmt, sample=options.get("sample", False),
                skip_prefixes=skip)
        except (ValueError, TypeError, ImportError) as exc:
            raise CommandError(f"plumb: {exc}", returncode=2) from None

    def get_handler(self, *args, **options):
        handler = super().get_handler(*args, **options)
        plumb_options = getattr(self, "_plumb_options", None) or self._options(options)
        self.stdout.write(f"plumb: profiling every request into {plumb_options.prof_path} "
                          f"({plumb_options.format}{', sampled' if plumb_options.sample else ''})")
        return WSGIMiddleware(handler, options=plumb_options)
