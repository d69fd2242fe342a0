package xsim

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"image"
	_ "image/gif" // DecodeConfig of uploaded GIFs
	_ "image/png" // DecodeConfig of uploaded PNGs
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits of media uploads.
const (
	maxChunk       = 5 << 20        // an APPEND segment, as X documents it
	uploadLifetime = 24 * time.Hour // an upload can be used this long after INIT
)

// mediaCategory describes what X accepts in a media_category.
type mediaCategory struct {
	kind      string   // kind of the media
	types     []string // media_type allowed
	limit     int64    // largest size, in bytes
	dm        bool     // for direct messages (else for tweets)
	async     bool     // processed after FINALIZE (STATUS to poll)
	keyPrefix string
}

var (
	imageTypes = []string{"image/jpeg", "image/pjpeg", "image/png", "image/webp"}
	gifTypes   = []string{"image/gif"}
	videoTypes = []string{"video/mp4", "video/quicktime"}
)

// mediaCategories are X's limits per media_category: images up to 5 MB
// (JPEG, PNG, WebP), GIFs up to 15 MB, videos up to 512 MB (MP4, MOV).
var mediaCategories = map[string]mediaCategory{
	"tweet_image":   {MediaPhoto, imageTypes, 5 << 20, false, false, "3"},
	"dm_image":      {MediaPhoto, imageTypes, 5 << 20, true, false, "3"},
	"tweet_gif":     {MediaAnimatedGIF, gifTypes, 15 << 20, false, true, "16"},
	"dm_gif":        {MediaAnimatedGIF, gifTypes, 15 << 20, true, true, "16"},
	"tweet_video":   {MediaVideo, videoTypes, 512 << 20, false, true, "7"},
	"dm_video":      {MediaVideo, videoTypes, 512 << 20, true, true, "7"},
	"amplify_video": {MediaVideo, videoTypes, 512 << 20, false, true, "13"},
}

// defaultCategory is the media_category an upload without one gets: the
// tweet category of its media_type.
func defaultCategory(mediaType string) string {
	switch {
	case mediaType == "image/gif":
		return "tweet_gif"
	case strings.HasPrefix(mediaType, "video/"):
		return "tweet_video"
	}
	return "tweet_image"
}

// upload is the state of a media upload.
type upload struct {
	category   string
	totalBytes int64
	received   int64
	hash       hash.Hash // running SHA-256 of the segments appended
	segments   int       // segments appended: the next segment_index
	lastSum    [32]byte  // SHA-256 of the last segment, to accept its retry
	finalized  bool
	sum        string // hex SHA-256 of the content, once finalized
	state      string // processing state: "" (none), "pending", "in_progress", "succeeded"
	polls      int    // STATUS polls answered
	expires    time.Time
}

// UploadedMedia describes a media the support account uploaded.
type UploadedMedia struct {
	ID         string
	MediaKey   string
	OwnerID    string
	Category   string // media_category, e.g. "dm_image"
	MediaType  string // e.g. "image/png"
	Kind       string // MediaPhoto, MediaAnimatedGIF or MediaVideo
	TotalBytes int64  // total_bytes announced at INIT
	Size       int64  // bytes received
	Segments   int    // APPEND segments received
	Finalized  bool
	SHA256     string // hex SHA-256 of the bytes, once finalized
	State      string // processing state: "" (none: ready once finalized), "pending", "in_progress" or "succeeded"
	AltText    string // set with POST /2/media/metadata
	Width      int    // of images and GIFs whose first segment tells, else 0
	Height     int
}

// UploadedMedia returns the media uploaded with that id. The simulator
// keeps its size and SHA-256, not its bytes.
func (s *Server) UploadedMedia(id string) (UploadedMedia, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[id]
	if !ok || m.up == nil {
		return UploadedMedia{}, false
	}
	return UploadedMedia{
		ID:         m.id,
		MediaKey:   m.key,
		OwnerID:    m.ownerID,
		Category:   m.up.category,
		MediaType:  m.contentType,
		Kind:       m.kind,
		TotalBytes: m.up.totalBytes,
		Size:       m.up.received,
		Segments:   m.up.segments,
		Finalized:  m.up.finalized,
		SHA256:     m.up.sum,
		State:      m.up.state,
		AltText:    m.altText,
		Width:      m.width,
		Height:     m.height,
	}, true
}

