"""The IPW Board engine: bundle format, signatures, checks, scorers and metrics.

Pure Python with no Django import (a test enforces it) so that the CLI's local preflight and the
server's worker run exactly the same code.
"""
