"""plumb for Django: add "plumb.contrib.django" to INSTALLED_APPS for

- `python manage.py runprofileserver`: runserver with every request
  profiled into its own file (django-extensions' command, same options);
- "plumb.contrib.django.middleware.ProfilingMiddleware": profiles the
  requests its settings choose, under any server.

Settings: PLUMB = {"requests": "trigger", "secret": "...", "prof_path": ...,
"format": "pstats", "approve": "myapp.profiling.is_staff", ...}, the
options of plumb.web.Options; DEBUG is taken from Django's settings."""
default_app_config = "plumb.contrib.django.apps.PlumbConfig"
