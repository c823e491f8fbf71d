"""Offline training of the character RNN: corpus, windows, SGD loop, evaluation, artifacts."""
