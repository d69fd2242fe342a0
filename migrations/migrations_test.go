package migrations_test

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xbridge/xbridge/migrations"
)

var fileName = regexp.MustCompile(`^[0-9]{4}_[a-z0-9_]+\.sql$`)

// TestDialectsMatch checks that both dialects have the same numbered
// files, each with an Up section followed by a Down section.
func TestDialectsMatch(t *testing.T) {
	names := map[string][]string{}
	for _, dialect := range []string{"postgres", "sqlite"} {
		entries, err := fs.ReadDir(migrations.FS, dialect)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			t.Fatalf("%s: no migrations", dialect)
		}
		for _, e := range entries {
			if !fileName.MatchString(e.Name()) {
				t.Errorf("%s/%s: want NNNN_name.sql", dialect, e.Name())
			}
			body, err := fs.ReadFile(migrations.FS, dialect+"/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			up := strings.Index(string(body), "-- +goose Up\n")
			down := strings.Index(string(body), "-- +goose Down\n")
			if up < 0 || down < up {
				t.Errorf("%s/%s: want a -- +goose Up section, then a -- +goose Down section", dialect, e.Name())
			}
			names[dialect] = append(names[dialect], e.Name())
		}
	}
	if !slices.Equal(names["postgres"], names["sqlite"]) {
		t.Errorf("postgres has %v, sqlite %v: every migration needs both dialects", names["postgres"], names["sqlite"])
	}
}
