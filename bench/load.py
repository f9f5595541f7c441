"""Load on the real server: concurrent searches while documents are being replaced.

    .venv/bin/python bench/load.py [--clients 32] [--seconds 60] [--index DIR]
                                   [--header NAME:VALUE ...] [--json]

1. An index in a temporary folder: ../shared/corpus/laws plus the Meldeschein PDF, built by
   `amtswissen ingest` — or, with --index, a copy of DIR (the copy is written to, DIR is not).
2. `amtswissen serve` on that index as its own process on a free loopback port, with a random
   AMTSWISSEN_API_KEY and no per-caller search limit (all clients share one address);
   ready when /api/health answers 200; one warm-up search.
3. For --seconds: --clients threads, each with its own httpx.Client, loop over the dev
   questions (../shared/eval/dev.jsonl, shuffled per client) with GET /api/search?q=…&k=10
   (plus any --header). Meanwhile one writer has uploaded copies of a few laws into the
   collection "last" (POST /api/documents) and replaces them in turn (PUT
   /api/documents/{id}), alternating the original text and the text with an appended
   paragraph "Stand: <n>", ~0.5 s apart.
4. An error is a status outside 2xx, an exception (the timeout is 30 s), or a search answer
   that is not JSON with a `results` list. Figures are printed, never asserted; the exit
   code is 1 when any error occurred, else 0. The server's stderr tail follows on errors.

Latency is per search request as the client sees it (time.perf_counter around the request,
successful searches only); requests/s is completed searches over the wall time from the
start until the last client finished (requests under way at the deadline are completed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEV = SHARED / "eval" / "dev.jsonl"
LAWS = SHARED / "corpus" / "laws"
MELDESCHEIN = SHARED / "corpus" / "pdfs" / "de_meldeschein_hinweispflichten.pdf"
AMTSWISSEN = Path(sys.executable).parent / "amtswissen"
WRITER_LAWS = ("pauswg.md", "bmg.md", "wogg.md")  # laws the dev questions ask about
COLLECTION = "last"
TIMEOUT = 30.0
PAUSE = 0.5  # seconds between two replacements


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_index(folder: Path) -> dict:
    t = time.perf_counter()
    done = subprocess.run([str(AMTSWISSEN), "ingest", "--index", str(folder), str(LAWS), str(MELDESCHEIN), "--json"],
                          check=False, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"ingest failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    print(f"index built in {time.perf_counter() - t:.0f} s: {report['added']} documents, "
          f"{report['chunks']} pieces embedded"
          + (f", failed: {report['failed']}" if report["failed"] else ""), flush=True)
    return report


def start_server(index: Path, key: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # all clients share one loopback address: the per-caller search limit is switched off here
    # (it is tested in tests/test_signin.py), or the figures would measure the limit
    env = {**os.environ, "AMTSWISSEN_API_KEY": key, "AMTSWISSEN_SEARCH_PER_MINUTE": "0"}
    with open(log, "wb") as err:  # the child keeps its own handle
        server = subprocess.Popen([str(AMTSWISSEN), "serve", "--index", str(index), "--port", str(port)],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    return server, f"http://127.0.0.1:{port}"


def wait_healthy(server: subprocess.Popen, base: str, log: Path, limit: float = 180) -> dict:
    t = time.perf_counter()
    while time.perf_counter() - t < limit:
        if server.poll() is not None:
            sys.exit(f"the server ended with {server.returncode} before it was ready:\n{tail(log)}")
        try:
            r = httpx.get(f"{base}/api/health", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"/api/health did not answer 200 within {limit:.0f} s:\n{tail(log)}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def tail(log: Path, lines: int = 60) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no stderr file)"


def error_kind(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    return f"exception ({type(exc).__name__})"


class Tally:
    """What the clients saw; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.examples: dict[str, str] = {}  # the first message of each error kind

    def ok(self, ms: float) -> None:
        with self.lock:
            self.latencies.append(ms)

    def error(self, kind: str, example: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.examples.setdefault(kind, example[:500])


def search_client(base: str, questions: list[str], headers: dict[str, str], seed: int, deadline: float,
                  stop: threading.Event, tally: Tally) -> None:
    order = questions[:]
    random.Random(seed).shuffle(order)
    with httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT) as client:
        i = 0
        while time.perf_counter() < deadline and not stop.is_set():
            q = order[i % len(order)]
            i += 1
            t = time.perf_counter()
            try:
                r = client.get("/api/search", params={"q": q, "k": 10})
                body = r.content
                ms = 1000 * (time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001 - every failure is a figure, not a crash
                tally.error(error_kind(exc), f"{q!r}: {exc!r}")
                continue
            if not 200 <= r.status_code < 300:
                tally.error(f"HTTP {r.status_code}", f"{q!r}: {body[:300]!r}")
                continue
            try:
                data = json.loads(body)
            except ValueError:
                tally.error("not JSON", f"{q!r}: {body[:300]!r}")
                continue
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                tally.error("no results list", f"{q!r}: {body[:300]!r}")
                continue
            tally.ok(ms)


class Writer:
    """Uploads copies of a few laws once, then replaces them in turn until the deadline."""

    def __init__(self, base: str, key: str, laws: list[str]) -> None:
        self.base, self.key = base, key
        self.texts = {name: (LAWS / name).read_bytes() for name in laws}
        self.ids: dict[str, str] = {}
        self.done = 0
        self.failed: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.latencies: list[float] = []

    def _fail(self, kind: str, example: str) -> None:
        self.failed[kind] += 1
        self.examples.setdefault(kind, example[:500])

    def _send(self, client: httpx.Client, method: str, url: str, name: str, content: bytes,
              data: dict | None = None) -> dict | None:
        t = time.perf_counter()
        try:
            r = client.request(method, url, files={"file": (name, content, "text/markdown")}, data=data)
        except Exception as exc:  # noqa: BLE001
            self._fail(error_kind(exc), f"{method} {name}: {exc!r}")
            return None
        ms = 1000 * (time.perf_counter() - t)
        if not 200 <= r.status_code < 300:
            self._fail(f"HTTP {r.status_code}", f"{method} {name}: {r.content[:300]!r}")
            return None
        try:
            body = r.json()
        except ValueError:
            self._fail("not JSON", f"{method} {name}: {r.content[:300]!r}")
            return None
        self.latencies.append(ms)
        return body

    def upload(self) -> None:
        with httpx.Client(base_url=self.base, headers={"X-API-Key": self.key}, timeout=TIMEOUT) as client:
            for name, text in self.texts.items():
                body = self._send(client, "POST", "/api/documents", name, text, {"collection": COLLECTION})
                if body and body.get("id"):
                    self.ids[name] = body["id"]
        self.latencies.clear()  # the figures are of replacements

    def run(self, deadline: float, stop: threading.Event) -> None:
        if not self.ids:
            return
        names = list(self.ids)
        n = 0
        with httpx.Client(base_url=self.base, headers={"X-API-Key": self.key}, timeout=TIMEOUT) as client:
            while time.perf_counter() < deadline and not stop.is_set():
                name = names[n % len(names)]
                rounds = n // len(names)  # each document alternates: original, with "Stand", original, …
                n += 1
                content = self.texts[name]
                if rounds % 2 == 0:
                    content += f"\n\nStand: {n}\n".encode()
                if self._send(client, "PUT", f"/api/documents/{self.ids[name]}", name, content) is not None:
                    self.done += 1
                stop.wait(min(PAUSE, max(0.0, deadline - time.perf_counter())))


def percentiles(ms: list[float]) -> dict[str, float | None]:
    if len(ms) < 2:
        one = ms[0] if ms else None
        return {"p50": one, "p95": one, "p99": one, "max": one}
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98], "max": max(ms)}


