package discord

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
	"github.com/xbridge/xbridge/bridge"
)

var pngHead = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")

// TestPostFileAttachesToTheThread: a customer's photo is attached to a
// thread message saying who sent it, its alt text the attachment's
// description; posting it again with the same key (a retry after a lost
// answer) returns the same message.
func TestPostFileAttachesToTheThread(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	ctx := context.Background()
	thread, err := b.a.PostCard(ctx, testForum, testCard(), "card:42")
	if err != nil {
		t.Fatal(err)
	}
	content := append(bytes.Clone(pngHead), bytes.Repeat([]byte{4}, 300000)...)
	up := func() bridge.FileUpload {
		return bridge.FileUpload{Name: "photo-3_1.png", ContentType: "image/png", Size: int64(len(content)),
			Body: bytes.NewReader(content), AltText: "a cracked sole", Caption: "Jane *Doe* sent a photo",
			OriginalURL: "https://x.com/messages/media/1", Key: "conv:42:chat.file:att:1"}
	}
	id, err := b.a.PostFile(ctx, testForum, thread, up())
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.a.PostFile(ctx, testForum, thread, up())
	if err != nil || again != id {
		t.Fatalf("the retry posted %q (%v), not the message %q", again, err, id)
	}
	var withFiles []discordsim.Message
	for _, m := range b.sim.Messages(thread) {
		if len(m.Attachments) > 0 {
			withFiles = append(withFiles, m)
		}
	}
	if len(withFiles) != 1 {
		t.Fatalf("%d messages with files", len(withFiles))
	}
	m, a := withFiles[0], withFiles[0].Attachments[0]
	if m.ID != id || m.Content != `Jane \*Doe\* sent a photo · original on X: <https://x.com/messages/media/1>` ||
		a.Filename != "photo-3_1.png" || a.Description != "a cracked sole" || a.ContentType != "image/png" || !bytes.Equal(a.Data, content) {
		t.Fatalf("message %q, attachment %+v (%d bytes)", m.Content, a.Filename, len(a.Data))
	}
	// Over Discord's limit, refused before sending.
	big := up()
	big.Size = 11 << 20
	if _, err := b.a.PostFile(ctx, testForum, thread, big); err == nil || bridge.AsDeliveryError(err).Temporary {
		t.Fatalf("oversized file: %v", err)
	}
	b.noViolations(t)
}

// TestAgentsAttachmentComesWithItsMessage: an agent's attachment reaches
// the handler with the message and downloads from its URL.
func TestAgentsAttachmentComesWithItsMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	ctx := context.Background()
	thread, err := b.a.PostCard(ctx, testForum, testCard(), "card:42")
	if err != nil {
		t.Fatal(err)
	}
	content := append(bytes.Clone(pngHead), bytes.Repeat([]byte{6}, 9000)...)
	id := b.sim.PostAsUserMessage(testAgent, thread, discordsim.UserMessage{Content: "This label:",
		Attachments: []discordsim.Attachment{{Filename: "label.png", ContentType: "image/png", Data: content}}})
	b.waitFor(t, "the message", b.h.has(id))
	m, _ := b.h.message(id)
	if len(m.Files) != 1 {
		t.Fatalf("message = %+v", m)
	}
	f := m.Files[0]
	if f.Kind != bridge.MediaPhoto || f.Name != "label.png" || f.ContentType != "image/png" || f.Size != int64(len(content)) {
		t.Fatalf("file = %+v", f)
	}
	st, err := b.a.OpenFile(ctx, f.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(st.Body)
	st.Body.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("downloaded %d bytes, %v", len(got), err)
	}
	b.noViolations(t)
}
