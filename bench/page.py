"""Latency of the search page: GET /?q=... over HTTP, p50/p95 over the dev questions.

    .venv/bin/python bench/page.py --index DIR

Starts the app with uvicorn on a free local port (model loaded once, warm-up query
first) and requests the page for each of the 60 dev questions in turn.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from amtswissen.settings import Settings  # noqa: E402
from service.api import create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index of the laws corpus")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    questions = [json.loads(line)["question"]
                 for line in (ROOT.parent / "shared/eval/dev.jsonl").read_text(encoding="utf-8").splitlines()]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(index=args.index)), port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        client.get("/", params={"q": questions[0]})
        for q in questions:
            t = time.perf_counter()
            r = client.get("/", params={"q": q})
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and 'class="result"' in r.text
    server.should_exit = True
    times.sort()
    print(f"GET /?q=… over {len(times)} questions: p50 {statistics.median(times):.0f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.0f} ms")


if __name__ == "__main__":
    main()
