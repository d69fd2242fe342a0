package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"
)

// ScratchPostgres creates an empty database named prefix_<random> on the
// server of dsn and returns its DSN and a function that drops it. Tests and
// benchmarks use it so a shared server is left as they found it.
func ScratchPostgres(ctx context.Context, dsn, prefix string) (string, func() error, error) {
	base, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("postgres DSN is not a URL")
	}
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		return "", nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("postgres %s is unreachable: %w", base.Redacted(), err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() error {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	u := *base
	u.Path = "/" + name
	return u.String(), drop, nil
}
