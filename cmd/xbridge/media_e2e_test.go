package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/adapters/x/xsim"
)

// mp4 returns a generator of an MP4 of size bytes (an ftyp box, then
// pseudo-random bytes), and its SHA-256, without holding it.
func mp4(t *testing.T, seed, size int64) (func() io.Reader, string) {
	t.Helper()
	head := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	rest := xsim.GeneratedBytes(seed, size-int64(len(head)))
	open := func() io.Reader { return io.MultiReader(bytes.NewReader(head), rest()) }
	h := sha256.New()
	if _, err := io.Copy(h, open()); err != nil {
		t.Fatal(err)
	}
	return open, hex.EncodeToString(h.Sum(nil))
}

// threadSaysIn reports whether a bridge post in the thread contains text.
func threadSaysIn(msgs []slacksim.Message, text string) bool {
	for _, m := range msgs {
		if m.BotID != "" && strings.Contains(m.Text+string(m.Blocks), text) {
			return true
		}
	}
	return false
}

// TestMediaEndToEnd: a DM with a photo lands as an image file in the Slack
// thread; an agent's PNG reaches the customer as a DM attachment and as a
// reply-tweet image; an oversized and a wrongly typed file are refused in
// the thread with the limit named.
func TestMediaEndToEnd(t *testing.T) {
	t.Parallel()
	for name, dsn := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := startBridge(t, dsn(t), nil)
			s := e.s

			// The customer's photo shows in the thread as the file itself.
			photo := xsim.NoisePNG(96, 64)
			s.X.CustomerDMWithMedia("2001", "The sole cracked after a week",
				xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/png", Data: photo, AltText: "a cracked sole"})
			var thread string
			e.eventually("the photo in the thread", func() bool {
				thread = e.threadOf("alice_w")
				return thread != "" && len(filesIn(s.Slack.Thread(demoChannel, thread))) == 1
			})
			msgs := s.Slack.Thread(demoChannel, thread)
			if len(msgs) != 2 || !strings.Contains(msgs[0].Text, "The sole cracked after a week") {
				t.Fatalf("thread = %+v", msgs)
			}
			f := msgs[1].Files[0]
			if f.Mimetype != "image/png" || f.SHA256 != hexSHA(photo) || f.AltText != "a cracked sole" ||
				!strings.HasPrefix(msgs[1].Text, "Alice Walker sent a photo") || !strings.Contains(msgs[1].Text, "original on X") {
				t.Fatalf("file %+v with %q", f, msgs[1].Text)
			}

			// The agent's PNG reaches the customer as a DM attachment.
			label := xsim.NoisePNG(80, 40)
			ts := s.Slack.PostFileAsUser(demoAgent, demoChannel, thread, "This label goes on the box:",
				slacksim.UserFile{Name: "label.png", Data: label, AltText: "the return label"})
			e.eventually("the DM with the image", func() bool { return len(s.X.DMsTo("2001")) == 1 })
			dm := s.X.DMsTo("2001")[0]
			if dm.Text != "This label goes on the box:" || len(dm.MediaIDs) != 1 {
				t.Fatalf("DM = %+v", dm)
			}
			up, _ := s.X.UploadedMedia(dm.MediaIDs[0])
			if up.SHA256 != hexSHA(label) || up.Category != "dm_image" || up.MediaType != "image/png" || up.AltText != "the return label" {
				t.Fatalf("uploaded = %+v", up)
			}
			e.eventually("✅ on the agent's file", func() bool {
				m, _ := s.Slack.Message(demoChannel, ts)
				return strings.Join(m.Reactions, ",") == "white_check_mark"
			})

			// An oversized image is refused at once, with X's limit named.
			big := s.Slack.PostFileAsUser(demoAgent, demoChannel, thread, "", slacksim.UserFile{Name: "scan.png",
				Size: 6 << 20, Reader: func() io.Reader { return io.MultiReader(bytes.NewReader(label), xsim.GeneratedBytes(1, 6<<20)()) }})
			// A PDF named like a PNG is refused once its bytes are seen.
			pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("stream\n"), 100)...)
			fake := s.Slack.PostFileAsUser(demoAgent, demoChannel, thread, "", slacksim.UserFile{Name: "photo.png", Data: pdf})
			e.eventually("both refusals", func() bool {
				th := s.Slack.Thread(demoChannel, thread)
				return threadSaysIn(th, "The file scan.png is 6 MB; X takes images up to 5 MB.") &&
					threadSaysIn(th, "The file photo.png is application/pdf, which X does not take")
			})
			for _, refused := range []string{big, fake} {
				e.eventually("⚠️ on the refused file", func() bool {
					m, _ := s.Slack.Message(demoChannel, refused)
					return strings.Join(m.Reactions, ",") == "warning"
				})
			}
			time.Sleep(500 * time.Millisecond) // past the send delay
			if n := len(s.X.DMsTo("2001")); n != 1 {
				t.Fatalf("a refused file reached the customer: %d DMs", n)
			}

			// In a public conversation the image goes as a reply tweet.
			tw := s.X.CustomerMention("2002", "@acme_help where do I find the serial number?", "")
			var thread2 string
			e.eventually("mention thread", func() bool {
				thread2 = e.threadOf("carol_dev")
				return thread2 != "" && len(s.Slack.Thread(demoChannel, thread2)) == 1
			})
			where := xsim.NoisePNG(50, 50)
			s.Slack.PostFileAsUser(demoAgent, demoChannel, thread2, "Under the battery cover:", slacksim.UserFile{Name: "serial.png", Data: where})
			e.eventually("reply tweet with the image", func() bool { return len(s.X.RepliesTo(tw.ID)) == 1 })
			reply := s.X.RepliesTo(tw.ID)[0]
			up, _ = s.X.UploadedMedia(reply.MediaIDs[0])
			if reply.Text != "Under the battery cover:" || up.SHA256 != hexSHA(where) || up.Category != "tweet_image" {
				t.Fatalf("reply %+v, media %+v", reply, up)
			}
			// The sends that come back through the webhook are known as the bridge's own.
			for _, th := range []string{thread, thread2} {
				if threadSaysIn(s.Slack.Thread(demoChannel, th), "Sent directly on X") {
					t.Errorf("the bridge's own send with media came back as a stranger's")
				}
			}
			e.noViolations()
		})
	}
}

