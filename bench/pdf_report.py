"""Turn an `amtswissen ingest --json` report into a Markdown table, file by file.

    .venv/bin/amtswissen ingest --index /tmp/pdf-index ../shared/corpus/pdfs ../shared/corpus/bgbl-pdfs --json \\
        | .venv/bin/python bench/pdf_report.py > docs/pdf-ingest-report.md
"""

import json
import sys

OUTCOME = {"added": "eingelesen", "updated": "aktualisiert", "failed": "abgelehnt", "removed": "entfernt"}

report = json.load(sys.stdin)
files = sorted(report["files"], key=lambda f: f["source"])
print("# Einlesen der Test-PDFs, Datei für Datei\n")
print(f"{report['added']} eingelesen, {len(report['failed'])} abgelehnt, {report['chunks']} Stücke eingebettet, "
      f"{report['seconds']:.0f} s (2 Kerne, mit Texterkennung).\n")
print("| Datei | Ergebnis | Hinweise |")
print("|---|---|---|")
for f in files:
    partial = f["outcome"] != "failed" and any(
        "per Texterkennung (OCR) gelesen" not in p for p in f["problems"].split("; ") if p)
    outcome = "teilweise" if partial else OUTCOME.get(f["outcome"], f["outcome"])
    print(f"| {f['source']} | {outcome} | {f['problems'].replace('|', '/') or '–'} |")
