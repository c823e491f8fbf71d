"""Names and bounds that the trainer's command line, the artifact checks and the service share.

No NumPy here: training's command line reads these before it sets the BLAS threads.
"""

from __future__ import annotations

# Every architecture an artifact may hold: the keys of model.language_model.ARCHITECTURES
# (tests/model/test_limits.py checks that the two agree).
ARCHITECTURE_NAMES = ("rnn", "lstm", "lstm-contexts")
MAX_CONTEXT = 4096  # characters a model may read before each guess
MAX_HIDDEN = 4096  # hidden units of a model
