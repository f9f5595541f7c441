"""All configuration in one place, read from the environment (prefix AMTSWISSEN_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMTSWISSEN_", extra="ignore")

    index: Path = Field(Path("data/index"), description="Index folder (FAISS + SQLite); with a database URL "
                                                       "only this server's working files (upload staging)")
    # PostgreSQL with pgvector instead of the folder (docs/betrieb-postgresql.md)
    database_url: str | None = Field(None, description="postgresql://… ; unset = the embedded index folder")
    database_pool_size: int = Field(10, ge=1, le=200, description="Connections of this process to PostgreSQL")
    hnsw_ef_search: int = Field(100, ge=10, le=1000, description="pgvector hnsw.ef_search: recall against speed")
    model: Path = Field(PROJECT_ROOT / "models" / "e5-small", description="Local sentence-transformers folder")
    embed_batch_size: int = Field(16, ge=1, le=512)
    # Runtime of the model (README "Einbettung"): auto = the OpenVINO variant set-up measured
    # as fastest within the quality limit here, PyTorch float32 if none was exported.
    embed_backend: Literal["auto", "torch", "openvino"] = "auto"
    embed_precision: Literal["auto", "f32", "bf16", "int8"] = "auto"
    embed_threads: int = Field(0, ge=0, le=256, description="Threads of the model; 0 = all cores of this process")
    # Chunking, in words (see ingest/chunk.py): passages are shown, pieces embedded.
    passage_words: int = Field(350, ge=20, le=2000)
    piece_words: int = Field(120, ge=20, le=300)
    overlap_words: int = Field(20, ge=0, le=100)
    default_collection: str = "default"
    apply_every: int = Field(25, ge=1, le=10_000, description="Documents per write transaction of a folder ingest "
                                                             "(bounds memory and what a crash can lose)")

    # --- retrieval (measured with bench/quality.py; see README) ---
    search_mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    fusion: Literal["linear", "rrf"] = "linear"
    lexical_weight: float = Field(0.3, ge=0, le=5, description="Weight of max-normalised BM25 next to the cosine")
    candidates: int = Field(100, ge=10, le=1000, description="Candidates per retriever before fusion")
    named_document_boost: float = Field(0.15, ge=0, description="Added to passages of a law the question names (IFG)")
    citation_boost: float = Field(0.5, ge=0, description="Added to passages of a section the question cites")
    evidence_rerank: bool = Field(True, description="Hybrid mode: re-order the first ten by how well each "
                                  "passage's best sentence answers (search/evidence.py)")
    answer_box: bool = Field(True, description="Show the answer box: the top result's answering sentence, when "
                             "the search is confident (search/answer.py)")
    answer_min_coverage: float = Field(0.2, ge=0, le=1, description="Share of the question's (rarity-weighted) "
                                       "words the answering sentence must hold for the answer box")
    note_results: int = Field(3, ge=0, le=20, description="Sections of released task notes shown above the "
                                                          "documents (0: notes rank among the documents)")
    note_section_boost: float = Field(0.2, ge=0, le=1, description="Added, in the notes list, to the section of "
                                                                   "the kind the question asks for (search/intent.py)")
    note_gate: float = Field(-0.035, ge=-1, le=1, description="Notes are shown when their best piece is at most this "
                                                              "much less similar (cosine) than the best document's; "
                                                              "measured in README „Wissenssicherung“")
    # --- feedback and the query log (README „Rückmeldungen“): privacy by default ---
    query_log: bool = Field(True, description="Log questions (text, time, results, best similarity, answer box "
                                              "shown, filters) for the knowledge officers' queue")
    feedback_store_user: bool = Field(False, description="Store who gave feedback or asked, when signed in "
                                                         "(default: no person is stored)")
    feedback_retention_days: int = Field(365, ge=1, le=3650, description="Feedback is deleted after this many days")
    query_log_retention_days: int = Field(90, ge=1, le=3650, description="Logged questions are deleted after this "
                                                                         "many days")
    guard_seconds: int = Field(60, ge=0, le=86_400, description="How often the server checks whether the index or "
                               "the synonyms changed and asks the reference questions again (0: only on the queue "
                               "page and by `amtswissen rueckmeldungen pruefen`)")
    review_notice_days: int = Field(30, ge=0, le=365, description="Wiedervorlage: items are listed as due this many "
                                    "days before their date (documents: review_after_days after their last review)")
    smtp_host: str | None = Field(None, description="SMTP server of the daily review digest (unset: digest as a file)")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = Field("amtswissen@localhost", max_length=200)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    weak_similarity: float = Field(0.85, ge=0, le=1, description="A question whose nearest piece is less similar "
                                   "(cosine) has no good result: it goes to the queue (bench/weak_questions.py)")
    synonyms: Path | None = Field(PROJECT_ROOT / "data" / "synonyme.txt", description="Editable synonym list")
    reranker: Path | None = Field(None, description="Local sentence-transformers CrossEncoder folder (off if unset)")
    rerank_top: int = Field(30, ge=1, le=200)
    review_after_days: int = Field(365, ge=1, description="Results from documents not reviewed for longer are marked")
    api_key: str | None = Field(None, description="Installation key (header X-API-Key): administrator of the "
                                                  "default tenant, for scripts; unset = none")

    # --- input limits (README: "Grenzen") ---
    max_upload_mb: int = Field(100, ge=1, description="Largest request body of an upload, enforced while streaming (413)")
    max_pages: int = Field(2000, ge=1, description="Pages of one PDF")
    max_ocr_pages: int = Field(200, ge=0, description="Pages of one PDF that may need text recognition")
    max_ocr_seconds: float = Field(900, gt=0, description="Text recognition time for one document")
    max_unpacked_mb: int = Field(50, ge=1, description="Unpacked size of a DOCX/ODT part or of an e-mail's attachments")
    max_read_seconds: float = Field(300, gt=0, description="Reading the text of one document (PDF pages, office XML)")
    max_attachments: int = Field(200, ge=0, description="Attachments of one e-mail that are read")
    max_image_megapixels: int = Field(100, ge=1, description="Largest embedded page image that OCR decodes")
    ocr_memory_mb: int = Field(2048, ge=256, description="Address space of one pdftoppm/tesseract process")

    # --- officer sessions (README: "Anmeldung") ---
    session_minutes: int = Field(60, ge=1, description="A session ends after this long without a request")
    session_max_hours: int = Field(12, ge=1, description="... and after this long in any case")
    login_attempts: int = Field(5, ge=1, description="Failed key checks per client address before it must wait")
    login_lockout_minutes: int = Field(15, ge=1, description="How long a client address waits after too many failures")
    cookie_secure: bool | None = Field(None, description="Secure flag of the session cookie; unset = when served over HTTPS")
    trusted_proxies: str | None = Field(
        None, description="Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated); "
                          "unset = none, so no client can choose the address its failed attempts count against")

    # --- who may see what (README: "Mandanten, Rechte, Vertretungen") ---
    default_tenant: str = Field("standard", description="Tenant of collections nobody registered")
    default_visibility: Literal["oeffentlich", "mandant", "eingeschraenkt"] = Field(
        "mandant", description="Visibility of a collection that exists in the index but was never registered")
    public_default_collection: bool = Field(
        True, description="A fresh installation registers the default collection as public (the demo of "
                          "`make run`); false in production, or change it with `amtswissen sammlung`")
    trusted_user_header: str | None = Field(
        None, description="Header with the user name set by a reverse proxy that did the single sign-on "
                          "(e.g. X-Remote-User); believed only from `trusted_proxies`")
    ldap_url: str | None = Field(None, description="ldap://… or ldaps://… of the directory; unset = no LDAP")
    ldap_user_dn_template: str | None = Field(None, description="e.g. uid={user},ou=people,dc=example,dc=org; "
                                                                "unset = search with the service account")
    ldap_bind_dn: str | None = None
    ldap_bind_password: str | None = None
    ldap_user_base: str | None = None
    ldap_user_filter: str = "(|(uid={user})(sAMAccountName={user}))"
    ldap_group_base: str | None = None
    ldap_group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    ldap_tenant: str | None = Field(None, description="Tenant of users who sign in from the directory; "
                                                      "unset = the default tenant")
    search_per_minute: int = Field(600, ge=0, description="Searches per caller (token, session or address) "
                                                          "and minute; 0 = no limit")
    tenant_parallel_writes: int = Field(2, ge=1, description="Uploads/replacements of one tenant at the same time "
                                                             "(one municipality's bulk upload must not take all)")
    host: str = "127.0.0.1"
    port: int = 8000

    def ingest_limits(self):
        from ingest.limits import MIB, IngestLimits

        return IngestLimits(max_pages=self.max_pages, max_ocr_pages=self.max_ocr_pages,
                            max_ocr_seconds=self.max_ocr_seconds, max_unpacked_bytes=self.max_unpacked_mb * MIB,
                            max_image_pixels=self.max_image_megapixels * 1_000_000,
                            ocr_memory_bytes=self.ocr_memory_mb * MIB, max_read_seconds=self.max_read_seconds,
                            max_attachments=self.max_attachments)

    def embedder(self):
        from index.open import recorded_model
        from models.embedder import load_embedder

        return load_embedder(self.model, self.embed_backend, self.embed_precision, self.embed_batch_size,
                             self.embed_threads, recorded_model(self))

    def backend(self):
        from index.open import open_backend

        return open_backend(self)

    def chunk_sizes(self):
        from ingest.chunk import ChunkSizes

        return ChunkSizes(self.passage_words, self.piece_words, self.overlap_words)


@lru_cache
def get_settings() -> Settings:
    return Settings()
