package sqlstore_test

import (
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/sqlstore"
	"github.com/xbridge/xbridge/bridge"
)

func init() {
	suiteTests = append(suiteTests, suiteTest{"Attachments", testAttachments})
}

func testAttachments(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	conv := addConversation(t, db, addCustomer(t, db, "42"), "dm-1")
	msg := &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionIn, Text: "(sent a photo)", CreatedAt: t0}
	other := &bridge.Message{ConversationID: conv.ID, Direction: bridge.DirectionOut, Text: "here", CreatedAt: t0}
	photo := &bridge.Attachment{ConversationID: conv.ID, Direction: bridge.DirectionIn, Kind: bridge.MediaPhoto,
		SourceURL: "https://ton.x.com/dm/1/2.jpg", PageURL: "https://x.com/messages/media/1", Key: "3_1",
		ContentType: "image/jpeg", AltText: "a cracked sole", CreatedAt: t0, UpdatedAt: t0}
	video := &bridge.Attachment{ConversationID: conv.ID, Direction: bridge.DirectionIn, Kind: bridge.MediaVideo,
		SourceURL: "https://video.x.com/v.mp4", Key: "7_2", CreatedAt: t0, UpdatedAt: t0}
	file := &bridge.Attachment{ConversationID: conv.ID, Direction: bridge.DirectionOut, Kind: bridge.MediaPhoto,
		SourceURL: "https://files.slack.com/F1/a.png", Name: "a.png", Size: 1234, CreatedAt: t0, UpdatedAt: t0}
	inTx(t, db, func(tx bridge.Tx) error {
		for _, m := range []*bridge.Message{msg, other} {
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
		}
		photo.MessageID, video.MessageID, file.MessageID = msg.ID, msg.ID, other.ID
		for _, a := range []*bridge.Attachment{photo, video, file} {
			if err := tx.InsertAttachment(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if photo.ID == 0 || video.ID <= photo.ID || photo.State != bridge.AttachmentPending {
		t.Fatalf("inserted ids %d, %d, state %q", photo.ID, video.ID, photo.State)
	}
	// The transfer records what the platforms created.
	photo.State, photo.ChatFileID, photo.Size, photo.ContentType = bridge.AttachmentDone, "F0123", 48213, "image/png"
	photo.UpdatedAt = t0.Add(time.Minute)
	file.State, file.XMediaID, file.ExpiresAt = bridge.AttachmentDone, "1880028106020515840", t0.Add(24*time.Hour)
	video.State, video.Error = bridge.AttachmentLinked, "over the 10 MB files may have here"
	inTx(t, db, func(tx bridge.Tx) error {
		for _, a := range []*bridge.Attachment{photo, video, file} {
			if err := tx.UpdateAttachment(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	inTx(t, db, func(tx bridge.Tx) error {
		got, err := tx.Attachments(ctx, msg.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "attachments of the message", got, []*bridge.Attachment{photo, video})
		one, err := tx.Attachment(ctx, file.ID)
		if err != nil {
			return err
		}
		mustEqual(t, "attachment by id", one, file)
		none, err := tx.Attachments(ctx, 999)
		if err != nil || len(none) != 0 {
			t.Fatalf("attachments of an unknown message = %v, %v", none, err)
		}
		_, err = tx.Attachment(ctx, 999)
		wantCode(t, err, bridge.ENOTFOUND)
		err = tx.UpdateAttachment(ctx, &bridge.Attachment{ID: 999})
		wantCode(t, err, bridge.ENOTFOUND)
		return nil
	})
}
