package bridge_test

import (
	"os"
	"testing"
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
		"AgentReplyWaitsSendDelayThenReachesCustomer":    TestAgentReplyWaitsSendDelayThenReachesCustomer,
		"DeleteInsideDelayCancelsSend":                   TestDeleteInsideDelayCancelsSend,
		"EditInsideDelayChangesText":                     TestEditInsideDelayChangesText,
		"OwnEchoesAreNotCustomerMessages":                TestOwnEchoesAreNotCustomerMessages,
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
	} {
		t.Run(name, test)
	}
}
