#!/usr/bin/env bash
# Make sure the website's base image exists locally.
#
# With a registry, this is a plain `docker pull`. Without one (offline CI, air-gapped
# machines), it builds a compatible stand-in from Debian packages: Debian's Python 3 with
# venv and pip, the host's CA bundle (so pip inside builds trusts the same TLS as the
# host), tagged with the same name so Dockerfiles need no change. Idempotent: seconds
# when the image exists.
set -euo pipefail

image="${1:-${BASE_IMAGE:-python:3.12-slim}}"
suite="${DEBIAN_SUITE:-bookworm}"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base image $image: present"
    exit 0
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

tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "deployer offline stand-in for $image (Debian $suite python3)" \
    - "$image" >/dev/null
echo "base image $image: built from Debian $suite"
