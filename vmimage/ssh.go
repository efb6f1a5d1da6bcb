package vmimage

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// KeyPair is an ed25519 SSH key in the two encodings files need.
type KeyPair struct {
	PrivatePEM    []byte // OpenSSH private key file
	AuthorizedKey []byte // "ssh-ed25519 AAAA... comment\n"
	Signer        ssh.Signer
}

// NewKeyPair makes a fresh ed25519 key.
func NewKeyPair(comment string) (KeyPair, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return KeyPair{}, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return KeyPair{}, err
	}
	authorized := bytes.TrimSpace(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	return KeyPair{
		PrivatePEM:    pem.EncodeToMemory(block),
		AuthorizedKey: append(append(authorized, ' '), comment+"\n"...),
		Signer:        signer,
	}, nil
}

// SSHClientConfig is the client configuration for the image's root login,
// pinned to the image's host key.
func (im *Image) SSHClientConfig() (*ssh.ClientConfig, error) {
	keyPEM, err := os.ReadFile(im.Path(FileSSHKey))
	if err != nil {
		return nil, fmt.Errorf("ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("ssh key %s: %w", im.Path(FileSSHKey), err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(im.HostKey))
	if err != nil {
		return nil, fmt.Errorf("image host key: %w", err)
	}
	return sshConfig(signer, hostKey), nil
}

func sshConfig(signer ssh.Signer, hostKey ssh.PublicKey) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey),
		Timeout:         5 * time.Second,
	}
}

// RunSSH runs cmd on the guest and returns its combined output.
func RunSSH(client *ssh.Client, cmd string) (string, error) {
	s, err := client.NewSession()
	if err != nil {
		return "", fmt.Errorf("ssh session: %w", err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		return string(out), fmt.Errorf("ssh %q: %w: %s", cmd, err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// UploadFile copies local to remote over SFTP with mode. The file appears
// under its name only when complete (written under a temporary name, then
// renamed).
func UploadFile(client *ssh.Client, local, remote string, mode os.FileMode) error {
	sc, err := sftp.NewClient(client)
	if err != nil {
		return fmt.Errorf("sftp: %w", err)
	}
	defer sc.Close()
	src, err := os.Open(local)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := remote + ".tmp"
	dst, err := sc.Create(tmp)
	if err != nil {
		return fmt.Errorf("sftp create %s: %w", tmp, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("sftp copy to %s: %w", tmp, err)
	}
	if err := dst.Chmod(mode); err != nil {
		dst.Close()
		return fmt.Errorf("sftp chmod %s: %w", tmp, err)
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := sc.PosixRename(tmp, remote); err != nil {
		return fmt.Errorf("sftp rename %s: %w", remote, err)
	}
	return nil
}
