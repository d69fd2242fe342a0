package sqlstore

import "testing"

func TestQualified(t *testing.T) {
	for _, tc := range []struct{ columns, alias, want string }{
		{"id", "c", "c.id"},
		{"id, name", "u", "u.id, u.name"},
		{"id, kind,\n\tx_key", "c", "c.id, c.kind, c.x_key"},
		{customerColumns, "u", "u.id, u.x_user_id, u.handle, u.name, u.avatar_url, u.followers, u.verified, u.updated_at"},
	} {
		if got := qualified(tc.columns, tc.alias); got != tc.want {
			t.Errorf("qualified(%q, %q) = %q, want %q", tc.columns, tc.alias, got, tc.want)
		}
	}
}
