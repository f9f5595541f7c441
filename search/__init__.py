"""Question → passages: query understanding, retrieval over an index reader, fusion,
highlight, rerank and evaluation. Knows nothing of HTTP; the web layer is service/."""
