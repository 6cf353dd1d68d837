"""``python -m ganas`` (what ``torchrun ... -m ganas train ...`` runs in each worker)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
