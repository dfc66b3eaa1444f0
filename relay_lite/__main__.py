"""``python -m relay_lite``: the same as the ``relay-lite`` command."""

import sys

from .cli import main

sys.exit(main())
