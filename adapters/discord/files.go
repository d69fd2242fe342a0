package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/bridge"
)

// Files: customers' media are attached to a thread message (multipart
// files[0], with their alt text as the attachment's description); agents'
// attachments are downloaded from their CDN URL, which needs no token.

var (
	_ bridge.FilePoster = (*Adapter)(nil)
	_ bridge.FileSource = (*Adapter)(nil)
)

// maxFileSize is the largest attachment Discord takes from a bot in a
// server without boosts: 10 MiB.
const maxFileSize = 10 << 20

// MaxFileSize is the largest attachment Discord takes. It implements
// bridge.FilePoster.
func (a *Adapter) MaxFileSize() int64 { return maxFileSize }

// fileMessage is a message create body with a file's description (its alt
// text), which discordgo's MessageSend lacks.
type fileMessage struct {
	nonceMessage
	Attachments []fileMeta `json:"attachments"`
}

type fileMeta struct {
	ID          string `json:"id"` // the files[n] index
	Filename    string `json:"filename"`
	Description string `json:"description,omitempty"`
}

// PostFile posts f in the thread as a message saying who sent it, with
// the file attached. The message carries a nonce derived from f.Key, so a
// retry after a lost answer returns the message already posted. (discordgo
// builds the multipart body in memory: Discord takes at most 10 MiB.) It
// returns the message's id and implements bridge.FilePoster.
func (a *Adapter) PostFile(ctx context.Context, channel, threadID string, f bridge.FileUpload) (string, error) {
	if f.Size > maxFileSize {
		return "", &bridge.DeliveryError{Reason: fmt.Sprintf("Discord takes files up to 10 MB, not %s", bridge.FormatBytes(f.Size))}
	}
	target := threadID
	if target == "" {
		target = channel
	}
	text := escapeMarkdown(f.Caption)
	if f.OriginalURL != "" {
		text += " · original on X: <" + f.OriginalURL + ">"
	}
	msg := fileMessage{
		nonceMessage: nonceMessage{
			MessageSend:  &discordgo.MessageSend{Content: truncate(text, maxContent), AllowedMentions: noMentions()},
			Nonce:        nonceOf(f.Key),
			EnforceNonce: f.Key != "",
		},
		Attachments: []fileMeta{{ID: "0", Filename: f.Name, Description: truncate(f.AltText, 1024)}},
	}
	files := []*discordgo.File{{Name: f.Name, ContentType: f.ContentType, Reader: io.LimitReader(f.Body, maxFileSize)}}
	contentType, body, err := discordgo.MultipartBodyWithJSON(msg, files)
	if err != nil {
		return "", &bridge.DeliveryError{Temporary: true, Reason: "read the file", Err: err}
	}
	endpoint := discordgo.EndpointChannelMessages(target)
	resp, err := a.session.RequestRaw(http.MethodPost, endpoint, contentType, body, endpoint, 0, discordgo.WithContext(ctx))
	if err != nil {
		return "", deliveryError("post a file", err, a.now())
	}
	var m discordgo.Message
	if err := json.Unmarshal(resp, &m); err != nil || m.ID == "" {
		return "", &bridge.DeliveryError{Unknown: true, Reason: "Discord took the file but its answer was unreadable", Err: err}
	}
	return m.ID, nil
}

// FilePosted is never asked: PostFile names no file before it is posted
// (Began is not called); a retry relies on the message nonce. It
// implements bridge.FilePoster.
func (a *Adapter) FilePosted(context.Context, string, string, string) (bool, error) {
	return false, nil
}

// OpenFile downloads an attachment from its CDN URL, without the bot
// token, which Discord's CDN does not take. It implements
// bridge.FileSource.
func (a *Adapter) OpenFile(ctx context.Context, rawURL string) (*bridge.FileStream, error) {
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, &bridge.DeliveryError{Reason: fmt.Sprintf("%q is not an attachment URL", rawURL)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &bridge.DeliveryError{Reason: "build the download request", Err: err}
	}
	resp, err := a.downloads.Do(req)
	if err != nil {
		return nil, &bridge.DeliveryError{Temporary: true, Reason: "Discord's CDN is unreachable", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		de := &bridge.DeliveryError{Reason: fmt.Sprintf("Discord's CDN answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))}
		de.Temporary = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return nil, de
	}
	return &bridge.FileStream{Body: resp.Body, Size: resp.ContentLength, ContentType: resp.Header.Get("Content-Type")}, nil
}

// fileRefs are the attachments of a message.
func fileRefs(atts []*discordgo.MessageAttachment) []bridge.MediaRef {
	var refs []bridge.MediaRef
	for _, at := range atts {
		if at == nil || at.URL == "" {
			continue
		}
		ct := strings.TrimSpace(strings.Split(at.ContentType, ";")[0])
		refs = append(refs, bridge.MediaRef{
			Kind: bridge.MediaKindOf(ct), URL: at.URL, Key: at.ID, Name: at.Filename,
			ContentType: ct, Size: int64(at.Size),
		})
	}
	return refs
}
