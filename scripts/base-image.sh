#!/usr/bin/env bash
# Make sure the website's base image exists locally.
#
# With a registry, this is a plain `docker pull`. Without one (offline CI, air-gapped
# machines), it builds a stand-in from Debian packages, tagged with the same name so
# Dockerfiles need no change. The stand-in behaves like the official image for a
# Dockerfile: `python` and `pip` on PATH, `pip install` as root works (PEP 668's
# EXTERNALLY-MANAGED marker removed, as the official image has none), and the host's CA
# bundle is trusted (so pip inside builds reaches PyPI through the same TLS as the host).
# Its Python is Debian bookworm's (3.11), not 3.12: the image's label
# dev.deployer.stand-in says so. Idempotent: seconds when the image exists; a stand-in
# from an older version of this script is rebuilt.
set -euo pipefail

image="${1:-${BASE_IMAGE:-python:3.12-slim}}"
suite="${DEBIAN_SUITE:-bookworm}"
stand_in="v2 Debian $suite python3"

if docker image inspect "$image" >/dev/null 2>&1; then
    comment="$(docker image inspect -f '{{.Comment}}' "$image")"
    label="$(docker image inspect -f '{{index .Config.Labels "dev.deployer.stand-in"}}' "$image" 2>/dev/null || true)"
    if [[ "$comment" != *"deployer offline stand-in"* || "$label" == "$stand_in" ]]; then
        echo "base image $image: present"
        exit 0
    fi
    echo "base image $image: an older deployer stand-in; rebuilding it"
fi
if timeout 60 docker pull "$image" >/dev/null 2>&1; then
    echo "base image $image: pulled"
    exit 0
fi

echo "base image $image: cannot be pulled; building a stand-in from Debian $suite packages"
if ! command -v debootstrap >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
    else
        echo "error: debootstrap is needed to build $image offline (apt-get install debootstrap, as root)" >&2
        exit 2
    fi
fi

# The mirror apt already uses here (deb822 or one-line sources).
mirror="$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
          | grep -v security | head -n1 | awk '{print $2}' || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

rootfs="$(mktemp -d /tmp/deployer-base.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates,curl \
    "$suite" "$rootfs" "$mirror" >/tmp/deployer-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/deployer-debootstrap.log >&2; exit 1; }
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED

tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --change "LABEL dev.deployer.stand-in=\"$stand_in\"" \
    --message "deployer offline stand-in for $image (Debian $suite python3)" \
    - "$image" >/dev/null
echo "base image $image: built from Debian $suite"
