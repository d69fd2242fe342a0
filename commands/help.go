package commands

import (
	"fmt"
	"strings"
)

// Help describes the commands someone with roles may run, or, when cmd
// names a command or alias, that command: usage, aliases, example and who
// may run it. cmd may carry the in-thread prefix ("!tag").
func (p *Processor) Help(cmd string, roles []Role) string {
	inv := Invocation{Roles: roles}
	cmd = strings.TrimSpace(cmd)
	if cmd == "" {
		return p.helpList(inv)
	}
	if p.Prefix != "" {
		cmd = strings.TrimPrefix(cmd, p.Prefix)
	}
	c := p.Lookup(cmd)
	if c == nil {
		return p.unknownMessage(cmd, SourceText)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` — %s", c.Usage(), c.Summary)
	if c.Help != "" {
		b.WriteString("\n" + c.Help)
	}
	if len(c.Aliases) > 0 {
		b.WriteString("\nAliases: " + codeList(c.Aliases))
	}
	if c.NeedsConversation {
		fmt.Fprintf(&b, "\nExample: `%s` in the conversation's thread, `%s` anywhere.",
			p.example(c, SourceText, false), p.example(c, SourceSlash, true))
	} else {
		fmt.Fprintf(&b, "\nExample: `%s` or `%s`.", p.example(c, SourceText, false), p.example(c, SourceSlash, false))
	}
	b.WriteString("\nWho: " + whoMay(c))
	if !c.AllowedFor(inv) {
		b.WriteString("\nYou can't run it: " + NeedsRole(c.Name, c.Roles...).Message)
	}
	return b.String()
}

// helpList lists the commands inv may run, one a line.
func (p *Processor) helpList(inv Invocation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Commands you can use: in a conversation's thread start them with `%s`; anywhere, use `%s<command> #ticket`.",
		p.prefixFor(SourceText), p.prefixFor(SourceSlash))
	for _, c := range p.Commands {
		if c.AllowedFor(inv) && !c.Hidden {
			fmt.Fprintf(&b, "\n• `%s` — %s", c.Usage(), c.Summary)
		}
	}
	if !inv.Has(RoleAgent) && !inv.Has(RoleEngineer) {
		b.WriteString("\nThe others need the agent or engineer role; ask a lead.")
	}
	fmt.Fprintf(&b, "\n`%shelp <command>` explains one.", p.prefixFor(SourceText))
	return b.String()
}

// whoMay names the roles that may run c.
func whoMay(c *Command) string {
	if len(c.Roles) == 0 {
		return "everyone"
	}
	var names []string
	for _, r := range c.Roles {
		names = append(names, string(r))
		if r == RoleAgent && !contains(names, string(RoleLead)) {
			names = append(names, string(RoleLead))
		}
	}
	return strings.Join(names, ", ")
}

// unknownMessage answers a name that is no command, suggesting a close one.
func (p *Processor) unknownMessage(name string, src Source) string {
	msg := fmt.Sprintf("Unknown command `%s`.", quoteForMessage(name))
	var names []string
	for _, c := range p.Commands {
		if !c.Hidden {
			names = append(names, c.Name)
			names = append(names, c.Aliases...)
		}
	}
	if s := closest(strings.ToLower(name), names); s != "" {
		msg += fmt.Sprintf(" Did you mean `%s`?", p.Lookup(s).Name)
	}
	return msg + fmt.Sprintf(" Try `%shelp`.", p.prefixFor(src))
}

// closest returns the candidate nearest to s, at most two edits away and
// fewer edits than s has letters; "" when none is. Ties go to the earlier
// candidate.
func closest(s string, candidates []string) string {
	rs := []rune(s)
	best, bestD := "", 3
	for _, c := range candidates {
		rc := []rune(c)
		if d := len(rs) - len(rc); d > 2 || d < -2 {
			continue
		}
		if d := editDistance(rs, rc); d < bestD && d < len(rs) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours cost one.
func editDistance(a, b []rune) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
