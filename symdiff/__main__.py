"""``python -m symdiff`` runs the command line (see ``symdiff.cli``)."""
import sys

from symdiff.cli import main

if __name__ == "__main__":
    sys.exit(main())
