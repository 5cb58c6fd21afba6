"""``python -m deployer`` and the ``deployer`` console script: the CLI
(:mod:`deployer.cli`), imported inside :func:`main` so that Ctrl-C while it loads ends as
any interruption does (exit 130, one line), not with a traceback; SIGTERM is Ctrl-C for
the whole command (:mod:`deployer.interrupts`)."""

import sys

from deployer.errors import EXIT_INTERRUPTED, INTERRUPTED
from deployer.interrupts import sigterm_as_interrupt


def main() -> None:
    with sigterm_as_interrupt():
        try:
            from deployer.cli import main as cli_main
        except KeyboardInterrupt:
            sys.stderr.write(f"error: {INTERRUPTED}\n")
            raise SystemExit(EXIT_INTERRUPTED) from None
        cli_main()


if __name__ == "__main__":
    main()
