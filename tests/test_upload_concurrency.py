"""Concurrent uploads of the same file name: every request becomes a complete version or
fails cleanly, and the stored, served and indexed original is always one whole upload."""

import threading

import httpx

from service.api import create_app
from tests.conftest import API_KEY, api_settings, served

ROUNDS, CLIENTS = 3, 6


def _payload(round_: int, i: int) -> bytes:
    # 4 MB each, mostly blank lines (cheap to index), with a marker at head and tail
    head = f"# Rennen\n\nFassung {round_}-{i}: Fundsachen werden {i + 1} Wochen aufbewahrt.\n\n"
    tail = f"\n\nSchluss der Fassung {round_}-{i}.\n"
    return (head + "\n" * (4_000_000 - len(head) - len(tail)) + tail).encode()


def test_parallel_uploads_of_one_name_never_mix(tmp_path, embedder):
    settings = api_settings(tmp_path, embedder, tenant_parallel_writes=CLIENTS)  # all at once, on purpose
    with served(create_app(settings, embedder)) as base:
        for round_ in range(ROUNDS):
            payloads = [_payload(round_, i) for i in range(CLIENTS)]
            statuses: list[int] = []
            barrier = threading.Barrier(CLIENTS)

            def send(data: bytes) -> None:
                barrier.wait()
                r = httpx.post(f"{base}/api/documents", files={"file": ("rennen.md", data)},
                               data={"collection": "lauf"}, headers={"X-API-Key": API_KEY}, timeout=300)
                statuses.append(r.status_code)

            threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert statuses == [201] * CLIENTS, statuses

            docs = [d for d in httpx.get(f"{base}/api/documents").json()["documents"] if d["source"] == "rennen.md"]
            assert len(docs) == 1
            stored = httpx.get(f"{base}{docs[0]['url']}").content
            assert stored in payloads  # byte for byte one of the uploads, never head of one + tail of another
            winner = payloads.index(stored)
            hits = httpx.get(f"{base}/api/search", params={"q": "Fundsachen Wochen aufbewahrt Fassung", "k": 3,
                                                           "collection": "lauf"}).json()["results"]
            assert f"Fassung {round_}-{winner}:" in hits[0]["text"]  # what answers is what is stored
        assert not list((settings.index / ".staging").glob("*"))  # nothing of any request left behind
