// Package logflags gives kumo's commands the same logging flags:
// component-base's logging options (--logging-format=text|json, --v,
// --vmodule, ...) and, so that existing command lines keep working,
// klog's other flags (--logtostderr, --log_file, ...).
package logflags

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	logsapi "k8s.io/component-base/logs/api/v1"
	_ "k8s.io/component-base/logs/json/register" // --logging-format=json
	"k8s.io/klog/v2"
)

// Options are the logging options of a command line.
type Options struct {
	cfg *logsapi.LoggingConfiguration
	// klogOnly are klog's flags outside the logging configuration; only
	// klog's own text writer honors them.
	klogOnly []string
}

// Add registers component-base's logging options
// (--logging-format, --v, --vmodule, --log-flush-frequency, ...) and, so
// that existing command lines keep working, klog's other flags
// (--logtostderr, --log_file, ...).
func Add(fs *flag.FlagSet) *Options {
	l := &Options{cfg: logsapi.NewLoggingConfiguration()}
	var klogFlags flag.FlagSet
	klog.InitFlags(&klogFlags)
	klogFlags.VisitAll(func(f *flag.Flag) {
		// -v and -vmodule are part of the logging configuration.
		if f.Name != "v" && f.Name != "vmodule" {
			fs.Var(f.Value, f.Name, f.Usage)
			l.klogOnly = append(l.klogOnly, f.Name)
		}
	})
	logsapi.AddGoFlags(l.cfg, fs)
	return l
}

// Apply validates and installs the logging configuration of the parsed
// fs; it must run before anything logs. An unknown format, or a klog
// flag the format cannot honor, fails with the flag named.
func (l *Options) Apply(fs *flag.FlagSet) error {
	format := l.cfg.Format
	if format != logsapi.DefaultLogFormat {
		var ignored []string
		fs.Visit(func(f *flag.Flag) {
			if slices.Contains(l.klogOnly, f.Name) {
				ignored = append(ignored, "--"+f.Name)
			}
		})
		if len(ignored) > 0 {
			return fmt.Errorf("--logging-format=%s does not honor %s (text only)", format, strings.Join(ignored, ", "))
		}
	}
	if err := logsapi.ValidateAndApply(l.cfg, nil); err != nil {
		return fmt.Errorf("--logging-format=%s: %w", format, err)
	}
	if format == logsapi.DefaultLogFormat {
		// klog's own writer produces the same text and, unlike the text
		// logger, honors --log_file, --logtostderr and friends.
		klog.ClearLogger()
	}
	return nil
}
