"""A kiosk's submission of 10 pages to a real hub, until acknowledged (issue 15, item 5).

    python -m bench.submission_bench [--runs 20] [--backends sqlite,postgresql] [--stores disk,s3]

The pages are what the kiosk sends: generated photographs of A4 pages at 1920×1080 (tests/support/documents.py),
found and corrected by ``kiosk.documents.vision`` (1240×1754) and encoded by ``encode_page`` (JPEG 85, ~0.3-0.5 MB
each). Every run spools a new submission (``Spool.create``, timed apart) and sends it with the kiosk's own
``Uploader`` to a real ``hall-hub serve`` on localhost: open the case, 10 multipart page uploads (each checked by
the hub: size, SHA-256, a decodable image, then kept and fsynced), submit. Each run's pages differ (a JPEG comment
carries the run's number), so content addressing never skips one. The page store is the disk (default) or, with
``s3``, a bucket of a real S3-compatible server (moto's, on this machine: the figure shows our side's cost, not a
remote store's network).
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import contract as wire
from hub.archive.s3 import SECRET_VARIABLE
from kiosk.documents import vision
from kiosk.documents.spool import Page, Spool
from kiosk.documents.uploader import Credentials, Uploader
from tests.support import documents, postgres, s3
from tests.support.hub_process import HubProcess

PAGES = 10
SIZE = (1920, 1080)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def corrected_pages(count: int) -> list[bytes]:
    """``count`` A4 pages as the kiosk captures them: found in a 1080p photograph, corrected, JPEG-encoded."""
    found: list[bytes] = []
    seed = 300
    while len(found) < count:
        photo = documents.photograph(seed, size=SIZE)
        seed += 1
        verdict = vision.analyse(photo.frame)
        if photo.shape == wire.PageShape.A4 and verdict.ok and verdict.corners is not None:
            found.append(vision.encode_page(vision.correct(photo.frame, verdict.corners, photo.shape)))
    return found


def marked(jpeg: bytes, run: int) -> bytes:
    """The same JPEG with a comment segment (``FF FE``) naming the run: other bytes, the same image."""
    comment = f"run {run}".encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


@contextmanager
def hub_on(directory: Path, backend: str, store: str) -> Iterator[tuple[HubProcess, Credentials]]:
    with ExitStack() as stack:
        url = None if backend == "sqlite" else stack.enter_context(postgres.session_database("submission"))
        hub = HubProcess(directory, db_url=url)
        hub.env["HALL_ARCHIVE_DIRECTORY"] = str(directory / "archive")
        if store == "s3":
            server = stack.enter_context(s3.s3_server())
            hub.env |= {
                "HALL_ARCHIVE_STORE": "s3", "HALL_ARCHIVE_S3_ENDPOINT": server.endpoint,
                "HALL_ARCHIVE_S3_BUCKET": server.make_bucket(), "HALL_ARCHIVE_S3_ACCESS_KEY_ID": s3.ACCESS_KEY_ID,
                SECRET_VARIABLE: s3.SECRET_ACCESS_KEY,
            }  # fmt: skip
        kiosk = hub.provision("centre", "kiosk")
        stack.callback(hub.stop)
        hub.start()
        yield hub, Credentials(kiosk.device_id, kiosk.password)


def run(backend: str, store: str, pages: list[bytes], runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder, hub_on(Path(folder), backend, store) as (hub, credentials):
        spool = Spool(Path(folder) / "spool")
        uploader = Uploader(spool, f"http://127.0.0.1:{hub.http_port}", credentials, site="centre", attempts=1)
        spooling, sending = [], []
        for number in range(runs + 1):  # the first: warm-up
            began = time.perf_counter()
            manifest = spool.create(
                site="centre", matter="B01", materials=(wire.CaseMaterial(material=0),),
                pages=[Page(0, index + 1, marked(data, number)) for index, data in enumerate(pages)],
            )  # fmt: skip
            spooled = time.perf_counter()
            receipt = uploader.send(manifest.submission_id)
            done = time.perf_counter()
            assert receipt.state == wire.CaseState.SUBMITTED and not receipt.missing, receipt
            if number:
                spooling.append((spooled - began) * 1000)
                sending.append((done - spooled) * 1000)
        defects = hub.log_defects()
        assert not defects, defects
    median, p95 = statistics.median(sending), percentile(sending, 0.95)
    print(f"  {backend:10} {store:4}  spool {statistics.median(spooling):6.1f} ms   send → acknowledged  "
          f"median {median:6.1f} ms  p95 {p95:6.1f} ms  max {max(sending):6.1f} ms", flush=True)  # fmt: skip
    return median, p95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.submission_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--stores", default="disk,s3")
    args = parser.parse_args(argv)
    pages = corrected_pages(PAGES)
    size = sum(len(page) for page in pages)
    print(f"a submission of {PAGES} corrected A4 pages ({size / 1e6:.1f} MB), {args.runs} runs each:", flush=True)
    for backend in args.backends.split(","):
        for store in args.stores.split(","):
            run(backend, store, pages, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
