"""What villagers add to the portal through its registry: the TV's pairing screen (/portal/pair/)
and the phone's own pages (/portal/me/), and the home bar's links to them (a screen already paired
is not offered pairing again). Registered from `VillagersConfig.ready()`."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy

from ruralcast.core.registries.portal import BarLink, Pages, Screen
from ruralcast.villagers import portal_views


def _not_paired(screen: Screen) -> bool:
    return not screen.paired


BAR_LINKS = [
    BarLink(
        "villagers.pair",
        gettext_lazy("Pair this screen"),
        url=lambda: reverse("portal-pair:screen"),
        order=10,
        shown=_not_paired,
    ),
    BarLink("villagers.me", gettext_lazy("Me"), url=lambda: reverse("portal-me:home"), order=20),
]

PAGES = [
    Pages(
        "pair",
        patterns=[
            path("", portal_views.pair_screen, name="screen"),
            path("status/", portal_views.pair_status, name="status"),
        ],
    ),
    Pages(
        "me",
        patterns=[
            path("", portal_views.me_home, name="home"),
            path("notice/", portal_views.notice, name="notice"),
            path("sign-in/", portal_views.sign_in, name="sign_in"),
            path("sign-in/code/", portal_views.sign_in_code, name="sign_in_code"),
            path("sign-out/", portal_views.sign_out, name="sign_out"),
            path("pair/", portal_views.phone_pair, name="pair"),
            path("household/", portal_views.household, name="household"),
            path("members/", portal_views.member_add, name="member_add"),
            path("my-data.json", portal_views.export, name="export"),
            path("delete/", portal_views.delete, name="delete"),
            path("consents/<int:pk>/withdraw/", portal_views.consent_withdraw, name="consent_withdraw"),
        ],
    ),
]
