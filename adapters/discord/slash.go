package discord

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/commands"
)

// slashName is the slash command: /xb <command> [options].
const slashName = "xb"

// ticketOption is the option that names the conversation outside its
// thread.
const ticketOption = "ticket"

// Discord's limits on application commands.
const (
	maxSubcommands = 25
	maxOptions     = 25
	maxChoices     = 25
	maxOptionText  = 100
)

// RegisterCommands registers the /xb slash command in the guild, with one
// subcommand per command of the processor given to SetCommands, by a bulk
// overwrite: registering again replaces the definition, so a restart never
// duplicates it and a new command appears without Discord-specific code.
func (a *Adapter) RegisterCommands(ctx context.Context) error {
	cs := a.loadCommands()
	if cs == nil {
		return errors.New("discord: SetCommands must come before RegisterCommands")
	}
	defs, left := slashCommands(cs.p)
	if len(left) > 0 {
		a.logger.Warn("discord slash command has room for 25 subcommands; left out", "commands", strings.Join(left, ", "))
	}
	_, err := a.session.ApplicationCommandBulkOverwrite(a.cfg.AppID, a.cfg.GuildID, defs, discordgo.WithContext(ctx))
	if err == nil {
		a.logger.Info("discord slash command registered", "command", "/"+slashName, "subcommands", len(defs[0].Options))
		return nil
	}
	switch code := statusOf(err); code {
	case 401:
		return a.checkError("PUT commands", err)
	case 403, 404:
		return fmt.Errorf("discord: cannot register /%s in server %s (HTTP %d): check discord.app_id (XBRIDGE_DISCORD_APP_ID) and that the app was invited with the applications.commands scope", slashName, a.cfg.GuildID, code)
	case 400:
		var re *discordgo.RESTError
		if errors.As(err, &re) {
			return fmt.Errorf("discord: /%s refused: %s", slashName, refusal(re))
		}
	}
	return fmt.Errorf("discord: register /%s: %s", slashName, redact(err, a.cfg.Token))
}

// slashCommands generates the /xb command from the processor's commands:
// one subcommand each but the hidden ones, in order, with an option per parameter (a mention
// is a user option, choices are choices, everything else a string) and a
// ticket option when the command acts on a conversation. It also returns
// the commands left out beyond Discord's 25 subcommands.
func slashCommands(p *commands.Processor) ([]*discordgo.ApplicationCommand, []string) {
	var subs []*discordgo.ApplicationCommandOption
	var left []string
	for _, c := range p.Commands {
		if c.Hidden {
			continue // run by the buttons of replies, not typed
		}
		if len(subs) == maxSubcommands || !validName(c.Name) {
			left = append(left, c.Name)
			continue
		}
		subs = append(subs, subcommand(c))
	}
	return []*discordgo.ApplicationCommand{{
		Type:        discordgo.ChatApplicationCommand,
		Name:        slashName,
		Description: "Work X conversations: claim, tag, reply, close and more.",
		Options:     subs,
	}}, left
}

// subcommand is the definition of one command.
func subcommand(c *commands.Command) *discordgo.ApplicationCommandOption {
	sub := &discordgo.ApplicationCommandOption{
		Type:        discordgo.ApplicationCommandOptionSubCommand,
		Name:        c.Name,
		Description: description(c.Summary, c.Name),
	}
	names := optionNames(c)
	var required, optional []*discordgo.ApplicationCommandOption
	for i, prm := range c.Params {
		o := paramOption(prm, names[i])
		if o.Required {
			required = append(required, o)
		} else {
			optional = append(optional, o)
		}
	}
	// Discord wants required options first.
	sub.Options = append(required, optional...)
	if c.NeedsConversation {
		sub.Options = append(sub.Options, &discordgo.ApplicationCommandOption{
			Type:        discordgo.ApplicationCommandOptionString,
			Name:        ticketOption,
			Description: "Ticket number, e.g. 42; not needed in the conversation's thread",
		})
	}
	if len(sub.Options) > maxOptions {
		sub.Options = sub.Options[:maxOptions]
	}
	return sub
}

