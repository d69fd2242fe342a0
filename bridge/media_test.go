package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/x"
	"github.com/xbridge/xbridge/bridge"
)

// pngBytes is the start of a PNG file and some bytes: what sniffing sees.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{1}, 2000)...)

// pdfBytes is a PDF, whatever its name says.
var pdfBytes = append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("0 obj\n"), 300)...)

// files is a store of downloadable files by URL, for the fakes.
type files struct {
	mu      sync.Mutex
	content map[string][]byte
	opened  []string
	fail    []error
}

func (f *files) put(url string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.content == nil {
		f.content = map[string][]byte{}
	}
	f.content[url] = b
}

func (f *files) OpenFile(_ context.Context, url string) (*bridge.FileStream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, url)
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return nil, err
	}
	b, ok := f.content[url]
	if !ok {
		return nil, &bridge.DeliveryError{Reason: "no such file"}
	}
	return &bridge.FileStream{Body: io.NopCloser(bytes.NewReader(b)), Size: int64(len(b)), ContentType: "application/octet-stream"}, nil
}

// chatFile is a file posted in a thread.
type chatFile struct {
	id, thread string
	upload     bridge.FileUpload
	data       []byte
	posted     bool // shared in the thread (else the upload was cut short)
}

// mediaChat is a recording chat platform that takes files.
type mediaChat struct {
	*recChat
	files
	max int64

	mu      sync.Mutex
	posted  []*chatFile
	cutNext bool // the next upload dies after its file was named
}

func (c *mediaChat) MaxFileSize() int64 { return c.max }

func (c *mediaChat) PostFile(_ context.Context, channel, threadID string, f bridge.FileUpload) (string, error) {
	id := c.newID("F")
	if f.Began != nil {
		f.Began(id)
	}
	c.mu.Lock()
	cut := c.cutNext
	c.cutNext = false
	c.mu.Unlock()
	if cut {
		return "", &bridge.DeliveryError{Temporary: true, Reason: "connection reset"}
	}
	data, err := io.ReadAll(f.Body)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posted = append(c.posted, &chatFile{id: id, thread: threadID, upload: f, data: data, posted: true})
	return id, nil
}

func (c *mediaChat) FilePosted(_ context.Context, channel, threadID, fileID string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.posted {
		if f.id == fileID {
			return f.posted, nil
		}
	}
	return false, nil
}

func (c *mediaChat) filesIn(thread string) []*chatFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*chatFile
	for _, f := range c.posted {
		if f.thread == thread {
			out = append(out, f)
		}
	}
	return out
}

// OpenMedia downloads what a customer sent to account.
func (x *mediaX) OpenMedia(ctx context.Context, account, url string) (*bridge.FileStream, error) {
	x.mu.Lock()
	x.mediaAccounts = append(x.mediaAccounts, account)
	x.mu.Unlock()
	return x.files.OpenFile(ctx, url)
}

// mediaX is a recording X that downloads and uploads media.
type mediaX struct {
	*recX
	files

	mu            sync.Mutex
	mediaAccounts []string // of each download
	uploads       []uploaded
	sends         []mediaSend
	upFail        []error
}

type uploaded struct {
	id   string
	u    bridge.MediaUpload
	data []byte
}

type mediaSend struct {
	kind, to, text string
	media          []string
}

