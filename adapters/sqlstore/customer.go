package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/lib/pq"

	"github.com/xbridge/xbridge/bridge"
)

const customerColumns = `id, x_user_id, handle, name, avatar_url, followers, verified, updated_at`

func scanCustomer(s scanner) (*bridge.Customer, error) {
	var c bridge.Customer
	if err := s.Scan(customerDest(&c)...); err != nil {
		return nil, err
	}
	return &c, nil
}

// customerDest is where the customerColumns of a row go.
func customerDest(c *bridge.Customer) []any {
	return []any{&c.ID, &c.XUserID, &c.Handle, &c.Name, &c.AvatarURL, &c.Followers, &c.Verified, timeCol{&c.UpdatedAt}}
}

const upsertCustomer = `INSERT INTO customers (x_user_id, handle, name, avatar_url, followers, verified, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (x_user_id) DO UPDATE SET
	handle = excluded.handle, name = excluded.name, avatar_url = excluded.avatar_url,
	followers = excluded.followers, verified = excluded.verified, updated_at = excluded.updated_at
RETURNING id`

// UpsertCustomer inserts or refreshes a customer by XUserID, setting ID.
func (t *tx) UpsertCustomer(ctx context.Context, c *bridge.Customer) error {
	err := queryRowQ(ctx, t.tx, upsertCustomer,
		c.XUserID, c.Handle, c.Name, c.AvatarURL, c.Followers, c.Verified, micros(c.UpdatedAt),
	).Scan(&c.ID)
	if err != nil {
		return t.db.wrap(err, fmt.Sprintf("upsert customer %s", c.XUserID))
	}
	return nil
}

const upsertCustomersPostgres = `INSERT INTO customers (x_user_id, handle, name, avatar_url, followers, verified, updated_at)
SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::boolean[], ?::bigint[])
ON CONFLICT (x_user_id) DO UPDATE SET
	handle = excluded.handle, name = excluded.name, avatar_url = excluded.avatar_url,
	followers = excluded.followers, verified = excluded.verified, updated_at = excluded.updated_at
RETURNING id, x_user_id`

// UpsertCustomers upserts several customers: on Postgres in one statement,
// taking the rows' locks in x_user_id order so that concurrent batches
// cannot deadlock on them; on SQLite one by one.
func (t *tx) UpsertCustomers(ctx context.Context, cs ...*bridge.Customer) error {
	if t.db.dialect.name() != "postgres" {
		for _, c := range cs {
			if err := t.UpsertCustomer(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
	last := make(map[string]*bridge.Customer, len(cs))
	for _, c := range cs {
		last[c.XUserID] = c
	}
	rows := make([]*bridge.Customer, 0, len(last))
	for _, c := range last {
		rows = append(rows, c)
	}
	slices.SortFunc(rows, func(a, b *bridge.Customer) int { return cmp.Compare(a.XUserID, b.XUserID) })
	var (
		xids, handles, names, avatars []string
		followers, updated            []int64
		verified                      []bool
	)
	for _, c := range rows {
		xids, handles, names, avatars = append(xids, c.XUserID), append(handles, c.Handle), append(names, c.Name), append(avatars, c.AvatarURL)
		followers, verified, updated = append(followers, int64(c.Followers)), append(verified, c.Verified), append(updated, micros(c.UpdatedAt))
	}
	res, err := queryQ(ctx, t.tx, upsertCustomersPostgres, pq.Array(xids), pq.Array(handles), pq.Array(names),
		pq.Array(avatars), pq.Array(followers), pq.Array(verified), pq.Array(updated))
	if err != nil {
		return t.db.wrap(err, fmt.Sprintf("upsert %d customers", len(rows)))
	}
	defer res.Close()
	ids := make(map[string]int64, len(rows))
	for res.Next() {
		var (
			id  int64
			xid string
		)
		if err := res.Scan(&id, &xid); err != nil {
			return fmt.Errorf("upsert customers: %w", err)
		}
		ids[xid] = id
	}
	if err := res.Err(); err != nil {
		return t.db.wrap(err, "upsert customers")
	}
	for _, c := range cs {
		if c.ID = ids[c.XUserID]; c.ID == 0 {
			return fmt.Errorf("upsert customers: no id for %s", c.XUserID)
		}
	}
	return nil
}

const customerByID = `SELECT ` + customerColumns + ` FROM customers WHERE id = ?`

// Customer finds a customer by id.
func (t *tx) Customer(ctx context.Context, id int64) (*bridge.Customer, error) {
	c, err := scanCustomer(queryRowQ(ctx, t.tx, customerByID, id))
	if err != nil {
		return nil, lookupErr(err, "customer", id)
	}
	return c, nil
}

const customerByXUserID = `SELECT ` + customerColumns + ` FROM customers WHERE x_user_id = ?`

// CustomerByXUserID finds a customer by X user id.
func (t *tx) CustomerByXUserID(ctx context.Context, xUserID string) (*bridge.Customer, error) {
	c, err := scanCustomer(queryRowQ(ctx, t.tx, customerByXUserID, xUserID))
	if err != nil {
		return nil, lookupErr(err, "customer with X id", xUserID)
	}
	return c, nil
}
