"""Orders and uploaded documents. The schema grows release by release (``release.json``'s
``schema``): 1 the first tables, 2 adds ``note`` (additive), 3 adds ``customer_email`` and
backfills it (the expand step), 4 drops ``customer`` (the contract step)."""

from __future__ import annotations

from django.db import models
from shop.release import SCHEMA


class Order(models.Model):
    if SCHEMA < 4:
        customer = models.CharField(max_length=100)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    created = models.DateTimeField(auto_now_add=True)
    if SCHEMA >= 2:
        note = models.TextField(null=True, blank=True)
    if SCHEMA >= 3:
        customer_email = models.EmailField(null=True, blank=True)


class Document(models.Model):
    file = models.FileField(upload_to="documents/")
    uploaded = models.DateTimeField(auto_now_add=True)
