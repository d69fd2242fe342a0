package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"regexp"
	"slices"
	"strings"

	"github.com/xbridge/xbridge/adapters/slack/slacksim"
	"github.com/xbridge/xbridge/adapters/x/xsim"
	"github.com/xbridge/xbridge/bridge"
	"github.com/xbridge/xbridge/commands"
)

// The demo's scenes with files and a saved reply, and what they need.

// demoReturnReply is the saved reply `return` of the demo.
const demoReturnReply = "Hi {customer}, your return for {ticket} is booked: put the label on the box " +
	"and drop it at any post office within 14 days. Your refund follows as soon as it arrives."

// pictures: Alice's photo reopens her conversation and lands in its Slack
// thread as a file, and the return label Bob shares there reaches her on X
// as a DM attachment. It returns the conversation's thread.
func (d *demo) pictures() (string, error) {
	tr, s := d.tr, d.s
	tr.step("11. Pictures both ways: Alice writes again with a photo, which lands in the thread as a file; Bob's return label reaches her on X")
	photo, err := crackedSolePhoto()
	if err != nil {
		return "", err
	}
	ev := s.X.CustomerDMWithMedia("2001", "The parcel came, thanks! But the sole of the boots cracked after a week, see the photo.",
		xsim.Media{Kind: xsim.MediaPhoto, ContentType: "image/jpeg", Data: photo, AltText: "a boot sole with a crack across it"})
	tr.printf("X      @alice_w → @%s (DM with a %s JPEG photo): %q", demoSupportHandle, bridge.FormatBytes(int64(len(photo))), ev.Text)
	var thread string
	if err := d.waitFor("the photo in the Slack thread", func() bool {
		thread = d.threadOf("alice_w")
		return thread != "" && len(filesIn(s.Slack.Thread(demoChannel, thread))) > 0
	}); err != nil {
		return "", err
	}
	f := filesIn(s.Slack.Thread(demoChannel, thread))[0]
	tr.printf("Slack  the photo is in the thread as a file: %s, %s, %s, alt text %q",
		f.Name, bridge.FormatBytes(int64(f.Size)), f.Mimetype, f.AltText)
	if f.SHA256 != hexSHA(photo) {
		return "", errors.New("the file in the thread is not the customer's photo")
	}

	label, err := returnLabelPNG()
	if err != nil {
		return "", err
	}
	shared := s.Slack.PostFileAsUser(demoAgent, demoChannel, thread, "Sorry about that, Alice! Here is your prepaid return label:",
		slacksim.UserFile{Name: "return-label.png", Data: label, AltText: "prepaid return label"})
	tr.printf("Slack  Bob shares return-label.png (%s, image/png) in the thread (held %s)", bridge.FormatBytes(int64(len(label))), d.m.Config.SendDelay)
	var dm xsim.DMEvent
	if err := d.waitFor("the DM with the label", func() bool {
		for _, m := range s.X.DMsTo("2001") {
			if len(m.MediaIDs) > 0 {
				dm = m
				return true
			}
		}
		return false
	}); err != nil {
		return "", err
	}
	up, _ := s.X.UploadedMedia(dm.MediaIDs[0])
	same := up.SHA256 == hexSHA(label)
	tr.printf("X      @alice_w's DM has the image attached: %s, %s, Bob's return-label.png byte for byte: %v",
		up.MediaType, bridge.FormatBytes(up.Size), same)
	if !same {
		return "", errors.New("the attachment the customer got is not the agent's file")
	}
	err = d.waitFor("the ✅ on Bob's file", func() bool {
		m, _ := s.Slack.Message(demoChannel, shared)
		return slices.Contains(m.Reactions, "white_check_mark")
	})
	return thread, err
}

// savedReply: the agent previews a saved reply, which only they see, with
// Send and Cancel; Send delivers exactly the previewed text.
func (d *demo) savedReply(thread string) error {
	tr, s := d.tr, d.s
	tr.step("12. A saved reply, previewed: only Bob sees it, with Send and Cancel; Send delivers exactly that text")
	root, _ := s.Slack.Message(demoChannel, thread)
	ticket := cardTicket.FindString(root.Text)
	cmd := "reply-with return " + ticket
	tr.printf("Slack  Bob runs /xb %s", cmd)
	s.Slack.SlashCommand(demoAgent, demoChannel, "/xb", cmd)
	var preview slacksim.Message
	if err := d.waitFor("the preview", func() bool {
		var ok bool
		preview, ok = slackPreview(s.Slack.Ephemerals(demoAgent), nil)
		return ok
	}); err != nil {
		return err
	}
	send, _ := previewButtons(string(preview.Blocks))
	tr.printf("Slack  preview (only Bob sees it):")
	for _, line := range strings.Split(unescapeSlack(preview.Text), "\n") {
		tr.say("           %s", line)
	}
	tr.say("           [Send] [Cancel]")
	previewed := previewedText(preview.Text)
	before := len(s.X.DMsTo("2001"))
	s.Slack.ClickButton(demoAgent, demoChannel, preview.TS, send, "")
	tr.printf("Slack  Bob clicks Send")
	if err := d.waitFor("the preview to read Sent", func() bool {
		m, ok := ephemeral(s.Slack.Ephemerals(demoAgent), preview.TS)
		return ok && strings.HasPrefix(m.Text, "Sent saved reply")
	}); err != nil {
		return err
	}
	m, _ := ephemeral(s.Slack.Ephemerals(demoAgent), preview.TS)
	tr.printf("Slack  the preview now reads: %s", oneLine(unescapeSlack(m.Text)))
	if err := d.waitFor("the saved reply on X", func() bool { return len(s.X.DMsTo("2001")) > before }); err != nil {
		return err
	}
	got := s.X.DMsTo("2001")[before].Text
	if got != previewed {
		return fmt.Errorf("the customer got %q, the preview showed %q", got, previewed)
	}
	// The thread's copy of the reply gets its ✅ once X took the DM (and
	// the DM's line is in the transcript by then).
	if err := d.waitFor("the ✅ on the saved reply", func() bool {
		for _, m := range s.Slack.Thread(demoChannel, thread) {
			if strings.Contains(m.Text, "is sending the customer:") {
				return slices.Contains(m.Reactions, "white_check_mark")
			}
		}
		return false
	}); err != nil {
		return err
	}
	tr.printf("X      @alice_w got exactly the previewed text: %v", got == previewed)
	return nil
}

