"""Where to join two wordings of a question in the officers' queue (feedback/service.py
GROUP_COSINE): cosines of the e5 query vectors of hand-written pairs, the same question
in other words against different questions in the same frame.

    .venv/bin/python bench/group_questions.py
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amtswissen.settings import Settings  # noqa: E402
from feedback.service import GROUP_COSINE  # noqa: E402

SAME = [("Perso verloren, was tun?", "Personalausweis verloren was muss ich machen"),
        ("Wie lange ist ein Reisepass gültig?", "Gültigkeit Reisepass wie lange"),
        ("Was kostet ein Personalausweis?", "Gebühr Personalausweis"),
        ("Hundesteuer ermäßigen", "Ermäßigung der Hundesteuer beantragen"),
        ("Wo melde ich mein Gewerbe an?", "Gewerbeanmeldung wo"),
        ("Brauche ich eine Wohnungsgeberbestätigung?", "Wohnungsgeberbestätigung nötig?"),
        ("Kann ich den Ausweis online beantragen?", "Personalausweis online beantragen möglich?"),
        ("Wie beantrage ich Wohngeld?", "Wohngeld Antrag stellen wie"),
        ("Wann hat der Wertstoffhof samstags geöffnet?", "Öffnungszeiten Wertstoffhof Samstag"),
        ("Wann hat der Wertstoffhof samstags geöffnet?", "Wann hat der Wertstoffhof am Samstag auf?")]
DIFFERENT = [("Perso verloren, was tun?", "Wie lange ist ein Reisepass gültig?"),
             ("Was kostet ein Personalausweis?", "Was kostet ein Reisepass?"),
             ("Hundesteuer ermäßigen", "Hund anmelden"),
             ("Wo melde ich mein Gewerbe an?", "Wo melde ich meinen Wohnsitz an?"),
             ("Kann ich den Ausweis online beantragen?", "Kann ich Wohngeld online beantragen?"),
             ("Wie beantrage ich Wohngeld?", "Wie beantrage ich Elterngeld?"),
             ("Brauche ich eine Wohnungsgeberbestätigung?", "Brauche ich ein Führungszeugnis?"),
             ("Sperrmüll abholen lassen", "Personalausweis abholen"),
             ("Wann hat der Wertstoffhof samstags geöffnet?", "Wann hat das Bürgerbüro samstags geöffnet?")]


def main() -> None:
    logging.disable(logging.WARNING)
    embedder = Settings().embedder()

    def cosine(a: str, b: str) -> float:
        return float(np.dot(embedder.embed_query(a), embedder.embed_query(b)))

    for label, pairs in (("same question", SAME), ("different questions", DIFFERENT)):
        scores = [cosine(a, b) for a, b in pairs]
        print(f"{label}: {len(pairs)} pairs, {min(scores):.3f}–{max(scores):.3f}, "
              f"joined at {GROUP_COSINE}: {sum(s >= GROUP_COSINE for s in scores)}")
        for (a, b), s in sorted(zip(pairs, scores), key=lambda x: -x[1]):
            print(f"  {s:.3f}  {a} | {b}")


if __name__ == "__main__":
    main()