// newUploadLocked records a new upload of the support account owner.
func (s *Server) newUploadLocked(owner string, now time.Time, category, mediaType string, total int64) *mediaRec {
	c := mediaCategories[category]
	m := &mediaRec{
		id:          s.nextIDLocked(now),
		kind:        c.kind,
		contentType: mediaType,
		dm:          c.dm,
		ownerID:     owner,
		up: &upload{
			category:   category,
			totalBytes: total,
			hash:       sha256.New(),
			expires:    now.Add(uploadLifetime),
		},
	}
	m.key = c.keyPrefix + "_" + m.id
	s.media[m.id] = m
	s.mediaKeys[m.key] = m
	return m
}

// uploadLocked returns the upload of the support account owner with that
// id: an account cannot use another's uploads.
func (s *Server) uploadLocked(owner, id string) (*mediaRec, bool) {
	m, ok := s.media[id]
	if !ok || m.up == nil || m.ownerID != owner {
		return nil, false
	}
	return m, true
}

// checkMediaType refuses, as X does, a media_type the category does not
// allow or a size over its limit. It reports whether the upload may go on.
func checkMediaType(x *exchange, category, mediaType string, size int64) bool {
	c := mediaCategories[category]
	switch {
	case !slices.Contains(c.types, mediaType):
		refuse(x, "media_type", mediaType, fmt.Sprintf("The media_type %s is not supported for media_category %s (allowed: %s).",
			mediaType, category, strings.Join(c.types, ", ")))
		return false
	case size <= 0:
		refuse(x, "total_bytes", strconv.FormatInt(size, 10), "The media is empty.")
		return false
	case size > c.limit:
		refuse(x, "total_bytes", strconv.FormatInt(size, 10), fmt.Sprintf("File size exceeds %d bytes.", c.limit))
		return false
	}
	return true
}

// checkCategory refuses the categories the simulator does not simulate
// (subtitles) as violations. It reports whether the upload may go on.
func checkCategory(x *exchange, category string) bool {
	if _, ok := mediaCategories[category]; !ok {
		invalid(x, "media_category", category, "xsim does not simulate media_category "+category)
		return false
	}
	return true
}

// mediaInitialize answers POST /2/media/upload/initialize.
func (s *Server) mediaInitialize(x *exchange) {
	var req struct {
		MediaType     string `json:"media_type"`
		TotalBytes    *int64 `json:"total_bytes"`
		MediaCategory string `json:"media_category"`
	}
	if err := json.Unmarshal(x.body, &req); err != nil {
		invalid(x, "", "", "request body is not valid JSON: "+err.Error())
		return
	}
	switch {
	case req.MediaType == "":
		invalid(x, "media_type", "", "media_type is required")
		return
	case req.TotalBytes == nil:
		invalid(x, "total_bytes", "", "total_bytes is required")
		return
	}
	category := req.MediaCategory
	if category == "" {
		category = defaultCategory(req.MediaType)
	}
	if !checkCategory(x, category) || !checkMediaType(x, category, req.MediaType, *req.TotalBytes) {
		return
	}
	s.mu.Lock()
	m := s.newUploadLocked(x.me, x.now, category, req.MediaType, *req.TotalBytes)
	s.mu.Unlock()
	writeJSON(x.w, http.StatusOK, map[string]any{
		"data": map[string]any{
			"id":                 m.id,
			"media_key":          m.key,
			"expires_after_secs": int(uploadLifetime.Seconds()),
		},
		"meta": map[string]any{},
	})
}

