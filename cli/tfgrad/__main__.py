"""``python -m tfgrad``: the same command line as the ``tfgrad`` script."""

from .commands import main

main()
