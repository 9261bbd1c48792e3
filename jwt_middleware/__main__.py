"""``python -m jwt_middleware``: the command line."""

import sys

from .cli import main

sys.exit(main())
