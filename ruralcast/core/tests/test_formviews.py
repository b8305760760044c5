"""The form round trip: what the person typed survives every refusal, and the status says which."""

from typing import Any

import pytest
from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.test import RequestFactory, override_settings

from ruralcast.core.errors import ApplicationError, Conflict, PermissionDenied, ServiceUnavailable, ValidationError
from ruralcast.core.formviews import form_round_trip, form_status

PAGE = "{% for e in form.non_field_errors %}<p class=top>{{ e }}</p>{% endfor %}{{ form.as_div }}{{ found|default:'' }}"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", {"page.html": PAGE})]},
    }
]
pytestmark = pytest.mark.usefixtures("_page_template")


@pytest.fixture
def _page_template() -> Any:
    with override_settings(TEMPLATES=TEMPLATES):
        yield


class ScheduleNameForm(forms.Form):
    name = forms.CharField(max_length=20)
    volume = forms.IntegerField(min_value=0, max_value=100)


def _post(data: dict[str, str]) -> HttpRequest:
    return RequestFactory().post("/form/", data)


def _round_trip(request: HttpRequest, save: Any, **kwargs: Any) -> HttpResponse:
    form = ScheduleNameForm(request.POST or None)
    return form_round_trip(request, form, save, template="page.html", **kwargs)  # type: ignore[return-value]


def _refuse(error: ApplicationError) -> Any:
    def save(data: dict[str, Any]) -> HttpResponse:
        raise error

    return save


def test_a_service_error_answers_400_and_keeps_what_was_typed() -> None:
    error = ValidationError("名称已被使用 / the name is taken", fields={"name": ["请换一个名称"]})
    response = _round_trip(_post({"name": "古州晨间新闻", "volume": "70"}), _refuse(error))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="古州晨间新闻"' in page and 'value="70"' in page  # the input is kept
    assert "请换一个名称" in page  # shown on the field it names


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (PermissionDenied("你不能在从江县排节目"), 403),
        (Conflict("这个时段已有节目"), 409),
        (ServiceUnavailable("语音合成暂不可用"), 503),
    ],
)
def test_the_status_is_the_service_errors_own_and_the_input_stays(error: ApplicationError, status: int) -> None:
    response = _round_trip(_post({"name": "午间广播", "volume": "55"}), _refuse(error))
    assert response.status_code == status
    page = response.content.decode()
    assert f"<p class=top>{error.message}</p>" in page  # no field named: above the form
    assert 'value="午间广播"' in page and 'value="55"' in page


def test_input_the_form_refuses_answers_400_without_calling_the_service() -> None:
    called: list[dict[str, Any]] = []
    response = _round_trip(_post({"name": "晚间", "volume": "300"}), called.append)
    assert response.status_code == 400
    assert called == []
    assert 'value="晚间"' in response.content.decode()


def test_the_empty_form_answers_200() -> None:
    response = _round_trip(RequestFactory().get("/form/"), _refuse(ValidationError("never called")))
    assert response.status_code == 200
    assert 'name="name"' in response.content.decode()


def test_success_returns_the_services_response_and_gets_the_cleaned_data() -> None:
    got: list[dict[str, Any]] = []

    def save(data: dict[str, Any]) -> HttpResponse:
        got.append(data)
        return redirect("/done/")

    response = _round_trip(_post({"name": "早间", "volume": "70"}), save)
    assert response.status_code == 302 and response["Location"] == "/done/"
    assert got == [{"name": "早间", "volume": 70}]


def test_success_may_show_a_result_on_the_same_page() -> None:
    response = _round_trip(_post({"name": "早间", "volume": "70"}), lambda data: {"found": "已找到 3 条"})
    assert response.status_code == 200
    assert "已找到 3 条" in response.content.decode()


def test_error_field_puts_every_service_error_on_that_field() -> None:
    error = ValidationError("第 3 行：不是 XML", fields={"line": ["3"]})
    request = _post({"name": "导入", "volume": "1"})
    response = _round_trip(request, _refuse(error), error_field="name")
    assert response.status_code == 400
    page = response.content.decode()
    assert "第 3 行：不是 XML" in page and "<p class=top>" not in page


def test_form_status_for_filter_forms() -> None:
    assert form_status(ScheduleNameForm(None)) == 200
    assert form_status(ScheduleNameForm(QueryDict("name=a&volume=1"))) == 200
    assert form_status(ScheduleNameForm(QueryDict("name=a&volume=x"))) == 400
    assert form_status(ScheduleNameForm(None), Conflict("x")) == 409


def _with_messages(request: HttpRequest) -> HttpRequest:
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    request.session = SessionStore()
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    return request


def test_a_buttons_service_error_becomes_the_message_after_the_redirect() -> None:
    from django.contrib.messages import get_messages

    from ruralcast.core.formviews import service_errors_flashed

    request = _with_messages(RequestFactory().post("/alerts/1/approve/"))
    ran: list[str] = []
    with service_errors_flashed(request):
        ran.append("before")
        raise Conflict("这条消息刚被别人处理过")
    ran.append("after the block")  # the redirect back still happens
    assert ran == ["before", "after the block"]
    assert [str(m) for m in get_messages(request)] == ["这条消息刚被别人处理过"]


def test_other_exceptions_are_not_swallowed_by_the_button_helper() -> None:
    from ruralcast.core.formviews import service_errors_flashed

    request = _with_messages(RequestFactory().post("/x/"))
    with pytest.raises(ZeroDivisionError), service_errors_flashed(request):
        _ = 1 / 0