// paramOption is the option of one parameter.
func paramOption(prm commands.Param, name string) *discordgo.ApplicationCommandOption {
	o := &discordgo.ApplicationCommandOption{
		Type:     discordgo.ApplicationCommandOptionString,
		Name:     name,
		Required: !prm.Optional,
	}
	switch prm.Kind {
	case commands.ArgUser:
		o.Type = discordgo.ApplicationCommandOptionUser
		o.Description = "Who"
	case commands.ArgChoice:
		o.Description = "One of " + strings.Join(prm.Choices, ", ")
		if len(prm.Choices) <= maxChoices {
			for _, ch := range prm.Choices {
				o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: capitalize(ch), Value: ch})
			}
		}
	case commands.ArgTag:
		o.Description = "A tag"
		if prm.Variadic {
			o.Description = "One or more tags, separated by spaces"
		}
	case commands.ArgText:
		o.Description = "Text, as it should read"
	default:
		o.Description = capitalize(strings.Trim(prm.Name, "<>@ "))
		if prm.Variadic {
			o.Description += "; several separated by spaces"
		}
	}
	o.Description = description(o.Description, name)
	return o
}

// optionRE matches what Discord accepts as an option name.
var optionRE = regexp.MustCompile(`^[-_\p{Ll}\p{N}]{1,32}$`)

func validName(s string) bool { return optionRE.MatchString(s) }

// optionNames gives each parameter of c an option name Discord accepts,
// unique and not the ticket option's: "@user" → "user", "on|off" →
// "on-off".
func optionNames(c *commands.Command) []string {
	names := make([]string, len(c.Params))
	used := map[string]bool{ticketOption: c.NeedsConversation}
	for i, prm := range c.Params {
		base := optionName(prm.Name)
		name := base
		for n := 2; used[name]; n++ {
			name = truncateName(base, fmt.Sprintf("-%d", n))
		}
		used[name] = true
		names[i] = name
	}
	return names
}

// optionName turns a parameter name into an option name.
func optionName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) && unicode.IsLower(r) || unicode.IsDigit(r) || r == '_' || r == '-' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		name = "value"
	}
	return truncate(name, 32)
}

// truncateName appends suffix to base within 32 characters.
func truncateName(base, suffix string) string {
	r := []rune(base)
	if len(r)+len(suffix) > 32 {
		r = r[:32-len(suffix)]
	}
	return string(r) + suffix
}

// description is s fit for a description (1 to 100 characters), or
// fallback.
func description(s, fallback string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		s = fallback
	}
	return truncate(s, maxOptionText)
}

// errBadTicket is a ticket option that names no ticket.
var errBadTicket = errors.New("`ticket` must be a ticket number, e.g. `42`.")

// slashText turns an /xb invocation back into command text, with the
// ticket option apart: "tag billing refund" and 42.
func slashText(p *commands.Processor, data discordgo.ApplicationCommandInteractionData) (text string, ticket int64, err error) {
	if len(data.Options) == 0 {
		return "", 0, nil // "/xb" alone, should Discord ever send it
	}
	sub := data.Options[0]
	if sub.Type != discordgo.ApplicationCommandOptionSubCommand {
		return "", 0, errors.New("Choose a command, e.g. `/xb help`.")
	}
	c := p.Lookup(sub.Name)
	if c == nil {
		return sub.Name, 0, nil // the processor names the unknown command
	}
	find := func(name string) *discordgo.ApplicationCommandInteractionDataOption {
		for _, o := range sub.Options {
			if o.Name == name {
				return o
			}
		}
		return nil
	}
	parts := []string{c.Name}
	for i, name := range optionNames(c) {
		o := find(name)
		if o == nil {
			continue
		}
		v := optionString(o.Value)
		if strings.TrimSpace(v) == "" {
			continue
		}
		switch c.Params[i].Kind {
		case commands.ArgUser:
			if isSnowflake(v) {
				v = "<@" + v + ">"
			}
		case commands.ArgWord:
			v = quoteWord(v)
		}
		parts = append(parts, v)
	}
	if o := find(ticketOption); o != nil && c.NeedsConversation {
		if ticket = commands.TicketNumber(optionString(o.Value)); ticket == 0 {
			return "", 0, errBadTicket
		}
	}
	return strings.Join(parts, " "), ticket, nil
}

// optionString renders an option's value as text.
func optionString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// quoteWord quotes a one-word argument typed with spaces, "refund policy",
// so the processor reads it as one.
func quoteWord(v string) string {
	v = strings.TrimSpace(v)
	if strings.IndexFunc(v, unicode.IsSpace) < 0 || strings.ContainsAny(v, "\"“”") {
		return v
	}
	return `"` + v + `"`
}
