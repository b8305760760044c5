"""Micro-benchmark of the envelope crypto: prints one JSON line (median of several runs).

Per algorithm: raw `sign` and `verify` per second on a typical alert payload, the cost of one
verification in microseconds, `seal` (canonical JSON + sign + envelope) and `open_envelope`
(decode + verify + parse) per second, and `open_envelope` through a `VerifyCache` that has already
seen the payload, which is what N simulated terminals in one process pay after the first. A real
terminal verifies every message itself, so a simulator figure must always be read together with
`verify_us`. `baseline_sha256_per_s` (SHA-256 of the same payload) is a measure of this machine,
taken in the same run, to compare figures between machines.

    python terminal/bench_crypto.py [--runs 5] [--seconds 0.3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import statistics
import time
from collections.abc import Callable

from ruralcast_terminal import crypto
from ruralcast_terminal.protocol import TrustedKey, TrustList, VerifyCache, canonical_json, open_envelope, seal

ALERT = {
    "kind": "alert",
    "ebm_id": "45226320000000101010101202611270001",
    "cap_id": "urn:ruralcast:45226320000000101010101:45226320000000101010101202611270001",
    "sender": "45226320000000101010101",
    "sender_name": "榕江县应急广播平台",
    "sent": "2026-11-27T12:00:00+08:00",
    "status": "Actual",
    "msg_type": "Alert",
    "references": [],
    "scope": "Public",
    "event": "11B03",
    "severity": 2,
    "urgency": "Immediate",
    "certainty": "Likely",
    "onset": "2026-11-27T12:00:00+08:00",
    "expires": "2026-11-27T18:00:00+08:00",
    "areas": ["522632000000"],
    "language": "zho",
    "title": "山洪预警",
    "text": "榕江县气象台发布山洪灾害预警，请沿河群众注意防范，及时转移到安全地带。" * 3,
    "audio": {"url": "https://example.invalid/a/1.mp3", "sha256": "0" * 64, "bytes": 28160, "mime": "audio/mpeg"},
    "volume": 80,
    "repeat": 3,
    "drill": False,
}


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second, timing batches until `seconds` have passed."""
    operation()  # warm caches (key objects, code paths)
    count, batch, started = 0, 16, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(batch):
            operation()
        count += batch
    return count / elapsed


def median_rate(operation: Callable[[], object], *, runs: int, seconds: float) -> float:
    return statistics.median(rate(operation, seconds) for _ in range(runs))


def measure(alg: str, *, runs: int, seconds: float) -> dict[str, float]:
    private = crypto.generate_private_key(alg)
    public = crypto.public_key_of(alg, private)
    serial = "202611270001"
    data = canonical_json(ALERT)
    signature = crypto.sign(alg, private, data)
    trust = TrustList([TrustedKey(serial=serial, alg=alg, public_key=public)])
    sealed = seal(ALERT, alg=alg, serial=serial, private_key=private)
    cache = VerifyCache()
    open_envelope(sealed, trust, cache=cache)

    figures = {
        "sign_per_s": median_rate(lambda: crypto.sign(alg, private, data), runs=runs, seconds=seconds),
        "verify_per_s": median_rate(lambda: crypto.verify(alg, public, data, signature), runs=runs, seconds=seconds),
        "seal_per_s": median_rate(
            lambda: seal(ALERT, alg=alg, serial=serial, private_key=private), runs=runs, seconds=seconds
        ),
        "open_per_s": median_rate(lambda: open_envelope(sealed, trust), runs=runs, seconds=seconds),
        "open_cached_per_s": median_rate(lambda: open_envelope(sealed, trust, cache=cache), runs=runs, seconds=seconds),
    }
    figures["verify_us"] = 1e6 / figures["verify_per_s"]
    return {name: round(value, 1) for name, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="duration of one run of one operation")
    args = parser.parse_args()
    data = canonical_json(ALERT)
    result = {
        "bench": "terminal.crypto",
        "python": platform.python_version(),
        "payload_bytes": len(data),
        "runs": args.runs,
        "baseline_sha256_per_s": round(
            median_rate(lambda: hashlib.sha256(data).digest(), runs=args.runs, seconds=args.seconds), 1
        ),
        **{alg: measure(alg, runs=args.runs, seconds=args.seconds) for alg in crypto.ALGORITHMS},
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