// mediaAppend answers POST /2/media/upload/{id}/append. The segment is
// streamed into a copy of the upload's running SHA-256 (kept if the segment
// is accepted) and into its own, and not kept: the simulator holds no more
// than the request being received.
func (s *Server) mediaAppend(x *exchange) {
	id := x.route.params["id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.uploadLocked(x.me, id)
	if !ok {
		invalid(x, "id", id, "media id ["+id+"] is not an upload of yours")
		return
	}
	up := m.up
	switch {
	case up.finalized:
		refuse(x, "id", id, "The upload of media id ["+id+"] is finalized: nothing can be appended to it.")
		return
	case !x.now.Before(up.expires):
		refuse(x, "id", id, "The upload of media id ["+id+"] has expired.")
		return
	}
	running, segHash := cloneHash(up.hash), sha256.New()
	form, err := parseMediaForm(x, io.MultiWriter(running, segHash))
	if err != nil {
		invalid(x, "", "", err.Error())
		return
	}
	seg, err := strconv.Atoi(form.fields["segment_index"])
	if err != nil {
		invalid(x, "segment_index", form.fields["segment_index"], "segment_index must be an integer from 0 to 999")
		return
	}
	var sum [32]byte
	segHash.Sum(sum[:0])
	answer := func() {
		writeJSON(x.w, http.StatusOK, map[string]any{
			"data": map[string]any{"expires_at": up.expires.Unix()},
			"meta": map[string]any{},
		})
	}
	switch {
	case up.segments > 0 && seg == up.segments-1 && sum == up.lastSum:
		answer() // the retry of the last segment: already there
		return
	case seg != up.segments:
		invalid(x, "segment_index", strconv.Itoa(seg), fmt.Sprintf("segment_index %d is out of order: the next segment of this upload is %d", seg, up.segments))
		return
	case form.size == 0:
		invalid(x, "media", "", "media is empty")
		return
	case form.size > maxChunk:
		invalid(x, "media", "", fmt.Sprintf("a segment must be at most %d bytes, this one has %d", maxChunk, form.size))
		return
	case up.received+form.size > up.totalBytes:
		refuse(x, "segment_index", strconv.Itoa(seg), fmt.Sprintf("The segments appended (%d bytes) exceed the total_bytes (%d) given at initialize.",
			up.received+form.size, up.totalBytes))
		return
	}
	if seg == 0 && m.kind != MediaVideo {
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(form.head)); err == nil {
			m.width, m.height = cfg.Width, cfg.Height
		}
	}
	up.hash = running
	up.received += form.size
	up.lastSum = sum
	up.segments++
	answer()
}

