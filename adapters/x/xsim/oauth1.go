package xsim

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // OAuth 1.0a HMAC-SHA1 is what X uses
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// authenticate checks the Authorization header of the request: an OAuth
// 2.0 bearer equal to a support account's user token, or an OAuth 1.0a
// header with a support account's access token whose HMAC-SHA1 signature
// verifies (the request body's form-encoded parameters, if any, are part
// of it). It records the account in x and returns nil, or returns the
// reason the request is refused.
func (s *Server) authenticate(x *exchange) error {
	me, err := s.authenticatedAccount(x.r, x.body)
	if err != nil {
		return err
	}
	x.me, x.log.Account = me.UserID, me.UserID
	return nil
}

// authenticatedAccount returns the support account whose credentials r
// carries.
func (s *Server) authenticatedAccount(r *http.Request, body []byte) (Account, error) {
	s.mu.Lock()
	accounts := s.accounts
	s.mu.Unlock()
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "":
		return Account{}, fmt.Errorf("no Authorization header")
	case "bearer":
		tok := strings.TrimSpace(rest)
		for _, a := range accounts {
			if a.UserToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.UserToken)) == 1 {
				return a, nil
			}
		}
		return Account{}, fmt.Errorf("bearer token is not the user token of a support account")
	case "oauth":
		return s.verifyOAuth1(accounts, r, rest, body)
	default:
		return Account{}, fmt.Errorf("unsupported Authorization scheme %q", scheme)
	}
}

// verifyOAuth1 verifies an OAuth 1.0a HMAC-SHA1 signature (RFC 5849) and
// returns the account whose access token signed it.
func (s *Server) verifyOAuth1(accounts []Account, r *http.Request, header string, body []byte) (Account, error) {
	if s.opts.ConsumerKey == "" {
		return Account{}, fmt.Errorf("OAuth 1.0a is not configured")
	}
	params, err := parseOAuthHeader(header)
	if err != nil {
		return Account{}, err
	}
	i := slices.IndexFunc(accounts, func(a Account) bool {
		return a.AccessToken != "" && a.AccessToken == params["oauth_token"]
	})
	switch {
	case params["oauth_consumer_key"] != s.opts.ConsumerKey:
		return Account{}, fmt.Errorf("oauth_consumer_key %q is not the configured consumer key", params["oauth_consumer_key"])
	case i < 0:
		return Account{}, fmt.Errorf("oauth_token %q is not the access token of a support account", params["oauth_token"])
	case params["oauth_signature_method"] != "HMAC-SHA1":
		return Account{}, fmt.Errorf("oauth_signature_method %q is not HMAC-SHA1", params["oauth_signature_method"])
	case params["oauth_version"] != "" && params["oauth_version"] != "1.0":
		return Account{}, fmt.Errorf("oauth_version %q is not 1.0", params["oauth_version"])
	case params["oauth_timestamp"] == "" || params["oauth_nonce"] == "":
		return Account{}, fmt.Errorf("oauth_timestamp and oauth_nonce are required")
	}
	got := params["oauth_signature"]
	if got == "" {
		return Account{}, fmt.Errorf("no oauth_signature")
	}

	// Every parameter of the request takes part: the OAuth ones (less the
	// signature and realm), the query and a form-encoded body. A JSON body
	// does not.
	all := url.Values{}
	for k, v := range params {
		if k != "oauth_signature" && k != "realm" {
			all.Add(k, v)
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Account{}, fmt.Errorf("unparsable query: %w", err)
	}
	for k, vs := range q {
		all[k] = append(all[k], vs...)
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return Account{}, fmt.Errorf("unparsable form body: %w", err)
		}
		for k, vs := range form {
			all[k] = append(all[k], vs...)
		}
	}

	key := percentEncode(s.opts.ConsumerSecret) + "&" + percentEncode(accounts[i].AccessTokenSecret)
	var tried []string
	// X is reached over https, but the simulator over plain http: accept a
	// signature made for either scheme.
	for _, scheme := range []string{"http", "https"} {
		base := signatureBaseString(r.Method, baseURL(scheme, r.Host, r.URL.EscapedPath()), all)
		if subtle.ConstantTimeCompare([]byte(hmacSHA1Base64(key, base)), []byte(got)) == 1 {
			return accounts[i], nil
		}
		tried = append(tried, base)
	}
	return Account{}, fmt.Errorf("OAuth 1.0a signature does not verify (expected base string %q)", tried[0])
}

// parseOAuthHeader parses the parameters of an `Authorization: OAuth ...`
// header (without the scheme), percent-decoding their values.
func parseOAuthHeader(h string) (map[string]string, error) {
	params := map[string]string{}
	for part := range strings.SplitSeq(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("malformed OAuth parameter %q", part)
		}
		v = strings.TrimSpace(v)
		if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, fmt.Errorf("OAuth parameter %s is not quoted", k)
		}
		dk, err1 := url.PathUnescape(strings.TrimSpace(k))
		dv, err2 := url.PathUnescape(v[1 : len(v)-1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("OAuth parameter %s is not percent-encoded properly", k)
		}
		params[dk] = dv
	}
	return params, nil
}

// baseURL is the base string URI of RFC 5849 section 3.4.1.2: lowercase
// scheme and host, default port omitted, no query.
func baseURL(scheme, host, path string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	}
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// signatureBaseString builds the signature base string of RFC 5849 section
// 3.4.1 from the method, the base string URI and all request parameters.
func signatureBaseString(method, uri string, params url.Values) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, kv{percentEncode(k), percentEncode(v)})
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
		norm.WriteString(p.k + "=" + p.v)
	}
	return strings.ToUpper(method) + "&" + percentEncode(uri) + "&" + percentEncode(norm.String())
}

func hmacSHA1Base64(key, msg string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// percentEncode encodes s as RFC 5849 section 3.6 requires: every byte but
// the unreserved characters (ALPHA, DIGIT, '-', '.', '_', '~') as %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
