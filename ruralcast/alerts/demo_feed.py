"""A DEMO STAND-IN for an outside alerting authority: the "榕江县气象台" CAP feed of `make run`.

Not a real meteorological bureau, and nothing it serves is a real warning. A county platform
subscribes to the CAP feeds of the authorities of its area (issue 15 item 8, `alerts.feeds`); the
demo has no such authority to talk to, so this tiny stdlib HTTP server (the Procfile's `demofeed`
process) plays one on a local port, and demo_setup registers a subscription to it for the demo
county. The feed poller (`manage.py feeds_poll`, the Procfile's `feeds`) then turns its messages
into drafts for the county's approvers, as it would with a real bureau's feed.

It serves an Atom index (`/feed.atom`) of four CAP 1.2 messages (`/cap/<batch>/<n>.xml`), all
drills (status Exercise), in the order a bureau would send them:
1. a rainstorm blue warning for 古州镇;
2. its Update: upgraded to yellow, for 古州镇 and 忠诚镇;
3. a lightning yellow warning for the whole county, in Chinese and English (two `<info>` blocks);
4. the Cancel of the lightning warning.
`<batch>` is the minute the server started: each start issues a fresh set (new identifiers), and a
message's `sent` is fixed by its batch (minutes before the start), so the Update's and the Cancel's
`<references>` name exactly what the poller read earlier. `<expires>` is recomputed at each request
(six hours from now), so the messages are never stale whenever they are fetched.

Standard library only (it needs no Django): `python -m ruralcast.alerts.demo_feed --port 18840`.
"""

import argparse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

DEFAULT_PORT = 18840
SENDER = "demo-qx@rongjiang.example"
SENDER_NAME = "榕江县气象台（演示替身）"
SENDER_NAME_EN = "Rongjiang County Meteorological Bureau (demo stand-in)"
NOTE = "DEMO STAND-IN for an outside authority (ruralcast make run): not a real warning."
BEIJING = ZoneInfo("Asia/Shanghai")
GUZHOU, ZHONGCHENG, COUNTY = "522632100000", "522632101000", "522632000000"


def demo_feed_url(port: int = DEFAULT_PORT) -> str:
    """The index URL demo_setup subscribes the demo county to."""
    return f"http://127.0.0.1:{port}/feed.atom"


def _t(moment: datetime) -> str:
    return moment.astimezone(BEIJING).replace(microsecond=0).isoformat()


def _batch_time(batch: str) -> datetime:
    return datetime.strptime(batch, "%Y%m%d%H%M").replace(tzinfo=UTC)


def _info(
    *,
    language: str,
    event: str,
    severity: str,
    headline: str,
    description: str,
    instruction: str,
    areas: list[tuple[str, str]],
    expires: datetime,
    sender_name: str,
) -> str:
    area_xml = "".join(
        f"<area><areaDesc>{escape(name)}</areaDesc>"
        f"<geocode><valueName>GB/T 2260</valueName><value>{code}</value></geocode></area>"
        for name, code in areas
    )
    return (
        f"<info><language>{language}</language><category>Met</category><event>{escape(event)}</event>"
        f"<urgency>Expected</urgency><severity>{severity}</severity><certainty>Likely</certainty>"
        f"<expires>{_t(expires)}</expires><senderName>{escape(sender_name)}</senderName>"
        f"<headline>{escape(headline)}</headline><description>{escape(description)}</description>"
        f"<instruction>{escape(instruction)}</instruction>{area_xml}</info>"
    )


# n → (minutes before the batch it was sent, msgType, referenced n)
MESSAGES: dict[int, tuple[int, str, int | None]] = {1: (50, "Alert", None), 2: (20, "Update", 1)}
MESSAGES |= {3: (40, "Alert", None), 4: (10, "Cancel", 3)}


def _identifier(batch: str, number: int) -> str:
    return f"demo-rjqx-{batch}-{number}"


def _sent(batch: str, number: int) -> datetime:
    return _batch_time(batch) - timedelta(minutes=MESSAGES[number][0])


