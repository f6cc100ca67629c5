// Package logging configures logrus the way both mini-isolate binaries
// take it on their command lines: --debug, --log-format and --log.
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sirupsen/logrus"
)

// Options are the logging flags.
type Options struct {
	Debug  bool   // log at debug level
	Format string // "text" (or empty) or "json"
	Path   string // append to this file instead of writing to stderr
}

// Configure sets logrus up as opts say. It returns the log file it opened,
// or nil when logs go to stderr.
func Configure(opts Options) (io.Writer, error) {
	if opts.Debug {
		logrus.SetLevel(logrus.DebugLevel)
	}
	switch opts.Format {
	case "", "text":
		logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true, TimestampFormat: time.RFC3339Nano})
	case "json":
		logrus.SetFormatter(&logrus.JSONFormatter{})
	default:
		return nil, fmt.Errorf("invalid --log-format %q: want text or json", opts.Format)
	}
	if opts.Path == "" {
		logrus.SetOutput(os.Stderr)
		return nil, nil
	}
	f, err := os.OpenFile(opts.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	logrus.SetOutput(f)
	return f, nil
}
