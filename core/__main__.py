"""``python -m deployer`` and the ``deployer`` console script: the CLI
(:mod:`deployer.cli`), imported inside :func:`main` so that Ctrl-C while it loads ends as
any interruption does (exit 130, one line), not with a traceback."""

import sys

from deployer.errors import EXIT_INTERRUPTED, INTERRUPTED


def main() -> None:
    try:
        from deployer.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write(f"error: {INTERRUPTED}\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    cli_main()


if __name__ == "__main__":
    main()
