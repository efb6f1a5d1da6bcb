#!/bin/sh
# crashrig boot script, run once by init before anything else.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mkdir -p /run/sshd /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null
[ -f /etc/hostname ] && hostname -F /etc/hostname
# Slirp's fixed addresses: the guest is 10.0.2.15, the host is 10.0.2.2.
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
[ -x /usr/sbin/sshd ] && [ -f /etc/ssh/ssh_host_ed25519_key ] && /usr/sbin/sshd
echo "crashrig: boot complete"
