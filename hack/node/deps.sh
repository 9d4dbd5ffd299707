#!/usr/bin/env bash
# deps.sh: installs the local node's Debian packages when missing: runc, the CNI
# plugins (bridge, host-local, loopback in /usr/lib/cni), iptables, which
# kube-proxy and the kubelet drive, and busybox-static and ca-certificates, from
# which the Dockerfile's base images are made. Needs root and apt-get (Debian or
# Ubuntu).
set -euo pipefail

need=()
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v nsenter >/dev/null || need+=(util-linux)
# The images built from the Dockerfile (internal/imagebuild): a static shell for
# the build stage's RUN steps, and the CA bundle of the runtime base.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "deps.sh: ${need[*]} missing; the local node needs root to install them" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "deps.sh: ${need[*]} missing and no apt-get to install them" >&2; exit 1; }
echo "==> node: apt-get install ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
