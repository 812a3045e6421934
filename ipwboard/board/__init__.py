"""The public board: the read side (ranked querysets, pages, charts, exports, badges)."""
