"""The container's health check: does the bot's ``/healthz`` answer 200?

Docker's ``HEALTHCHECK`` and compose's ``healthcheck`` run it (the slim base image has no
curl). Standard library only. It asks the port in ``BREAKTHROUGH_METRICS_PORT`` on this
machine, never through a proxy (``HTTP_PROXY`` would otherwise send even 127.0.0.1
elsewhere). Exit 0: healthy; 1: not.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIME_LIMIT_SECONDS = 4  # under the HEALTHCHECK --timeout of 5 s


def main() -> int:
    port = os.environ.get("BREAKTHROUGH_METRICS_PORT", "9464").strip() or "9464"
    if port == "0":
        print("the health server is off (BREAKTHROUGH_METRICS_PORT=0): nothing to ask")
        return 0
    host = os.environ.get("BREAKTHROUGH_METRICS_HOST", "").strip()
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{host}:{port}/healthz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIME_LIMIT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        print(f"{url}: no answer ({type(exc).__name__})")
        return 1
    print(f"{url}: HTTP {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
