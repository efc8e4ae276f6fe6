"""plumb's dashboard in a Django site, behind the site's login:

    urlpatterns = [..., path("plumb/", include("plumb.contrib.django.urls"))]

Every path under the mount point goes to one view (views.py), which
answers as plumb serve does: the JSON API under api/v1/, Prometheus's
metrics, and the pages.  Who may see it: settings.PLUMB_DASHBOARD
(dashboard_access.py; staff by default)."""
from django.urls import re_path

from .views import dashboard

app_name = "plumb"
urlpatterns = [re_path(r"^(?P<sub_path>[\s\S]*)$", dashboard, name="dashboard")]
