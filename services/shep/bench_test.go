package shep_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/serve"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// The benchmarks put ШЭП beside the bare transport it runs on, measured in the same run:
//   - async: envelopes routed shep.in → (verify, registry, ACL, log, publish) → shep.out and taken by the
//     recipient, against raw JetStream publish → consume of the same bytes;
//   - sync: a signed look-up through ШЭП to a provider (five signature checks and three signatures in
//     all), against a raw gRPC echo of the same request.
// go test -run '^$' -bench . ./services/shep

func BenchmarkAsync(b *testing.B) {
	s := start(b)
	portal := s.participant(b, "portal", nil)
	sign := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			e, err := portal.Request("GUARDIANSHIP_55", &gbdflv1.GetPersonRequest{Iin: "880512400011"})
			if err != nil {
				b.Fatal(err)
			}
			se, err := portal.Signer.SignEnvelope(e)
			if err != nil {
				b.Fatal(err)
			}
			if out[i], err = proto.Marshal(se); err != nil {
				b.Fatal(err)
			}
		}
		return out
	}
	// Each envelope is published once: ШЭП refuses a message id it has seen.
	pump := func(b *testing.B, js jetstream.JetStream, subject string, cons jetstream.Consumer) {
		signed := sign(b.N)
		b.ResetTimer()
		const window = 1000
		for i := 0; i < b.N; i += window {
			end := min(i+window, b.N)
			for _, m := range signed[i:end] {
				if _, err := js.PublishAsync(subject, m); err != nil {
					b.Fatal(err)
				}
			}
			drain(b, cons, end-i)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "envelopes/s")
	}
	b.Run("shep", func(b *testing.B) {
		cons, err := portal.JS.Consumer(b.Context(), natsbus.StreamOut, natsbus.ConsumerName("rshep-55"))
		if err != nil {
			b.Fatal(err)
		}
		pump(b, portal.JS, natsbus.InSubject("portal"), cons)
	})
	b.Run("raw-jetstream", func(b *testing.B) {
		js := portal.JS
		if _, err := js.CreateOrUpdateStream(b.Context(), jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}, Retention: jetstream.WorkQueuePolicy}); err != nil {
			b.Fatal(err)
		}
		cons, err := js.CreateOrUpdateConsumer(b.Context(), "RAW", jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			b.Fatal(err)
		}
		pump(b, js, "raw.in", cons)
	})
}

func drain(b *testing.B, cons jetstream.Consumer, n int) {
	for got := 0; got < n; {
		batch, err := cons.Fetch(n-got, jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		for m := range batch.Messages() {
			_ = m.Ack()
			got++
		}
		if batch.Error() != nil {
			b.Fatal(batch.Error())
		}
		if got == 0 {
			b.Fatal("nothing routed within 10s")
		}
	}
}

func BenchmarkSync(b *testing.B) {
	s := start(b)
	s.provide(b, "gbdfl", gbdflv1.ServicePerson, 5*time.Second, personLookup)
	if _, err := s.admin.Grant(b.Context(), &shepv1.GrantRequest{Sender: "tson", ServiceId: gbdflv1.ServicePerson}); err != nil {
		b.Fatal(err)
	}
	tson := s.participant(b, "tson", nil)
	run := func(b *testing.B, call func(ctx context.Context) error) {
		var mu sync.Mutex
		var lat []time.Duration
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t0 := time.Now()
				if err := call(b.Context()); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if len(lat) > 0 {
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		}
	}
	b.Run("shep", func(b *testing.B) {
		run(b, func(ctx context.Context) error {
			req, err := tson.Request(gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: "880512400011"})
			if err != nil {
				return err
			}
			_, err = tson.Call(ctx, req)
			return err
		})
	})
	b.Run("raw-grpc", func(b *testing.B) {
		lis, err := serve.Listen("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		gs := grpc.NewServer()
		shepv1.RegisterSyncChannelServiceServer(gs, echo{})
		go func() { _ = gs.Serve(lis) }()
		defer gs.Stop()
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		cl := shepv1.NewSyncChannelServiceClient(conn)
		req, err := tson.Request(gbdflv1.ServicePerson, &gbdflv1.GetPersonRequest{Iin: "880512400011"})
		if err != nil {
			b.Fatal(err)
		}
		se, err := tson.Signer.SignEnvelope(req)
		if err != nil {
			b.Fatal(err)
		}
		run(b, func(ctx context.Context) error {
			_, err := cl.SendMessage(ctx, &shepv1.SendMessageRequest{Envelope: se})
			return err
		})
	})
}

type echo struct {
	shepv1.UnimplementedSyncChannelServiceServer
}

func (echo) SendMessage(_ context.Context, r *shepv1.SendMessageRequest) (*shepv1.SendMessageResponse, error) {
	return &shepv1.SendMessageResponse{Envelope: r.GetEnvelope()}, nil
}