def cap_message(batch: str, number: int, *, now: datetime | None = None) -> bytes:
    """CAP 1.2 message `number` (1–4) of `batch` (see the module docstring)."""
    _minutes, msg_type, referenced = MESSAGES[number]
    expires = (now or datetime.now(UTC)) + timedelta(hours=6)
    references = (
        f"<references>{SENDER},{_identifier(batch, referenced)},{_t(_sent(batch, referenced))}</references>"
        if referenced
        else ""
    )
    guzhou = [("古州镇", GUZHOU)]
    if number == 1:
        infos = _info(
            language="zh-CN",
            event="暴雨",
            severity="Minor",
            headline="暴雨蓝色预警（演练）",
            description="预计未来12小时内古州镇将出现50毫米以上降雨。（演示替身发布，不是真实预警）",
            instruction="请注意防范，远离河道和低洼地带。",
            areas=guzhou,
            expires=expires,
            sender_name=SENDER_NAME,
        )
    elif number == 2:
        infos = _info(
            language="zh-CN",
            event="暴雨",
            severity="Moderate",
            headline="暴雨黄色预警（演练）",
            description="暴雨蓝色预警升级为黄色：预计未来6小时内古州镇、忠诚镇将出现50毫米以上降雨，局地可达100毫米。"
            "（演示替身发布，不是真实预警）",
            instruction="沿河、沿沟群众请做好转移准备。",
            areas=[*guzhou, ("忠诚镇", ZHONGCHENG)],
            expires=expires,
            sender_name=SENDER_NAME,
        )
    elif number == 3:
        common: dict[str, Any] = {"severity": "Moderate", "areas": [("榕江县", COUNTY)], "expires": expires}
        infos = _info(
            language="zh-CN",
            event="雷电",
            headline="雷电黄色预警（演练）",
            description="未来6小时内榕江县将出现雷电活动，并伴有短时强降水和大风。（演示替身发布，不是真实预警）",
            instruction="请勿在树下、田间避雨，暂停户外作业。",
            sender_name=SENDER_NAME,
            **common,
        ) + _info(
            language="en-US",
            event="Lightning",
            headline="Lightning warning, yellow (exercise)",
            description="Lightning with short heavy showers and gusts is expected over Rongjiang county in the next "
            "six hours. (Issued by a demo stand-in: not a real warning.)",
            instruction="Do not shelter under trees or in open fields; stop outdoor work.",
            sender_name=SENDER_NAME_EN,
            **common,
        )
    else:
        infos = _info(
            language="zh-CN",
            event="雷电",
            severity="Moderate",
            headline="解除雷电黄色预警（演练）",
            description="雷电活动已减弱，榕江县气象台解除雷电黄色预警。（演示替身发布，不是真实预警）",
            instruction="恢复正常生产生活。",
            areas=[("榕江县", COUNTY)],
            expires=expires,
            sender_name=SENDER_NAME,
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{_identifier(batch, number)}</identifier><sender>{SENDER}</sender>"
        f"<sent>{_t(_sent(batch, number))}</sent><status>Exercise</status><msgType>{msg_type}</msgType>"
        f"<scope>Public</scope><note>{escape(NOTE)}</note>{references}{infos}</alert>"
    ).encode()


def atom_index(batch: str, *, now: datetime | None = None) -> bytes:
    """The Atom index of the batch's messages, newest first (as feeds list them)."""
    updated = _t(now or datetime.now(UTC))
    entries = "".join(
        f"<entry><id>urn:demo-rjqx:{_identifier(batch, n)}</id><title>{_identifier(batch, n)}</title>"
        f"<updated>{_t(_sent(batch, n))}</updated>"
        f'<link rel="alternate" type="application/cap+xml" href="/cap/{batch}/{n}.xml"/></entry>'
        for n in sorted(MESSAGES, key=lambda n: MESSAGES[n][0])
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>urn:demo-rjqx:feed</id><title>{escape(SENDER_NAME)}</title>"
        f"<subtitle>{escape(NOTE)}</subtitle><updated>{updated}</updated>{entries}</feed>"
    ).encode()


def make_server(port: int, *, host: str = "127.0.0.1", batch: str | None = None) -> ThreadingHTTPServer:
    """The demo feed's HTTP server (not started). `batch`: the set it lists (default: this minute)."""
    listed = batch or datetime.now(UTC).strftime("%Y%m%d%H%M")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            body, kind = None, "application/cap+xml"
            if parts == ["feed.atom"]:
                body, kind = atom_index(listed), "application/atom+xml"
            elif len(parts) == 3 and parts[0] == "cap" and parts[1].isdigit() and len(parts[1]) == 12:
                number = parts[2].removesuffix(".xml")
                if number.isdigit() and int(number) in MESSAGES:
                    body = cap_message(parts[1], int(number))
            elif parts == [""]:
                body, kind = f"{NOTE}\nIndex: /feed.atom\n".encode(), "text/plain; charset=utf-8"
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = make_server(args.port, host=args.host)
    print(f"demo CAP feed (a stand-in for an outside authority): {demo_feed_url(args.port)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