func (m *mediaX) UploadMedia(_ context.Context, account string, u bridge.MediaUpload) (string, time.Time, error) {
	m.mu.Lock()
	if len(m.upFail) > 0 {
		err := m.upFail[0]
		m.upFail = m.upFail[1:]
		m.mu.Unlock()
		return "", time.Time{}, err
	}
	m.mu.Unlock()
	data, err := io.ReadAll(u.Body)
	if err != nil {
		return "", time.Time{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id := fmt.Sprintf("77%d", len(m.uploads)+1)
	m.uploads = append(m.uploads, uploaded{id, u, data})
	return id, epoch.Add(24 * time.Hour), nil
}

func (m *mediaX) SendDMMedia(ctx context.Context, account, to, text string, media []string) (string, error) {
	id, err := m.next()
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sends = append(m.sends, mediaSend{"dm", to, text, media})
	return id, nil
}

func (m *mediaX) ReplyMedia(ctx context.Context, account, to, text string, media []string) (string, error) {
	id, err := m.next()
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sends = append(m.sends, mediaSend{"reply", to, text, media})
	return id, nil
}

func (m *mediaX) counts() (uploads, sends int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.uploads), len(m.sends)
}

// mediaRules are the tests' text rules with X's media rules.
type mediaRules struct {
	testRules
	x.Rules
}

func (r mediaRules) Parts(kind bridge.Kind, text string) ([]string, error) {
	return r.testRules.Parts(kind, text)
}

// mediaSetup is setup with platforms that move files.
func mediaSetup(t *testing.T) (*harness, *mediaChat, *mediaX) {
	t.Helper()
	h := setup(t)
	chat := &mediaChat{recChat: h.chat, max: 10 << 20}
	mx := &mediaX{recX: h.x}
	h.disp.Chat["slack"], h.disp.X = chat, mx
	h.disp.MediaRules = x.Rules{}
	h.svc.Rules = mediaRules{}
	return h, chat, mx
}

// dmWithMedia delivers a customer DM carrying media.
func (h *harness) dmWithMedia(from, text string, media ...bridge.MediaRef) {
	h.t.Helper()
	ev := bridge.InboundMessage{
		EventID: nextID(), Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-" + from,
		Sender: customer(from), RecipientID: "1000", Text: text, Media: media, CreatedAt: h.clock.Now(),
	}
	if out, err := h.svc.HandleInbound(h.ctx, ev); err != nil || out != bridge.OutcomeStored {
		h.t.Fatalf("HandleInbound = %v, %v", out, err)
	}
	h.drain()
}

// agentFiles posts an agent's message with files in a thread.
func (h *harness) agentFiles(thread, text string, files ...bridge.MediaRef) string {
	h.t.Helper()
	id := h.chat.newID("A")
	out, err := h.svc.HandleChatMessage(h.ctx, bridge.ChatMessage{
		Platform: "slack", EventID: "ev-" + id, Channel: "C1", ThreadID: thread, MessageID: id,
		UserID: "U1", UserName: "Bob", Text: text, Files: files,
	})
	if err != nil || out != bridge.OutcomeStored {
		h.t.Fatalf("HandleChatMessage = %v, %v", out, err)
	}
	h.drain()
	return id
}

func TestCustomerPhotoLandsInTheThreadAsAFile(t *testing.T) {
	t.Parallel()
	h, chat, mx := mediaSetup(t)
	mx.put("https://ton.x.com/dm/1/sole.jpg", pngBytes)
	h.dmWithMedia("2001", "", bridge.MediaRef{Kind: bridge.MediaPhoto, URL: "https://ton.x.com/dm/1/sole.jpg",
		PageURL: "https://x.com/messages/media/1", Key: "3_1", ContentType: "image/jpeg", AltText: "a cracked sole"})
	thread := h.thread(1)
	if c := h.chat.cards[0].card; c.CustomerName == "" {
		t.Fatal("no card")
	}
	// The message says what it carries, and the file follows it.
	posts := h.chat.thread(thread)
	if len(posts) != 1 || posts[0].Text != "(sent a photo)" {
		t.Fatalf("thread posts = %+v", posts)
	}
	got := chat.filesIn(thread)
	if len(got) != 1 {
		t.Fatalf("files in the thread = %d", len(got))
	}
	f := got[0]
	// The type is what the bytes say (a PNG), not what X announced.
	if !bytes.Equal(f.data, pngBytes) || f.upload.ContentType != "image/png" || f.upload.Name != "photo-3_1.png" ||
		f.upload.AltText != "a cracked sole" || f.upload.OriginalURL != "https://x.com/messages/media/1" ||
		f.upload.Caption != "Customer 2001 sent a photo" || f.upload.Size != int64(len(pngBytes)) {
		t.Fatalf("file = %+v (%d bytes)", f.upload, len(f.data))
	}
	// Delivered once: nothing more to do.
	h.settle()
	if len(chat.filesIn(thread)) != 1 {
		t.Fatal("the file was posted again")
	}
}

func TestCustomerMediaOverTheLimitIsLinkedWithANote(t *testing.T) {
	t.Parallel()
	h, chat, mx := mediaSetup(t)
	chat.max = 1000 // the platform takes files up to 1,000 bytes
	mx.put("https://video.x.com/v.mp4", pngBytes)
	h.dm("2001", "hello")
	h.dmWithMedia("2001", "see this", bridge.MediaRef{Kind: bridge.MediaVideo, URL: "https://video.x.com/v.mp4",
		PageURL: "https://x.com/i/web/status/7", Key: "7_1"})
	thread := h.thread(1)
	if n := len(chat.filesIn(thread)); n != 0 {
		t.Fatalf("%d files posted over the limit", n)
	}
	notices := h.chat.noticesIn(thread)
	if len(notices) != 1 || !strings.Contains(notices[0], "Customer 2001 sent a video (2 KB), not attached here because files here may have up to 1000 bytes") ||
		!strings.Contains(notices[0], "https://x.com/i/web/status/7") {
		t.Fatalf("notices = %q", notices)
	}
	// The message itself is there, before the note.
	posts := h.chat.thread(thread)
	if len(posts) != 3 || posts[1].Text != "see this" {
		t.Fatalf("thread = %+v", posts)
	}
}

func TestCustomerMediaThatCannotBeFetchedIsLinked(t *testing.T) {
	t.Parallel()
	h, chat, _ := mediaSetup(t)
	// X answers 404 for the media: no retry helps.
	h.dmWithMedia("2001", "pic", bridge.MediaRef{Kind: bridge.MediaPhoto, URL: "https://ton.x.com/gone.jpg", Key: "3_9"})
	thread := h.thread(1)
	notices := h.chat.noticesIn(thread)
	if len(chat.filesIn(thread)) != 0 || len(notices) != 1 ||
		!strings.Contains(notices[0], "not attached here because it could not be attached: no such file") ||
		!strings.Contains(notices[0], "https://ton.x.com/gone.jpg") {
		t.Fatalf("notices = %q", notices)
	}
}

// TestCrashMidFileTransferNeitherLosesNorRepeats: a worker began posting a
// customer's photo (the platform named the file) and died; the recovery
// posts it exactly once, whether or not the cut upload had completed.
func TestCrashMidFileTransferNeitherLosesNorRepeats(t *testing.T) {
	t.Parallel()
	for _, completed := range []bool{false, true} {
		t.Run(fmt.Sprintf("upload completed %v", completed), func(t *testing.T) {
			h, chat, mx := mediaSetup(t)
			mx.put("https://ton.x.com/a.png", pngBytes)
			h.dm("2001", "hello")
			thread := h.thread(1)
			// The first attempt: the file is named, then the worker dies.
			chat.cutNext = true
			ev := bridge.InboundMessage{EventID: nextID(), Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-2001",
				Sender: customer("2001"), Text: "look", Media: []bridge.MediaRef{{Kind: bridge.MediaPhoto, URL: "https://ton.x.com/a.png", Key: "3_5"}}}
			if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
				t.Fatal(err)
			}
			h.drain() // the text, then the cut upload (a temporary failure)
			if completed {
				// The bytes had all gone and the platform shared the file:
				// only the answer was lost.
				chat.mu.Lock()
				chat.posted = append(chat.posted, &chatFile{id: lastFileID(h), thread: thread, data: pngBytes, posted: true})
				chat.mu.Unlock()
			}
			// A worker claims the retry and dies before recording anything.
			h.clock.Advance(time.Hour)
			items, err := h.store.ClaimOutbox(h.ctx, h.clock.Now(), time.Minute, 10)
			if err != nil || len(items) != 1 || items[0].Effect != bridge.EffectChatFile {
				t.Fatalf("claim = %v, %v", items, err)
			}
			h.clock.Advance(2 * time.Minute)
			if err := h.disp.Recover(h.ctx); err != nil {
				t.Fatal(err)
			}
			h.settle()
			got := chat.filesIn(thread)
			if len(got) != 1 || !bytes.Equal(got[0].data, pngBytes) {
				t.Fatalf("files in the thread = %d, want exactly one", len(got))
			}
		})
	}
}

