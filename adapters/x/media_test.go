package x

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
)

// mp4Header is the start of an MP4 file: an ftyp box.
var mp4Header = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// download reads a media URL through OpenMedia.
func download(t *testing.T, c *Client, url string) ([]byte, *bridge.FileStream) {
	t.Helper()
	st, err := c.OpenMedia(t.Context(), account, url)
	if err != nil {
		t.Fatalf("OpenMedia %s: %v", url, err)
	}
	defer st.Body.Close()
	b, err := io.ReadAll(st.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, st
}

// TestCustomerMediaArriveByEveryPath: a DM photo (with alt text) and a
// mention's photos and video come with every ingest path, as media the
// adapter can download: DM media with the support account's signature.
func TestCustomerMediaArriveByEveryPath(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.sim.SetBaseURL(e.srv.URL)
	photo := xsim.NoisePNG(64, 48)
	video := append(bytes.Clone(mp4Header), bytes.Repeat([]byte{7}, 4096)...)
	dm := e.sim.CustomerDMWithMedia(dana, "The sole cracked after a week",
		xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/png", Data: photo, AltText: "a cracked sole"})
	twoPhotos := e.sim.CustomerMentionWithMedia(raj, "@acme_help both boxes arrived crushed", "",
		xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/png", Data: photo},
		xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/png", Data: photo, AltText: "the second box"})
	clip := e.sim.CustomerMentionWithMedia(dana, "@acme_help see the error screen", "",
		xsim.Media{Kind: xsim.MediaVideo, Data: video})

	type want struct {
		kinds []bridge.MediaKind
		alt   []string
		data  []byte
	}
	wants := map[string]want{
		dm.ID:        {[]bridge.MediaKind{bridge.MediaPhoto}, []string{"a cracked sole"}, photo},
		twoPhotos.ID: {[]bridge.MediaKind{bridge.MediaPhoto, bridge.MediaPhoto}, []string{"", "the second box"}, photo},
		clip.ID:      {[]bridge.MediaKind{bridge.MediaVideo}, []string{""}, video},
	}
	check := func(t *testing.T, via string, msgs []bridge.InboundMessage) {
		t.Helper()
		seen := 0
		for _, m := range msgs {
			w, ok := wants[m.EventID]
			if !ok {
				continue
			}
			seen++
			if len(m.Media) != len(w.kinds) {
				t.Fatalf("%s: %s has media %+v, want %d", via, m.EventID, m.Media, len(w.kinds))
			}
			for i, r := range m.Media {
				if r.Kind != w.kinds[i] || r.AltText != w.alt[i] || r.Key == "" || r.PageURL == "" {
					t.Errorf("%s: media %d of %s = %+v", via, i, m.EventID, r)
				}
				got, st := download(t, e.client, r.URL)
				if sha(got) != sha(w.data) || st.Size != int64(len(w.data)) {
					t.Errorf("%s: media %d of %s: downloaded %d bytes (announced %d), want the %d sent",
						via, i, m.EventID, len(got), st.Size, len(w.data))
				}
			}
			if strings.Contains(m.Text, "t.co") {
				t.Errorf("%s: text keeps the media link: %q", via, m.Text)
			}
		}
		if seen != len(wants) {
			t.Fatalf("%s: %d of the %d messages with media came", via, seen, len(wants))
		}
	}

	t.Run("webhook", func(t *testing.T) {
		var msgs []bridge.InboundMessage
		for _, p := range [][]byte{e.sim.DMWebhookPayload(dm), e.sim.TweetWebhookPayload(twoPhotos), e.sim.TweetWebhookPayload(clip)} {
			b, err := webhookEvents([]string{account}, p)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, b.msgs...)
		}
		check(t, "webhook", msgs)
	})
	t.Run("poll", func(t *testing.T) {
		rec := &recorder{}
		p := &Poller{Client: e.client, In: rec, Cursors: &memCursors{}, Clock: e.clock, Backfill: 24 * time.Hour}
		if _, err := p.PollDMs(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollMentions(t.Context()); err != nil {
			t.Fatal(err)
		}
		check(t, "poll", rec.all())
	})
	e.noViolations(t)
}

// TestOpenMediaSignsForXOnly: DM media need the support account's signed
// request; media on other hosts get no credentials.
func TestOpenMediaSignsForXOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.sim.SetBaseURL(e.srv.URL)
	dm := e.sim.CustomerDMWithMedia(dana, "", xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/png", Data: xsim.NoisePNG(8, 8)})
	b, err := webhookEvents([]string{account}, e.sim.DMWebhookPayload(dm))
	if err != nil || len(b.msgs) != 1 || len(b.msgs[0].Media) != 1 {
		t.Fatalf("payload = %+v, %v", b, err)
	}
	url := b.msgs[0].Media[0].URL
	// Unsigned, X refuses.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned download answered %d", resp.StatusCode)
	}
	for _, c := range []*Client{e.client, e.bearer} {
		if got, _ := download(t, c, url); len(got) == 0 {
			t.Fatal("signed download is empty")
		}
	}
	// Elsewhere, no credentials travel.
	var auth []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		_, _ = w.Write([]byte("GIF89a"))
	}))
	defer other.Close()
	download(t, e.client, other.URL+"/media/x.gif")
	download(t, e.bearer, other.URL+"/media/x.gif")
	if strings.Join(auth, "") != "" {
		t.Fatalf("credentials sent to a host that is not X: %q", auth)
	}
	// A media X no longer has is a permanent failure.
	_, err = e.client.OpenMedia(t.Context(), account, e.srv.URL+"/dm_media/3_1/1.jpg")
	if de := bridge.AsDeliveryError(err); err == nil || de.Temporary {
		t.Fatalf("download of unknown media = %v", err)
	}
	// Media sent to another account are not this client's to fetch.
	if _, err := e.client.OpenMedia(t.Context(), "1999", url); err == nil || !strings.Contains(err.Error(), "no X credentials for account 1999") {
		t.Fatalf("download for another account = %v", err)
	}
	// Only the two requests meant to fail were refused.
	if v := e.sim.Violations(); len(v) != 2 {
		t.Fatalf("violations: %q", v)
	}
}

