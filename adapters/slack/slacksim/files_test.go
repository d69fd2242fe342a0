package slacksim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

var pngHead = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")

// TestUploadedFileShowsInTheThread: a file streamed through the external
// upload flow shows in the thread's history with its sniffed type, size,
// hash and alt text.
func TestUploadedFileShowsInTheThread(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, rootTS, err := f.client.PostMessage(testChannel, slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	content := append(bytes.Clone(pngHead), bytes.Repeat([]byte{9}, 3<<20)...)
	sum, err := f.client.UploadFileContext(context.Background(), slack.UploadFileParameters{
		Filename: "sole.jpg", FileSize: len(content), Reader: bytes.NewReader(content), Title: "sole.jpg",
		AltTxt: "a cracked sole", Channel: testChannel, ThreadTimestamp: rootTS, InitialComment: "Dana sent a photo",
	})
	if err != nil || sum.ID == "" {
		t.Fatalf("upload: %+v %v", sum, err)
	}
	hash := sha256.Sum256(content)
	msgs, _, _, err := f.client.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: testChannel, Timestamp: rootTS})
	if err != nil || len(msgs) != 2 || len(msgs[1].Files) != 1 {
		t.Fatalf("replies = %+v, %v", msgs, err)
	}
	got := msgs[1].Files[0]
	// The type comes from the bytes (a PNG), not from the name.
	if got.ID != sum.ID || got.Mimetype != "image/png" || got.Size != len(content) || got.AltTxt != "a cracked sole" ||
		msgs[1].SubType != "file_share" || msgs[1].Text != "Dana sent a photo" {
		t.Fatalf("file = %+v in %+v", got, msgs[1])
	}
	if th := f.sim.Thread(testChannel, rootTS); th[0].Files[0].SHA256 != hex.EncodeToString(hash[:]) {
		t.Fatalf("hash = %s", th[0].Files[0].SHA256)
	}
	f.noViolations(t)
}

// TestSharedFileIsServedWithTheBotToken: a file an agent shares comes as
// a file_share event, and its url_private_download serves its bytes to the
// bot token only.
func TestSharedFileIsServedWithTheBotToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, rootTS, err := f.client.PostMessage(testChannel, slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	content := append(bytes.Clone(pngHead), bytes.Repeat([]byte{3}, 5000)...)
	ts := f.sim.PostFileAsUser(testAgent, testChannel, rootTS, "the label", UserFile{Name: "label.png", Data: content, AltText: "label"})
	m, ok := f.sim.Message(testChannel, ts)
	if !ok || len(m.Files) != 1 || m.Files[0].Mimetype != "image/png" || m.Files[0].User != testAgent {
		t.Fatalf("message = %+v", m)
	}
	msgs, _, _, err := f.client.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: testChannel, Timestamp: rootTS})
	if err != nil || len(msgs) != 2 {
		t.Fatal(err)
	}
	file := msgs[1].Files[0]
	var buf bytes.Buffer
	if err := f.client.GetFileContext(context.Background(), file.URLPrivateDownload, &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), content) || file.AltTxt != "label" || file.Size != len(content) {
		t.Fatalf("downloaded %d bytes of %d; file %+v", buf.Len(), len(content), file)
	}
	f.noViolations(t)
	resp, err := testHTTPClient.Get(file.URLPrivateDownload)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(strings.Join(f.sim.Violations(), ""), "without the bot token") {
		t.Fatalf("download without the token answered %d", resp.StatusCode)
	}
}
