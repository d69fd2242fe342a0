package main

import (
	"bytes"
	"io"
	"regexp"
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
		"every request was valid",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
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
