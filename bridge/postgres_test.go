package bridge_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbridge/xbridge/bridge"
)

// TestDomainOnPostgres runs the domain's behaviour tests again on
// PostgreSQL (the production store, with row locks and SKIP LOCKED), when
// XBRIDGE_TEST_POSTGRES is set — always under CI=true.
func TestDomainOnPostgres(t *testing.T) {
	if os.Getenv("XBRIDGE_TEST_POSTGRES") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but XBRIDGE_TEST_POSTGRES is not set: CI must run the Postgres suite")
		}
		t.Skip("XBRIDGE_TEST_POSTGRES not set")
	}
	for name, test := range map[string]func(*testing.T){
		"CustomerDMBecomesThreadWithCard":                TestCustomerDMBecomesThreadWithCard,
		"CardThreadsPostedTogetherAreRecordedTogether":   TestCardThreadsPostedTogetherAreRecordedTogether,
		"InboundBatchContinuesReopensAndOpens":           TestInboundBatchContinuesReopensAndOpens,
		"CardWhoseFirstMessageFailsQueuesTheMessage":     TestCardWhoseFirstMessageFailsQueuesTheMessage,
		"RateLimitedSendGivesBackItsAttemptOnce":         TestRateLimitedSendGivesBackItsAttemptOnce,
		"MessageHeldBehindTheCardFollowsItAtOnce":        TestMessageHeldBehindTheCardFollowsItAtOnce,
		"NewConversationCardSkipsTheClaim":               TestNewConversationCardSkipsTheClaim,
		"CardWaitsForAClaimWhenEveryWorkerIsBusy":        TestCardWaitsForAClaimWhenEveryWorkerIsBusy,
		"CardWhoseHandoffIsLostGoesOutAfterItsLease":     TestCardWhoseHandoffIsLostGoesOutAfterItsLease,
		"HandoffsDoNotWaitForTheClaimLoop":               TestHandoffsDoNotWaitForTheClaimLoop,
		"DeliveryTakenBackIsNotCountedTwice":             TestDeliveryTakenBackIsNotCountedTwice,
		"PacedItemGivesBackItsAttemptOnce":               TestPacedItemGivesBackItsAttemptOnce,
		"AgentReplyWaitsSendDelayThenReachesCustomer":    TestAgentReplyWaitsSendDelayThenReachesCustomer,
		"DeleteInsideDelayCancelsSend":                   TestDeleteInsideDelayCancelsSend,
		"EditInsideDelayChangesText":                     TestEditInsideDelayChangesText,
		"OwnEchoesAreNotCustomerMessages":                TestOwnEchoesAreNotCustomerMessages,
		"EchoWhileTheSendIsRecorded":                     echoWhileTheSendIsRecorded,
		"EchoOvertakingCompletionIsMatched":              TestEchoOvertakingCompletionIsMatched,
		"RateLimitedSendWaitsForResetAndSaysSoOnce":      TestRateLimitedSendWaitsForResetAndSaysSoOnce,
		"PermanentFailureWarnsAndResendWorks":            TestPermanentFailureWarnsAndResendWorks,
		"CrashMidSendIsReconciledOrFlaggedNeverRepeated": TestCrashMidSendIsReconciledOrFlaggedNeverRepeated,
		"ChatOutageKeepsOrderAndLosesNothing":            TestChatOutageKeepsOrderAndLosesNothing,
		"ReopenInsideWindowAndNewConversationAfter":      TestReopenInsideWindowAndNewConversationAfter,
		"ClaimUnclaimAndAssign":                          TestClaimUnclaimAndAssign,
		"TagsPriorityAndPending":                         TestTagsPriorityAndPending,
		"CloseReopenAndClosingMessage":                   TestCloseReopenAndClosingMessage,
		"EscalationRoundTrip":                            TestEscalationRoundTrip,
		"StatusMineAndDuplicateActions":                  TestStatusMineAndDuplicateActions,
		"RoutingRulesPickTheChannel":                     TestRoutingRulesPickTheChannel,
		"AutoAssignmentIsFairAmongAvailableAgents":       TestAutoAssignmentIsFairAmongAvailableAgents,
		"SLAAnsweredInTimeOrClosedFiresNothing":          TestSLAAnsweredInTimeOrClosedFiresNothing,
		"SLANextResponsePauseResumeReopenAndPriority":    TestSLANextResponsePauseResumeReopenAndPriority,
		"SLABusinessHoursAcrossAWeekend":                 TestSLABusinessHoursAcrossAWeekend,
		"AcknowledgementSetsTheExpectation":              TestAcknowledgementSetsTheExpectation,
		"AcknowledgementOutsideBusinessHours":            TestAcknowledgementOutsideBusinessHours,
		"AcknowledgementCountsTheQueue":                  TestAcknowledgementCountsTheQueue,
		"FAQAnswerAndTheWayToAHuman":                     TestFAQAnswerAndTheWayToAHuman,
		"CSATOnClose":                                    TestCSATOnClose,
		"CSATWindowAndNonRatings":                        TestCSATWindowAndNonRatings,
		"ReadReceiptsBothWays":                           TestReadReceiptsBothWays,
		"CustomerReadReceiptMarksTheReplySeen":           TestCustomerReadReceiptMarksTheReplySeen,
		"TypingShowsBrieflyAndThrottled":                 TestTypingShowsBrieflyAndThrottled,
		"SavedReplyPreviewSendsNothingUntilSend":         TestSavedReplyPreviewSendsNothingUntilSend,
		"SavedReplyPreviewCancelSendsNothing":            TestSavedReplyPreviewCancelSendsNothing,
		"SavedReplyDoubleClickSendsOnce":                 TestSavedReplyDoubleClickSendsOnce,
		"CustomerPhotoLandsInTheThreadAsAFile":           TestCustomerPhotoLandsInTheThreadAsAFile,
		"CrashMidFileTransferNeitherLosesNorRepeats":     TestCrashMidFileTransferNeitherLosesNorRepeats,
		"AgentPNGReachesTheCustomer":                     TestAgentPNGReachesTheCustomer,
		"FilesXRefusesAreRefusedInTheThread":             TestFilesXRefusesAreRefusedInTheThread,
		"CrashMidUploadToXNeverSendsTwice":               TestCrashMidUploadToXNeverSendsTwice,
		"InboundEventsShareTransactions":                 TestInboundEventsShareTransactions,
		"InboundBatchCommitsOnce":                        TestInboundBatchCommitsOnce,
		"InboundPanicDoesNotStallIntake":                 TestInboundPanicDoesNotStallIntake,
	} {
		t.Run(name, test)
	}
}

