package xsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Media kinds, as X names them (the "type" of a v2 Media object).
const (
	MediaPhoto       = "photo"
	MediaAnimatedGIF = "animated_gif"
	MediaVideo       = "video"
)

// Media is a photo, animated GIF or video a customer sends (see
// CustomerDMWithMedia and CustomerMentionWithMedia). The simulator serves
// its bytes as X's media hosts do: DM media at <base>/dm_media/<key>/<file>
// to OAuth-signed (or bearer) requests only, like ton.twitter.com; tweet
// media at <base>/media/<key>.<ext> to anyone, like pbs.twimg.com. Both
// answer Range requests.
type Media struct {
	Kind        string // MediaPhoto, MediaAnimatedGIF or MediaVideo
	ContentType string // e.g. "image/png"; default image/jpeg for a photo, video/mp4 otherwise (X serves GIFs as MP4)

	// The content: Data, or when Data is nil Size bytes produced by Reader,
	// which must yield the same bytes at each call (see GeneratedBytes).
	// When what Reader returns is an io.Seeker, ranges are served by
	// seeking; otherwise by reading from the start and discarding.
	Data   []byte
	Size   int64
	Reader func() io.Reader

	AltText       string
	Width, Height int // pixels; defaults 1200×800 for a photo, 1280×720 for a video, 480×270 for a GIF
	DurationMS    int // videos only; default 10,000
}

// mediaRec is a media known to the simulator: sent by a customer, or
// uploaded through the API by the support account.
type mediaRec struct {
	id, key     string
	kind        string
	contentType string
	altText     string
	width       int
	height      int
	durationMS  int
	dm          bool   // DM media, served at /dm_media/ to authenticated requests only
	dmAccount   string // DM media: the support account the DM went to, the only one served
	ownerID     string

	// The content of customer media; uploaded media keep none.
	data []byte
	size int64
	open func() io.Reader

	up *upload // set for media uploaded through the API
}

// mediaKeyPrefix is the media key prefix X gives each kind of media.
func mediaKeyPrefix(kind string) string {
	switch kind {
	case MediaVideo:
		return "7"
	case MediaAnimatedGIF:
		return "16"
	}
	return "3"
}

// extOf is the file extension X's media hosts use for a content type.
func extOf(contentType string) string {
	switch contentType {
	case "image/jpeg", "image/pjpeg":
		return "jpg"
	case "image/png":
		return "png"
	case "image/webp":
		return "webp"
	case "image/gif":
		return "gif"
	case "image/bmp":
		return "bmp"
	case "image/tiff":
		return "tiff"
	case "video/mp4":
		return "mp4"
	case "video/quicktime":
		return "mov"
	case "video/webm":
		return "webm"
	case "video/mp2t":
		return "ts"
	}
	return "bin"
}

// url is where the media's content is served.
func (m *mediaRec) url(base string) string {
	if m.dm {
		return base + "/dm_media/" + m.key + "/" + m.id + "." + extOf(m.contentType)
	}
	return base + "/media/" + m.key + "." + extOf(m.contentType)
}

// previewURL is where the still image of a video or GIF is served; for a
// photo, the photo itself.
func (m *mediaRec) previewURL(base string) string {
	if m.kind == MediaPhoto {
		return m.url(base)
	}
	if m.dm {
		return base + "/dm_media/" + m.key + "/" + m.id + ".jpg"
	}
	return base + "/media/" + m.key + ".jpg"
}

// bitRate is the bit rate announced for a video or GIF variant.
func (m *mediaRec) bitRate() int {
	if m.kind == MediaVideo {
		return 2176000
	}
	return 0
}

// CustomerDMWithMedia injects a direct message from the customer
// fromUserID to the support account carrying media (X allows one per DM:
// more panics, as does a Media without content or of an unknown Kind), and
// returns it. The media are given ids and media keys like X's and served at
// <base>/dm_media/<key>/<id>.<ext>, to authenticated requests only.
func (s *Server) CustomerDMWithMedia(fromUserID, text string, media ...Media) DMEvent {
	return s.CustomerDMToWithMedia(s.opts.SupportUserID, fromUserID, text, media...)
}

