import sys

from gradparadigm.cli import main

sys.exit(main())
