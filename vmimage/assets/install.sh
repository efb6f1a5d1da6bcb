#!/bin/sh
# crashrig in-guest installer, run from the install media by the installer
# over the serial console. Everything per image happens here.
set -eu
MEDIA=$(dirname "$0")
. "$MEDIA/install.env"

echo "$HOSTNAME" > /etc/hostname
cat > /etc/hosts <<HOSTS
127.0.0.1 localhost
127.0.1.1 $HOSTNAME
HOSTS
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > /etc/fstab

# SSH: host key made by the installer (so it can pin it), root by key only.
rm -f /etc/ssh/ssh_host_*
install -m 600 "$MEDIA/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -m 644 "$MEDIA/ssh_host_ed25519_key.pub" /etc/ssh/ssh_host_ed25519_key.pub
cat > /etc/ssh/sshd_config <<SSHD
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
Subsystem sftp /usr/lib/openssh/sftp-server
SSHD
install -d -m 700 /root/.ssh
install -m 600 "$MEDIA/authorized_keys" /root/.ssh/authorized_keys

# No passwords: the console login used by this installer is locked now.
usermod -p '*' root

sync
echo "crashrig-install-success"
