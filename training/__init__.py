"""Offline training: corpus, recipes, one training loop (fit.py) over windows, chunks or carried
streams, evaluation, artifacts."""
