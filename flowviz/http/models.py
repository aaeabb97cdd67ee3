"""The stored answers of idempotent writes (flowviz/http/idempotency.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class IdempotencyKey(models.Model):
    """The first answer to a write sent with an `Idempotency-Key`, per user and key.

    Inserted in the transaction of the write it answers: a committed write always has its
    stored answer, and a row another request can see always holds one (no "in progress" state
    is ever visible; a second request with the key waits on the unique index instead).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    key = models.TextField()
    # sha256 of the method, the path and the body: a retry must be the same request.
    fingerprint = models.TextField()
    response_status = models.PositiveSmallIntegerField(null=True)
    response_content_type = models.TextField(null=True)
    response_body = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "idempotency_keys"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_keys_user_key_uniq")]
        # The cleanup deletes by age.
        indexes = [models.Index(fields=["created_at"], name="idempotency_keys_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status})"
