package x

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // OAuth 1.0a HMAC-SHA1 is what X requires
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// oauth1Transport signs every request with OAuth 1.0a HMAC-SHA1 (RFC 5849)
// as the support account: the method, the URL with its query parameters and
// a form-encoded body take part; a JSON body does not. It signs in the
// transport because go-twitter adds the query string after calling its
// Authorizer.
type oauth1Transport struct {
	base                        http.RoundTripper
	consumerKey, consumerSecret string
	token, tokenSecret          string

	now   func() time.Time // time.Now when nil
	nonce func() string    // random when nil
}

// RoundTrip signs a copy of req and sends it.
func (t *oauth1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	form, err := formParams(r)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r.Header.Set("Authorization", t.authorization(r, form))
	return t.base.RoundTrip(r)
}

// formParams returns the parameters of a form-encoded body, leaving r's body
// readable again. Other bodies contribute nothing.
func formParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" || r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("oauth1: read form body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return url.ParseQuery(string(b))
}

// authorization returns the Authorization header value for r.
func (t *oauth1Transport) authorization(r *http.Request, form url.Values) string {
	now := time.Now
	if t.now != nil {
		now = t.now
	}
	nonce := randomNonce
	if t.nonce != nil {
		nonce = t.nonce
	}
	oauth := map[string]string{
		"oauth_consumer_key":     t.consumerKey,
		"oauth_nonce":            nonce(),
		"oauth_signature_method": "HMAC-SHA1",
		"oauth_timestamp":        strconv.FormatInt(now().Unix(), 10),
		"oauth_token":            t.token,
		"oauth_version":          "1.0",
	}
	params := url.Values{}
	for k, v := range oauth {
		params.Set(k, v)
	}
	for k, vs := range r.URL.Query() {
		params[k] = append(params[k], vs...)
	}
	for k, vs := range form {
		params[k] = append(params[k], vs...)
	}
	key := percentEncode(t.consumerSecret) + "&" + percentEncode(t.tokenSecret)
	oauth["oauth_signature"] = hmacSHA1(key, signatureBase(r.Method, r.URL, r.Host, params))

	keys := make([]string, 0, len(oauth))
	for k := range oauth {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("OAuth ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `%s="%s"`, percentEncode(k), percentEncode(oauth[k]))
	}
	return b.String()
}

// signatureBase builds the signature base string (RFC 5849 section 3.4.1):
// the method, the base string URI and the normalized parameters.
func signatureBase(method string, u *url.URL, host string, params url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, pair{percentEncode(k), percentEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var norm strings.Builder
	for i, p := range pairs {
		if i > 0 {
			norm.WriteByte('&')
		}
		norm.WriteString(p.k)
		norm.WriteByte('=')
		norm.WriteString(p.v)
	}
	return strings.ToUpper(method) + "&" + percentEncode(baseStringURI(u, host)) + "&" + percentEncode(norm.String())
}

// baseStringURI is the URL without query or fragment, scheme and host in
// lower case and the default port left out (RFC 5849 section 3.4.1.2).
func baseStringURI(u *url.URL, host string) string {
	scheme := strings.ToLower(u.Scheme)
	if u.Host != "" {
		host = u.Host
	}
	host = strings.ToLower(host)
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

func hmacSHA1(key, msg string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// percentEncode encodes s as RFC 5849 section 3.6 requires: every byte
// except ALPHA, DIGIT, '-', '.', '_' and '~' as %XX with upper-case hex.
func percentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// bearerTransport authenticates every request with an OAuth 2.0 user token.
type bearerTransport struct {
	base  http.RoundTripper
	token string
}

// RoundTrip sends a copy of req carrying the bearer token.
func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}
