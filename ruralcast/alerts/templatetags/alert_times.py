"""`{{ value|local_time }}`: a time in the deployment's time zone with its UTC offset (`alerts.times`)."""

from datetime import datetime

from django import template

from ruralcast.alerts.times import local_text

register = template.Library()


@register.filter
def local_time(value: datetime | None) -> str:
    return local_text(value, seconds=False)
