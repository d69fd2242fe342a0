package discordsim

import "net/http"

// Direct messages between the bot and a member: POST /users/@me/channels
// opens (or finds) the channel, messages are posted in it as in any
// channel, and a member who does not accept direct messages from server
// members (Member.NoDirectMessages) refuses them with 50007, as Discord
// does. DM channels belong to no guild: they are not listed with the
// guild's channels, their events need the DIRECT_MESSAGES intent, and an
// interaction in one carries its user rather than a member.

// createDM serves POST /users/@me/channels.
func (s *Server) createDM(x *exchange) {
	var p struct {
		RecipientID string `json:"recipient_id"`
	}
	x.decode(&p)
	s.mu.Lock()
	defer s.mu.Unlock()
	mem := s.members[p.RecipientID]
	switch {
	case p.RecipientID == "":
		fe := &formError{}
		fe.add([]string{"recipient_id"}, "BASE_TYPE_REQUIRED", "This field is required")
		x.invalid(fe)
		return
	case mem == nil:
		x.refuse(http.StatusBadRequest, 50033, "Invalid Recipient(s)", "direct message to "+p.RecipientID+", who is no member")
		return
	case mem.Bot:
		x.refuse(http.StatusBadRequest, 50007, "Cannot send messages to this user", "direct message to a bot")
		return
	}
	x.reply(http.StatusOK, s.channelJSONLocked(s.dmChannelLocked(mem.ID)))
}

// dmChannelLocked returns the DM channel with a member, opening it.
func (s *Server) dmChannelLocked(userID string) *channel {
	for _, c := range s.channels {
		if c.Type == ChannelDM && c.RecipientID == userID {
			return c
		}
	}
	c := &channel{Channel: Channel{ID: s.snowflakeLocked(), Type: ChannelDM, RecipientID: userID},
		created: s.now(), byID: map[string]*message{}}
	s.channels[c.ID] = c // not in channelOrder: it is no channel of the guild
	return c
}

// DMChannel returns the id of the DM channel the bot opened with a member.
func (s *Server) DMChannel(userID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.channels {
		if c.Type == ChannelDM && c.RecipientID == userID {
			return c.ID, true
		}
	}
	return "", false
}

// dmChannelJSON is the channel object of a DM channel.
func (s *Server) dmChannelJSON(c *channel) obj {
	return obj{
		"id":              c.ID,
		"type":            ChannelDM,
		"flags":           0,
		"last_message_id": nilIfEmpty(c.lastMessage),
		"recipients":      []obj{s.userLocked(c.RecipientID)},
	}
}
