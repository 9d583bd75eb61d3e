"""URLs: the shop's views, ``/health/``, and static files served from the release."""

from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve
from orders import views

urlpatterns = [
    path("", views.index),
    path("health/", views.health),
    path("orders/", views.orders),
    path("documents/", views.documents),
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