// TestMediaLostAnswerMidTransfer: Slack shares the customer's photo but
// its answer is lost; the retry finds the file in the thread and does not
// post it twice.
func TestMediaLostAnswerMidTransfer(t *testing.T) {
	t.Parallel()
	e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), nil)
	s := e.s
	var uploads, lookups atomic.Int32
	s.Slack.OnCall(func(c slacksim.Call) {
		switch c.Method {
		case "files.getUploadURLExternal":
			uploads.Add(1)
		case "conversations.replies":
			lookups.Add(1)
		}
	})
	s.Slack.FailNext("files.completeUploadExternal", 1, slacksim.Fault{AfterEffect: true, Drop: true})
	photo := xsim.NoisePNG(40, 40)
	s.X.CustomerDMWithMedia("2001", "see", xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/png", Data: photo})
	var thread string
	e.eventually("the retry's look at the thread", func() bool {
		thread = e.threadOf("alice_w")
		return thread != "" && lookups.Load() > 0
	})
	time.Sleep(time.Second)
	if files := filesIn(s.Slack.Thread(demoChannel, thread)); len(files) != 1 || files[0].SHA256 != hexSHA(photo) || uploads.Load() != 1 {
		t.Fatalf("%d files in the thread after %d uploads", len(files), uploads.Load())
	}
}

// TestDiscordMediaEndToEnd: with support on Discord, a customer's photo is
// attached to the thread's message (alt text as its description), a video
// over Discord's 10 MB is linked with a note, and an agent's attachment
// reaches the customer as a DM attachment.
func TestDiscordMediaEndToEnd(t *testing.T) {
	t.Parallel()
	e := startBridge(t, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), func(c *Config) {
		c.SupportPlatform = "discord"
		c.Discord.Channel = discordForum
	})
	d := e.s.Discord
	e.eventually("Discord connected", func() bool { return e.m.Discord.Connected() })
	photo := xsim.NoisePNG(70, 70)
	e.s.X.CustomerDMWithMedia("2001", "Broken on arrival",
		xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/png", Data: photo, AltText: "a dented lid"})
	thread := e.discordThread(discordForum)
	attached := func() []discordsim.Message {
		var out []discordsim.Message
		for _, m := range d.Messages(thread) {
			if len(m.Attachments) > 0 {
				out = append(out, m)
			}
		}
		return out
	}
	e.eventually("the photo attached", func() bool { return len(attached()) == 1 })
	m := attached()[0]
	if a := m.Attachments[0]; !bytes.Equal(a.Data, photo) || a.Description != "a dented lid" || a.ContentType != "image/png" ||
		!strings.HasPrefix(m.Content, "Alice Walker sent a photo") {
		t.Fatalf("message %q with %s (%s, %d bytes)", m.Content, a.Filename, a.Description, len(a.Data))
	}

	open, _ := mp4(t, 3, 12<<20)
	e.s.X.CustomerDMWithMedia("2001", "", xsim.Media{Kind: xsim.MediaVideo, Size: 12 << 20, Reader: open})
	e.eventually("the video linked", func() bool {
		return discordSays(d.Messages(thread), "Alice Walker sent a video (12 MB), not attached here because files here may have up to 10 MB")
	})

	label := xsim.NoisePNG(30, 60)
	d.PostAsUserMessage(discordAgent, thread, discordsim.UserMessage{Content: "This label:",
		Attachments: []discordsim.Attachment{{Filename: "label.png", ContentType: "image/png", Data: label}}})
	e.eventually("the DM with the image", func() bool { return len(e.s.X.DMsTo("2001")) == 1 })
	dm := e.s.X.DMsTo("2001")[0]
	up, _ := e.s.X.UploadedMedia(dm.MediaIDs[0])
	if dm.Text != "This label:" || up.SHA256 != hexSHA(label) || up.Category != "dm_image" {
		t.Fatalf("DM %+v, media %+v", dm, up)
	}
	if len(attached()) != 2 { // the photo, and the agent's own message
		t.Fatalf("%d messages with files in the thread", len(attached()))
	}
	e.noViolations()
}
