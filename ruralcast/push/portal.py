"""What the push service adds to the portal through its registry: the emergency overlay's fallback
poll, `GET /portal/push/poll` (namespace `portal-push`). Registered from `PushConfig.ready()`."""

from django.urls import path

from ruralcast.core.registries.portal import Pages
from ruralcast.push import views

PAGES = Pages("push", patterns=[path("poll", views.poll, name="poll")])
