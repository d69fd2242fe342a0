package commands

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xbridge/xbridge/bridge"
)

func TestReplyWithShowsAPreviewWithSendAndCancel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		inv  Invocation
		text string
		conv int64
	}{
		{"in a thread", inThread, "!reply-with “refund policy”", 7},
		{"slash with a ticket", slashAnywhere, `reply-with "refund policy" #42`, 42},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.ex.Preview = "Hello!\nRefunds take 5 days."
			got := b.proc.Run(context.Background(), b.ex, tt.inv, tt.text)
			wantText := "Preview of saved reply `refund policy` for #" + map[int64]string{7: "7", 42: "42"}[tt.conv] +
				":\n> Hello!\n> Refunds take 5 days.\n" +
				"Send delivers it as a DM after the send delay; nothing goes out before."
			want := Reply{Text: wantText, Ephemeral: true, Buttons: []Button{
				{Label: "Send", Command: "preview-send 17", Style: ButtonPrimary},
				{Label: "Cancel", Command: "preview-cancel 17"},
			}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			calls := b.ex.Calls()
			if len(calls) != 1 || calls[0].Method != "ReplyWith" || calls[0].Inv.ConversationID != tt.conv {
				t.Fatalf("calls = %+v", calls)
			}
		})
	}
}

func TestPreviewTextSaysHowItGoesOut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		pv   bridge.ReplyPreview
		want string
	}{
		{bridge.ReplyPreview{Parts: 1}, "as a DM after"},
		{bridge.ReplyPreview{Parts: 3}, "as 3 DMs after"},
		{bridge.ReplyPreview{Parts: 1, Public: true}, "as a public reply tweet after"},
		{bridge.ReplyPreview{Parts: 2, Public: true}, "as 2 public reply tweets after"},
		{bridge.ReplyPreview{ConversationID: 9, Parts: 1, Closed: true}, "#9 is closed: sending does not reopen it."},
	} {
		if got := previewReply(&tt.pv).Text; !strings.Contains(got, tt.want) {
			t.Errorf("preview of %+v = %q, want it to say %q", tt.pv, got, tt.want)
		}
	}
}

func TestPreviewButtonsSendAndCancel(t *testing.T) {
	t.Parallel()
	click := Invocation{Source: SourceButton, Platform: "slack", Channel: "C1", ThreadID: "1700000000.000100",
		ActorID: "U1", ActorName: "ann", Roles: []Role{RoleAgent}, EventID: "Ev9"}
	for _, tt := range []struct {
		name, text, method string
		err                error
		want               Reply
	}{
		{"send", "preview-send 17", "SendPreview", nil, Reply{
			Text: "Sent saved reply `refund policy` to #7; its delivery shows in the thread.", Ephemeral: true, Replace: true}},
		{"cancel", "preview-cancel 17", "CancelPreview", nil, Reply{
			Text: "Cancelled saved reply `refund policy` for #7: nothing was sent.", Ephemeral: true, Replace: true}},
		// A refusal is a new message: the preview stays, buttons and all.
		{"refused", "preview-send 17", "SendPreview", bridge.Errorf(bridge.ECONFLICT, "#7 was closed after this preview was made; nothing was sent."),
			Reply{Text: "#7 was closed after this preview was made; nothing was sent.", Ephemeral: true, Refused: bridge.ECONFLICT}},
		{"not a preview", "preview-send x7", "", nil,
			Reply{Text: "`x7` is not a preview; use `reply-with` to get one.", Ephemeral: true, Refused: bridge.EINVALID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.ex.Err = tt.err
			got := b.proc.Run(context.Background(), b.ex, click, tt.text)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			calls := b.ex.Calls()
			if tt.method == "" {
				if len(calls) != 0 {
					t.Fatalf("calls = %+v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].Method != tt.method || !slices.Equal(calls[0].Args, []string{"17"}) {
				t.Fatalf("calls = %+v", calls)
			}
		})
	}
	// Engineers cannot send saved replies, by button either.
	b := setup(t)
	if got := b.proc.Run(context.Background(), b.ex, with(click, roles(RoleEngineer)), "preview-send 17"); got.Text != "`preview-send` needs the agent role." {
		t.Errorf("engineer's Send = %+v", got)
	}
	// The buttons' commands are nobody's to type: help leaves them out.
	help := b.proc.Help("", []Role{RoleLead})
	if strings.Contains(help, "preview-") || !strings.Contains(help, "reply-with") {
		t.Errorf("help:\n%s", help)
	}
	if got := b.proc.Run(context.Background(), b.ex, inThread, "!preview"); strings.Contains(got.Text, "preview-") {
		t.Errorf("unknown command suggests a hidden one: %q", got.Text)
	}
}
