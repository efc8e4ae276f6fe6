from django.apps import AppConfig


class PlumbConfig(AppConfig):
    name = "plumb.contrib.django"
    label = "plumb"
    verbose_name = "plumb profiler"
