package bridge

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
)

// performMedia moves one file: a customer's media into the thread, or an
// agent's file to X.
func (d *Dispatcher) performMedia(ctx context.Context, it *OutboxItem, conv *Conversation, cust *Customer) (string, followUp, error) {
	a, err := read(ctx, d.Store, it.Payload.Attachment, Tx.Attachment)
	if err != nil {
		return "", followUp{}, &DeliveryError{Temporary: ErrorCode(err) != ENOTFOUND, Reason: "load attachment", Err: err}
	}
	// A long transfer keeps its claim: nobody may take it for crashed.
	stop := d.keepLease(ctx, it)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, mediaTransferTimeout)
	defer cancel()
	if it.Effect == EffectChatFile {
		id, err := d.postMedia(ctx, it, conv, cust, a)
		return id, followUp{}, err
	}
	id, err := d.uploadMedia(ctx, it, conv, a)
	return id, followUp{}, err
}

// postMedia streams a customer's media from X into the thread. A file too
// large for the platform (or the bridge's cap), or one that cannot be
// moved for good, is posted as a link with a note saying why: the
// conversation never loses it.
func (d *Dispatcher) postMedia(ctx context.Context, it *OutboxItem, conv *Conversation, cust *Customer, a *Attachment) (string, error) {
	if a.State == AttachmentDone || a.State == AttachmentLinked {
		return a.ChatFileID, nil // moved before a crash
	}
	chat, ok := d.Chat[conv.ChatPlatform]
	if !ok {
		return "", &DeliveryError{Reason: fmt.Sprintf("chat platform %q is not configured", conv.ChatPlatform)}
	}
	if conv.ChatThreadID == "" {
		return "", &DeliveryError{Temporary: true, Reason: "the conversation's thread is not posted yet"}
	}
	poster, ok := chat.(FilePoster)
	if !ok {
		return d.linkMedia(ctx, chat, conv, cust, a, "files cannot be posted on "+conv.ChatPlatform)
	}
	if a.State == AttachmentMoving && a.ChatFileID != "" {
		// A transfer began before a crash: it may have finished.
		posted, err := poster.FilePosted(ctx, conv.ChatChannel, conv.ChatThreadID, a.ChatFileID)
		if err != nil {
			return "", err
		}
		if posted {
			return a.ChatFileID, d.saveAttachment(ctx, a, func(a *Attachment) { a.State = AttachmentDone })
		}
	}
	src, ok := d.X.(MediaSource)
	if !ok {
		return d.linkMedia(ctx, chat, conv, cust, a, "the X adapter cannot download media")
	}
	// giveUp turns a failure into a link once retrying is pointless.
	giveUp := func(err error) (string, error) {
		if de := AsDeliveryError(err); de.Temporary && it.Attempts < d.MaxAttempts {
			return "", err
		}
		return d.linkMedia(ctx, chat, conv, cust, a, "it could not be attached: "+AsDeliveryError(err).Reason)
	}
	st, err := src.OpenMedia(ctx, conv.Account, a.SourceURL)
	if err != nil {
		return giveUp(err)
	}
	defer st.Body.Close()
	limit := min(poster.MaxFileSize(), mediaMaxBytes(d.MediaMaxBytes))
	switch {
	case st.Size < 0:
		return d.linkMedia(ctx, chat, conv, cust, a, "X did not say its size")
	case st.Size > limit:
		a.Size = st.Size
		_, l := FormatSizes(st.Size, limit)
		return d.linkMedia(ctx, chat, conv, cust, a, "files here may have up to "+l)
	}
	body, head := sniffer(st.Body)
	ct := sniffType(head, st.ContentType, a.ContentType)
	a.ContentType, a.Size = ct, st.Size
	if k := MediaKindOf(ct); k != MediaFile {
		a.Kind = k
	}
	id, err := poster.PostFile(ctx, conv.ChatChannel, conv.ChatThreadID, FileUpload{
		Name: mediaFileName(a), ContentType: ct, Size: st.Size, Body: io.LimitReader(body, st.Size),
		AltText: a.AltText, Caption: cust.DisplayName() + " sent " + a.Kind.noun(1), OriginalURL: a.PageURL,
		Key: it.IdemKey,
		Began: func(fileID string) {
			// Recorded before the bytes go, so that a retry after a crash
			// can ask whether this file made it.
			if err := d.saveAttachment(ctx, a, func(a *Attachment) { a.State, a.ChatFileID = AttachmentMoving, fileID }); err != nil {
				d.Logger.Warn("record file upload", "attachment", a.ID, "err", err)
			}
		},
	})
	if err != nil {
		return giveUp(err)
	}
	return id, d.saveAttachment(ctx, a, func(a *Attachment) { a.State, a.ChatFileID, a.Error = AttachmentDone, id, "" })
}