// TestUploadMediaAndSend: an agent's PNG goes up in one segment, a video
// in several, each streamed; the DM and the reply tweet carry them.
func TestUploadMediaAndSend(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := t.Context()
	pic := xsim.NoisePNG(120, 80)
	id, expires, err := e.client.UploadMedia(ctx, account, bridge.MediaUpload{ForDM: true, ContentType: "image/png",
		Size: int64(len(pic)), Body: bytes.NewReader(pic), AltText: "the replacement label"})
	if err != nil {
		t.Fatal(err)
	}
	up, ok := e.sim.UploadedMedia(id)
	if !ok || up.Category != "dm_image" || up.SHA256 != sha(pic) || !up.Finalized || up.AltText != "the replacement label" ||
		up.Width != 120 || !expires.After(simStart) {
		t.Fatalf("uploaded %+v, expires %v", up, expires)
	}
	evID, err := e.client.SendDMMedia(ctx, account, dana, "", []string{id})
	if err != nil {
		t.Fatal(err)
	}
	dms := e.sim.DMsTo(dana)
	if len(dms) != 1 || dms[0].ID != evID || len(dms[0].MediaIDs) != 1 || dms[0].MediaIDs[0] != id || dms[0].Text != "" {
		t.Fatalf("DMs to the customer = %+v", dms)
	}

	// A video of several segments, for a reply tweet.
	video := io.MultiReader(bytes.NewReader(mp4Header), xsim.GeneratedBytes(5, 9<<20)())
	size := int64(len(mp4Header) + 9<<20)
	h := sha256.New()
	vid, _, err := e.client.UploadMedia(ctx, account, bridge.MediaUpload{ContentType: "video/mp4", Size: size,
		Body: io.TeeReader(video, h)})
	if err != nil {
		t.Fatal(err)
	}
	up, _ = e.sim.UploadedMedia(vid)
	if up.Category != "tweet_video" || up.Segments != 3 || up.SHA256 != hex.EncodeToString(h.Sum(nil)) || up.State != "succeeded" {
		t.Fatalf("uploaded video %+v", up)
	}
	tw := e.sim.CustomerMention(raj, "@acme_help how do I reset it?", "")
	replyID, err := e.client.ReplyMedia(ctx, account, tw.ID, "Like this:", []string{vid})
	if err != nil {
		t.Fatal(err)
	}
	replies := e.sim.RepliesTo(tw.ID)
	if len(replies) != 1 || replies[0].ID != replyID || len(replies[0].MediaIDs) != 1 || replies[0].MediaIDs[0] != vid {
		t.Fatalf("replies = %+v", replies)
	}
	// Found again after a crash, with its media.
	got, found, err := e.client.FindSent(ctx, bridge.SentQuery{Kind: bridge.KindMention, Account: account,
		InReplyToID: tw.ID, Text: "Like this:", Media: true, After: simStart.Add(-time.Second)})
	if err != nil || !found || got != replyID {
		t.Fatalf("FindSent = %s, %v, %v", got, found, err)
	}
	got, found, err = e.client.FindSent(ctx, bridge.SentQuery{Kind: bridge.KindDM, Account: account,
		RecipientID: dana, Media: true, After: simStart.Add(-time.Second)})
	if err != nil || !found || got != evID {
		t.Fatalf("FindSent DM = %s, %v, %v", got, found, err)
	}
	e.noViolations(t)
}