def header(value: str) -> tuple[str, str]:
    name, sep, val = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME:VALUE, got {value!r}")
    return name.strip(), val.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent search clients (default 32)")
    parser.add_argument("--seconds", type=float, default=60, help="duration of the load (default 60)")
    parser.add_argument("--index", type=Path, help="reuse this index (a copy is used) instead of building one")
    parser.add_argument("--header", type=header, action="append", default=[], metavar="NAME:VALUE",
                        help="added to every search request (repeatable)")
    parser.add_argument("--laws", nargs="+", default=list(WRITER_LAWS), metavar="FILE.md",
                        help=f"laws of the corpus the writer replaces (default {' '.join(WRITER_LAWS)})")
    parser.add_argument("--no-writer", action="store_true",
                        help="searches only, no replacements (the baseline to compare with)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object too")
    args = parser.parse_args()
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients must be ≥ 1 and --seconds > 0")
    for name in args.laws:
        if not (LAWS / name).is_file():
            parser.error(f"no law {name} in {LAWS}")
    questions = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]

    work = Path(tempfile.mkdtemp(prefix="amtswissen-load-"))
    log = work / "server-stderr.log"
    server = None
    stop = threading.Event()
    try:
        index = work / "index"
        if args.index:
            shutil.copytree(args.index, index, ignore=shutil.ignore_patterns("ingest.lock"))
        else:
            build_index(index)
        key = secrets.token_urlsafe(24)
        server, base = start_server(index, key, log)
        t = time.perf_counter()
        health = wait_healthy(server, base, log)
        print(f"server up in {time.perf_counter() - t:.1f} s at {base}: {health['documents']} documents, "
              f"{health['chunks']} passages", flush=True)
        headers = dict(args.header)
        warm = httpx.get(f"{base}/api/search", params={"q": questions[0], "k": 10}, headers=headers, timeout=TIMEOUT)
        if warm.status_code != 200:
            print(f"warning: warm-up search answered {warm.status_code}: {warm.text[:300]}", file=sys.stderr)

        writer = Writer(base, key, args.laws)
        writer.upload()
        print(f"writer: {len(writer.ids)} of {len(args.laws)} laws uploaded to collection {COLLECTION!r}", flush=True)

        tally = Tally()
        start = time.perf_counter()
        deadline = start + args.seconds
        threads = [threading.Thread(target=search_client, daemon=True, name=f"client-{i}",
                                    args=(base, questions, headers, i, deadline, stop, tally))
                   for i in range(args.clients)]
        if not args.no_writer:
            threads.append(threading.Thread(target=writer.run, args=(deadline, stop), daemon=True, name="writer"))
        for th in threads:
            th.start()
        for th in threads:  # a request under way at the deadline ends within the timeout
            th.join(timeout=max(0.0, deadline - time.perf_counter()) + TIMEOUT + 5)
        elapsed = time.perf_counter() - start
        stop.set()
        hanging = [th.name for th in threads if th.is_alive()]
        if hanging:
            tally.error("client hung", ", ".join(hanging))
        if server.poll() is not None:
            tally.error("server ended", f"exit code {server.returncode}")
    except KeyboardInterrupt:
        stop.set()
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        stop.set()
        if server is not None:
            stop_server(server)
        stderr_tail = tail(log)
        shutil.rmtree(work, ignore_errors=True)

    searches = len(tally.latencies) + sum(tally.errors.values())
    lat = percentiles(tally.latencies)
    rep = percentiles(writer.latencies)
    errors = sum(tally.errors.values()) + sum(writer.failed.values())
    figures = {
        "clients": args.clients, "seconds": args.seconds, "elapsed_s": round(elapsed, 2),
        "documents": health["documents"], "passages": health["chunks"],
        "search_requests": searches, "search_ok": len(tally.latencies),
        "search_errors": sum(tally.errors.values()), "search_errors_by_kind": dict(tally.errors),
        "requests_per_s": round(searches / elapsed, 2),
        "latency_ms": {k: None if v is None else round(v, 1) for k, v in lat.items()},
        "replacements_done": writer.done, "replacements_failed": sum(writer.failed.values()),
        "replacement_errors_by_kind": dict(writer.failed),
        "replacement_ms": {k: None if v is None else round(v, 1) for k, v in rep.items()},
        "headers": sorted(headers), "errors": errors,
    }
    fmt = lambda v: "–" if v is None else f"{v:.0f}"
    kinds = lambda c: ", ".join(f"{k} × {n}" for k, n in c.most_common()) or "none"
    print(f"\n| figure | value |\n|---|---|\n"
          f"| clients | {args.clients} |\n"
          f"| seconds (set / measured) | {args.seconds:g} / {elapsed:.1f} |\n"
          f"| index | {health['documents']} documents, {health['chunks']} passages |\n"
          f"| search requests | {searches} ({len(tally.latencies)} ok) |\n"
          f"| search errors | {sum(tally.errors.values())}: {kinds(tally.errors)} |\n"
          f"| requests/s | {searches / elapsed:.1f} |\n"
          f"| latency p50 / p95 / p99 / max (ms) | {fmt(lat['p50'])} / {fmt(lat['p95'])} / {fmt(lat['p99'])}"
          f" / {fmt(lat['max'])} |\n"
          f"| replacements done / failed | {writer.done} / {sum(writer.failed.values())}"
          f" ({kinds(writer.failed)}) |\n"
          f"| replacement p50 / max (ms) | {fmt(rep['p50'])} / {fmt(rep['max'])} |")
    if errors:
        print("\nfirst error of each kind:")
        for kind, example in {**tally.examples, **{f"replace: {k}": v for k, v in writer.examples.items()}}.items():
            print(f"  {kind}: {example}")
        print(f"\nserver stderr (tail):\n{stderr_tail}")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