// cardTicket finds the ticket at the start of a card: "#4".
var cardTicket = regexp.MustCompile(`^#[0-9]+`)

// previewButtonRE finds a preview's Send button in blocks or components.
var previewButtonRE = regexp.MustCompile(`xb_cmd:preview-send ([0-9]+)`)

// previewButtons returns the action ids of a preview's Send and Cancel
// buttons, found in its blocks or components; "" when there are none.
func previewButtons(raw string) (send, cancel string) {
	m := previewButtonRE.FindStringSubmatch(raw)
	if m == nil {
		return "", ""
	}
	return commands.ButtonAction("preview-send " + m[1]), commands.ButtonAction("preview-cancel " + m[1])
}

// previewedText is the saved reply a preview shows: its quoted lines,
// unquoted (and unescaped, for Slack).
func previewedText(preview string) string {
	var lines []string
	for _, l := range strings.Split(preview, "\n") {
		if q, ok := strings.CutPrefix(l, "&gt; "); ok {
			lines = append(lines, unescapeSlack(q))
		} else if q, ok := strings.CutPrefix(l, "> "); ok {
			lines = append(lines, q)
		}
	}
	return strings.Join(lines, "\n")
}

// unescapeSlack undoes Slack's escaping of &, < and >.
func unescapeSlack(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// slackPreview returns the first saved-reply preview with buttons among
// ephemerals whose ts is not in seen.
func slackPreview(ephemerals []slacksim.Message, seen map[string]bool) (slacksim.Message, bool) {
	for _, m := range ephemerals {
		if send, _ := previewButtons(string(m.Blocks)); send != "" && !seen[m.TS] {
			return m, true
		}
	}
	return slacksim.Message{}, false
}

// ephemeral returns the ephemeral message ts among ephemerals.
func ephemeral(ephemerals []slacksim.Message, ts string) (slacksim.Message, bool) {
	for _, m := range ephemerals {
		if m.TS == ts {
			return m, true
		}
	}
	return slacksim.Message{}, false
}

// filesIn returns the files shared in a thread, in order.
func filesIn(msgs []slacksim.Message) []slacksim.File {
	var out []slacksim.File
	for _, m := range msgs {
		out = append(out, m.Files...)
	}
	return out
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// crackedSolePhoto is the customer's photo: a dark sole on a light floor
// with a crack across it, as a JPEG.
func crackedSolePhoto() ([]byte, error) {
	const w, h = 320, 200
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	floor, sole, crack := color.RGBA{232, 226, 214, 255}, color.RGBA{62, 54, 50, 255}, color.RGBA{210, 200, 190, 255}
	for y := range h {
		for x := range w {
			dx, dy := float64(x-w/2)/140, float64(y-h/2)/70
			c := floor
			if dx*dx+dy*dy <= 1 {
				c = sole
			}
			img.Set(x, y, c)
		}
	}
	for x := 70; x < 250; x++ { // a zigzag across the sole
		y := h/2 + abs(x%24-12) - 6
		for t := -1; t <= 1; t++ {
			img.Set(x, y+t, crack)
		}
	}
	var buf bytes.Buffer
	err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	return buf.Bytes(), err
}

// returnLabelPNG is the agent's file: a white label with a border and a
// bar code, as a PNG.
func returnLabelPNG() ([]byte, error) {
	const w, h = 300, 180
	img := image.NewGray(image.Rect(0, 0, w, h))
	code := []byte("ACME-RETURN-50231")
	for y := range h {
		for x := range w {
			v := uint8(255)
			border := x < 4 || y < 4 || x >= w-4 || y >= h-4
			bar := y >= 60 && y < 140 && x >= 30 && x < 270 && code[(x-30)/14%len(code)]>>((x-30)%14/2)&1 == 1
			if border || bar {
				v = 0
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
