"""The host's own row: what a worker wrote after a home visit."""

from django.db import models


class VisitNote(models.Model):
    """One visit's note, kept beside the case whose trail records the visit."""

    case_id = models.CharField(max_length=64, db_index=True)
    worker = models.CharField(max_length=64)
    text = models.TextField()
    written_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.case_id}: {self.text[:40]}"
