// Package commands is xbridge's one command language: claim, assign @u,
// tag a b, priority high, close [reason], … parsed once and the same on
// every platform. Each platform maps its inputs onto it: a slash command
// ("/xb tag billing #42"), in-thread text ("!tag billing"), a button
// (ButtonAction, FromButton) or an emoji reaction (FromReaction). The
// package knows no platform; commands run against an Executor, which the
// domain implements.
//
// Each command is one declarative Command value: name, aliases, parameters,
// help, who may run it (Roles) and a Handler. NewProcessor returns a
// Processor with the built-in commands; Processor.Run parses, checks roles
// and runs, and always answers with a Reply for the caller.
//
// # Parsing rules
//
//   - The text is trimmed. In-thread text (SourceText) must start with the
//     processor's Prefix, which is removed; IsCommand tells in-thread
//     commands from messages. Slash commands arrive without "/xb"; buttons
//     and reactions give bare command text.
//   - Tokens are separated by white space. A token starting with a double
//     quote, straight or curly (" “ ”), runs to the next one and may hold
//     spaces: "refund policy". A token starting with "<" runs to the next
//     ">", so platform markup such as <@U123|Jane Doe> stays one token. A
//     quote or "<" without a partner is an ordinary character; quotes
//     inside a word are ordinary characters.
//   - The first token is the command, by name or alias, in any case. An
//     unknown one is answered "Unknown command `foo`.", with the closest
//     name within two edits.
//   - Arguments bind to the command's Params in order. Tags are lowercased
//     and must match [a-z0-9][a-z0-9_-]{0,31}; choices (priority, on/off)
//     are case-insensitive; mentions are kept exactly as the platform wrote
//     them (Slack <@U123ABC>, <@U123ABC|name>; Discord <@123>, <@!123>; plain
//     @alice) for the executor to resolve. A text parameter (note, reply,
//     close's reason) is the rest of the input verbatim: spacing, newlines
//     and quotes are kept, so what an agent types is what the customer
//     gets. Missing or extra arguments are a UsageError.
//   - Ticket references: where the conversation is not known (no
//     ConversationID and no ThreadID, e.g. a Slack slash command), a
//     command that acts on a conversation takes its ticket from the last
//     argument token, or else the first, when that is "#42" or "42" and not
//     quoted. It is removed from the arguments and returned as
//     Parsed.Ticket; Run puts it into Invocation.ConversationID. Without
//     one the answer is "Which conversation? Add its ticket number, e.g.
//     `/xb tag billing #42`." Inside a conversation nothing is taken as a
//     ticket ("!note see #41" keeps "#41").
//   - An empty slash command lists the caller's open conversations (the
//     mine command).
//
// Parsed.String renders a parsed command canonically; parsing that again
// in the same place gives the same command, arguments and ticket.
//
// # Permissions
//
// A command declares the roles that may run it; RoleLead implies RoleAgent
// and a command without roles is for everyone (help). The processor refuses
// anyone else ("`claim` needs the agent role.") before the executor is
// called. What depends on state is the executor's to refuse, with
// NeedsRole's wording: assign declares RoleAgent, and assigning anyone but
// oneself needs RoleLead; reopen declares RoleAgent, and reopening after the
// reopen window needs RoleLead. Only the executor can resolve a mention to
// a person and knows when a conversation was closed.
package commands
