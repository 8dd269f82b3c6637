"""``python -m segdend`` runs the command-line interface."""

from segdend.cli import main

raise SystemExit(main())
