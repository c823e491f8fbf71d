"""python -m training (or char-rnn-train): train the character RNN and write a versioned artifact."""

import sys

from training.cli import main

raise SystemExit(main(sys.argv[1:]))
