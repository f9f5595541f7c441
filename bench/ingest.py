"""Full ingest of the laws corpus against re-ingest after one changed law, side by side.

    .venv/bin/python bench/ingest.py [--work DIR]

Copies ../shared/corpus/laws to a scratch folder, ingests it into a fresh index,
then edits one paragraph of one law and ingests again (three times, a different
law each time), and once with nothing changed. Prints seconds and pieces embedded.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtswissen.settings import Settings  # noqa: E402
from ingest.pipeline import ingest  # noqa: E402
from index.local import IndexStore  # noqa: E402
from models.embedder import Embedder  # noqa: E402

LAWS = ROOT.parent / "shared" / "corpus" / "laws"
EDITS = ["bmg.md", "pauswg.md", "wogg.md"]


def timed(folder: Path, store: IndexStore, embedder: Embedder, settings: Settings) -> tuple[float, dict]:
    t = time.perf_counter()
    report = ingest([folder], store, embedder, sizes=settings.chunk_sizes(), progress=False)
    return time.perf_counter() - t, report.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    work = args.work or Path(tempfile.mkdtemp(prefix="amtswissen-bench-"))
    folder, index = work / "laws", work / "index"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(LAWS, folder)
    for f in folder.iterdir():
        f.chmod(0o644)
    settings = Settings()
    embedder = settings.embedder()
    store = IndexStore(index)

    full_s, full = timed(folder, store, embedder, settings)
    print(f"full ingest: {full_s:.1f} s, {full['added']} documents, {full['chunks']} pieces embedded")
    changed = []
    for name in EDITS:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        # one sentence added to the first numbered paragraph of the law
        edited = re.sub(r"\(1\) ", "(1) Diese Vorschrift wurde zu Testzwecken geändert. ", text, count=1)
        path.write_text(edited, encoding="utf-8")
        seconds, r = timed(folder, store, embedder, settings)
        changed.append(seconds)
        print(f"re-ingest after editing {name}: {seconds:.1f} s, updated {r['updated']}, "
              f"unchanged {r['unchanged']}, {r['chunks']} pieces embedded")
    same_s, same = timed(folder, store, embedder, settings)
    print(f"re-ingest, nothing changed: {same_s:.1f} s, unchanged {same['unchanged']}")
    median = statistics.median(changed)
    print(f"\nmedian re-ingest after one changed law: {median:.1f} s = 1/{full_s / median:.0f} of the full ingest "
          f"({full_s:.0f} s)")
    store.close()
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
