package sqlstore

import (
	"context"
	"fmt"

	"github.com/xbridge/xbridge/bridge"
)

const customerColumns = `id, x_user_id, handle, name, avatar_url, followers, verified, updated_at`

func scanCustomer(s scanner) (*bridge.Customer, error) {
	var c bridge.Customer
	err := s.Scan(&c.ID, &c.XUserID, &c.Handle, &c.Name, &c.AvatarURL, &c.Followers, &c.Verified,
		timeCol{&c.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &c, nil
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
