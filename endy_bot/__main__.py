"""`python -m endy_bot` is the `endy` command."""

from endy_bot.cli import main

if __name__ == "__main__":  # not when a spawned worker process imports this module
    raise SystemExit(main())
