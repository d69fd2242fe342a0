package x

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"

	"github.com/xbridge/xbridge/bridge"
)

var (
	_ bridge.MediaSource = (*Client)(nil)
	_ bridge.MediaSender = (*Client)(nil)
	_ bridge.MediaRules  = Rules{}
)

// --- Downloads ---

// dmMediaHosts serve DM media, to the support account's signed requests
// only.
var dmMediaHosts = []string{"ton.twitter.com", "ton.x.com"}

// OpenMedia downloads media a customer sent to account. DM media (on
// ton.twitter.com, or on the API's own host, as the simulator serves them)
// are fetched with the account's credentials; public tweet media without,
// so that the credentials go to X's API hosts only. Failures are
// *bridge.DeliveryError; downloading changes nothing, so none is of
// unknown outcome. It implements bridge.MediaSource.
func (c *Client) OpenMedia(ctx context.Context, account, rawURL string) (*bridge.FileStream, error) {
	if err := c.checkAccount(account); err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, &bridge.DeliveryError{Reason: fmt.Sprintf("%q is not a media URL", rawURL)}
	}
	client := c.plain
	if c.signsFor(u) {
		client = c.media
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &bridge.DeliveryError{Reason: "build the media request", Err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, &bridge.DeliveryError{Temporary: true, Reason: "X's media host unreachable", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, downloadError(resp.StatusCode, resp.Header, c.now())
	}
	return &bridge.FileStream{Body: resp.Body, Size: resp.ContentLength, ContentType: resp.Header.Get("Content-Type")}, nil
}

// signsFor reports whether a media URL gets the support account's
// credentials: X's DM media hosts and the API's own host.
func (c *Client) signsFor(u *url.URL) bool {
	host := strings.ToLower(u.Host)
	if api, err := url.Parse(c.apiURL); err == nil && strings.EqualFold(api.Host, u.Host) && api.Scheme == u.Scheme {
		return true
	}
	for _, h := range dmMediaHosts {
		if host == h && u.Scheme == "https" {
			return true
		}
	}
	return false
}

// downloadError explains a failed media download.
func downloadError(status int, h http.Header, now time.Time) *bridge.DeliveryError {
	switch {
	case status == http.StatusTooManyRequests:
		return &bridge.DeliveryError{Temporary: true, RateLimited: true, RetryAt: rateLimitRetryAt(h, now),
			Reason: "X rate limit reached"}
	case status >= 500:
		return &bridge.DeliveryError{Temporary: true, RetryAt: retryAfter(h, now),
			Reason: fmt.Sprintf("X's media host is unavailable (%d %s)", status, http.StatusText(status))}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &bridge.DeliveryError{Reason: fmt.Sprintf("X refused to give the media (%d %s)", status, http.StatusText(status))}
	case status == http.StatusNotFound || status == http.StatusGone:
		return &bridge.DeliveryError{Reason: "X no longer has the media"}
	}
	return &bridge.DeliveryError{Reason: fmt.Sprintf("X answered %d %s for the media", status, http.StatusText(status))}
}

// --- Uploads ---

// appendChunk is the size of each APPEND segment (X takes up to 5 MB).
const appendChunk = 4 << 20

// UploadMedia uploads a file for a DM or a tweet through X's chunked
// upload (initialize, append, finalize, and for videos and GIFs the
// processing status), streaming each segment from u.Body, then sets its
// alt text. It returns the media id and when X forgets it. A type or size
// X does not take is a permanent *bridge.DeliveryError naming the limit,
// found before anything is sent. It implements bridge.MediaSender.
func (c *Client) UploadMedia(ctx context.Context, account string, u bridge.MediaUpload) (string, time.Time, error) {
	if err := c.checkAccount(account); err != nil {
		return "", time.Time{}, err
	}
	lim, ok := limitFor(u.ContentType)
	switch {
	case !ok:
		return "", time.Time{}, &bridge.DeliveryError{Reason: "X does not take " + describeType(u.ContentType) + ": " + acceptedMedia}
	case u.Size > lim.max:
		size, max := bridge.FormatSizes(u.Size, lim.max)
		return "", time.Time{}, &bridge.DeliveryError{Reason: fmt.Sprintf("the %s is %s; X takes %ss up to %s",
			lim.noun, size, lim.noun, max)}
	case u.Size <= 0:
		return "", time.Time{}, &bridge.DeliveryError{Reason: "the file is empty"}
	}
	category := "tweet_" + lim.category
	if u.ForDM {
		category = "dm_" + lim.category
	}
	ctx, cl := c.startCall(ctx)
	var initOut struct {
		Data struct {
			ID               string `json:"id"`
			ExpiresAfterSecs int    `json:"expires_after_secs"`
		} `json:"data"`
	}
	err := c.postJSON(ctx, "/2/media/upload/initialize", map[string]any{
		"media_type": u.ContentType, "total_bytes": u.Size, "media_category": category,
	}, &initOut)
	if err != nil {
		return "", time.Time{}, cl.deliveryError("media upload", err)
	}
	id := initOut.Data.ID
	if id == "" {
		return "", time.Time{}, &bridge.DeliveryError{Temporary: true, Reason: "X started the upload without an id"}
	}
	expires := c.now().Add(time.Duration(initOut.Data.ExpiresAfterSecs) * time.Second)
	for seg, sent := 0, int64(0); sent < u.Size; seg++ {
		n := min(appendChunk, u.Size-sent)
		if err := c.appendSegment(ctx, id, seg, u.Body, n); err != nil {
			return "", time.Time{}, cl.deliveryError("media upload", err)
		}
		sent += n
	}
	var fin struct {
		Data uploadStatus `json:"data"`
	}
	if err := c.postJSON(ctx, "/2/media/upload/"+url.PathEscape(id)+"/finalize", nil, &fin); err != nil {
		return "", time.Time{}, cl.deliveryError("media upload", err)
	}
	if err := c.awaitProcessing(ctx, cl, id, fin.Data); err != nil {
		return "", time.Time{}, err
	}
	if u.AltText != "" {
		body := map[string]any{"id": id, "metadata": map[string]any{"alt_text": map[string]any{"text": shorten(u.AltText, 1000)}}}
		var ignored json.RawMessage
		if err := c.postJSON(ctx, "/2/media/metadata", body, &ignored); err != nil {
			return "", time.Time{}, cl.deliveryError("media alt text", err)
		}
	}
	c.logger.Debug("media uploaded", "media_id", id, "category", category, "bytes", u.Size)
	return id, expires, nil
}

// uploadStatus is the data of FINALIZE and STATUS answers.
type uploadStatus struct {
	ProcessingInfo *struct {
		State          string `json:"state"`
		CheckAfterSecs int    `json:"check_after_secs"`
		Error          *struct {
			Message string `json:"message"`
		} `json:"error"`
	} `json:"processing_info"`
}

// awaitProcessing polls the status of a video or GIF until X has
// processed it.
func (c *Client) awaitProcessing(ctx context.Context, cl *call, id string, st uploadStatus) error {
	for st.ProcessingInfo != nil {
		switch st.ProcessingInfo.State {
		case "succeeded":
			return nil
		case "failed":
			why := "X could not process the media"
			if e := st.ProcessingInfo.Error; e != nil && e.Message != "" {
				why += ": " + e.Message
			}
			return &bridge.DeliveryError{Reason: why}
		}
		wait := time.Duration(max(st.ProcessingInfo.CheckAfterSecs, 1)) * time.Second
		select {
		case <-ctx.Done():
			return &bridge.DeliveryError{Temporary: true, Reason: "X was still processing the media", Err: ctx.Err()}
		case <-time.After(wait):
		}
		var out struct {
			Data uploadStatus `json:"data"`
		}
		q := url.Values{"command": {"STATUS"}, "media_id": {id}}
		if err := c.getJSON(ctx, "/2/media/upload", q, &out); err != nil {
			return cl.deliveryError("media upload", err)
		}
		st = out.Data
	}
	return nil
}

// appendSegment sends one APPEND segment of n bytes as
// multipart/form-data, streamed from r, with its length announced.
func (c *Client) appendSegment(ctx context.Context, id string, seg int, r io.Reader, n int64) error {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.WriteField("segment_index", strconv.Itoa(seg)); err != nil {
		return err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="media"; filename="blob"`)
	h.Set("Content-Type", "application/octet-stream")
	if _, err := mw.CreatePart(h); err != nil {
		return err
	}
	head := bytes.Clone(b.Bytes())
	b.Reset()
	if err := mw.Close(); err != nil {
		return err
	}
	tail := b.Bytes()
	body := io.MultiReader(bytes.NewReader(head), io.LimitReader(r, n), bytes.NewReader(tail))
	u := c.apiURL + "/2/media/upload/" + url.PathEscape(id) + "/append"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(head)) + n + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	var out json.RawMessage
	return c.doJSONWith(c.media, req, &out)
}

// postJSON POSTs body (nothing when nil) as JSON and decodes the answer.
func (c *Client) postJSON(ctx context.Context, path string, body, out any) error {
	var r io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return c.doJSON(req, out)
}

// SendDMMedia sends a DM carrying uploaded media (X takes one per DM),
// with text when there is any. It implements bridge.MediaSender.
func (c *Client) SendDMMedia(ctx context.Context, account, recipientID, text string, mediaIDs []string) (string, error) {
	return c.sendDM(ctx, account, recipientID, text, mediaIDs)
}

// ReplyMedia posts a public reply carrying uploaded media. It implements
// bridge.MediaSender.
func (c *Client) ReplyMedia(ctx context.Context, account, inReplyToID, text string, mediaIDs []string) (string, error) {
	return c.reply(ctx, account, inReplyToID, text, mediaIDs)
}

// --- X's limits ---

// mediaLimit is what X takes of one kind of media.
type mediaLimit struct {
	category string // media_category without its dm_/tweet_ prefix
	noun     string
	max      int64
}

// X's media limits: images (JPEG, PNG, WebP) up to 5 MB, GIFs up to
// 15 MB, videos (MP4, MOV) up to 512 MB.
var mediaLimits = map[string]mediaLimit{
	"image/jpeg":      {"image", "image", 5 << 20},
	"image/png":       {"image", "image", 5 << 20},
	"image/webp":      {"image", "image", 5 << 20},
	"image/gif":       {"gif", "GIF", 15 << 20},
	"video/mp4":       {"video", "video", 512 << 20},
	"video/quicktime": {"video", "video", 512 << 20},
}

// acceptedMedia says what X takes.
const acceptedMedia = "X takes images (JPEG, PNG, WebP) up to 5 MB, GIFs up to 15 MB and videos (MP4, MOV) up to 512 MB"

func limitFor(contentType string) (mediaLimit, bool) {
	if contentType == "image/pjpeg" {
		contentType = "image/jpeg"
	}
	l, ok := mediaLimits[contentType]
	return l, ok
}

func describeType(contentType string) string {
	if contentType == "" {
		return "files of an unknown type"
	}
	return contentType + " files"
}

// CheckMedia refuses files X would not take in a reply of that kind, with
// the limit named: a DM carries one file, a public reply up to four
// images or one video or GIF; each file must be an image, GIF or video of
// a type and size X takes. A file whose type is not known yet passes: its
// type is sniffed from its bytes before it is uploaded. It implements
// bridge.MediaRules.
func (Rules) CheckMedia(kind bridge.Kind, files []bridge.MediaRef) error {
	photos := 0
	for _, f := range files {
		name := "The file"
		if f.Name != "" {
			name += " " + f.Name
		}
		if f.ContentType == "" {
			continue
		}
		lim, ok := limitFor(f.ContentType)
		if !ok {
			return bridge.Errorf(bridge.EINVALID, "%s is %s, which X does not take: %s.", name, f.ContentType, acceptedMedia)
		}
		if f.Size > lim.max {
			size, max := bridge.FormatSizes(f.Size, lim.max)
			return bridge.Errorf(bridge.EINVALID, "%s is %s; X takes %ss up to %s.", name, size, lim.noun, max)
		}
		if lim.category == "image" {
			photos++
		}
	}
	switch {
	case kind == bridge.KindDM && len(files) > 1:
		return bridge.Errorf(bridge.EINVALID, "X sends one file per DM; this message has %d. Share them one at a time.", len(files))
	case kind == bridge.KindMention && (len(files) > 4 || len(files) > 1 && photos != len(files)):
		return bridge.Errorf(bridge.EINVALID, "A public reply carries up to 4 images or one video or GIF; this message has %d files.", len(files))
	}
	return nil
}

// --- Media in payloads ---

// v1Media is a media entity of the v1.1 payloads of the Account Activity
// API: a DM's message_data.attachment.media, a tweet's
// extended_entities.media.
type v1Media struct {
	IDStr         string  `json:"id_str"`
	MediaURLHTTPS string  `json:"media_url_https"`
	URL           string  `json:"url"` // the t.co link in the text
	ExpandedURL   string  `json:"expanded_url"`
	Type          string  `json:"type"` // photo, animated_gif, video
	ExtAltText    *string `json:"ext_alt_text"`
	VideoInfo     *struct {
		Variants []struct {
			Bitrate     int    `json:"bitrate"`
			ContentType string `json:"content_type"`
			URL         string `json:"url"`
		} `json:"variants"`
	} `json:"video_info"`
}

// ref converts a v1.1 media entity: a photo's media_url_https, the MP4
// variant of the highest bit rate of a video or GIF.
func (m v1Media) ref() (bridge.MediaRef, bool) {
	r := bridge.MediaRef{Kind: mediaKind(m.Type), PageURL: m.ExpandedURL, Key: mediaKeyPrefix(m.Type) + m.IDStr}
	if m.ExtAltText != nil {
		r.AltText = *m.ExtAltText
	}
	if r.Kind == bridge.MediaPhoto {
		r.URL = m.MediaURLHTTPS
	} else if m.VideoInfo != nil {
		best := -1
		for _, v := range m.VideoInfo.Variants {
			if v.ContentType == "video/mp4" && v.Bitrate > best {
				best, r.URL, r.ContentType = v.Bitrate, v.URL, v.ContentType
			}
		}
	}
	return r, r.URL != ""
}

// v1MediaRefs converts v1.1 media entities and strips their t.co links
// from the end of the text, where X puts them.
func v1MediaRefs(text string, media []v1Media) (string, []bridge.MediaRef) {
	var refs []bridge.MediaRef
	for _, m := range media {
		if r, ok := m.ref(); ok {
			refs = append(refs, r)
		}
		if m.URL != "" {
			text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), m.URL))
		}
	}
	return text, refs
}

// v2MediaRefs converts the media of a v2 DM event or tweet: a photo's url,
// the MP4 variant of the highest bit rate of a video or GIF.
func v2MediaRefs(keys []string, byKey map[string]*twitter.MediaObj, pageURL string) []bridge.MediaRef {
	var refs []bridge.MediaRef
	for _, k := range keys {
		m := byKey[k]
		if m == nil {
			continue
		}
		r := bridge.MediaRef{Kind: mediaKind(m.Type), Key: m.Key, AltText: m.AltText, PageURL: pageURL}
		if r.Kind == bridge.MediaPhoto {
			r.URL = m.URL
		} else {
			best := -1
			for _, v := range m.Variants {
				if v != nil && v.ContentType == "video/mp4" && v.BitRate > best {
					best, r.URL, r.ContentType = v.BitRate, v.URL, v.ContentType
				}
			}
		}
		if r.URL != "" {
			refs = append(refs, r)
		}
	}
	return refs
}

// mediaByKey indexes expanded media by media key.
func mediaByKey(media []*twitter.MediaObj) map[string]*twitter.MediaObj {
	out := make(map[string]*twitter.MediaObj, len(media))
	for _, m := range media {
		if m != nil {
			out[m.Key] = m
		}
	}
	return out
}

func mediaKind(xType string) bridge.MediaKind {
	switch xType {
	case "animated_gif":
		return bridge.MediaGIF
	case "video":
		return bridge.MediaVideo
	}
	return bridge.MediaPhoto
}

// mediaKeyPrefix is the prefix of X's media keys for a media type.
func mediaKeyPrefix(xType string) string {
	switch xType {
	case "animated_gif":
		return "16_"
	case "video":
		return "7_"
	}
	return "3_"
}

// mediaFields are the media fields asked for wherever media are expanded.
var mediaFields = []twitter.MediaField{
	twitter.MediaFieldMediaKey, twitter.MediaFieldType, twitter.MediaFieldURL, twitter.MediaFieldPreviewImageURL,
	twitter.MediaFieldAltText, twitter.MediaFieldVariants,
}

// dmPageURL is where the support account sees a DM conversation on X.
func dmPageURL(conversationID string) string {
	if conversationID == "" {
		return ""
	}
	return "https://x.com/messages/" + conversationID
}

// tweetPageURL is where a tweet is seen on X.
func tweetPageURL(id string) string { return "https://x.com/i/web/status/" + id }
