package slacksim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Files: the external upload flow (files.getUploadURLExternal, a POST of
// the bytes to the URL it hands out, files.completeUploadExternal), and the
// files people share in a thread, served at their url_private with the bot
// token, as files.slack.com does. Uploads are streamed: the simulator keeps
// their SHA-256, size and sniffed type, not their bytes.

// maxFileSize is the largest file Slack takes: 1 GB.
const maxFileSize = 1 << 30

// sniffLen is how much of a file decides its type.
const sniffLen = 512

// upload is a file of the external upload flow.
type upload struct {
	id, name, altText string
	length            int
	received          bool
	size              int
	mimetype          string
	sum               string
}

// UserFile is a file a person shares with PostFileAsUser.
type UserFile struct {
	Name     string
	Mimetype string // what Slack announces; by default the type of the name's extension
	AltText  string
	// The content: Data, or when Data is nil Size bytes produced by
	// Reader, which must yield the same bytes at each call (large files
	// are served without being held).
	Data   []byte
	Size   int64
	Reader func() io.Reader
}

// hostedFile is a file people shared, served for download.
type hostedFile struct {
	File
	data []byte
	size int64
	open func() io.Reader
}

func (s *Server) filesGetUploadURLExternal(c *apiCall) (obj, *apiError) {
	n, err := strconv.Atoi(c.params.Get("length"))
	if err != nil || n <= 0 {
		return nil, fail("invalid_arguments")
	}
	if n > maxFileSize {
		return nil, fail("file_too_large")
	}
	id := s.nextIDLocked("F", 10)
	s.uploads[id] = &upload{id: id, name: c.params.Get("filename"), length: n, altText: c.params.Get("alt_txt")}
	return obj{"upload_url": s.baseLocked() + "/upload/" + id, "file_id": id}, nil
}

// serveUpload receives the bytes of an external upload (step 2): the
// multipart "file" part, or a raw body, streamed through a hash.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	up := s.uploads[id]
	s.mu.Unlock()
	if up == nil {
		s.violation("upload %s: unknown upload URL", id)
		http.NotFound(w, r)
		return
	}
	body := io.Reader(r.Body)
	if ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		body = nil
		for {
			p, err := mr.NextPart()
			if err != nil {
				s.violation("upload %s: no file part: %v", id, err)
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			if p.FormName() == "file" {
				body = p
				break
			}
		}
	}
	h := sha256.New()
	head := &headWriter{}
	n, err := io.Copy(io.MultiWriter(h, head), body)
	if err != nil {
		http.Error(w, "upload cut short", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	up.received, up.size = true, int(n)
	up.sum = hex.EncodeToString(h.Sum(nil))
	up.mimetype = sniff(head.b)
	if int(n) != up.length {
		s.violationLocked("upload %s: %d bytes sent, files.getUploadURLExternal announced %d", id, n, up.length)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "OK - %d", n)
}

// headWriter keeps the first sniffLen bytes written to it.
type headWriter struct{ b []byte }

func (w *headWriter) Write(p []byte) (int, error) {
	if room := sniffLen - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// sniff is a file's type as Slack finds it from its bytes.
func sniff(head []byte) string {
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	return ct
}

func (s *Server) filesCompleteUploadExternal(c *apiCall) (obj, *apiError) {
	p := c.params
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if json.Unmarshal([]byte(p.Get("files")), &files) != nil || len(files) == 0 {
		return nil, fail("invalid_arguments")
	}
	var shared []File
	out := make([]obj, 0, len(files))
	for _, f := range files {
		up := s.uploads[f.ID]
		if up == nil || !up.received {
			return nil, fail("file_not_found")
		}
		title := f.Title
		if title == "" {
			title = up.name
		}
		shared = append(shared, File{ID: up.id, Name: up.name, Title: title, Size: up.size, Mimetype: up.mimetype,
			SHA256: up.sum, AltText: up.altText, User: s.opts.BotUserID})
		out = append(out, obj{"id": up.id, "title": title})
	}
	chID := p.Get("channel_id")
	if chID == "" {
		chID, _, _ = strings.Cut(p.Get("channels"), ",")
	}
	if chID == "" {
		return obj{"files": out}, nil
	}
	ch := s.channelLocked(chID)
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	thread := p.Get("thread_ts")
	if thread != "" && ch.root(thread) == nil {
		return nil, fail("thread_not_found")
	}
	text := p.Get("initial_comment")
	if len([]rune(text)) > maxTextRunes {
		return nil, fail("msg_too_long")
	}
	var blocks json.RawMessage
	if b := p.Get("blocks"); b != "" {
		nb, aerr := s.normalizeBlocksLocked(b)
		if aerr != nil {
			return nil, aerr
		}
		blocks = nb
	}
	for _, f := range shared {
		delete(s.uploads, f.ID)
	}
	m := &message{Message: Message{
		Channel: ch.id, TS: s.newTSLocked(), ThreadTS: thread,
		User: s.opts.BotUserID, BotID: s.opts.BotID, Text: text, Blocks: blocks, Files: shared,
	}, team: s.opts.TeamID}
	ch.addMessage(m)
	s.emitMessageLocked(ch, m)
	return obj{"files": out}, nil
}

// PostFileAsUser makes userID share a file in channel, in the thread
// threadTS when it is not empty, with text as its message, and emits the
// file_share message event Slack would. The file is served at its
// url_private_download to requests with the bot token. It returns the
// message's ts ("" when the channel or thread does not exist; see
// Violations).
func (s *Server) PostFileAsUser(userID, channel, threadTS, text string, f UserFile) (ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	switch {
	case ch == nil:
		s.violationLocked("sim: PostFileAsUser to unknown channel %q", channel)
		return ""
	case threadTS != "" && ch.root(threadTS) == nil:
		s.violationLocked("sim: PostFileAsUser to unknown thread %s in %s", threadTS, ch.id)
		return ""
	}
	hf := &hostedFile{data: f.Data, size: int64(len(f.Data)), open: f.Reader}
	if f.Data == nil {
		hf.size = f.Size
	}
	mimetype := f.Mimetype
	if mimetype == "" {
		mimetype = mime.TypeByExtension(path.Ext(f.Name))
		mimetype, _, _ = mime.ParseMediaType(mimetype)
	}
	if mimetype == "" {
		mimetype = "application/octet-stream"
	}
	h := sha256.New()
	_, _ = io.Copy(h, hf.reader())
	hf.File = File{ID: s.nextIDLocked("F", 10), Name: f.Name, Title: f.Name, Size: int(hf.size), Mimetype: mimetype,
		SHA256: hex.EncodeToString(h.Sum(nil)), AltText: f.AltText, User: userID}
	s.hosted[hf.ID] = hf
	m := &message{Message: Message{
		Channel: ch.id, TS: s.newTSLocked(), ThreadTS: threadTS, User: userID, Text: text, Files: []File{hf.File},
	}, team: s.opts.TeamID, clientMsgID: uuid.NewString()}
	if text != "" {
		m.Blocks = richText(text)
	}
	ch.addMessage(m)
	s.emitMessageLocked(ch, m)
	return m.TS
}

func (f *hostedFile) reader() io.Reader {
	if f.data != nil || f.open == nil {
		return bytes.NewReader(f.data)
	}
	return io.LimitReader(f.open(), f.size)
}

// Downloads of shared files, as files.slack.com serves url_private.
const filesPath = "/files-pri/"

// fileURL is where a file's bytes are served.
func (s *Server) fileURLLocked(f File, download bool) string {
	u := s.baseLocked() + filesPath + s.opts.TeamID + "-" + f.ID + "/"
	if download {
		u += "download/"
	}
	return u + f.Name
}

// serveFile answers GET /files-pri/<team>-<id>/[download/]<name> for
// requests carrying the bot token.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, filesPath)
	ref, _, _ := strings.Cut(rest, "/")
	_, id, _ := strings.Cut(ref, "-")
	s.mu.Lock()
	f := s.hosted[id]
	s.mu.Unlock()
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	case f == nil:
		s.violation("file download %s: no such file", r.URL.Path)
		http.NotFound(w, r)
		return
	case r.Header.Get("Authorization") != "Bearer "+s.opts.BotToken:
		s.violation("file download %s: without the bot token", r.URL.Path)
		http.Error(w, "not authorized", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", f.Mimetype)
	w.Header().Set("Content-Length", strconv.FormatInt(f.size, 10))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, f.reader())
}

func (s *Server) fileJSONLocked(f File) obj {
	ext := strings.TrimPrefix(path.Ext(f.Name), ".")
	if ext == "" {
		ext = "binary"
	}
	user := f.User
	if user == "" {
		user = s.opts.BotUserID
	}
	o := obj{
		"id": f.ID, "name": f.Name, "title": f.Title, "size": f.Size,
		"mimetype": f.Mimetype, "filetype": ext, "pretty_type": strings.ToUpper(ext),
		"user": user, "mode": "hosted", "is_external": false, "is_public": true,
		"url_private":          s.fileURLLocked(f, false),
		"url_private_download": s.fileURLLocked(f, true),
		"permalink":            "https://sim.slack.local/files/" + user + "/" + f.ID + "/" + f.Name,
	}
	if f.AltText != "" {
		o["alt_txt"] = f.AltText
	}
	return o
}
