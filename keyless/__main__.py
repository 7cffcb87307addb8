import sys

from keyless.cli import main

sys.exit(main())
