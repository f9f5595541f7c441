"""The index: the store (SQLite catalog, generations), the vector index (FAISS) and the
lexical index (BM25 in segments). Uses text/, never how passages are made (ingest/)."""
