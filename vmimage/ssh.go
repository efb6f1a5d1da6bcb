package vmimage

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
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

// DialSSH connects to addr, retrying until the guest's sshd answers or ctx
// ends. Slirp accepts TCP connections before the guest is up, and a
// connection made then waits out TCP retransmits once the guest appears, so
// each attempt must see the "SSH-" banner within a short, growing deadline
// before the handshake is given more time.
func DialSSH(ctx context.Context, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	var lastErr error
	bannerWait := time.Second
	for {
		c, err := dialSSHOnce(ctx, addr, cfg, bannerWait)
		if err == nil {
			return c, nil
		}
		lastErr = err
		bannerWait = min(bannerWait*3/2, 10*time.Second)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ssh %s: %w (last error: %v)", addr, ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func dialSSHOnce(ctx context.Context, addr string, cfg *ssh.ClientConfig, bannerWait time.Duration) (*ssh.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &peekedConn{Conn: conn, r: bufio.NewReader(conn)}
	conn.SetDeadline(time.Now().Add(bannerWait))
	if b, err := pc.r.Peek(4); err != nil || string(b) != "SSH-" {
		conn.Close()
		return nil, fmt.Errorf("no ssh banner: %q %v", b, err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, chans, reqs, err := ssh.NewClientConn(pc, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// peekedConn is a net.Conn whose first bytes were peeked at.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

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
