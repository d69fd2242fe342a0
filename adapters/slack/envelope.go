package slack

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// doer is what slack-go needs of an HTTP client
// (slackapi.OptionHTTPClient).
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// envelopeClient is the HTTP client slack-go calls the Web API through.
// Slack answers a successful chat.postMessage and chat.update with the
// whole message it stored, blocks and all, and slack-go decodes that echo
// into typed structs (Block Kit decoding is most of the CPU a post costs)
// although the adapter reads only channel and ts. envelopeClient cuts the
// top-level "message" member out of those answers before slack-go reads
// them, so slack-go decodes only the envelope: ok, channel, ts, text,
// warning, response_metadata, byte for byte as Slack sent them.
//
// Everything else passes through untouched: other methods, other hosts
// (response URLs, file uploads), any status but 200 (a 429 keeps its
// Retry-After), ok:false answers, encoded bodies, and any body it cannot
// read as one JSON object.
type envelopeClient struct {
	next doer
	host string // the Web API's host and base path, from Config.APIURL
	path string // ends with "/"
}

// newEnvelopeClient wraps next for the Web API at apiURL (ending in "/").
// It returns next itself when apiURL cannot be parsed.
func newEnvelopeClient(next doer, apiURL string) doer {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return next
	}
	return &envelopeClient{next: next, host: u.Host, path: u.Path}
}

// echoingMethods are the Web API methods whose answers repeat the message.
// chat.postEphemeral answers with message_ts only.
var echoingMethods = map[string]bool{"chat.postMessage": true, "chat.update": true}

// Do sends req and, for a successful chat.postMessage or chat.update,
// drops the echoed message from the answer.
func (c *envelopeClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" ||
		req.URL.Host != c.host || len(req.URL.Path) <= len(c.path) || req.URL.Path[:len(c.path)] != c.path ||
		!echoingMethods[req.URL.Path[len(c.path):]] {
		return resp, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(resp.ContentLength, 0)+bytes.MinRead))
	_, rerr := buf.ReadFrom(resp.Body)
	resp.Body.Close()
	body := buf.Bytes()
	if rerr != nil {
		// slack-go reads what came and then meets the same error.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
		return resp, nil
	}
	if slim, ok := dropMember(body, "message"); ok {
		body = slim
		resp.ContentLength = int64(len(body))
		if resp.Header.Get("Content-Length") != "" {
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// dropMember removes every top-level member called name from body, a JSON
// object with "ok": true, reusing body's memory. It reports false, and body
// is unchanged, when there is no such member, ok is not true, or body is
// not one well-formed object (brackets matched, strings closed). The
// members kept, and anything after the object, stay byte for byte.
//
// It scans the bytes once and decodes nothing: a dropped value is only
// checked for structure, its numbers and literals are not validated.
func dropMember(body []byte, name string) ([]byte, bool) {
	type span struct{ start, end int } // a member, from its key to the end of its value
	var (
		keepBuf [8]span
		keep    = keepBuf[:0]
		dropped bool
		okTrue  bool
	)
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return body, false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return body, false
	}
	for {
		if i == len(body) || body[i] != '"' {
			return body, false
		}
		start := i
		keyEnd, ok := skipString(body, i)
		if !ok {
			return body, false
		}
		key := body[start+1 : keyEnd-1]
		i = skipSpace(body, keyEnd)
		if i == len(body) || body[i] != ':' {
			return body, false
		}
		vstart := skipSpace(body, i+1)
		vend, ok := skipValue(body, vstart)
		if !ok {
			return body, false
		}
		switch string(key) {
		case name:
			dropped = true
		case "ok":
			okTrue = string(body[vstart:vend]) == "true"
			keep = append(keep, span{start, vend})
		default:
			keep = append(keep, span{start, vend})
		}
		i = skipSpace(body, vend)
		if i == len(body) {
			return body, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] != ',' {
			return body, false
		}
		i = skipSpace(body, i+1)
	}
	if !dropped || !okTrue {
		return body, false
	}
	// Compact in place: the write position never passes the read position.
	out := append(body[:0], '{')
	for k, s := range keep {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, body[s.start:s.end]...)
	}
	out = append(out, '}')
	return append(out, body[i+1:]...), true
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just after the string starting at b[i]
// ('"'), or false when it is not closed.
func skipString(b []byte, i int) (int, bool) {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return 0, false
		}
		i += q
		// The quote ends the string unless an odd number of backslashes
		// escape it.
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i, true
		}
	}
}

// skipValue returns the index just after the JSON value starting at b[i],
// or false when its brackets do not match or a string is not closed.
func skipValue(b []byte, i int) (int, bool) {
	if i == len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
	default: // a number or a literal
		start := i
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\n', '\r', '\t':
				return i, i > start
			}
			i++
		}
		return i, i > start
	}
	var stackBuf [32]byte
	open := stackBuf[:0] // the closing brackets expected, innermost last
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			end, ok := skipString(b, i)
			if !ok {
				return 0, false
			}
			i = end
			continue
		case '{':
			open = append(open, '}')
		case '[':
			open = append(open, ']')
		case '}', ']':
			if len(open) == 0 || open[len(open)-1] != c {
				return 0, false
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				return i + 1, true
			}
		}
		i++
	}
	return 0, false
}
