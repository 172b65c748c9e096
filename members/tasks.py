"""Celery tasks for members: thin, ids in, call a service."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from members.models import EnrollmentFile


@shared_task(
    acks_late=True,
    soft_time_limit=getattr(settings, "IMPORT_834_SOFT_TIME_LIMIT", 3600),
    time_limit=getattr(settings, "IMPORT_834_TIME_LIMIT", 3900),
)
def import_enrollment_file(enrollment_file_id: int) -> None:
    """Import a received 834 file. A second delivery finds it claimed and stops."""
    from members.services.enrollment_import import enrollment_file_import

    enrollment_file = EnrollmentFile.objects.filter(pk=enrollment_file_id).first()
    if enrollment_file is None:
        return
    if enrollment_file.status != EnrollmentFile.Status.RECEIVED:
        return
    enrollment_file_import(
        enrollment_file=enrollment_file, actor=enrollment_file.uploaded_by
    )


@shared_task
def sweep_received_enrollment_files() -> int:
    """Re-queue files received more than a minute ago and never started (their
    message was lost with a broker outage)."""
    stale = timezone.now() - timedelta(minutes=1)
    ids = list(
        EnrollmentFile.objects.filter(
            status=EnrollmentFile.Status.RECEIVED, received_at__lt=stale
        ).values_list("pk", flat=True)[:20]
    )
    for pk in ids:
        import_enrollment_file.delay(pk)
    return len(ids)
