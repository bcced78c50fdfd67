package applicant_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// BenchmarkRecordQueueStatus: what a waiting list's status costs the channel to record — the status row
// with its place, the application's newest place, and (with a document) the result kept once — beside
// a status without a place or a document (РШЭП's IN_PROGRESS), on the same database in the same run.
func BenchmarkRecordQueueStatus(b *testing.B) {
	for _, c := range []struct {
		name string
		note func(seq int64) *applicationv1.StatusNotification
	}{
		{"baseline/a status without a place", func(seq int64) *applicationv1.StatusNotification {
			return &applicationv1.StatusNotification{Status: applicationv1.CaseStatus_CASE_STATUS_IN_PROGRESS, Sequence: seq}
		}},
		{"queue/moved, with its place", func(seq int64) *applicationv1.StatusNotification {
			return &applicationv1.StatusNotification{Status: applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, Sequence: seq, Queue: place(57, 1000-seq)}
		}},
		{"queue/with its place and a signed document", func(seq int64) *applicationv1.StatusNotification {
			return &applicationv1.StatusNotification{Status: applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, Sequence: seq, Queue: place(57, 1000-seq),
				Results: ticket("registration_ticket", fmt.Sprintf("Талон №57, перед вами %d", 1000-seq))}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := setup(b)
			id := f.kgDraft(b)
			var seq int64
			for b.Loop() {
				seq++
				n := c.note(seq)
				n.ApplicationId, n.Time = id, timestamppb.Now()
				if err := f.desk.Handle(b.Context(), notification(b, n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