// CustomerDMToWithMedia is CustomerDMWithMedia to the support account
// accountID: only that account's requests may download the media.
func (s *Server) CustomerDMToWithMedia(accountID, fromUserID, text string, media ...Media) DMEvent {
	if len(media) > 1 {
		panic("xsim: CustomerDMWithMedia: a direct message carries at most one media")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(fromUserID)
	ids := s.addCustomerMediaLocked(fromUserID, true, media)
	for _, id := range ids {
		s.media[id].dmAccount = accountID
	}
	return s.addDMLocked(fromUserID, accountID, text, ids)
}

// CustomerMentionWithMedia is CustomerMention with media attached: up to
// four photos, or one video or GIF, as X allows (anything else panics). The
// media are served publicly at <base>/media/<key>.<ext>.
func (s *Server) CustomerMentionWithMedia(fromUserID, text, inReplyTo string, media ...Media) Tweet {
	photos := 0
	for _, m := range media {
		if m.Kind == MediaPhoto {
			photos++
		}
	}
	if len(media) > 4 || photos != len(media) && len(media) > 1 {
		panic("xsim: CustomerMentionWithMedia: a tweet carries up to 4 photos or one video or GIF")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.addCustomerMediaLocked(fromUserID, false, media)
	return s.customerMentionLocked(fromUserID, text, inReplyTo, ids)
}

func (s *Server) addCustomerMediaLocked(owner string, dm bool, media []Media) []string {
	var ids []string
	for _, m := range media {
		rec := &mediaRec{
			kind:        m.Kind,
			contentType: m.ContentType,
			altText:     m.AltText,
			width:       m.Width,
			height:      m.Height,
			durationMS:  m.DurationMS,
			dm:          dm,
			ownerID:     owner,
			data:        m.Data,
			size:        int64(len(m.Data)),
		}
		if m.Data == nil {
			if m.Reader == nil && m.Size > 0 {
				panic("xsim: Media with Size but neither Data nor Reader")
			}
			rec.size, rec.open = m.Size, m.Reader
		}
		w, h := 1200, 800
		switch m.Kind {
		case MediaPhoto:
			if rec.contentType == "" {
				rec.contentType = "image/jpeg"
			}
		case MediaVideo:
			w, h = 1280, 720
			if rec.durationMS == 0 {
				rec.durationMS = 10000
			}
		case MediaAnimatedGIF:
			w, h = 480, 270
		default:
			panic(fmt.Sprintf("xsim: Media.Kind %q is not photo, animated_gif or video", m.Kind))
		}
		if rec.contentType == "" {
			rec.contentType = "video/mp4"
		}
		if rec.width == 0 || rec.height == 0 {
			rec.width, rec.height = w, h
		}
		rec.id = s.nextIDLocked(s.now())
		rec.key = mediaKeyPrefix(m.Kind) + "_" + rec.id
		s.media[rec.id] = rec
		s.mediaKeys[rec.key] = rec
		ids = append(ids, rec.id)
	}
	return ids
}

// SetBaseURL sets the scheme and host (e.g. httptest.Server.URL) of the
// absolute URLs of media, as Options.BaseURL does.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(u, "/")
}

// baseURLLocked is the origin of media URLs in what is built outside a
// request (webhook payloads).
func (s *Server) baseURLLocked() string {
	switch {
	case s.baseURL != "":
		return s.baseURL
	case s.lastOrigin != "":
		return s.lastOrigin
	}
	return "http://localhost"
}

// requestOrigin is the scheme and host a request was sent to.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// isMediaDownload reports whether path is one of the simulator's media
// hosts rather than the API.
func isMediaDownload(path string) bool {
	return strings.HasPrefix(path, "/dm_media/") || strings.HasPrefix(path, "/media/")
}

// serveMediaFile answers GET /dm_media/<key>/<id>.<ext> (authenticated, as
// ton.twitter.com is) and GET /media/<key>.<ext> (public, as pbs.twimg.com
// is), with Range support. <ext> "jpg" of a video or GIF is its still
// image.
func (s *Server) serveMediaFile(x *exchange) {
	r := x.r
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		x.log.Violation = "405 Method Not Allowed: media hosts answer GET and HEAD only"
		x.w.Header().Set("Allow", "GET, HEAD")
		writeProblem(x.w, http.StatusMethodNotAllowed, "Method Not Allowed", "Method Not Allowed")
		return
	}
	dm := strings.HasPrefix(r.URL.Path, "/dm_media/")
	var key, name, ext string
	if dm {
		key, name, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/dm_media/"), "/")
		name, ext = splitExt(name)
	} else {
		key, ext = splitExt(strings.TrimPrefix(r.URL.Path, "/media/"))
	}
	s.mu.Lock()
	m, ok := s.mediaKeys[key]
	s.mu.Unlock()
	if !ok || m.dm != dm || dm && name != m.id {
		x.log.Violation = "404 Not Found: no such media " + r.URL.Path
		writeProblem(x.w, http.StatusNotFound, "Not Found", "Not Found")
		return
	}
	if dm {
		if err := s.authenticate(x); err != nil {
			x.log.Violation = "401 Unauthorized: DM media need an authenticated request: " + err.Error()
			writeProblem(x.w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
			return
		}
		if m.dmAccount != "" && x.me != m.dmAccount {
			x.log.Violation = "403 Forbidden: DM media are served to the conversation's participants only, not to " + x.me
			writeProblem(x.w, http.StatusForbidden, "Forbidden", "Forbidden")
			return
		}
	}
	if f, ok := s.takeFault(r.Method, r.URL.Path); ok && s.applyDownloadFault(x, f) {
		return
	}
	var content io.ReadSeeker
	contentType := m.contentType
	switch {
	case ext == extOf(m.contentType):
		if m.up != nil {
			// The simulator keeps only the hash of what was uploaded.
			writeProblem(x.w, http.StatusNotFound, "Not Found", "xsim does not keep the bytes of uploaded media")
			return
		}
		if m.open != nil {
			content = &lazySeeker{open: m.open, size: m.size}
		} else {
			content = bytes.NewReader(m.data)
		}
	case ext == "jpg" && m.kind != MediaPhoto:
		content, contentType = bytes.NewReader(previewJPEG()), "image/jpeg"
	default:
		x.log.Violation = "404 Not Found: no such media " + r.URL.Path
		writeProblem(x.w, http.StatusNotFound, "Not Found", "Not Found")
		return
	}
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "max-age=604800, must-revalidate")
	http.ServeContent(x.w, r, "", time.Time{}, content)
}

