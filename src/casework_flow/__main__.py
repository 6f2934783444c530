"""``python -m casework_flow``: the same as the ``casework-flow`` command."""

import sys

from .cli import main

sys.exit(main())
