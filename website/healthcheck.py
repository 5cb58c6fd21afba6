"""Docker HEALTHCHECK probe: exit 0 when GET http://127.0.0.1:$PORT$HEALTH_PATH returns 200.

Standard library only, because curl is not in python:3.12-slim.
"""

import os
import sys
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{os.environ.get('HEALTH_PATH', '/healthz')}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