// linkMedia posts a customer's media as a link with a note saying why it
// is not attached.
func (d *Dispatcher) linkMedia(ctx context.Context, chat ChatPlatform, conv *Conversation, cust *Customer, a *Attachment, why string) (string, error) {
	what := a.Kind.noun(1)
	if a.Size > 0 {
		what += " (" + FormatBytes(a.Size) + ")"
	}
	text := fmt.Sprintf("📎 %s sent %s, not attached here because %s.", cust.DisplayName(), what, why)
	if link := cmp.Or(a.PageURL, a.SourceURL); link != "" {
		text += "\nOpen it on X: " + link
	}
	if a.AltText != "" {
		text += "\nAlt text: " + a.AltText
	}
	id, err := chat.Post(ctx, conv.ChatChannel, conv.ChatThreadID,
		Post{Kind: PostNotice, Text: text, Key: fmt.Sprintf("conv:%d:link:%d", conv.ID, a.ID)})
	if err != nil {
		return "", err
	}
	return id, d.saveAttachment(ctx, a, func(a *Attachment) { a.State, a.ChatFileID, a.Error = AttachmentLinked, id, why })
}

// uploadMedia streams an agent's file from the chat platform to X, during
// the reply's send delay. Its type is sniffed from its first bytes, not
// taken from its name; one X does not take refuses the reply at once, in
// the thread, with the limit named.
func (d *Dispatcher) uploadMedia(ctx context.Context, it *OutboxItem, conv *Conversation, a *Attachment) (string, error) {
	now := d.Clock.Now()
	if a.usable(now) {
		return a.XMediaID, nil // uploaded before a crash
	}
	if a.State == AttachmentRefused {
		return "", nil
	}
	msg, err := read(ctx, d.Store, it.MessageID, Tx.Message)
	if err != nil {
		return "", &DeliveryError{Temporary: ErrorCode(err) != ENOTFOUND, Reason: "load message", Err: err}
	}
	if msg.Delivery == DeliveryCancelled || msg.Delivery == DeliveryRefused {
		return "", nil // the reply will not go: nothing to upload
	}
	xm, ok := d.X.(MediaSender)
	if !ok {
		return "", d.refuseMedia(ctx, conv, msg, a, "the X adapter cannot send files")
	}
	chat, ok := d.Chat[conv.ChatPlatform]
	if !ok {
		return "", &DeliveryError{Reason: fmt.Sprintf("chat platform %q is not configured", conv.ChatPlatform)}
	}
	src, ok := chat.(FileSource)
	if !ok {
		return "", d.refuseMedia(ctx, conv, msg, a, conv.ChatPlatform+" files cannot be downloaded")
	}
	st, err := src.OpenFile(ctx, a.SourceURL)
	if err != nil {
		return "", d.uploadFailed(ctx, it, a, err)
	}
	defer st.Body.Close()
	size := st.Size
	if size < 0 {
		size = a.Size
	}
	body, head := sniffer(st.Body)
	ct := sniffType(head, "", "")
	limit := mediaMaxBytes(d.MediaMaxBytes)
	var refusal string
	switch {
	case size <= 0:
		refusal = fmt.Sprintf("%s has no size the bridge could learn.", fileLabel(a.Name))
	case size > limit:
		s, l := FormatSizes(size, limit)
		refusal = fmt.Sprintf("%s is %s; the bridge moves files up to %s (media.max_bytes).", fileLabel(a.Name), s, l)
	}
	if refusal == "" {
		if mr := d.MediaRules; mr != nil {
			ref := MediaRef{Kind: MediaKindOf(ct), Name: a.Name, ContentType: ct, Size: size}
			if err := mr.CheckMedia(conv.Kind, []MediaRef{ref}); err != nil {
				refusal = ErrorMessage(err)
			}
		}
	}
	if refusal != "" {
		return "", d.refuseMedia(ctx, conv, msg, a, refusal)
	}
	id, expires, err := xm.UploadMedia(ctx, conv.Account, MediaUpload{
		ForDM: conv.Kind == KindDM, ContentType: ct, Size: size, Body: io.LimitReader(body, size), AltText: a.AltText,
	})
	if err != nil {
		if de := AsDeliveryError(err); !de.Temporary && !de.RateLimited {
			return "", d.refuseMedia(ctx, conv, msg, a, de.Reason)
		}
		return "", d.uploadFailed(ctx, it, a, err)
	}
	return id, d.saveAttachment(ctx, a, func(a *Attachment) {
		a.State, a.XMediaID, a.ExpiresAt, a.ContentType, a.Size, a.Kind, a.Error = AttachmentDone, id, expires, ct, size, MediaKindOf(ct), ""
	})
}

