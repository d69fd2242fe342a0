// Command xbridge turns customer conversations on X into Slack threads
// where a support team works them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

const usage = `xbridge — X customer conversations as Slack threads

Usage:
  xbridge demo                 run the bridge against local simulators and print a transcript
  xbridge serve [--check]      run the bridge (--check: validate config and connectivity, then exit)
  xbridge migrate              apply the database schema
  xbridge audit <ticket>       print who did what to a conversation, when
  xbridge report sla           SLA attainment, first response times, breaches (--since 7d --format table|csv|json)
  xbridge report tier          the first tier: automation share, time to acknowledgement, CSAT
  xbridge manifest slack       print a Slack app manifest
  xbridge bench inbound        measure inbound throughput (see --help)
  xbridge version              print the build

Configuration: XBRIDGE_CONFIG names a YAML file; every setting also has an
environment variable (see README.md).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "xbridge:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run dispatches a subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr, getenv)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "manifest":
		return runManifest(args[1:], stdout, stderr, getenv)
	case "report":
		return runReport(ctx, args[1:], stdout, stderr, getenv)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr, getenv)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "xbridge", Version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
