package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xbridge/xbridge/bridge"
)

// The hidden commands behind a saved reply preview's buttons.
const (
	previewSend   = "preview-send"
	previewCancel = "preview-cancel"
)

// previewReply shows a saved reply's preview to the agent who asked for
// it, with what they should know before sending, and the buttons that send
// or drop it.
func previewReply(pv *bridge.ReplyPreview) Reply {
	var b strings.Builder
	fmt.Fprintf(&b, "Preview of saved reply `%s` for %s:\n%s\n", pv.Name, pv.Ticket(), blockquote(pv.Text))
	how := "a DM"
	switch {
	case pv.Public && pv.Parts > 1:
		how = fmt.Sprintf("%d public reply tweets", pv.Parts)
	case pv.Public:
		how = "a public reply tweet"
	case pv.Parts > 1:
		how = fmt.Sprintf("%d DMs", pv.Parts)
	}
	fmt.Fprintf(&b, "Send delivers it as %s after the send delay; nothing goes out before.", how)
	if pv.Closed {
		fmt.Fprintf(&b, " %s is closed: sending does not reopen it.", pv.Ticket())
	}
	id := strconv.FormatInt(pv.ID, 10)
	return Reply{Text: b.String(), Ephemeral: true, Buttons: []Button{
		{Label: "Send", Command: previewSend + " " + id, Style: ButtonPrimary},
		{Label: "Cancel", Command: previewCancel + " " + id},
	}}
}

// previewCommand is the hidden command of a preview's button: it settles
// the preview with settle and puts done (the saved reply's name, then the
// ticket) in the preview's place.
func previewCommand(name, summary string, settle func(Executor, context.Context, Invocation, int64) (*bridge.ReplyPreview, error), done string) *Command {
	return &Command{
		Name: name, Params: []Param{{Name: "preview", Kind: ArgWord}}, Summary: summary,
		Example: "17", Roles: agents, Hidden: true,
		Run: func(ctx context.Context, ex Executor, inv Invocation, args []string) (Reply, error) {
			id, err := previewID(args[0])
			if err != nil {
				return Reply{}, err
			}
			pv, err := settle(ex, ctx, inv, id)
			if err != nil {
				return Reply{}, err
			}
			return Reply{Text: fmt.Sprintf(done, pv.Name, pv.Ticket()), Ephemeral: true, Replace: true}, nil
		},
	}
}

// previewID reads the preview argument of the preview buttons' commands.
func previewID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, bridge.Errorf(bridge.EINVALID, "`%s` is not a preview; use `reply-with` to get one.", arg)
	}
	return id, nil
}
