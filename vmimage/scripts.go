package vmimage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/crashrig/crashrig/qemu"
)

// dirVar stands for the VM directory inside rendered scripts, so that a VM
// directory still works after it is moved.
const dirVar = "${DIR}"

var scriptTemplates = template.Must(template.New("").Parse(`
{{define "run.sh"}}#!/bin/sh
# Boots the crashrig VM in this directory on its own disk (add -snapshot to
# throw changes away). Serial console and QEMU monitor share this terminal:
# Ctrl-A c switches between them, Ctrl-A x quits QEMU. Extra arguments are
# passed to QEMU.
#   SSH:   ./ssh.sh        (127.0.0.1:{{.SSHPort}})
#   MySQL: 127.0.0.1:{{.MySQLPort}}
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
exec {{.QEMU}} \
{{- range .Args}}
  {{.}} \
{{- end}}
  -serial mon:stdio "$@"
{{end}}
{{define "ssh.sh"}}#!/bin/sh
# Root shell (or a command) on the running VM, by key. Start ./run.sh first.
DIR=$(cd "$(dirname "$0")" && pwd)
exec ssh -F "$DIR/ssh_config" -i "$DIR/id_ed25519" -o UserKnownHostsFile="$DIR/known_hosts" {{.Host}} "$@"
{{end}}
{{define "scp.sh"}}#!/bin/sh
# Copies files to or from the running VM; name the VM "{{.Host}}":
#   ./scp.sh local-file {{.Host}}:/tmp/    ./scp.sh {{.Host}}:/var/log/dcrts.log .
DIR=$(cd "$(dirname "$0")" && pwd)
exec scp -F "$DIR/ssh_config" -i "$DIR/id_ed25519" -o UserKnownHostsFile="$DIR/known_hosts" "$@"
{{end}}
{{define "ssh_config"}}# ssh -F {{.Dir}}/ssh_config {{.Host}}
Host {{.Host}}
  HostName 127.0.0.1
  Port {{.SSHPort}}
  User root
  IdentityFile {{.Dir}}/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile {{.Dir}}/known_hosts
  StrictHostKeyChecking yes
  HostKeyAlias {{.Host}}
  ConnectTimeout 10
  LogLevel ERROR
{{end}}
`))

// RenderScripts writes run.sh, ssh.sh, scp.sh, ssh_config, known_hosts,
// MYSQL_PORT and SSH_PORT for im into dir. finalDir is where the directory
// will live (ssh_config needs absolute paths); scripts locate themselves.
func RenderScripts(dir, finalDir string, im *Image) error {
	m := im.Machine()
	m.Kernel = dirVar + "/" + im.KernelFile()
	m.Initrd = dirVar + "/" + FileInitrd
	m.Disks[0].Path = dirVar + "/" + FileDisk
	args, err := m.Args()
	if err != nil {
		return err
	}
	// One option and its value per line reads well in the script.
	var lines []string
	for i := 0; i < len(args); i++ {
		line := shellQuote(args[i])
		if strings.HasPrefix(args[i], "-") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			line += " " + shellQuote(args[i+1])
			i++
		}
		lines = append(lines, line)
	}
	data := map[string]any{
		"QEMU": qemu.Binary, "Args": lines, "SSHPort": im.SSHPort, "MySQLPort": im.MySQLPort,
		"Host": SSHHostAlias, "Dir": finalDir,
	}
	files := []struct {
		name string
		mode os.FileMode
	}{{FileRunScript, 0o755}, {FileSSHScript, 0o755}, {FileSCPScript, 0o755}, {FileSSHConfig, 0o644}}
	for _, f := range files {
		var b bytes.Buffer
		if err := scriptTemplates.ExecuteTemplate(&b, f.name, data); err != nil {
			return fmt.Errorf("render %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), b.Bytes(), f.mode); err != nil {
			return err
		}
	}
	plain := map[string]string{
		FileMySQLPort:  strconv.Itoa(im.MySQLPort) + "\n",
		FileSSHPort:    strconv.Itoa(im.SSHPort) + "\n",
		FileKnownHosts: SSHHostAlias + " " + im.HostKey + "\n",
	}
	for name, content := range plain {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// shellQuote quotes s for sh. ${DIR} stays expandable; everything else is
// literal.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_=,.:/+@%", r))
	}) < 0 {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], dirVar) {
			b.WriteString(dirVar)
			i += len(dirVar) - 1
			continue
		}
		if strings.IndexByte("\"\\$`", s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
