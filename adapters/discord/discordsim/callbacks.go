package discordsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// callbackBody is an interaction response.
type callbackBody struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
}

// callbackTypes lists the answers Discord accepts for each interaction type.
var callbackTypes = map[int][]int{
	interactionPing:         {CallbackPong},
	interactionCommand:      {CallbackChannelMessageWithSource, CallbackDeferredChannelMessage, CallbackModal},
	interactionComponent:    {CallbackChannelMessageWithSource, CallbackDeferredChannelMessage, CallbackDeferredUpdateMessage, CallbackUpdateMessage, CallbackModal},
	interactionAutocomplete: {CallbackAutocompleteResult},
	interactionModal:        {CallbackChannelMessageWithSource, CallbackDeferredChannelMessage, CallbackDeferredUpdateMessage, CallbackUpdateMessage},
}

// answerError is why an interaction answer is refused.
type answerError struct {
	status    int
	code      int
	message   string
	form      *formError
	violation string
}

// answerLocked applies the app's answer to in.
func (s *Server) answerLocked(in *interaction, cb callbackBody) *answerError {
	if !in.answered && !in.expired && time.Since(in.delivered) > s.opts.InteractionTimeout {
		s.expireLocked(in)
	}
	switch {
	case in.expired:
		return &answerError{status: http.StatusNotFound, code: 10062, message: "Unknown interaction",
			violation: fmt.Sprintf("answer to interaction %s after its %v ran out", in.id, s.opts.InteractionTimeout)}
	case in.answered:
		return &answerError{status: http.StatusBadRequest, code: 40060, message: "Interaction has already been acknowledged.",
			violation: "interaction " + in.id + " answered twice"}
	case !slices.Contains(callbackTypes[in.typ], cb.Type):
		fe := &formError{}
		fe.add([]string{"type"}, "INTERACTION_CALLBACK_TYPE_INVALID",
			fmt.Sprintf("Callback type %d is not valid for an interaction of type %d.", cb.Type, in.typ))
		return &answerError{form: fe}
	}
	c := s.channels[in.channelID]
	var p messagePayload
	if present(cb.Data) {
		_ = json.Unmarshal(cb.Data, &p)
	}
	switch cb.Type {
	case CallbackChannelMessageWithSource, CallbackUpdateMessage:
		if fe := p.check(callbackFlags); fe != nil {
			for i := range fe.problems {
				fe.problems[i].path = append([]string{"data"}, fe.problems[i].path...)
			}
			return &answerError{form: fe}
		}
	}
	switch cb.Type {
	case CallbackChannelMessageWithSource:
		if p.empty(0) {
			return &answerError{status: http.StatusBadRequest, code: 50006, message: "Cannot send an empty message",
				violation: "interaction answer with an empty message"}
		}
		m := s.responseMessageLocked(c, in, p.Flags)
		s.applyPayloadLocked(c, m, &p, nil, false)
		s.postLocked(c, m)
		in.originalID = m.ID
	case CallbackDeferredChannelMessage:
		m := s.responseMessageLocked(c, in, p.Flags)
		m.Flags |= FlagLoading
		s.postLocked(c, m)
		in.originalID = m.ID
	case CallbackDeferredUpdateMessage:
		in.originalID = in.messageID
	case CallbackUpdateMessage:
		m := c.byID[in.messageID]
		if m == nil || m.Deleted {
			return &answerError{status: http.StatusNotFound, code: 10008, message: "Unknown Message"}
		}
		p.Flags = nil // an update keeps the message's flags
		s.applyPayloadLocked(c, m, &p, nil, true)
		m.Edited, m.editedAt = true, s.now()
		if !m.Ephemeral {
			s.dispatchMessageLocked("MESSAGE_UPDATE", c, m)
		}
		in.originalID = m.ID
		in.originalEdited = true
	}
	in.answered = true
	in.cbType = cb.Type
	in.cbData = slices.Clone(cb.Data)
	close(in.answeredCh)
	return nil
}

// responseMessageLocked makes the message of an interaction answer or
// follow-up (not yet stored).
func (s *Server) responseMessageLocked(c *channel, in *interaction, flags *int) *message {
	m := s.newMessageLocked(c, s.opts.BotUserID)
	m.Bot = true
	m.webhookID = s.opts.AppID
	m.inter = in
	m.InteractionID = in.id
	if in.typ == interactionCommand {
		m.Type = messageChatInput
	}
	if flags != nil {
		m.Flags = *flags & callbackFlags
		m.Ephemeral = *flags&FlagEphemeral != 0
	}
	return m
}

// interactionCallback serves POST /interactions/{interaction_id}/{interaction_token}/callback.
func (s *Server) interactionCallback(x *exchange) {
	var cb callbackBody
	x.decode(&cb)
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactions[x.param("interaction_id")]
	if in == nil || in.token != x.param("interaction_token") {
		x.refuse(http.StatusNotFound, 10062, "Unknown interaction", "callback for an unknown interaction or with a wrong token")
		return
	}
	if ae := s.answerLocked(in, cb); ae != nil {
		ae.send(x)
		return
	}
	if q := x.r.URL.Query().Get("with_response"); q == "true" || q == "1" {
		res := obj{"type": cb.Type}
		if c := s.channels[in.channelID]; c != nil {
			if m := c.byID[in.originalID]; m != nil && cb.Type != CallbackDeferredUpdateMessage {
				res["message"] = s.messageJSONLocked(c, m, renderOpts{})
			}
		}
		x.reply(http.StatusOK, obj{
			"interaction": obj{"id": in.id, "type": in.typ, "activity_instance_id": nil,
				"response_message_id": nilIfEmpty(in.originalID), "response_message_loading": cb.Type == CallbackDeferredChannelMessage,
				"response_message_ephemeral": false},
			"resource": res,
		})
		return
	}
	x.noContent()
}

