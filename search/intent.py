"""What kind of answer a question asks for, in terms of the fixed sections of a procedure
note (the text modules of the 115 knowledge base / XZuFi that knowledge/model.py uses).

A note answers "what to bring", "how long", "how much", "which screen", "whom to ask",
"what goes wrong" each in its own section, and staff ask in these terms: "welche
Unterlagen", "wie lange", "was kostet", "welche Maske", "wen frag ich". Among the
sections of the notes that match a question, the one of the asked-for kind is
preferred (search/searcher.py, the notes list only; documents are not touched).
The cues are ordinary German question wording, not words of particular notes.
"""

from __future__ import annotations

import re

# section heading → cue pattern (on the case-folded question)
CUES: dict[str, re.Pattern] = {heading: re.compile(pattern) for heading, pattern in {
    "Unterlagen": r"unterlagen|mitbring|mitnehm|vorleg|vorzeig|nachweis|papiere|welche dokumente"
                  r"|was (braucht|brauch|muss) .{0,40}(mit|dabei)|braucht .{0,30}\bfür\b",
    "Fristen": r"\bfrist|wie lange|bis wann|\bwann\b|dauer|wie schnell|verspät|rechtzeitig|zu spät",
    "Gebühren": r"kost|gebühr|preis|teuer|bezahl|\bzahl|euro|€",
    "Fachverfahren und IT": r"maske|programm|software|fachverfahren|\bsystem|computer|\bpc\b|eingeb|erfass|\breiter\b"
                            r"|bildschirm|postkorb|button|knopf",
    "Ansprechpartner": r"\bwen\b|wer hilft|ansprechp|anruf|kontakt|frag ich|durchwahl|telefon|melde ich mich",
    "Typische Fehler und Fallstricke": r"fehler|falsch|schief|vergess|aufpass|\bachten\b|worauf|fallstrick"
                                       r"|passiert oft|häufig",
    "Ablauf in Schritten": r"wie geht|ablauf|schritt|reihenfolge|zuerst|\berst\b.{0,40}\boder\b|vorgehen"
                           r"|was mach ich|wie mach ich|wie läuft|der reihe nach",
    "Sonderfälle": r"sonderfall|ausnahme|geht das|überhaupt|was (ist|tun|mach ich),? wenn|und wenn|obwohl",
    "Voraussetzungen": r"voraussetzung|wer darf|wer kann|ab wann darf|welchem alter|mindestalter|berechtigt"
                       r"|anspruch|darf .{0,30}(beantragen|bekommen)",
    "Formulare": r"formular|vordruck",
    "Rechtsgrundlage": r"§|paragraph|paragraf|rechtsgrundlage|welches gesetz|gesetzlich",
    "Zuständige Stelle": r"zuständig|welches amt|\bwohin\b|\bwo\b .{0,20}(beantrag|abhol|hin)",
}.items()}


def asked_sections(question: str) -> set[str]:
    """The section headings whose kind of answer the question asks for (often none)."""
    text = question.casefold()
    return {heading for heading, cue in CUES.items() if cue.search(text)}
