package sqlstore

import (
	"context"
	"fmt"

	"github.com/xbridge/xbridge/bridge"
)

const previewColumns = `id, conversation_id, name, text, platform, actor_id, state, message_id, created_at, updated_at`

const insertPreview = `INSERT INTO reply_previews (conversation_id, name, text, platform, actor_id, state,
	message_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// InsertPreview inserts a reply preview and sets its ID.
func (t *tx) InsertPreview(ctx context.Context, p *bridge.ReplyPreview) error {
	err := queryRowQ(ctx, t.tx, insertPreview, p.ConversationID, p.Name, p.Text, p.Platform, p.ActorID,
		p.State, p.MessageID, micros(p.CreatedAt), micros(p.UpdatedAt)).Scan(&p.ID)
	if err != nil {
		return t.db.wrap(err, "insert reply preview")
	}
	return nil
}

// Preview finds a reply preview by id.
func (t *tx) Preview(ctx context.Context, id int64) (*bridge.ReplyPreview, error) {
	var p bridge.ReplyPreview
	err := queryRowQ(ctx, t.tx, `SELECT `+previewColumns+` FROM reply_previews WHERE id = ?`, id).Scan(
		&p.ID, &p.ConversationID, &p.Name, &p.Text, &p.Platform, &p.ActorID, &p.State, &p.MessageID,
		timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	if err != nil {
		return nil, lookupErr(err, "reply preview", id)
	}
	return &p, nil
}

const updatePreview = `UPDATE reply_previews SET state = ?, message_id = ?, updated_at = ?
WHERE id = ? AND state = ?`

// UpdatePreview writes back a preview's state if it is still fromState.
func (t *tx) UpdatePreview(ctx context.Context, p *bridge.ReplyPreview, fromState bridge.PreviewState) error {
	res, err := execQ(ctx, t.tx, updatePreview, p.State, p.MessageID, micros(p.UpdatedAt), p.ID, fromState)
	if err != nil {
		return t.db.wrap(err, fmt.Sprintf("update reply preview %d", p.ID))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update reply preview %d: %w", p.ID, err)
	} else if n == 0 {
		return bridge.Errorf(bridge.ECONFLICT, "reply preview %d is no longer %s", p.ID, fromState)
	}
	return nil
}
