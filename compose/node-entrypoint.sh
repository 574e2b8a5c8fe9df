#!/bin/sh
# Node entrypoint: make sure sshd has a host key and the authorized key, then
# exec the command (sshd -D -e) so it is the container's main process.
#
# The harness puts a per-run host key and authorized_keys into the container
# before starting it, so nothing is generated here. Brought up by hand
# (docker-compose.yml), a host key is generated on first start and the
# authorized key comes from HELIOSDB_AUTHORIZED_KEY.
set -e
if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
    ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
fi
if [ -n "${HELIOSDB_AUTHORIZED_KEY:-}" ]; then
    mkdir -p /root/.ssh
    chmod 0700 /root/.ssh
    grep -qxF "$HELIOSDB_AUTHORIZED_KEY" /root/.ssh/authorized_keys 2>/dev/null \
        || printf '%s\n' "$HELIOSDB_AUTHORIZED_KEY" >> /root/.ssh/authorized_keys
    chmod 0600 /root/.ssh/authorized_keys
fi
mkdir -p /run/sshd
exec "$@"
