package xsim

import (
	"net/http"
	"strings"
)

// usersMe answers GET /2/users/me: the authenticated (support) account.
func (s *Server) usersMe(x *exchange) {
	s.lookupUsers(x, "id", []string{x.me}, true, false)
}

// userByID answers GET /2/users/{id}.
func (s *Server) userByID(x *exchange) {
	s.lookupUsers(x, "id", []string{x.route.params["id"]}, true, false)
}

// usersByIDs answers GET /2/users?ids=.
func (s *Server) usersByIDs(x *exchange) {
	s.lookupUsers(x, "ids", queryList(x.r, "ids"), false, false)
}

// userByUsername answers GET /2/users/by/username/{username}.
func (s *Server) userByUsername(x *exchange) {
	s.lookupUsers(x, "username", []string{x.route.params["username"]}, true, true)
}

func (s *Server) lookupUsers(x *exchange, param string, keys []string, single, byName bool) {
	uf := fieldsOf(x.r, "user.fields")
	var data, errs []any
	s.mu.Lock()
	for _, k := range keys {
		var u *userRec
		if byName {
			u = s.userByNameLocked(strings.TrimPrefix(k, "@"))
		} else {
			u = s.users[k]
		}
		if u == nil {
			errs = append(errs, notFound("user", param, k))
			continue
		}
		data = append(data, s.userJSONLocked(u, uf))
	}
	s.mu.Unlock()
	resp := map[string]any{}
	switch {
	case single && len(data) == 1:
		resp["data"] = data[0]
	case len(data) > 0:
		resp["data"] = data
	}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	writeJSON(x.w, http.StatusOK, resp)
}
