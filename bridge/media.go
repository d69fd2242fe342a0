package bridge

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Media: customers' photos, GIFs and videos reach the chat thread as
// files; agents' images and videos reach the customer as X media. Each
// file is an Attachment row of its message, moved by an outbox item like
// any other effect: streamed from where it is to where it goes, never held
// whole in memory.

// MediaKind is what a file is.
type MediaKind string

// Kinds of media.
const (
	MediaPhoto MediaKind = "photo"
	MediaGIF   MediaKind = "animated_gif"
	MediaVideo MediaKind = "video"
	MediaFile  MediaKind = "file" // anything else (a PDF, a log)
)

// MediaKindOf is the kind of a content type.
func MediaKindOf(contentType string) MediaKind {
	switch {
	case contentType == "image/gif":
		return MediaGIF
	case strings.HasPrefix(contentType, "image/"):
		return MediaPhoto
	case strings.HasPrefix(contentType, "video/"):
		return MediaVideo
	}
	return MediaFile
}

// noun names the kind in a sentence: "a photo", "2 videos".
func (k MediaKind) noun(n int) string {
	word := map[MediaKind]string{MediaPhoto: "photo", MediaGIF: "GIF", MediaVideo: "video"}[k]
	if word == "" {
		word = "file"
	}
	if n == 1 {
		return "a " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// AttachmentState is where a file's transfer stands.
type AttachmentState string

// Attachment states.
const (
	AttachmentPending AttachmentState = "pending" // waiting for its transfer
	AttachmentMoving  AttachmentState = "moving"  // a transfer began; ChatFileID may name the platform's file
	AttachmentDone    AttachmentState = "done"    // in the thread (in), or uploaded to X (out)
	AttachmentLinked  AttachmentState = "linked"  // too large for the thread: posted as a link with a note
	AttachmentRefused AttachmentState = "refused" // X does not take it; nothing was sent
	AttachmentFailed  AttachmentState = "failed"  // the transfer failed for good
)

// Attachment is a file of a message: a customer's media on its way to the
// thread (DirectionIn), or an agent's file on its way to X (DirectionOut).
type Attachment struct {
	ID             int64
	MessageID      int64
	ConversationID int64
	Direction      Direction
	Kind           MediaKind
	SourceURL      string // where its bytes are downloaded from (X media, a chat platform's file)
	PageURL        string // where a person sees it (the DM or tweet on X, the chat file)
	Key            string // the source's id for it: X's media key, the chat file id
	Name           string
	ContentType    string // as announced, then as sniffed from its first bytes
	Size           int64  // bytes; 0 when not known yet
	AltText        string
	State          AttachmentState
	ChatFileID     string    // in: what the chat platform created for it
	XMediaID       string    // out: X's media id
	ExpiresAt      time.Time // out: when X forgets XMediaID
	Error          string    // why it was linked, refused or failed
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// MediaRef is a file as a platform announces it, before the bridge moves
// it: the media of an X event, the files of a chat message.
type MediaRef struct {
	Kind        MediaKind
	URL         string // download URL
	PageURL     string // for people: the media on X, the file in chat
	Key         string // X media key, chat file id
	Name        string
	ContentType string // may be empty
	Size        int64  // 0 when the platform does not say
	AltText     string
}

// Effects that move files.
const (
	EffectChatFile    Effect = "chat.file" // post a customer's media in the thread (Payload.Attachment)
	EffectMediaUpload Effect = "x.media"   // upload an agent's file to X (Payload.Attachment)
)

// DefaultMediaMaxBytes is the largest file the bridge moves unless
// configured otherwise.
const DefaultMediaMaxBytes = 100 << 20

// mediaTransferTimeout bounds one file's transfer.
const mediaTransferTimeout = 30 * time.Minute

// FileStream is a file being downloaded.
type FileStream struct {
	Body        io.ReadCloser
	Size        int64  // -1 when the server does not say
	ContentType string // as the server declares it
}

// FileSource is an optional ChatPlatform ability: downloading the files
// agents share (Slack's need the bot token).
type FileSource interface {
	OpenFile(ctx context.Context, url string) (*FileStream, error)
}

// MediaSource is an optional XPlatform ability: downloading media a
// customer sent to a support account (DM media need that account's signed
// request).
type MediaSource interface {
	OpenMedia(ctx context.Context, account, url string) (*FileStream, error)
}

// FileUpload is a file for a chat thread.
type FileUpload struct {
	Name        string
	ContentType string
	Size        int64
	Body        io.Reader // exactly Size bytes
	AltText     string
	Caption     string // plain text shown with the file: who sent it
	OriginalURL string // where the file is on X
	// Key identifies the upload across retries; platforms that take a
	// nonce use it so a retry cannot post the file twice.
	Key string
	// Began, when set, is called with the platform's id of the file once
	// the platform named it and before its bytes go: if the transfer is
	// cut short, FilePosted tells whether that file reached the thread.
	Began func(fileID string)
}

// FilePoster is an optional ChatPlatform ability: posting files in a
// thread.
type FilePoster interface {
	// MaxFileSize is the largest file the platform takes.
	MaxFileSize() int64
	// PostFile streams f into the thread and returns the id of the file
	// (or of the message that carries it).
	PostFile(ctx context.Context, channel, threadID string, f FileUpload) (string, error)
	// FilePosted reports whether the file Began named was shared in the
	// thread.
	FilePosted(ctx context.Context, channel, threadID, fileID string) (bool, error)
}

// MediaUpload is a file for X.
type MediaUpload struct {
	ForDM       bool // a DM attachment, else a tweet's media
	ContentType string
	Size        int64
	Body        io.Reader // exactly Size bytes
	AltText     string
}

// MediaSender is an optional XPlatform ability: uploading media and
// sending it with a DM or a reply.
type MediaSender interface {
	// UploadMedia uploads a file and returns X's media id and when X
	// forgets it. A type or size X does not take is a permanent
	// *DeliveryError naming the limit.
	UploadMedia(ctx context.Context, account string, u MediaUpload) (mediaID string, expires time.Time, err error)
	SendDMMedia(ctx context.Context, account, recipientID, text string, mediaIDs []string) (eventID string, err error)
	ReplyMedia(ctx context.Context, account, inReplyToID, text string, mediaIDs []string) (tweetID string, err error)
}

// MediaRules is an optional TextRules ability: X's limits on the files of
// a reply.
type MediaRules interface {
	// CheckMedia refuses, with an EINVALID error that names the limit,
	// files X would not take in a reply of that kind.
	CheckMedia(kind Kind, files []MediaRef) error
}

// mediaMaxBytes is the configured cap, or the default.
func mediaMaxBytes(configured int64) int64 {
	if configured > 0 {
		return configured
	}
	return DefaultMediaMaxBytes
}

// FormatBytes shows a size as people read it: "5 MB", "1.5 GB", "800 KB".
func FormatBytes(n int64) string {
	f := func(v float64, unit string) string {
		s := fmt.Sprintf("%.1f", v)
		return strings.TrimSuffix(s, ".0") + " " + unit
	}
	switch {
	case n >= 1<<30:
		return f(float64(n)/(1<<30), "GB")
	case n >= 1<<20:
		return f(float64(n)/(1<<20), "MB")
	case n >= 1<<10:
		return f(float64(n)/(1<<10), "KB")
	}
	return fmt.Sprintf("%d bytes", n)
}

// FormatSizes shows a size over a limit and the limit, precisely enough
// to tell them apart: "6.2 MB" and "5 MB", or in bytes when rounding
// would make them look equal.
func FormatSizes(size, limit int64) (string, string) {
	s, l := FormatBytes(size), FormatBytes(limit)
	if s == l {
		return fmt.Sprintf("%d bytes", size), fmt.Sprintf("%d bytes", limit)
	}
	return s, l
}

// --- Recording ---

// inboundText is the text a customer message is stored and shown with: a
// message with only media says what it carries.
func inboundText(ev InboundMessage) string {
	if strings.TrimSpace(ev.Text) != "" || len(ev.Media) == 0 {
		return ev.Text
	}
	return "(sent " + mediaSummary(ev.Media) + ")"
}

// mediaSummary says what files are: "a photo", "2 photos", "a video and a
// photo".
func mediaSummary(refs []MediaRef) string {
	var order []MediaKind
	count := map[MediaKind]int{}
	for _, r := range refs {
		if count[r.Kind] == 0 {
			order = append(order, r.Kind)
		}
		count[r.Kind]++
	}
	parts := make([]string, 0, len(order))
	for _, k := range order {
		parts = append(parts, k.noun(count[k]))
	}
	return strings.Join(parts, " and ")
}

// recordInboundMedia records the media of a customer message and returns
// the items that post them in the thread, after the message.
func (s *Service) recordInboundMedia(ctx context.Context, tx Tx, conv *Conversation, msg *Message, refs []MediaRef) ([]*OutboxItem, error) {
	var items []*OutboxItem
	for _, r := range refs {
		a, err := s.insertAttachment(ctx, tx, msg, DirectionIn, r)
		if err != nil {
			return nil, err
		}
		items = append(items, s.chatItem(conv, EffectChatFile, fmt.Sprintf("att:%d", a.ID), msg.ID, Payload{Attachment: a.ID}))
	}
	return items, nil
}

// insertAttachment records a file of a message, waiting for its transfer.
func (s *Service) insertAttachment(ctx context.Context, tx Tx, msg *Message, dir Direction, r MediaRef) (*Attachment, error) {
	a := &Attachment{
		MessageID: msg.ID, ConversationID: msg.ConversationID, Direction: dir, Kind: r.Kind,
		SourceURL: r.URL, PageURL: r.PageURL, Key: r.Key, Name: r.Name, ContentType: r.ContentType,
		Size: r.Size, AltText: r.AltText, State: AttachmentPending, CreatedAt: s.now(), UpdatedAt: s.now(),
	}
	return a, tx.InsertAttachment(ctx, a)
}

// replyParts are the X messages of an agent's reply: its text as the
// rules split it, or one part without text when files carry the reply. A
// file X does not take refuses the reply, with the limit named.
func (s *Service) replyParts(kind Kind, text string, files []MediaRef) ([]string, error) {
	if len(files) > 0 {
		if err := s.checkFiles(kind, files); err != nil {
			return nil, err
		}
	}
	return s.textParts(kind, text, len(files) > 0)
}

// textParts are the X messages of a reply's text as the rules split it;
// a reply whose files carry it may have no text: one part without text.
func (s *Service) textParts(kind Kind, text string, media bool) ([]string, error) {
	if media && strings.TrimSpace(text) == "" {
		return []string{""}, nil
	}
	return s.Rules.Parts(kind, text)
}

// checkFiles refuses files over the bridge's cap, or that X does not take.
func (s *Service) checkFiles(kind Kind, files []MediaRef) error {
	limit := mediaMaxBytes(s.MediaMaxBytes)
	for _, f := range files {
		if f.Size > limit {
			size, max := FormatSizes(f.Size, limit)
			return Errorf(EINVALID, "%s is %s; the bridge moves files up to %s (media.max_bytes).", fileLabel(f.Name), size, max)
		}
	}
	if mr, ok := s.Rules.(MediaRules); ok {
		return mr.CheckMedia(kind, files)
	}
	return nil
}

// fileLabel names a file in a message.
func fileLabel(name string) string {
	if name == "" {
		return "The file"
	}
	return "The file " + name
}

// recordReplyFiles records an agent's files for X and returns the items
// that upload them, to be enqueued before the reply's sends (the sends
// wait for them: they share the conversation's X sequence). The first
// send carries them.
func (s *Service) recordReplyFiles(ctx context.Context, tx Tx, conv *Conversation, msg *Message, files []MediaRef, sends []*OutboxItem) ([]*OutboxItem, error) {
	if len(files) == 0 {
		return nil, nil
	}
	var items []*OutboxItem
	for _, f := range files {
		a, err := s.insertAttachment(ctx, tx, msg, DirectionOut, f)
		if err != nil {
			return nil, err
		}
		items = append(items, uploadItem(conv, msg.ID, a.ID, "send", s.now()))
	}
	markMedia(sends)
	return items, nil
}

// uploadItem builds the upload of an agent's file to X. It runs at once,
// during the send delay, in the conversation's X sequence.
func uploadItem(conv *Conversation, msgID, attID int64, key string, now time.Time) *OutboxItem {
	return &OutboxItem{
		Effect: EffectMediaUpload, Lane: "x:" + conv.Account + ":media", SeqKey: fmt.Sprintf("x:%d", conv.ID),
		Priority: PriorityCustomerReply, IdemKey: fmt.Sprintf("att:%d:upload:%s", attID, key),
		ConversationID: conv.ID, MessageID: msgID, Payload: Payload{Attachment: attID},
		NotBefore: now, State: OutboxPending, CreatedAt: now,
	}
}

// markMedia makes the first of a reply's sends carry its files.
func markMedia(sends []*OutboxItem) {
	for _, it := range sends {
		if it.Effect.IsX() && it.Payload.Part == 0 {
			it.Payload.Media = true
		}
	}
}

// carriesMedia reports whether earlier sends of a message carried files,
// so that an edit or a resend carries them too.
func carriesMedia(prev []*OutboxItem) bool {
	for _, it := range prev {
		if it.Effect.IsX() && it.Payload.Media {
			return true
		}
	}
	return false
}

// firstSend is the first X send of a message's items (an upload of its
// files may come before it); allPending has checked there is one.
func firstSend(items []*OutboxItem) *OutboxItem {
	for _, it := range items {
		if it.Effect.IsX() {
			return it
		}
	}
	return items[0]
}

// reuploadItems uploads again, before a resend, the files of a message X
// does not hold any more.
func reuploadItems(ctx context.Context, tx Tx, conv *Conversation, msgID int64, key string, now time.Time) ([]*OutboxItem, error) {
	atts, err := tx.Attachments(ctx, msgID)
	if err != nil {
		return nil, err
	}
	var items []*OutboxItem
	for _, a := range atts {
		if a.Direction == DirectionOut && !a.usable(now) {
			items = append(items, uploadItem(conv, msgID, a.ID, key, now))
		}
	}
	return items, nil
}

// usable reports whether an agent's file is on X and may be sent for a
// while yet.
func (a *Attachment) usable(now time.Time) bool {
	return a.State == AttachmentDone && a.XMediaID != "" && (a.ExpiresAt.IsZero() || now.Add(time.Hour).Before(a.ExpiresAt))
}