// applyDownloadFault applies a FailNext fault to a media download. It
// reports whether the fault answered (else the download goes on, after the
// fault's Delay).
func (s *Server) applyDownloadFault(x *exchange, f Fault) bool {
	x.log.Fault = true
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-x.r.Context().Done():
			t.Stop()
		}
	}
	switch {
	case f.Drop:
		x.log.Dropped = true // ServeHTTP drops the connection once logged
		return true
	case f.Status == 0:
		return false
	}
	if f.RetryAfter > 0 {
		x.w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	title := http.StatusText(f.Status)
	if title == "" {
		title = "Error " + strconv.Itoa(f.Status)
	}
	writeProblem(x.w, f.Status, title, title)
	return true
}

// splitExt splits "name.ext" at its last dot.
func splitExt(file string) (name, ext string) {
	i := strings.LastIndexByte(file, '.')
	if i < 0 {
		return file, ""
	}
	return file[:i], file[i+1:]
}

// previewJPEG is the still image served for every video and GIF: a small
// grey JPEG, encoded once.
var previewJPEG = sync.OnceValue(func() []byte {
	img := image.NewGray(image.Rect(0, 0, 16, 9))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// lazySeeker serves a Reader-generated content as an io.ReadSeeker for
// http.ServeContent, without holding it: it seeks the reader when it can,
// and otherwise reopens it and discards up to the position asked for.
type lazySeeker struct {
	open func() io.Reader
	size int64
	r    io.Reader
	rpos int64 // position of r
	pos  int64 // position asked for
}

func (l *lazySeeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += l.pos
	case io.SeekEnd:
		offset += l.size
	}
	if offset < 0 {
		return 0, errors.New("xsim: seek before the start of the media")
	}
	l.pos = offset
	return offset, nil
}

func (l *lazySeeker) Read(p []byte) (int, error) {
	if l.pos >= l.size {
		return 0, io.EOF
	}
	if err := l.reposition(); err != nil {
		return 0, err
	}
	if rest := l.size - l.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.pos += int64(n)
	l.rpos = l.pos
	if err == io.EOF && l.pos < l.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (l *lazySeeker) reposition() error {
	if l.r == nil {
		l.r, l.rpos = l.open(), 0
	}
	if l.rpos == l.pos {
		return nil
	}
	if sk, ok := l.r.(io.Seeker); ok {
		if _, err := sk.Seek(l.pos, io.SeekStart); err != nil {
			return err
		}
		l.rpos = l.pos
		return nil
	}
	if l.pos < l.rpos {
		l.r, l.rpos = l.open(), 0
	}
	n, err := io.CopyN(io.Discard, l.r, l.pos-l.rpos)
	l.rpos += n
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// NoisePNG returns a w×h PNG of noise, which does not compress away: a
// customer's photo (or an agent's screenshot) for tests and the demo.
func NoisePNG(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // writing to memory cannot fail
	return buf.Bytes()
}

// GeneratedBytes returns a Media.Reader yielding size pseudo-random bytes
// determined by seed, without holding them: each call returns a new
// io.ReadSeeker over the same content, so that tests can serve (and check)
// large media without allocating them (a 64 KiB table is shared by the
// readers of one GeneratedBytes).
func GeneratedBytes(seed, size int64) func() io.Reader {
	table := sync.OnceValue(func() []byte {
		t := make([]byte, patternTable)
		for i := 0; i < len(t); i += 8 {
			binary.LittleEndian.PutUint64(t[i:], splitmix64(uint64(seed)+uint64(i)))
		}
		return t
	})
	return func() io.Reader { return &patternReader{seed: uint64(seed), table: table(), size: size} }
}

// patternTable is the size of the table of GeneratedBytes.
const patternTable = 64 << 10

// patternReader is the content of GeneratedBytes: each window of
// patternTable bytes is the table rotated by an amount drawn from the seed
// and the window's index.
type patternReader struct {
	seed      uint64
	table     []byte
	size, pos int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.pos >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-p.pos))
	for i := 0; i < n; {
		at := p.pos + int64(i)
		window, off := uint64(at/patternTable), int(at%patternTable)
		rot := int(splitmix64(p.seed^window*0x9e3779b97f4a7c15) % patternTable)
		j := (off + rot) % patternTable
		k := copy(b[i:n], p.table[j:])
		k = min(k, patternTable-off) // stay in the window
		i += k
	}
	p.pos += int64(n)
	return n, nil
}

func (p *patternReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += p.pos
	case io.SeekEnd:
		offset += p.size
	}
	if offset < 0 {
		return 0, errors.New("xsim: seek before the start")
	}
	p.pos = offset
	return offset, nil
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// mediaJSONLocked renders a v2 Media object: media_key and type always (as
// X does), other fields when asked for. Only photos have a url; videos and
// GIFs have a preview_image_url and variants.
func (s *Server) mediaJSONLocked(m *mediaRec, f fieldSet, base string) map[string]any {
	o := map[string]any{"media_key": m.key, "type": m.kind}
	if f["url"] && m.kind == MediaPhoto {
		o["url"] = m.url(base)
	}
	if f["preview_image_url"] && m.kind != MediaPhoto {
		o["preview_image_url"] = m.previewURL(base)
	}
	if f["alt_text"] && m.altText != "" {
		o["alt_text"] = m.altText
	}
	if f["width"] && m.width > 0 {
		o["width"] = m.width
	}
	if f["height"] && m.height > 0 {
		o["height"] = m.height
	}
	if f["duration_ms"] && m.kind == MediaVideo && m.durationMS > 0 {
		o["duration_ms"] = m.durationMS
	}
	if f["variants"] && m.kind != MediaPhoto {
		o["variants"] = []any{map[string]any{
			"bit_rate":     m.bitRate(),
			"content_type": m.contentType,
			"url":          m.url(base),
		}}
	}
	return o
}

// mediaKeysLocked returns the media keys of media ids.
func (s *Server) mediaKeysLocked(ids []string) []string {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if m, ok := s.media[id]; ok {
			keys = append(keys, m.key)
		}
	}
	return keys
}

