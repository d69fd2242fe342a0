package slacksim

import (
	"encoding/json"
	"io"
	"net/http"
)

// serveResponseURL takes a post to a response_url handed out with a slash
// command or interaction.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodPost {
		s.violation("response_url: %s instead of POST", r.Method)
		writeJSON(w, http.StatusMethodNotAllowed, obj{"ok": false, "error": "invalid_method"}, 0)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ru := s.responseURLs[id]
	if ru == nil {
		s.violationLocked("response_url: unknown url %s", id)
		writeJSON(w, http.StatusNotFound, obj{"ok": false, "error": "expired_url"}, 0)
		return
	}
	resp, ok := parseResponse("response_url", body)
	if !ok {
		s.violationLocked("response_url: empty body")
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": "no_text"}, 0)
		return
	}
	if code := s.applyResponseLocked(ru, resp); code != "" {
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": code}, 0)
		return
	}
	writeJSON(w, http.StatusOK, obj{"ok": true}, 0)
}

// applyResponseLocked records an answer of the app and does what Slack does
// with it: show it ephemerally to the user, post it in the channel, or
// replace or delete the message an interaction came from. It returns an
// error code when Slack would refuse the answer.
func (s *Server) applyResponseLocked(ru *responseURL, r Response) string {
	if runes(r.Text) > maxTextRunes {
		return "msg_too_long"
	}
	var blocks json.RawMessage
	if len(r.Blocks) > 0 && string(r.Blocks) != "null" {
		b, aerr := s.normalizeBlocksLocked(string(r.Blocks))
		if aerr != nil {
			return aerr.code
		}
		blocks = b
	}
	if !r.DeleteOriginal && r.Text == "" && blocks == nil {
		return "no_text"
	}
	s.responses = append(s.responses, r)
	if r.Via == "response_url" {
		ru.responses = append(ru.responses, r)
	}
	ch := s.channels[ru.channel]
	switch {
	case (r.DeleteOriginal || r.ReplaceOriginal) && ru.messageTS != "" && ru.ephemeral:
		list := s.ephemerals[ru.userID]
		for i := range list {
			if list[i].TS != ru.messageTS {
				continue
			}
			if r.DeleteOriginal {
				s.ephemerals[ru.userID] = append(list[:i], list[i+1:]...)
			} else {
				list[i].Text, list[i].Blocks, list[i].Edited = r.Text, blocks, true
			}
			break
		}
	case (r.DeleteOriginal || r.ReplaceOriginal) && ru.messageTS != "":
		m := ch.live(ru.messageTS)
		if m == nil {
			return "message_not_found"
		}
		if r.DeleteOriginal {
			s.deleteLocked(ch, m)
			break
		}
		prev := s.messageJSONLocked(ch, m, renderOpts{})
		m.Text, m.Blocks = r.Text, blocks
		m.Edited, m.editedBy, m.editedTS = true, s.opts.BotUserID, s.newTSLocked()
		s.emitChangedLocked(ch, m, prev)
	case r.DeleteOriginal:
		// Nothing to delete: a slash command has no original message.
	case r.ResponseType == "in_channel":
		thread := r.ThreadTS
		if thread != "" && ch.root(thread) == nil {
			return "thread_not_found"
		}
		m := &message{Message: Message{
			Channel: ch.id, TS: s.newTSLocked(), ThreadTS: thread,
			User: s.opts.BotUserID, BotID: s.opts.BotID, Text: r.Text, Blocks: blocks,
		}, team: s.opts.TeamID}
		ch.addMessage(m)
		s.emitMessageLocked(ch, m)
	default:
		s.ephemerals[ru.userID] = append(s.ephemerals[ru.userID], Message{
			Channel: ch.id, TS: s.newTSLocked(), ThreadTS: r.ThreadTS,
			User: s.opts.BotUserID, BotID: s.opts.BotID, Text: r.Text, Blocks: blocks,
		})
	}
	return ""
}
