package sqlstore

import (
	"context"
	"fmt"

	"github.com/xbridge/xbridge/bridge"
)

// attachmentColumns reads attachments.
const attachmentColumns = `id, message_id, conversation_id, direction, kind, source_url, page_url, media_key,
	name, content_type, size, alt_text, state, chat_file_id, x_media_id, expires_at, error, created_at, updated_at`

func scanAttachment(s scanner) (*bridge.Attachment, error) {
	var a bridge.Attachment
	err := s.Scan(&a.ID, &a.MessageID, &a.ConversationID, &a.Direction, &a.Kind, &a.SourceURL, &a.PageURL, &a.Key,
		&a.Name, &a.ContentType, &a.Size, &a.AltText, &a.State, &a.ChatFileID, &a.XMediaID, timeCol{&a.ExpiresAt},
		&a.Error, timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

const insertAttachment = `INSERT INTO attachments (message_id, conversation_id, direction, kind, source_url, page_url,
	media_key, name, content_type, size, alt_text, state, chat_file_id, x_media_id, expires_at, error, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`

// InsertAttachment inserts a and sets its ID.
func (t *tx) InsertAttachment(ctx context.Context, a *bridge.Attachment) error {
	if a.State == "" {
		a.State = bridge.AttachmentPending
	}
	err := queryRowQ(ctx, t.tx, insertAttachment,
		a.MessageID, a.ConversationID, a.Direction, a.Kind, a.SourceURL, a.PageURL, a.Key, a.Name, a.ContentType,
		a.Size, a.AltText, a.State, a.ChatFileID, a.XMediaID, micros(a.ExpiresAt), a.Error,
		micros(a.CreatedAt), micros(a.UpdatedAt),
	).Scan(&a.ID)
	if err != nil {
		return t.db.wrap(err, "insert attachment")
	}
	return nil
}

const updateAttachment = `UPDATE attachments SET kind = ?, source_url = ?, page_url = ?, media_key = ?, name = ?,
	content_type = ?, size = ?, alt_text = ?, state = ?, chat_file_id = ?, x_media_id = ?, expires_at = ?, error = ?,
	updated_at = ?
WHERE id = ?`

// UpdateAttachment writes a back (its message and direction never change).
func (t *tx) UpdateAttachment(ctx context.Context, a *bridge.Attachment) error {
	res, err := execQ(ctx, t.tx, updateAttachment,
		a.Kind, a.SourceURL, a.PageURL, a.Key, a.Name, a.ContentType, a.Size, a.AltText, a.State,
		a.ChatFileID, a.XMediaID, micros(a.ExpiresAt), a.Error, micros(a.UpdatedAt), a.ID)
	return t.db.updated(res, err, "attachment", a.ID)
}

const attachmentByID = `SELECT ` + attachmentColumns + ` FROM attachments WHERE id = ?`

// Attachment finds an attachment by id.
func (t *tx) Attachment(ctx context.Context, id int64) (*bridge.Attachment, error) {
	a, err := scanAttachment(queryRowQ(ctx, t.tx, attachmentByID, id))
	if err != nil {
		return nil, lookupErr(err, "attachment", id)
	}
	return a, nil
}

const attachmentsOfMessage = `SELECT ` + attachmentColumns + ` FROM attachments WHERE message_id = ? ORDER BY id`

// Attachments lists a message's files in id order.
func (t *tx) Attachments(ctx context.Context, messageID int64) ([]*bridge.Attachment, error) {
	rows, err := queryQ(ctx, t.tx, attachmentsOfMessage, messageID)
	if err != nil {
		return nil, fmt.Errorf("attachments of message %d: %w", messageID, err)
	}
	defer rows.Close()
	var out []*bridge.Attachment
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, fmt.Errorf("attachments of message %d: %w", messageID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