// lastFileID is the id the fake chat gave the last file it named.
func lastFileID(h *harness) string {
	h.chat.mu.Lock()
	defer h.chat.mu.Unlock()
	return fmt.Sprintf("F%d", h.chat.n)
}

func TestAgentPNGReachesTheCustomer(t *testing.T) {
	t.Parallel()
	for _, kind := range []bridge.Kind{bridge.KindDM, bridge.KindMention} {
		t.Run(string(kind), func(t *testing.T) {
			h, chat, mx := mediaSetup(t)
			chat.put("https://files.slack.com/F9/label.png", pngBytes)
			if kind == bridge.KindDM {
				h.dm("2001", "which label?")
			} else {
				mention(h, "2001", "@acme_help which label?")
			}
			msg := h.agentFiles(h.thread(1), "This one:", bridge.MediaRef{Kind: bridge.MediaPhoto, Name: "label.png",
				URL: "https://files.slack.com/F9/label.png", ContentType: "image/png", Size: int64(len(pngBytes)), AltText: "the label"})
			// Uploaded at once, during the send delay; nothing sent yet.
			if ups, sends := mx.counts(); ups != 1 || sends != 0 {
				t.Fatalf("before the send delay: %d uploads, %d sends", ups, sends)
			}
			up := mx.uploads[0]
			if !bytes.Equal(up.data, pngBytes) || up.u.ContentType != "image/png" || up.u.ForDM != (kind == bridge.KindDM) ||
				up.u.AltText != "the label" {
				t.Fatalf("upload = %+v", up.u)
			}
			h.advance(10 * time.Second)
			want := mediaSend{"dm", "2001", "This one:", []string{up.id}}
			if kind == bridge.KindMention {
				want.kind, want.to = "reply", h.conv(1).ReplyToID
			}
			if ups, sends := mx.counts(); ups != 1 || sends != 1 || fmt.Sprint(mx.sends[0]) != fmt.Sprint(want) {
				t.Fatalf("%d uploads, sends %+v, want %+v", ups, mx.sends, want)
			}
			if m := h.chat.marks(msg); fmt.Sprint(m) != "[sent]" {
				t.Fatalf("marks = %v", m)
			}
		})
	}
}

