// Package miniisolate holds build-wide facts about mini-isolate; the code
// lives in the cmd, runtime, specconv and profiles packages.
package miniisolate

import (
	_ "embed"
	"strings"
)

//go:embed VERSION
var version string

// Version is the release in the VERSION file.
func Version() string {
	return strings.TrimSpace(version)
}
