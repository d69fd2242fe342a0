package discordsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Discord's message limits that the API description does not carry (it
// allows 4,000 characters of content, the limit of Nitro users; bots get
// 2,000) or cannot express (the 6,000 characters of all embeds together,
// unique custom ids, the width of action rows).
const (
	maxContent          = 2000
	maxEmbeds           = 10
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxEmbedFields      = 25
	maxFieldName        = 256
	maxFieldValue       = 1024
	maxFooterText       = 2048
	maxAuthorName       = 256
	maxEmbedTotal       = 6000
	maxActionRows       = 5
	maxRowButtons       = 5
	maxCustomID         = 100
	maxButtonLabel      = 80
	maxReactions        = 20
	maxAllowedMentions  = 100
)

// messagePayload is the part of a message create/edit body the simulator
// interprets.
type messagePayload struct {
	Content          *string          `json:"content"`
	Embeds           json.RawMessage  `json:"embeds"`
	Components       json.RawMessage  `json:"components"`
	AllowedMentions  json.RawMessage  `json:"allowed_mentions"`
	MessageReference *messageRef      `json:"message_reference"`
	Flags            *int             `json:"flags"`
	StickerIDs       []string         `json:"sticker_ids"`
	Attachments      []attachmentMeta `json:"attachments"`
	Poll             json.RawMessage  `json:"poll"`
	Nonce            json.RawMessage  `json:"nonce"`
	EnforceNonce     bool             `json:"enforce_nonce"`
}

type messageRef struct {
	Type            int    `json:"type"`
	MessageID       string `json:"message_id"`
	ChannelID       string `json:"channel_id"`
	FailIfNotExists *bool  `json:"fail_if_not_exists"`
}

type attachmentMeta struct {
	ID          json.RawMessage `json:"id"` // the files[n] index for new files, a snowflake for kept ones
	Filename    string          `json:"filename"`
	Description string          `json:"description"`
}

// present reports whether a JSON member was sent and is not null.
func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// empty reports whether the payload has nothing to show.
func (p *messagePayload) empty(files int) bool {
	return (p.Content == nil || *p.Content == "") && !nonEmptyArray(p.Embeds) &&
		!nonEmptyArray(p.Components) && files == 0 && len(p.StickerIDs) == 0 && !present(p.Poll)
}

func nonEmptyArray(raw json.RawMessage) bool {
	var a []json.RawMessage
	return present(raw) && json.Unmarshal(raw, &a) == nil && len(a) > 0
}

// check applies Discord's limits to the parts of p that are present.
// allowedFlags lists the flags the endpoint accepts.
func (p *messagePayload) check(allowedFlags int) *formError {
	fe := &formError{}
	if p.Content != nil {
		if n := utf8.RuneCountInString(*p.Content); n > maxContent {
			fe.add([]string{"content"}, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxContent))
		}
	}
	if present(p.Embeds) {
		checkEmbeds(fe, p.Embeds)
	}
	v2 := p.Flags != nil && *p.Flags&flagCompV2 != 0
	if present(p.Components) && !v2 {
		checkComponents(fe, p.Components)
	}
	if present(p.AllowedMentions) {
		checkAllowedMentions(fe, p.AllowedMentions)
	}
	if p.Flags != nil && *p.Flags&^allowedFlags != 0 {
		fe.add([]string{"flags"}, "MESSAGE_FLAGS_INVALID",
			fmt.Sprintf("Flags %d are not allowed here (allowed: %d).", *p.Flags&^allowedFlags, allowedFlags))
	}
	if len(fe.problems) == 0 {
		return nil
	}
	return fe
}

