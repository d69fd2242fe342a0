package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/xbridge/xbridge/adapters/slack"
)

// runManifest implements `xbridge manifest slack [--url URL] [--socket]`.
func runManifest(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "slack" {
		fmt.Fprintln(stderr, "usage: xbridge manifest slack [--name NAME] [--url PUBLIC_URL] [--socket]")
		return errUsage
	}
	fs := flag.NewFlagSet("manifest slack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "xbridge", "the app's name in Slack")
	url := fs.String("url", "https://xbridge.example.com", "the public URL of this xbridge (for the Events API and interactivity)")
	socket := fs.Bool("socket", getenv("XBRIDGE_SLACK_APP_TOKEN") != "", "use Socket Mode instead of public HTTP endpoints")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	fmt.Fprint(stdout, slack.Manifest(*name, *url, *socket))
	return nil
}
