package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

// runAudit implements `xbridge audit <ticket>`: who did what, when, to a
// conversation.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", getenv("XBRIDGE_CONFIG"), "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: xbridge audit <ticket>   (e.g. xbridge audit 42)")
		return errUsage
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(fs.Arg(0), "#"), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("%q is not a ticket number; write it like 42 or #42", fs.Arg(0))
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.DatabaseURL, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	var conv *bridge.Conversation
	var entries []*bridge.AuditEntry
	err = db.InTx(ctx, func(tx bridge.Tx) error {
		if conv, err = tx.Conversation(ctx, id); err != nil {
			return err
		}
		entries, err = tx.Audit(ctx, id, 0)
		return err
	})
	if bridge.ErrorCode(err) == bridge.ENOTFOUND {
		return fmt.Errorf("there is no conversation #%d", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s · %s · %s priority · opened %s\n", conv.Ticket(), conv.Status, conv.Priority, conv.CreatedAt.Format("2006-01-02 15:04 MST"))
	if len(entries) == 0 {
		fmt.Fprintln(stdout, "no actions recorded")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tACTOR\tACTION\tBEFORE\tAFTER\tVIA")
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format("2006-01-02 15:04:05"), e.ActorName, e.Action,
			dash(e.Before), dash(e.After), e.Source)
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
