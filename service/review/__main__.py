"""Entry point of `python -m service.review` (check, catalogue, report, diff, unknowns)."""

import sys

from service.review.cli import main

sys.exit(main())
