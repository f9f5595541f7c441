"""The Jinja2 templates of the pages, with the filters they use (one place for api and officer)."""

from pathlib import Path

from fastapi.templating import Jinja2Templates

from search.highlight import mark_terms

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.filters["mark_terms"] = lambda text, question: mark_terms(question, text)
