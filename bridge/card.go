package bridge

// RenderCard builds a conversation's card from its current state.
func RenderCard(conv *Conversation, cust *Customer) Card {
	return Card{
		Ticket:       conv.Ticket(),
		Kind:         conv.Kind,
		Status:       conv.Status,
		Priority:     conv.Priority,
		CustomerName: cust.DisplayName(),
		Handle:       cust.Handle,
		ProfileURL:   cust.ProfileURL(),
		AvatarURL:    cust.AvatarURL,
		Followers:    cust.Followers,
		Verified:     cust.Verified,
		SourceURL:    conv.SourceURL(cust.Handle),
		OpenedAt:     conv.CreatedAt,
		ClosedAt:     conv.ClosedAt,
		PreviousID:   conv.PreviousID,

		ConversationID: conv.ID,
		AssigneeID:     conv.AssigneeID,
		AssigneeName:   conv.AssigneeName,
		Tags:           conv.Tags,
		ClosedByName:   conv.ClosedByName,
		CloseReason:    conv.CloseReason,
		Language:       conv.Language,
		PriorityHint:   conv.PriorityHint,
		Automation:     conv.Automation,
		CSAT:           conv.CSATScore,
	}
}
