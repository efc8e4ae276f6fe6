from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("product/<int:pk>/", views.product),
    path("catalogue/", views.catalogue),
    path("slow/", views.slow),
    path("crunch/", views.crunch),
    path("broken/", views.broken),
    path("stream/", views.stream),
    path("ping/", views.ping),
]
