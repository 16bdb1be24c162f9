"""``python -m benchmarks``: the performance suite W1-W5 (``benchmarks/run.py``)."""
import sys

from .run import main

sys.exit(main())