type embedFields struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Fields      []struct {
		Name  *string `json:"name"`
		Value *string `json:"value"`
	} `json:"fields"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Author *struct {
		Name string `json:"name"`
	} `json:"author"`
}

func checkEmbeds(fe *formError, raw json.RawMessage) {
	var embeds []embedFields
	if json.Unmarshal(raw, &embeds) != nil {
		return // the schema check has refused it
	}
	if len(embeds) > maxEmbeds {
		fe.add([]string{"embeds"}, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxEmbeds))
	}
	tooLong := func(path []string, s string, max int) int {
		n := utf8.RuneCountInString(s)
		if n > max {
			fe.add(path, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", max))
		}
		return n
	}
	total := 0
	for i, e := range embeds {
		at := func(rest ...string) []string { return append([]string{"embeds", strconv.Itoa(i)}, rest...) }
		total += tooLong(at("title"), e.Title, maxEmbedTitle)
		total += tooLong(at("description"), e.Description, maxEmbedDescription)
		if len(e.Fields) > maxEmbedFields {
			fe.add(at("fields"), "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxEmbedFields))
		}
		for j, f := range e.Fields {
			fat := func(k string) []string { return at("fields", strconv.Itoa(j), k) }
			if f.Name == nil || *f.Name == "" {
				fe.add(fat("name"), "BASE_TYPE_REQUIRED", "This field is required")
			} else {
				total += tooLong(fat("name"), *f.Name, maxFieldName)
			}
			if f.Value == nil || *f.Value == "" {
				fe.add(fat("value"), "BASE_TYPE_REQUIRED", "This field is required")
			} else {
				total += tooLong(fat("value"), *f.Value, maxFieldValue)
			}
		}
		if e.Footer != nil {
			total += tooLong(at("footer", "text"), e.Footer.Text, maxFooterText)
		}
		if e.Author != nil {
			total += tooLong(at("author", "name"), e.Author.Name, maxAuthorName)
		}
	}
	if total > maxEmbedTotal {
		fe.add([]string{"embeds"}, "MAX_EMBED_SIZE_EXCEEDED", fmt.Sprintf("Embed size exceeds maximum size of %d", maxEmbedTotal))
	}
}

type component struct {
	Type       int         `json:"type"`
	Style      int         `json:"style"`
	CustomID   *string     `json:"custom_id"`
	Label      string      `json:"label"`
	URL        string      `json:"url"`
	SKUID      string      `json:"sku_id"`
	Disabled   bool        `json:"disabled"`
	Components []component `json:"components"`
	Accessory  *component  `json:"accessory"`
}

// Component types.
const (
	componentActionRow = 1
	componentButton    = 2
	buttonLink         = 5
	buttonPremium      = 6
)

func checkComponents(fe *formError, raw json.RawMessage) {
	var rows []component
	if json.Unmarshal(raw, &rows) != nil {
		return
	}
	if len(rows) > maxActionRows {
		fe.add([]string{"components"}, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxActionRows))
	}
	seen := map[string]bool{}
	for i, row := range rows {
		at := func(rest ...string) []string { return append([]string{"components", strconv.Itoa(i)}, rest...) }
		if row.Type != componentActionRow {
			fe.add(at("type"), "UNION_TYPE_CHOICES", `Value of field "type" must be one of (1,) without the IS_COMPONENTS_V2 flag.`)
			continue
		}
		if len(row.Components) == 0 {
			fe.add(at("components"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
		}
		width := 0
		for j, c := range row.Components {
			cat := func(k string) []string { return at("components", strconv.Itoa(j), k) }
			if c.Type == componentButton {
				width++
				if utf8.RuneCountInString(c.Label) > maxButtonLabel {
					fe.add(cat("label"), "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxButtonLabel))
				}
				switch c.Style {
				case buttonLink:
					if c.URL == "" {
						fe.add(cat("url"), "BASE_TYPE_REQUIRED", "This field is required")
					}
					if c.CustomID != nil {
						fe.add(cat("custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED", "A link button cannot have a custom_id.")
					}
					continue
				case buttonPremium:
					continue
				}
				if c.CustomID == nil || *c.CustomID == "" {
					fe.add(cat("custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
					continue
				}
			} else {
				width += maxRowButtons // a select menu fills its row
			}
			if c.CustomID != nil {
				id := *c.CustomID
				if utf8.RuneCountInString(id) > maxCustomID {
					fe.add(cat("custom_id"), "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxCustomID))
				}
				if seen[id] {
					fe.add(cat("custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
				}
				seen[id] = true
			}
		}
		if width > maxRowButtons {
			fe.add(at("components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
		}
	}
}

func checkAllowedMentions(fe *formError, raw json.RawMessage) {
	var am struct {
		Parse []string `json:"parse"`
		Users []string `json:"users"`
		Roles []string `json:"roles"`
	}
	if json.Unmarshal(raw, &am) != nil {
		return
	}
	for _, kind := range []struct {
		name string
		ids  []string
	}{{"users", am.Users}, {"roles", am.Roles}} {
		if len(kind.ids) > 0 && slices.Contains(am.Parse, kind.name) {
			fe.add([]string{"allowed_mentions"}, "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
				fmt.Sprintf("parse:[%q] and %s: [...] are mutually exclusive.", kind.name, kind.name))
		}
		if len(kind.ids) > maxAllowedMentions {
			fe.add([]string{"allowed_mentions", kind.name}, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxAllowedMentions))
		}
	}
}

// findButton finds the button with customID in a message's components.
func findButton(raw json.RawMessage, customID string) (component, bool) {
	var rows []component
	if json.Unmarshal(raw, &rows) != nil {
		return component{}, false
	}
	var walk func(cs []component) (component, bool)
	walk = func(cs []component) (component, bool) {
		for _, c := range cs {
			if c.CustomID != nil && *c.CustomID == customID {
				return c, true
			}
			if found, ok := walk(c.Components); ok {
				return found, true
			}
			if c.Accessory != nil {
				if found, ok := walk([]component{*c.Accessory}); ok {
					return found, true
				}
			}
		}
		return component{}, false
	}
	return walk(rows)
}
