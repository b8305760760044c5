"""Benchmark: what a playlist change costs to publish, against a slot change of the same county.

On a fresh SQLite file (or a throwaway PostgreSQL database with BENCH_POSTGRES_URL), Guizhou imported, one terminal in every village of
榕江县 and a county schedule over the whole county playing an item at 07:00 and a playlist of
`--items` items at 19:00. Reports medians over `--repeat` runs of:
- playlist_write_ms: `playlist_item_move` (the write and the before/after comparison of every
  village's next 3 days, which finds them all changed);
- slot_write_ms: the baseline, `slot_update` moving the item slot by a minute (the same comparison);
- build_ms: the outbox handler building the documents of every terminal after a change (each
  document: 3 days of the item and of the block expanded into one entry per item), and per document;
and the ratio of the writes. Prints one JSON line and appends it to docs/benchmarks.md.
"""

import argparse
import hashlib
import sys
import time
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_django, median, record

COUNTY = "522632000000"  # 榕江县


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--items", type=int, default=8, help="items in the playlist")
    args = parser.parse_args()

    with bench_django("playlists") as workdir:
        run(args, workdir)


def run(args: argparse.Namespace, workdir: Path) -> None:
    from django.db import connection

    from ruralcast.accounts.demo import demo_users_create
    from ruralcast.accounts.models import User
    from ruralcast.broadcasting.models import ProgrammeItem, ScheduleChange, Source
    from ruralcast.broadcasting.services import (
        OUTBOX_PUBLISH,
        SlotFields,
        playlist_create,
        playlist_item_move,
        playlist_items_set,
        schedule_create,
        slot_create,
        slot_update,
    )
    from ruralcast.messaging.handlers import outbox_handler
    from ruralcast.regions.codes import Level, subtree_q
    from ruralcast.regions.models import Region
    from ruralcast.regions.services import regions_import
    from ruralcast.terminals.services import terminal_register

    regions_import(province="52")
    demo_users_create(reset_passwords=False)
    actor = User.objects.get(username="rongjiang-operator")
    county = Region.objects.get(code=COUNTY)
    villages = list(Region.objects.filter(subtree_q(county.prefix, "code"), level=Level.VILLAGE))
    for village in villages:
        terminal_register(actor=None, village=village)

    def item(title: str, seconds: float) -> ProgrammeItem:
        digest = hashlib.sha256(title.encode()).hexdigest()
        return ProgrammeItem.objects.create(
            title=title, owner_region=county, source=Source.UPLOAD, audio_name=f"programme/audio/{digest}.mp3",
            audio_sha256=digest, audio_bytes=int(seconds * 4000), audio_seconds=seconds,
        )  # fmt: skip

    items = [item(f"item {n}", 60 + n) for n in range(args.items)]
    playlist = playlist_items_set(
        actor=actor, playlist=playlist_create(actor=actor, owner_region=county, name="bench"), items=items
    )
    schedule = schedule_create(actor=actor, owner_region=county, target_region=county, name="bench")
    single = slot_create(actor=actor, schedule=schedule, fields=SlotFields(clock(7), item=item("news", 300)))
    slot_create(actor=actor, schedule=schedule, fields=SlotFields(clock(19), playlist=playlist))
    handler = outbox_handler(OUTBOX_PUBLISH)
    assert handler is not None

    def timed_build() -> tuple[float, int]:
        change = ScheduleChange.objects.latest("id")
        started = time.perf_counter()
        built = handler.build(str(change.pk))
        return (time.perf_counter() - started) * 1000, len(built)

    playlist_write, slot_write, build = [], [], []
    for run in range(args.repeat):
        started = time.perf_counter()
        playlist_item_move(actor=actor, playlist=playlist, position=0, offset=1)
        playlist_write.append((time.perf_counter() - started) * 1000)
        elapsed, documents = timed_build()
        assert documents == len(villages), documents
        build.append(elapsed)

        started = time.perf_counter()
        slot_update(actor=actor, slot=single, fields=SlotFields(clock(7, 1 + run % 2), item=single.item))
        slot_write.append((time.perf_counter() - started) * 1000)
        elapsed, documents = timed_build()
        assert documents == len(villages), documents
        build.append(elapsed)

    record(
        "playlists",
        {
            "database": connection.vendor,
            "villages": len(villages),
            "terminals": len(villages),
            "playlist_items": args.items,
            "repeat": args.repeat,
            "playlist_write_ms": median(playlist_write),
            "slot_write_ms": median(slot_write),
            "playlist_vs_slot_write": round(median(playlist_write) / median(slot_write), 2),
            "build_ms": median(build),
            "build_per_document_ms": round(median(build) / len(villages), 3),
        },
    )


if __name__ == "__main__":
    main()
