"""All configuration in one place, read from the environment (prefix AMTSWISSEN_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMTSWISSEN_", extra="ignore")

    index: Path = Field(Path("data/index"), description="Index folder (FAISS + SQLite)")
    model: Path = Field(PROJECT_ROOT / "models" / "e5-small", description="Local sentence-transformers folder")
    embed_batch_size: int = Field(16, ge=1, le=512)
    # Chunk length in words: e5-small reads at most 512 tokens and German legal
    # text runs at about 1.6 tokens per word, so 200 words leave head room for
    # the title/section context that is embedded with each chunk.
    chunk_words: int = Field(200, ge=20, le=400)
    chunk_overlap_words: int = Field(30, ge=0, le=200)
    default_collection: str = "default"
    host: str = "127.0.0.1"
    port: int = 8000


@lru_cache
def get_settings() -> Settings:
    return Settings()
