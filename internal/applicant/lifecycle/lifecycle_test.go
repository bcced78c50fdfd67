package lifecycle_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/applicant/lifecycle"
	"github.com/egov-suite/egov/internal/calendar"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

func TestWhatMayHappenNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   string
		issued   lifecycle.Issued
		submit   bool
		handOver bool
	}{
		{"ok/a draft is signed once", lifecycle.StatusDraft, lifecycle.Issued{}, true, false},
		{"fail/a submitted application is not signed again", lifecycle.StatusSubmitted, lifecycle.Issued{}, false, false},
		{"fail/a refused draft is not signed again", lifecycle.StatusRefused, lifecycle.Issued{Closed: true}, false, false},
		{"ok/an issued result is handed over", lifecycle.StatusResultIssued, lifecycle.Issued{Closed: true, HasResult: true}, false, true},
		{"fail/no result, no hand-over", lifecycle.StatusRefused, lifecycle.Issued{Closed: true}, false, false},
		{"fail/not closed: a notification is missing", lifecycle.StatusResultIssued, lifecycle.Issued{HasResult: true}, false, false},
		{"fail/handed over once", lifecycle.StatusHandedOver, lifecycle.Issued{Closed: true, HasResult: true, HandedOver: true}, false, false},
		{"fail/unclaimed is final", lifecycle.StatusUnclaimed, lifecycle.Issued{Closed: true, HasResult: true, Unclaimed: true}, false, false},
		{"ok/a waiting child's ticket is handed over", lifecycle.StatusQueued, lifecycle.Issued{Waiting: true, HasResult: true}, false, true},
		{"fail/a waiting child's ticket handed over once", lifecycle.StatusQueued, lifecycle.Issued{Waiting: true, HasResult: true, HandedOver: true}, false, false},
		{"fail/registered, not yet signed: nothing to hand over", "REGISTERED", lifecycle.Issued{Waiting: false}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.submit, lifecycle.CanSubmit(tt.status))
			require.Equal(t, tt.handOver, lifecycle.CanHandOver(tt.issued))
			require.Equal(t, tt.handOver && tt.issued.Closed, lifecycle.CanUnclaim(tt.issued), "only a final result is left unclaimed")
		})
	}
}

func TestReadingTheGateways(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state shepv1.MessageState
		want  string
		ok    bool
	}{
		{"ok/delivered", shepv1.MessageState_MESSAGE_STATE_DELIVERED, lifecycle.StatusDelivered, true},
		{"ok/not delivered", shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED, lifecycle.StatusNotDelivered, true},
		{"ok/delivery stopped reads as not delivered", shepv1.MessageState_MESSAGE_STATE_DELIVERY_STOPPED, lifecycle.StatusNotDelivered, true},
		{"fail/an interim state is not recorded", shepv1.MessageState_MESSAGE_STATE_UNSPECIFIED, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := lifecycle.Delivery(tt.state)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.ok, ok)
		})
	}
	name, known := lifecycle.CaseStatus(applicationv1.CaseStatus_CASE_STATUS_REGISTERED)
	require.True(t, known)
	require.Equal(t, "REGISTERED", name)
	name, known = lifecycle.CaseStatus(applicationv1.CaseStatus(999))
	require.False(t, known, "a newer РШЭП's status")
	require.Equal(t, lifecycle.StatusUnknown, name)
	name, known = lifecycle.CaseStatus(applicationv1.CaseStatus_CASE_STATUS_UNSPECIFIED)
	require.False(t, known)
	require.Equal(t, lifecycle.StatusUnknown, name)

	n := &applicationv1.StatusNotification{RegistrationNumber: "27-000001",
		Deadline: timestamppb.New(time.Date(2026, 3, 26, 10, 5, 0, 0, calendar.Zone))}
	require.Equal(t, "№ 27-000001 до 26.03.2026 10:05", lifecycle.Fill("№ {number} до {deadline}", n))
	require.Equal(t, "до —", lifecycle.Fill("до {deadline}", &applicationv1.StatusNotification{}))
	q := &applicationv1.StatusNotification{Queue: &applicationv1.QueuePlace{ListId: "astana", Number: 1057, Ahead: 0, Kind: "general"}}
	require.Equal(t, "номер 1057, перед вами 0", lifecycle.Fill("номер {queue_number}, перед вами {queue_ahead}", q),
		"no one ahead is a 0, not a missing value")
	require.Equal(t, "номер —", lifecycle.Fill("номер {queue_number}", &applicationv1.StatusNotification{}))
}

// TestFinal: which of the provider's notifications end an application for the channel.
func TestFinal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status string
		seq    int
		signed bool
		want   bool
	}{
		{"ok/a result issued ends it", lifecycle.StatusResultIssued, 7, true, true},
		{"ok/a refusal at intake ends it", lifecycle.StatusRefused, 1, false, true},
		{"ok/a signed refusal after REGISTERED ends it", lifecycle.StatusRefused, 2, true, true},
		{"fail/РШЭП's refusal waits for its letter", lifecycle.StatusRefused, 5, false, false},
		{"ok/enrolled", lifecycle.StatusEnrolled, 4, false, true},
		{"ok/removed", lifecycle.StatusRemoved, 3, false, true},
		{"ok/referral expired", lifecycle.StatusReferralExpired, 3, false, true},
		{"ok/referral declined", lifecycle.StatusReferralDeclined, 3, false, true},
		{"fail/queued keeps it open", lifecycle.StatusQueued, 2, true, false},
		{"fail/a moved place keeps it open", lifecycle.StatusQueueMoved, 3, false, false},
		{"fail/an offered referral keeps it open", lifecycle.StatusReferralOffered, 3, true, false},
		{"fail/registered keeps it open", "REGISTERED", 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, lifecycle.Final(tt.status, tt.seq, tt.signed))
		})
	}
}