// mention delivers a customer's mention.
func mention(h *harness, from, text string) {
	h.t.Helper()
	id := nextID()
	ev := bridge.InboundMessage{EventID: id, Account: "1000", Kind: bridge.KindMention, ConversationKey: id,
		Sender: customer(from), Text: text, CreatedAt: h.clock.Now()}
	if _, err := h.svc.HandleInbound(h.ctx, ev); err != nil {
		h.t.Fatal(err)
	}
	h.drain()
}

func TestFilesXRefusesAreRefusedInTheThread(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		file bridge.MediaRef
		data []byte
		want string
		// uploadTried: the refusal came from the file's bytes, after
		// downloading it, not from what the chat platform announced.
		sniffed bool
	}{
		{"oversized", bridge.MediaRef{Kind: bridge.MediaPhoto, Name: "big.png", ContentType: "image/png", Size: 6 << 20},
			pngBytes, "Not sent to the customer: The file big.png is 6 MB; X takes images up to 5 MB.", false},
		{"over the bridge's cap", bridge.MediaRef{Kind: bridge.MediaVideo, Name: "long.mp4", ContentType: "video/mp4", Size: 200 << 20},
			pngBytes, "Not sent to the customer: The file long.mp4 is 200 MB; the bridge moves files up to 100 MB (media.max_bytes).", false},
		{"a PDF", bridge.MediaRef{Kind: bridge.MediaFile, Name: "invoice.pdf", ContentType: "application/pdf", Size: 2000},
			pdfBytes, "Not sent to the customer: The file invoice.pdf is application/pdf, which X does not take: X takes images (JPEG, PNG, WebP) up to 5 MB", false},
		{"a PDF named .png", bridge.MediaRef{Kind: bridge.MediaPhoto, Name: "photo.png", ContentType: "image/png", Size: int64(len(pdfBytes))},
			pdfBytes, "Not sent to the customer: The file photo.png is application/pdf, which X does not take", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, chat, mx := mediaSetup(t)
			tc.file.URL = "https://files.slack.com/" + tc.file.Name
			chat.put(tc.file.URL, tc.data)
			h.dm("2001", "hello")
			msg := h.agentFiles(h.thread(1), "here you go", tc.file)
			// Refused before the send delay is over.
			notices := h.chat.noticesIn(h.thread(1))
			if len(notices) != 1 || !strings.HasPrefix(notices[0], tc.want) {
				t.Fatalf("notices = %q, want %q", notices, tc.want)
			}
			if m := h.chat.marks(msg); fmt.Sprint(m) != "[failed]" {
				t.Fatalf("marks = %v", m)
			}
			h.settle()
			ups, sends := mx.counts()
			if ups != 0 || sends != 0 || len(h.x.sentDMs()) != 0 {
				t.Fatalf("%d uploads, %d sends with media, %d DMs: the customer got something", ups, sends, len(h.x.sentDMs()))
			}
			if opened := len(chat.opened) > 0; opened != tc.sniffed {
				t.Fatalf("downloaded %v, want %v", chat.opened, tc.sniffed)
			}
		})
	}
}