// echoWhileTheSendIsRecorded (Postgres only) holds the conversation's lock the
// way the dispatcher does while it records a send (conversation, then the
// X id marked seen), and lets the echo of that send arrive meanwhile. The
// echo must wait for the lock rather than take the seen id first: in the
// other order Postgres finds a deadlock and aborts one side.
func echoWhileTheSendIsRecorded(t *testing.T) {
	{
		h := setup(t)
		h.dm("2001", "hello")
		echo := bridge.InboundMessage{EventID: "7777", Account: "1000", Kind: bridge.KindDM, ConversationKey: "1000-2001",
			Sender: bridge.XUser{ID: "1000", Handle: "acme_help"}, RecipientID: "2001", Text: "Hi there"}
		type result struct {
			out bridge.Outcome
			err error
		}
		counted := &conflictCounter{Store: h.svc.Store}
		h.svc.Store = counted
		echoed := make(chan result, 1)
		err := h.store.InTx(h.ctx, func(tx bridge.Tx) error {
			if _, err := tx.Conversation(h.ctx, 1); err != nil { // the recorder's first lock
				return err
			}
			go func() {
				out, err := h.svc.HandleInbound(h.ctx, echo)
				echoed <- result{out, err}
			}()
			time.Sleep(300 * time.Millisecond) // the echo reaches its first lock
			_, err := tx.MarkSeen(h.ctx, "x", echo.EventID)
			return err
		})
		if err != nil {
			t.Fatalf("recording the send: %v", err)
		}
		r := <-echoed
		if r.err != nil || r.out != bridge.OutcomeDuplicate {
			t.Fatalf("echo = %v, %v; want it recognised as already recorded", r.out, r.err)
		}
		if n := counted.conflicts.Load(); n != 0 {
			t.Fatalf("the echo's transaction was aborted %d times (deadlock victim); it must wait for the lock instead", n)
		}
	}
}

// conflictCounter counts the transactions that ended in ECONFLICT (a
// deadlock or serialization victim the service then retried).
type conflictCounter struct {
	bridge.Store
	conflicts atomic.Int64
}

func (c *conflictCounter) InTx(ctx context.Context, fn func(tx bridge.Tx) error) error {
	err := c.Store.InTx(ctx, fn)
	if bridge.ErrorCode(err) == bridge.ECONFLICT {
		c.conflicts.Add(1)
	}
	return err
}
