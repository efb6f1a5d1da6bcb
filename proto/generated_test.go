package proto

import (
	"os/exec"
	"testing"
)

// TestGeneratedCodeIsCurrent runs check-generated.sh: the committed code in
// crashrigpb must be what crashrig.proto generates.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc not installed (apt-get install -y protobuf-compiler); CI installs it, so this runs there")
	}
	out, err := exec.Command("sh", "check-generated.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("check-generated.sh: %v\n%s", err, out)
	}
}
