package serverkind

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
)

// specsFS holds the built-in targets: the same spec format a user's file
// has, so every target goes through one code path.
//
//go:embed specs/*.toml
var specsFS embed.FS

// builtins are the embedded specs by name, decoded once.
var builtins = func() map[string]*Spec {
	entries, err := specsFS.ReadDir("specs")
	if err != nil {
		panic(err)
	}
	m := map[string]*Spec{}
	for _, e := range entries {
		b, err := specsFS.ReadFile(path.Join("specs", e.Name()))
		if err != nil {
			panic(err)
		}
		s, err := DecodeSpec("built-in "+e.Name(), b)
		if err != nil {
			panic(err) // TestBuiltinSpecs names it
		}
		if s.Name+".toml" != e.Name() {
			panic(fmt.Sprintf("built-in spec %s is named %q", e.Name(), s.Name))
		}
		if s.Install.Binary != "" {
			s.Install.Binary = resolveHostPath("", s.Install.Binary)
		}
		m[s.Name] = s
	}
	return m
}()

// Aliases are other names of built-in targets: "bundled" is what
// -crash.target calls crashrig's own server.
var Aliases = map[string]string{"bundled": Bundled}

// Builtin returns a copy of the built-in spec called name (or an alias).
func Builtin(name string) (*Spec, error) {
	if n, ok := Aliases[name]; ok {
		name = n
	}
	s, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("unknown target %q (built-in: %s; or a spec file PATH.toml)", name, strings.Join(TargetNames(), ", "))
	}
	c := *s
	return &c, nil
}

// Names lists the built-in targets.
func Names() []string {
	var names []string
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadTarget resolves a -crash.target value: a built-in name, or the path
// of a spec file (anything ending in .toml).
func LoadTarget(target string) (*Spec, error) {
	if strings.HasSuffix(target, ".toml") {
		return LoadSpec(target)
	}
	return Builtin(target)
}

// TargetNames lists the built-in targets as -crash.target calls them (an
// alias instead of the name where there is one).
func TargetNames() []string {
	var names []string
	for _, n := range Names() {
		for a, to := range Aliases {
			if to == n {
				n = a
			}
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
