"""German text analysis, used by the write path and the read path alike: folding,
stemming, compounds, sentences, and the text a passage is analysed and embedded as."""
