package slack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/xbridge/xbridge/bridge"
)

// Files: customers' media go into threads through Slack's external upload
// flow (files.getUploadURLExternal, the bytes streamed to the URL it
// gives, files.completeUploadExternal into the thread); agents' files are
// downloaded from their url_private with the bot token. Neither holds a
// file in memory.

var (
	_ bridge.FilePoster = (*Adapter)(nil)
	_ bridge.FileSource = (*Adapter)(nil)
)

// maxFileSize is the largest file Slack takes: 1 GB.
const maxFileSize = 1 << 30

// MaxFileSize is the largest file Slack takes. It implements
// bridge.FilePoster.
func (a *Adapter) MaxFileSize() int64 { return maxFileSize }

// PostFile uploads f and shares it in the thread, with a comment saying who
// sent it, its alt text and where it is on X. f.Began learns the file's
// id before its bytes are sent. It returns the file's id and implements
// bridge.FilePoster.
func (a *Adapter) PostFile(ctx context.Context, channel, threadID string, f bridge.FileUpload) (string, error) {
	if f.Size <= 0 || f.Size > maxFileSize {
		return "", &bridge.DeliveryError{Reason: fmt.Sprintf("Slack takes files of 1 byte to 1 GB, not %d bytes", f.Size)}
	}
	up, err := a.files.GetUploadURLExternalContext(ctx, slackapi.GetUploadURLExternalParameters{
		FileName: f.Name, FileSize: int(f.Size), AltTxt: truncate(f.AltText, 1000),
	})
	if err != nil {
		return "", deliveryError("start a file upload", err, a.now())
	}
	if f.Began != nil {
		f.Began(up.FileID)
	}
	err = a.files.UploadToURL(ctx, slackapi.UploadToURLParameters{UploadURL: up.UploadURL, Reader: f.Body, Filename: f.Name})
	if err != nil {
		return "", deliveryError("upload a file", err, a.now())
	}
	_, err = a.files.CompleteUploadExternalContext(ctx, slackapi.CompleteUploadExternalParameters{
		Files:   []slackapi.FileSummary{{ID: up.FileID, Title: f.Name}},
		Channel: channel, ThreadTimestamp: threadID, InitialComment: fileComment(f),
	})
	if err != nil {
		return "", deliveryError("share a file", err, a.now())
	}
	return up.FileID, nil
}

// fileComment is the message a file is shared with: who sent it, its alt
// text, and a link to it on X. Text from the bridge is escaped.
func fileComment(f bridge.FileUpload) string {
	var b strings.Builder
	b.WriteString(escape(f.Caption))
	if f.AltText != "" {
		b.WriteString("\n_Alt text:_ " + escape(f.AltText))
	}
	if f.OriginalURL != "" && !strings.ContainsAny(f.OriginalURL, "<>|") {
		b.WriteString(" · <" + f.OriginalURL + "|original on X>")
	}
	return b.String()
}

// FilePosted reports whether the file fileID was shared in the thread: it
// reads the thread's replies. It implements bridge.FilePoster.
func (a *Adapter) FilePosted(ctx context.Context, channel, threadID, fileID string) (bool, error) {
	params := &slackapi.GetConversationRepliesParameters{ChannelID: channel, Timestamp: threadID, Limit: 200}
	for {
		msgs, more, cursor, err := a.api.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return false, deliveryError("read the thread", err, a.now())
		}
		for _, m := range msgs {
			for _, f := range m.Files {
				if f.ID == fileID {
					return true, nil
				}
			}
		}
		if !more || cursor == "" {
			return false, nil
		}
		params.Cursor = cursor
	}
}

// OpenFile downloads a file an agent shared, from its url_private, with
// the bot token (slack-go sends the token to Slack's hosts or the API's
// only). It implements bridge.FileSource.
func (a *Adapter) OpenFile(ctx context.Context, url string) (*bridge.FileStream, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(a.files.GetFileContext(ctx, url, pw))
	}()
	// The first byte, or the failure, comes before the stream is handed
	// on: a refusal is reported as such, not as a broken file.
	br := bufio.NewReader(pr)
	if _, err := br.Peek(1); err != nil && !errors.Is(err, io.EOF) {
		pr.Close()
		return nil, deliveryError("download a file", err, a.now())
	}
	return &bridge.FileStream{Body: readCloser{br, pr}, Size: -1}, nil
}

// readCloser reads through a buffer and closes the pipe under it.
type readCloser struct {
	io.Reader
	io.Closer
}

// fileRefs are the files shared with a message.
func fileRefs(m *slackapi.Msg) []bridge.MediaRef {
	if m == nil {
		return nil
	}
	var refs []bridge.MediaRef
	for _, f := range m.Files {
		if f.Mode == "tombstone" || f.ID == "" {
			continue // a deleted file
		}
		url := f.URLPrivateDownload
		if url == "" {
			url = f.URLPrivate
		}
		refs = append(refs, bridge.MediaRef{
			Kind: bridge.MediaKindOf(f.Mimetype), URL: url, PageURL: f.Permalink, Key: f.ID, Name: f.Name,
			ContentType: f.Mimetype, Size: int64(f.Size), AltText: f.AltTxt,
		})
	}
	return refs
}
