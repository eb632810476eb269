"""``python -m redlin``: the same as the ``redlin`` command."""

import sys

from redlin.cli import main

sys.exit(main())
