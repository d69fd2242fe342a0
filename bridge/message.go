package bridge

import "time"

// Direction tells who a message is from and where it may go.
type Direction string

// Message directions.
const (
	DirectionIn   Direction = "in"   // from the customer
	DirectionOut  Direction = "out"  // an agent's reply to the customer
	DirectionNote Direction = "note" // internal; never reaches the customer
)

// Delivery is the state of an outbound message on X.
type Delivery string

// Delivery states of an outbound message.
const (
	DeliveryNone      Delivery = ""          // inbound messages and notes
	DeliveryScheduled Delivery = "scheduled" // waiting out the send delay or a retry
	DeliverySent      Delivery = "sent"      // X accepted it
	DeliveryFailed    Delivery = "failed"    // X refused it for good
	DeliveryCancelled Delivery = "cancelled" // the agent deleted it in time
	DeliveryRefused   Delivery = "refused"   // never attempted: breaks X's rules
	DeliveryUnknown   Delivery = "unknown"   // a crash hid the outcome; an agent decides
)

// Message is one message of a conversation.
type Message struct {
	ID             int64
	ConversationID int64
	Direction      Direction
	AuthorID       string // X user id (in) or chat user id (out, note)
	AuthorName     string
	Text           string
	XID            string // the X event or tweet id; for "out", the id X returned
	ChatID         string // the chat message id of this message in the thread
	Delivery       Delivery
	DeliveryError  string
	CreatedAt      time.Time
	SentAt         time.Time
	SeenAt         time.Time // the customer read it (X read receipt)
}
