"""`python -m endy_bot` is the `endy` command."""

from endy_bot.cli import main

raise SystemExit(main())