// TestUploadMediaRefusesWhatXRefuses: a type or size X does not take is
// refused for good, naming the limit, before a byte is sent.
func TestUploadMediaRefusesWhatXRefuses(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, tc := range []struct {
		name, contentType string
		size              int64
		want              string
	}{
		{"pdf", "application/pdf", 1000, "X takes images (JPEG, PNG, WebP) up to 5 MB"},
		{"big image", "image/png", 6 << 20, "the image is 6 MB; X takes images up to 5 MB"},
		{"big gif", "image/gif", 16 << 20, "X takes GIFs up to 15 MB"},
		{"huge video", "video/mp4", 600 << 20, "X takes videos up to 512 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.sim.Requests())
			_, _, err := e.client.UploadMedia(t.Context(), account, bridge.MediaUpload{ContentType: tc.contentType,
				Size: tc.size, Body: strings.NewReader("x")})
			de := bridge.AsDeliveryError(err)
			if err == nil || de.Temporary || !strings.Contains(de.Reason, tc.want) {
				t.Fatalf("UploadMedia = %v, want a permanent refusal saying %q", err, tc.want)
			}
			if n := len(e.sim.Requests()) - before; n != 0 {
				t.Fatalf("%d requests sent for a file X refuses", n)
			}
		})
	}
}

func TestCheckMedia(t *testing.T) {
	t.Parallel()
	png := func(size int64) bridge.MediaRef {
		return bridge.MediaRef{Kind: bridge.MediaPhoto, Name: "shot.png", ContentType: "image/png", Size: size}
	}
	mp4 := bridge.MediaRef{Kind: bridge.MediaVideo, Name: "clip.mp4", ContentType: "video/mp4", Size: 30 << 20}
	for _, tc := range []struct {
		name  string
		kind  bridge.Kind
		files []bridge.MediaRef
		want  string // "" when accepted
	}{
		{"one image by DM", bridge.KindDM, []bridge.MediaRef{png(1 << 20)}, ""},
		{"a video in a reply", bridge.KindMention, []bridge.MediaRef{mp4}, ""},
		{"four images in a reply", bridge.KindMention, []bridge.MediaRef{png(1), png(1), png(1), png(1)}, ""},
		{"type not known yet", bridge.KindDM, []bridge.MediaRef{{Name: "x"}}, ""},
		{"two files by DM", bridge.KindDM, []bridge.MediaRef{png(1), png(1)}, "X sends one file per DM"},
		{"five images", bridge.KindMention, []bridge.MediaRef{png(1), png(1), png(1), png(1), png(1)}, "up to 4 images"},
		{"image and video", bridge.KindMention, []bridge.MediaRef{png(1), mp4}, "or one video or GIF"},
		{"too big", bridge.KindDM, []bridge.MediaRef{png(5<<20 + 1)}, "The file shot.png is 5242881 bytes; X takes images up to 5242880 bytes."},
		{"a PDF", bridge.KindDM, []bridge.MediaRef{{Kind: bridge.MediaFile, Name: "invoice.pdf", ContentType: "application/pdf"}},
			"The file invoice.pdf is application/pdf, which X does not take"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Rules{}.CheckMedia(tc.kind, tc.files)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (bridge.ErrorCode(err) != bridge.EINVALID || !strings.Contains(bridge.ErrorMessage(err), tc.want)):
				t.Fatalf("CheckMedia = %v, want %q", err, tc.want)
			}
		})
	}
}
