"""The example shop: Django, Celery on Redis, PostgreSQL, served by gunicorn."""

from shop.celery import app as celery_app

__all__ = ["celery_app"]