// uploadFailed records why an upload failed and passes the error on: the
// dispatcher retries it; once it gives up, the reply's send fails with
// the reason and a Resend button.
func (d *Dispatcher) uploadFailed(ctx context.Context, it *OutboxItem, a *Attachment, err error) error {
	de := AsDeliveryError(err)
	if de.Unknown {
		// Nothing reaches the customer until the send: a lost answer to
		// an upload is only a failed upload.
		de = &DeliveryError{Temporary: true, RetryAt: de.RetryAt, Reason: de.Reason, Err: de.Err}
	}
	state := AttachmentPending
	if !de.Temporary || it.Attempts >= d.MaxAttempts {
		state = AttachmentFailed
	}
	if serr := d.saveAttachment(ctx, a, func(a *Attachment) { a.State, a.Error = state, de.Reason }); serr != nil {
		d.Logger.Warn("record upload failure", "attachment", a.ID, "err", serr)
	}
	return de
}

// refuseMedia refuses a reply whose file X does not take, before anything
// is sent: its sends are cancelled, the agent's message marked and the
// thread told why.
func (d *Dispatcher) refuseMedia(ctx context.Context, conv *Conversation, msg *Message, a *Attachment, reason string) error {
	return d.Store.InTx(ctx, func(tx Tx) error {
		if _, err := tx.Conversation(ctx, conv.ID); err != nil { // lock order: conversation first
			return err
		}
		cur, err := tx.Attachment(ctx, a.ID)
		if err != nil {
			return err
		}
		cur.State, cur.Error, cur.UpdatedAt = AttachmentRefused, reason, d.Clock.Now()
		if err := tx.UpdateAttachment(ctx, cur); err != nil {
			return err
		}
		m, err := tx.Message(ctx, msg.ID)
		if err != nil {
			return err
		}
		if m.Delivery != DeliveryScheduled {
			return nil // cancelled, or already decided
		}
		m.Delivery, m.DeliveryError = DeliveryRefused, reason
		if err := tx.UpdateMessage(ctx, m); err != nil {
			return err
		}
		now := d.Clock.Now()
		if err := cancelRest(ctx, tx, m.ID, now); err != nil {
			return err
		}
		key := fmt.Sprintf("refused-file:%d", a.ID)
		return tx.Enqueue(ctx,
			markItem(conv, m, ReactionWaiting, false, key, now),
			markItem(conv, m, ReactionFailed, true, key, now),
			noticeItem(conv, key, PostWarning, "Not sent to the customer: "+reason, now))
	})
}

// sendX sends one part of a reply; the first part of a reply with files
// carries them, as uploaded during the send delay.
func (d *Dispatcher) sendX(ctx context.Context, it *OutboxItem, conv *Conversation, cust *Customer) (string, error) {
	if !it.Payload.Media {
		if it.Effect == EffectDM {
			return d.X.SendDM(ctx, conv.Account, cust.XUserID, it.Payload.Text)
		}
		return d.X.Reply(ctx, conv.Account, conv.ReplyToID, it.Payload.Text)
	}
	xm, ok := d.X.(MediaSender)
	if !ok {
		return "", &DeliveryError{Reason: "the X adapter cannot send files"}
	}
	var atts []*Attachment
	err := d.Store.InTx(ctx, func(tx Tx) error {
		var err error
		atts, err = tx.Attachments(ctx, it.MessageID)
		return err
	})
	if err != nil {
		return "", &DeliveryError{Temporary: true, Reason: "load attachments", Err: err}
	}
	var ids []string
	now := d.Clock.Now()
	for _, a := range atts {
		if a.Direction != DirectionOut {
			continue
		}
		if !a.usable(now) {
			why := cmp.Or(a.Error, "it is not uploaded")
			if a.State == AttachmentDone {
				why = "X no longer holds it; resend to upload it again"
			}
			return "", &DeliveryError{Reason: fmt.Sprintf("%s could not go to X: %s", fileLabel(a.Name), why)}
		}
		ids = append(ids, a.XMediaID)
	}
	if it.Effect == EffectDM {
		return xm.SendDMMedia(ctx, conv.Account, cust.XUserID, it.Payload.Text, ids)
	}
	return xm.ReplyMedia(ctx, conv.Account, conv.ReplyToID, it.Payload.Text, ids)
}

