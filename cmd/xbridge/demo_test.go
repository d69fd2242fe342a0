package main

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestDemoRunsTheWholeStory(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"demo", "--send-delay", "300ms"}, &out, io.Discard, func(string) string { return "" }); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !sameCount(out.String()) {
		t.Errorf("the duplicate delivery changed the thread:\n%s", out.String())
	}
	for _, want := range []string{
		"new thread with card — #1 · Alice Walker (@alice_w)",
		"DM sent to user 2001",
		"reply tweet posted",
		"answered 429 Too Many Requests",
		"Queued: X send limit",
		"Bob claimed this.",
		"Bob tagged this address-change, shipping.",
		"#engineering: new thread with card",
		"Engineering · Eve: Courier API needed the unit number",
		"Engineering resolved the escalation (Eve): address updated",
		`DM sent to user 2001: "Thanks for contacting Acme support!`,
		"Bob closed this.",
		`Discord #support-forum: new post "#3 · Lin Wei" with the card`,
		"DM sent to user 2003",
		"file shared — Alice Walker sent a photo",
		"every request was valid",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	for what, re := range map[string]string{
		"the customer's photo in the thread": `the photo is in the thread as a file: photo-\S+\.jpg, [0-9.]+ KB, image/jpeg`,
		"Bob's label as a DM attachment":     `DM sent to user 2001 with media \d+ attached: "Sorry about that, Alice!`,
		"the attachment being Bob's file":    `DM has the image attached: image/png, .*byte for byte: true`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("transcript lacks %s (%s)", what, re)
		}
	}
	previewed, sent := savedReplyScene(out.String())
	if previewed == "" || !strings.HasPrefix(previewed, "Hi Alice Walker, your return for #1") || sent != previewed {
		t.Errorf("the preview showed %q; after Send the customer got %q", previewed, sent)
	}
}

// savedReplyScene reads the saved reply scene of a transcript: the text
// quoted in the preview, and the first DM sent to Alice after Send was
// clicked ("" when there was none).
func savedReplyScene(transcript string) (previewed, sent string) {
	_, scene, _ := strings.Cut(transcript, "preview (only Bob sees it):")
	preview, afterSend, _ := strings.Cut(scene, "Bob clicks Send")
	var quoted []string
	for _, l := range strings.Split(preview, "\n") {
		if q, ok := strings.CutPrefix(strings.TrimSpace(l), "> "); ok {
			quoted = append(quoted, q)
		}
	}
	if m := regexp.MustCompile(`DM sent to user 2001: (".*")`).FindStringSubmatch(afterSend); m != nil {
		sent, _ = strconv.Unquote(m[1])
	}
	return strings.Join(quoted, "\n"), sent
}

// sameCount finds "thread messages before N, after M" and reports N == M.
func sameCount(transcript string) bool {
	m := regexp.MustCompile(`thread messages before (\d+), after (\d+)`).FindStringSubmatch(transcript)
	return m != nil && m[1] == m[2]
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version"}, &out, io.Discard, nil); err != nil || !strings.HasPrefix(out.String(), "xbridge ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	if err := run(t.Context(), []string{"frobnicate"}, io.Discard, io.Discard, nil); err == nil {
		t.Fatal("unknown command accepted")
	}
}
