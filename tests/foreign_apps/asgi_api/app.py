"""An ASGI API (Starlette under uvicorn) on port 3000.

GET /        the release, read from the RELEASE file ("release 1")
GET /health  204 with no body (the health path, as many APIs answer it)
GET /status  {"status": "ok", "release": "1"}
GET /whoami  the SHA-256 and length of the API_TOKEN secret, never the token;
             503 when the secret is missing
"""

import hashlib
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

RELEASE = (Path(__file__).parent / "RELEASE").read_text().strip()


async def index(request):
    return PlainTextResponse(f"release {RELEASE}\n")


async def health(request):
    return Response(status_code=204)


async def status(request):
    return JSONResponse({"status": "ok", "release": RELEASE}, headers={"Cache-Control": "no-store"})


async def whoami(request):
    token = os.environ.get("API_TOKEN", "")
    if not token:
        return JSONResponse({"error": "API_TOKEN is not set"}, status_code=503)
    digest = hashlib.sha256(token.encode()).hexdigest()
    return JSONResponse({"token_sha256": digest, "token_length": len(token)})


app = Starlette(
    routes=[Route("/", index), Route("/health", health), Route("/status", status), Route("/whoami", whoami)]
)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "3000")), timeout_graceful_shutdown=5)