// TestDeletedFileReplyIsNotSent: deleting the message during the send
// delay cancels it, file and all.
func TestDeletedFileReplyIsNotSent(t *testing.T) {
	t.Parallel()
	h, chat, mx := mediaSetup(t)
	chat.put("https://files.slack.com/a.png", pngBytes)
	h.dm("2001", "hello")
	msg := h.agentFiles(h.thread(1), "", bridge.MediaRef{Kind: bridge.MediaPhoto, Name: "a.png",
		URL: "https://files.slack.com/a.png", ContentType: "image/png", Size: int64(len(pngBytes))})
	if err := h.svc.HandleChatDelete(h.ctx, bridge.ChatDelete{Platform: "slack", EventID: "del-1", Channel: "C1", MessageID: msg}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if _, sends := mx.counts(); sends != 0 {
		t.Fatal("a deleted reply went out")
	}
}

// TestEditedFileReplyKeepsItsFileAndDelay: editing the text of a reply
// with a file inside the send delay changes the text; the file still goes,
// when the delay is over.
func TestEditedFileReplyKeepsItsFileAndDelay(t *testing.T) {
	t.Parallel()
	h, chat, mx := mediaSetup(t)
	chat.put("https://files.slack.com/a.png", pngBytes)
	h.dm("2001", "hello")
	msg := h.agentFiles(h.thread(1), "Lable", bridge.MediaRef{Kind: bridge.MediaPhoto, Name: "a.png",
		URL: "https://files.slack.com/a.png", ContentType: "image/png", Size: int64(len(pngBytes))})
	h.advance(5 * time.Second)
	if err := h.svc.HandleChatEdit(h.ctx, bridge.ChatEdit{Platform: "slack", EventID: "edit-1", Channel: "C1",
		MessageID: msg, UserID: "U1", Text: "Label"}); err != nil {
		t.Fatal(err)
	}
	h.advance(4 * time.Second)
	if _, sends := mx.counts(); sends != 0 {
		t.Fatal("the edited reply went out before its send delay was over")
	}
	h.advance(2 * time.Second)
	if ups, sends := mx.counts(); ups != 1 || sends != 1 || mx.sends[0].text != "Label" || len(mx.sends[0].media) != 1 {
		t.Fatalf("%d uploads, sends %+v", ups, mx.sends)
	}
}

// TestCrashMidUploadToXNeverSendsTwice: the upload to X was recorded, then
// the worker sending the DM died. Recovery looks on X for the send with
// its media: found, it is recorded as sent; the file is not uploaded again.
func TestCrashMidUploadToXNeverSendsTwice(t *testing.T) {
	t.Parallel()
	for _, found := range []bool{true, false} {
		t.Run(fmt.Sprintf("found on X %v", found), func(t *testing.T) {
			h, chat, mx := mediaSetup(t)
			chat.put("https://files.slack.com/a.png", pngBytes)
			h.dm("2001", "hello")
			msg := h.agentFiles(h.thread(1), "Label", bridge.MediaRef{Kind: bridge.MediaPhoto, Name: "a.png",
				URL: "https://files.slack.com/a.png", ContentType: "image/png", Size: int64(len(pngBytes))})
			h.clock.Advance(10 * time.Second)
			items, err := h.store.ClaimOutbox(h.ctx, h.clock.Now(), time.Minute, 10)
			if err != nil || len(items) != 1 || !items[0].Payload.Media {
				t.Fatalf("claim = %+v, %v", items, err)
			}
			if found {
				h.x.found = map[string]string{"Label": "4242"}
			}
			h.clock.Advance(2 * time.Minute)
			if err := h.disp.Recover(h.ctx); err != nil {
				t.Fatal(err)
			}
			h.settle()
			ups, sends := mx.counts()
			if ups != 1 || sends != 0 {
				t.Fatalf("%d uploads and %d sends after the crash", ups, sends)
			}
			want := "[failed]"
			if found {
				want = "[sent]"
			}
			if m := h.chat.marks(msg); fmt.Sprint(m) != want {
				t.Fatalf("marks = %v, want %s", m, want)
			}
		})
	}
}

// TestFailedUploadFailsTheReplyWithResend: X keeps failing the upload;
// the reply fails with the reason, and Resend uploads and sends it.
func TestFailedUploadFailsTheReplyWithResend(t *testing.T) {
	t.Parallel()
	h, chat, mx := mediaSetup(t)
	chat.put("https://files.slack.com/a.png", pngBytes)
	down := &bridge.DeliveryError{Temporary: true, Reason: "X is unavailable (503 Service Unavailable)"}
	mx.upFail = []error{down, down, down}
	h.dm("2001", "hello")
	msg := h.agentFiles(h.thread(1), "Label", bridge.MediaRef{Kind: bridge.MediaPhoto, Name: "a.png",
		URL: "https://files.slack.com/a.png", ContentType: "image/png", Size: int64(len(pngBytes))})
	h.settle()
	if _, sends := mx.counts(); sends != 0 {
		t.Fatal("sent without its file")
	}
	var warning *bridge.Post
	for _, p := range h.chat.thread(h.thread(1)) {
		if p.Kind == bridge.PostWarning {
			warning = &p
		}
	}
	if warning == nil || !strings.Contains(warning.Text, "The file a.png could not go to X: X is unavailable") || len(warning.Buttons) != 1 {
		t.Fatalf("warning = %+v", warning)
	}
	if err := h.svc.HandleChatAction(h.ctx, bridge.ChatAction{Platform: "slack", EventID: "click-1", Action: bridge.ActionResend,
		Value: warning.Buttons[0].Value, UserID: "U1", UserName: "Bob"}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if ups, sends := mx.counts(); ups != 1 || sends != 1 {
		t.Fatalf("after resend: %d uploads, %d sends", ups, sends)
	}
	if m := h.chat.marks(msg); fmt.Sprint(m) != "[sent]" {
		t.Fatalf("marks = %v", m)
	}
}
