package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/crashrig/crashrig/tests/checker"
)

// WriteExplanations saves the checkers' explanation files (checker.Result
// Files: a text per anomaly, a Graphviz graph per cycle) into dir, and an
// SVG of each graph when Graphviz's dot is installed (Debian: graphviz).
// It returns the names written.
func WriteExplanations(ctx context.Context, dir string, results []checker.Result) ([]string, error) {
	dot, _ := exec.LookPath("dot")
	var (
		names []string
		errs  []error
	)
	for _, res := range results {
		files := make([]string, 0, len(res.Files))
		for name := range res.Files {
			files = append(files, name)
		}
		sort.Strings(files)
		for _, name := range files {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, res.Files[name], 0o644); err != nil {
				errs = append(errs, fmt.Errorf("write %s explanation: %w", res.Workload, err))
				continue
			}
			names = append(names, name)
			if dot == "" || !strings.HasSuffix(name, ".dot") {
				continue
			}
			svg := strings.TrimSuffix(path, ".dot") + ".svg"
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			out, err := exec.CommandContext(cctx, dot, "-Tsvg", "-o", svg, path).CombinedOutput()
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("render %s: %w: %s", name, err, out))
				continue
			}
			names = append(names, filepath.Base(svg))
		}
	}
	return names, errors.Join(errs...)
}
