#!/usr/bin/env bash
# Make sure a Docker engine answers. On Debian as root, install docker.io and start
# dockerd when none answers; elsewhere, say what to do.
set -euo pipefail

answers() { docker info >/dev/null 2>&1; }

if answers; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: no Docker engine answers (docker info failed)." >&2
    echo "Start Docker (Docker Desktop, or 'sudo systemctl start docker') or set DOCKER_HOST, then retry." >&2
    exit 1
fi
if ! command -v dockerd >/dev/null; then
    echo "installing the Docker engine (Debian package docker.io)..."
    apt-get install -y -qq docker.io >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq docker.io >/dev/null; }
fi
echo "starting dockerd (log: /var/log/dockerd.log)..."
setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 60); do
    if answers; then
        echo "Docker engine ready"
        exit 0
    fi
    sleep 1
done
echo "error: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
