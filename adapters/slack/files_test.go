package slack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/bridge"
)

var pngHead = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")

// TestPostFileStreamsIntoTheThread: a customer's photo goes into the
// thread through the external upload flow, with who sent it, its alt text
// and its link on X; the file is known by the id Began was told.
func TestPostFileStreamsIntoTheThread(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	ctx := context.Background()
	thread, err := b.adapter.Post(ctx, testChannel, "", bridge.Post{Kind: bridge.PostNotice, Text: "card"})
	if err != nil {
		t.Fatal(err)
	}
	content := append(bytes.Clone(pngHead), bytes.Repeat([]byte{5}, 200000)...)
	var began string
	id, err := b.adapter.PostFile(ctx, testChannel, thread, bridge.FileUpload{
		Name: "photo-3_1.png", ContentType: "image/png", Size: int64(len(content)), Body: bytes.NewReader(content),
		AltText: "a <cracked> sole", Caption: "Dana sent a photo", OriginalURL: "https://x.com/messages/media/1",
		Began: func(fileID string) { began = fileID },
	})
	if err != nil || id == "" || id != began {
		t.Fatalf("PostFile = %q, %v (began %q)", id, err, began)
	}
	th := b.sim.Thread(testChannel, thread)
	sum := sha256.Sum256(content)
	if len(th) != 1 || len(th[0].Files) != 1 {
		t.Fatalf("thread = %+v", th)
	}
	f := th[0].Files[0]
	if f.ID != id || f.Mimetype != "image/png" || f.SHA256 != hex.EncodeToString(sum[:]) || f.AltText != "a <cracked> sole" {
		t.Fatalf("file = %+v", f)
	}
	want := "Dana sent a photo\n_Alt text:_ a &lt;cracked&gt; sole · <https://x.com/messages/media/1|original on X>"
	if th[0].Text != want {
		t.Fatalf("comment = %q, want %q", th[0].Text, want)
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{{id, true}, {"F999", false}} {
		if got, err := b.adapter.FilePosted(ctx, testChannel, thread, tc.id); err != nil || got != tc.want {
			t.Fatalf("FilePosted(%s) = %v, %v", tc.id, got, err)
		}
	}
	noViolations(t, b)
}

// TestAgentsFileComesWithItsMessageAndDownloads: a file an agent shares in
// a thread reaches the handler with the message, and downloads with the
// bot token.
func TestAgentsFileComesWithItsMessageAndDownloads(t *testing.T) {
	t.Parallel()
	b := setup(t, httpMode)
	ctx := context.Background()
	thread, err := b.adapter.Post(ctx, testChannel, "", bridge.Post{Kind: bridge.PostNotice, Text: "card"})
	if err != nil {
		t.Fatal(err)
	}
	content := append(bytes.Clone(pngHead), bytes.Repeat([]byte{8}, 70000)...)
	ts := b.sim.PostFileAsUser(testAgent, testChannel, thread, "This label:", slacksim.UserFile{Name: "label.png", Data: content, AltText: "the label"})
	b.waitFor(t, "the file_share message", b.h.has(ts))
	m, _ := b.h.Message(ts)
	if m.Text != "This label:" || len(m.Files) != 1 {
		t.Fatalf("message = %+v", m)
	}
	f := m.Files[0]
	if f.Kind != bridge.MediaPhoto || f.Name != "label.png" || f.ContentType != "image/png" || f.Size != int64(len(content)) ||
		f.AltText != "the label" || f.Key == "" || !strings.Contains(f.URL, "/download/") {
		t.Fatalf("file = %+v", f)
	}
	st, err := b.adapter.OpenFile(ctx, f.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(st.Body)
	st.Body.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("downloaded %d bytes, %v", len(got), err)
	}
	noViolations(t, b)
	// A file Slack does not have is a permanent failure.
	_, err = b.adapter.OpenFile(ctx, strings.Replace(f.URL, f.Key, "F404", 1))
	if de := bridge.AsDeliveryError(err); err == nil || de.Temporary {
		t.Fatalf("download of a missing file = %v", err)
	}
}

func noViolations(t *testing.T, b *bundle) {
	t.Helper()
	for _, v := range b.sim.Violations() {
		t.Errorf("slacksim violation: %s", v)
	}
}