// keepLease renews an item's claim while a long transfer runs, so that
// recovery does not take it for crashed and start it twice. It returns
// the function that stops renewing.
func (d *Dispatcher) keepLease(ctx context.Context, it *OutboxItem) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	claim := *it // renewed on a copy: the item itself belongs to the worker
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-d.Clock.After(d.Lease / 3):
			}
			claim.LeaseUntil = d.Clock.Now().Add(d.Lease)
			err := d.Store.InTx(ctx, func(tx Tx) error { return tx.UpdateOutbox(ctx, &claim, OutboxInflight, claim.Attempts) })
			if err != nil {
				d.Logger.Warn("renew the claim of a transfer", "outbox_id", it.ID, "err", err)
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// read reads one row by id in a transaction of its own.
func read[T any](ctx context.Context, store Store, id int64, get func(Tx, context.Context, int64) (T, error)) (T, error) {
	var v T
	err := store.InTx(ctx, func(tx Tx) error {
		var err error
		v, err = get(tx, ctx, id)
		return err
	})
	return v, err
}

// saveAttachment changes an attachment and writes it. Only the worker
// holding its item's claim writes an attachment.
func (d *Dispatcher) saveAttachment(ctx context.Context, a *Attachment, change func(*Attachment)) error {
	change(a)
	a.UpdatedAt = d.Clock.Now()
	return d.Store.InTx(context.WithoutCancel(ctx), func(tx Tx) error { return tx.UpdateAttachment(ctx, a) })
}

// sniffLen is how much of a file decides its type (http.DetectContentType
// reads as much).
const sniffLen = 512

// sniffer returns a reader of r's content and its first bytes, read ahead
// without losing them.
func sniffer(r io.Reader) (io.Reader, []byte) {
	br := bufio.NewReaderSize(r, sniffLen)
	head, _ := br.Peek(sniffLen) // a shorter file gives what it has
	return br, head
}

// sniffType is a file's content type as its first bytes tell; the
// declared types only break a tie the bytes leave open (text, an unknown
// binary).
func sniffType(head []byte, declared ...string) string {
	ct := http.DetectContentType(head)
	if ct == "application/octet-stream" && isQuickTime(head) {
		ct = "video/quicktime" // DetectContentType knows MP4's brands, not QuickTime's
	}
	base, _, _ := mime.ParseMediaType(ct)
	if base == "application/octet-stream" || strings.HasPrefix(base, "text/plain") {
		for _, d := range declared {
			if dt, _, err := mime.ParseMediaType(d); err == nil && dt != "" && MediaKindOf(dt) == MediaFile {
				return dt // a PDF, a log: the bytes say nothing better
			}
		}
	}
	return base
}

// isQuickTime reports whether a file starts with a QuickTime ftyp box.
func isQuickTime(head []byte) bool {
	return len(head) >= 12 && bytes.Equal(head[4:8], []byte("ftyp")) && bytes.Equal(head[8:12], []byte("qt  "))
}

// mediaFileName names a customer's media in the thread: the name it came
// with, else its kind and key with the extension of its type.
func mediaFileName(a *Attachment) string {
	if a.Name != "" {
		return a.Name
	}
	ext := map[string]string{
		"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
		"video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm",
	}[a.ContentType]
	if ext == "" {
		if exts, _ := mime.ExtensionsByType(a.ContentType); len(exts) > 0 {
			ext = exts[0]
		}
	}
	name := string(a.Kind)
	if a.Kind == MediaGIF {
		name = "gif"
	}
	if a.Key != "" {
		name += "-" + a.Key
	}
	return name + ext
}
