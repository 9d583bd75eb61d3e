"""The shop's views: JSON, no templates."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from shop.release import RELEASE, SCHEMA, VERSION

from orders.models import Document, Order


def index(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"version": VERSION, "orders": Order.objects.count()})


def health(request: HttpRequest) -> HttpResponse:
    """The seed's health check: the database and Redis answer (503 naming what does not)."""
    status: dict[str, str] = {"version": VERSION}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception as exc:  # any failure of the database is a failed health check
        status["database"] = f"error: {type(exc).__name__}"
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        status["redis"] = "ok"
    except Exception as exc:  # idem for Redis
        status["redis"] = f"error: {type(exc).__name__}"
    healthy = status["database"] == status["redis"] == "ok" and not RELEASE.get("fail_health")
    return JsonResponse(status, status=200 if healthy else 503)


def orders(request: HttpRequest) -> HttpResponse:
    """GET: how many orders; POST: one more (``customer`` as the schema of this release has it)."""
    if request.method == "POST":
        name = request.POST.get("customer", "alice")
        fields: dict[str, object] = {"total": request.POST.get("total", "9.99")}
        if SCHEMA < 4:
            fields["customer"] = name
        if SCHEMA >= 3:
            fields["customer_email"] = f"{name}@example.com"
        order = Order.objects.create(**fields)
        return JsonResponse({"id": order.pk, "version": VERSION}, status=201)
    return JsonResponse({"orders": Order.objects.count(), "version": VERSION})


def documents(request: HttpRequest) -> HttpResponse:
    """POST a file (``file``): stored under MEDIA_ROOT, shared by every release."""
    if request.method == "POST" and "file" in request.FILES:
        doc = Document.objects.create(file=request.FILES["file"])
        return JsonResponse({"id": doc.pk, "url": doc.file.url}, status=201)
    return JsonResponse({"documents": Document.objects.count()})
