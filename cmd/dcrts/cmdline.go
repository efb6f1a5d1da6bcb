package main

import (
	"encoding/hex"
	"fmt"
	"net"
	"strings"
)

// Kernel command line keys the control plane sets.
const (
	keyCP    = "crashrig.cp"
	keyToken = "crashrig.token"
	keyVM    = "crashrig.vm"
)

// config is where to connect and who we are.
type config struct {
	CP    string // host:port
	Token string // hex
	VMID  string
}

// parseCmdline extracts the crashrig settings from a kernel command line.
// ok is false when none are present (the image booted outside a test);
// an error means some are present but unusable.
func parseCmdline(cmdline string) (cfg config, ok bool, err error) {
	seen := 0
	for _, f := range strings.Fields(cmdline) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case keyCP:
			cfg.CP = v
		case keyToken:
			cfg.Token = v
		case keyVM:
			cfg.VMID = v
		default:
			continue
		}
		seen++
	}
	if seen == 0 {
		return config{}, false, nil
	}
	if cfg.CP == "" || cfg.Token == "" || cfg.VMID == "" {
		return cfg, false, fmt.Errorf("need all of %s, %s and %s (got %q)", keyCP, keyToken, keyVM, cmdline)
	}
	if _, _, err := net.SplitHostPort(cfg.CP); err != nil {
		return cfg, false, fmt.Errorf("%s=%s: %w", keyCP, cfg.CP, err)
	}
	if _, err := hex.DecodeString(cfg.Token); err != nil || len(cfg.Token) < 16 {
		return cfg, false, fmt.Errorf("%s: want at least 16 hex digits", keyToken)
	}
	return cfg, true, nil
}