func (ae *answerError) send(x *exchange) {
	if ae.form != nil {
		x.invalid(ae.form)
		return
	}
	x.refuse(ae.status, ae.code, ae.message, ae.violation)
}

// tokenInteractionLocked finds the interaction a webhook route's token
// belongs to, or answers why it cannot be used.
func (s *Server) tokenInteractionLocked(x *exchange) *interaction {
	if x.param("webhook_id") != s.opts.AppID {
		x.refuse(http.StatusNotFound, 10015, "Unknown Webhook", "webhook "+x.param("webhook_id")+" is not the application's (only interaction tokens are simulated)")
		return nil
	}
	var in *interaction
	for _, x2 := range s.interactions {
		if x2.token == x.param("webhook_token") {
			in = x2
		}
	}
	switch {
	case in == nil:
		x.refuse(http.StatusNotFound, 10015, "Unknown Webhook", "unknown interaction token")
		return nil
	case s.now().Sub(in.created) > tokenLifetime:
		x.refuse(http.StatusUnauthorized, 50027, "Invalid Webhook Token", "interaction token used after 15 minutes")
		return nil
	case !in.answered:
		x.refuse(http.StatusNotFound, 10015, "Unknown Webhook", "follow-up or edit before the interaction was answered")
		return nil
	}
	return in
}

// followUpCreate serves POST /webhooks/{application_id}/{interaction_token}:
// a follow-up message. After a deferred answer (type 5) the first one
// replaces the "thinking" message, as on Discord.
func (s *Server) followUpCreate(x *exchange) {
	var p messagePayload
	x.decode(&p)
	if !checkFiles(x) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.tokenInteractionLocked(x)
	if in == nil {
		return
	}
	c := s.channels[in.channelID]
	if fe := p.check(callbackFlags); fe != nil {
		x.invalid(fe)
		return
	}
	if p.empty(len(x.files)) {
		x.refuse(http.StatusBadRequest, 50006, "Cannot send an empty message", "empty follow-up")
		return
	}
	if m := c.byID[in.originalID]; m != nil && m.Flags&FlagLoading != 0 && !m.Deleted {
		p.Flags = nil
		s.applyPayloadLocked(c, m, &p, x.files, false)
		m.Flags &^= FlagLoading
		m.Edited, m.editedAt = true, s.now()
		in.originalEdited = true
		in.followUps = append(in.followUps, m.ID)
		if !m.Ephemeral {
			s.dispatchMessageLocked("MESSAGE_UPDATE", c, m)
		}
		in.signal()
		x.reply(http.StatusOK, s.messageJSONLocked(c, m, renderOpts{}))
		return
	}
	m := s.responseMessageLocked(c, in, p.Flags)
	s.applyPayloadLocked(c, m, &p, x.files, false)
	s.postLocked(c, m)
	in.followUps = append(in.followUps, m.ID)
	in.signal()
	x.reply(http.StatusOK, s.messageJSONLocked(c, m, renderOpts{}))
}

// webhookMessageLocked resolves @original or a follow-up's id.
func (s *Server) webhookMessageLocked(x *exchange) (*interaction, *channel, *message) {
	in := s.tokenInteractionLocked(x)
	if in == nil {
		return nil, nil, nil
	}
	c := s.channels[in.channelID]
	id, ok := x.rt.params["message_id"]
	if !ok {
		id = in.originalID
	} else if id != in.originalID && !slices.Contains(in.followUps, id) {
		id = ""
	}
	m := c.byID[id]
	if id == "" || m == nil || m.Deleted {
		x.refuse(http.StatusNotFound, 10008, "Unknown Message", "")
		return nil, nil, nil
	}
	return in, c, m
}

// webhookMessageGet serves GET /webhooks/{application_id}/{token}/messages/{@original|id}.
func (s *Server) webhookMessageGet(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, c, m := s.webhookMessageLocked(x); m != nil {
		x.reply(http.StatusOK, s.messageJSONLocked(c, m, renderOpts{}))
	}
}

// webhookMessageEdit serves PATCH /webhooks/{application_id}/{token}/messages/{@original|id}.
func (s *Server) webhookMessageEdit(x *exchange) {
	var p messagePayload
	x.decode(&p)
	if !checkFiles(x) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, c, m := s.webhookMessageLocked(x)
	if m == nil {
		return
	}
	if fe := p.check(callbackFlags); fe != nil {
		x.invalid(fe)
		return
	}
	p.Flags = nil
	if m.ID == in.originalID {
		in.originalEdited = true
	}
	s.editLocked(x, c, m, &p)
	in.signal()
}

// webhookMessageDelete serves DELETE /webhooks/{application_id}/{token}/messages/{@original|id}.
func (s *Server) webhookMessageDelete(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, c, m := s.webhookMessageLocked(x); m != nil {
		s.deleteLocked(c, m)
		x.noContent()
	}
}