// v1MediaLocked renders a media as a v1.1 media entity (as in a DM's
// message_data.attachment.media or a tweet's extended_entities.media).
// at is the rune offset of the end of the text; expanded the
// expanded_url.
func (s *Server) v1MediaLocked(m *mediaRec, base string, at int, expanded string) map[string]any {
	id, _ := strconv.ParseInt(m.id, 10, 64)
	still := m.previewURL(base)
	code := tcoCode(m.id)
	e := map[string]any{
		"id":              id,
		"id_str":          m.id,
		"indices":         []int{at, at},
		"media_url":       strings.Replace(still, "https://", "http://", 1),
		"media_url_https": still,
		"url":             "https://t.co/" + code,
		"display_url":     "pic.x.com/" + code,
		"expanded_url":    expanded,
		"type":            m.kind,
		"sizes":           v1Sizes(m.width, m.height),
		"ext_alt_text":    nil,
	}
	if m.altText != "" {
		e["ext_alt_text"] = m.altText
	}
	if m.kind != MediaPhoto {
		vi := map[string]any{
			"aspect_ratio": aspectRatio(m.width, m.height),
			"variants": []any{map[string]any{
				"bitrate":      m.bitRate(),
				"content_type": m.contentType,
				"url":          m.url(base),
			}},
		}
		if m.kind == MediaVideo {
			vi["duration_millis"] = m.durationMS
		}
		e["video_info"] = vi
	}
	return e
}

// v1Sizes renders the "sizes" of a v1.1 media entity.
func v1Sizes(w, h int) map[string]any {
	if w <= 0 || h <= 0 {
		w, h = 1200, 800
	}
	fit := func(limit int) map[string]any {
		sw, sh := w, h
		if m := max(w, h); m > limit {
			sw, sh = w*limit/m, h*limit/m
		}
		return map[string]any{"w": sw, "h": sh, "resize": "fit"}
	}
	return map[string]any{
		"thumb":  map[string]any{"w": 150, "h": 150, "resize": "crop"},
		"small":  fit(680),
		"medium": fit(1200),
		"large":  fit(2048),
	}
}

func aspectRatio(w, h int) []int {
	if w <= 0 || h <= 0 {
		return []int{16, 9}
	}
	a, b := w, h
	for b != 0 {
		a, b = b, a%b
	}
	return []int{w / a, h / a}
}
