// Package migrations holds the database schema of xbridge as numbered,
// goose-style SQL files, one folder per dialect: postgres/ and sqlite/.
//
// Each file is named NNNN_name.sql and has a "-- +goose Up" section followed
// by a "-- +goose Down" section. adapters/sqlstore applies the Up sections in
// version order, one transaction each, and records them in
// schema_migrations. Both folders hold the same versions and the same tables.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
