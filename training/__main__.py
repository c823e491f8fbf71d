"""python -m training: train the character RNN and write a versioned artifact."""

import sys

from training.cli import main

raise SystemExit(main(sys.argv[1:]))
