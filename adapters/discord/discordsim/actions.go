package discordsim

import (
	"slices"
	"strings"
)

// UserMessage is a message a member posts with PostAsUserMessage.
type UserMessage struct {
	Content     string
	ReplyTo     string       // id of a message of the same channel to reply to
	Attachments []Attachment // Filename, ContentType and Data are used
}

// PostAsUser makes member userID post content in a channel or thread and
// dispatches MESSAGE_CREATE. It returns the new message's id ("" when the
// simulator was misused; see Violations).
func (s *Server) PostAsUser(userID, channelID, content string) (messageID string) {
	return s.PostAsUserMessage(userID, channelID, UserMessage{Content: content})
}

// PostAsUserMessage is PostAsUser with a reply and attachments.
func (s *Server) PostAsUserMessage(userID, channelID string, um UserMessage) (messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.userActionLocked("PostAsUser", userID, channelID)
	if !ok {
		return ""
	}
	switch {
	case c.Type == ChannelForum || c.Type == ChannelCategory:
		s.violationLocked("sim: PostAsUser in channel %s, which is not a text channel or thread", channelID)
		return ""
	case c.isThread() && c.Locked:
		s.violationLocked("sim: PostAsUser in locked thread %s", channelID)
		return ""
	case strings.TrimSpace(um.Content) == "" && len(um.Attachments) == 0:
		s.violationLocked("sim: PostAsUser with an empty message")
		return ""
	}
	m := s.newMessageLocked(c, userID)
	m.Content = um.Content
	if um.ReplyTo != "" {
		if c.live(um.ReplyTo) == nil {
			s.violationLocked("sim: PostAsUser replying to unknown message %s", um.ReplyTo)
			return ""
		}
		m.ReferenceID = um.ReplyTo
		m.Type = messageReply
	}
	files := make([]*upload, 0, len(um.Attachments))
	for i, a := range um.Attachments {
		files = append(files, &upload{index: i, filename: a.Filename, contentType: a.ContentType, data: a.Data})
	}
	s.applyPayloadLocked(c, m, &messagePayload{}, files, false)
	s.postLocked(c, m)
	return m.ID
}

// userActionLocked checks the member and channel of a simulated action.
func (s *Server) userActionLocked(what, userID, channelID string) (*channel, bool) {
	c := s.channels[channelID]
	switch {
	case s.members[userID] == nil:
		s.violationLocked("sim: %s by unknown member %s (AddMember first)", what, userID)
		return nil, false
	case c == nil:
		s.violationLocked("sim: %s in unknown channel %s", what, channelID)
		return nil, false
	}
	return c, true
}

// userMessageLocked finds a live message for a simulated action.
func (s *Server) userMessageLocked(what, userID, channelID, messageID string) (*channel, *message) {
	c, ok := s.userActionLocked(what, userID, channelID)
	if !ok {
		return nil, nil
	}
	m := c.live(messageID)
	if m == nil || m.Ephemeral {
		s.violationLocked("sim: %s on unknown message %s in %s", what, messageID, channelID)
		return nil, nil
	}
	return c, m
}

// EditAsUser makes userID edit their message and dispatches MESSAGE_UPDATE.
func (s *Server) EditAsUser(userID, channelID, messageID, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.userMessageLocked("EditAsUser", userID, channelID, messageID)
	if m == nil {
		return
	}
	if m.AuthorID != userID {
		s.violationLocked("sim: EditAsUser: %s cannot edit message %s by %s", userID, messageID, m.AuthorID)
		return
	}
	m.Content = content
	m.Edited = true
	m.editedAt = s.now()
	s.dispatchMessageLocked("MESSAGE_UPDATE", c, m)
}

// DeleteAsUser makes userID delete a message and dispatches MESSAGE_DELETE.
// Any member may delete any message, as a moderator could.
func (s *Server) DeleteAsUser(userID, channelID, messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.userMessageLocked("DeleteAsUser", userID, channelID, messageID)
	if m == nil {
		return
	}
	s.deleteLocked(c, m)
}

// React makes userID react with emoji (a unicode emoji, or "name:id") and
// dispatches MESSAGE_REACTION_ADD.
func (s *Server) React(userID, channelID, messageID, emoji string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.userMessageLocked("React", userID, channelID, messageID)
	if m == nil {
		return
	}
	if !s.reactLocked(c, m, userID, emoji) {
		s.violationLocked("sim: React: message %s has 20 emoji already", messageID)
	}
}

// Unreact removes userID's reaction and dispatches MESSAGE_REACTION_REMOVE.
func (s *Server) Unreact(userID, channelID, messageID, emoji string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m := s.userMessageLocked("Unreact", userID, channelID, messageID)
	if m == nil {
		return
	}
	s.unreactLocked(c, m, userID, emoji)
}

// Reactors returns who reacted to a message with emoji.
func (s *Server) Reactors(channelID, messageID, emoji string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil || c.byID[messageID] == nil {
		return nil
	}
	for _, r := range c.byID[messageID].reactions {
		if r.emoji == emoji {
			return slices.Clone(r.users)
		}
	}
	return nil
}
