"""Background tasks of the media app (django-tasks; `manage.py db_worker` runs them)."""

from django_tasks import task

from ruralcast.media.pipeline import job_run


@task()
def media_job_run(job_id: int) -> None:
    """Run one media job (transcode or replay); its progress and outcome are on the Job row."""
    job_run(job_id)
