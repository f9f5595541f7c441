"""The officer's overview: numbers over time for the collections they tend, as small SVG
charts served by the app and as CSV.

Per day: questions asked and how many found nothing good (query log), "hilft" and "hilft
nicht" (feedback) — both read back from the logs as far as their retention reaches; open
queue entries and overdue reviews are states, not events, so each day's value is kept
when the overview page is opened (`overview_days`, the day's last value) and days nobody
looked stay empty rather than guessed. Days are UTC days, as the logs' times are.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html import escape

SCHEMA = """
CREATE TABLE IF NOT EXISTS overview_days (tenant TEXT NOT NULL, scope TEXT NOT NULL, day TEXT NOT NULL,
    open_entries INTEGER NOT NULL, overdue INTEGER NOT NULL, PRIMARY KEY (tenant, scope, day));
"""


@dataclass
class Day:
    day: str
    questions: int = 0
    weak: int = 0
    helpful: int = 0
    unhelpful: int = 0
    open_entries: int | None = None  # None: not recorded that day
    overdue: int | None = None

    @property
    def helpful_share(self) -> float | None:
        given = self.helpful + self.unhelpful
        return self.helpful / given if given else None

    @property
    def answered_share(self) -> float | None:
        return (self.questions - self.weak) / self.questions if self.questions else None


class Overview:
    def __init__(self, feedback, reviews):
        self.feedback, self.reviews = feedback, reviews
        feedback.store.db.ensure(SCHEMA)

    @staticmethod
    def _scope(rights) -> str:
        return ",".join(sorted(rights.officer))

    def record_today(self, rights, today: date | None = None) -> tuple[int, int]:
        """Today's open queue entries and overdue reviews of this officer's collections (kept
        once per day and scope; a later call the same day updates it)."""
        today = today or datetime.now(timezone.utc).date()  # the logs' days are UTC days
        queue = self.feedback.queue(rights)
        open_entries = len(queue.questions) + len(queue.documents)
        overdue = sum(i.overdue for i in self.reviews.due(rights, today))
        db = self.feedback.store.db
        with db.tx() as run:
            # one statement: two pages opened at once do not collide on the key (PostgreSQL)
            run("INSERT INTO overview_days (tenant, scope, day, open_entries, overdue) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant, scope, day) DO UPDATE SET open_entries = excluded.open_entries, "
                "overdue = excluded.overdue",
                (rights.principal.tenant or "", self._scope(rights), today.isoformat(), open_entries, overdue))
        return open_entries, overdue

    def days(self, rights, n: int = 30, today: date | None = None) -> list[Day]:
        """The last n days, oldest first, over what this officer's queue shows."""
        today = today or datetime.now(timezone.utc).date()
        first = today - timedelta(days=n - 1)
        out = {(first + timedelta(days=i)).isoformat(): Day((first + timedelta(days=i)).isoformat()) for i in range(n)}
        since = first.isoformat()
        public = self.feedback.public_collections()
        for q in self.feedback.store.queries(since):
            d = out.get(q.at[:10])
            if d is not None and self.feedback.sees_question(rights, q.tenant, q.collection, public):
                d.questions += 1
                d.weak += q.weak
        for f in self.feedback.store.feedback(since):
            d = out.get(f.at[:10])
            if d is not None and self.feedback.sees_question(rights, f.tenant, f.collection, public):
                if f.helpful:
                    d.helpful += 1
                else:
                    d.unhelpful += 1
        with self.feedback.store.db.tx(write=False) as run:
            rows = run("SELECT day, open_entries, overdue FROM overview_days WHERE tenant = ? AND scope = ? "
                       "AND day >= ?", (rights.principal.tenant or "", self._scope(rights), since))
        for r in rows:
            if r["day"] in out:
                out[r["day"]].open_entries, out[r["day"]].overdue = r["open_entries"], r["overdue"]
        return list(out.values())

    @staticmethod
    def csv(days: list[Day]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
        writer.writerow(["tag", "fragen", "ohne_gutes_ergebnis", "hilft", "hilft_nicht", "anteil_hilft",
                         "offene_eintraege", "ueberfaellige_pruefungen"])
        for d in days:
            share = d.helpful_share
            writer.writerow([d.day, d.questions, d.weak, d.helpful, d.unhelpful,
                             "" if share is None else f"{share:.3f}".replace(".", ","),
                             "" if d.open_entries is None else d.open_entries, "" if d.overdue is None else d.overdue])
        return buffer.getvalue()


def bar_chart(label: str, values: list[float | None], days: list[str], share: bool = False,
              width: int = 480, height: int = 120) -> str:
    """A small bar chart as inline SVG (no script, no CDN); a missing day is a gap. Its
    numbers are also in the table under the charts, for screen readers and copying."""
    known = [v for v in values if v is not None]
    top = 1.0 if share else max(known + [1])
    step = (width - 40) / max(len(values), 1)
    bars = []
    for i, v in enumerate(values):
        if v is None:
            continue
        h = (height - 30) * (v / top if top else 0)
        bars.append(f'<rect x="{30 + i * step:.1f}" y="{height - 15 - h:.1f}" width="{max(step - 2, 1):.1f}" '
                    f'height="{h:.1f}" fill="#0b4f8a"><title>{escape(days[i])}: '
                    f'{f"{v:.0%}" if share else int(v)}</title></rect>')
    last = next((v for v in reversed(values) if v is not None), None)
    summary = "keine Werte" if last is None else (f"zuletzt {last:.0%}" if share else f"zuletzt {int(last)}")
    top_label = "100 %" if share else str(int(top))
    return (f'<svg role="img" aria-label="{escape(label)}: {len(known)} Tage, {summary}" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}">'
            f'<line x1="28" y1="{height - 15}" x2="{width - 8}" y2="{height - 15}" stroke="#555"/>'
            f'<text x="0" y="20" font-size="11" fill="#333">{top_label}</text>'
            f'<text x="0" y="{height - 17}" font-size="11" fill="#333">0</text>'
            f'<text x="30" y="{height - 2}" font-size="11" fill="#333">{escape(days[0] if days else "")}</text>'
            f'<text x="{width - 75}" y="{height - 2}" font-size="11" fill="#333">'
            f'{escape(days[-1] if days else "")}</text>' + "".join(bars) + "</svg>")