// mediaFinalize answers POST /2/media/upload/{id}/finalize.
func (s *Server) mediaFinalize(x *exchange) {
	id := x.route.params["id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.uploadLocked(x.me, id)
	if !ok {
		invalid(x, "id", id, "media id ["+id+"] is not an upload of yours")
		return
	}
	up := m.up
	if !up.finalized {
		if up.received != up.totalBytes {
			refuse(x, "id", id, fmt.Sprintf("The segments appended have %d bytes, not the total_bytes (%d) given at initialize.", up.received, up.totalBytes))
			return
		}
		up.finalized = true
		up.sum = hex.EncodeToString(up.hash.Sum(nil))
		up.hash = nil
		if mediaCategories[up.category].async {
			up.state = "pending"
		}
	}
	writeJSON(x.w, http.StatusOK, map[string]any{"data": uploadJSON(m, x.now), "meta": map[string]any{}})
}

// mediaStatus answers GET /2/media/upload?command=STATUS&media_id=: the
// processing of a video or GIF, "succeeded" after Options.ProcessingPolls
// polls answered "in_progress".
func (s *Server) mediaStatus(x *exchange) {
	id := x.r.URL.Query().Get("media_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.uploadLocked(x.me, id)
	switch {
	case !ok:
		invalid(x, "media_id", id, "media_id ["+id+"] is not an upload of yours")
		return
	case !m.up.finalized:
		invalid(x, "media_id", id, "media_id ["+id+"] is not finalized: there is no processing to report yet")
		return
	}
	up := m.up
	if up.state == "pending" || up.state == "in_progress" {
		up.polls++
		if up.polls > s.opts.ProcessingPolls {
			up.state = "succeeded"
		} else {
			up.state = "in_progress"
		}
	}
	writeJSON(x.w, http.StatusOK, map[string]any{"data": uploadJSON(m, x.now), "meta": map[string]any{}})
}

// uploadJSON renders the data of an upload as FINALIZE and STATUS answer it.
func uploadJSON(m *mediaRec, now time.Time) map[string]any {
	up := m.up
	d := map[string]any{
		"id":                 m.id,
		"media_key":          m.key,
		"size":               up.received,
		"expires_after_secs": max(0, int(up.expires.Sub(now).Seconds())),
	}
	// The description requires a "type" in processing_info, which it does
	// not describe: it is given the kind of the media.
	switch up.state {
	case "pending":
		d["processing_info"] = map[string]any{"type": m.kind, "state": "pending", "check_after_secs": 1}
	case "in_progress":
		d["processing_info"] = map[string]any{"type": m.kind, "state": "in_progress", "check_after_secs": 1, "progress_percent": 50}
	case "succeeded":
		d["processing_info"] = map[string]any{"type": m.kind, "state": "succeeded", "progress_percent": 100}
	}
	return d
}

// mediaUploadOneShot answers POST /2/media/upload: an image (tweet_image or
// dm_image) in one request.
func (s *Server) mediaUploadOneShot(x *exchange) {
	h := sha256.New()
	form, err := parseMediaForm(x, h)
	if err != nil {
		invalid(x, "", "", err.Error())
		return
	}
	category := form.fields["media_category"]
	if !checkCategory(x, category) {
		return
	}
	mediaType := form.fields["media_type"]
	if mediaType == "" {
		mediaType, _, _ = mime.ParseMediaType(http.DetectContentType(form.head))
	}
	if !checkMediaType(x, category, mediaType, form.size) {
		return
	}
	s.mu.Lock()
	m := s.newUploadLocked(x.me, x.now, category, mediaType, form.size)
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(form.head)); err == nil {
		m.width, m.height = cfg.Width, cfg.Height
	}
	up := m.up
	up.received = up.totalBytes
	up.segments = 1
	up.finalized = true
	up.sum = hex.EncodeToString(h.Sum(nil))
	up.hash = nil
	data := uploadJSON(m, x.now)
	s.mu.Unlock()
	writeJSON(x.w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{}})
}

