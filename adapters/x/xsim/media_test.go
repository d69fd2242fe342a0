package xsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	twitter "github.com/g8rswimmer/go-twitter/v2"
)

// mediaFields asks for every media field the bridge reads.
const mediaFields = "media.fields=media_key,type,url,preview_image_url,alt_text,variants,width,height"

// doBody sends a request with a raw body of the given content type.
func (f *fixture) doBody(t *testing.T, method, path, contentType string, body []byte, a auth) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return f.send(t, req, a)
}

// get GETs an absolute URL (such as a media URL), with extra headers.
func (f *fixture) get(t *testing.T, method, url string, a auth, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return f.send(t, req, a)
}

func (f *fixture) send(t *testing.T, req *http.Request, a auth) (*http.Response, []byte) {
	t.Helper()
	client := testHTTPClient
	switch a {
	case bearer:
		req.Header.Set("Authorization", "Bearer "+testUserToken)
	case oauth1:
		client = &http.Client{Transport: &oauth1Transport{}}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// multipartForm builds a multipart/form-data body with text fields and a
// "media" file part of content type partType (the part has no content type
// when partType is "", and no filename either then).
func multipartForm(t *testing.T, buf *bytes.Buffer, fields map[string]string, media []byte, partType string) string {
	t.Helper()
	buf.Reset()
	mw := multipart.NewWriter(buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if media != nil {
		h := textproto.MIMEHeader{}
		if partType != "" {
			h.Set("Content-Disposition", `form-data; name="media"; filename="blob"`)
			h.Set("Content-Type", partType)
		} else {
			h.Set("Content-Disposition", `form-data; name="media"`)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(media)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType()
}

// uploadData is the data of an upload answer.
type uploadData struct {
	Data struct {
		ID               string `json:"id"`
		MediaKey         string `json:"media_key"`
		Size             int64  `json:"size"`
		ExpiresAfterSecs int    `json:"expires_after_secs"`
		ProcessingInfo   *struct {
			State          string `json:"state"`
			CheckAfterSecs int    `json:"check_after_secs"`
		} `json:"processing_info"`
	} `json:"data"`
}

// initUpload starts a chunked upload and returns its media id.
func (f *fixture) initUpload(t *testing.T, category, mediaType string, total int64) string {
	t.Helper()
	resp, body := f.do(t, http.MethodPost, "/2/media/upload/initialize",
		map[string]any{"media_type": mediaType, "total_bytes": total, "media_category": category}, oauth1)
	mustStatus(t, resp, body, http.StatusOK)
	var out uploadData
	decode(t, body, &out)
	if out.Data.ID == "" || !strings.HasSuffix(out.Data.MediaKey, "_"+out.Data.ID) || out.Data.ExpiresAfterSecs <= 0 {
		t.Fatalf("initialize answered %s", body)
	}
	return out.Data.ID
}

// appendChunk appends one segment as multipart/form-data.
func (f *fixture) appendChunk(t *testing.T, id string, seg int, chunk []byte, buf *bytes.Buffer, a auth) (*http.Response, []byte) {
	t.Helper()
	ct := multipartForm(t, buf, map[string]string{"segment_index": strconv.Itoa(seg)}, chunk, "application/octet-stream")
	return f.doBody(t, http.MethodPost, "/2/media/upload/"+id+"/append", ct, buf.Bytes(), a)
}

// uploadImage uploads data in segments of chunk bytes and finalizes it.
func (f *fixture) uploadImage(t *testing.T, category, mediaType string, data []byte, chunk int) string {
	t.Helper()
	id := f.initUpload(t, category, mediaType, int64(len(data)))
	var buf bytes.Buffer
	for seg := 0; seg*chunk < len(data); seg++ {
		resp, body := f.appendChunk(t, id, seg, data[seg*chunk:min(len(data), (seg+1)*chunk)], &buf, bearer)
		mustStatus(t, resp, body, http.StatusOK)
	}
	resp, body := f.do(t, http.MethodPost, "/2/media/upload/"+id+"/finalize", nil, oauth1)
	mustStatus(t, resp, body, http.StatusOK)
	return id
}

type mediaObj struct {
	MediaKey        string `json:"media_key"`
	Type            string `json:"type"`
	URL             string `json:"url"`
	PreviewImageURL string `json:"preview_image_url"`
	AltText         string `json:"alt_text"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
	Variants        []struct {
		BitRate     *int   `json:"bit_rate"`
		ContentType string `json:"content_type"`
		URL         string `json:"url"`
	} `json:"variants"`
}

type mediaDMPage struct {
	Data []struct {
		ID          string `json:"id"`
		Text        string `json:"text"`
		SenderID    string `json:"sender_id"`
		Attachments struct {
			MediaKeys []string `json:"media_keys"`
		} `json:"attachments"`
	} `json:"data"`
	Includes struct {
		Media []mediaObj `json:"media"`
	} `json:"includes"`
}

// dmMedia lists the DM events with their media.
func (f *fixture) dmMedia(t *testing.T) mediaDMPage {
	t.Helper()
	resp, body := f.do(t, http.MethodGet, "/2/dm_events?dm_event.fields=id,text,sender_id,attachments&expansions=attachments.media_keys&"+mediaFields, nil, oauth1)
	mustStatus(t, resp, body, http.StatusOK)
	var page mediaDMPage
	decode(t, body, &page)
	return page
}

// v1Media is a v1.1 media entity of a webhook payload.
type v1Media struct {
	IDStr         string  `json:"id_str"`
	MediaURLHTTPS string  `json:"media_url_https"`
	Type          string  `json:"type"`
	ExtAltText    *string `json:"ext_alt_text"`
	VideoInfo     *struct {
		Variants []struct {
			Bitrate     int    `json:"bitrate"`
			ContentType string `json:"content_type"`
			URL         string `json:"url"`
		} `json:"variants"`
	} `json:"video_info"`
}

// dmPayloadMedia returns the attachment of a DM webhook payload.
func dmPayloadMedia(t *testing.T, payload []byte) (string, *v1Media) {
	t.Helper()
	var p struct {
		Events []struct {
			MessageCreate struct {
				MessageData struct {
					Attachment *struct {
						Type  string  `json:"type"`
						Media v1Media `json:"media"`
					} `json:"attachment"`
				} `json:"message_data"`
			} `json:"message_create"`
		} `json:"direct_message_events"`
	}
	decode(t, payload, &p)
	if len(p.Events) != 1 || p.Events[0].MessageCreate.MessageData.Attachment == nil {
		t.Fatalf("no attachment in DM payload %s", payload)
	}
	a := p.Events[0].MessageCreate.MessageData.Attachment
	return a.Type, &a.Media
}

// tweetPayloadMedia returns extended_entities.media and entities.media of a
// tweet webhook payload.
func tweetPayloadMedia(t *testing.T, payload []byte) (extended, entities []v1Media) {
	t.Helper()
	var p struct {
		Events []struct {
			Entities struct {
				Media []v1Media `json:"media"`
			} `json:"entities"`
			ExtendedEntities struct {
				Media []v1Media `json:"media"`
			} `json:"extended_entities"`
		} `json:"tweet_create_events"`
	}
	decode(t, payload, &p)
	if len(p.Events) != 1 {
		t.Fatalf("payload %s", payload)
	}
	return p.Events[0].ExtendedEntities.Media, p.Events[0].Entities.Media
}

func TestCustomerDMWithPhoto(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	photo := NoisePNG(40, 30)
	ev := f.sim.CustomerDMWithMedia("2001", "here is the receipt", Media{Kind: MediaPhoto, ContentType: "image/png", Data: photo, AltText: "a receipt", Width: 40, Height: 30})
	if len(ev.MediaIDs) != 1 {
		t.Fatalf("MediaIDs = %v", ev.MediaIDs)
	}

	page := f.dmMedia(t)
	if len(page.Data) != 1 || len(page.Data[0].Attachments.MediaKeys) != 1 || len(page.Includes.Media) != 1 {
		t.Fatalf("page %+v", page)
	}
	key := page.Data[0].Attachments.MediaKeys[0]
	m := page.Includes.Media[0]
	if key != "3_"+ev.MediaIDs[0] || m.MediaKey != key || m.Type != "photo" || m.AltText != "a receipt" || m.Width != 40 || m.Height != 30 {
		t.Fatalf("media %+v, key %s", m, key)
	}
	// Without Options.BaseURL the URL is made from the request's host.
	if want := f.srv.URL + "/dm_media/" + key + "/" + ev.MediaIDs[0] + ".png"; m.URL != want {
		t.Fatalf("url %s, want %s", m.URL, want)
	}

	for _, a := range []auth{oauth1, bearer} {
		resp, body := f.get(t, http.MethodGet, m.URL, a)
		mustStatus(t, resp, body, http.StatusOK)
		if !bytes.Equal(body, photo) || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Content-Length") != strconv.Itoa(len(photo)) {
			t.Fatalf("downloaded %d bytes of %s (Content-Length %s), want the %d bytes sent",
				len(body), resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), len(photo))
		}
	}
	resp, body := f.get(t, http.MethodGet, m.URL, oauth1, "Range", "bytes=10-19")
	mustStatus(t, resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, photo[10:20]) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 10-19/%d", len(photo)) {
		t.Fatalf("range: %q %s", body, resp.Header.Get("Content-Range"))
	}
	noViolations(t, f.sim)

	// ton.twitter.com refuses an unsigned request; so does the simulator.
	resp, body = f.get(t, http.MethodGet, m.URL, noAuth)
	mustStatus(t, resp, body, http.StatusUnauthorized)
	if v := f.sim.Violations(); len(v) != 1 || !strings.Contains(v[0], "401") {
		t.Fatalf("violations %q, want the unsigned download", v)
	}

	// The webhook payload carries the same media, with URLs of the
	// simulator (the origin of the last request, without a base URL).
	typ, pm := dmPayloadMedia(t, f.sim.DMWebhookPayload(ev))
	if typ != "media" || pm.IDStr != ev.MediaIDs[0] || pm.MediaURLHTTPS != m.URL || pm.Type != "photo" || pm.ExtAltText == nil || *pm.ExtAltText != "a receipt" || pm.VideoInfo != nil {
		t.Fatalf("attachment %s %+v", typ, pm)
	}
}

func TestCustomerMentionWithImage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sim.SetBaseURL(f.srv.URL)
	h := &webhook{secret: testConsumerSecret}
	hook := httptest.NewServer(h)
	defer hook.Close()
	f.sim.AutoDeliver(hook.URL)

	jpeg := []byte("\xff\xd8\xff\xe0 not really a jpeg, but served as one")
	tw := f.sim.CustomerMentionWithMedia("2002", "the box arrived broken", "", Media{Kind: MediaPhoto, Data: jpeg})

	// Read as the bridge does, with go-twitter.
	res, err := f.twitterClient(oauth1).UserMentionTimeline(context.Background(), supportID, twitter.UserMentionTimelineOpts{
		Expansions:  []twitter.Expansion{twitter.ExpansionAttachmentsMediaKeys},
		MediaFields: []twitter.MediaField{twitter.MediaFieldMediaKey, twitter.MediaFieldType, twitter.MediaFieldURL, twitter.MediaFieldWidth, twitter.MediaFieldHeight},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Raw.Tweets) != 1 || res.Raw.Tweets[0].Attachments == nil || len(res.Raw.Tweets[0].Attachments.MediaKeys) != 1 ||
		res.Raw.Includes == nil || len(res.Raw.Includes.Media) != 1 {
		t.Fatalf("mentions %+v", res.Raw)
	}
	m := res.Raw.Includes.Media[0]
	if m.Key != res.Raw.Tweets[0].Attachments.MediaKeys[0] || m.Type != "photo" || m.URL != f.srv.URL+"/media/"+m.Key+".jpg" || m.Width != 1200 {
		t.Fatalf("media %+v", m)
	}

	// pbs.twimg.com is public: no authentication needed.
	resp, body := f.get(t, http.MethodGet, m.URL, noAuth)
	mustStatus(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, jpeg) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("downloaded %q (%s)", body, resp.Header.Get("Content-Type"))
	}

	if err := f.sim.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := h.received()
	if len(got) != 1 {
		t.Fatalf("%d deliveries", len(got))
	}
	ext, ent := tweetPayloadMedia(t, got[0])
	if len(ext) != 1 || len(ent) != 1 || ext[0].IDStr != tw.MediaIDs[0] || ext[0].MediaURLHTTPS != m.URL || ext[0].Type != "photo" {
		t.Fatalf("payload media %+v / %+v", ext, ent)
	}
	noViolations(t, f.sim)
}

func TestUploadPNGAndSendDM(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sim.SetBaseURL(f.srv.URL)
	img := NoisePNG(120, 80)
	sum := sha256.Sum256(img)

	id := f.initUpload(t, "dm_image", "image/png", int64(len(img)))
	var buf bytes.Buffer
	half := len(img) / 2
	resp, body := f.appendChunk(t, id, 0, img[:half], &buf, oauth1)
	mustStatus(t, resp, body, http.StatusOK)
	resp, body = f.appendChunk(t, id, 1, img[half:], &buf, bearer)
	mustStatus(t, resp, body, http.StatusOK)
	// A client retrying the last segment (its answer was lost) is fine.
	resp, body = f.appendChunk(t, id, 1, img[half:], &buf, bearer)
	mustStatus(t, resp, body, http.StatusOK)

	resp, body = f.do(t, http.MethodPost, "/2/media/upload/"+id+"/finalize", nil, oauth1)
	mustStatus(t, resp, body, http.StatusOK)
	var fin uploadData
	decode(t, body, &fin)
	if fin.Data.ID != id || fin.Data.Size != int64(len(img)) || fin.Data.ProcessingInfo != nil {
		t.Fatalf("finalize answered %s (an image needs no processing)", body)
	}
	resp, body = f.do(t, http.MethodPost, "/2/media/metadata", map[string]any{"id": id, "metadata": map[string]any{"alt_text": map[string]any{"text": "the label"}}}, bearer)
	mustStatus(t, resp, body, http.StatusOK)

	up, ok := f.sim.UploadedMedia(id)
	if !ok || up.SHA256 != hex.EncodeToString(sum[:]) || up.Size != int64(len(img)) || up.Segments != 2 || !up.Finalized ||
		up.Kind != MediaPhoto || up.Category != "dm_image" || up.Width != 120 || up.Height != 80 || up.AltText != "the label" {
		t.Fatalf("UploadedMedia = %+v, %v", up, ok)
	}

	resp, body = f.do(t, http.MethodPost, "/2/dm_conversations/with/2001/messages",
		map[string]any{"text": "Here is your label", "attachments": []any{map[string]any{"media_id": id}}}, oauth1)
	mustStatus(t, resp, body, http.StatusCreated)
	sent := f.sim.DMsTo("2001")
	if len(sent) != 1 || len(sent[0].MediaIDs) != 1 || sent[0].MediaIDs[0] != id {
		t.Fatalf("DMsTo = %+v", sent)
	}
	// An attachment alone is a DM too.
	resp, body = f.do(t, http.MethodPost, "/2/dm_conversations/with/2001/messages",
		map[string]any{"attachments": []any{map[string]any{"media_id": id}}}, bearer)
	mustStatus(t, resp, body, http.StatusCreated)

	page := f.dmMedia(t)
	if len(page.Data) != 2 || page.Data[1].Attachments.MediaKeys[0] != up.MediaKey || len(page.Includes.Media) != 1 {
		t.Fatalf("page %+v", page)
	}
	if m := page.Includes.Media[0]; m.URL != f.srv.URL+"/dm_media/"+up.MediaKey+"/"+id+".png" || m.AltText != "the label" || m.Width != 120 {
		t.Fatalf("media %+v", m)
	}
	// The simulator keeps only the hash of uploads.
	resp, body = f.get(t, http.MethodGet, page.Includes.Media[0].URL, oauth1)
	mustStatus(t, resp, body, http.StatusNotFound)

	typ, pm := dmPayloadMedia(t, f.sim.DMWebhookPayload(sent[0]))
	if typ != "media" || pm.IDStr != id || pm.MediaURLHTTPS != page.Includes.Media[0].URL {
		t.Fatalf("echo attachment %+v", pm)
	}
	noViolations(t, f.sim)
}

func TestOneShotUpload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	img := NoisePNG(16, 16)
	sum := sha256.Sum256(img)
	var buf bytes.Buffer
	bodies := []struct {
		name string
		ct   string
		body []byte
	}{
		{"multipart octet-stream", multipartForm(t, &buf, map[string]string{"media_category": "tweet_image", "media_type": "image/png"}, img, "application/octet-stream"), bytes.Clone(buf.Bytes())},
		{"multipart image/png part", multipartForm(t, &buf, map[string]string{"media_category": "dm_image", "shared": "true"}, img, "image/png"), bytes.Clone(buf.Bytes())},
	}
	j, _ := json.Marshal(map[string]any{"media": base64.StdEncoding.EncodeToString(img), "media_category": "tweet_image"})
	bodies = append(bodies, struct {
		name string
		ct   string
		body []byte
	}{"JSON base64", "application/json", j})
	for _, b := range bodies {
		resp, body := f.doBody(t, http.MethodPost, "/2/media/upload", b.ct, b.body, oauth1)
		mustStatus(t, resp, body, http.StatusOK)
		var out uploadData
		decode(t, body, &out)
		up, ok := f.sim.UploadedMedia(out.Data.ID)
		if !ok || up.SHA256 != hex.EncodeToString(sum[:]) || !up.Finalized || up.MediaType != "image/png" || up.Width != 16 {
			t.Fatalf("%s: %+v", b.name, up)
		}
	}
	noViolations(t, f.sim)
}

func TestReplyTweetWithImage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sim.SetBaseURL(f.srv.URL)
	root := f.sim.CustomerMention("2001", "my order is late", "")
	img := NoisePNG(64, 48)
	id := f.uploadImage(t, "tweet_image", "image/png", img, 1<<20)

	resp, body := f.do(t, http.MethodPost, "/2/tweets", map[string]any{
		"text":  "@alice here is the tracking page",
		"reply": map[string]any{"in_reply_to_tweet_id": root.ID},
		"media": map[string]any{"media_ids": []string{id}},
	}, oauth1)
	mustStatus(t, resp, body, http.StatusCreated)
	replies := f.sim.RepliesTo(root.ID)
	if len(replies) != 1 || len(replies[0].MediaIDs) != 1 || replies[0].MediaIDs[0] != id {
		t.Fatalf("RepliesTo = %+v", replies)
	}

	resp, body = f.do(t, http.MethodGet, "/2/tweets/"+replies[0].ID+"?expansions=attachments.media_keys&"+mediaFields, nil, bearer)
	mustStatus(t, resp, body, http.StatusOK)
	var got struct {
		Data struct {
			Attachments struct {
				MediaKeys []string `json:"media_keys"`
			} `json:"attachments"`
		} `json:"data"`
		Includes struct {
			Media []mediaObj `json:"media"`
		} `json:"includes"`
	}
	decode(t, body, &got)
	up, _ := f.sim.UploadedMedia(id)
	if len(got.Data.Attachments.MediaKeys) != 1 || got.Data.Attachments.MediaKeys[0] != up.MediaKey ||
		len(got.Includes.Media) != 1 || got.Includes.Media[0].URL != f.srv.URL+"/media/"+up.MediaKey+".png" || got.Includes.Media[0].Width != 64 {
		t.Fatalf("tweet %s", body)
	}
	ext, _ := tweetPayloadMedia(t, f.sim.TweetWebhookPayload(replies[0]))
	if len(ext) != 1 || ext[0].IDStr != id || ext[0].Type != "photo" {
		t.Fatalf("echo media %+v", ext)
	}

	// Media without text is a tweet too; up to 4 photos.
	ids := []string{id, f.uploadImage(t, "tweet_image", "image/png", NoisePNG(8, 8), 1<<20)}
	resp, body = f.do(t, http.MethodPost, "/2/tweets", map[string]any{"media": map[string]any{"media_ids": ids}}, bearer)
	mustStatus(t, resp, body, http.StatusCreated)
	noViolations(t, f.sim)
}

func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	type step struct {
		method, path string
		body         any
	}
	init := func(category, mediaType string, total int64) step {
		return step{http.MethodPost, "/2/media/upload/initialize", map[string]any{"media_category": category, "media_type": mediaType, "total_bytes": total}}
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T, f *fixture) string // returns a media id, or ""
		step   func(id string) step                  // nil: append to the media
		status int
		violat bool // recorded as a violation (a client error), not a refusal to handle
	}{
		{"image over 5 MB", nil, func(string) step { return init("dm_image", "image/png", 5<<20+1) }, 400, false},
		{"GIF over 15 MB", nil, func(string) step { return init("tweet_gif", "image/gif", 15<<20+1) }, 400, false},
		{"video over 512 MB", nil, func(string) step { return init("dm_video", "video/mp4", 512<<20+1) }, 400, false},
		{"video type for dm_image", nil, func(string) step { return init("dm_image", "video/mp4", 1000) }, 400, false},
		{"GIF as tweet_image", nil, func(string) step { return init("tweet_image", "image/gif", 1000) }, 400, false},
		{"BMP image", nil, func(string) step { return init("tweet_image", "image/bmp", 1000) }, 400, false},
		{"webm video", nil, func(string) step { return init("tweet_video", "video/webm", 1000) }, 400, false},
		{"total mismatch at finalize", func(t *testing.T, f *fixture) string {
			id := f.initUpload(t, "dm_image", "image/png", 1000)
			var buf bytes.Buffer
			resp, body := f.appendChunk(t, id, 0, make([]byte, 600), &buf, bearer)
			mustStatus(t, resp, body, 200)
			return id
		}, func(id string) step {
			return step{http.MethodPost, "/2/media/upload/" + id + "/finalize", nil}
		}, 400, false},
		{"append after finalize", func(t *testing.T, f *fixture) string {
			return f.uploadImage(t, "dm_image", "image/png", NoisePNG(4, 4), 1<<20)
		}, nil, 400, false},
		{"unknown media id in a DM", nil, func(string) step {
			return step{http.MethodPost, "/2/dm_conversations/with/2001/messages", map[string]any{"text": "hi", "attachments": []any{map[string]any{"media_id": "123456789"}}}}
		}, 400, true},
		{"tweet media in a DM", func(t *testing.T, f *fixture) string {
			return f.uploadImage(t, "tweet_image", "image/png", NoisePNG(4, 4), 1<<20)
		}, func(id string) step {
			return step{http.MethodPost, "/2/dm_conversations/with/2001/messages", map[string]any{"text": "hi", "attachments": []any{map[string]any{"media_id": id}}}}
		}, 400, true},
		{"DM media in a tweet", func(t *testing.T, f *fixture) string {
			return f.uploadImage(t, "dm_image", "image/png", NoisePNG(4, 4), 1<<20)
		}, func(id string) step {
			return step{http.MethodPost, "/2/tweets", map[string]any{"text": "hi", "media": map[string]any{"media_ids": []string{id}}}}
		}, 400, true},
		{"unfinalized media in a DM", func(t *testing.T, f *fixture) string {
			return f.initUpload(t, "dm_image", "image/png", 10)
		}, func(id string) step {
			return step{http.MethodPost, "/2/dm_conversations/with/2001/messages", map[string]any{"attachments": []any{map[string]any{"media_id": id}}}}
		}, 400, true},
		{"unprocessed video in a DM", func(t *testing.T, f *fixture) string {
			id := f.initUpload(t, "dm_video", "video/mp4", 100)
			var buf bytes.Buffer
			resp, body := f.appendChunk(t, id, 0, make([]byte, 100), &buf, bearer)
			mustStatus(t, resp, body, 200)
			resp, body = f.do(t, http.MethodPost, "/2/media/upload/"+id+"/finalize", nil, bearer)
			mustStatus(t, resp, body, 200)
			return id
		}, func(id string) step {
			return step{http.MethodPost, "/2/dm_conversations/with/2001/messages", map[string]any{"attachments": []any{map[string]any{"media_id": id}}}}
		}, 400, true},
		{"unknown media_category", nil, func(string) step { return init("dm_photo", "image/png", 10) }, 400, true},
		{"unknown initialize field", nil, func(string) step {
			return step{http.MethodPost, "/2/media/upload/initialize", map[string]any{"command": "INIT", "media_type": "image/png", "total_bytes": 10}}
		}, 400, true},
		{"no total_bytes", nil, func(string) step {
			return step{http.MethodPost, "/2/media/upload/initialize", map[string]any{"media_type": "image/png", "media_category": "dm_image"}}
		}, 400, true},
		{"finalize of an unknown upload", nil, func(string) step {
			return step{http.MethodPost, "/2/media/upload/42/finalize", nil}
		}, 400, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			id := ""
			if tc.setup != nil {
				id = tc.setup(t, f)
			}
			noViolations(t, f.sim)
			var resp *http.Response
			var body []byte
			if tc.step == nil { // append after finalize
				var buf bytes.Buffer
				resp, body = f.appendChunk(t, id, 1, []byte("more"), &buf, oauth1)
			} else {
				st := tc.step(id)
				resp, body = f.do(t, st.method, st.path, st.body, oauth1)
			}
			mustStatus(t, resp, body, tc.status)
			if resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("answer %s: %s", resp.Header.Get("Content-Type"), body)
			}
			if n := len(f.sim.Violations()); tc.violat != (n == 1) || n > 1 {
				t.Fatalf("violations %q, want %v", f.sim.Violations(), tc.violat)
			}
		})
	}

	t.Run("malformed appends", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		id := f.initUpload(t, "dm_image", "image/png", 100)
		var buf bytes.Buffer
		cases := []struct {
			name string
			ct   string
			body []byte
		}{
			{"no media part", multipartForm(t, &buf, map[string]string{"segment_index": "0"}, nil, ""), bytes.Clone(buf.Bytes())},
			{"no segment_index", multipartForm(t, &buf, nil, []byte("x"), "application/octet-stream"), bytes.Clone(buf.Bytes())},
			{"segment_index 1000", multipartForm(t, &buf, map[string]string{"segment_index": "1000"}, []byte("x"), "application/octet-stream"), bytes.Clone(buf.Bytes())},
			{"segment out of order", multipartForm(t, &buf, map[string]string{"segment_index": "3"}, []byte("x"), "application/octet-stream"), bytes.Clone(buf.Bytes())},
		}
		for i, c := range cases {
			resp, body := f.doBody(t, http.MethodPost, "/2/media/upload/"+id+"/append", c.ct, c.body, bearer)
			mustStatus(t, resp, body, http.StatusBadRequest)
			if n := len(f.sim.Violations()); n != i+1 {
				t.Fatalf("%s: %d violations, want %d", c.name, n, i+1)
			}
		}
		// Appending more than total_bytes is refused (not a violation).
		resp, body := f.appendChunk(t, id, 0, make([]byte, 101), &buf, bearer)
		mustStatus(t, resp, body, http.StatusBadRequest)
		if n := len(f.sim.Violations()); n != len(cases) {
			t.Fatalf("%d violations, want %d", n, len(cases))
		}
	})

	t.Run("oversized one-shot images", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		var buf bytes.Buffer
		for _, size := range []int{5<<20 + 1, 9 << 20} {
			ct := multipartForm(t, &buf, map[string]string{"media_category": "dm_image", "media_type": "image/jpeg"}, make([]byte, size), "application/octet-stream")
			resp, body := f.doBody(t, http.MethodPost, "/2/media/upload", ct, buf.Bytes(), bearer)
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d bytes: status %d: %s", size, resp.StatusCode, body)
			}
		}
		noViolations(t, f.sim)
	})
}

// TestVideoUploadFlatMemory uploads a 50 MB generated video in 5 MB
// chunks and downloads a 50 MB customer video with Range requests: the
// simulator holds neither. It does not run in parallel, to measure the heap.
func TestVideoUploadFlatMemory(t *testing.T) {
	const size = 50 << 20
	const chunk = 5 << 20
	f := newFixture(t, func(o *Options) { o.ProcessingPolls = 1 })
	gen := GeneratedBytes(42, size)
	h := sha256.New()
	if _, err := io.Copy(h, gen()); err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil))

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	before := heap()
	start := time.Now()
	id := f.initUpload(t, "dm_video", "video/mp4", size)
	func() {
		r := gen()
		buf := make([]byte, chunk)
		var form bytes.Buffer
		for seg := 0; ; seg++ {
			n, err := io.ReadFull(r, buf)
			if n == 0 {
				break
			}
			resp, body := f.appendChunk(t, id, seg, buf[:n], &form, oauth1)
			mustStatus(t, resp, body, http.StatusOK)
			if err != nil {
				break
			}
		}
	}()
	resp, body := f.do(t, http.MethodPost, "/2/media/upload/"+id+"/finalize", nil, oauth1)
	mustStatus(t, resp, body, http.StatusOK)
	var fin uploadData
	decode(t, body, &fin)
	if fin.Data.ProcessingInfo == nil || fin.Data.ProcessingInfo.State != "pending" || fin.Data.Size != size {
		t.Fatalf("finalize answered %s", body)
	}
	// Sending before processing has succeeded is a client error; wait.
	var states []string
	for range 3 {
		resp, body := f.do(t, http.MethodGet, "/2/media/upload?command=STATUS&media_id="+id, nil, bearer)
		mustStatus(t, resp, body, http.StatusOK)
		var st uploadData
		decode(t, body, &st)
		states = append(states, st.Data.ProcessingInfo.State)
		if st.Data.ProcessingInfo.State == "succeeded" {
			break
		}
	}
	if strings.Join(states, ",") != "in_progress,succeeded" {
		t.Fatalf("STATUS states %v, want in_progress then succeeded (ProcessingPolls 1)", states)
	}
	after := heap()
	t.Logf("upload of %d MB in %v: HeapInuse %d MB before, %d MB after", size>>20, time.Since(start).Round(time.Millisecond), before>>20, after>>20)
	if after > before+16<<20 {
		t.Fatalf("HeapInuse grew from %d to %d bytes: the upload is held in memory", before, after)
	}
	up, _ := f.sim.UploadedMedia(id)
	if up.SHA256 != want || up.Size != size || up.Segments != 10 || up.State != "succeeded" {
		t.Fatalf("UploadedMedia = %+v, want sha256 %s", up, want)
	}
	resp, body = f.do(t, http.MethodPost, "/2/dm_conversations/with/2001/messages",
		map[string]any{"text": "the video you asked for", "attachments": []any{map[string]any{"media_id": id}}}, oauth1)
	mustStatus(t, resp, body, http.StatusCreated)

	// A customer sends a 50 MB video; the bridge fetches it by ranges.
	before = heap()
	gen2 := GeneratedBytes(7, size)
	ev := f.sim.CustomerDMWithMedia("2002", "it does this", Media{Kind: MediaVideo, Size: size, Reader: gen2})
	page := f.dmMedia(t)
	var video *mediaObj
	for i, m := range page.Includes.Media {
		if m.MediaKey == "7_"+ev.MediaIDs[0] {
			video = &page.Includes.Media[i]
		}
	}
	if video == nil || video.Type != "video" || len(video.Variants) != 1 || video.Variants[0].ContentType != "video/mp4" ||
		video.Variants[0].BitRate == nil || video.PreviewImageURL == "" || video.URL != "" {
		t.Fatalf("video %+v in %+v", video, page)
	}
	url := video.Variants[0].URL
	at := func(off, n int64) []byte {
		r := gen2().(io.ReadSeeker)
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, rg := range []struct {
		header    string
		off, n    int64
		wantRange string
	}{
		{"bytes=0-99", 0, 100, "bytes 0-99/52428800"},
		{"bytes=26214397-26214500", 26214397, 104, "bytes 26214397-26214500/52428800"},
		{"bytes=-100", size - 100, 100, "bytes 52428700-52428799/52428800"},
		{"bytes=52428000-", 52428000, 800, "bytes 52428000-52428799/52428800"},
	} {
		resp, body := f.get(t, http.MethodGet, url, oauth1, "Range", rg.header)
		mustStatus(t, resp, body, http.StatusPartialContent)
		if !bytes.Equal(body, at(rg.off, rg.n)) || resp.Header.Get("Content-Range") != rg.wantRange || resp.Header.Get("Content-Type") != "video/mp4" {
			t.Fatalf("%s: %d bytes, Content-Range %q", rg.header, len(body), resp.Header.Get("Content-Range"))
		}
	}
	// The whole of it, streamed.
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	full, err := (&http.Client{Transport: &oauth1Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	n, err := io.Copy(h, full.Body)
	full.Body.Close()
	h2 := sha256.New()
	_, _ = io.Copy(h2, gen2())
	if err != nil || n != size || full.Header.Get("Content-Length") != strconv.Itoa(size) || !bytes.Equal(h.Sum(nil), h2.Sum(nil)) {
		t.Fatalf("full download: %d bytes, %v, Content-Length %s", n, err, full.Header.Get("Content-Length"))
	}
	resp, _ = f.get(t, http.MethodGet, video.PreviewImageURL, bearer)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("preview: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	after = heap()
	t.Logf("downloads of %d MB: HeapInuse %d MB before, %d MB after", size>>20, before>>20, after>>20)
	if after > before+16<<20 {
		t.Fatalf("HeapInuse grew from %d to %d bytes", before, after)
	}

	// The webhook payload gives the video as X does: video_info.variants.
	_, pm := dmPayloadMedia(t, f.sim.DMWebhookPayload(ev))
	if pm.Type != "video" || pm.VideoInfo == nil || len(pm.VideoInfo.Variants) != 1 || pm.VideoInfo.Variants[0].URL != url ||
		pm.VideoInfo.Variants[0].Bitrate == 0 || pm.MediaURLHTTPS != video.PreviewImageURL {
		t.Fatalf("payload media %+v", pm)
	}
	noViolations(t, f.sim)
}

// onlyReader hides the Seek method of a reader.
type onlyReader struct{ io.Reader }

func TestMediaDownloadsWithoutSeekerAndFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sim.SetBaseURL(f.srv.URL)
	content := bytes.Repeat([]byte("0123456789"), 1000)
	var opened atomic.Int32
	tw := f.sim.CustomerMentionWithMedia("2001", "see the clip", "", Media{
		Kind: MediaAnimatedGIF, Size: int64(len(content)), AltText: "a spinning box",
		Reader: func() io.Reader { opened.Add(1); return onlyReader{bytes.NewReader(content)} },
	})
	key := "16_" + tw.MediaIDs[0]

	// Media lookup by key.
	resp, body := f.do(t, http.MethodGet, "/2/media/"+key+"?"+mediaFields, nil, bearer)
	mustStatus(t, resp, body, http.StatusOK)
	var one struct {
		Data mediaObj `json:"data"`
	}
	decode(t, body, &one)
	m := one.Data
	if m.Type != "animated_gif" || len(m.Variants) != 1 || m.Variants[0].URL != f.srv.URL+"/media/"+key+".mp4" || m.AltText != "a spinning box" {
		t.Fatalf("media %s", body)
	}
	resp, body = f.do(t, http.MethodGet, "/2/media?media_keys="+key+",3_1&media.fields=type", nil, oauth1)
	mustStatus(t, resp, body, http.StatusOK)
	var many struct {
		Data   []mediaObj `json:"data"`
		Errors []struct {
			ResourceType string `json:"resource_type"`
			Value        string `json:"value"`
		} `json:"errors"`
	}
	decode(t, body, &many)
	if len(many.Data) != 1 || len(many.Errors) != 1 || many.Errors[0].Value != "3_1" || many.Errors[0].ResourceType != "media" {
		t.Fatalf("lookup %s", body)
	}

	url := m.Variants[0].URL
	for _, rg := range []struct{ header, want string }{
		{"bytes=5000-5009", string(content[5000:5010])},
		{"bytes=100-104", string(content[100:105])}, // backwards: the reader is opened again
		{"bytes=9995-", string(content[9995:])},
	} {
		resp, body := f.get(t, http.MethodGet, url, noAuth, "Range", rg.header)
		mustStatus(t, resp, body, http.StatusPartialContent)
		if string(body) != rg.want {
			t.Fatalf("%s: %q, want %q", rg.header, body, rg.want)
		}
	}
	resp, body = f.get(t, http.MethodGet, url, noAuth, "Range", "bytes=0-1,10-11")
	mustStatus(t, resp, body, http.StatusPartialContent)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") || !bytes.Contains(body, []byte("01")) {
		t.Fatalf("multi-range: %s %q", resp.Header.Get("Content-Type"), body)
	}
	resp, body = f.get(t, http.MethodHead, url, noAuth)
	mustStatus(t, resp, body, http.StatusOK)
	if resp.Header.Get("Content-Length") != strconv.Itoa(len(content)) || resp.Header.Get("Accept-Ranges") != "bytes" || len(body) != 0 {
		t.Fatalf("HEAD: %v", resp.Header)
	}
	if opened.Load() < 2 {
		t.Errorf("reader opened %d times", opened.Load())
	}
	resp, _ = f.get(t, http.MethodGet, f.srv.URL+"/media/"+key+".jpg", noAuth)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("still image: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	noViolations(t, f.sim)

	// Downloads fail on demand, like the API.
	f.sim.FailNext(http.MethodGet, "/media/*", 1, Fault{Status: http.StatusServiceUnavailable, RetryAfter: 2 * time.Second})
	resp, body = f.get(t, http.MethodGet, url, noAuth)
	mustStatus(t, resp, body, http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	resp, body = f.get(t, http.MethodGet, url, noAuth)
	mustStatus(t, resp, body, http.StatusOK)
	noViolations(t, f.sim)

	// Unknown media and methods other than GET and HEAD are violations.
	resp, _ = f.get(t, http.MethodGet, f.srv.URL+"/media/3_999.jpg", noAuth)
	mustStatus(t, resp, nil, http.StatusNotFound)
	resp, _ = f.get(t, http.MethodDelete, url, noAuth)
	mustStatus(t, resp, nil, http.StatusMethodNotAllowed)
	resp, _ = f.get(t, http.MethodGet, f.srv.URL+"/dm_media/"+key+"/"+tw.MediaIDs[0]+".mp4", oauth1)
	mustStatus(t, resp, nil, http.StatusNotFound) // tweet media are not DM media
	if n := len(f.sim.Violations()); n != 3 {
		t.Fatalf("violations %q, want 3", f.sim.Violations())
	}
}
