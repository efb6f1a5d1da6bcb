#!/bin/sh
# crashrig boot script, run once by init before anything else. Every exec
# costs here (after a reset no guest code is translated yet under TCG), so
# shell builtins do what they can and the agent is not kept waiting for
# sshd (rc.sshd starts it beside the agent).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
# mounted DIR: whether DIR is a mount point (no exec of mountpoint).
mounted() {
	[ -r /proc/mounts ] || return 1
	while read -r _ mp _; do [ "$mp" = "$1" ] && return 0; done </proc/mounts
	return 1
}
mounted /proc || mount -t proc proc /proc
# Boot timeline marks ("crashrig: STEP uptime=S") read by bench/resetlog.
mark() { read -r up _ </proc/uptime; echo "crashrig: $1 uptime=$up"; }
mark rc.boot
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mkdir -p /dev/pts /dev/shm /run/sshd /run/mysqld
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
chown mysql:mysql /run/mysqld 2>/dev/null
[ -r /etc/hostname ] && read -r host </etc/hostname && echo "$host" >/proc/sys/kernel/hostname
# Slirp's fixed addresses: the guest is 10.0.2.15, the host is 10.0.2.2.
# One ip process for all of it; lo first (the agent listens on 127.0.0.1).
ip -batch - <<NET
link set lo up
link set eth0 up
addr add 10.0.2.15/24 dev eth0
route add default via 10.0.2.2
NET
mark "boot complete"