// mediaMetadata answers POST /2/media/metadata: the alt text of an upload.
func (s *Server) mediaMetadata(x *exchange) {
	var req struct {
		ID       string `json:"id"`
		Metadata struct {
			AltText *struct {
				Text string `json:"text"`
			} `json:"alt_text"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(x.body, &req); err != nil {
		invalid(x, "", "", "request body is not valid JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.uploadLocked(x.me, req.ID)
	if !ok {
		invalid(x, "id", req.ID, "media id ["+req.ID+"] is not an upload of yours")
		return
	}
	assoc := map[string]any{}
	if req.Metadata.AltText != nil {
		m.altText = req.Metadata.AltText.Text
		assoc["alt_text"] = map[string]any{"text": m.altText}
	}
	writeJSON(x.w, http.StatusOK, map[string]any{
		"data": map[string]any{"id": m.id, "associated_metadata": assoc},
	})
}

// mediaByKey answers GET /2/media/{media_key}.
func (s *Server) mediaByKey(x *exchange) {
	s.lookupMedia(x, "media_key", []string{x.route.params["media_key"]}, true)
}

// mediaByKeys answers GET /2/media?media_keys=.
func (s *Server) mediaByKeys(x *exchange) {
	s.lookupMedia(x, "media_keys", queryList(x.r, "media_keys"), false)
}

func (s *Server) lookupMedia(x *exchange, param string, keys []string, single bool) {
	mf := fieldsOf(x.r, "media.fields")
	var data, errs []any
	s.mu.Lock()
	for _, k := range keys {
		m, ok := s.mediaKeys[k]
		if !ok {
			errs = append(errs, notFound("media", param, k))
			continue
		}
		data = append(data, s.mediaJSONLocked(m, mf, x.origin))
	}
	s.mu.Unlock()
	resp := map[string]any{}
	switch {
	case single && len(data) == 1:
		resp["data"] = data[0]
	case len(data) > 0:
		resp["data"] = data
	}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	writeJSON(x.w, http.StatusOK, resp)
}

// usableMediaLocked checks that the media id can be attached to a DM (dm)
// or a tweet by the support account owner: uploaded by it, finalized, processed,
// not expired and of a category for that use. It returns the media or why
// not.
func (s *Server) usableMediaLocked(owner, id string, dm bool, now time.Time) (*mediaRec, string) {
	m, ok := s.uploadLocked(owner, id)
	if !ok {
		return nil, "media id [" + id + "] is not a media you uploaded"
	}
	up := m.up
	c := mediaCategories[up.category]
	use := "tweets"
	if dm {
		use = "direct messages"
	}
	switch {
	case !up.finalized:
		return nil, "media id [" + id + "] is not finalized"
	case up.state == "pending" || up.state == "in_progress":
		return nil, "media id [" + id + "] is still processing: poll GET /2/media/upload?command=STATUS until it has succeeded"
	case !now.Before(up.expires):
		return nil, "media id [" + id + "] has expired"
	case c.dm != dm:
		return nil, "media id [" + id + "] has media_category " + up.category + ", which is not for " + use
	}
	return m, ""
}

// mediaForm is the body of an APPEND or one-shot upload: its fields, and
// what parseMediaForm saw of its media while streaming it to a sink.
type mediaForm struct {
	fields map[string]string
	size   int64  // bytes of media
	head   []byte // its first headBytes bytes, to sniff its type and size
}

// headBytes is how much of a media upload is kept to sniff it.
const headBytes = 64 << 10

// headWriter keeps the first headBytes bytes written to it and counts
// them all.
type headWriter struct{ f *mediaForm }

func (w headWriter) Write(p []byte) (int, error) {
	if room := headBytes - len(w.f.head); room > 0 {
		w.f.head = append(w.f.head, p[:min(room, len(p))]...)
	}
	w.f.size += int64(len(p))
	return len(p), nil
}

// parseMediaForm reads a multipart/form-data or JSON (media base64-encoded)
// upload body, writing the media's bytes to sink rather than copying them.
func parseMediaForm(x *exchange, sink io.Writer) (*mediaForm, error) {
	form := &mediaForm{fields: map[string]string{}}
	sink = io.MultiWriter(headWriter{form}, sink)
	ct, params, _ := mime.ParseMediaType(x.r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		mr := multipart.NewReader(bytes.NewReader(x.body), params["boundary"])
		hasMedia := false
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("malformed multipart body: %w", err)
			}
			name := part.FormName()
			if name == "media" && !hasMedia {
				if _, err := io.Copy(sink, part); err != nil {
					return nil, fmt.Errorf("malformed multipart body: %w", err)
				}
				hasMedia = true
				continue
			}
			v, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				return nil, fmt.Errorf("malformed multipart body: %w", err)
			}
			if _, dup := form.fields[name]; !dup {
				form.fields[name] = string(v)
			}
		}
		if !hasMedia {
			return nil, fmt.Errorf("the media part is missing")
		}
		return form, nil
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(x.body, &req); err != nil {
		return nil, fmt.Errorf("request body is not valid JSON: %w", err)
	}
	b64 := ""
	for k, raw := range req {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("request body is not valid JSON: %w", err)
		}
		switch v := v.(type) {
		case string:
			if k == "media" {
				b64 = v
				continue
			}
			form.fields[k] = v
		case float64:
			form.fields[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			form.fields[k] = strconv.FormatBool(v)
		}
	}
	if _, ok := req["media"]; !ok {
		return nil, fmt.Errorf("media is required")
	}
	if _, err := io.Copy(sink, base64.NewDecoder(base64.StdEncoding, strings.NewReader(b64))); err != nil {
		return nil, fmt.Errorf("media is not base64-encoded: %w", err)
	}
	return form, nil
}

// cloneHash returns an independent copy of the state of h.
func cloneHash(h hash.Hash) hash.Hash {
	if c, ok := h.(hash.Cloner); ok {
		if d, err := c.Clone(); err == nil {
			return d
		}
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err) // SHA-256 state always marshals
	}
	d := sha256.New()
	if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		panic(err)
	}
	return d
}
